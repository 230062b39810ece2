import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { RawPeer, frame } from '../helpers/raw-peer.js';
import type { PeerInfo } from '../../src/contracts/peer.js';

const MAX_SEND = 64 * 1024;

test('a peer that floods pings and never reads: the node stops reading from it, stays bounded, then drops it as not reading', async () => {
  const node = await testNode({ maxSendBuffer: MAX_SEND, sendStallMs: 2000, inactivitytimeout: 60, pinginterval: 3600 });
  const peer = await RawPeer.connect(node.port);
  let flooding = true;
  try {
    await peer.handshake();
    await peer.waitFor('ping');
    peer.pauseReading();
    const batch = Buffer.concat(Array.from({ length: 2000 }, (_, i) => frame({ command: 'ping', nonce: BigInt(i + 1) })));
    // Flood, respecting our own socket's backpressure so that only the node's behaviour is tested.
    const flood = (async () => {
      while (flooding && !peer.isClosed) {
        if (peer.socket.writableLength > 4 * batch.length) await new Promise((r) => setTimeout(r, 20));
        else peer.sendRaw(batch);
      }
    })();

    let info: PeerInfo | undefined;
    // The receive limit may pause it first (a flood outruns the actor); the full send queue keeps it paused.
    await until('the node pauses reading from the peer with its send queue over the limit', async () => {
      info = (await node.peers())[0];
      return info?.recvPaused === true && info.sendQueued > MAX_SEND;
    }, 15_000);

    // While paused, more flooding does not reach the node's memory.
    const a = (await node.peers())[0];
    await new Promise((r) => setTimeout(r, 300));
    const b = (await node.peers())[0];
    if (a && b) {
      assert.equal(b.recvPaused, true);
      assert.ok(b.bytesrecv - a.bytesrecv <= 5 * 1024 * 1024, 'at most one receive buffer more was read');
      // Nothing more is processed (so nothing more answered) once the queue is over the limit: Core's fPauseSend.
      assert.ok(b.sendQueued <= MAX_SEND + 1024, `send queue bounded by the limit plus one message (${b.sendQueued})`);
    }

    await peer.waitClosed(8000);
    flooding = false;
    await flood;
    const [rec] = await node.disconnects();
    assert.match(rec.reason, /not reading/);
    assert.equal(rec.misbehaving, false);
    // The node is fine afterwards.
    const fresh = await RawPeer.connect(node.port);
    await fresh.handshake();
    await fresh.waitFor('ping');
    await fresh.destroy();
  } finally {
    flooding = false;
    await peer.destroy();
    await node.cleanup();
  }
});
