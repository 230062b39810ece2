import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_CONNMAN, initConnman, stepConnman, maxInbound, type ConnmanEffect, type ConnmanState, type ConnmanEvent } from '../../src/connman/logic.js';
import type { Endpoint } from '../../src/contracts/connection.js';
import { NO_ASMAP } from '../../src/netaddress/netgroup.js';

const netGroup = (host: string): string => NO_ASMAP.hostGroup(host);

const config = { ...DEFAULT_CONNMAN, groupKey: Buffer.from('k') };
// Candidates are public addresses (11/8, one group per /16): Core puts every private one (10/8, …) in one single group.
const ep = (host: string, port = 18444): Endpoint => ({ host, port });

function run(s: ConnmanState, msg: ConnmanEvent): ConnmanEffect[] {
  return stepConnman(s, msg);
}
function dials(fx: ConnmanEffect[]) {
  return fx.filter((e): e is Extract<ConnmanEffect, { kind: 'dial' }> => e.kind === 'dial');
}

test('fills 8 full-relay and 2 block-relay-only slots, one per network group', () => {
  const s = initConnman({ config, connect: [], addnode: [], now: 0 });
  const first = run(s, { type: 'tick', now: 0 });
  assert.ok(first.some((e) => e.kind === 'want-addresses'), 'asks the address book when it has no candidates');
  // 12 groups, with duplicates inside groups.
  const list = Array.from({ length: 30 }, (_, i) => ep(`11.${i % 12}.0.${i}`));
  run(s, { type: 'addresses', purpose: 'outbound', list, now: 0 });
  const fx = run(s, { type: 'tick', now: 1 });
  const d = dials(fx);
  assert.equal(d.filter((x) => x.connType === 'outbound-full-relay').length, 8);
  assert.equal(d.filter((x) => x.connType === 'block-relay-only').length, 2);
  const groups = d.map((x) => netGroup(x.endpoint.host));
  assert.equal(new Set(groups).size, groups.length, 'never two automatic outbound peers in one group');
  assert.ok(d.every((x) => x.timeoutMs === 5000));
  assert.equal(dials(run(s, { type: 'tick', now: 2 })).length, 0, 'no more dials while slots are full');
});

test('a dead outbound peer is replaced in the same step', () => {
  const s = initConnman({ config: { ...config, blockRelayTarget: 0, fullRelayTarget: 1 }, connect: [], addnode: [], now: 0 });
  run(s, { type: 'addresses', purpose: 'outbound', list: [ep('11.1.0.1'), ep('11.2.0.1')], now: 0 });
  const [d] = dials(run(s, { type: 'tick', now: 0 }));
  run(s, { type: 'dial-ok', id: d.id, now: 1 });
  run(s, { type: 'peer-connected', id: d.id, services: 1n, relayTxs: false, now: 1 });
  const fx = run(s, { type: 'peer-disconnected', id: d.id, reason: 'ping timeout', misbehaving: false, now: 5 });
  const next = dials(fx);
  assert.equal(next.length, 1);
  assert.equal(next[0].endpoint.host, '11.2.0.1');
  assert.equal(s.disconnects.at(-1)?.reason, 'ping timeout');
});

test('addnode peers are retried forever with capped exponential backoff, reset after a stable connection', () => {
  const s = initConnman({ config, connect: [], addnode: [ep('127.0.0.1', 1)], now: 0, random: () => 0 });
  let now = 0;
  const delays: number[] = [];
  let [d] = dials(run(s, { type: 'tick', now }));
  for (let i = 0; i < 12; i++) {
    run(s, { type: 'dial-failed', id: d.id, error: 'ECONNREFUSED', now });
    const m = [...s.manual.values()][0];
    delays.push(m.nextAt - now);
    assert.equal(dials(run(s, { type: 'tick', now: m.nextAt - 1 })).length, 0, 'not before the backoff');
    now = m.nextAt;
    [d] = dials(run(s, { type: 'tick', now }));
    assert.ok(d, `retried after failure ${i + 1}`);
  }
  assert.deepEqual(delays.slice(0, 5), [1000, 2000, 4000, 8000, 16000]);
  assert.equal(Math.max(...delays), 300_000, 'capped at 5 minutes');
  run(s, { type: 'dial-ok', id: d.id, now });
  run(s, { type: 'peer-connected', id: d.id, services: 1n, relayTxs: false, now });
  run(s, { type: 'peer-disconnected', id: d.id, reason: 'x', misbehaving: false, now: now + 120_000 });
  assert.equal([...s.manual.values()][0].nextAt - (now + 120_000), 1000, 'backoff reset after a stable run');
});

test('--connect: only the given peers, never asks for addresses', () => {
  const s = initConnman({ config: { ...config, automaticOutbound: false }, connect: [ep('127.0.0.1', 5), ep('127.0.0.1', 6)], addnode: [], now: 0 });
  const fx = run(s, { type: 'tick', now: 0 });
  assert.deepEqual(dials(fx).map((d) => d.endpoint.port).sort(), [5, 6]);
  assert.ok(!fx.some((e) => e.kind === 'want-addresses'));
});

test('addnode onetry is dialled once; remove disconnects and stops retrying', () => {
  const s = initConnman({ config, connect: [], addnode: [], now: 0 });
  const fx = run(s, { type: 'addnode', endpoint: ep('127.0.0.1', 9), command: 'onetry', now: 0 });
  const [d] = dials(fx);
  run(s, { type: 'dial-failed', id: d.id, error: 'refused', now: 1 });
  assert.equal(s.manual.size, 0);
  const fx2 = run(s, { type: 'addnode', endpoint: ep('127.0.0.1', 10), command: 'add', now: 2 });
  const [d2] = dials(fx2);
  run(s, { type: 'dial-ok', id: d2.id, now: 3 });
  const fx3 = run(s, { type: 'addnode', endpoint: ep('127.0.0.1', 10), command: 'remove', now: 4 });
  assert.deepEqual(fx3, [{ kind: 'disconnect', id: d2.id, reason: 'addnode removed' }]);
});

test('inbound: accepted up to the limit, then eviction, then refusal when all are protected', () => {
  const small = { ...config, maxConnections: 11 + 3 };
  assert.equal(maxInbound(small), 3);
  const s = initConnman({ config: small, connect: [], addnode: [], now: 0 });
  for (let i = 0; i < 3; i++) {
    const fx = run(s, { type: 'inbound', socketId: i, remote: ep(`11.${i}.0.1`, 5000), now: i });
    assert.equal(fx[0].kind, 'accept');
  }
  // With only 3 inbound peers every one is protected (by netgroup alone), so the newcomer is refused.
  const fx = run(s, { type: 'inbound', socketId: 9, remote: ep('11.9.0.1', 5000), now: 10 });
  assert.deepEqual(fx, [{ kind: 'refuse', socketId: 9, reason: 'full, no peer evictable' }]);

  const big = { ...config, maxConnections: 11 + 40 };
  const t = initConnman({ config: big, connect: [], addnode: [], now: 0 });
  for (let i = 0; i < 40; i++) run(t, { type: 'inbound', socketId: i, remote: ep(`11.${i % 2}.0.${i}`, 5000), now: i });
  const out = run(t, { type: 'inbound', socketId: 99, remote: ep('11.7.0.1', 5000), now: 100 });
  assert.equal(out[0].kind, 'disconnect');
  assert.equal(out[1].kind, 'accept');
  assert.equal(t.peers.size, 40);
});

test('banned addresses are refused; discouraged ones only while there is room to spare', () => {
  const s = initConnman({
    config: { ...config, maxConnections: 13 },
    connect: [],
    addnode: [],
    now: 0,
    banned: (ip) => ip === '11.0.0.66',
    discouraged: (ip) => ip === '11.0.0.77',
  });
  assert.equal(run(s, { type: 'inbound', socketId: 1, remote: ep('11.0.0.66'), now: 0 })[0].kind, 'refuse');
  assert.equal(run(s, { type: 'inbound', socketId: 2, remote: ep('11.1.0.1'), now: 0 })[0].kind, 'accept');
  assert.deepEqual(run(s, { type: 'inbound', socketId: 3, remote: ep('11.0.0.77'), now: 0 }), [{ kind: 'refuse', socketId: 3, reason: 'discouraged' }]);
  assert.equal(s.refused.get('banned'), 1);
});

test('property: slots never exceed their targets, whatever order events arrive in', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 40 })), { maxLength: 200 }), (ops) => {
      const s = initConnman({ config, connect: [], addnode: [ep('127.0.0.1', 1)], now: 0, random: () => 0.5 });
      let now = 0;
      for (const [op, x] of ops) {
        now += 100;
        const ids = [...s.dials.keys(), ...s.peers.keys()];
        const id = ids.length ? ids[x % ids.length] : 0;
        const msg: ConnmanEvent =
          op === 0
            ? { type: 'tick', now }
            : op === 1
              ? { type: 'addresses', purpose: 'outbound', list: Array.from({ length: 5 }, (_, i) => ep(`11.${(x + i) % 30}.1.${i}`)), now }
              : op === 2
                ? { type: 'dial-ok', id, now }
                : op === 3
                  ? { type: 'dial-failed', id, error: 'e', now }
                  : op === 4
                    ? { type: 'peer-disconnected', id, reason: 'r', misbehaving: false, now }
                    : { type: 'inbound', socketId: x, remote: ep(`11.${x}.2.2`), now };
        stepConnman(s, msg);
        const count = (t: string) => [...s.peers.values(), ...s.dials.values()].filter((p) => p.connType === t).length;
        assert.ok(count('outbound-full-relay') <= 8);
        assert.ok(count('block-relay-only') <= 2);
        assert.ok(count('manual') <= 1);
        assert.ok(count('inbound') <= maxInbound(config));
        const auto = [...s.peers.values(), ...s.dials.values()].filter((p) => p.connType === 'outbound-full-relay' || p.connType === 'block-relay-only');
        const groups = auto.map((p) => netGroup(p.endpoint.host));
        assert.equal(new Set(groups).size, groups.length);
      }
    }),
    { numRuns: 200 },
  );
});

test('seed nodes are dialled once as addr-fetch and never retried; offered addresses are deduplicated', () => {
  const s = initConnman({ config: { ...config, automaticOutbound: true }, connect: [], addnode: [], seednode: [ep('127.0.0.1', 7)], now: 0 });
  const [d] = dials(run(s, { type: 'tick', now: 0 }).filter((e) => e.kind === 'dial'));
  assert.equal(d.connType, 'addr-fetch');
  run(s, { type: 'dial-failed', id: d.id, error: 'refused', now: 1 });
  assert.equal(dials(run(s, { type: 'tick', now: 1_000_000 })).filter((x) => x.connType === 'addr-fetch').length, 0);
  run(s, { type: 'addresses', purpose: 'outbound', list: [ep('11.1.0.1'), ep('11.1.0.1'), ep('11.2.0.1')], now: 1 });
  assert.deepEqual(s.candidates.map((e) => e.host), ['11.1.0.1', '11.2.0.1']);
});

test('a feeler tests one learned address every interval, in a network group not used by outbound peers', () => {
  const s = initConnman({ config: { ...config, fullRelayTarget: 1, blockRelayTarget: 0 }, connect: [], addnode: [], now: 0 });
  run(s, { type: 'addresses', purpose: 'outbound', list: [ep('11.1.0.1'), ep('11.2.0.1'), ep('11.2.0.2'), ep('11.3.0.1')], now: 0 });
  const first = dials(run(s, { type: 'tick', now: 1 }));
  assert.deepEqual(first.map((d) => d.connType), ['outbound-full-relay']);
  const feel = dials(run(s, { type: 'tick', now: 120_001 }));
  assert.deepEqual(feel.map((d) => [d.connType, d.endpoint.host]), [['feeler', '11.2.0.1']]);
  assert.deepEqual(dials(run(s, { type: 'tick', now: 120_002 })), [], 'one feeler at a time, one per interval');
  run(s, { type: 'dial-failed', id: feel[0].id, error: 'x', now: 120_003 });
  assert.deepEqual(dials(run(s, { type: 'tick', now: 200_000 })), [], 'not before the interval has passed again');
  assert.deepEqual(dials(run(s, { type: 'tick', now: 240_002 })).map((d) => d.connType), ['feeler']);
});

test('anchors from the address book are dialled first, as block-relay-only, before any full-relay slot', () => {
  const s = initConnman({ config, connect: [], addnode: [], now: 0 });
  run(s, { type: 'tick', now: 0 });
  const list = [
    { host: '11.50.0.1', port: 18444, anchor: true },
    { host: '11.51.0.1', port: 18444, anchor: true },
    ...Array.from({ length: 12 }, (_, i) => ep(`11.${i}.0.1`)),
  ];
  run(s, { type: 'addresses', purpose: 'outbound', list, now: 0 });
  const d = dials(run(s, { type: 'tick', now: 1 }));
  assert.deepEqual(
    d.slice(0, 2).map((x) => [x.endpoint.host, x.connType]),
    [
      ['11.50.0.1', 'block-relay-only'],
      ['11.51.0.1', 'block-relay-only'],
    ],
    'the anchors are the first dials, into the block-relay-only slots',
  );
  assert.equal(d.filter((x) => x.connType === 'block-relay-only').length, 2, 'no further block-relay-only dial: the anchors took both slots');
  assert.equal(d.filter((x) => x.connType === 'outbound-full-relay').length, 8);
  assert.ok(d.filter((x) => x.connType === 'outbound-full-relay').every((x) => x.endpoint.host !== '11.50.0.1' && x.endpoint.host !== '11.51.0.1'), 'no anchor in a full-relay slot');
  assert.equal('anchor' in d[0].endpoint, false, 'the dialled endpoint carries no marker');
});

test('anchors beyond the free block-relay-only slots are dropped, never used for full relay', () => {
  const s = initConnman({ config: { ...config, blockRelayTarget: 1, fullRelayTarget: 2 }, connect: [], addnode: [], now: 0 });
  run(s, {
    type: 'addresses',
    purpose: 'outbound',
    list: [{ host: '11.50.0.1', port: 18444, anchor: true }, { host: '11.51.0.1', port: 18444, anchor: true }, ep('11.1.0.1'), ep('11.2.0.1')],
    now: 0,
  });
  const d = dials(run(s, { type: 'tick', now: 0 }));
  assert.deepEqual(
    d.map((x) => [x.endpoint.host, x.connType]),
    [
      ['11.50.0.1', 'block-relay-only'],
      ['11.1.0.1', 'outbound-full-relay'],
      ['11.2.0.1', 'outbound-full-relay'],
    ],
  );
  assert.equal(s.anchors.length, 0, 'the anchor left over is forgotten');
});

test('an anchor in a network group already in use is skipped', () => {
  const s = initConnman({ config: { ...config, blockRelayTarget: 2, fullRelayTarget: 1 }, connect: [], addnode: [], now: 0 });
  run(s, { type: 'addresses', purpose: 'outbound', list: [{ host: '11.50.0.1', port: 18444, anchor: true }, { host: '11.50.0.2', port: 18444, anchor: true }, ep('11.1.0.1'), ep('11.2.0.1')], now: 0 });
  const d = dials(run(s, { type: 'tick', now: 0 }));
  assert.deepEqual(
    d.map((x) => [x.endpoint.host, x.connType]),
    [
      ['11.50.0.1', 'block-relay-only'],
      ['11.1.0.1', 'outbound-full-relay'],
      ['11.2.0.1', 'block-relay-only'],
    ],
  );
});

test('address rounds that offer nothing dialable back off 1, 2, 4 … 30 s; a book change or a lost outbound peer ends the wait at once', () => {
  const s = initConnman({ config: { ...config, fullRelayTarget: 2, blockRelayTarget: 0, feelerIntervalMs: 0 }, connect: [], addnode: [], now: 0 });
  const asks = (fx: ConnmanEffect[]) => fx.filter((e) => e.kind === 'want-addresses').length;
  let now = 0;
  assert.equal(asks(run(s, { type: 'tick', now })), 1);
  // Empty answers: the next ask waits 1 s, 2 s, 4 s, … and at most 30 s (ticks every 100 ms).
  const gaps: number[] = [];
  let asked = now;
  run(s, { type: 'addresses', purpose: 'outbound', list: [], now });
  while (gaps.length < 8) {
    now += 100;
    if (asks(run(s, { type: 'tick', now })) === 1) {
      gaps.push(now - asked);
      asked = now;
      run(s, { type: 'addresses', purpose: 'outbound', list: [], now });
    }
  }
  assert.deepEqual(gaps, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  // While waiting, the book reports a change: asked again in the same step.
  now += 500;
  assert.equal(asks(run(s, { type: 'tick', now })), 0);
  assert.equal(asks(run(s, { type: 'book-changed', now })), 1);
  assert.equal(s.addrEmptyRounds, 0);
  // An answer whose only candidate is in a group in use counts as empty too.
  run(s, { type: 'addresses', purpose: 'outbound', list: [ep('11.1.0.1')], now });
  const step = run(s, { type: 'tick', now: now + 1 });
  const [d] = dials(step);
  assert.equal(d?.endpoint.host, '11.1.0.1');
  assert.equal(asks(step), 1, 'one slot still empty');
  run(s, { type: 'addresses', purpose: 'outbound', list: [ep('11.1.0.2')], now: now + 2 });
  assert.equal(s.addrEmptyRounds, 1, 'its group is taken by the first dial');
  assert.equal(asks(run(s, { type: 'tick', now: now + 500 })), 0, 'waiting');
  // The outbound peer comes up and goes: its group is free, the wait ends.
  run(s, { type: 'dial-ok', id: d!.id, now: now + 600 });
  run(s, { type: 'peer-connected', id: d!.id, services: 1n, relayTxs: true, now: now + 600 });
  const fx = run(s, { type: 'peer-disconnected', id: d!.id, reason: 'gone', misbehaving: false, now: now + 700 });
  assert.equal(s.addrEmptyRounds, 0);
  assert.ok(dials(fx).length + asks(fx) > 0, 'the slots are filled or asked for at once');
  // A dialable answer resets the count as well.
  s.addrEmptyRounds = 3;
  run(s, { type: 'addresses', purpose: 'outbound', list: [ep('11.9.0.1')], now: now + 800 });
  assert.equal(s.addrEmptyRounds, 0);
  assert.equal(s.addrRetryAt, 0);
});

test('alone: with no peer for a minute, one status line a minute (dials, failures, the last reason, a hint); silent again once connected', () => {
  const s = initConnman({ config: { ...config, blockRelayTarget: 0, fullRelayTarget: 1 }, connect: [], addnode: [ep('127.0.0.1', 1)], now: 0 });
  const logs = (fx: ConnmanEffect[]) => fx.filter((e): e is Extract<ConnmanEffect, { kind: 'alone' }> => e.kind === 'alone');
  let dialled = 0;
  let lines: Extract<ConnmanEffect, { kind: 'alone' }>[] = [];
  for (let now = 0; now <= 125_000; now += 1000) {
    const fx = run(s, { type: 'tick', now });
    for (const d of dials(fx)) {
      dialled++;
      lines.push(...logs(run(s, { type: 'dial-failed', id: d.id, error: 'connect ECONNREFUSED 127.0.0.1:1', now })));
    }
    lines.push(...logs(fx));
  }
  assert.ok(dialled >= 2, 'the addnode peer was retried');
  assert.equal(lines.length, 2, 'none at once; at 60 s and at 120 s');
  assert.equal(lines[0].minutes, 1);
  assert.match(lines[0].text, /^\d+ dial\(s\) in the last minute, \d+ failed \(last: connect ECONNREFUSED 127\.0\.0\.1:1\); retrying the --connect\/--addnode peers with backoff$/);
  assert.equal(lines[1].minutes, 2);
  // Connected: no more lines, and the clock starts again at the next loss.
  const [d] = dials(run(s, { type: 'addnode', endpoint: ep('11.9.0.1'), command: 'onetry', now: 126_000 }));
  assert.ok(d, 'onetry dials at once');
  run(s, { type: 'dial-ok', id: d.id, now: 126_000 });
  run(s, { type: 'peer-connected', id: d.id, services: 1n, relayTxs: true, now: 126_000 });
  lines = [];
  for (let now = 127_000; now <= 300_000; now += 1000) lines.push(...logs(run(s, { type: 'tick', now })));
  assert.deepEqual(lines, []);
});

test('alone: with no address at all and no manual peer the line says how to give one', () => {
  const s = initConnman({ config, connect: [], addnode: [], now: 0 });
  const lines: string[] = [];
  for (let now = 0; now <= 61_000; now += 1000) for (const e of run(s, { type: 'tick', now })) if (e.kind === 'alone') lines.push(e.text);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /no dial in the last minute; the address book has no address to try: give peers with --addnode HOST:PORT or --connect HOST:PORT/);
});

test('a kill or crash of our own peer actor (local) never grows the addnode backoff; a remote failure does', () => {
  const s = initConnman({ config: { ...config, automaticOutbound: false }, connect: [], addnode: [ep('11.5.0.1')], now: 0, random: () => 0.5 });
  let now = 0;
  const connect = (): number => {
    for (let i = 0; i < 400; i++) {
      const [d] = dials(run(s, { type: 'tick', now }));
      if (d) {
        run(s, { type: 'dial-ok', id: d.id, now });
        run(s, { type: 'peer-connected', id: d.id, services: 1n, relayTxs: true, now });
        return d.id;
      }
      now += 250;
    }
    throw new Error('never redialled');
  };
  // Ten local kills in a row: each redial comes after the first delay (~1 s), never longer.
  for (let k = 0; k < 10; k++) {
    const id = connect();
    const downAt = (now += 100);
    run(s, { type: 'peer-disconnected', id, reason: 'killed', misbehaving: false, now, local: true });
    connect();
    assert.ok(now - downAt <= 1500, `redial ${k} after ${now - downAt} ms`);
    const again = [...s.peers.keys()][0];
    run(s, { type: 'peer-disconnected', id: again, reason: 'killed', misbehaving: false, now: (now += 100), local: true });
  }
  // Remote failures (the dial refused): the delay grows.
  const gaps: number[] = [];
  const id = connect();
  run(s, { type: 'peer-disconnected', id, reason: 'connection closed', misbehaving: false, now: (now += 100) });
  let last = now;
  for (let k = 0; k < 5; k++) {
    for (;;) {
      const [d] = dials(run(s, { type: 'tick', now }));
      if (d) {
        gaps.push(now - last);
        run(s, { type: 'dial-failed', id: d.id, error: 'ECONNREFUSED', now });
        last = now;
        break;
      }
      now += 250;
    }
  }
  gaps.shift();
  assert.ok(gaps[3] > gaps[0] * 3, `backoff grows for remote failures: ${gaps.join(', ')}`);
});
