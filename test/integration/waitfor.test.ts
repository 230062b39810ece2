/**
 * Core's waitfornewblock, waitforblock and waitforblockheight over the RPC server: calls that
 * wait on the tip, answered when a new peer brings more blocks, or with the current tip when their
 * timeout passes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { chainOf, displayHex, serveBlocks } from '../helpers/chain.js';
import { clientOptions, rpcCall, RpcCallError } from '../../src/rpc/client.js';

type Tip = { hash: string; height: number };

test('waitfor*: the current tip at once when already there or at the timeout; the new tip when a peer brings it', async (t) => {
  const first = chainOf(12);
  const longer = chainOf(3, { prefix: first, seed: 1 });
  const a = await serveBlocks(t, first, 'first');
  const b = await serveBlocks(t, longer, 'longer');
  const node = await testNode({ server: true, rpcport: 0, connect: [`127.0.0.1:${a.port}`] });
  t.after(() => node.cleanup());
  await until('synced to 12', async () => Number(await node.chainCall('getblockcount')) === 12, 30_000);
  const rpc = clientOptions({ network: 'regtest', datadir: node.settings.datadir, rpcport: (await node.rpcAddress())!.port });
  const call = (m: string, p: unknown[]): Promise<Tip> => rpcCall(rpc, m, p as never) as Promise<Tip>;
  const tip12: Tip = { hash: displayHex(first[11]!.block.header.hash), height: 12 };

  assert.deepEqual(await call('waitforblockheight', [5]), tip12, 'already past: at once, with the tip');
  assert.deepEqual(await call('waitforblock', [tip12.hash]), tip12);
  assert.deepEqual(await call('waitfornewblock', [150]), tip12, 'no new block within the timeout: the current tip');
  await assert.rejects(call('waitfornewblock', [-1]), (e: unknown) => e instanceof RpcCallError && /Negative timeout/.test(e.message));

  // Three waits with no timeout, then a peer with three more blocks.
  const tip15: Tip = { hash: displayHex(longer[14]!.block.header.hash), height: 15 };
  const anyNew = call('waitfornewblock', []);
  const height15 = call('waitforblockheight', [15, 0]);
  const block15 = call('waitforblock', [tip15.hash, 0]);
  await node.addnode(`127.0.0.1:${b.port}`, 'onetry');
  const n = await anyNew;
  assert.ok(n.height > 12 && n.height <= 15, `a new tip: ${JSON.stringify(n)}`);
  assert.deepEqual(await height15, tip15);
  assert.deepEqual(await block15, tip15);
});
