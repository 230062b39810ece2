/**
 * Modelled on Bitcoin Core's p2p_eviction.py: with every inbound slot taken, a newcomer makes the
 * node evict one unprotected inbound peer, and the peers with the best (lowest) ping are among
 * the protected. 21 inbound slots (maxconnections 32): 8 peers answer pings at once, 13 answer
 * 1 s late (a wide margin: with 200 ms, a load spike on the shared 2-core machine once made a
 * fast peer's ping look as slow); 20 are protected (4 by network group, 8 by ping, 4 by last
 * transaction, 4 by last block — all loopback peers share one group and none relays anything,
 * so those ties fall anywhere), so the one evicted must be a slow pinger, and the fastest peer
 * survives.
 * test/integration/eviction.test.ts has the refusal and the plain eviction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { infoOf, type FaultNode } from '../helpers/faults.js';
import { ManualScheduler, dueWhile } from '../helpers/clock.js';

test('p2p_eviction: slots full, a newcomer evicts one slow pinger; every fast pinger, the best ping first, survives', async () => {
  const clock = new ManualScheduler();
  const node: FaultNode = await testNode({ maxconnections: 32, pinginterval: 3600, scheduler: clock });
  const fast: RawPeer[] = [];
  const slow: RawPeer[] = [];
  const late: (() => void)[] = [];
  try {
    for (let i = 0; i < 21; i++) {
      const isFast = i % 5 === 1 || i % 5 === 3; // 8 of 21, spread over the connection order
      const p = await RawPeer.connect(node.port, { localAddress: `127.0.1.${i + 1}`, answerPings: isFast });
      await p.handshake();
      const ping = await dueWhile(clock, p.waitFor('ping'));
      if (!isFast) late.push(() => p.send({ command: 'pong', nonce: ping.nonce! }));
      (isFast ? fast : slow).push(p);
    }
    assert.equal(fast.length, 8);
    clock.advance(1000);
    for (const answer of late) answer();
    await until('every peer has a minimum ping', async () => {
      const ps = await node.peers();
      return ps.length === 21 && ps.every((p) => p.minping !== null);
    });
    const fastPings = await Promise.all(fast.map(async (p) => (await infoOf(node, p))!.minping!));
    const slowPings = await Promise.all(slow.map(async (p) => (await infoOf(node, p))!.minping!));
    assert.ok(Math.max(...fastPings) < Math.min(...slowPings), `fast ${fastPings} vs slow ${slowPings}`);
    const best = fast[fastPings.indexOf(Math.min(...fastPings))];

    const newcomer = await RawPeer.connect(node.port, { localAddress: '127.0.9.9' });
    await newcomer.handshake();
    await until('one peer evicted', async () => (await node.disconnects()).length === 1);
    const [rec] = await node.disconnects();
    assert.match(rec.reason, /^evicted/);
    await until('the evicted peer sees the close', () => [...fast, ...slow].some((p) => p.isClosed));
    assert.ok(fast.every((p) => !p.isClosed), 'no fast pinger evicted');
    assert.equal(best.isClosed, false, 'the best ping survives');
    assert.equal(slow.filter((p) => p.isClosed).length, 1, 'exactly one slow pinger evicted');
    assert.equal(newcomer.isClosed, false);
    await newcomer.destroy();
  } finally {
    await Promise.all([...fast, ...slow].map((p) => p.destroy()));
    await node.cleanup();
  }
});
