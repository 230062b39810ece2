/**
 * Modelled on Bitcoin Core's p2p_timeouts.py: three peers at once — one never sends verack (but
 * pings), one never sends version (but pings), one sends nothing. All are still connected before
 * the handshake deadline (--peertimeout) and all are gone after it: pings do not extend it.
 * test/integration/timeouts.test.ts has the single cases and the ping/inactivity timeouts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { RawPeer, rawVersion } from '../helpers/raw-peer.js';
import { stillServes, type FaultNode } from '../helpers/faults.js';
import { ManualScheduler, advance } from '../helpers/clock.js';

test('p2p_timeouts: no verack, no version (pings only), nothing at all — connected before the deadline, all dropped after it', async () => {
  // Core's own 60 s handshake deadline, on a manual clock: the node's minute passes in a moment of ours.
  const clock = new ManualScheduler();
  const node: FaultNode = await testNode({ scheduler: clock });
  const noVerack = await RawPeer.connect(node.port);
  const noVersion = await RawPeer.connect(node.port);
  const noSend = await RawPeer.connect(node.port);
  // Read now: a closed socket no longer knows its port.
  const ports = new Map([noVerack, noVersion, noSend].map((p) => [p, p.socket.localPort]));
  try {
    noVerack.send(rawVersion());
    await noVerack.waitFor('version');
    await noVerack.waitFor('verack');
    await until('three peers', async () => (await node.peers()).length === 3);
    // A ping from two of them every 5 s of the node's time, up to 1 ms before the deadline.
    let n = 1n;
    for (let t = 0; t < 60_000 - 5000; t += 5000) {
      noVerack.send({ command: 'ping', nonce: n++ });
      noVersion.send({ command: 'ping', nonce: n++ });
      await advance(clock, 5000, 250);
    }
    await advance(clock, 4999, 250);
    assert.deepEqual([noVerack.isClosed, noVersion.isClosed, noSend.isClosed], [false, false, false], 'all there 1 ms before the deadline');
    assert.equal((await node.peers()).length, 3);

    clock.advance(1);
    await Promise.all([noVerack.waitClosed(6000), noVersion.waitClosed(6000), noSend.waitClosed(6000)]);
    const recs = await node.disconnects();
    const reasonOf = (p: RawPeer) => recs.find((d) => d.address.endsWith(`:${ports.get(p)}`))?.reason;
    assert.equal(reasonOf(noVerack), 'version handshake timeout: no verack');
    assert.equal(reasonOf(noVersion), 'version handshake timeout: no version');
    assert.equal(reasonOf(noSend), 'version handshake timeout: no version');
    assert.equal(noVerack.all('pong').length, 0, 'no pong before the handshake completes');
    assert.ok(recs.every((d) => !d.misbehaving));
    await until('no peers left', async () => (await node.peers()).length === 0);
    await stillServes(node);
  } finally {
    for (const p of [noVerack, noVersion, noSend]) await p.destroy();
    await node.cleanup();
  }
});
