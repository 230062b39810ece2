/**
 * Reindex: the block index and header tree rebuilt from the block files, whatever order the
 * files hold the blocks in, with nothing in the files written over or removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BLOCKS_SUBDIR, BlockStore, XOR_KEY_FILE, blockFileName, xorAt } from '../../src/chain/blockstore.js';
import { HeaderTree } from '../../src/chain/headers.js';
import { reindexBlockFiles } from '../../src/chain/reindex.js';
import { chainOf, openAll, regtest, tmpDir, type After } from '../helpers/chain.js';
import type { GeneratedBlock } from '../../src/tools/chain/generate.js';
import { prng } from '../../src/util/prng.js';

const SMALL = 20_000;

const open = (dir: string, reindex = false) => openAll(dir, { maxFileSize: SMALL, sync: false, reindex });

/** Stores `blocks` in a shuffled order (as a download from several peers leaves them), with their headers; returns the file sizes. */
async function stored(t: After, blocks: readonly GeneratedBlock[], seed = 1): Promise<string> {
  const dir = tmpDir(t, 'peerd-reindex-');
  const o = await open(dir);
  const order = [...blocks];
  const rnd = prng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const b of order) await o.store.put(b.block.header.hash, b.height, b.raw);
  await o.store.putHeaders(blocks.map((b) => ({ hash: b.block.header.hash, raw: b.raw.subarray(0, 80), height: b.height })));
  await o.close();
  return dir;
}

function fileSizes(dir: string): Map<string, number> {
  const d = join(dir, BLOCKS_SUBDIR);
  return new Map(readdirSync(d).map((n) => [n, statSync(join(d, n)).size]));
}

async function assertEvery(store: BlockStore, blocks: readonly GeneratedBlock[]): Promise<void> {
  for (const b of blocks) {
    assert.equal(store.heightOf(b.block.header.hash), b.height, `block ${b.height} indexed at its height`);
    assert.ok((await store.get(b.block.header.hash))?.equals(b.raw), `block ${b.height} reads back`);
  }
}

test('reindex: an index deleted by hand is rebuilt from out-of-order block files; every block back, no file touched', async (t) => {
  const blocks = chainOf(300, { txsPerBlock: 2 });
  const dir = await stored(t, blocks);
  const before = fileSizes(dir);
  assert.ok([...before.keys()].filter((n) => n.startsWith('blk')).length > 3, 'several block files');
  rmSync(join(dir, 'store'), { recursive: true }); // the index, headers and all
  const o = await open(dir);
  t.after(() => o.close());
  assert.equal(o.store.recovered.reindex, 'index-missing');
  assert.deepEqual(fileSizes(dir), before, 'opening removed or cut nothing');
  const tree = new HeaderTree(regtest);
  const r = await reindexBlockFiles(o.store, tree, Math.floor(Date.now() / 1000));
  assert.deepEqual({ records: r.records, indexed: r.indexed, headers: r.headers, unconnected: r.unconnected, bad: r.bad }, { records: 300, indexed: 300, headers: 300, unconnected: 0, bad: 0 });
  assert.equal(tree.best().height, 300);
  assert.ok(tree.best().hash.equals(blocks[299].block.header.hash));
  await assertEvery(o.store, blocks);
  assert.deepEqual(fileSizes(dir), before, 'the files are as they were');
  assert.deepEqual(o.store.unindexedFiles(), []);
  // Reopened: the index and the headers are in the store, nothing to reindex.
  await o.close();
  const again = await open(dir);
  t.after(() => again.close());
  assert.equal(again.store.recovered.reindex, null);
  assert.equal((await again.store.loadHeaders()).length, 300);
  await assertEvery(again.store, blocks);
  // And a new block is appended after the old ones, never over them.
  const next = chainOf(1, { prefix: blocks }).at(-1)!;
  await again.store.put(next.block.header.hash, next.height, next.raw);
  await assertEvery(again.store, [...blocks, next]);
});

test('reindex: garbage between records is skipped, a torn last record ends the file, a block whose parent is nowhere is kept unindexed', async (t) => {
  const blocks = chainOf(60);
  const fork = chainOf(3, { seed: 99 }); // another chain: its block 2 has a parent in no file
  const dir = await stored(t, blocks);
  const bdir = join(dir, BLOCKS_SUBDIR);
  const files = readdirSync(bdir).filter((n) => n.startsWith('blk')).sort();
  const last = join(bdir, files.at(-1)!);
  const key = readFileSync(join(bdir, XOR_KEY_FILE));
  const append = (bytes: Buffer): void => {
    const b = Buffer.from(bytes);
    xorAt(b, statSync(last).size, key);
    appendFileSync(last, b);
  };
  const record = (raw: Buffer): Buffer => {
    const h = Buffer.alloc(8);
    regtest.magicBytes.copy(h);
    h.writeUInt32LE(raw.length, 4);
    return Buffer.concat([h, raw]);
  };
  append(Buffer.from('not a record at all, then the next magic'));
  append(record(fork[1].raw)); // orphan
  const mangled = Buffer.from(fork[0].raw);
  mangled[mangled.length - 1] ^= 1; // a block whose merkle root does not match
  append(record(mangled));
  append(record(blocks[0].raw).subarray(0, 50)); // torn
  const size = statSync(last).size;
  rmSync(join(dir, 'store'), { recursive: true });
  const o = await open(dir);
  t.after(() => o.close());
  const tree = new HeaderTree(regtest);
  const r = await reindexBlockFiles(o.store, tree, Math.floor(Date.now() / 1000));
  assert.equal(r.indexed, 60);
  assert.equal(r.unconnected, 1, 'the orphan');
  assert.equal(r.bad, 1, 'the mangled block');
  assert.equal(tree.best().height, 60);
  await assertEvery(o.store, blocks);
  assert.equal(statSync(last).size, size, 'nothing cut, not even the torn record');
  assert.equal(o.store.has(fork[1].block.header.hash), false);
});

test('reindex: --reindex on a healthy store rebuilds the same index; killed half-way, the next start reindexes again', async (t) => {
  const blocks = chainOf(120);
  const dir = await stored(t, blocks);
  const first = await open(dir);
  const digest = first.store.digest();
  await first.close();

  // Asked for, then "killed" before it finished: the index is empty beside block files, so the next open redoes it.
  const half = await open(dir, true);
  assert.equal(half.store.recovered.reindex, 'requested');
  assert.equal(half.store.has(blocks[5].block.header.hash), false, 'the index was dropped');
  await half.close();
  const resumed = await open(dir);
  t.after(() => resumed.close());
  assert.equal(resumed.store.recovered.reindex, 'index-missing');
  const tree = new HeaderTree(regtest);
  const r = await reindexBlockFiles(resumed.store, tree, Math.floor(Date.now() / 1000));
  assert.equal(r.indexed, 120);
  assert.deepEqual(resumed.store.digest(), digest, 'the same blocks indexed');
  await assertEvery(resumed.store, blocks);
  await resumed.close();
  const done = await open(dir);
  t.after(() => done.close());
  assert.equal(done.store.recovered.reindex, null);
});

test('reindex: every blk file on disk is handed over to be scanned', async (t) => {
  const blocks = chainOf(100);
  const dir = await stored(t, blocks, 7);
  rmSync(join(dir, 'store'), { recursive: true });
  const o = await open(dir);
  t.after(() => o.close());
  const onDisk = readdirSync(join(dir, BLOCKS_SUBDIR)).filter((n) => n.startsWith('blk')).sort();
  assert.deepEqual(o.store.unindexedFiles().map(blockFileName), onDisk);
});
