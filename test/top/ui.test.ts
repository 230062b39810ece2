import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { PeerRow } from '../../src/top/model.js';
import { BAN_SECONDS, INITIAL_UI, parseThrottle, reduceKey, sortPeers, SORT_COLUMNS, type Action, type Key, type UiState } from '../../src/top/ui.js';

const peer = (id: number, over: Partial<PeerRow> = {}): PeerRow => ({
  id,
  addr: `127.0.0.${id}:${8000 + id}`,
  inbound: id % 2 === 0,
  connType: id % 2 === 0 ? 'inbound' : 'outbound-full-relay',
  transport: id % 3 === 0 ? 'v2' : 'v1',
  subver: `/agent-${id}/`,
  pingMs: id * 10,
  bytesRecv: 1000 - id,
  bytesSent: id * 3,
  recvLimit: 0,
  sendLimit: 0,
  ...over,
});

const PEERS: PeerRow[] = [
  peer(3, { addr: '10.0.0.9:8333', pingMs: null, bytesRecv: 50, subver: '/Satoshi:30.0.0/' }),
  peer(1, { addr: '127.0.0.1:18444', pingMs: 5, bytesRecv: 500, subver: '/peerd:0.1.0/', recvLimit: 1000 }),
  peer(7, { addr: '[::1]:18444', pingMs: 2.5, bytesRecv: 70, subver: '/btcd:0.24/' }),
];

const ch = (c: string): Key => ({ kind: 'char', ch: c });
const k = (kind: Exclude<Key['kind'], 'char'>): Key => ({ kind }) as Key;

/** Feeds keys in order; returns the final state and every action produced. */
function press(keys: readonly Key[], peers: readonly PeerRow[] = PEERS, ui: UiState = INITIAL_UI): { ui: UiState; actions: Action[] } {
  const actions: Action[] = [];
  for (const key of keys) {
    const r = reduceKey(ui, key, peers);
    ui = r.ui;
    actions.push(...r.actions);
  }
  return { ui, actions };
}
const typed = (s: string): Key[] => [...s].map(ch);

test('sortPeers: every column, ties by id, missing values last in both directions', () => {
  const ids = (c: (typeof SORT_COLUMNS)[number], rev = false): number[] => sortPeers(PEERS, c, rev).map((p) => p.id);
  assert.deepEqual(ids('id'), [1, 3, 7]);
  assert.deepEqual(ids('id', true), [7, 3, 1]);
  assert.deepEqual(ids('address'), [7, 3, 1]); // "[::1]…" < "10.…" < "127.…" (punctuation first, numbers as numbers)
  assert.deepEqual(sortPeers([peer(1, { addr: '127.0.0.10:1' }), peer(2, { addr: '127.0.0.9:1' })], 'address', false).map((p) => p.id), [2, 1]);
  assert.deepEqual(ids('agent'), [7, 1, 3]); // /btcd < /peerd < /Satoshi (case-insensitive)
  assert.deepEqual(ids('ping'), [7, 1, 3]); // 3 has no ping yet: last
  assert.deepEqual(ids('ping', true), [1, 7, 3]); // … and still last reversed
  assert.deepEqual(ids('recv'), [3, 7, 1]);
  assert.deepEqual(ids('recv', true), [1, 7, 3]);
  assert.deepEqual(ids('sent'), [1, 3, 7]);
  assert.deepEqual(ids('limit'), [1, 3, 7]); // only 1 is limited; unlimited ones after it, by id
  assert.deepEqual(ids('type'), [1, 3, 7]); // all "out full": ties by id
  assert.deepEqual(ids('transport'), [1, 7, 3]); // v1 (1, 7) before v2 (3)
  assert.deepEqual(sortPeers([], 'ping', true), []);
});

test('s cycles the sort column through every column and back; r reverses; the selection stays on its peer', () => {
  let ui = press([ch('j')]).ui; // cursor on row 1 of [1,3,7] = peer 3
  assert.equal(ui.selectedId, 3);
  const seen: string[] = [ui.sort];
  for (let i = 0; i < SORT_COLUMNS.length; i++) {
    ui = reduceKey(ui, ch('s'), PEERS).ui;
    seen.push(ui.sort);
    assert.equal(ui.selectedId, 3, 'selection follows the peer');
    assert.equal(sortPeers(PEERS, ui.sort, ui.reverse)[ui.cursor].id, 3, 'cursor is where the peer now is');
  }
  assert.deepEqual(seen, [...SORT_COLUMNS, 'id']);
  ui = reduceKey(ui, ch('r'), PEERS).ui;
  assert.equal(ui.reverse, true);
  assert.equal(ui.cursor, 1);
  assert.match(ui.status?.text ?? '', /sorted by id, reversed/);
  ui = reduceKey(ui, ch('s'), PEERS).ui; // address, reversed: [1,3,7]
  assert.deepEqual([ui.sort, ui.cursor, ui.selectedId], ['address', 1, 3]);
  ui = reduceKey(ui, ch('s'), PEERS).ui; // type, reversed: all "out full", by id reversed: [7,3,1]
  assert.deepEqual([ui.sort, ui.cursor, ui.selectedId], ['type', 1, 3]);
  ui = reduceKey(ui, ch('s'), PEERS).ui; // transport, reversed: v2 (3) before v1 (7, 1)
  assert.deepEqual([ui.sort, ui.cursor, ui.selectedId], ['transport', 0, 3]);
  ui = reduceKey(ui, ch('s'), PEERS).ui; // agent, reversed: [3,1,7]
  assert.deepEqual([ui.sort, ui.cursor, ui.selectedId], ['agent', 0, 3]);
  assert.equal(reduceKey(ui, ch('r'), PEERS).ui.reverse, false);
});

test('selection stays within bounds: up at the top, down at the bottom, page keys, no peers at all', () => {
  assert.deepEqual(press([k('up'), k('up')]).ui.cursor, 0);
  const down = press([k('down'), k('down'), k('down'), k('down'), ch('j')]).ui;
  assert.deepEqual([down.cursor, down.selectedId], [2, 7]);
  assert.deepEqual(press([k('pagedown')]).ui.cursor, 2);
  assert.deepEqual(press([k('end'), k('pageup')]).ui.cursor, 0);
  assert.deepEqual(press([ch('G'), ch('k')]).ui.selectedId, 3);
  assert.deepEqual(press([k('end'), ch('g')]).ui.selectedId, 1);
  const empty = press([k('down'), ch('j'), k('up'), k('end')], []);
  assert.deepEqual([empty.ui.cursor, empty.ui.selectedId, empty.actions], [0, null, []]);
});

test('the selection follows its peer when rows change, and falls to the same row when it leaves', () => {
  const ui = press([k('end')]).ui; // peer 7, row 2
  assert.equal(ui.selectedId, 7);
  // peer 7 gone: a key is reduced against the new list; the cursor clamps to the last row
  const gone = reduceKey(ui, ch('?'), PEERS.slice(0, 2)).ui;
  assert.deepEqual([gone.cursor, gone.selectedId], [1, 3]);
  // a new peer 0 sorts first: the selection stays on 7, one row further down
  const moved = reduceKey(ui, ch('?'), [...PEERS, peer(0)]).ui;
  assert.deepEqual([moved.cursor, moved.selectedId], [3, 7]);
});

test('K kicks, X kills, C crashes the selected peer; q and Ctrl-C quit', () => {
  assert.deepEqual(press([ch('K')]).actions, [{ kind: 'rpc', method: 'disconnectnode', params: ['', 1], done: 'kicked peer 1 (127.0.0.1:18444)' }]);
  assert.deepEqual(press([ch('j'), ch('X')]).actions, [{ kind: 'rpc', method: 'killactor', params: ['/root/peers/peer-3', 'kill'], done: 'killed /root/peers/peer-3' }]);
  assert.deepEqual(press([k('end'), ch('C')]).actions, [{ kind: 'rpc', method: 'killactor', params: ['/root/peers/peer-7', 'crash'], done: 'crashed /root/peers/peer-7' }]);
  assert.deepEqual(press([ch('q')]).actions, [{ kind: 'quit' }]);
  assert.deepEqual(press([ch('T'), k('ctrl-c')]).actions, [{ kind: 'quit' }]);
  // lowercase k moves up, it never kicks; unknown keys do nothing
  assert.deepEqual(press([ch('k'), ch('z'), ch('x'), k('enter')]).actions, []);
});

test('with no peer, K B T X C say so in the status line and do nothing', () => {
  for (const c of ['K', 'B', 'T', 'X', 'C']) {
    const r = press([ch(c)], []);
    assert.deepEqual(r.actions, [], c);
    assert.deepEqual(r.ui.status, { text: 'no peer selected', error: true }, c);
    assert.equal(r.ui.mode.kind, 'normal', c);
  }
});

test('B asks y/n: y bans the IP for 24 h, anything else cancels; IPv6 addresses lose their brackets', () => {
  const asked = press([ch('B')]);
  assert.deepEqual(asked.actions, []);
  assert.deepEqual(asked.ui.mode, { kind: 'confirm-ban', id: 1, ip: '127.0.0.1' });
  assert.match(asked.ui.status?.text ?? '', /ban 127\.0\.0\.1 \(peer 1\) for 24 h\? y\/n/);

  const yes = press([ch('B'), ch('y')]);
  assert.deepEqual(yes.actions, [{ kind: 'rpc', method: 'setban', params: ['127.0.0.1', 'add', BAN_SECONDS], done: 'banned 127.0.0.1 for 24 h' }]);
  assert.equal(yes.ui.mode.kind, 'normal');
  assert.equal(BAN_SECONDS, 86400);

  for (const no of [ch('n'), ch('N'), k('escape'), ch('K'), k('enter'), k('down')]) {
    const r = press([ch('B'), no]);
    assert.deepEqual(r.actions, [], JSON.stringify(no));
    assert.equal(r.ui.mode.kind, 'normal');
    assert.equal(r.ui.status?.text, 'ban cancelled');
  }
  assert.deepEqual(press([k('end'), ch('B'), ch('Y')]).actions[0], { kind: 'rpc', method: 'setban', params: ['::1', 'add', 86400], done: 'banned ::1 for 24 h' });
});

test('T prompts for RECV SEND: typed, edited, parsed with k/M; Enter sets the limit', () => {
  const r = press([ch('j'), ch('T'), ...typed('10k 2x'), k('backspace'), ...typed('M'), k('enter')]);
  assert.deepEqual(r.actions, [{ kind: 'rpc', method: 'setpeerlimit', params: ['3', 10_000, 2_000_000], done: 'peer 3: receive 10000 B/s, send 2000000 B/s' }]);
  assert.equal(r.ui.mode.kind, 'normal');
  const zero = press([ch('T'), ...typed(' 0   512 '), k('enter')]);
  assert.deepEqual(zero.actions[0], { kind: 'rpc', method: 'setpeerlimit', params: ['1', 0, 512], done: 'peer 1: receive unlimited, send 512 B/s' });
  // while the prompt is open, command keys are text: no kick, no quit
  const text = press([ch('T'), ch('K'), ch('q')]);
  assert.deepEqual(text.actions, []);
  assert.deepEqual(text.ui.mode, { kind: 'throttle', id: 1, input: 'Kq' });
  const esc = press([ch('T'), ...typed('5 5'), k('escape')]);
  assert.deepEqual([esc.actions, esc.ui.mode.kind, esc.ui.status?.text], [[], 'normal', 'throttle cancelled']);
});

test('T with bad numbers: an error in the status line and no RPC call', () => {
  for (const bad of ['', 'abc 5', '5', '1 2 3', '-1 5', '1.5 2', '5 0x10', '1e3 4', '99999999999999999 1', '10G 1']) {
    const r = press([ch('T'), ...typed(bad), k('enter')]);
    assert.deepEqual(r.actions, [], bad);
    assert.equal(r.ui.status?.error, true, bad);
    assert.match(r.ui.status?.text ?? '', /^throttle: /, bad);
    assert.equal(r.ui.mode.kind, 'normal', bad);
  }
});

test('parseThrottle: any two whole numbers round-trip, with or without suffixes', () => {
  fc.assert(
    fc.property(fc.nat({ max: 1e9 }), fc.nat({ max: 1e9 }), fc.constantFrom(' ', '  ', ',', '/', ' , '), (a, b, sep) => {
      assert.deepEqual(parseThrottle(`${a}${sep}${b}`), { recv: a, send: b });
      assert.deepEqual(parseThrottle(`${a}k ${b}M`), { recv: a * 1000, send: b * 1_000_000 });
    }),
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 20 }), (s) => {
      const r = parseThrottle(s);
      if (!('error' in r)) assert.ok(Number.isSafeInteger(r.recv) && r.recv >= 0 && Number.isSafeInteger(r.send) && r.send >= 0, s);
    }),
  );
});

test('? opens help, any key closes it without acting', () => {
  const open = press([ch('?')]);
  assert.equal(open.ui.mode.kind, 'help');
  for (const key of [ch('K'), ch('q'), k('escape'), ch('?')]) {
    const r = press([ch('?'), key]);
    assert.deepEqual([r.ui.mode.kind, r.actions], ['normal', []]);
  }
});

test('fuzz: any key sequence on any peer list keeps the cursor on a row and produces only known actions', () => {
  const keyArb: fc.Arbitrary<Key> = fc.oneof(
    fc.constantFrom<Key>(k('up'), k('down'), k('pageup'), k('pagedown'), k('home'), k('end'), k('enter'), k('escape'), k('backspace')),
    fc.constantFrom('j', 'k', 's', 'r', 'K', 'B', 'T', 'X', 'C', 'y', 'n', '?', 'g', 'G', '1', ' ', 'k').map(ch),
    fc.string({ minLength: 1, maxLength: 1 }).map(ch),
  );
  const peersArb = fc.uniqueArray(fc.nat({ max: 50 }), { maxLength: 8 }).map((ids) => ids.map((id) => peer(id, { pingMs: id % 3 === 0 ? null : id })));
  fc.assert(
    fc.property(fc.array(fc.tuple(keyArb, peersArb), { maxLength: 40 }), (steps) => {
      let ui = INITIAL_UI;
      for (const [key, peers] of steps) {
        const r = reduceKey(ui, key, peers);
        ui = r.ui;
        if (peers.length > 0) {
          assert.ok(ui.cursor >= 0 && ui.cursor < peers.length);
          assert.ok(peers.some((p) => p.id === ui.selectedId));
        }
        for (const a of r.actions) {
          if (a.kind === 'quit') continue;
          assert.ok(['disconnectnode', 'setban', 'setpeerlimit', 'killactor'].includes(a.method), a.method);
        }
      }
    }),
  );
});
