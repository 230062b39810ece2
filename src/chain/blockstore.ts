/**
 * The block store: raw blocks appended to `<dir>/blocks/blk00000.dat`, `blk00001.dat`, … and an
 * index of them in the node's LevelDB, modelled on Bitcoin Core's `blocks/` directory and block
 * index. A plain class, owned by the block actor.
 *
 * On disk, each record is exactly Core's: the network magic (4 bytes, as on the wire), the block
 * length (u32 LE), the raw block (with witness data). A new file is begun when a record would
 * take the current one past `maxFileSize` (Core's MAX_BLOCKFILE_SIZE, 128 MiB). Files are not
 * preallocated and not XOR-obfuscated (Core ≥ 28 obfuscates a fresh `blocks/` with the key in
 * `xor.dat`; our files read as Core's with `-blocksxor=0`).
 *
 * Keys (all under `chain!`, values binary):
 * - `chain!b!<hash hex>`  → file u32 | offset u32 (of the block bytes) | length u32 | height u32
 * - `chain!f!<nnnnn>`     → flags u8 (1 = pruned) | size u48 | blocks u32 | minHeight u32 | maxHeight u32;
 *                           `size` is the end of the file's last indexed record
 * - `chain!h!<height, 10 digits>!<hash hex>` → raw 80-byte headers: the one with this height and
 *                           hash, followed by its descendants at the next heights (a run of a
 *                           headers message is one entry; a single header is one entry too)
 * - `chain!m!<name>`      → a small named value
 * - `chain!pruneheight`   → u32 LE, Core's pruneheight (absent: never pruned)
 * Hash hex is the internal byte order (not Core's reversed display).
 *
 * Crash safety. A put appends the record at the file's committed size, fdatasyncs it (when
 * `sync`), then writes one LevelDB batch {index entries, file info} and only then resolves. So
 * the index never points at bytes that were not fully written, and a resolved put survives a
 * `kill -9` (and, with `sync`, a power cut). Bytes past a file's committed size are a torn or
 * unindexed tail: `open` truncates them. An index entry past its file's end (possible only if
 * the filesystem lost synced data or `sync` was off during a power cut) is dropped. Pruning
 * removes index entries (one synced batch) before it unlinks files; a file the index says is
 * pruned but that still exists is unlinked at the next open.
 *
 * Puts are serialised and group-committed: puts queued while a write is in progress go out
 * together (one write per file, one fdatasync per file, one LevelDB batch). Any I/O error in the
 * write path fails the store: that put and every later one reject with the error, until the
 * store is reopened (which recovers). Reads use positional reads on a small LRU of read-only
 * file handles and check each record's magic and length.
 */
import { constants as fsc, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { open as fsOpen, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Db } from '../contracts/store.js';
import { sha256, sha256d, toDisplayHex } from '../wire/hash.js';

export const BLOCKS_SUBDIR = 'blocks';
/** Core's MAX_BLOCKFILE_SIZE: 128 MiB. */
export const DEFAULT_MAX_FILE_SIZE = 128 * 1024 * 1024;
/** Core keeps at least this many blocks below the tip when pruning (MIN_BLOCKS_TO_KEEP). */
export const MIN_BLOCKS_TO_KEEP = 288;
/** Core's smallest prune target, 550 MiB (MIN_DISK_SPACE_FOR_BLOCK_FILES); enforced by the CLI, not here. */
export const MIN_PRUNE_TARGET = 550 * 1024 * 1024;
/** Magic (4) + length (4) before each block. */
export const RECORD_HEADER_SIZE = 8;

const BLOCK_PREFIX = 'chain!b!';
const FILE_PREFIX = 'chain!f!';
const HEADER_PREFIX = 'chain!h!';
const META_PREFIX = 'chain!m!';
const PRUNE_HEIGHT_KEY = 'chain!pruneheight';
/** Every key of the chain's part of the store. */
const CHAIN_RANGE = { gte: 'chain!', lt: 'chain"' };
/** Bytes read at a time while scanning a file for records. */
const SCAN_CHUNK = 1024 * 1024;
const MAX_U32 = 0xffffffff;
/** Read handles kept open (least recently used closed first). */
const MAX_READERS = 16;
/** Most puts written by one group commit. */
const MAX_GROUP_PUTS = 256;
/** Most bytes written by one group commit (a put is never split). */
const MAX_GROUP_BYTES = 32 * 1024 * 1024;

export interface BlockLocation {
  readonly file: number;
  /** Offset of the block bytes, after magic and length. */
  readonly offset: number;
  readonly length: number;
}

export interface BlockStoreOptions {
  /** The network data directory; files go in `<dir>/blocks/`. */
  readonly dir: string;
  readonly db: Db;
  /** The network magic, 4 bytes as on the wire. */
  readonly magic: Buffer;
  readonly maxFileSize?: number;
  /** Prune target in bytes (0 = keep everything). Core: -prune=N MiB, minimum 550 MiB; any N accepted here, the CLI enforces Core's minimum. */
  readonly pruneTarget?: number;
  /**
   * fdatasync block data before the index points at it, and write index batches with LevelDB's
   * `sync` (default true). Off, a put still survives `kill -9` (the data is in the page cache and
   * LevelDB's log is written before the batch returns) but not a power cut.
   */
  readonly sync?: boolean;
  /**
   * Obfuscate the block files with a random 8-byte key kept in `blocks/xor.dat` (default true),
   * as Core v28+ (`-blocksxor`): a new key only for an empty blocks directory; an existing
   * `xor.dat` always wins; files from before it (no `xor.dat`) get the zero key. Turning it
   * off when a non-zero key is stored is refused.
   */
  readonly xor?: boolean;
  /**
   * Rebuild the index from the block files (Core's `-reindex`): every `chain!` key (block index,
   * file infos, headers, named values) is dropped and every file on disk is handed to the caller
   * to scan ({@link BlockStore.unindexedFiles}). Done by itself for the files the index does not
   * know (all of them when the index is empty: lost, deleted, or a reindex cut short).
   */
  readonly reindex?: boolean;
}

/** Core's obfuscation key file, in the blocks directory. */
export const XOR_KEY_FILE = 'xor.dat';
const XOR_KEY_SIZE = 8;

/** XORs `buf` in place with `key` as it lies in a file from byte `position` on (Core's Obfuscation). */
export function xorAt(buf: Buffer, position: number, key: Buffer): void {
  const k = (i: number): number => key[(position + i) & 7];
  const n = buf.length;
  let i = 0;
  // Bytes up to an 8-aligned file position, then whole 32-bit words, then the tail.
  for (; i < n && ((position + i) & 7) !== 0; i++) buf[i] ^= k(i);
  if (n - i >= 8) {
    const lo = key.readInt32LE(0);
    const hi = key.readInt32LE(4);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (; i + 8 <= n; i += 8) {
      view.setInt32(i, view.getInt32(i, true) ^ lo, true);
      view.setInt32(i + 4, view.getInt32(i + 4, true) ^ hi, true);
    }
  }
  for (; i < n; i++) buf[i] ^= k(i);
}

/**
 * Reads or creates `blocks/xor.dat` (Core's InitBlocksdirXorKey); returns the key, or null for
 * the zero key (nothing to do). `dirWasEmpty`: the blocks directory held nothing before.
 */
async function loadXorKey(blocksDir: string, use: boolean, dirWasEmpty: boolean, sync: boolean): Promise<Buffer | null> {
  const path = join(blocksDir, XOR_KEY_FILE);
  let key: Buffer;
  if (existsSync(path)) {
    key = readFileSync(path);
    if (key.length !== XOR_KEY_SIZE) {
      throw new BlockStoreError(`${path} is ${key.length} bytes, not ${XOR_KEY_SIZE}: it is not a block-file obfuscation key; the block files cannot be read without the right one (restore it, or remove the blocks directory to resync)`);
    }
  } else {
    key = use && dirWasEmpty ? randomBytes(XOR_KEY_SIZE) : Buffer.alloc(XOR_KEY_SIZE);
    const fh = await fsOpen(path, 'wx');
    try {
      await fh.writeFile(key);
      if (sync) await fh.sync();
    } finally {
      await fh.close();
    }
    if (sync) await syncDir(blocksDir);
  }
  const zero = key.every((b) => b === 0);
  if (!use && !zero) {
    throw new BlockStoreError(`the block files are obfuscated with the key in ${path} (${key.toString('hex')}); --blocksxor 0 cannot turn that off once a key is stored (as Core): drop the flag, or remove the blocks directory to resync`);
  }
  return zero ? null : key;
}

/** What `open` repaired. */
export interface BlockStoreRecovery {
  /** Unindexed bytes removed: torn or unindexed tails past a file's committed size truncated (files the index does not know are re-indexed, never removed). */
  readonly truncatedBytes: number;
  /** Files truncated or deleted for that reason. */
  readonly files: number;
  /** Index entries dropped because they pointed past their file's end (or their file was missing). */
  readonly droppedEntries: number;
  /** Files the index had already pruned but that still existed (a crash between the prune's batch and its unlinks), now unlinked. */
  readonly prunedLeftovers: number;
  /** Why block files are to be re-indexed (null: none): `requested` (--reindex), `index-missing` (block files beside an empty index: lost, deleted, or a reindex cut short), `unindexed-files`. */
  readonly reindex: 'requested' | 'index-missing' | 'unindexed-files' | null;
}

/** One record found by {@link BlockStore.scanFile}. */
export interface ScannedRecord {
  readonly file: number;
  /** Offset of the block bytes (after magic and length). */
  readonly offset: number;
  readonly length: number;
  /** The whole block (de-obfuscated). */
  readonly block: Buffer;
}

export interface PruneResult {
  readonly files: number[];
  readonly blocks: number;
  readonly bytes: number;
}

export interface BlockStoreStats {
  /** blk files holding data (pruned ones excluded). */
  readonly files: number;
  /** Their total size in bytes. */
  readonly bytes: number;
  /** Blocks indexed. */
  readonly blocks: number;
  /** Pruning is on (a prune target) or has removed files. */
  readonly pruned: boolean;
  /** The block files' obfuscation key as hex (16 zeros: none), from blocks/xor.dat. */
  readonly xorKey: string;
  readonly pruneHeight: number;
}

export class BlockStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockStoreError';
  }
}

interface Entry {
  readonly file: number;
  readonly offset: number;
  readonly length: number;
  readonly height: number;
}

interface FileInfo {
  size: number;
  blocks: number;
  minHeight: number;
  maxHeight: number;
  pruned: boolean;
}

interface Pending {
  readonly key: string;
  readonly height: number;
  readonly block: Buffer;
  readonly promise: Promise<BlockLocation>;
  readonly resolve: (loc: BlockLocation) => void;
  readonly reject: (err: unknown) => void;
}

interface Reader {
  readonly fh: Promise<FileHandle>;
  users: number;
  /** Close once no read uses it (its file was pruned or the store closed). */
  doomed: boolean;
}

/** `blk00042.dat`. */
export function blockFileName(n: number): string {
  return `blk${String(n).padStart(5, '0')}.dat`;
}

const FILE_NAME_RE = /^blk(\d{5,})\.dat$/;

function hexOf(hash: Uint8Array): string {
  if (hash.length !== 32) throw new TypeError(`a block hash is 32 bytes, got ${hash.length}`);
  return Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex');
}

function checkU32(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_U32) throw new RangeError(`${name} must be an integer in [0, 2^32): ${n}`);
}

function fileKey(n: number): string {
  return FILE_PREFIX + String(n).padStart(5, '0');
}

function headerKey(height: number, hex: string): string {
  return `${HEADER_PREFIX}${String(height).padStart(10, '0')}!${hex}`;
}

/** The range of keys starting with `prefix` (prefixes end in `!`; `"` sorts right after it). */
function range(prefix: string): { gte: string; lt: string } {
  return { gte: prefix, lt: prefix.slice(0, -1) + '"' };
}

function encodeEntry(e: Entry): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeUInt32LE(e.file, 0);
  b.writeUInt32LE(e.offset, 4);
  b.writeUInt32LE(e.length, 8);
  b.writeUInt32LE(e.height, 12);
  return b;
}

function decodeEntry(b: Buffer): Entry | null {
  if (b.length !== 16) return null;
  return { file: b.readUInt32LE(0), offset: b.readUInt32LE(4), length: b.readUInt32LE(8), height: b.readUInt32LE(12) };
}

function encodeInfo(i: FileInfo): Buffer {
  const b = Buffer.allocUnsafe(19);
  b.writeUInt8(i.pruned ? 1 : 0, 0);
  b.writeUIntLE(i.size, 1, 6);
  b.writeUInt32LE(i.blocks, 7);
  b.writeUInt32LE(i.minHeight, 11);
  b.writeUInt32LE(i.maxHeight, 15);
  return b;
}

function decodeInfo(b: Buffer): FileInfo | null {
  if (b.length !== 19) return null;
  return { pruned: (b.readUInt8(0) & 1) === 1, size: b.readUIntLE(1, 6), blocks: b.readUInt32LE(7), minHeight: b.readUInt32LE(11), maxHeight: b.readUInt32LE(15) };
}

function emptyInfo(): FileInfo {
  return { size: 0, blocks: 0, minHeight: 0, maxHeight: 0, pruned: false };
}

function addToInfo(i: FileInfo, height: number, recordBytes: number): void {
  if (i.blocks === 0) {
    i.minHeight = height;
    i.maxHeight = height;
  } else {
    i.minHeight = Math.min(i.minHeight, height);
    i.maxHeight = Math.max(i.maxHeight, height);
  }
  i.blocks++;
  i.size += recordBytes;
}

function locationOf(e: Entry): BlockLocation {
  return { file: e.file, offset: e.offset, length: e.length };
}

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** Writes every buffer at `position`, looping over short writes. */
async function writeAll(fh: FileHandle, bufs: Buffer[], position: number): Promise<void> {
  let pos = position;
  let rest = bufs;
  while (rest.length > 0) {
    const total = rest.reduce((n, b) => n + b.length, 0);
    const { bytesWritten } = await fh.writev(rest, pos);
    if (bytesWritten === total) return;
    if (bytesWritten <= 0) throw new BlockStoreError(`short write: 0 of ${total} bytes at ${pos}`);
    pos += bytesWritten;
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) skip -= b.length;
      else {
        next.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    rest = next;
  }
}

/** Reads exactly `length` bytes at `position`, or fewer when the file ends first (the count is checked by the caller). */
async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

async function syncDir(path: string): Promise<void> {
  const d = await fsOpen(path, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Stores in this process by blocks directory: opening a directory again first closes the earlier store. */
const live = new Map<string, BlockStore>();

export class BlockStore {
  /** What `open` repaired. */
  readonly recovered: BlockStoreRecovery;
  readonly blocksDir: string;

  private readonly db: Db;
  private readonly magic: Buffer;
  /** The block files' obfuscation key (blocks/xor.dat), or null for the zero key. */
  private readonly xorKey: Buffer | null;
  private readonly maxFileSize: number;
  private readonly pruneTarget: number;
  private readonly sync: boolean;
  private readonly index: Map<string, Entry>;
  private readonly infos: Map<number, FileInfo>;
  /** The file appended to. */
  private cur: number;
  private writer: { readonly file: number; readonly fh: FileHandle } | null = null;
  private readonly readers = new Map<number, Reader>();
  private queue: Pending[] = [];
  private readonly inQueue = new Map<string, Pending>();
  private flushScheduled = false;
  /** The chain of serialised write tasks (group commits, prunes). */
  private tail: Promise<void> = Promise.resolve();
  private failed: unknown = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private prunedHeight: number;
  /** See {@link unindexedFiles}. */
  private unindexed: readonly number[] = [];

  private constructor(
    opts: Required<Omit<BlockStoreOptions, 'dir'>> & { blocksDir: string; xorKey: Buffer | null },
    index: Map<string, Entry>,
    infos: Map<number, FileInfo>,
    cur: number,
    pruneHeight: number,
    recovered: BlockStoreRecovery,
  ) {
    this.blocksDir = opts.blocksDir;
    this.db = opts.db;
    this.magic = opts.magic;
    this.xorKey = opts.xorKey;
    this.maxFileSize = opts.maxFileSize;
    this.pruneTarget = opts.pruneTarget;
    this.sync = opts.sync;
    this.index = index;
    this.infos = infos;
    this.cur = cur;
    this.prunedHeight = pruneHeight;
    this.recovered = recovered;
  }

  /** Opens the store, loading the index and repairing what a crash left (see {@link BlockStoreRecovery}). */
  static async open(opts: BlockStoreOptions): Promise<BlockStore> {
    const magic = opts.magic;
    if (magic.length !== 4) throw new TypeError(`magic is 4 bytes, got ${magic.length}`);
    const maxFileSize = opts.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
    if (!Number.isInteger(maxFileSize) || maxFileSize < 1 || maxFileSize > MAX_U32) throw new RangeError(`maxFileSize must be an integer in [1, 2^32): ${maxFileSize}`);
    const pruneTarget = opts.pruneTarget ?? 0;
    if (!Number.isSafeInteger(pruneTarget) || pruneTarget < 0) throw new RangeError(`pruneTarget must be a non-negative integer: ${pruneTarget}`);
    const sync = opts.sync ?? true;
    const db = opts.db;
    const blocksDir = join(opts.dir, BLOCKS_SUBDIR);

    const earlier = live.get(blocksDir);
    if (earlier) await earlier.close();
    mkdirSync(blocksDir, { recursive: true });
    const xorKey = await loadXorKey(blocksDir, opts.xor ?? true, readdirSync(blocksDir).length === 0, sync);

    // Files on disk.
    const onDisk = new Map<number, number>();
    for (const name of readdirSync(blocksDir)) {
      const m = FILE_NAME_RE.exec(name);
      if (m) onDisk.set(Number(m[1]), statSync(join(blocksDir, name)).size);
    }
    // File infos are written last by a reindex (finishReindex): until then, killed or not, the
    // index has none and the next open finds block files beside an empty index and reindexes again.
    let reindex: BlockStoreRecovery['reindex'] = opts.reindex ? 'requested' : null;
    if (reindex === null && [...onDisk.values()].some((size) => size > 0)) {
      let indexed = false;
      for await (const _k of db.keys({ ...range(FILE_PREFIX), limit: 1 })) indexed = true;
      if (!indexed) reindex = 'index-missing';
    }
    if (reindex === 'requested') await db.clear(CHAIN_RANGE);

    const infos = new Map<number, FileInfo>();
    for await (const [k, v] of db.iterator(range(FILE_PREFIX))) {
      const n = Number(k.slice(FILE_PREFIX.length));
      const info = decodeInfo(v);
      if (!Number.isInteger(n) || !info) throw new BlockStoreError(`unreadable file info ${k}`);
      infos.set(n, info);
    }
    const index = new Map<string, Entry>();
    const byFile = new Map<number, string[]>();
    for await (const [k, v] of db.iterator(range(BLOCK_PREFIX))) {
      const e = decodeEntry(v);
      if (!e) throw new BlockStoreError(`unreadable index entry ${k}`);
      const hex = k.slice(BLOCK_PREFIX.length);
      index.set(hex, e);
      let list = byFile.get(e.file);
      if (!list) byFile.set(e.file, (list = []));
      list.push(hex);
    }
    const pruneRaw = await db.get(PRUNE_HEIGHT_KEY);
    const pruneHeight = pruneRaw && pruneRaw.length === 4 ? pruneRaw.readUInt32LE(0) : 0;

    let truncatedBytes = 0;
    let files = 0;
    let droppedEntries = 0;
    let prunedLeftovers = 0;
    const repairs: { type: 'put'; key: string; value: Buffer }[] = [];
    const drops: string[] = [];

    for (const [n, info] of infos) {
      const path = join(blocksDir, blockFileName(n));
      const actual = onDisk.get(n);
      if (info.pruned) {
        if (actual !== undefined) {
          await unlink(path).catch((e: unknown) => {
            if (errCode(e) !== 'ENOENT') throw e;
          });
          prunedLeftovers++;
        }
        continue;
      }
      if (actual === undefined && info.size === 0) continue;
      if (actual !== undefined && actual === info.size) continue;
      if (actual !== undefined && actual > info.size) {
        await truncate(path, info.size);
        truncatedBytes += actual - info.size;
        files++;
        continue;
      }
      // The file is shorter than the index says (or gone): keep what is whole, drop the rest.
      const have = actual ?? 0;
      const fresh = emptyInfo();
      for (const hex of byFile.get(n) ?? []) {
        const e = index.get(hex)!;
        if (e.offset + e.length <= have) {
          addToInfo(fresh, e.height, 0);
          fresh.size = Math.max(fresh.size, e.offset + e.length);
        } else {
          index.delete(hex);
          drops.push(BLOCK_PREFIX + hex);
          droppedEntries++;
        }
      }
      if (actual !== undefined && actual > fresh.size) {
        await truncate(path, fresh.size);
        truncatedBytes += actual - fresh.size;
        files++;
      }
      infos.set(n, fresh);
      repairs.push({ type: 'put', key: fileKey(n), value: encodeInfo(fresh) });
    }
    // Entries into files with no info at all cannot be written by this store; drop them too.
    for (const [n, hexes] of byFile) {
      if (infos.has(n) && !infos.get(n)!.pruned) continue;
      for (const hex of hexes) {
        if (index.delete(hex)) {
          drops.push(BLOCK_PREFIX + hex);
          droppedEntries++;
        }
      }
    }
    // Files the index does not know (a crash before their first batch, a lost or new index, a
    // blocks directory brought from elsewhere) are never removed: the caller scans them and indexes
    // what connects (reindex). Until then they are kept whole, appended after, never overwritten.
    const unindexed = [...onDisk.keys()].filter((n) => !infos.has(n)).sort((a, b) => a - b);
    for (const n of unindexed) infos.set(n, { ...emptyInfo(), size: onDisk.get(n)! });
    // Entries a killed reindex adopted into such files were dropped above (no file info): scanned again.
    if (unindexed.length > 0 && reindex === null) reindex = 'unindexed-files';
    if (repairs.length > 0 || drops.length > 0) {
      await db.batch([...repairs, ...drops.map((key) => ({ type: 'del' as const, key }))], { sync: true });
    }
    if (sync && (files > 0 || prunedLeftovers > 0)) await syncDir(blocksDir);

    const top = infos.size > 0 ? Math.max(...infos.keys()) : -1;
    let cur = top < 0 ? 0 : top;
    if (infos.get(cur)?.pruned) cur++;
    if (!infos.has(cur)) infos.set(cur, emptyInfo());

    const store = new BlockStore({ db, magic: Buffer.from(magic), maxFileSize, pruneTarget, sync, xor: xorKey !== null, reindex: false, blocksDir, xorKey }, index, infos, cur, pruneHeight, {
      truncatedBytes,
      files,
      droppedEntries,
      prunedLeftovers,
      reindex,
    });
    store.unindexed = unindexed;
    live.set(blocksDir, store);
    return store;
  }

  /** Block files the index does not cover, to be scanned and re-indexed (see {@link BlockStoreOptions.reindex}); empty once {@link finishReindex} ran. */
  unindexedFiles(): readonly number[] {
    return this.unindexed;
  }

  /**
   * Every whole record of block file `n`, in file order: magic, length, then a block of that
   * length that lies entirely in the file. Bytes that are not a record (a torn write, damage)
   * are skipped up to the next magic, as Core's reindex does; a torn last record ends the scan.
   * Records are not checked beyond that: the caller checks each block.
   */
  async *scanFile(n: number): AsyncGenerator<ScannedRecord> {
    if (this.closed) throw new BlockStoreError('block store is closed');
    const fh = await fsOpen(join(this.blocksDir, blockFileName(n)), 'r');
    try {
      const size = (await fh.stat()).size;
      let pos = 0;
      while (pos + RECORD_HEADER_SIZE <= size) {
        const head = await readAt(fh, pos, RECORD_HEADER_SIZE);
        if (this.xorKey) xorAt(head, pos, this.xorKey);
        const length = head.readUInt32LE(4);
        if (!head.subarray(0, 4).equals(this.magic) || length < 80) {
          const next = await this.findMagic(fh, pos + 1, size);
          if (next < 0) return;
          pos = next;
          continue;
        }
        if (pos + RECORD_HEADER_SIZE + length > size) return;
        const block = await readAt(fh, pos + RECORD_HEADER_SIZE, length);
        if (this.xorKey) xorAt(block, pos + RECORD_HEADER_SIZE, this.xorKey);
        yield { file: n, offset: pos + RECORD_HEADER_SIZE, length, block };
        pos += RECORD_HEADER_SIZE + length;
      }
    } finally {
      await fh.close();
    }
  }

  /** The position of the next network magic at or after `from`, or -1. */
  private async findMagic(fh: FileHandle, from: number, size: number): Promise<number> {
    for (let pos = from; pos + 4 <= size; pos += SCAN_CHUNK - 3) {
      const chunk = await readAt(fh, pos, Math.min(SCAN_CHUNK, size - pos));
      if (this.xorKey) xorAt(chunk, pos, this.xorKey);
      const i = chunk.indexOf(this.magic);
      if (i >= 0) return pos + i;
    }
    return -1;
  }

  /**
   * Indexes blocks found by {@link scanFile} where they lie (nothing is written to the block
   * files), in one batch. A block already indexed keeps its first location.
   */
  async adopt(found: readonly { readonly hash: Uint8Array; readonly height: number; readonly file: number; readonly offset: number; readonly length: number }[]): Promise<void> {
    this.usable();
    const ops: { type: 'put'; key: string; value: Buffer }[] = [];
    for (const f of found) {
      const key = hexOf(f.hash);
      if (this.index.has(key) || this.inQueue.has(key)) continue;
      const info = this.infos.get(f.file);
      if (!info || info.pruned || f.offset + f.length > info.size) throw new BlockStoreError(`adopt: ${blockFileName(f.file)}:${f.offset} is not in a kept file`);
      const e: Entry = { file: f.file, offset: f.offset, length: f.length, height: f.height };
      this.index.set(key, e);
      const size = info.size;
      addToInfo(info, f.height, 0);
      info.size = size;
      ops.push({ type: 'put', key: BLOCK_PREFIX + key, value: encodeEntry(e) });
    }
    if (ops.length > 0) await this.db.batch(ops, { sync: this.sync });
  }

  /** Ends a reindex: the file infos of every scanned file written, in one synced batch (the mark of a finished reindex). */
  async finishReindex(): Promise<void> {
    this.usable();
    const ops: ({ type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string })[] = [];
    for (const n of this.unindexed) {
      const info = this.infos.get(n);
      if (info) ops.push({ type: 'put', key: fileKey(n), value: encodeInfo(info) });
    }
    // The file appended to keeps its info too (it may be new and empty).
    const cur = this.infos.get(this.cur);
    if (cur) ops.push({ type: 'put', key: fileKey(this.cur), value: encodeInfo(cur) });
    if (ops.length > 0) await this.db.batch(ops, { sync: true });
    this.unindexed = [];
  }

  /** The block is indexed (and so readable, unless its file was damaged behind our back). */
  has(hash: Uint8Array): boolean {
    return this.index.has(hexOf(hash));
  }

  location(hash: Uint8Array): BlockLocation | undefined {
    const e = this.index.get(hexOf(hash));
    return e ? locationOf(e) : undefined;
  }

  /** The height the block was stored with. */
  heightOf(hash: Uint8Array): number | undefined {
    return this.index.get(hexOf(hash))?.height;
  }

  /** Every indexed block hash (a snapshot; internal byte order). */
  hashes(): Buffer[] {
    return [...this.index.keys()].map((h) => Buffer.from(h, 'hex'));
  }

  /**
   * A digest of what the index holds, without reading any block: the count and
   * {@link indexChecksum} of the indexed hashes, all of them or only those stored at heights
   * ≤ `maxHeight`. Equal to {@link verifyStore}'s checksum when every block reads back.
   */
  digest(maxHeight?: number): { readonly blocks: number; readonly checksum: string } {
    const keys: string[] = [];
    for (const [k, e] of this.index) if (maxHeight === undefined || e.height <= maxHeight) keys.push(k);
    return { blocks: keys.length, checksum: indexChecksum(keys) };
  }

  /**
   * Appends a block and indexes it; resolves once durable (see the module comment). Writes are
   * serialised internally, in call order. A block already stored (or being stored) is not
   * written again: its location is returned.
   */
  put(hash: Uint8Array, height: number, block: Buffer): Promise<BlockLocation> {
    let key: string;
    try {
      key = hexOf(hash);
      checkU32('height', height);
      if (block.length === 0 || block.length > MAX_U32 - RECORD_HEADER_SIZE) throw new RangeError(`block size out of range: ${block.length}`);
      this.usable();
    } catch (err) {
      return Promise.reject(err);
    }
    const have = this.index.get(key);
    if (have) return Promise.resolve(locationOf(have));
    const queued = this.inQueue.get(key);
    if (queued) return queued.promise;
    let resolve!: (loc: BlockLocation) => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<BlockLocation>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const p: Pending = { key, height, block, promise, resolve, reject };
    this.queue.push(p);
    this.inQueue.set(key, p);
    this.scheduleFlush();
    return promise;
  }

  /** The raw block bytes, or null when the block is not stored (never was, or pruned). */
  get(hash: Uint8Array): Promise<Buffer | null> {
    return this.read(hash, Infinity);
  }

  /**
   * The first `bytes` bytes of a stored block (all of it when shorter), or null when it is not
   * stored: the header and transaction count without reading the rest (getblockheader's nTx).
   */
  head(hash: Uint8Array, bytes: number): Promise<Buffer | null> {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`bytes must be a non-negative integer: ${bytes}`);
    return this.read(hash, bytes);
  }

  private async read(hash: Uint8Array, upTo: number): Promise<Buffer | null> {
    const key = hexOf(hash);
    const e = this.index.get(key);
    if (!e) return null;
    if (this.closed) throw new BlockStoreError('block store is closed');
    const want = Math.min(e.length, upTo);
    let rec: Buffer;
    try {
      rec = await this.withReader(e.file, (fh) => readAt(fh, e.offset - RECORD_HEADER_SIZE, want + RECORD_HEADER_SIZE));
    } catch (err) {
      if (this.index.get(key) !== e) return null; // pruned while reading
      throw err;
    }
    if (this.index.get(key) !== e) return null;
    if (this.xorKey) xorAt(rec, e.offset - RECORD_HEADER_SIZE, this.xorKey);
    if (rec.length !== want + RECORD_HEADER_SIZE || !rec.subarray(0, 4).equals(this.magic) || rec.readUInt32LE(4) !== e.length) {
      throw new BlockStoreError(`block ${toDisplayHex(Buffer.from(key, 'hex'))}: record at ${blockFileName(e.file)}:${e.offset - RECORD_HEADER_SIZE} is damaged`);
    }
    return rec.subarray(RECORD_HEADER_SIZE);
  }

  /**
   * Persists headers of the header tree (raw 80 bytes each), so a restart can rebuild it. Each
   * run of headers that extend one another at consecutive heights (a headers message) is one
   * index entry, keyed by its first header.
   */
  async putHeaders(headers: readonly { readonly hash: Uint8Array; readonly raw: Buffer; readonly height: number }[]): Promise<void> {
    if (headers.length === 0) return;
    const ops: { type: 'put'; key: string; value: Buffer }[] = [];
    let first = 0;
    const flush = (end: number): void => {
      const run = headers.slice(first, end);
      ops.push({ type: 'put', key: headerKey(headers[first].height, hexOf(headers[first].hash)), value: Buffer.concat(run.map((h) => h.raw), run.length * 80) });
      first = end;
    };
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i];
      if (h.raw.length !== 80) throw new RangeError(`a header is 80 bytes, got ${h.raw.length}`);
      checkU32('height', h.height);
      if (i > first) {
        const prev = headers[i - 1];
        const linked = h.height === prev.height + 1 && h.raw.compare(prev.hash, 0, 32, 4, 36) === 0;
        if (!linked) flush(i);
      }
    }
    flush(headers.length);
    this.usable();
    await this.db.batch(ops, { sync: this.sync });
  }

  /** Every stored header: parents before children (entries by height ascending, each a run up from there). */
  async loadHeaders(): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for await (const [k, v] of this.db.iterator(range(HEADER_PREFIX))) {
      if (v.length === 0 || v.length % 80 !== 0) throw new BlockStoreError(`unreadable headers entry ${k}: ${v.length} bytes`);
      for (let p = 0; p < v.length; p += 80) out.push(v.subarray(p, p + 80));
    }
    return out;
  }

  /** A small named value (chain tip, invalid blocks, …), written with sync. */
  async putMeta(key: string, value: Buffer): Promise<void> {
    this.usable();
    await this.db.put(META_PREFIX + key, value, { sync: this.sync });
  }

  async getMeta(key: string): Promise<Buffer | undefined> {
    return this.db.get(META_PREFIX + key);
  }

  async delMeta(key: string): Promise<void> {
    this.usable();
    await this.db.del(META_PREFIX + key, { sync: this.sync });
  }

  /**
   * When the blk files total more than the prune target, deletes whole files whose highest
   * block height is below `keepFrom` (pass tip − 288: Core keeps at least 288 blocks), lowest
   * file number first, until under target. The file being appended to is never pruned. The
   * index entries go (one synced batch) before the files are unlinked. No-op when the prune
   * target is 0.
   */
  prune(keepFrom: number): Promise<PruneResult> {
    try {
      if (!Number.isInteger(keepFrom)) throw new RangeError(`keepFrom must be an integer: ${keepFrom}`);
      this.usable();
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.pruneTarget === 0) return Promise.resolve({ files: [], blocks: 0, bytes: 0 });
    return this.serial(() => this.doPrune(keepFrom));
  }

  /** Whether the store is closed or closing (no more writes). */
  isClosed(): boolean {
    return this.closed || this.closing !== null;
  }

  /** Core's pruneheight: every block stored at this height or above is still stored (0 if never pruned). */
  pruneHeight(): number {
    return this.prunedHeight;
  }

  stats(): BlockStoreStats {
    let files = 0;
    let bytes = 0;
    for (const i of this.infos.values()) {
      if (i.pruned || i.size === 0) continue;
      files++;
      bytes += i.size;
    }
    return {
      files,
      bytes,
      blocks: this.index.size,
      pruned: this.pruneTarget > 0 || this.prunedHeight > 0,
      xorKey: (this.xorKey ?? Buffer.alloc(XOR_KEY_SIZE)).toString('hex'),
      pruneHeight: this.prunedHeight,
    };
  }

  /** Waits for queued writes, then closes the file handles. The database belongs to the caller and stays open. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        // Drain: every queued put is written (or fails) before the handles go.
        while (this.queue.length > 0 || this.flushScheduled) await this.tail;
        await this.tail;
        this.closed = true;
        if (live.get(this.blocksDir) === this) live.delete(this.blocksDir);
        const w = this.writer;
        this.writer = null;
        if (w) await w.fh.close().catch(() => undefined);
        for (const [n, r] of this.readers) {
          r.doomed = true;
          if (r.users === 0) {
            this.readers.delete(n);
            await r.fh.then((fh) => fh.close()).catch(() => undefined);
          }
        }
      })();
    }
    return this.closing;
  }

  // ---- internals ----

  private usable(): void {
    if (this.closed || this.closing) throw new BlockStoreError('block store is closed');
    if (this.failed) throw this.failed;
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    void this.serial(() => this.flush());
  }

  /** One group commit of the queued puts (schedules another if some are left). */
  private async flush(): Promise<void> {
    this.flushScheduled = false;
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && n < MAX_GROUP_PUTS && (n === 0 || bytes + this.queue[n].block.length <= MAX_GROUP_BYTES)) {
      bytes += this.queue[n].block.length;
      n++;
    }
    const group = this.queue.splice(0, n);
    if (this.queue.length > 0) this.scheduleFlush();
    if (group.length === 0) return;
    const settle = (): void => {
      for (const p of group) this.inQueue.delete(p.key);
    };
    if (this.failed) {
      settle();
      for (const p of group) p.reject(this.failed);
      return;
    }
    try {
      const placed = await this.writeGroup(group);
      settle();
      group.forEach((p, i) => p.resolve(placed[i]));
    } catch (err) {
      this.failed = err;
      settle();
      for (const p of group) p.reject(err);
    }
  }

  private async writeGroup(group: Pending[]): Promise<BlockLocation[]> {
    // Place every record: at the committed end of the current file, rotating when one would overflow it.
    let cur = this.cur;
    const infos = new Map<number, FileInfo>([[cur, { ...this.infos.get(cur)! }]]);
    const runs = new Map<number, { start: number; bufs: Buffer[] }>();
    const entries: Entry[] = [];
    for (const p of group) {
      const rec = RECORD_HEADER_SIZE + p.block.length;
      let info = infos.get(cur)!;
      if (info.size > 0 && info.size + rec > this.maxFileSize) {
        cur++;
        info = this.infos.get(cur) ? { ...this.infos.get(cur)! } : emptyInfo();
        infos.set(cur, info);
      }
      let run = runs.get(cur);
      if (!run) runs.set(cur, (run = { start: info.size, bufs: [] }));
      const head = Buffer.allocUnsafe(RECORD_HEADER_SIZE);
      this.magic.copy(head, 0);
      head.writeUInt32LE(p.block.length, 4);
      run.bufs.push(head, p.block);
      entries.push({ file: cur, offset: info.size + RECORD_HEADER_SIZE, length: p.block.length, height: p.height });
      addToInfo(info, p.height, rec);
    }
    // Data first, synced; then the index.
    let created = false;
    for (const [file, run] of runs) {
      const fh = await this.writerFor(file, run.start);
      if (fh.created) created = true;
      if (this.xorKey) {
        // The caller's buffers stay as they are: the obfuscated bytes go out of a copy.
        const bytes = Buffer.concat(run.bufs);
        xorAt(bytes, run.start, this.xorKey);
        await writeAll(fh.fh, [bytes], run.start);
      } else await writeAll(fh.fh, run.bufs, run.start);
      if (this.sync) await fh.fh.datasync();
    }
    if (created && this.sync) await syncDir(this.blocksDir);
    const ops: { type: 'put'; key: string; value: Buffer }[] = [];
    group.forEach((p, i) => ops.push({ type: 'put', key: BLOCK_PREFIX + p.key, value: encodeEntry(entries[i]) }));
    for (const [file, info] of infos) ops.push({ type: 'put', key: fileKey(file), value: encodeInfo(info) });
    await this.db.batch(ops, { sync: this.sync });
    // Durable: now visible.
    for (const [file, info] of infos) this.infos.set(file, info);
    this.cur = cur;
    group.forEach((p, i) => this.index.set(p.key, entries[i]));
    if (this.writer && this.writer.file !== cur) {
      const old = this.writer;
      this.writer = null;
      await old.fh.close().catch(() => undefined); // the puts are durable already: do not fail them
    }
    return entries.map(locationOf);
  }

  /** The append handle of `file`, opened (created) when needed and cut to `committed` bytes if longer. */
  private async writerFor(file: number, committed: number): Promise<{ fh: FileHandle; created: boolean }> {
    if (this.writer && this.writer.file === file) return { fh: this.writer.fh, created: false };
    if (this.writer) {
      const old = this.writer;
      this.writer = null;
      await old.fh.close();
    }
    const path = join(this.blocksDir, blockFileName(file));
    let created = false;
    let fh: FileHandle;
    try {
      fh = await fsOpen(path, fsc.O_RDWR);
    } catch (err) {
      if (errCode(err) !== 'ENOENT') throw err;
      fh = await fsOpen(path, fsc.O_RDWR | fsc.O_CREAT, 0o644);
      created = true;
    }
    if ((await fh.stat()).size > committed) await fh.truncate(committed);
    this.writer = { file, fh };
    return { fh, created };
  }

  private async withReader<T>(file: number, fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    let r = this.readers.get(file);
    if (r && !r.doomed) {
      this.readers.delete(file); // re-insert: most recently used last
      this.readers.set(file, r);
    } else {
      const fh = fsOpen(join(this.blocksDir, blockFileName(file)), 'r');
      fh.catch(() => undefined);
      r = { fh, users: 0, doomed: false };
      this.readers.set(file, r);
      this.evictReaders();
    }
    const reader = r;
    reader.users++;
    try {
      return await fn(await reader.fh);
    } catch (err) {
      if (this.readers.get(file) === reader) {
        this.readers.delete(file);
        reader.doomed = true;
      }
      throw err;
    } finally {
      reader.users--;
      if (reader.doomed && reader.users === 0) void reader.fh.then((fh) => fh.close()).catch(() => undefined);
    }
  }

  private evictReaders(): void {
    if (this.readers.size <= MAX_READERS) return;
    for (const [n, r] of this.readers) {
      if (this.readers.size <= MAX_READERS) break;
      if (r.users > 0) continue;
      this.readers.delete(n);
      r.doomed = true;
      void r.fh.then((fh) => fh.close()).catch(() => undefined);
    }
  }

  private dropReader(file: number): void {
    const r = this.readers.get(file);
    if (!r) return;
    this.readers.delete(file);
    r.doomed = true;
    if (r.users === 0) void r.fh.then((fh) => fh.close()).catch(() => undefined);
  }

  private async doPrune(keepFrom: number): Promise<PruneResult> {
    if (this.failed) throw this.failed;
    let total = 0;
    for (const i of this.infos.values()) if (!i.pruned) total += i.size;
    if (total <= this.pruneTarget) return { files: [], blocks: 0, bytes: 0 };
    const victims: number[] = [];
    let bytes = 0;
    let newPruneHeight = this.prunedHeight;
    for (const n of [...this.infos.keys()].sort((a, b) => a - b)) {
      if (total <= this.pruneTarget) break;
      const i = this.infos.get(n)!;
      if (n === this.cur || i.pruned || i.size === 0) continue;
      if (i.blocks > 0 && i.maxHeight >= keepFrom) continue;
      victims.push(n);
      total -= i.size;
      bytes += i.size;
      if (i.blocks > 0) newPruneHeight = Math.max(newPruneHeight, i.maxHeight + 1);
    }
    if (victims.length === 0) return { files: [], blocks: 0, bytes: 0 };
    const gone = new Set(victims);
    const dead: string[] = [];
    for (const [hex, e] of this.index) if (gone.has(e.file)) dead.push(hex);
    const ops: ({ type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string })[] = dead.map((hex) => ({ type: 'del', key: BLOCK_PREFIX + hex }));
    for (const n of victims) ops.push({ type: 'put', key: fileKey(n), value: encodeInfo({ ...emptyInfo(), pruned: true }) });
    const ph = Buffer.allocUnsafe(4);
    ph.writeUInt32LE(Math.min(newPruneHeight, MAX_U32), 0);
    ops.push({ type: 'put', key: PRUNE_HEIGHT_KEY, value: ph });
    try {
      // Always synced: a file must never be unlinked while a durable index entry points into it.
      await this.db.batch(ops, { sync: true });
    } catch (err) {
      this.failed = err;
      throw err;
    }
    for (const hex of dead) this.index.delete(hex);
    for (const n of victims) this.infos.set(n, { ...emptyInfo(), pruned: true });
    this.prunedHeight = newPruneHeight;
    for (const n of victims) {
      this.dropReader(n);
      await unlink(join(this.blocksDir, blockFileName(n))).catch((e: unknown) => {
        if (errCode(e) !== 'ENOENT') throw e;
      });
    }
    if (this.sync) await syncDir(this.blocksDir);
    return { files: victims, blocks: dead.length, bytes };
  }
}

export interface VerifyReport {
  /** Blocks read back. */
  readonly blocks: number;
  /** Their total size. */
  readonly bytes: number;
  /** sha256 over the sorted list of indexed hashes (hex, internal byte order, joined by newlines). */
  readonly checksum: string;
  /** Blocks (display hex) that failed the check, could not be read, or are damaged. */
  readonly bad: string[];
}

/** The default check: the block's header hashes to the hash it is stored under. */
export function headerHashMatches(hash: Uint8Array, bytes: Buffer): boolean {
  return bytes.length >= 80 && sha256d(bytes.subarray(0, 80)).equals(hash);
}

/** Reads back every indexed block and checks it (for "no stored block lost" in fault tests). */
export async function verifyStore(store: BlockStore, check: (hash: Buffer, bytes: Buffer) => boolean = headerHashMatches): Promise<VerifyReport> {
  const hashes = store.hashes();
  const present: string[] = [];
  const bad: string[] = [];
  let bytes = 0;
  for (const h of hashes) {
    let data: Buffer | null;
    try {
      data = await store.get(h);
    } catch {
      present.push(h.toString('hex'));
      bad.push(toDisplayHex(h));
      continue;
    }
    if (data === null) {
      if (!store.has(h)) continue; // pruned meanwhile
      present.push(h.toString('hex'));
      bad.push(toDisplayHex(h));
      continue;
    }
    present.push(h.toString('hex'));
    bytes += data.length;
    if (!check(h, data)) bad.push(toDisplayHex(h));
  }
  return { blocks: present.length, bytes, checksum: indexChecksum(present), bad };
}

/** sha256 over the sorted hashes (hex, internal byte order) joined by newlines: the store's checksum. */
export function indexChecksum(hexHashes: string[]): string {
  hexHashes.sort();
  return sha256(Buffer.from(hexHashes.join('\n'))).toString('hex');
}
