/**
 * A new connection's version message carries the chain's tip height: the block actor tells the
 * connection manager its tip by message (at its start, on every change, and when the manager
 * asks after its own restart), so the height survives a restart of either actor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHAIN } from '../../src/contracts/chain.js';
import { CONNMAN } from '../../src/contracts/connman.js';
import { chainOf, serveBlocks } from '../helpers/chain.js';
import { testNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';

async function startHeightSeen(port: number): Promise<number> {
  const peer = await RawPeer.connect(port);
  try {
    return (await peer.handshake()).startHeight;
  } finally {
    await peer.destroy();
  }
}

test('start height: new connections announce the tip, after a restart of the manager or of the block actor too', async (t) => {
  const source = await serveBlocks(t, chainOf(120));
  const node = await testNode({ connect: [`127.0.0.1:${source.port}`] });
  t.after(() => node.cleanup());
  await until('synced to 120', async () => Number(await node.chainCall('getblockcount')) === 120, 30_000);
  await until('start height 120', async () => (await startHeightSeen(node.port)) === 120);

  assert.ok(node.kill(CONNMAN.path, 'kill'));
  await until('manager back', () => node.actors(CONNMAN.path).length === 1 && node.runtime.lookup(CONNMAN) !== undefined);
  await until('start height 120 after a manager restart', async () => (await startHeightSeen(node.port).catch(() => -1)) === 120);

  assert.ok(node.kill(CHAIN.path, 'kill'));
  await until('block actor back', async () => Number(await node.chainCall('getblockcount').catch(() => -1)) === 120);
  assert.equal(await startHeightSeen(node.port), 120);
});
