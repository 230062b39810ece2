import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Json } from '../../src/rpc/protocol.js';
import { RpcCallError } from '../../src/rpc/client.js';
import {
  addTotals,
  EMPTY_BANDWIDTH,
  EMPTY_SNAPSHOT,
  flattenTree,
  hostOf,
  parseNetInfo,
  parsePeers,
  parseSync,
  parseTotals,
  sparkline,
  timeBuckets,
  type Bandwidth,
} from '../../src/top/model.js';
import { errText, fetchSnapshot, type RpcCaller } from '../../src/top/app.js';

test('parsePeers: reads getpeerinfo, skips entries without an id, null for a non-list', () => {
  const rows = parsePeers([
    { id: 4, addr: '127.0.0.1:5', inbound: true, connection_type: 'inbound', transport_protocol_type: 'v2', subver: '/x/', pingtime: 0.0125, bytesrecv: 10, bytessent: 20, recv_limit: 1000, send_limit: 0 },
    { id: 'five', addr: 'nope' },
    7,
    { id: 6 },
  ]);
  assert.deepEqual(rows, [
    { id: 4, addr: '127.0.0.1:5', inbound: true, connType: 'inbound', transport: 'v2', subver: '/x/', pingMs: 12.5, bytesRecv: 10, bytesSent: 20, recvLimit: 1000, sendLimit: 0 },
    { id: 6, addr: '?', inbound: false, connType: '', transport: '', subver: '', pingMs: null, bytesRecv: 0, bytesSent: 0, recvLimit: null, sendLimit: null },
  ]);
  assert.equal(parsePeers({ id: 1 }), null);
  assert.equal(parsePeers(null), null);
});

test('flattenTree: depth-first with depths, bounded, tolerant of junk', () => {
  const tree: Json = [
    {
      path: '/root',
      kind: 'supervisor',
      mailbox: 1,
      mailboxHighWater: 3,
      restarts: 2,
      status: 'idle',
      children: [{ path: '/root/peers', children: [{ path: '/root/peers/peer-1', kind: 'worker' }, 'junk'] }, { path: '/root/control' }],
    },
  ];
  const rows = flattenTree(tree)!;
  assert.deepEqual(
    rows.map((r) => [r.path, r.name, r.depth]),
    [
      ['/root', 'root', 0],
      ['/root/peers', 'peers', 1],
      ['/root/peers/peer-1', 'peer-1', 2],
      ['/root/control', 'control', 1],
    ],
  );
  assert.deepEqual([rows[0].mailbox, rows[0].mailboxHighWater, rows[0].restarts, rows[2].kind], [1, 3, 2, 'worker']);
  assert.equal(flattenTree(tree, 2)!.length, 2);
  assert.equal(flattenTree('x'), null);
});

test('every reader survives any JSON (a bad reply never throws)', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (j) => {
      const v = j as Json;
      parsePeers(v);
      flattenTree(v);
      parseNetInfo(v);
      parseTotals(v);
      const s = parseSync(v);
      assert.ok(s.kind === 'ok' || s.kind === 'error');
    }),
  );
});

test('parseSync and parseNetInfo read the fields; missing ones are an error or defaults', () => {
  assert.deepEqual(parseSync({ chain: 'regtest', blocks: 10, headers: 20, verificationprogress: 0.5, initialblockdownload: true }), {
    kind: 'ok',
    chain: 'regtest',
    blocks: 10,
    headers: 20,
    progress: 0.5,
    ibd: true,
  });
  assert.equal(parseSync({ blocks: 1 }).kind, 'error');
  assert.deepEqual(parseNetInfo({ subversion: '/peerd:0.1.0/', connections: 3, connections_in: 1, networkactive: false }), {
    subversion: '/peerd:0.1.0/',
    connections: 3,
    connectionsIn: 1,
    connectionsOut: 2,
    networkActive: false,
  });
});

test('hostOf: what setban takes from an address', () => {
  assert.equal(hostOf('127.0.0.1:18444'), '127.0.0.1');
  assert.equal(hostOf('[::1]:18444'), '::1');
  assert.equal(hostOf('[2001:db8::1]'), '2001:db8::1');
  assert.equal(hostOf('2001:db8::1'), '2001:db8::1');
  assert.equal(hostOf('10.0.0.1'), '10.0.0.1');
});

test('addTotals: rates from successive readings, a minute kept, a counter reset starts over', () => {
  let b: Bandwidth = EMPTY_BANDWIDTH;
  b = addTotals(b, { recv: 0, sent: 0, timeMs: 1000 });
  assert.deepEqual(b.samples, []);
  b = addTotals(b, { recv: 2000, sent: 500, timeMs: 3000 });
  assert.deepEqual(b.samples, [{ at: 3000, recv: 1000, send: 250 }]);
  b = addTotals(b, { recv: 2000, sent: 500, timeMs: 3000 }); // same clock: nothing new
  assert.equal(b.samples.length, 1);
  for (let t = 4000; t <= 70_000; t += 1000) b = addTotals(b, { recv: 2000 + t, sent: 500, timeMs: t });
  assert.ok(b.samples.every((s) => s.at > 10_000) && b.samples.length === 60, `${b.samples.length}`);
  assert.deepEqual(b.samples.at(-1), { at: 70_000, recv: 1000, send: 0 });
  b = addTotals(b, { recv: 5, sent: 5, timeMs: 71_000 }); // node restarted
  assert.deepEqual(b, { last: { recv: 5, sent: 5, timeMs: 71_000 }, samples: [] });
});

test('timeBuckets and sparkline: a minute spread over the cells, gaps blank, scaled to the max', () => {
  const samples = [
    { at: 1000, recv: 1, send: 0 }, // outside the window
    { at: 20_000, recv: 10, send: 0 },
    { at: 31_000, recv: 30, send: 0 }, // the end of the second cell (16 s, 31 s]
    { at: 61_000, recv: 40, send: 0 },
  ];
  const cells = timeBuckets(samples, (s) => s.recv, 61_000, 60_000, 4);
  assert.deepEqual(cells, [null, 20, null, 40]);
  assert.equal(sparkline(cells), ' ▅ █');
  assert.equal(sparkline([0, 0]), '▁▁');
  assert.equal(sparkline([]), '');
  fc.assert(
    fc.property(fc.array(fc.option(fc.double({ min: 0, max: 1e12, noNaN: true }), { nil: null }), { maxLength: 50 }), (vs) => {
      const s = sparkline(vs);
      assert.equal([...s].length, vs.length);
    }),
  );
});

test('fetchSnapshot: -32601 from getblockchaininfo is "no chain data"; a bad reply keeps the old value and says so', async () => {
  const replies: Record<string, Json | Error> = {
    getpeerinfo: [{ id: 1, addr: '127.0.0.1:1' }],
    getnetworkinfo: { subversion: '/peerd:0.1.0/', connections: 1, connections_in: 1, connections_out: 0 },
    getnettotals: { totalbytesrecv: 10, totalbytessent: 20, timemillis: 5000 },
    getactortree: 'garbage',
    uptime: 42,
    getblockchaininfo: new RpcCallError('Method not found', -32601),
  };
  const call: RpcCaller = async (m) => {
    const r = replies[m];
    if (r instanceof Error) throw r;
    return r;
  };
  const prevTree = [{ path: '/root', name: 'root', depth: 0, kind: 'supervisor', status: 'idle', mailbox: 0, mailboxHighWater: 0, restarts: 0 }];
  const s = await fetchSnapshot(call, { ...EMPTY_SNAPSHOT, tree: prevTree }, () => 99);
  assert.deepEqual(s.sync, { kind: 'none' });
  assert.equal(s.peers?.[0].id, 1);
  assert.equal(s.uptimeS, 42);
  assert.equal(s.tree, prevTree);
  assert.equal(s.error, 'bad reply to getactortree');
  assert.equal(s.fetchedAt, 99);

  replies.getblockchaininfo = { chain: 'regtest', blocks: 5, headers: 10, verificationprogress: 0.25 };
  replies.getactortree = new RpcCallError('boom', -1);
  const t = await fetchSnapshot(call, s);
  assert.equal(t.sync.kind, 'ok');
  assert.equal(t.error, 'getactortree: boom');
});

test('fetchSnapshot: when nothing answers the node is down, the old data stays and the error says so', async () => {
  const prev = { ...EMPTY_SNAPSHOT, uptimeS: 7 };
  const down: RpcCaller = () => Promise.reject(new RpcCallError('Could not connect to the server 127.0.0.1:9 (connect ECONNREFUSED 127.0.0.1:9)\n\nMake sure…'));
  const s = await fetchSnapshot(down, prev);
  assert.equal(s.error, 'cannot reach node (127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9), retrying');
  assert.equal(s.uptimeS, 7);
  const thrown: RpcCaller = () => {
    throw new Error('sync throw');
  };
  assert.match((await fetchSnapshot(thrown, prev)).error ?? '', /^cannot reach node \(sync throw\)/);
  assert.equal(errText(new RpcCallError('Could not locate RPC credentials. No authentication cookie could be found (/d/.cookie), and no rpcpassword is set.')), 'no cookie file /d/.cookie');
});
