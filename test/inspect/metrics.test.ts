import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TreeNode, ExitRecord } from '../../supervisors/index.js';
import { InspectorMetrics, OTHER_MSG, msgLabel, type MetricsInput } from '../../src/inspect/metrics.js';
import type { PeerRow } from '../../src/inspect/snapshot.js';
import { parseMetrics } from '../helpers/inspect.js';

function row(id: number, perMsg: PeerRow['perMsg'], over: Partial<PeerRow> = {}): PeerRow {
  return {
    id,
    path: `/root/peers/peer-${id}`,
    addr: '127.0.0.1:1',
    host: '127.0.0.1',
    direction: 'inbound',
    connType: 'inbound',
    transport: 'v1',
    sessionId: '',
    phase: 'active',
    services: null,
    servicesNames: [],
    userAgent: null,
    version: null,
    startingHeight: null,
    connectedAt: 0,
    pingMs: null,
    minPingMs: null,
    pingWaitMs: null,
    bytesSent: 0,
    bytesRecv: 0,
    perMsg,
    recvLimit: 0,
    sendLimit: 0,
    recvThrottled: false,
    recvPaused: false,
    sendQueued: 0,
    ignored: {},
    ...over,
  };
}

function tn(path: string, over: Partial<TreeNode> = {}): TreeNode {
  return { path, name: path.slice(path.lastIndexOf('/') + 1), kind: 'worker', incarnation: 1, restarts: 0, uptimeMs: 0, status: 'idle', mailbox: 0, mailboxHighWater: 0, handled: 0, timers: [], monitoredBy: 0, childCount: 0, children: [], ...over };
}

function m(over: Partial<MetricsInput>): MetricsInput {
  return { tree: [], peers: [], totals: { recv: 0, sent: 0 }, exits: [], deadLetters: 0, sync: null, pings: {}, ...over };
}

function exit(seq: number, path: string, reasonKind: ExitRecord['reasonKind']): ExitRecord {
  return { seq, path, kind: 'worker', reason: reasonKind, reasonKind, at: 0 };
}

test('message labels: protocol commands by name, anything a peer invents as one label', () => {
  assert.equal(msgLabel('ping'), 'ping');
  assert.equal(msgLabel('addrv2'), 'addrv2');
  assert.equal(msgLabel('xyzzy'), OTHER_MSG);
  assert.equal(msgLabel('"}\n'), OTHER_MSG);
});

test('metrics: the text parses and values follow the samples; byte counters stay monotonic when peers leave', async () => {
  const metrics = new InspectorMetrics();
  try {
    const tree = [
      tn('/root', {
        kind: 'supervisor',
        children: [tn('/root/connman', { mailbox: 3, restarts: 1 }), tn('/root/peers', { kind: 'dynamic_supervisor', children: [tn('/root/peers/peer-1', { mailbox: 2 }), tn('/root/peers/peer-2', { mailbox: 5 })] })],
      }),
    ];
    // The first sample is the baseline: what happened before is not counted.
    metrics.observe(m({ tree: [tn('/root', { kind: 'supervisor', children: [tn('/root/connman')] })], exits: [exit(1, '/root/store', 'killed')] }));
    metrics.observe(
      m({
        tree,
        peers: [row(1, { ping: { recv: 32, sent: 32 }, weird: { recv: 100, sent: 0 } }), row(2, { ping: { recv: 64, sent: 0 } }, { direction: 'outbound', connType: 'manual' })],
        totals: { recv: 1000, sent: 500 },
        exits: [exit(3, '/root/peers/peer-9', 'killed'), exit(2, '/root/connman', 'error'), exit(1, '/root/store', 'killed')],
        deadLetters: 7,
        sync: { chain: 'regtest', headers: 20, blocks: 10, percent: 50, rate: 0 },
        pings: { '1': [[0, 3]], '2': [[0, 300]] },
      }),
    );
    let v = parseMetrics(await metrics.text());
    assert.equal(v.get('peerd_peers{direction="inbound",conn_type="inbound"}'), 1);
    assert.equal(v.get('peerd_peers{direction="outbound",conn_type="manual"}'), 1);
    assert.equal(v.get('peerd_peer_bytes_total{direction="recv",msg="ping"}'), 96);
    assert.equal(v.get(`peerd_peer_bytes_total{direction="recv",msg="${OTHER_MSG}"}`), 100);
    assert.equal(v.get('peerd_net_bytes_total{direction="recv"}'), 1000);
    assert.equal(v.get('peerd_dead_letters_total'), 7);
    assert.equal(v.get('peerd_sync_height'), 10);
    assert.equal(v.get('peerd_sync_headers'), 20);
    assert.equal(v.get('peerd_ping_rtt_seconds_count'), 2);
    assert.equal(v.get('peerd_ping_rtt_seconds_bucket{le="0.005"}'), 1);
    assert.equal(v.get('peerd_ping_rtt_seconds_bucket{le="0.5"}'), 2);
    assert.equal(v.get('peerd_actor_exits_total{actor="peer",reason="killed"}'), 1);
    assert.equal(v.get('peerd_actor_exits_total{actor="connman",reason="error"}'), 1);
    assert.equal(v.get('peerd_actor_exits_total{actor="store",reason="killed"}'), undefined, 'before the first sample');
    assert.equal(v.get('peerd_actor_restarts_total{actor="connman"}'), 1);
    assert.equal(v.get('peerd_actors{actor="peer"}'), 2);
    assert.equal(v.get('peerd_actor_mailbox_messages{actor="peer"}'), 7);
    assert.equal(v.get('peerd_actor_mailbox_max_messages{actor="peer"}'), 5);
    for (const q of ['p50', 'p99', 'max']) assert.ok((v.get(`peerd_eventloop_delay_${q}_seconds`) ?? -1) >= 0, q);

    // Peer 2 leaves, peer 1 sends more; the same exits are seen again with one new; connman restarts once more.
    tree[0]!.children[0] = tn('/root/connman', { restarts: 2 });
    metrics.observe(
      m({
        tree,
        peers: [row(1, { ping: { recv: 64, sent: 32 }, weird: { recv: 100, sent: 0 } })],
        totals: { recv: 1200, sent: 600 },
        exits: [exit(4, '/root/peers/peer-2', 'normal'), exit(3, '/root/peers/peer-9', 'killed'), exit(2, '/root/connman', 'error'), exit(1, '/root/store', 'killed')],
      }),
    );
    v = parseMetrics(await metrics.text());
    assert.equal(v.get('peerd_peers{direction="outbound",conn_type="manual"}'), undefined, 'the gone peer is no longer counted');
    assert.equal(v.get('peerd_peers{direction="inbound",conn_type="inbound"}'), 1);
    assert.equal(v.get('peerd_peer_bytes_total{direction="recv",msg="ping"}'), 128, 'kept the bytes of the peer that left, added the growth');
    assert.equal(v.get('peerd_actor_exits_total{actor="peer",reason="killed"}'), 1, 'an exit is counted once');
    assert.equal(v.get('peerd_actor_exits_total{actor="peer",reason="normal"}'), 1);
    assert.equal(v.get('peerd_actor_restarts_total{actor="connman"}'), 2);
    assert.equal(v.get('peerd_sync_height'), 0, 'no chain data: 0');

    // A read that failed (null peers) changes nothing.
    metrics.observe(m({ tree, peers: null, totals: null, exits: [] }));
    v = parseMetrics(await metrics.text());
    assert.equal(v.get('peerd_peers{direction="inbound",conn_type="inbound"}'), 1);
    assert.equal(v.get('peerd_net_bytes_total{direction="recv"}'), 1200);
  } finally {
    metrics.close();
  }
});

test('a new metrics instance (a restarted inspector) counts from zero: the past is its baseline', async () => {
  const metrics = new InspectorMetrics();
  try {
    const at = (restarts: number, ping: number, exits: ExitRecord[]) =>
      m({ tree: [tn('/root', { kind: 'supervisor', children: [tn('/root/connman', { restarts })] })], peers: [row(1, { ping: { recv: ping, sent: 0 } })], exits });
    metrics.observe(at(2, 3200, [exit(7, '/root/inspector', 'killed')]));
    let v = parseMetrics(await metrics.text());
    assert.equal(v.get('peerd_peer_bytes_total{direction="recv",msg="ping"}'), undefined);
    assert.equal(v.get('peerd_actor_restarts_total{actor="connman"}'), undefined);
    assert.equal(v.get('peerd_actor_exits_total{actor="inspector",reason="killed"}'), undefined);
    assert.equal(v.get('peerd_peers{direction="inbound",conn_type="inbound"}'), 1, 'gauges are current at once');
    metrics.observe(at(3, 3232, [exit(8, '/root/peers/peer-5', 'error'), exit(7, '/root/inspector', 'killed')]));
    v = parseMetrics(await metrics.text());
    assert.equal(v.get('peerd_peer_bytes_total{direction="recv",msg="ping"}'), 32);
    assert.equal(v.get('peerd_actor_restarts_total{actor="connman"}'), 1);
    assert.equal(v.get('peerd_actor_exits_total{actor="peer",reason="error"}'), 1);
    assert.equal(v.get('peerd_actor_exits_total{actor="inspector",reason="killed"}'), undefined);
  } finally {
    metrics.close();
  }
});

test('the line pattern rejects what is not the text format', () => {
  assert.throws(() => parseMetrics('peerd_x{a="b" 1'));
  assert.throws(() => parseMetrics('peerd x 1'));
  assert.throws(() => parseMetrics('peerd_x one'));
  assert.deepEqual([...parseMetrics('# HELP a b\n# TYPE a gauge\na{x="1",y="q\\"z"} 2.5e-3\n')], [['a{x="1",y="q\\"z"}', 0.0025]]);
});
