/**
 * Headers-first sync and block download against real TCP peers on loopback: the stub chain
 * peer (`serve-chain`), another peerd, and scripted raw peers that misbehave.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startChainServer } from '../../src/tools/chain/stub-peer.js';
import { mineBlock } from '../../src/tools/chain/generate.js';
import { makeBlock } from '../../src/wire/block.js';
import { fixturePath, missingFixture } from '../helpers/fixtures.js';
import { testNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { clientOptions, rpcCall } from '../../src/rpc/client.js';
import { MSG_WITNESS_BLOCK } from '../../src/wire/constants.js';
import { answerHeaders, chainOf, displayHex, serveBlocks, tmpDir } from '../helpers/chain.js';

type Info = { blocks: number; headers: number; bestblockhash: string; chain: string; pruned: boolean; initialblockdownload: boolean };

async function height(node: { chainCall(m: 'getblockcount'): Promise<unknown> }): Promise<number> {
  return Number(await node.chainCall('getblockcount'));
}

test('sync: regtest-2000 from one stub peer; the chain survives a restart', async (t) => {
  const file = fixturePath('regtest-2000.blocks');
  if (!file) return t.skip(missingFixture('regtest-2000.blocks'));
  const server = await startChainServer({ blocksFile: file, host: '127.0.0.1', port: 0 });
  t.after(() => server.close());
  const datadir = tmpDir(t, 'peerd-sync-');
  const node = await testNode({ datadir, connect: [`127.0.0.1:${server.port}`], listen: false });
  t.after(() => node.stop());
  await until('synced to 2000', async () => (await height(node)) === 2000, 60_000);
  const info = (await node.chainCall('getblockchaininfo')) as unknown as Info;
  assert.equal(info.chain, 'regtest');
  assert.equal(info.headers, 2000);
  assert.equal(info.bestblockhash, server.tip);
  assert.equal(info.pruned, false);
  assert.equal(server.stats.blocks, 2000, 'every block fetched once');
  const h1000 = await node.chainCall('getblockhash', [1000]);
  assert.equal(h1000, displayHex(server.index.headers[1000].hash));
  const block = (await node.chainCall('getblock', [h1000, 1])) as { height: number; tx: string[]; confirmations: number; previousblockhash: string };
  assert.equal(block.height, 1000);
  assert.equal(block.confirmations, 1001);
  assert.ok(block.tx.length >= 1);
  const raw = await node.chainCall('getblock', [h1000, 0]);
  assert.equal(typeof raw, 'string');
  // getblockheader: Core's fields; nTx read from the stored block's first bytes.
  const hdr = (await node.chainCall('getblockheader', [h1000])) as { hash: string; height: number; nTx: number; confirmations: number; previousblockhash: string; nextblockhash: string; merkleroot: string };
  assert.equal(hdr.hash, h1000);
  assert.equal(hdr.height, 1000);
  assert.equal(hdr.nTx, block.tx.length, 'nTx as getblock counts them');
  assert.equal(hdr.confirmations, 1001);
  assert.equal(hdr.previousblockhash, block.previousblockhash);
  assert.equal(hdr.nextblockhash, displayHex(server.index.headers[1001].hash));
  const hdrHex = await node.chainCall('getblockheader', [h1000, false]);
  assert.equal(hdrHex, (raw as string).slice(0, 160), 'verbose=false: the 80-byte header as hex');
  const tips = (await node.chainCall('getchaintips')) as { height: number; status: string; branchlen: number }[];
  assert.deepEqual(tips, [{ height: 2000, hash: server.tip, branchlen: 0, status: 'active' }]);
  await node.stop();

  // Restart on the same datadir, with no peers at all: everything comes from the store.
  const again = await testNode({ datadir, connect: [], listen: false });
  t.after(() => again.stop());
  assert.equal(await height(again), 2000);
  assert.equal(await again.chainCall('getbestblockhash'), server.tip);
});

test('sync: from two stub peers at once, both serve blocks', async (t) => {
  const blocks = chainOf(1500, { txsPerBlock: 2 });
  const a = await serveBlocks(t, blocks, 'a');
  const b = await serveBlocks(t, blocks, 'b');
  const node = await testNode({ connect: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], listen: false });
  t.after(() => node.stop());
  await until('synced to 1500', async () => (await height(node)) === 1500, 60_000);
  assert.equal(a.stats.blocks + b.stats.blocks >= 1500, true);
  assert.ok(a.stats.blocks > 0 && b.stats.blocks > 0, `both peers served blocks (a ${a.stats.blocks}, b ${b.stats.blocks})`);
});

test('sync: a peerd syncs from another peerd alone, and learns new blocks through announcements', async (t) => {
  const blocks = chainOf(300);
  const stub = await serveBlocks(t, blocks);
  const first = await testNode({ connect: [`127.0.0.1:${stub.port}`] });
  t.after(() => first.stop());
  await until('first synced', async () => (await height(first)) === 300, 30_000);
  const second = await testNode({ connect: [`127.0.0.1:${first.port}`], listen: false });
  t.after(() => second.stop());
  await until('second synced from first', async () => (await height(second)) === 300, 30_000);
  assert.equal(await second.chainCall('getbestblockhash'), stub.tip);

  // A new block announced to the first node by a peer of its own: fetched directly, then
  // announced on to the second (which asked for headers announcements with sendheaders).
  const next = mineBlock(blocks[299].block.header, 301, blocks[299].block.header.time + 600, []);
  const miner = await RawPeer.connect(first.port);
  t.after(() => miner.destroy());
  await miner.handshake();
  miner.send({ command: 'headers', headers: [next.block.header] });
  const gd = await miner.waitFor('getdata', 10_000);
  assert.ok(gd.items[0].hash.equals(next.block.header.hash));
  miner.send({ command: 'block', block: next.block });
  await until('second has the new block', async () => (await height(second)) === 301, 30_000);
  assert.equal(await second.chainCall('getbestblockhash'), displayHex(next.block.header.hash));
});

test('sync: reorganisation to a heavier fork learnt from a second peer', async (t) => {
  const main = chainOf(120, { seed: 1 });
  const fork = chainOf(100, { seed: 2, prefix: main.slice(0, 50) });
  assert.equal(fork.length, 150);
  const a = await serveBlocks(t, main, 'main');
  const b = await serveBlocks(t, fork, 'fork');
  const node = await testNode({ connect: [`127.0.0.1:${a.port}`], listen: false });
  t.after(() => node.stop());
  await until('on the first chain', async () => (await height(node)) === 120, 30_000);
  await node.addnode(`127.0.0.1:${b.port}`, 'onetry');
  await until('reorganised to the fork', async () => (await node.chainCall('getbestblockhash')) === b.tip, 30_000);
  assert.equal(await height(node), 150);
  const tips = (await node.chainCall('getchaintips')) as { height: number; hash: string; branchlen: number; status: string }[];
  assert.deepEqual(tips, [
    { height: 150, hash: b.tip, branchlen: 0, status: 'active' },
    { height: 120, hash: a.tip, branchlen: 70, status: 'valid-fork' },
  ]);
  // The old branch's blocks are still served by hash; the height index follows the new chain.
  assert.equal(await node.chainCall('getblockhash', [100]), displayHex(fork[99].block.header.hash));
});

test('sync: a peer that never delivers its blocks is dropped as a staller and the sync completes', async (t) => {
  const blocks = chainOf(1400);
  const good = await serveBlocks(t, blocks);
  const listener = await RawPeer.listen();
  t.after(() => listener.close());
  const node = await testNode({ connect: [`127.0.0.1:${listener.port}`, `127.0.0.1:${good.port}`], listen: false, chain: { config: { stallMinMs: 500 } } });
  t.after(() => node.stop());
  const staller = await listener.accept(10_000);
  t.after(() => staller.destroy());
  await staller.handshake({ version: { startHeight: 1400, services: 0x9n } });
  const stop = answerHeaders(
    staller,
    blocks.map((b) => b.block.header),
  );
  t.after(stop);
  await until('synced despite the staller', async () => (await height(node)) === 1400, 60_000);
  const closed = await staller.waitClosed(10_000);
  assert.ok(closed);
  const disc = await node.disconnects();
  assert.ok(disc.some((d) => /stalling/.test(d.reason)), `a stall disconnect among ${JSON.stringify(disc.map((d) => d.reason))}`);
});

test('sync: invalid headers and blocks disconnect their sender; the node keeps the good chain', async (t) => {
  const blocks = chainOf(20, { txsPerBlock: 2 });
  const good = await serveBlocks(t, blocks);
  const node = await testNode({ connect: [`127.0.0.1:${good.port}`] });
  t.after(() => node.stop());
  await until('synced', async () => (await height(node)) === 20, 30_000);
  const tip = blocks[19];

  // Invalid proof of work: a header whose hash is above its target.
  {
    const p = await RawPeer.connect(node.port);
    t.after(() => p.destroy());
    await p.handshake();
    const next = mineBlock(tip.block.header, 21, tip.block.header.time + 600, []);
    const bad = { ...next.block.header, nonce: next.block.header.nonce + 1 };
    // Find a nonce whose hash fails regtest's (easy) target.
    let n = bad.nonce;
    let h = makeBlock({ ...bad, nonce: n }, next.block.txs).header;
    while (h.hash[31] < 0x80) h = makeBlock({ ...bad, nonce: ++n }, next.block.txs).header;
    p.send({ command: 'headers', headers: [h] });
    await p.waitClosed(10_000);
  }
  // Bad merkle root: the header is fine, the block's transactions are not the ones it commits to.
  for (const mutate of ['merkle', 'duplicate-tx', 'witness-commitment'] as const) {
    const p = await RawPeer.connect(node.port);
    t.after(() => p.destroy());
    await p.handshake();
    const next = mineBlock(tip.block.header, 21, tip.block.header.time + 600 + mutate.length, blocks[5].block.txs.slice(1));
    p.send({ command: 'headers', headers: [next.block.header] });
    const gd = await p.waitFor('getdata', 10_000);
    assert.ok(gd.items[0].hash.equals(next.block.header.hash));
    const txs = next.block.txs;
    const badTxs =
      mutate === 'merkle'
        ? [txs[0]]
        : mutate === 'duplicate-tx'
          ? [...txs, txs[txs.length - 1]]
          : [txs[0], ...txs.slice(1).map((x) => ({ ...x, hasWitness: true, inputs: x.inputs.map((i) => ({ ...i, witness: [Buffer.from([1])] })) }))];
    const badBlock = { ...next.block, txs: badTxs };
    p.send({ command: 'block', block: badBlock });
    await p.waitClosed(10_000);
    assert.equal(await height(node), 20, `${mutate}: the tip did not move`);
  }
  const summary = node.actors('/root/chain')[0].summary as { badBlocks: number; badHeaders: number };
  assert.ok(summary.badBlocks >= 3, JSON.stringify(summary));
  assert.ok(summary.badHeaders >= 1, JSON.stringify(summary));
  // The good peer still serves, and the node is still synced.
  assert.equal(await node.chainCall('getbestblockhash'), good.tip);
});

test('sync: an unrequested block that does not extend the tip is ignored without a disconnect', async (t) => {
  const blocks = chainOf(30);
  const good = await serveBlocks(t, blocks);
  const node = await testNode({ connect: [`127.0.0.1:${good.port}`] });
  t.after(() => node.stop());
  await until('synced', async () => (await height(node)) === 30, 30_000);
  const p = await RawPeer.connect(node.port);
  t.after(() => p.destroy());
  await p.handshake();
  // A block on an old parent (height 10): less work than the tip.
  const side = mineBlock(blocks[9].block.header, 11, blocks[9].block.header.time + 7, []);
  p.send({ command: 'block', block: side.block });
  assert.ok(await p.staysOpen(500), 'not disconnected');
  assert.equal(await height(node), 30);
  const s = node.actors('/root/chain')[0].summary as { unrequested: number };
  assert.ok(s.unrequested >= 1);
});

test('sync: the block actor killed mid-sync restarts, reloads from the store and finishes', async (t) => {
  const blocks = chainOf(1500, { txsPerBlock: 3 });
  const stub = await serveBlocks(t, blocks);
  const node = await testNode({ connect: [`127.0.0.1:${stub.port}`], listen: false, maxrecvrate: 400_000 });
  t.after(() => node.stop());
  await until('some blocks', async () => (await height(node)) > 200, 60_000);
  const before = await height(node);
  assert.ok(before < 1500, 'still syncing when killed');
  assert.ok(node.kill('/root/chain', 'kill'));
  await until('chain actor back', async () => (node.actors('/root/chain')[0]?.incarnation ?? 0) >= 2, 10_000);
  const after = await height(node);
  assert.ok(after >= before - 0, `resumed at ${after} ≥ ${before}`);
  await node.setNetLimit(0, 0);
  await until('finished after the restart', async () => (await height(node)) === 1500, 60_000);
  assert.equal(await node.chainCall('getbestblockhash'), stub.tip);
});

test('maxuploadtarget: near the budget, blocks over a week old are refused to normal peers (disconnected), recent ones still served', async (t) => {
  // One block an hour: the first 300 − 168 are more than a week older than the tip.
  const blocks = chainOf(300, { spacing: 3600 });
  const stub = await serveBlocks(t, blocks);
  const node = await testNode({ connect: [`127.0.0.1:${stub.port}`], uploadTargetBytes: 100 * 1024 * 1024, server: true, rpcport: 0 });
  t.after(() => node.stop());
  await until('synced', async () => (await height(node)) === 300, 30_000);
  const addr = await node.rpcAddress();
  assert.ok(addr);
  const rpc = clientOptions({ network: 'regtest', datadir: node.settings.datadir, rpcport: addr.port });
  const totals = (await rpcCall(rpc, 'getnettotals')) as { uploadtarget: { target: number; serve_historical_blocks: boolean; timeframe: number } };
  assert.equal(totals.uploadtarget.target, 100 * 1024 * 1024);
  assert.equal(totals.uploadtarget.timeframe, 86400);
  assert.equal(totals.uploadtarget.serve_historical_blocks, false, 'a 100 MiB target is below the 576 MB buffer');

  const recent = await RawPeer.connect(node.port);
  t.after(() => recent.destroy());
  await recent.handshake();
  recent.send({ command: 'getdata', items: [{ type: MSG_WITNESS_BLOCK, hash: blocks[289].block.header.hash }] });
  const got = await recent.waitFor('block', 10_000);
  assert.ok(got.block.header.hash.equals(blocks[289].block.header.hash));

  const old = await RawPeer.connect(node.port);
  t.after(() => old.destroy());
  await old.handshake();
  old.send({ command: 'getdata', items: [{ type: MSG_WITNESS_BLOCK, hash: blocks[9].block.header.hash }] });
  await old.waitClosed(10_000);
  assert.equal(old.all('block').length, 0);
  const disc = await node.disconnects();
  assert.ok(disc.some((d) => /historical block serving limit/.test(d.reason)));
});
