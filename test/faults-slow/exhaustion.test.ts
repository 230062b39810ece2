/**
 * Bitcoin Core's p2p_invalid_messages.py test_resource_exhaustion at full size: 80 messages of
 * the largest valid size (4,000,000 bytes of an unknown command, 320 MB) from one peer. The node
 * stays up, keeps answering another peer within 2 s per ping meanwhile, drops the junk (ignored,
 * counted) and keeps both connected. test/faults/invalid-messages.test.ts runs it with 10.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode } from '../helpers/node.js';
import { activePeer, infoOf, rawFrame, SLOW_SKIP, sync } from '../helpers/faults.js';

test('80 × 4 MB unknown messages: ignored, both peers stay connected, the other is answered within 2 s each time', { skip: SLOW_SKIP, timeout: 120_000 }, async () => {
  const node = await testNode();
  const junk = await activePeer(node);
  const honest = await activePeer(node);
  try {
    const big = rawFrame('badmsg', Buffer.alloc(4_000_000, 0x62));
    for (let i = 0; i < 80; i++) junk.sendRaw(big);
    for (let i = 0; i < 20; i++) await sync(honest, 2000);
    await sync(junk, 120_000);
    assert.equal(junk.isClosed, false);
    assert.equal(honest.isClosed, false);
    assert.equal((await infoOf(node, junk))?.ignored['unknown command'], 80);
  } finally {
    await junk.destroy();
    await honest.destroy();
    await node.cleanup();
  }
});
