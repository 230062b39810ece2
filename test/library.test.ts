import { test } from 'node:test';
import assert from 'node:assert/strict';

test("the package imports by its own name: import { startNode, wire } from 'peerd'", async () => {
  const lib = await import('peerd');
  assert.equal(typeof lib.startNode, 'function');
  assert.equal(typeof lib.wire.encodeMessageFrame, 'function');
  assert.equal(typeof lib.wire.FrameDecoder, 'function');
  assert.ok(lib.wire.networkParams('regtest').defaultPort === 18444);
});
