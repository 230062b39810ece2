import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TreeNode } from '../../supervisors/index.js';
import type { PeerInfo } from '../../src/contracts/peer.js';
import {
  BANDWIDTH_POINTS,
  PING_RESAMPLE_MS,
  PING_SAMPLES,
  actorRows,
  actorType,
  hello,
  initialSampler,
  peerRow,
  sample,
  syncView,
  trackPings,
  type SampleInput,
  type SamplerState,
} from '../../src/inspect/snapshot.js';

function node(path: string, over: Partial<TreeNode> = {}): TreeNode {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return {
    path,
    name,
    kind: 'worker',
    incarnation: 1,
    restarts: 0,
    uptimeMs: 1000,
    status: 'idle',
    mailbox: 0,
    mailboxHighWater: 0,
    handled: 0,
    timers: [],
    monitoredBy: 0,
    childCount: 0,
    children: [],
    ...over,
  };
}

function peer(id: number, over: Partial<PeerInfo> = {}): PeerInfo {
  return {
    id,
    addr: `127.0.0.1:${1000 + id}`,
    endpoint: { host: '127.0.0.1', port: 1000 + id },
    connType: 'inbound',
    inbound: true,
    phase: 'active',
    connectedAtMs: 1_000,
    servicesBits: 0n,
    version: 70016,
    subver: '/x:1/',
    services: '0000000000000409',
    startingHeight: 0,
    relayTxs: true,
    conntime: 1,
    lastsend: 1,
    lastrecv: 1,
    bytessent: 100,
    bytesrecv: 200,
    pingtime: null,
    minping: null,
    pingwait: null,
    bytessentPerMsg: { version: 126 },
    bytesrecvPerMsg: { version: 126, verack: 24 },
    ignored: {},
    recvPaused: false,
    sendQueued: 0,
    recvLimit: 0,
    sendLimit: 0,
    recvThrottled: false,
    sendThrottled: 0,
    heldBytes: 0,
    requestsServed: 0,
    transportType: 'v1',
    sessionId: '',
    ...over,
  };
}

function input(now: number, over: Partial<SampleInput> = {}): SampleInput {
  return {
    now,
    node: { network: 'regtest', userAgent: '/peerd:0.1.0/', startedAt: 0, networkActive: true },
    tree: [node('/root', { kind: 'supervisor' })],
    peers: [],
    totals: { recv: 0, sent: 0 },
    chain: null,
    exits: [],
    disconnects: [],
    deadLetters: 0,
    ...over,
  };
}

test('actor type: the name without its instance number', () => {
  assert.equal(actorType('peer-12'), 'peer');
  assert.equal(actorType('listener-0'), 'listener');
  assert.equal(actorType('connman'), 'connman');
  assert.equal(actorType('root'), 'root');
});

test('messages/s come from handled deltas; a new incarnation counts from zero', () => {
  const t1 = [node('/root', { kind: 'supervisor', handled: 10, children: [node('/root/a', { handled: 100 })] })];
  const first = actorRows(t1, new Map(), null);
  assert.equal(first.rows[0]!.children[0]!.rate, 0, 'no rate without a previous sample');
  const t2 = [node('/root', { kind: 'supervisor', handled: 12, children: [node('/root/a', { handled: 350 })] })];
  const second = actorRows(t2, first.marks, 500);
  assert.equal(second.rows[0]!.rate, 4);
  assert.equal(second.rows[0]!.children[0]!.rate, 500);
  const t3 = [node('/root', { kind: 'supervisor', handled: 12, children: [node('/root/a', { handled: 30, incarnation: 2 })] })];
  assert.equal(actorRows(t3, second.marks, 1000).rows[0]!.children[0]!.rate, 30, 'restarted: 30 handled since');
});

test("a supervisor's row carries its strategy and intensity use; a worker's none", () => {
  const sup = node('/root', {
    kind: 'supervisor',
    summary: { strategy: 'one_for_one', children: 3, running: 2, restartsInPeriod: 1, intensity: '3/5s', maxRestarts: 3, periodMs: 5000 },
  });
  const [row] = actorRows([sup], new Map(), null).rows;
  assert.deepEqual(row!.supervisor, { strategy: 'one_for_one', children: 3, running: 2, restartsInPeriod: 1, maxRestarts: 3, periodMs: 5000 });
  // An older summary with only the "N/Ps" string still gives the limits.
  const old = node('/root', { kind: 'dynamic_supervisor', summary: { strategy: 'simple_one_for_one', intensity: '1000/1s' } });
  assert.equal(actorRows([old], new Map(), null).rows[0]!.supervisor!.maxRestarts, 1000);
  assert.equal(actorRows([old], new Map(), null).rows[0]!.supervisor!.periodMs, 1000);
  assert.equal(actorRows([node('/w', { summary: { x: 1 } })], new Map(), null).rows[0]!.supervisor, null);
});

test('summaries become JSON (bigints as numbers or strings)', () => {
  const [row] = actorRows([node('/a', { summary: { big: 2n ** 70n, small: 5n, buf: Buffer.from([1, 2]) } })], new Map(), null).rows;
  assert.deepEqual(row!.summary, { big: (2n ** 70n).toString(), small: 5, buf: '0102' });
  assert.doesNotThrow(() => JSON.stringify(row));
});

test('peer row: direction, per-message bytes both ways, service names, ping in ms', () => {
  const r = peerRow(peer(3, { inbound: false, connType: 'outbound-full-relay', pingtime: 0.0123, minping: 0.01, pingwait: 0.5, transportType: 'v2', sessionId: 'ab'.repeat(32) }));
  assert.equal(r.direction, 'outbound');
  assert.equal(r.transport, 'v2');
  assert.equal(r.sessionId, 'ab'.repeat(32));
  assert.equal(r.path, '/root/peers/peer-3');
  assert.deepEqual(r.perMsg, { version: { recv: 126, sent: 126 }, verack: { recv: 24, sent: 0 } });
  assert.deepEqual(r.servicesNames, ['NETWORK', 'WITNESS', 'NETWORK_LIMITED']);
  assert.equal(r.pingMs, 12.3);
  assert.equal(r.minPingMs, 10);
  assert.equal(r.pingWaitMs, 500);
});

test('ping history: a sample per new pong, a resample when idle, capped, dropped with the peer', () => {
  const at = (id: number, pingMs: number | null, pongBytes: number) =>
    peerRow(peer(id, { pingtime: pingMs === null ? null : pingMs / 1000, bytesrecvPerMsg: pongBytes > 0 ? { pong: pongBytes } : {} }));
  let tracks = trackPings(new Map(), [at(1, null, 0)], 0).tracks;
  assert.deepEqual(tracks.get(1)!.samples, [], 'no RTT yet, no sample');
  let r = trackPings(tracks, [at(1, 5, 32)], 1000);
  assert.deepEqual(r.fresh, { '1': [[1000, 5]] });
  // Same RTT but a new pong: a new sample.
  r = trackPings(r.tracks, [at(1, 5, 64)], 2000);
  assert.deepEqual(r.fresh['1'], [[2000, 5]]);
  // Nothing new: no sample until PING_RESAMPLE_MS passed.
  r = trackPings(r.tracks, [at(1, 5, 64)], 3000);
  assert.deepEqual(r.fresh, {});
  r = trackPings(r.tracks, [at(1, 5, 64)], 2000 + PING_RESAMPLE_MS);
  assert.deepEqual(r.fresh['1'], [[2000 + PING_RESAMPLE_MS, 5]]);
  tracks = r.tracks;
  for (let i = 0; i < PING_SAMPLES + 30; i++) tracks = trackPings(tracks, [at(1, i, 100 + i * 32)], 100_000 + i).tracks;
  assert.equal(tracks.get(1)!.samples.length, PING_SAMPLES);
  assert.equal(tracks.get(1)!.samples.at(-1)![1], PING_SAMPLES + 29);
  assert.equal(trackPings(tracks, [], 200_000).tracks.size, 0, 'a peer that left is dropped');
});

test('bandwidth: bytes/s from getnettotals deltas, at most ten minutes of points', () => {
  let st: SamplerState = initialSampler();
  let snap = sample(st, input(0, { totals: { recv: 0, sent: 0 } }));
  assert.equal(snap.snapshot.bandwidth, null, 'no rate from one sample');
  st = snap.state;
  snap = sample(st, input(500, { totals: { recv: 1000, sent: 250 } }));
  assert.deepEqual(snap.snapshot.bandwidth, { t: 500, recv: 2000, sent: 500 });
  st = snap.state;
  // A failed read keeps the totals: the next rate spans both intervals.
  st = sample(st, input(1000, { totals: null })).state;
  snap = sample(st, input(1500, { totals: { recv: 2000, sent: 250 } }));
  assert.deepEqual(snap.snapshot.bandwidth, { t: 1500, recv: 1000, sent: 0 });
  st = snap.state;
  for (let i = 1; i <= BANDWIDTH_POINTS + 10; i++) st = sample(st, input(1500 + i * 1000, { totals: { recv: 2000 + i, sent: 250 } })).state;
  assert.equal(st.bandwidth.length, BANDWIDTH_POINTS);
  assert.equal(st.bandwidth.at(-1)!.recv, 1);
});

test('bandwidth rates are never negative and match the bytes over any sequence of totals', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ dt: fc.integer({ min: 1, max: 5000 }), drecv: fc.nat(1e9), dsent: fc.nat(1e9) }), { minLength: 1, maxLength: 40 }), (steps) => {
      let st = sample(initialSampler(), input(0)).state;
      let now = 0;
      let recv = 0;
      for (const s of steps) {
        now += s.dt;
        recv += s.drecv;
        const r = sample(st, input(now, { totals: { recv, sent: 0 } }));
        assert.ok(r.snapshot.bandwidth!.recv >= 0);
        assert.ok(Math.abs(r.snapshot.bandwidth!.recv - s.drecv / (s.dt / 1000)) <= 0.5 + 1e-6);
        st = r.state;
      }
    }),
  );
});

test('sync panel: null without chain data; percent and blocks/s from getblockchaininfo', () => {
  assert.equal(syncView(null, []), null);
  assert.equal(syncView('nonsense', []), null);
  let st = initialSampler();
  const chain = (blocks: number) => ({ chain: 'regtest', blocks, headers: 2000 });
  st = sample(st, input(0, { chain: chain(100) })).state;
  st = sample(st, input(1000, { chain: chain(300) })).state;
  const r = sample(st, input(2000, { chain: chain(500) }));
  assert.deepEqual(r.snapshot.sync, { chain: 'regtest', headers: 2000, blocks: 500, percent: 25, rate: 200 });
  assert.equal(syncView({ blocks: 0, headers: 0 }, [])!.percent, 100, 'nothing to sync: 100 %');
});

test('a failed peer read keeps the last peers; exits and disconnects are capped for the page; hello carries the histories', () => {
  let st = initialSampler();
  st = sample(st, input(0, { peers: [peer(1, { pingtime: 0.002, bytesrecvPerMsg: { pong: 32 } })] })).state;
  const r = sample(st, input(1000, { peers: null, exits: Array.from({ length: 200 }, (_, i) => ({ seq: 200 - i, path: '/x', kind: 'worker' as const, reason: 'killed', reasonKind: 'killed' as const, at: 0 })) }));
  assert.deepEqual(r.snapshot.peers.map((p) => p.id), [1]);
  assert.equal(r.snapshot.exits.length, 50);
  assert.equal(r.snapshot.exits[0]!.seq, 200, 'newest first');
  const h = hello(r.state, r.snapshot);
  assert.deepEqual(h.history.pings, { '1': [[0, 2]] });
  assert.equal(h.tree[0]!.path, '/root');
  assert.equal(h.node.actors, 1);
});
