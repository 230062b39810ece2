/**
 * Core's anti-DoS header work threshold (net_processing.cpp GetAntiDoSWorkThreshold:
 * max(minimum chain work, tip work − 144 blocks' work)), after `p2p_dos_header_tree.py`,
 * `p2p_headers_sync_with_minchainwork.py` and `p2p_unrequested_blocks.py`, over real TCP on
 * 127.0.0.1, on regtest where the minimum chain work is zero, so the tip alone sets it.
 *
 * A node synced to 800 blocks (threshold: 2 × 801 − 144 × 2 = 1,314):
 * - a 500-header fork from genesis (work 2 × 501 = 1,002) is not stored: the header count is
 *   unchanged, there is no second chain tip, the peer is kept (Core: "Ignoring low-work chain",
 *   not punished), and after a restart the tree reloads the same 801 headers;
 * - an unrequested block on genesis (work 4) is not stored either, its header included
 *   (Core: BLOCK_HEADER_LOW_WORK, not punished);
 * - an unrequested block with an unknown parent is Core's BLOCK_MISSING_PREV, Misbehaving: the
 *   connection is closed as misbehaving (a local peer: disconnected, not discouraged);
 * - a fork that branches within the 144-block buffer is still stored (headers-only tip).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testNode, until } from '../helpers/node.js';
import { activePeer, expectDisconnect, stillServes, sync } from '../helpers/faults.js';
import { chainOf, displayHex, serveBlocks } from '../helpers/chain.js';

interface ChainSummary {
  readonly headerCount: number;
  readonly lowWorkHeaders: number;
  readonly presync: readonly unknown[];
}
type Tip = { height: number; hash: string; branchlen: number; status: string };

const TIP = 800;

test('anti-DoS work threshold after sync: a 500-header fork from genesis and low-work unrequested blocks are never stored, not even after a restart', async (t) => {
  const datadir = mkdtempSync(join(tmpdir(), 'peerd-antidos-'));
  t.after(() => rmSync(datadir, { recursive: true, force: true }));
  const main = chainOf(TIP, { txsPerBlock: 0, seed: 61 });
  const stub = await serveBlocks(t, main);
  let node = await testNode({ datadir, connect: [`127.0.0.1:${stub.port}`] });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await node.cleanup();
  });
  await until('synced', async () => Number(await node.chainCall('getblockcount')) === TIP, 60_000);
  const summary = (): ChainSummary => node.actors('/root/chain')[0].summary as ChainSummary;
  assert.equal(summary().headerCount, TIP + 1);

  // 1. A 500-header fork from genesis (one headers message of 500: a short chain, so no presync).
  const fork = chainOf(500, { txsPerBlock: 0, seed: 62 }).map((b) => b.block.header);
  const peer = await activePeer(node);
  peer.send({ command: 'headers', headers: fork });
  await sync(peer);
  await until('the low-work headers counted', () => summary().lowWorkHeaders >= 500);
  assert.equal(summary().headerCount, TIP + 1, 'no header of the fork entered the tree');
  assert.equal(((await node.chainCall('getchaintips')) as Tip[]).length, 1, 'no second chain tip');
  assert.equal(peer.isClosed, false, 'a low-work chain is ignored, its sender not punished (Core)');

  // 2. An unrequested block on genesis: its header too has too little work (BLOCK_HEADER_LOW_WORK), not punished.
  const onGenesis = chainOf(1, { txsPerBlock: 0, seed: 63 })[0].block;
  peer.send({ command: 'block', block: onGenesis });
  await sync(peer);
  assert.equal(summary().headerCount, TIP + 1, 'the unrequested low-work block left no header');
  assert.equal(peer.isClosed, false);
  await peer.destroy();

  // 3. An unrequested block whose parent is unknown: BLOCK_MISSING_PREV, Misbehaving (Core v28+).
  const orphan = chainOf(2, { txsPerBlock: 0, seed: 64 })[1].block;
  const rec = await expectDisconnect(
    node,
    async (p) => {
      await p.handshake();
      p.send({ command: 'block', block: orphan });
    },
    /prev-blk-not-found/,
  );
  assert.equal(rec.misbehaving, true);
  assert.equal(summary().headerCount, TIP + 1);

  // 4. A fork within the buffer (from height 700, 3 headers: work 2 × 704 = 1,408 ≥ 1,314) is stored as a headers-only tip.
  const near = chainOf(3, { txsPerBlock: 0, seed: 65, prefix: main.slice(0, 700) }).slice(700).map((b) => b.block.header);
  const honest = await activePeer(node);
  honest.send({ command: 'headers', headers: near });
  await sync(honest);
  await until('the near fork is stored', () => summary().headerCount === TIP + 1 + 3);
  const tips = (await node.chainCall('getchaintips')) as Tip[];
  assert.deepEqual(tips[1], { height: 703, hash: displayHex(near[2].hash), branchlen: 3, status: 'headers-only' });
  await honest.destroy();
  await stillServes(node);

  // 5. Restart on the same datadir: the tree reloads what was stored, not the 500-header fork.
  await node.cleanup();
  node = await testNode({ datadir });
  await until('reloaded', async () => Number(await node.chainCall('getblockcount')) === TIP, 30_000);
  assert.equal(summary().headerCount, TIP + 1 + 3, 'main chain and the near fork; none of the low-work headers');
  const after = (await node.chainCall('getchaintips')) as Tip[];
  assert.equal(after.length, 2);
  assert.ok(!after.some((x) => fork.some((h) => displayHex(h.hash) === x.hash)));
  await node.cleanup();
  stopped = true;
});
