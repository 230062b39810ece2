/**
 * The multi-node test network on loopback: a 4-node ring syncs a 300-block chain from one stub
 * chain peer that only node 0 talks to, a new block announced to node 0 reaches every node, a
 * gossiped address reaches other nodes' address books, and stop() leaves nothing behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { startNetwork } from '../../../src/tools/testnet/network.js';
import { announceBlock, gossipAddress, measureSync, nodeAddresses } from '../../../src/tools/testnet/propagation.js';
import { networkState } from '../../../src/tools/testnet/report.js';

/** True if something accepts a TCP connection on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('net: a 4-node ring syncs 300 blocks through the ring from one stub peer; a new block and an address propagate; stop cleans up', async (t) => {
  const net = await startNetwork({ nodes: 4, topology: 'ring', chainBlocks: 300 });
  t.after(() => net.stop());
  assert.equal(net.nodes.length, 4);
  assert.equal(net.stubs.length, 1);
  assert.deepEqual(net.stubLinks, [{ node: 0, stub: 0 }]);
  assert.equal(net.chain?.height, 300);

  const sync = await measureSync(net, { timeoutMs: 60_000 });
  assert.notEqual(sync.allMs, null, `every node synced: heights ${sync.heights.join(',')}`);
  assert.deepEqual(sync.heights, [300, 300, 300, 300]);
  for (const n of net.nodes) assert.equal(await n.node.chainCall('getbestblockhash'), net.chain?.tip);

  // The stub peer was only ever dialled by node 0, and served each block once: nodes 1..3 got
  // the chain from peerd nodes alone.
  const stub = net.stubs[0]!;
  // Two connections: node 0's v2 attempt, which the v1-only stub hangs up on, then its one v1 retry.
  assert.equal(stub.stats.connections, 2, 'one v2 attempt and one v1 connection to the stub peer');
  assert.equal(stub.stats.blocks, 300);
  const state = await networkState(net);
  for (const n of state.slice(1)) {
    for (const p of n.peers) assert.ok(p.label.startsWith('node-') || p.label === '/peerd:0.1.0/', `node ${n.index} talks to ${p.label}`);
    assert.equal(n.peers.length, 2, `node ${n.index} has its two ring neighbours`);
  }
  assert.deepEqual(
    state[0]!.peers.filter((p) => p.direction === 'out').map((p) => p.label).sort(),
    ['node-1', 'stub-0'],
  );

  // A block announced to node 0 by a raw peer reaches every node.
  const block = await announceBlock(net, { to: 0, timeoutMs: 30_000 });
  assert.equal(block.height, 301);
  assert.notEqual(block.allMs, null, `per node ${block.perNodeMs.join(',')}`);
  assert.deepEqual(block.hops, [0, 1, 2, 1]);
  for (const n of net.nodes) assert.equal(Number(await n.node.chainCall('getblockcount')), 301);
  // And one announced to node 2 reaches node 0 (the other way round the ring).
  const back = await announceBlock(net, { to: 2 });
  assert.equal(back.height, 302);
  assert.notEqual(back.allMs, null);

  // A fresh address gossiped to node 0 reaches at least one other node's address book.
  const addr = await gossipAddress(net, { to: 0, windowMs: 10_000 });
  assert.ok(addr.perNodeMs[0] !== null, 'node 0 stored it');
  assert.ok(addr.reached >= 1, `reached ${addr.reached} other nodes`);
  const [host, port] = addr.address.split(':');
  const reachedNodes = addr.perNodeMs.map((x, i) => (x !== null ? i : -1)).filter((i) => i > 0);
  for (const i of reachedNodes) assert.ok((await nodeAddresses(net, i)).some((a) => a.address === host && a.port === Number(port)));

  // stop(): every node's tree has exited, nothing listens any more, the directory is gone.
  const ports = [...net.nodes.map((n) => n.port), stub.port];
  await net.stop();
  for (const n of net.nodes) assert.ok(await Promise.race([n.node.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]), `node ${n.index} exited`);
  for (const p of ports) assert.equal(await accepts(p), false, `port ${p} closed`);
  assert.equal(existsSync(net.root), false, 'root directory removed');
  await net.stop(); // idempotent
});

test('net: a random graph of 6 nodes syncs from a stub peer on node 0 and relays a block everywhere', async (t) => {
  const net = await startNetwork({ nodes: 6, topology: 'random', degree: 2, seed: 5, chainBlocks: 120 });
  t.after(() => net.stop());
  const sync = await measureSync(net, { timeoutMs: 60_000 });
  assert.deepEqual(sync.heights, [120, 120, 120, 120, 120, 120]);
  // Every node's neighbours are exactly the topology's.
  const state = await networkState(net);
  for (const n of state) {
    const wantOut = net.edges.filter((e) => e.from === n.index).map((e) => `node-${e.to}`);
    if (n.index === 0) wantOut.push('stub-0');
    assert.deepEqual(n.peers.filter((p) => p.direction === 'out').map((p) => p.label).sort(), wantOut.sort());
    assert.equal(n.peers.filter((p) => p.direction === 'in').length, net.edges.filter((e) => e.to === n.index).length);
  }
  const block = await announceBlock(net, { to: 3 });
  assert.notEqual(block.allMs, null);
  assert.ok(block.hops.every((h) => h >= 0));
});

test('net: with a root directory given, it is kept (and only what the network wrote is in it); RPC and the inspector when asked', async (t) => {
  const { mkdtempSync, rmSync, readdirSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const root = mkdtempSync(join(tmpdir(), 'peerd-net-root-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const net = await startNetwork({ nodes: 2, datadirRoot: root, rpc: true, inspectFirst: true });
  t.after(() => net.stop());
  assert.equal(net.chain, null);
  assert.equal(net.stubs.length, 0);
  assert.ok(net.nodes.every((n) => n.rpc !== null && n.rpc.port > 0 && existsSync(n.rpc.cookieFile)));
  assert.ok(net.nodes[0]!.inspect?.tokenUrl.startsWith('http://127.0.0.1:'));
  assert.equal(net.nodes[1]!.inspect, null);
  await net.stop();
  assert.deepEqual(readdirSync(root).sort(), ['node-0', 'node-1']);
});
