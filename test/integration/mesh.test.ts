import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { tcpHandles } from '../helpers/raw-peer.js';
import { ManualScheduler, advance, advanceUntil } from '../helpers/clock.js';

test('five nodes in a full mesh stay connected across several ping intervals, with measured pings; no TCP handle leaks', async () => {
  const before = tcpHandles();
  const nodes: Awaited<ReturnType<typeof testNode>>[] = [];
  try {
    // Each node is started with addnode to the ones before it, then told about the ones after it.
    // All five run on one manual clock: their ticks, pings and timeouts move together with it.
    const clock = new ManualScheduler();
    for (let i = 0; i < 5; i++) nodes.push(await testNode({ pinginterval: 1, addnode: nodes.map((n) => `127.0.0.1:${n.port}`), scheduler: clock }));
    for (let i = 0; i < 5; i++) for (let j = i + 1; j < 5; j++) await nodes[i].addnode(`127.0.0.1:${nodes[j].port}`, 'add');
    // 4 manual outbound + 4 inbound each.
    await advanceUntil(
      clock,
      'every node has 8 active peers',
      async () => {
        const all = await Promise.all(nodes.map((n) => n.peers()));
        return all.every((ps) => ps.length === 8 && ps.every((p) => p.phase === 'active'));
      },
      30_000,
    );
    const during = tcpHandles();
    assert.ok(during.sockets >= before.sockets + 40 && during.servers >= before.servers + 5, `the handle count sees the mesh: ${JSON.stringify(during)}`);
    const ids = await Promise.all(nodes.map(async (n) => (await n.peers()).map((p) => p.id)));
    // Several ping intervals of the nodes' time.
    await advance(clock, 3200);
    for (const [i, n] of nodes.entries()) {
      const ps = await n.peers();
      assert.deepEqual(
        ps.map((p) => p.id),
        ids[i],
        `node ${i} kept the same connections`,
      );
      assert.equal(ps.filter((p) => p.inbound).length, 4);
      assert.equal(ps.filter((p) => p.connType === 'manual').length, 4);
      for (const p of ps) {
        assert.equal(p.phase, 'active');
        assert.ok(p.pingtime !== null && p.pingtime >= 0, `node ${i} peer ${p.id} has a ping time`);
        assert.ok(p.minping !== null && p.minping <= p.pingtime);
        // The first ping right after the handshake, then one per interval.
        assert.ok((p.bytessentPerMsg['ping'] ?? 0) >= 3 * 32, `node ${i} peer ${p.id} pinged several times`);
        assert.ok((p.bytesrecvPerMsg['pong'] ?? 0) >= 3 * 32);
      }
      assert.deepEqual(await n.disconnects(), []);
    }
  } finally {
    for (const n of nodes.reverse()) await n.cleanup();
  }
  await until('every socket and server is closed', () => {
    const after = tcpHandles();
    return after.sockets <= before.sockets && after.servers <= before.servers;
  });
  const after = tcpHandles();
  assert.ok(after.sockets <= before.sockets && after.servers <= before.servers, JSON.stringify({ before, after }));
});
