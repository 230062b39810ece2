/**
 * The connection manager's BIP324 rules, without sockets: which dials use v2 (Core's
 * use_v2transport in net.cpp), and the one v1 reconnection after a v2 attempt a v1-only peer hung
 * up on (Core's m_reconnections, V2Transport::ShouldReconnectV1): same address, same slot, v1, no
 * failed attempt for the address book, no backoff step, never misbehaviour, never twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONNMAN, initConnman, stepConnman, type ConnmanEffect, type ConnmanState, type ConnmanEvent } from '../../src/connman/logic.js';
import type { Endpoint } from '../../src/contracts/connection.js';
import { NODE_NETWORK, NODE_P2P_V2, NODE_WITNESS } from '../../src/wire/constants.js';

const on = { ...DEFAULT_CONNMAN, groupKey: Buffer.from('k'), v2transport: true };
const off = { ...on, v2transport: false };
const ep = (host: string, port = 18444): Endpoint => ({ host, port });
const V2 = NODE_NETWORK | NODE_WITNESS | NODE_P2P_V2;
const V1 = NODE_NETWORK | NODE_WITNESS;

type Dial = Extract<ConnmanEffect, { kind: 'dial' }>;
const dials = (fx: ConnmanEffect[]): Dial[] => fx.filter((e): e is Dial => e.kind === 'dial');
const attempts = (fx: ConnmanEffect[]) => fx.filter((e) => e.kind === 'attempt');
const run = (s: ConnmanState, e: ConnmanEvent): ConnmanEffect[] => stepConnman(s, e);

/** A v1-only peer hung up on our v2 opening: what the peer actor reports (after dial-ok). */
function refusedV2(s: ConnmanState, d: Dial, now: number, reconnectV1 = true): ConnmanEffect[] {
  run(s, { type: 'dial-ok', id: d.id, now });
  return run(s, { type: 'peer-disconnected', id: d.id, reason: 'peer closed the connection', misbehaving: false, now: now + 1, reconnectV1 });
}

test('which dials use v2: manual (--connect, --addnode, seednode) when --v2transport is on; automatic ones and feelers only to addresses known for NODE_P2P_V2', () => {
  const s = initConnman({ config: { ...on, feelerIntervalMs: 1000 }, connect: [], addnode: [ep('127.0.0.1', 1)], seednode: [ep('127.0.0.1', 2)], now: 0 });
  const manual = dials(run(s, { type: 'tick', now: 0 }));
  assert.deepEqual(
    manual.map((d) => [d.connType, d.v2]),
    [
      ['manual', true],
      ['addr-fetch', true],
    ],
  );
  run(s, { type: 'addresses', purpose: 'outbound', list: [{ ...ep('11.1.0.1'), services: V2 }, { ...ep('11.2.0.1'), services: V1 }, ep('11.3.0.1')], now: 0 });
  const auto = dials(run(s, { type: 'tick', now: 1 }));
  assert.deepEqual(
    auto.map((d) => [d.endpoint.host, d.v2]),
    [
      ['11.1.0.1', true],
      ['11.2.0.1', false],
      ['11.3.0.1', false],
    ],
  );
  assert.ok(auto.every((d) => !('services' in d.endpoint)), 'the dialled endpoint is host and port only');
  run(s, { type: 'addresses', purpose: 'feeler', list: [{ ...ep('11.9.0.1'), services: V2 }], now: 1 });
  const [feeler] = dials(run(s, { type: 'tick', now: 2000 })).filter((d) => d.connType === 'feeler');
  assert.equal(feeler.v2, true);
});

test('with --v2transport 0 nothing is dialled with v2, not even an address known for NODE_P2P_V2 or an addnode asking for it', () => {
  const s = initConnman({ config: off, connect: [ep('127.0.0.1', 1)], addnode: [{ ...ep('127.0.0.1', 3), v2transport: true }], now: 0 });
  assert.ok(dials(run(s, { type: 'tick', now: 0 })).every((d) => !d.v2));
  assert.deepEqual(dials(run(s, { type: 'addnode', endpoint: ep('127.0.0.1', 4), command: 'onetry', v2transport: true, now: 1 })).map((d) => d.v2), [false]);
  const a = initConnman({ config: off, connect: [], addnode: [], now: 0 });
  run(a, { type: 'addresses', purpose: 'outbound', list: [{ ...ep('11.1.0.1'), services: V2 }], now: 0 });
  assert.ok(dials(run(a, { type: 'tick', now: 1 })).every((d) => !d.v2));
});

test("addnode's v2transport: false dials that peer with v1 though the node supports v2; absent, the node's setting", () => {
  const s = initConnman({ config: on, connect: [], addnode: [{ ...ep('127.0.0.1', 1), v2transport: false }], now: 0 });
  assert.deepEqual(dials(run(s, { type: 'tick', now: 0 })).map((d) => d.v2), [false]);
  assert.deepEqual(dials(run(s, { type: 'addnode', endpoint: ep('127.0.0.1', 2), command: 'add', v2transport: false, now: 1 })).map((d) => d.v2), [false]);
  assert.deepEqual(dials(run(s, { type: 'addnode', endpoint: ep('127.0.0.1', 3), command: 'onetry', now: 2 })).map((d) => d.v2), [true]);
});

test('a v2 addnode a v1-only peer hung up on is redialled at once with v1: same address, same entry, no backoff step, no failed attempt, not misbehaviour', () => {
  const s = initConnman({ config: on, connect: [], addnode: [ep('127.0.0.1', 1)], now: 0, random: () => 0 });
  const [d] = dials(run(s, { type: 'tick', now: 0 }));
  assert.equal(d.v2, true);
  const fx = refusedV2(s, d, 10);
  const [again] = dials(fx);
  assert.ok(again, 'redialled in the same step');
  assert.equal(dials(fx).length, 1);
  assert.deepEqual(again.endpoint, d.endpoint);
  assert.equal(again.connType, 'manual');
  assert.equal(again.v2, false);
  assert.deepEqual(attempts(fx), [], 'not a failed attempt for the address book');
  const m = [...s.manual.values()][0];
  assert.equal(m.failures, 0, 'the backoff did not grow');
  assert.equal(m.dialId, again.id);
  assert.equal(m.nextAt, 0, 'no backoff delay set');
  assert.equal(s.disconnects.length, 1);
  assert.equal(s.disconnects[0].misbehaving, false);
  assert.match(s.disconnects[0].reason, /retrying with v1/);
  assert.equal(s.v1Reconnections, 1);
  // The v1 connection comes up: a good attempt, and the entry is connected.
  run(s, { type: 'dial-ok', id: again.id, now: 12 });
  const ok = run(s, { type: 'peer-connected', id: again.id, services: V1, relayTxs: true, now: 13 });
  assert.deepEqual(attempts(ok), [{ kind: 'attempt', endpoint: d.endpoint, ok: true, connType: 'manual' }]);
  assert.equal(m.peerId, again.id);
  // Its later loss is an ordinary one (backoff), and the next dial tries v2 again (Core keeps the entry's v2transport).
  run(s, { type: 'peer-disconnected', id: again.id, reason: 'peer closed the connection', misbehaving: false, now: 100 });
  assert.equal(m.failures, 1);
  const [later] = dials(run(s, { type: 'tick', now: m.nextAt }));
  assert.equal(later.v2, true);
});

test('never twice: a v1 reconnection that fails is an ordinary failure (backoff grows), whatever the peer reports', () => {
  const s = initConnman({ config: on, connect: [], addnode: [ep('127.0.0.1', 1)], now: 0, random: () => 0 });
  const [d] = dials(run(s, { type: 'tick', now: 0 }));
  const [again] = dials(refusedV2(s, d, 10));
  const fx = refusedV2(s, again, 20);
  assert.deepEqual(dials(fx), [], 'no second reconnection: the backoff applies');
  assert.equal(attempts(fx).length, 1, 'a failed attempt');
  assert.equal([...s.manual.values()][0].failures, 1);
  assert.equal(s.v1Reconnections, 1);
});

test('an automatic outbound v2 dial refused by a v1-only peer is redialled with v1 in the same slot, before any other candidate', () => {
  const s = initConnman({ config: { ...on, fullRelayTarget: 1, blockRelayTarget: 0 }, connect: [], addnode: [], now: 0 });
  run(s, { type: 'addresses', purpose: 'outbound', list: [{ ...ep('11.1.0.1'), services: V2 }, { ...ep('11.2.0.1'), services: V2 }], now: 0 });
  const [d] = dials(run(s, { type: 'tick', now: 0 }));
  assert.equal(d.v2, true);
  const fx = refusedV2(s, d, 5);
  assert.deepEqual(
    dials(fx).map((x) => [x.endpoint.host, x.connType, x.v2]),
    [['11.1.0.1', 'outbound-full-relay', false]],
  );
  assert.deepEqual(attempts(fx), []);
  assert.equal(s.candidates.length, 1, 'the other candidate is kept for later');
});

test('no reconnection for: a peer that did not say so, a v1 dial, one that completed its handshake, our own actor dying, an inbound peer, the network off', () => {
  const cases: Array<[string, (s: ConnmanState, d: Dial) => ConnmanEffect[]]> = [
    ['the peer did not ask for it (it received bytes)', (s, d) => refusedV2(s, d, 5, false)],
    [
      'handshake completed',
      (s, d) => {
        run(s, { type: 'dial-ok', id: d.id, now: 5 });
        run(s, { type: 'peer-connected', id: d.id, services: V2, relayTxs: true, now: 6 });
        return run(s, { type: 'peer-disconnected', id: d.id, reason: 'x', misbehaving: false, now: 7, reconnectV1: true });
      },
    ],
    [
      'our own actor died',
      (s, d) => {
        run(s, { type: 'dial-ok', id: d.id, now: 5 });
        return run(s, { type: 'peer-disconnected', id: d.id, reason: 'killed', misbehaving: false, now: 7, local: true, reconnectV1: true });
      },
    ],
    [
      'network off',
      (s, d) => {
        run(s, { type: 'dial-ok', id: d.id, now: 5 });
        run(s, { type: 'set-network-active', active: false, now: 6 });
        return run(s, { type: 'peer-disconnected', id: d.id, reason: 'x', misbehaving: false, now: 7, reconnectV1: true });
      },
    ],
  ];
  for (const [what, end] of cases) {
    const s = initConnman({ config: on, connect: [], addnode: [ep('127.0.0.1', 1)], now: 0, random: () => 0 });
    const [d] = dials(run(s, { type: 'tick', now: 0 }));
    const fx = end(s, d);
    assert.ok(dials(fx).every((x) => x.v2), `${what}: no v1 redial`);
    assert.equal(s.v1Reconnections, 0, what);
  }
  // A v1 dial (addnode v2transport false) never reconnects.
  const s = initConnman({ config: on, connect: [], addnode: [{ ...ep('127.0.0.1', 1), v2transport: false }], now: 0, random: () => 0 });
  const [d] = dials(run(s, { type: 'tick', now: 0 }));
  assert.deepEqual(dials(refusedV2(s, d, 5)), []);
  assert.equal(s.v1Reconnections, 0);
  // An inbound peer never does.
  const i = initConnman({ config: on, connect: [], addnode: [], now: 0 });
  const acc = run(i, { type: 'inbound', socketId: 1, remote: ep('127.0.0.1', 5), now: 0 }).find((e) => e.kind === 'accept');
  assert.ok(acc && acc.kind === 'accept');
  assert.deepEqual(dials(run(i, { type: 'peer-disconnected', id: acc.id, reason: 'x', misbehaving: false, now: 1, reconnectV1: true })), []);
  assert.equal(i.v1Reconnections, 0);
});

test('an addnode removed while its v2 attempt was failing is not redialled', () => {
  const s = initConnman({ config: on, connect: [], addnode: [ep('127.0.0.1', 1)], now: 0 });
  const [d] = dials(run(s, { type: 'tick', now: 0 }));
  run(s, { type: 'dial-ok', id: d.id, now: 1 });
  run(s, { type: 'addnode', endpoint: ep('127.0.0.1', 1), command: 'remove', now: 2 });
  assert.deepEqual(dials(run(s, { type: 'peer-disconnected', id: d.id, reason: 'addnode removed', misbehaving: false, now: 3, reconnectV1: true })), []);
});

test('a peer adopted after a restart of the manager keeps its v2 dial, so a refusal is still retried once', () => {
  const s = initConnman({ config: on, connect: [], addnode: [ep('127.0.0.1', 1)], now: 0 });
  run(s, { type: 'adopt', id: 7, endpoint: ep('127.0.0.1', 1), connType: 'manual', connectedAt: 0, ready: false, services: 0n, relayTxs: false, v2: true });
  const [again] = dials(run(s, { type: 'peer-disconnected', id: 7, reason: 'peer closed the connection', misbehaving: false, now: 3, reconnectV1: true }));
  assert.equal(again?.v2, false);
  assert.equal(again?.connType, 'manual');
});
