/**
 * Reindex: rebuilds the block index and the header tree from the block files (Core's
 * `-reindex` and `LoadExternalBlockFile`). The block store hands over the files its index does
 * not cover ({@link BlockStore.unindexedFiles}); every whole record in them is parsed, its
 * merkle root checked, and its header added to the tree with the usual header checks, parents
 * before children whatever order the file holds them in (blocks downloaded from several peers
 * arrive out of order). Blocks that connect are indexed where they lie; nothing is written to
 * or removed from the block files. Blocks that do not connect (their parent is in no file) stay
 * in their file, unindexed, and are counted.
 */
import { Reader } from '../wire/buffer.js';
import { blockMerkleRoot, decodeHeader, parseBlock, type BlockHeader } from '../wire/block.js';
import type { BlockStore } from './blockstore.js';
import type { HeaderTree } from './headers.js';

export interface ReindexReport {
  readonly files: number;
  /** Whole records found in the files. */
  readonly records: number;
  /** Blocks indexed by this reindex. */
  readonly indexed: number;
  /** Headers added to the tree (the others were already known). */
  readonly headers: number;
  /** Records whose parent is in no file and not in the tree: kept in their file, not indexed. */
  readonly unconnected: number;
  /** Records that are not a valid block (unparseable, merkle root mismatch, header refused): kept, not indexed. */
  readonly bad: number;
  readonly ms: number;
}

interface Found {
  readonly header: BlockHeader;
  readonly raw: Buffer;
  readonly file: number;
  readonly offset: number;
  readonly length: number;
}

/** How many headers and index entries go to the store in one batch. */
const BATCH = 2000;

/** True when `bytes` is a block whose transactions hash to its header's merkle root. */
export function wholeBlock(bytes: Buffer): BlockHeader | null {
  const parsed = parseBlock(bytes);
  if (!parsed.ok) return null;
  const b = parsed.value;
  if (b.txs.length === 0) return null;
  const m = blockMerkleRoot(b);
  if (m.mutated || !m.root.equals(b.header.merkleRoot)) return null;
  return decodeHeader(new Reader(bytes.subarray(0, 80)));
}

export async function reindexBlockFiles(store: BlockStore, tree: HeaderTree, nowSeconds: number, progress?: (done: number, of: number) => void): Promise<ReindexReport> {
  const t0 = Date.now();
  const files = store.unindexedFiles();
  let records = 0;
  let bad = 0;
  // Records by their parent's hash (latin1 key), and those whose parent is already in the tree.
  const waiting = new Map<string, Found[]>();
  const ready: Found[] = [];
  for (let i = 0; i < files.length; i++) {
    for await (const r of store.scanFile(files[i])) {
      records++;
      const header = wholeBlock(r.block);
      if (header === null) {
        bad++;
        continue;
      }
      const f: Found = { header, raw: Buffer.from(r.block.subarray(0, 80)), file: r.file, offset: r.offset, length: r.length };
      if (tree.get(header.prevBlock) !== undefined || tree.get(header.hash) !== undefined) ready.push(f);
      else {
        const k = header.prevBlock.toString('latin1');
        const list = waiting.get(k);
        if (list) list.push(f);
        else waiting.set(k, [f]);
      }
    }
    progress?.(i + 1, files.length);
  }

  let indexed = 0;
  let headers = 0;
  let newHeaders: { hash: Uint8Array; raw: Buffer; height: number }[] = [];
  let adopt: { hash: Uint8Array; height: number; file: number; offset: number; length: number }[] = [];
  const flush = async (): Promise<void> => {
    // Headers before the index entries that rely on them (a kill in between redoes the whole reindex).
    if (newHeaders.length > 0) await store.putHeaders(newHeaders);
    if (adopt.length > 0) await store.adopt(adopt);
    indexed += adopt.length;
    newHeaders = [];
    adopt = [];
  };
  for (let q = 0; q < ready.length; q++) {
    const f = ready[q];
    let e = tree.get(f.header.hash);
    if (e === undefined) {
      const res = tree.addHeaders([f.header], nowSeconds);
      if (res.error || res.added.length !== 1) {
        bad++;
        continue;
      }
      e = res.added[0];
      newHeaders.push({ hash: e.hash, raw: f.raw, height: e.height });
      headers++;
    }
    if (e.invalid) {
      bad++;
      continue;
    }
    if (!store.has(e.hash)) adopt.push({ hash: e.hash, height: e.height, file: f.file, offset: f.offset, length: f.length });
    e.haveData = true;
    const k = f.header.hash.toString('latin1');
    const children = waiting.get(k);
    if (children) {
      waiting.delete(k);
      for (const c of children) ready.push(c);
    }
    if (newHeaders.length + adopt.length >= BATCH) await flush();
  }
  await flush();
  await store.finishReindex();
  let unconnected = 0;
  for (const list of waiting.values()) unconnected += list.length;
  return { files: files.length, records, indexed, headers, unconnected, bad, ms: Date.now() - t0 };
}
