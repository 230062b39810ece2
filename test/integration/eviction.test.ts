import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';

async function fill(port: number, n: number): Promise<RawPeer[]> {
  const peers: RawPeer[] = [];
  for (let i = 0; i < n; i++) {
    // Distinct loopback sources (all one 'local' network group, as in Core).
    const p = await RawPeer.connect(port, { localAddress: `127.0.${1 + Math.floor(i / 200)}.${1 + (i % 200)}` });
    await p.handshake();
    peers.push(p);
  }
  return peers;
}

test('full inbound with every peer protected: the newcomer is refused, nobody is evicted', async () => {
  // maxconnections 14 → 14 − (8 + 2 + 1) = 3 inbound slots; with 3 peers, the 4 network-group protections cover all.
  const node = await testNode({ maxconnections: 14 });
  const peers = await fill(node.port, 3);
  try {
    await until('3 active', async () => (await node.peers()).filter((p) => p.phase === 'active').length === 3);
    const extra = await RawPeer.connect(node.port);
    await extra.waitClosed(5000);
    assert.equal(extra.received.length, 0);
    assert.equal((await node.disconnects()).length, 0, 'no one evicted');
    for (const p of peers) assert.equal(p.isClosed, false);
    assert.equal((await node.peers()).length, 3);
    await extra.destroy();
  } finally {
    await Promise.all(peers.map((p) => p.destroy()));
    await node.cleanup();
  }
});

test('full inbound with unprotected peers: one existing inbound peer is evicted for the newcomer', async () => {
  // 4 by group + 8 by ping + 4 by tx time + 4 by block time = 20 protected; 21 inbound slots leave one evictable.
  const node = await testNode({ maxconnections: 32, pinginterval: 3600 });
  const peers = await fill(node.port, 21);
  try {
    await until('21 active', async () => (await node.peers()).filter((p) => p.phase === 'active').length === 21);
    const events: { id: number; reason: string }[] = [];
    node.events.on('peer-disconnected', (e) => events.push(e));
    const newcomer = await RawPeer.connect(node.port, { localAddress: '127.9.9.9' });
    await newcomer.handshake();
    await until('one evicted', async () => (await node.disconnects()).length === 1);
    const [rec] = await node.disconnects();
    assert.match(rec.reason, /^evicted/);
    assert.equal(rec.connType, 'inbound');
    assert.equal(rec.misbehaving, false);
    await until('the evicted raw peer sees the close', () => peers.filter((p) => p.isClosed).length === 1);
    const ps = await node.peers();
    assert.equal(ps.length, 21);
    assert.ok(ps.some((p) => p.addr.startsWith('127.9.9.9:')), 'the newcomer is in');
    assert.ok(!ps.some((p) => p.id === rec.id));
    assert.equal(newcomer.isClosed, false);
    await until('the disconnect event is emitted', () => events.length === 1);
    assert.equal(events[0].id, rec.id);
    assert.match(events[0].reason, /^evicted/);
    await newcomer.destroy();
  } finally {
    await Promise.all(peers.map((p) => p.destroy()));
    await node.cleanup();
  }
});
