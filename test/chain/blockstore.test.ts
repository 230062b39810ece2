/**
 * The block store: the regtest chain round-trips through blk files in Core's record format and
 * survives a reopen; puts are ordered, group-committed and deduplicated; headers and meta
 * persist; torn tails and lost data are repaired at open; pruning removes whole old files
 * (index first) and survives a reopen; random put/reopen/tear/prune sequences agree with a
 * model. Throughput is reported, not asserted. The `kill -9` test is in blockstore-crash.test.ts.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { openAll, type OpenedBlockStore } from '../helpers/chain.js';
import {
  BLOCKS_SUBDIR,
  BlockStore,
  XOR_KEY_FILE,
  blockFileName,
  verifyStore,
  xorAt,
  type BlockLocation,
} from '../../src/chain/blockstore.js';
import { readBlockFile } from '../../src/tools/chain/blockfile.js';
import { generateChain, type GeneratedBlock } from '../../src/tools/chain/generate.js';
import { networkParams } from '../../src/wire/network.js';
import { sha256, sha256d } from '../../src/wire/hash.js';
import { fixturePath, missingFixture } from '../helpers/fixtures.js';

const REGTEST = 'regtest-2000.blocks';
const MAGIC = networkParams('regtest').magicBytes;
const MB = 1_000_000;

interface Fx {
  readonly hash: Buffer;
  readonly height: number;
  readonly block: Buffer;
}

let fixtureCache: Fx[] | null = null;
/** The 2000 regtest blocks with their hashes (sha256d of the header) and heights 1..2000. */
async function fixtureBlocks(): Promise<Fx[] | null> {
  if (fixtureCache) return fixtureCache;
  const p = fixturePath(REGTEST);
  if (!p) return null;
  const out: Fx[] = [];
  for await (const r of readBlockFile(p)) out.push({ hash: sha256d(r.block.subarray(0, 80)), height: r.index + 1, block: r.block });
  fixtureCache = out;
  return out;
}

function tmp(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-blockstore-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}


function blocksDir(dir: string): string {
  return join(dir, BLOCKS_SUBDIR);
}

/** The blk file numbers present on disk, ascending. */
function blkFiles(dir: string): number[] {
  return readdirSync(blocksDir(dir))
    .map((n) => /^blk(\d+)\.dat$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Parses a blk file as Core's records: magic, u32 LE length, block. */
/** The records of a blk file, de-obfuscated with the key in its directory's xor.dat (as Core reads them). */
function parseRecords(path: string): { offset: number; block: Buffer }[] {
  const buf = readFileSync(path);
  const keyPath = join(dirname(path), XOR_KEY_FILE);
  if (existsSync(keyPath)) xorAt(buf, 0, readFileSync(keyPath));
  const out: { offset: number; block: Buffer }[] = [];
  let p = 0;
  while (p < buf.length) {
    assert.ok(p + 8 <= buf.length, `record header at ${p} is whole`);
    assert.ok(buf.subarray(p, p + 4).equals(MAGIC), `magic at ${p}`);
    const n = buf.readUInt32LE(p + 4);
    assert.ok(p + 8 + n <= buf.length, `record at ${p} is whole`);
    out.push({ offset: p + 8, block: buf.subarray(p + 8, p + 8 + n) });
    p += 8 + n;
  }
  return out;
}

function mbps(bytes: number, ms: number): string {
  return ((bytes / 1e6) / (ms / 1000)).toFixed(1);
}

test('the 2000 regtest blocks round-trip through rotating blk files in Core’s record format and survive a reopen', async (t) => {
  const blocks = await fixtureBlocks();
  if (!blocks) return t.skip(missingFixture(REGTEST));
  const dir = tmp(t);
  const a = await openAll(dir, { maxFileSize: MB });
  assert.deepEqual(a.store.recovered, { truncatedBytes: 0, files: 0, droppedEntries: 0, prunedLeftovers: 0, reindex: null });
  const total = blocks.reduce((n, b) => n + b.block.length, 0);
  const t0 = performance.now();
  const locs: BlockLocation[] = [];
  for (const b of blocks) locs.push(await a.store.put(b.hash, b.height, b.block));
  const ms = performance.now() - t0;
  t.diagnostic(`put, sync on, one at a time: 2000 blocks, ${(total / 1e6).toFixed(2)} MB in ${ms.toFixed(0)} ms = ${mbps(total, ms)} MB/s`);

  // Appended in order, rotating before a file would pass 1 MB.
  for (let i = 1; i < locs.length; i++) {
    const [p, q] = [locs[i - 1], locs[i]];
    assert.ok(q.file > p.file || (q.file === p.file && q.offset === p.offset + p.length + 8), `block ${i + 1} follows block ${i}`);
  }
  const files = blkFiles(dir);
  assert.ok(files.length >= 6, `${files.length} files for 5.7 MB at 1 MB each`);
  assert.deepEqual(files, files.map((_, i) => i));
  for (const n of files) assert.ok(statSync(join(blocksDir(dir), blockFileName(n))).size <= MB, `${blockFileName(n)} within 1 MB`);
  const key = readFileSync(join(blocksDir(dir), XOR_KEY_FILE));
  assert.equal(key.length, 8);
  assert.notEqual(key.toString('hex'), '0000000000000000', 'a fresh blocks directory gets a random obfuscation key');
  assert.deepEqual(a.store.stats(), { files: files.length, bytes: total + 8 * blocks.length, blocks: 2000, pruned: false, xorKey: key.toString('hex'), pruneHeight: 0 });
  assert.ok(!readFileSync(join(blocksDir(dir), blockFileName(0))).subarray(0, 4).equals(MAGIC), 'on disk the magic is obfuscated');

  // The files hold exactly the blocks, in put order, as magic + length + block.
  const onDisk = files.flatMap((n) => parseRecords(join(blocksDir(dir), blockFileName(n))).map((r) => ({ file: n, ...r })));
  assert.equal(onDisk.length, 2000);
  onDisk.forEach((r, i) => {
    assert.ok(r.block.equals(blocks[i].block), `record ${i} is block ${i + 1}`);
    assert.deepEqual({ file: r.file, offset: r.offset, length: r.block.length }, locs[i]);
  });
  for (const [i, b] of blocks.entries()) {
    assert.ok((await a.store.get(b.hash))!.equals(b.block));
    assert.deepEqual(a.store.location(b.hash), locs[i]);
    assert.equal(a.store.heightOf(b.hash), b.height);
  }
  await a.close();

  const b = await openAll(dir, { maxFileSize: MB });
  t.after(() => b.close());
  assert.deepEqual(b.store.recovered, { truncatedBytes: 0, files: 0, droppedEntries: 0, prunedLeftovers: 0, reindex: null });
  assert.equal(b.store.stats().blocks, 2000);
  for (const [i, blk] of blocks.entries()) {
    assert.ok(b.store.has(blk.hash));
    assert.deepEqual(b.store.location(blk.hash), locs[i]);
    assert.ok((await b.store.get(blk.hash))!.equals(blk.block));
  }
  const absent = sha256d(Buffer.from('not a block'));
  assert.equal(b.store.has(absent), false);
  assert.equal(b.store.location(absent), undefined);
  assert.equal(await b.store.get(absent), null);
  const v = await verifyStore(b.store);
  assert.deepEqual(v.bad, []);
  assert.equal(v.blocks, 2000);
  assert.equal(v.bytes, total);
  const sorted = blocks.map((x) => x.hash.toString('hex')).sort();
  assert.equal(v.checksum, sha256(Buffer.from(sorted.join('\n'))).toString('hex'));
  // A check that rejects one block reports exactly that one.
  const bad = await verifyStore(b.store, (h) => !h.equals(blocks[7].hash));
  assert.deepEqual(bad.bad, [Buffer.from(blocks[7].hash).reverse().toString('hex')]);
});

test('concurrent puts keep call order, all resolve, and share group commits; a duplicate put is a no-op', async (t) => {
  const blocks = await fixtureBlocks();
  if (!blocks) return t.skip(missingFixture(REGTEST));
  const dir = tmp(t);
  const a = await openAll(dir, { maxFileSize: 200_000 });
  t.after(() => a.close());
  let batches = 0;
  const realBatch = a.db.batch.bind(a.db) as (...args: unknown[]) => Promise<void>;
  Object.assign(a.db, { batch: (...args: unknown[]) => (batches++, realBatch(...args)) });
  const some = blocks.slice(0, 400);
  // Every block once, plus a duplicate of every tenth one in the same burst.
  const calls = some.map((b) => a.store.put(b.hash, b.height, b.block));
  const dups = some.filter((_, i) => i % 10 === 0).map((b) => a.store.put(b.hash, b.height, b.block));
  const locs = await Promise.all(calls);
  const dupLocs = await Promise.all(dups);
  for (let i = 1; i < locs.length; i++) {
    const [p, q] = [locs[i - 1], locs[i]];
    assert.ok(q.file > p.file || (q.file === p.file && q.offset === p.offset + p.length + 8), `put ${i} lands right after put ${i - 1}`);
  }
  dupLocs.forEach((l, j) => assert.deepEqual(l, locs[j * 10]));
  assert.ok(batches <= 4, `400 concurrent puts committed in ${batches} index batches`);
  const before = a.store.stats();
  assert.equal(before.blocks, 400);
  assert.equal(before.bytes, some.reduce((n, b) => n + b.block.length + 8, 0));
  // Storing a present block again writes nothing.
  assert.deepEqual(await a.store.put(some[5].hash, some[5].height, some[5].block), locs[5]);
  assert.deepEqual(a.store.stats(), before);
  const last = blkFiles(dir).at(-1)!;
  const end = locs.at(-1)!;
  assert.equal(statSync(join(blocksDir(dir), blockFileName(last))).size, end.offset + end.length);
  // Puts after close are refused; the queue drained before close resolved.
  await a.store.close();
  await assert.rejects(a.store.put(blocks[500].hash, 501, blocks[500].block), /closed/);
});

test('bad arguments are refused without touching the store', async (t) => {
  const dir = tmp(t);
  const a = await openAll(dir);
  t.after(() => a.close());
  await assert.rejects(a.store.put(Buffer.alloc(31), 1, Buffer.alloc(100)), TypeError);
  await assert.rejects(a.store.put(Buffer.alloc(32), -1, Buffer.alloc(100)), RangeError);
  await assert.rejects(a.store.put(Buffer.alloc(32), 1, Buffer.alloc(0)), RangeError);
  await assert.rejects(BlockStore.open({ dir, db: a.db, magic: Buffer.alloc(3) }), TypeError);
  assert.equal(a.store.stats().blocks, 0);
  assert.deepEqual(blkFiles(dir), []);
});

test('a write error fails the store (every later put rejects) and a reopen recovers: the unindexed bytes are cut', async (t) => {
  const blocks = await fixtureBlocks();
  if (!blocks) return t.skip(missingFixture(REGTEST));
  const dir = tmp(t);
  const a = await openAll(dir);
  for (const b of blocks.slice(0, 10)) await a.store.put(b.hash, b.height, b.block);
  // The database goes away under the store (as when the store actor restarts): the data is
  // appended, the index batch fails.
  await a.db.close();
  await assert.rejects(a.store.put(blocks[10].hash, 11, blocks[10].block));
  const err = await a.store.put(blocks[11].hash, 12, blocks[11].block).catch((e: unknown) => e);
  assert.ok(err instanceof Error);
  await assert.rejects(a.store.prune(0), (e: unknown) => e === err);
  assert.equal(a.store.has(blocks[10].hash), false);
  await a.store.close();
  const b = await openAll(dir);
  t.after(() => b.close());
  assert.deepEqual(b.store.recovered, { truncatedBytes: blocks[10].block.length + 8, files: 1, droppedEntries: 0, prunedLeftovers: 0, reindex: null });
  await assertAllThere(b.store, blocks.slice(0, 10));
  assert.equal(b.store.has(blocks[10].hash), false);
  await b.store.put(blocks[10].hash, 11, blocks[10].block);
  await assertAllThere(b.store, blocks.slice(0, 11));
});

test('opening a directory again in the same process first closes the earlier store, after its queued puts', async (t) => {
  const blocks = await fixtureBlocks();
  if (!blocks) return t.skip(missingFixture(REGTEST));
  const dir = tmp(t);
  const a = await openAll(dir, { sync: false });
  t.after(() => a.db.close());
  const pending = blocks.slice(0, 50).map((b) => a.store.put(b.hash, b.height, b.block));
  const b = await BlockStore.open({ dir, db: a.db, magic: MAGIC, sync: false });
  t.after(() => b.close());
  await Promise.all(pending);
  await assert.rejects(a.store.put(blocks[60].hash, 61, blocks[60].block), /closed/);
  await assertAllThere(b, blocks.slice(0, 50));
});

test('headers and meta round-trip; loadHeaders orders by height even when put out of order', async (t) => {
  const blocks = await fixtureBlocks();
  if (!blocks) return t.skip(missingFixture(REGTEST));
  const dir = tmp(t);
  const a = await openAll(dir);
  const hs = blocks.slice(0, 300).map((b) => ({ hash: b.hash, raw: b.block.subarray(0, 80), height: b.height }));
  // Shuffled, in uneven batches; heights past 9 and 99 check that keys sort numerically.
  const shuffled = [...hs].sort((x, y) => x.hash.compare(y.hash));
  for (let i = 0; i < shuffled.length; i += 37) await a.store.putHeaders(shuffled.slice(i, i + 37));
  await a.store.putHeaders([]);
  const want = hs.map((h) => Buffer.from(h.raw));
  assert.deepEqual(await a.store.loadHeaders(), want);
  await assert.rejects(a.store.putHeaders([{ hash: hs[0].hash, raw: Buffer.alloc(79), height: 1 }]), RangeError);

  assert.equal(await a.store.getMeta('tip'), undefined);
  await a.store.putMeta('tip', blocks[299].hash);
  await a.store.putMeta('invalid', Buffer.from('[]'));
  await a.store.putMeta('tip', blocks[298].hash);
  await a.store.putMeta('gone', Buffer.from('x'));
  await a.store.delMeta('gone');
  await a.close();

  const b = await openAll(dir);
  t.after(() => b.close());
  assert.deepEqual(await b.store.loadHeaders(), want);
  assert.ok((await b.store.getMeta('tip'))!.equals(blocks[298].hash));
  assert.equal((await b.store.getMeta('invalid'))!.toString(), '[]');
  assert.equal(await b.store.getMeta('gone'), undefined);
  // Only chain! keys were written.
  for await (const k of b.db.keys()) assert.ok(k.startsWith('chain!') || k === '!meta!format', k);
});

const SMALL = 8_000;
/** Stores the first `n` fixture blocks in 8 kB files; returns their locations. */
async function seeded(dir: string, n: number): Promise<{ blocks: Fx[]; locs: BlockLocation[] } | null> {
  const all = await fixtureBlocks();
  if (!all) return null;
  const blocks = all.slice(0, n);
  const a = await openAll(dir, { maxFileSize: SMALL, sync: false });
  const locs = await Promise.all(blocks.map((b) => a.store.put(b.hash, b.height, b.block)));
  await a.close();
  return { blocks, locs };
}

async function assertAllThere(store: BlockStore, blocks: readonly Fx[]): Promise<void> {
  for (const b of blocks) {
    assert.ok(store.has(b.hash), `block ${b.height} indexed`);
    assert.ok((await store.get(b.hash))!.equals(b.block), `block ${b.height} intact`);
  }
  assert.deepEqual((await verifyStore(store)).bad, []);
}

test('a torn or unindexed tail is truncated at open; indexed blocks stay intact and the next put lands where it belongs', async (t) => {
  const all = await fixtureBlocks();
  if (!all) return t.skip(missingFixture(REGTEST));
  const dir = tmp(t);
  const s = (await seeded(dir, 120))!;
  const last = blkFiles(dir).at(-1)!;
  const lastPath = join(blocksDir(dir), blockFileName(last));
  const size = statSync(lastPath).size;
  const next = all[120];
  const rec = Buffer.alloc(8);
  MAGIC.copy(rec);
  rec.writeUInt32LE(next.block.length, 4);

  const cases: { name: string; tail: Buffer }[] = [
    { name: 'half a record', tail: Buffer.concat([rec, next.block.subarray(0, next.block.length >> 1)]) },
    { name: 'a whole record never indexed', tail: Buffer.concat([rec, next.block]) },
    { name: 'half a record header', tail: rec.subarray(0, 5) },
    { name: 'garbage', tail: Buffer.from(Array.from({ length: 777 }, (_, i) => (i * 37) & 0xff)) },
  ];
  for (const c of cases) {
    appendFileSync(lastPath, c.tail);
    const o = await openAll(dir, { maxFileSize: SMALL });
    assert.deepEqual(o.store.recovered, { truncatedBytes: c.tail.length, files: 1, droppedEntries: 0, prunedLeftovers: 0, reindex: null }, c.name);
    assert.equal(statSync(lastPath).size, size, c.name);
    await assertAllThere(o.store, s.blocks);
    await o.close();
  }
  // A file the index does not know (a crash before its first batch, a lost index) is never
  // removed: it is kept whole and handed over to be scanned and indexed (reindex).
  const stray = join(blocksDir(dir), blockFileName(last + 1));
  const strayBytes = Buffer.concat([rec, next.block]);
  const key = readFileSync(join(blocksDir(dir), XOR_KEY_FILE));
  xorAt(strayBytes, 0, key); // as the store would have written it
  writeFileSync(stray, strayBytes);
  const o = await openAll(dir, { maxFileSize: SMALL });
  assert.deepEqual(o.store.recovered, { truncatedBytes: 0, files: 0, droppedEntries: 0, prunedLeftovers: 0, reindex: 'unindexed-files' });
  assert.equal(statSync(stray).size, strayBytes.length, 'the unindexed file is kept whole');
  assert.deepEqual(o.store.unindexedFiles(), [last + 1]);
  const found = [];
  for await (const r of o.store.scanFile(last + 1)) found.push(r);
  assert.deepEqual(
    found.map((r) => [r.file, r.offset, r.length]),
    [[last + 1, 8, next.block.length]],
  );
  assert.ok(found[0].block.equals(next.block), 'the record reads back de-obfuscated');
  await assertAllThere(o.store, s.blocks);
  await o.store.adopt([{ hash: next.hash, height: next.height, file: last + 1, offset: 8, length: next.block.length }]);
  await o.store.finishReindex();
  assert.deepEqual(o.store.unindexedFiles(), []);
  await assertAllThere(o.store, [...s.blocks, next]);
  // The next put goes after the adopted record (or to a new file), never over it.
  const after = all[121];
  const loc = await o.store.put(after.hash, after.height, after.block);
  if (loc.file === last + 1) assert.equal(loc.offset, 8 + next.block.length + 8);
  else assert.deepEqual([loc.file, loc.offset], [last + 2, 8]);
  await o.close();
  const again = await openAll(dir, { maxFileSize: SMALL });
  t.after(() => again.close());
  assert.deepEqual(again.store.recovered, { truncatedBytes: 0, files: 0, droppedEntries: 0, prunedLeftovers: 0, reindex: null });
  await assertAllThere(again.store, [...s.blocks, next, after]);
});

test('index entries past their file’s end (data lost under the index) are dropped, the rest kept', async (t) => {
  const dir = tmp(t);
  const s = await seeded(dir, 100); // 31, 31, 31 and 7 blocks in four files
  if (!s) return t.skip(missingFixture(REGTEST));
  const last = blkFiles(dir).at(-1)!;
  const inLast = s.locs.map((l, i) => ({ l, i })).filter((x) => x.l.file === last);
  assert.ok(inLast.length >= 3, 'the last file holds a few blocks');
  // Cut into the second-to-last record of the last file: the last two blocks are gone.
  const cut = inLast.at(-2)!.l;
  truncateSync(join(blocksDir(dir), blockFileName(last)), cut.offset + 10);
  // And lose a whole earlier file.
  rmSync(join(blocksDir(dir), blockFileName(1)));
  const inFile1 = s.locs.filter((l) => l.file === 1).length;
  const o = await openAll(dir, { maxFileSize: SMALL });
  assert.deepEqual(o.store.recovered, { truncatedBytes: 18, files: 1, droppedEntries: 2 + inFile1, prunedLeftovers: 0, reindex: null });
  const kept = s.blocks.filter((_, i) => s.locs[i].file !== 1 && i < inLast.at(-2)!.i);
  const lost = s.blocks.filter((b) => !kept.includes(b));
  await assertAllThere(o.store, kept);
  for (const b of lost) {
    assert.equal(o.store.has(b.hash), false);
    assert.equal(await o.store.get(b.hash), null);
  }
  assert.equal(o.store.stats().blocks, kept.length);
  // Storing the lost blocks again works: they go to the end of the last file.
  for (const b of lost) await o.store.put(b.hash, b.height, b.block);
  await o.close();
  const again = await openAll(dir, { maxFileSize: SMALL });
  t.after(() => again.close());
  assert.deepEqual(again.store.recovered, { truncatedBytes: 0, files: 0, droppedEntries: 0, prunedLeftovers: 0, reindex: null });
  await assertAllThere(again.store, s.blocks);
});

test('prune: 2000 blocks in 1 MB files with a 2 MB target, prune(1712) removes whole old files, index first, and survives a reopen', async (t) => {
  const blocks = await fixtureBlocks();
  if (!blocks) return t.skip(missingFixture(REGTEST));
  const dir = tmp(t);
  const target = 2 * MB;
  const a = await openAll(dir, { maxFileSize: MB, pruneTarget: target, sync: false });
  for (const b of blocks) await a.store.put(b.hash, b.height, b.block);
  const filesBefore = blkFiles(dir);
  const locs = new Map(blocks.map((b) => [b.hash.toString('hex'), a.store.location(b.hash)!]));
  assert.equal(a.store.pruneHeight(), 0);
  assert.deepEqual(a.store.stats().pruned, true);
  // Nothing to prune below height 1: every file holds a block ≥ 1.
  assert.deepEqual(await a.store.prune(1), { files: [], blocks: 0, bytes: 0 });

  const r = await a.store.prune(1712);
  assert.ok(r.files.length > 0, 'some files pruned');
  const gone = new Set(r.files);
  const heightsIn = (n: number): number[] => blocks.filter((b) => locs.get(b.hash.toString('hex'))!.file === n).map((b) => b.height);
  for (const n of r.files) assert.ok(Math.max(...heightsIn(n)) < 1712, `${blockFileName(n)} held only blocks below 1712`);
  const remaining = filesBefore.filter((n) => !gone.has(n));
  assert.deepEqual(blkFiles(dir), remaining);
  const st = a.store.stats();
  const current = Math.max(...filesBefore);
  assert.ok(st.bytes <= target || remaining.every((n) => n === current || Math.max(...heightsIn(n)) >= 1712), `under target (${st.bytes}) or only files with blocks ≥ 1712 left`);
  // Oldest first: the pruned files are a prefix of the files.
  assert.deepEqual(r.files, filesBefore.slice(0, r.files.length));
  const prunedBlocks = blocks.filter((b) => gone.has(locs.get(b.hash.toString('hex'))!.file));
  assert.equal(r.blocks, prunedBlocks.length);
  assert.equal(r.bytes, prunedBlocks.reduce((n, b) => n + b.block.length + 8, 0));
  const expectHeight = Math.max(...prunedBlocks.map((b) => b.height)) + 1;
  assert.equal(a.store.pruneHeight(), expectHeight);
  assert.deepEqual(st, { files: remaining.length, bytes: blocks.reduce((n, b) => n + b.block.length + 8, 0) - r.bytes, blocks: 2000 - r.blocks, pruned: true, xorKey: readFileSync(join(blocksDir(dir), XOR_KEY_FILE)).toString('hex'), pruneHeight: expectHeight });

  const check = async (s: BlockStore): Promise<void> => {
    for (const b of blocks) {
      const pruned = gone.has(locs.get(b.hash.toString('hex'))!.file);
      assert.equal(s.has(b.hash), !pruned, `has(${b.height})`);
      const got = await s.get(b.hash);
      if (pruned) assert.equal(got, null);
      else assert.ok(got!.equals(b.block));
    }
    for (const b of blocks.slice(1711)) assert.ok(s.has(b.hash), `block ${b.height} ≥ 1712 kept`);
  };
  await check(a.store);
  // Under target now (or nothing prunable): a second prune removes nothing.
  assert.deepEqual(await a.store.prune(1712), { files: [], blocks: 0, bytes: 0 });
  await a.close();

  // A crash between the prune's batch and its unlink leaves a pruned file behind: open removes it.
  writeFileSync(join(blocksDir(dir), blockFileName(r.files[0])), Buffer.alloc(1000, 1));
  const b = await openAll(dir, { maxFileSize: MB, pruneTarget: target });
  t.after(() => b.close());
  assert.deepEqual(b.store.recovered, { truncatedBytes: 0, files: 0, droppedEntries: 0, prunedLeftovers: 1, reindex: null });
  assert.deepEqual(blkFiles(dir), remaining);
  assert.equal(b.store.pruneHeight(), expectHeight);
  assert.deepEqual(b.store.stats(), st);
  await check(b.store);
  // A pruned block can be stored again (Core re-downloads for a reorg below the prune height): it goes to the end.
  const old = blocks[0];
  const loc = await b.store.put(old.hash, old.height, old.block);
  assert.ok(loc.file >= current);
  assert.ok((await b.store.get(old.hash))!.equals(old.block));
});

test('prune is a no-op without a prune target', async (t) => {
  const dir = tmp(t);
  const s = await seeded(dir, 100);
  if (!s) return t.skip(missingFixture(REGTEST));
  const o = await openAll(dir, { maxFileSize: SMALL });
  t.after(() => o.close());
  assert.deepEqual(await o.store.prune(1_000_000), { files: [], blocks: 0, bytes: 0 });
  assert.deepEqual(o.store.stats().pruned, false);
  await assertAllThere(o.store, s.blocks);
});

/** A synthetic block: 80-byte header + body, deterministic per index; its hash is sha256d of the header. */
function synthetic(i: number, size: number): Fx {
  const parts: Buffer[] = [];
  let seed = sha256(Buffer.from(`block ${i}`));
  let have = 0;
  while (have < size) {
    parts.push(seed);
    have += seed.length;
    seed = sha256(seed);
  }
  const block = Buffer.concat(parts).subarray(0, size);
  return { hash: sha256d(block.subarray(0, 80)), height: i, block };
}

type Op = { op: 'put'; i: number } | { op: 'burst'; is: number[] } | { op: 'reopen' } | { op: 'tear'; bytes: number } | { op: 'prune'; keepFrom: number };

test('fast-check: random put / burst / reopen / torn tail / prune sequences agree with a model', async (t) => {
  const POOL = 40;
  const pool = Array.from({ length: POOL }, (_, i) => synthetic(i, 80 + ((i * 7919) % 3000)));
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('put' as const), i: fc.nat(POOL - 1) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('burst' as const), is: fc.array(fc.nat(POOL - 1), { minLength: 1, maxLength: 12 }) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'reopen' as const }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('tear' as const), bytes: fc.integer({ min: 1, max: 5000 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('prune' as const), keepFrom: fc.nat(POOL) }) },
  );
  const root = tmp(t);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
      const dir = join(root, String(run++));
      const opts = { maxFileSize: 8_000, pruneTarget: 20_000, sync: false };
      let o = await openAll(dir, opts);
      const model = new Set<number>();
      try {
        for (const op of ops) {
          switch (op.op) {
            case 'put':
              await o.store.put(pool[op.i].hash, pool[op.i].height, pool[op.i].block);
              model.add(op.i);
              break;
            case 'burst':
              await Promise.all(op.is.map((i) => o.store.put(pool[i].hash, pool[i].height, pool[i].block)));
              for (const i of op.is) model.add(i);
              break;
            case 'reopen':
              await o.close();
              o = await openAll(dir, opts);
              assert.deepEqual(o.store.recovered, { truncatedBytes: 0, files: 0, droppedEntries: 0, prunedLeftovers: 0, reindex: null });
              break;
            case 'tear': {
              await o.close();
              const files = blkFiles(dir);
              if (files.length > 0) appendFileSync(join(blocksDir(dir), blockFileName(files.at(-1)!)), Buffer.alloc(op.bytes, 0xab));
              o = await openAll(dir, opts);
              assert.equal(o.store.recovered.truncatedBytes, files.length > 0 ? op.bytes : 0);
              assert.equal(o.store.recovered.droppedEntries, 0);
              break;
            }
            case 'prune': {
              const where = new Map([...model].map((i) => [i, o.store.location(pool[i].hash)!]));
              const r = await o.store.prune(op.keepFrom);
              for (const [i, l] of where) {
                if (!r.files.includes(l.file)) continue;
                assert.ok(pool[i].height < op.keepFrom, 'only blocks below keepFrom pruned');
                model.delete(i);
              }
              break;
            }
          }
          for (let i = 0; i < POOL; i++) assert.equal(o.store.has(pool[i].hash), model.has(i), `has(${i}) after ${op.op}`);
        }
        for (let i = 0; i < POOL; i++) {
          const got = await o.store.get(pool[i].hash);
          if (model.has(i)) assert.ok(got?.equals(pool[i].block), `get(${i})`);
          else assert.equal(got, null);
        }
        assert.equal(o.store.stats().blocks, model.size);
      } finally {
        await o.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 40 },
  );
});

test('put throughput, sync off and on (reported, not asserted)', async (t) => {
  const blocks = await fixtureBlocks();
  if (!blocks) return t.skip(missingFixture(REGTEST));
  const total = blocks.reduce((n, b) => n + b.block.length, 0);
  const measure = async (sync: boolean, window: number): Promise<void> => {
    const dir = tmp(t);
    const o = await openAll(dir, { sync });
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: window }, async () => {
        while (next < blocks.length) {
          const b = blocks[next++];
          await o.store.put(b.hash, b.height, b.block);
        }
      }),
    );
    const ms = performance.now() - t0;
    assert.equal(o.store.stats().blocks, 2000);
    await o.close();
    t.diagnostic(`put, sync ${sync ? 'on ' : 'off'}, ${window === 1 ? 'one at a time' : `${window} in flight`}: ${(total / 1e6).toFixed(2)} MB in ${ms.toFixed(0)} ms = ${mbps(total, ms)} MB/s, ${((2000 / ms) * 1000).toFixed(0)} blocks/s`);
  };
  await measure(false, 1);
  await measure(false, 16);
  await measure(true, 16);
});

test('headers: a run of a headers message is one index entry; runs, forks and single headers all load back parents first', async (t) => {
  const main = [...generateChain({ blocks: 300, seed: 1 })];
  const fork = [...generateChain({ blocks: 20, seed: 2, parent: { header: main[149].block.header, height: 150 } })];
  const h = (g: GeneratedBlock) => ({ hash: g.block.header.hash, raw: g.raw.subarray(0, 80), height: g.height });
  const dir = tmp(t);
  const a = await openAll(dir, { sync: false });
  await a.store.putHeaders(main.slice(0, 100).map(h)); // one run
  await a.store.putHeaders([...main.slice(100, 250), ...fork].map(h)); // two runs: the main chain, then the fork
  await a.store.putHeaders([main[260], main[250], ...main.slice(251, 260), ...main.slice(261)].map(h)); // out of order: 260, then 250..259, then 261..299
  const entries: string[] = [];
  for await (const k of a.db.keys({ gte: 'chain!h!', lt: 'chain!h"' })) entries.push(k);
  assert.equal(entries.length, 6, `entries: ${entries.join(', ')}`);
  const loaded = await a.store.loadHeaders();
  assert.equal(loaded.length, 320);
  const seen = new Set<string>([networkParams('regtest').genesis.header.hash.toString('hex')]);
  for (const raw of loaded) {
    assert.ok(seen.has(raw.subarray(4, 36).toString('hex')), 'each header comes after its parent');
    seen.add(sha256d(raw).toString('hex'));
  }
  for (const g of [...main, ...fork]) assert.ok(seen.has(g.block.header.hash.toString('hex')));
  await a.close();
});

test('xorAt: obfuscating twice restores the bytes, and agrees with a byte-by-byte XOR at any file position', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.integer({ min: 0, max: 5000 }), fc.uint8Array({ minLength: 8, maxLength: 8 }), (bytes, pos, k) => {
      const key = Buffer.from(k);
      const buf = Buffer.from(bytes);
      xorAt(buf, pos, key);
      const slow = Buffer.from(bytes.map((b, i) => b ^ key[(pos + i) % 8]));
      assert.ok(buf.equals(slow));
      xorAt(buf, pos, key);
      assert.ok(buf.equals(Buffer.from(bytes)));
    }),
  );
});

test('blocks xor (Core -blocksxor): a random key for a fresh directory, the zero key with xor off or for files from before it; a stored key cannot be turned off; a bad xor.dat is refused', async (t) => {
  const blocks = [...generateChain({ blocks: 5, seed: 3 })];
  const putAll = async (o: OpenedBlockStore): Promise<void> => {
    for (const [i, g] of blocks.entries()) await o.store.put(g.block.header.hash, i + 1, g.raw);
  };
  const readAll = async (o: OpenedBlockStore): Promise<void> => {
    for (const g of blocks) assert.ok((await o.store.get(g.block.header.hash))?.equals(g.raw));
  };
  // Fresh: random key; the files read back, and de-obfuscated they are Core's records.
  const d1 = tmp(t);
  const a = await openAll(d1);
  await putAll(a);
  await readAll(a);
  const key = readFileSync(join(blocksDir(d1), XOR_KEY_FILE));
  assert.notEqual(key.toString('hex'), '0'.repeat(16));
  assert.equal(parseRecords(join(blocksDir(d1), blockFileName(0))).length, 5);
  await a.close();
  // Reopened: the same key, everything readable.
  const a2 = await openAll(d1);
  await readAll(a2);
  assert.equal(a2.store.stats().xorKey, key.toString('hex'));
  await a2.close();
  // Turning it off once a key is stored is refused, with the reason.
  await assert.rejects(openAll(d1, { xor: false }), /blocksxor 0 cannot turn that off/);

  // Off from the start: the zero key is written, the files are plain Core records.
  const d2 = tmp(t);
  const b = await openAll(d2, { xor: false });
  await putAll(b);
  assert.equal(readFileSync(join(blocksDir(d2), XOR_KEY_FILE)).toString('hex'), '0'.repeat(16));
  assert.ok(readFileSync(join(blocksDir(d2), blockFileName(0))).subarray(0, 4).equals(MAGIC));
  await b.close();
  // Files from before obfuscation (no xor.dat): the zero key, not a random one (they stay readable).
  rmSync(join(blocksDir(d2), XOR_KEY_FILE));
  const b2 = await openAll(d2);
  await readAll(b2);
  assert.equal(b2.store.stats().xorKey, '0'.repeat(16));
  await b2.close();

  // A foreign or damaged xor.dat: refused with a clear message, never overwritten.
  writeFileSync(join(blocksDir(d2), XOR_KEY_FILE), Buffer.alloc(5, 1));
  await assert.rejects(openAll(d2), /xor\.dat is 5 bytes, not 8/);
  assert.equal(readFileSync(join(blocksDir(d2), XOR_KEY_FILE)).length, 5);
});

test('head: the first bytes of a stored block (header and tx count) without reading the rest; obfuscated or not', async (t) => {
  const blocks = [...generateChain({ blocks: 3, seed: 9, txsPerBlock: 4 })];
  for (const xor of [true, false]) {
    const o = await openAll(tmp(t), { xor });
    for (const [i, g] of blocks.entries()) await o.store.put(g.block.header.hash, i + 1, g.raw);
    for (const g of blocks) {
      const h = await o.store.head(g.block.header.hash, 89);
      assert.ok(h?.equals(g.raw.subarray(0, 89)), `first 89 bytes (xor ${xor})`);
      assert.equal(h![80], g.block.txs.length, 'the transaction count follows the header');
      assert.ok((await o.store.head(g.block.header.hash, 10 ** 9))?.equals(g.raw), 'more than the block: the whole block');
    }
    assert.equal(await o.store.head(Buffer.alloc(32, 7), 89), null, 'not stored: null');
    await assert.rejects(async () => o.store.head(blocks[0].block.header.hash, -1), RangeError);
    await o.close();
  }
});
