import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { stripVTControlCharacters } from 'node:util';
import React from 'react';
import { render, cleanup } from 'ink-testing-library';
import { EMPTY_SNAPSHOT, type ActorRow, type Bandwidth, type PeerRow, type Snapshot } from '../../src/top/model.js';
import { INITIAL_UI, type UiState } from '../../src/top/ui.js';
import { linesText, Screen, screenLines, type ScreenInput } from '../../src/top/view.js';

afterEach(() => cleanup());

const peer = (id: number, addr: string, over: Partial<PeerRow> = {}): PeerRow => ({
  id,
  addr,
  inbound: false,
  connType: 'outbound-full-relay',
  transport: 'v1',
  subver: '/Satoshi:30.0.0/',
  pingMs: 12.25,
  bytesRecv: 1500,
  bytesSent: 700,
  recvLimit: 0,
  sendLimit: 0,
  ...over,
});
const actor = (path: string, depth: number, over: Partial<ActorRow> = {}): ActorRow => ({
  path,
  name: path.slice(path.lastIndexOf('/') + 1),
  depth,
  kind: 'worker',
  status: 'idle',
  mailbox: 0,
  mailboxHighWater: 0,
  restarts: 0,
  ...over,
});

const SNAP: Snapshot = {
  ...EMPTY_SNAPSHOT,
  peers: [
    peer(5, '127.0.0.1:18444', { pingMs: 40, subver: '/peerd:0.1.0/', inbound: true, connType: 'inbound', transport: 'v2' }),
    peer(2, '10.1.2.3:18444', { pingMs: 3, recvLimit: 10_000, sendLimit: 2_000 }),
    peer(9, '[::1]:18444', { pingMs: null, connType: 'block-relay-only' }),
  ],
  net: { subversion: '/peerd:0.1.0/', connections: 3, connectionsIn: 1, connectionsOut: 2, networkActive: true },
  totals: { recv: 1, sent: 1, timeMs: 1 },
  tree: [
    actor('/root', 0, { kind: 'supervisor' }),
    actor('/root/peers', 1, { kind: 'dynamic_supervisor' }),
    actor('/root/peers/peer-2', 2, { mailbox: 3, mailboxHighWater: 7 }),
    actor('/root/peers/peer-5', 2, { restarts: 2 }),
    actor('/root/peers/peer-9', 2),
    actor('/root/connman', 1),
  ],
  sync: { kind: 'none' },
  uptimeS: 3725,
  fetchedAt: 1,
};
const BW: Bandwidth = { last: null, samples: [{ at: 10_000, recv: 2500, send: 100 }] };

const input = (ui: Partial<UiState> = {}, snapshot: Snapshot = SNAP, size = { width: 100, height: 30 }): ScreenInput => ({
  snapshot,
  bandwidth: BW,
  ui: { ...INITIAL_UI, ...ui },
  network: 'regtest',
  size,
});

function frame(i: ScreenInput): string {
  const r = render(React.createElement(Screen, i));
  return stripVTControlCharacters(r.lastFrame() ?? '');
}

/** The ids in the peers table, top to bottom, read off the screen. */
function shownIds(screen: string): number[] {
  const lines = screen.split('\n');
  const head = lines.findIndex((l) => /^\s+id\S* address/.test(l));
  const out: number[] = [];
  for (const l of lines.slice(head + 1)) {
    const m = /^\s+(\d+) \S/.exec(l);
    if (!m) break;
    out.push(Number(m[1]));
  }
  return out;
}

test('screen: header, sync, bandwidth, the peers table in id order, the tree with paths, the hints', () => {
  const s = frame(input());
  const lines = s.split('\n');
  assert.match(lines[0], /^peerd top · regtest · \/peerd:0\.1\.0\/ · up 1h 2m · peers 3 \(in 1 \/ out 2\) · recv 2\.5 kB\/s send 100 B\/s/);
  assert.match(s, /^sync: no chain data$/m);
  assert.match(s, /^recv +█ 2\.5 kB\/s +send +█ 100 B\/s/m);
  assert.match(s, /id▲ address +dir\/type +tp +user agent +ping ms +bytes in bytes out limit in\/out/);
  assert.deepEqual(shownIds(s), [2, 5, 9]);
  assert.match(s, /^ +2 10\.1\.2\.3:18444 +out full +v1 +\/Satoshi:30\.… +3\.0 +1\.5 kB +700 B 10\.0 kB\/2\.0 kB$/m);
  assert.match(s, /^ +5 127\.0\.0\.1:18444 +in +v2 +\/peerd:0\.1\.0\/ +40\.0 +1\.5 kB +700 B ∞\/∞$/m);
  assert.match(s, /^ +9 \[::1\]:18444 +out block +v1 +\/Satoshi:30\.… +- /m);
  // wider terminal, wider user agent column
  assert.match(linesText(screenLines(input({}, SNAP, { width: 140, height: 30 }))), /\/Satoshi:30\.0\.0\/ +3\.0/);
  assert.match(s, /^actors \(6\)/m);
  for (const p of ['/root', '/root/peers', '/root/peers/peer-2', '/root/peers/peer-5', '/root/peers/peer-9', '/root/connman']) {
    assert.match(s, new RegExp(`^${p.replace(/[/-]/g, '\\$&')} +(worker|supervisor|dynamic_supervisor) +mailbox`, 'm'), p);
  }
  assert.match(s, /^\/root\/peers\/peer-2 +worker +mailbox 3 \(max 7\) +restarts 0/m);
  assert.match(s, /^\/root\/peers\/peer-5 +worker +mailbox 0 \(max 0\) +restarts 2/m);
  assert.match(lines.at(-1)!, /K kick · B ban · T throttle · X kill · C crash · \? help · q quit/);
  assert.ok(lines.length <= 29, `${lines.length} lines fit a 30-line terminal`);
  assert.ok(lines.every((l) => [...l].length <= 100), 'no line wider than the terminal');
});

test('screen: the sort column is marked and the rows follow it, reversed too', () => {
  const byPing = frame(input({ sort: 'ping' }));
  assert.match(byPing, /ping ms▲/);
  assert.deepEqual(shownIds(byPing), [2, 5, 9]); // 3 ms, 40 ms, none yet
  const byAddr = frame(input({ sort: 'address', reverse: true }));
  assert.match(byAddr, /address▼/);
  assert.deepEqual(shownIds(byAddr), [5, 2, 9]);
  assert.deepEqual(shownIds(frame(input({ sort: 'limit' }))), [2, 5, 9]);
  assert.deepEqual(shownIds(frame(input({ sort: 'id', reverse: true }))), [9, 5, 2]);
});

test('screen: the selected row is highlighted, and so is its actor in the tree', () => {
  const ui = { selectedId: 5, cursor: 1 };
  const lines = screenLines(input(ui));
  const row = lines.find((l) => /^\s+5 127/.test(l.map((x) => x.text).join('')))!;
  assert.equal(row[0].inverse, true);
  const other = lines.find((l) => /^\s+2 10\./.test(l.map((x) => x.text).join('')))!;
  assert.notEqual(other[0].inverse, true);
  const hot = lines.find((l) => l[0].text.startsWith('/root/peers/peer-5'))!;
  assert.equal(hot[0].bold, true);
  // and Ink draws it in reverse video
  const r = render(React.createElement(Screen, input(ui)));
  const raw = r.lastFrame() ?? '';
  const rawLine = raw.split('\n').find((l) => stripVTControlCharacters(l).includes('127.0.0.1:18444'))!;
  assert.ok(rawLine.includes('\x1b[7m') || !raw.includes('\x1b['), 'inverse video when colours are on');
});

test('screen: prompts, status and errors in the status line', () => {
  assert.match(frame(input({ mode: { kind: 'confirm-ban', id: 2, ip: '10.1.2.3' } })), /^ban 10\.1\.2\.3 \(peer 2\) for 24 h\? y\/n$/m);
  assert.match(frame(input({ mode: { kind: 'throttle', id: 2, input: '10k 5' } })), /^throttle peer 2: RECV SEND .*: 10k 5/m);
  assert.match(frame(input({ status: { text: 'kicked peer 2 (10.1.2.3:18444)', error: false } })), /^kicked peer 2 \(10\.1\.2\.3:18444\)$/m);
  const down = frame(input({ status: { text: 'throttle: "x" is not a whole number of bytes/s', error: true } }, { ...SNAP, error: 'cannot reach node (127.0.0.1:1: connect ECONNREFUSED), retrying' }));
  assert.match(down, /^cannot reach node \(127\.0\.0\.1:1: connect ECONNREFUSED\), retrying · throttle: "x" is not/m);
});

test('screen: sync figures, no data yet, no peers, help', () => {
  assert.match(frame(input({}, { ...SNAP, sync: { kind: 'ok', chain: 'regtest', blocks: 150, headers: 200, progress: 0.75, ibd: true } })), /^sync: headers 200 · blocks 150 · 75\.00% · initial block download$/m);
  assert.match(frame(input({}, { ...SNAP, sync: { kind: 'ok', chain: null, blocks: 5, headers: 5, progress: null, ibd: false } })), /^sync: headers 5 · blocks 5 · 100\.00% · synced$/m);
  // Every block stored, but Core's rule still says initial block download (an old tip): not shown as downloading.
  assert.match(frame(input({}, { ...SNAP, sync: { kind: 'ok', chain: 'regtest', blocks: 400, headers: 400, progress: 1, ibd: true } })), /^sync: headers 400 · blocks 400 · 100\.00% · caught up \(tip older than 24 h\)$/m);
  const empty = frame(input({}, EMPTY_SNAPSHOT));
  assert.match(empty, /^\(no data yet\)$/m);
  assert.match(empty, /^sync: …$/m);
  assert.match(frame(input({}, { ...SNAP, peers: [] })), /^no peers$/m);
  const help = frame(input({ mode: { kind: 'help' } }));
  assert.match(help, /^ +K +kick the selected peer/m);
  assert.match(help, /^ +B +ban its IP for 24 h/m);
  assert.doesNotMatch(help, /actors \(/);
});

test('screen: many peers in a small terminal: the window follows the selection and everything fits', () => {
  const many = Array.from({ length: 40 }, (_, i) => peer(i, `127.0.0.1:${1000 + i}`));
  const tree = [actor('/root', 0), ...many.map((p) => actor(`/root/peers/peer-${p.id}`, 1))];
  const snap = { ...SNAP, peers: many, tree };
  for (const [height, cursor] of [
    [16, 0],
    [20, 25],
    [24, 39],
  ] as const) {
    const i = input({ selectedId: cursor, cursor }, snap, { width: 90, height });
    const text = linesText(screenLines(i));
    const lines = text.split('\n');
    assert.ok(lines.length <= height - 1, `${lines.length} lines for height ${height}`);
    const ids = shownIds(text);
    assert.ok(ids.includes(cursor), `selected peer ${cursor} is on screen at height ${height}: ${ids.join(',')}`);
    assert.ok(ids.length >= 1 && ids.length < 40);
    assert.match(text, new RegExp(`\\d+-\\d+/40`));
    assert.match(text, new RegExp(`^/root/peers/peer-${cursor} `, 'm'), 'its actor is in view too');
    assert.ok(lines.every((l) => [...l].length <= 90));
  }
});
