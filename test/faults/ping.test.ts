/**
 * Modelled on Bitcoin Core's p2p_ping.py, over real TCP against an in-process regtest node: the
 * ping after the handshake, pingwait while it is outstanding, pongs with the wrong nonce (do not
 * cancel), with nonce zero (cancel), unsolicited (ignored), a correct one (pingtime and minping,
 * minping going down after a faster round trip), pings with and without a nonce from the peer.
 * Core's "short payload" pong cancels the ping and keeps the peer; peerd disconnects a message
 * that does not parse (README, "Differences"). The ping timeout itself is in
 * test/integration/timeouts.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { ManualScheduler, dueWhile } from '../helpers/clock.js';
import { activePeer, infoOf, rawFrame, stillServes, sync, type FaultNode } from '../helpers/faults.js';
import type { RawPeer } from '../helpers/raw-peer.js';


async function pingState(node: FaultNode, p: RawPeer): Promise<{ pingtime: number | null; minping: number | null; pingwait: number | null; ignored: Record<string, number> }> {
  const i = await infoOf(node, p);
  assert.ok(i, 'the peer is known');
  return { pingtime: i.pingtime, minping: i.minping, pingwait: i.pingwait, ignored: i.ignored };
}

test('p2p_ping: pingwait, wrong/zero/unsolicited pongs, pingtime and minping, pings from the peer', async () => {
  // No periodic pings during the test: only the one after the handshake and those `ping` (RPC) asks for.
  // The node's clock is a manual one: pingwait and pingtime are exactly the time we let pass.
  const clock = new ManualScheduler();
  const node: FaultNode = await testNode({ pinginterval: 3600, scheduler: clock });
  const p = await activePeer(node, { answerPings: false });
  try {
    const first = await dueWhile(clock, p.waitFor('ping'));
    assert.notEqual(first.nonce, 0n, 'a ping with a nonce right after the handshake');
    clock.advance(50);
    let s = await pingState(node, p);
    assert.equal(s.pingtime, null);
    assert.equal(s.minping, null);
    assert.equal(s.pingwait, 0.05, 'waiting for 50 ms of the node\'s time');

    // Wrong nonce: ignored, the ping stays outstanding (Core: "Nonce mismatch").
    p.send({ command: 'pong', nonce: first.nonce! - 1n });
    await sync(p);
    s = await pingState(node, p);
    assert.ok(s.pingwait !== null, 'still waiting after a wrong nonce');
    assert.equal(s.pingtime, null);
    assert.equal(s.ignored['pong nonce mismatch'], 1);

    // Nonce zero cancels it (Core: "Nonce zero").
    p.send({ command: 'pong', nonce: 0n });
    await sync(p);
    s = await pingState(node, p);
    assert.equal(s.pingwait, null, 'a zero nonce cancels the ping');
    assert.equal(s.pingtime, null);

    // Unsolicited: no ping outstanding (Core: "Unsolicited pong without ping").
    p.send({ command: 'pong', nonce: 77n });
    await sync(p);
    s = await pingState(node, p);
    assert.equal(s.ignored['unsolicited pong'], 1);
    assert.equal(s.pingwait, null);

    // A slow, correct round trip: pingtime and minping.
    await node.pingAll();
    const slow = await dueWhile(clock, p.waitFor('ping'));
    clock.advance(120);
    p.send({ command: 'pong', nonce: slow.nonce! });
    await until('pingtime measured', async () => (await pingState(node, p)).pingtime !== null);
    s = await pingState(node, p);
    assert.equal(s.pingtime, 0.12, 'the round trip is the 120 ms of the node\'s time we let pass');
    assert.equal(s.minping, s.pingtime);
    assert.equal(s.pingwait, null);

    // A fast one: minping goes down, pingtime is the latest.
    await node.pingAll();
    const fast = await dueWhile(clock, p.waitFor('ping'));
    clock.advance(7);
    p.send({ command: 'pong', nonce: fast.nonce! });
    await until('second pingtime', async () => (await pingState(node, p)).pingtime! < 0.1);
    s = await pingState(node, p);
    assert.equal(s.pingtime, 0.007);
    assert.equal(s.minping, 0.007, 'minping follows the faster round trip');

    // From the peer: a ping without a nonce (pre-BIP31) gets no pong; one with a nonce gets it back.
    p.sendRaw(rawFrame('ping', Buffer.alloc(0)));
    p.send({ command: 'ping', nonce: 99n });
    const pong = await p.waitFor('pong');
    assert.equal(pong.nonce, 99n, 'the first pong answers the ping with a nonce: the empty ping got none');
    assert.equal(p.isClosed, false);
  } finally {
    await p.destroy();
  }
  try {
    // A pong with no payload while a ping is outstanding: Core logs "Short payload" and keeps the peer (its ping
    // still outstanding); peerd drops the undecodable message (the punishment table's 'undecodable').
    const q = await activePeer(node, { answerPings: false });
    try {
      await dueWhile(clock, q.waitFor('ping'));
      q.sendRaw(rawFrame('pong', Buffer.alloc(0)));
      await sync(q);
      const info = await infoOf(node, q);
      assert.equal(info?.ignored['undecodable'], 1);
      assert.notEqual(info?.pingwait, null, 'the ping is still outstanding');
      assert.equal(q.isClosed, false);
    } finally {
      await q.destroy();
    }
    await stillServes(node);
  } finally {
    await node.cleanup();
  }
});
