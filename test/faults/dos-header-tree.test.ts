/**
 * After Bitcoin Core's `p2p_dos_header_tree.py` and `p2p_headers_sync_with_minchainwork.py`:
 * low-work headers must not fill the header tree.
 *
 * - A long chain of valid low-work headers from a peer, with the minimum chain work set above
 *   it: checked in presync without being stored (the tree holds genesis alone, nothing written),
 *   memory bounded by what presync keeps (a ring of one retarget interval — 144 on regtest,
 *   2,016 elsewhere — and a hash every 1,000 heights, read from the block actor's summary
 *   while the headers arrive: 150 items for 7,500 headers), the peer not
 *   punished (Core: "ignoring low-work chain"), the node still serving honest peers.
 * - A chain that does reach the minimum work is presynced, downloaded again and stored, and its
 *   blocks are fetched.
 * - Core's checkpoint case ("bad-fork-prior-to-checkpoint") does not apply: peerd has no
 *   checkpoints. Core with `-nocheckpoints` (or before a checkpoint is reached) accepts a short
 *   fork from genesis as a headers-only tip; so does peerd when the minimum chain work is met.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockProof, difficultyAdjustmentInterval } from '../../src/wire/pow.js';
import { REGTEST_BITS } from '../../src/tools/chain/generate.js';
import type { BlockHeader } from '../../src/wire/block.js';
import { testNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { activePeer, stillServes, sync } from '../helpers/faults.js';
import { chainOf, displayHex, serveBlocks } from '../helpers/chain.js';

const WORK = blockProof(REGTEST_BITS);

interface ChainSummary {
  readonly headerCount: number;
  readonly headers: number;
  readonly presync: readonly { peer: number; phase: string; height: number; retained: number }[];
}

type Tip = { height: number; hash: string; branchlen: number; status: string };

/** Answers the node's getheaders from `headers` (heights 1..N on genesis), each reply after `delayMs`. */
function serveHeaders(peer: RawPeer, headers: readonly BlockHeader[], delayMs: number): () => void {
  const at = new Map(headers.map((h, i) => [h.hash.toString('hex'), i + 1]));
  let seen = 0;
  let stopped = false;
  const timer = setInterval(() => {
    for (; seen < peer.received.length; seen++) {
      const m = peer.received[seen];
      if (m.command !== 'getheaders') continue;
      const from = m.locator.map((l) => at.get(l.toString('hex'))).find((h) => h !== undefined) ?? 0;
      const batch = headers.slice(from, from + 2000);
      setTimeout(() => {
        if (!stopped) peer.send({ command: 'headers', headers: batch });
      }, delayMs);
    }
  }, 5);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

test('a long low-work header chain below the minimum chain work: presynced, never stored, memory bounded, the peer kept, honest peers served', async (t) => {
  const LOW = 7500;
  const low = chainOf(LOW, { txsPerBlock: 0, seed: 31 }).map((b) => b.block.header);
  // The minimum: the work of 20,000 blocks, far above the 7,500 fed.
  const node = await testNode({ chain: { minimumChainWork: WORK * 20_000n } });
  t.after(() => node.cleanup());
  const peer = await RawPeer.connect(node.port);
  t.after(() => peer.destroy());
  await peer.handshake({ version: { startHeight: LOW, services: 0x9n } });
  const stop = serveHeaders(peer, low, 60);
  t.after(stop);

  const summary = (): ChainSummary => node.actors('/root/chain')[0].summary as ChainSummary;
  let maxRetained = 0;
  let maxPresyncHeight = 0;
  let maxHeaderCount = 0;
  const sample = setInterval(() => {
    const s = summary();
    maxHeaderCount = Math.max(maxHeaderCount, s.headerCount);
    for (const p of s.presync) {
      maxRetained = Math.max(maxRetained, p.retained);
      maxPresyncHeight = Math.max(maxPresyncHeight, p.height);
    }
  }, 10);
  t.after(() => clearInterval(sample));

  // Four getheaders (3 full replies of 2,000, then 1,500): the presync reaches the chain's end.
  await until('the node asked for the whole chain', () => peer.all('getheaders').length >= 4, 20_000);
  await until('the presync ended', () => summary().presync.length === 0 && maxPresyncHeight > 0, 10_000);
  clearInterval(sample);
  t.diagnostic(`${LOW} low-work headers: presync reached height ${maxPresyncHeight} holding at most ${maxRetained} items; header tree size ${maxHeaderCount}`);
  assert.ok(maxPresyncHeight >= 6000, `presync walked the chain (${maxPresyncHeight})`);
  // Memory: a ring of one retarget interval of (time, bits) and one hash per 1,000 heights; never the chain.
  const bound = Math.max(difficultyAdjustmentInterval(node.params), 11) + Math.floor(LOW / 1000);
  assert.ok(maxRetained > 0 && maxRetained <= bound, `presync held at most ${maxRetained} items for ${LOW} headers (bound ${bound})`);
  // Nothing stored: the tree is genesis alone, the chain tips and getblockchaininfo say so.
  assert.equal(maxHeaderCount, 1, 'no header entered the tree');
  assert.deepEqual(await node.chainCall('getchaintips'), [{ height: 0, hash: displayHex(node.params.genesis.header.hash), branchlen: 0, status: 'active' }]);
  const info = (await node.chainCall('getblockchaininfo')) as { headers: number; blocks: number };
  assert.deepEqual([info.headers, info.blocks], [0, 0]);
  // As Core: a low-work chain is ignored, its peer is not punished.
  await sync(peer);
  assert.equal(peer.isClosed, false);
  assert.equal((await node.disconnects()).length, 0);
  await stillServes(node);
});

test('a chain that reaches the minimum chain work is presynced, downloaded again and stored, its blocks fetched; a short low-work one before it is ignored', async (t) => {
  const need = 2100;
  const node = await testNode({ chain: { minimumChainWork: WORK * BigInt(need + 1) } });
  t.after(() => node.cleanup());
  // First a 2,050-header chain (one full message, then 50): below the minimum, not stored.
  const short = chainOf(2050, { txsPerBlock: 0, seed: 32 }).map((b) => b.block.header);
  const p = await RawPeer.connect(node.port);
  t.after(() => p.destroy());
  await p.handshake({ version: { startHeight: short.length, services: 0x9n } });
  const stop = serveHeaders(p, short, 0);
  t.after(stop);
  await until('asked past the first 2,000', () => p.all('getheaders').length >= 2, 10_000);
  await sync(p);
  await until('presync over', () => (node.actors('/root/chain')[0].summary as ChainSummary).presync.length === 0, 10_000);
  assert.equal((node.actors('/root/chain')[0].summary as ChainSummary).headerCount, 1);
  assert.equal(p.isClosed, false);

  // Then an honest stub chain peer with 2,200 blocks (more than the minimum): its headers are
  // presynced, downloaded again and stored, and its blocks fetched.
  const blocks = chainOf(2200, { txsPerBlock: 0, seed: 33 });
  const stub = await serveBlocks(t, blocks);
  await node.addnode(`127.0.0.1:${stub.port}`, 'onetry');
  await until('the headers with enough work stored', async () => ((await node.chainCall('getblockchaininfo')) as { headers: number }).headers === 2200, 30_000);
  await until('blocks arriving', async () => Number(await node.chainCall('getblockcount')) > 0, 30_000);
  const tips = (await node.chainCall('getchaintips')) as Tip[];
  assert.equal(tips[0].hash, stub.tip);
  // The tips are the stub chain's (its tip, and the active one while blocks arrive): the short low-work chain left nothing behind.
  const ours = new Set(blocks.map((b) => displayHex(b.block.header.hash)));
  assert.ok(
    tips.every((x) => ours.has(x.hash)),
    JSON.stringify(tips),
  );
  assert.equal((node.actors('/root/chain')[0].summary as ChainSummary).headerCount, 2201);
});

test('no checkpoints: a short fork from genesis is kept as a headers-only tip (Core with -nocheckpoints); the sender is not punished', async (t) => {
  const main = chainOf(12, { seed: 41 });
  const stub = await serveBlocks(t, main);
  const node = await testNode({ connect: [`127.0.0.1:${stub.port}`] });
  t.after(() => node.cleanup());
  await until('synced', async () => Number(await node.chainCall('getblockcount')) === 12, 20_000);
  const fork = chainOf(2, { seed: 42 }).map((b) => b.block.header);
  const peer = await activePeer(node);
  t.after(() => peer.destroy());
  peer.send({ command: 'headers', headers: fork });
  await sync(peer);
  await until('the fork tip is known', async () => ((await node.chainCall('getchaintips')) as Tip[]).length === 2);
  const tips = (await node.chainCall('getchaintips')) as Tip[];
  assert.deepEqual(tips[1], { height: 2, hash: displayHex(fork[1].hash), branchlen: 2, status: 'headers-only' });
  assert.equal(tips[0].hash, stub.tip);
  assert.equal(peer.isClosed, false);
  await stillServes(node);
});
