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

test('p2p_timeouts: no verack, no version (pings only), nothing at all — connected before the deadline, all dropped after it', async () => {
  const node: FaultNode = await testNode({ peertimeout: 2 });
  const noVerack = await RawPeer.connect(node.port);
  const noVersion = await RawPeer.connect(node.port);
  const noSend = await RawPeer.connect(node.port);
  // Read now: a closed socket no longer knows its port.
  const ports = new Map([noVerack, noVersion, noSend].map((p) => [p, p.socket.localPort]));
  const t0 = Date.now();
  let pinger: NodeJS.Timeout | undefined;
  try {
    noVerack.send(rawVersion());
    await noVerack.waitFor('version');
    await noVerack.waitFor('verack');
    let n = 1n;
    pinger = setInterval(() => {
      noVerack.send({ command: 'ping', nonce: n++ });
      noVersion.send({ command: 'ping', nonce: n++ });
    }, 250);
    // Halfway to the deadline: everyone is still there.
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - t0))));
    assert.deepEqual([noVerack.isClosed, noVersion.isClosed, noSend.isClosed], [false, false, false]);
    assert.equal((await node.peers()).length, 3);

    await Promise.all([noVerack.waitClosed(6000), noVersion.waitClosed(6000), noSend.waitClosed(6000)]);
    assert.ok(Date.now() - t0 >= 1900, 'not before the deadline');
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
    clearInterval(pinger);
    for (const p of [noVerack, noVersion, noSend]) await p.destroy();
    await node.cleanup();
  }
});
