/**
 * The header tree of the block actor (Core's block index, headers only): every header we
 * accepted, linked to its parent, with height, cumulative chain work and Core's skip pointer
 * for O(log n) ancestor lookup; the checks Core applies to a header before it enters the index
 * (CheckBlockHeader + ContextualCheckBlockHeader, plus net_processing's batch checks); the
 * block locator; and {@link ActiveChain} (Core's CChain). Pure: no I/O, no clock — the current
 * time comes in as an argument.
 *
 * Memory layout (mainnet has ~930,000 headers, so an entry must stay small). An entry is one
 * object of 12 plain fields (no closures, no Buffer of its own): time, bits, height, chainWork,
 * parent, skip, invalid, haveData, seq, firstChild, and its slab and cell number. The cell is a 72-byte slot in a slab (a Buffer of
 * {@link SLAB_CELLS} cells) holding the hash (32), the merkle root (32), version and nonce (4 + 4).
 * `hash`, `version`, `nonce` and `header` are getters reading the cell: `hash` returns a fresh
 * 32-byte view each time (compare with `.equals()`, never `===`), `header` builds a
 * {@link BlockHeader} whose prevBlock is the parent's hash. An entry is itself a
 * {@link PowHeader} (height, time, bits), so the retarget rules read it without copying.
 * The hash index is an open-addressing table of cell numbers in an Int32Array (load ≤ ½,
 * keyed by 32 bits of the hash, compared against the slab) plus one array of entries by cell:
 * about 16 bytes an entry instead of a Map entry and a hex string. Children are `firstChild` on
 * the entry plus a side map for the few entries with more than one child. The cell number is
 * also the entry's `id` (insertion order). Measured by the bytes-per-entry test in
 * test/chain/headers.test.ts: about 235 bytes an entry (240 with main-sized chain work), so
 * ~225 MB for mainnet's ~930,000 headers.
 */
import { inspect } from 'node:util';
import { type BlockHeader } from '../wire/block.js';
import { toDisplayHex } from '../wire/hash.js';
import { type NetworkParams } from '../wire/network.js';
import { blockProof, checkProofOfWork, difficultyAdjustmentInterval, getNextWorkRequired, targetToCompact, type AncestorLookup, type PowHeader } from '../wire/pow.js';

/** Core's MAX_FUTURE_BLOCK_TIME: a header may be at most two hours ahead of our clock. */
export const MAX_FUTURE_BLOCK_TIME = 2 * 60 * 60;
/** BIP94's MAX_TIMEWARP: the first block of a period may be at most this much older than its parent. */
export const MAX_TIMEWARP = 600;
/** Core's MEDIAN_TIME_SPAN: median-time-past looks at this many blocks. */
export const MEDIAN_TIME_SPAN = 11;
/** Hashes of headers that failed a permanent check, remembered for 'duplicate-invalid' (oldest forgotten first). */
export const MAX_REMEMBERED_INVALID = 100_000;
/** Cells (of 72 bytes: hash, merkle root, version, nonce) per slab allocation. */
export const SLAB_CELLS = 8192;
const CELL = 72;

export type HeaderStatus = 'valid-header' | 'invalid'; // 'invalid' = failed itself or descends from an invalid one

export interface HeaderEntry extends PowHeader {
  /** 32 bytes, internal byte order: a fresh view into a shared slab on each access (do not write to it; compare with .equals). */
  readonly hash: Buffer;
  /** Built on each access from the entry's fields (see the module note); prevBlock is the parent's hash. */
  readonly header: BlockHeader;
  /** Writes the 80 serialised header bytes at `at` (no allocation). */
  writeHeader(to: Buffer, at: number): void;
  readonly version: number;
  readonly time: number;
  readonly bits: number;
  readonly nonce: number;
  readonly height: number;
  /** Sum of blockProof from genesis, inclusive. */
  readonly chainWork: bigint;
  readonly parent: HeaderEntry | null;
  /** Core's pskip, for O(log n) ancestor lookup. */
  readonly skip: HeaderEntry | null;
  /** Order of insertion into the tree (genesis 0): "first seen" for ties. */
  readonly id: number;
  invalid: boolean;
  /** set by the block actor: block data stored (true for genesis, whose block is in the params) */
  haveData: boolean;
  /** sequence number of when data arrived (Core's nSequenceId), for tie-breaks; set by caller (0 initially) */
  seq: number;
}

export interface HeaderReject {
  /** Core's reject reason: 'high-hash' | 'bad-diffbits' | 'time-too-old' | 'time-too-new' | 'time-timewarp-attack' | 'bad-version(0x...)' | 'prev-blk-not-found' | 'bad-prevblk' (parent invalid) | 'duplicate-invalid' | 'too-little-chainwork' | 'headers-not-continuous' */
  readonly reason: string;
  /** index in the batch of the offending header */
  readonly index: number;
  /** true when the sender should be punished (Core: discouraged); false for e.g. unconnecting headers */
  readonly punish: boolean;
  readonly message: string;
}

export interface AddResult {
  /** entries newly added (in batch order); already-known valid headers are not repeated here */
  readonly added: HeaderEntry[];
  /** the entry of the last header of the batch that is now in the tree (known or added), if any */
  readonly last: HeaderEntry | undefined;
  readonly error?: HeaderReject;
}

export interface AddOptions {
  /**
   * Core's anti-DoS work threshold (min_pow_checked): when given, the batch is refused whole
   * ('too-little-chainwork', not punished) unless the chain work at its last header, claimed
   * from the bits, reaches it. Headers that come out of presync need no threshold.
   */
  readonly minimumChainWork?: bigint;
}

/** A context failure: the rule, Core's reason and message, and whether it is permanent. */
export interface ContextFailure {
  readonly reason: string;
  readonly message: string;
  readonly punish: boolean;
  /** Whether the header can never become valid (remember its hash); false for time-too-new. */
  readonly permanent: boolean;
}

/**
 * Core's ContextualCheckBlockHeader, in Core's order: bits must equal `expectedBits`, time
 * above the parent's median-time-past, BIP94's timewarp rule, at most two hours in the future
 * (skipped when `nowSeconds` is undefined), and the BIP34/66/65 minimum versions.
 */
export function contextualCheck(
  params: NetworkParams,
  header: Pick<BlockHeader, 'version' | 'time' | 'bits'>,
  height: number,
  parentTime: number,
  parentMedianTime: number,
  expectedBits: number,
  nowSeconds: number | undefined,
): ContextFailure | null {
  if (header.bits >>> 0 !== expectedBits >>> 0) {
    return { reason: 'bad-diffbits', message: `incorrect proof of work: bits ${hex8(header.bits)}, expected ${hex8(expectedBits)}`, punish: true, permanent: true };
  }
  if (header.time <= parentMedianTime) {
    return { reason: 'time-too-old', message: `block's timestamp is too early: ${header.time} ≤ median-time-past ${parentMedianTime}`, punish: true, permanent: true };
  }
  if (params.enforceBIP94 && height % difficultyAdjustmentInterval(params) === 0 && header.time < parentTime - MAX_TIMEWARP) {
    return { reason: 'time-timewarp-attack', message: `block's timestamp is too early on diff adjustment block: ${header.time} < ${parentTime} - ${MAX_TIMEWARP}`, punish: true, permanent: true };
  }
  if (nowSeconds !== undefined && header.time > nowSeconds + MAX_FUTURE_BLOCK_TIME) {
    return { reason: 'time-too-new', message: `block timestamp too far in the future: ${header.time} > ${nowSeconds} + ${MAX_FUTURE_BLOCK_TIME}`, punish: false, permanent: false };
  }
  if ((header.version < 2 && height >= params.bip34Height) || (header.version < 3 && height >= params.bip66Height) || (header.version < 4 && height >= params.bip65Height)) {
    const v = hex8(header.version);
    return { reason: `bad-version(0x${v})`, message: `rejected nVersion=0x${v} block at height ${height}`, punish: true, permanent: true };
  }
  return null;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** Core's GetSkipHeight: the height an entry's skip pointer targets. */
export function skipHeight(height: number): number {
  if (height < 2) return 0;
  // Clearing the lowest set bit (twice for odd heights) gives a spread of jump lengths.
  const clearLowest = (n: number): number => n & (n - 1);
  return height & 1 ? clearLowest(clearLowest(height - 1)) + 1 : clearLowest(height);
}

/** Median of up to {@link MEDIAN_TIME_SPAN} timestamps ending at `e` (Core's GetMedianTimePast). */
function medianTime(e: HeaderEntry): number {
  const times: number[] = [];
  for (let p: HeaderEntry | null = e; p && times.length < MEDIAN_TIME_SPAN; p = p.parent) times.push(p.time);
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const ZERO_HASH = Buffer.alloc(32);

function read32(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24);
}

class Entry implements HeaderEntry {
  invalid: boolean;
  haveData = false;
  seq = 0;
  /** The first child (more in HeaderTree's side map). */
  firstChild: Entry | null = null;

  constructor(
    /** The slab holding this entry's cell. */
    readonly slab: Buffer,
    /** The cell number: index in the tree's entry list, and the id. */
    readonly cell: number,
    readonly time: number,
    readonly bits: number,
    readonly height: number,
    readonly chainWork: bigint,
    readonly parent: Entry | null,
    readonly skip: Entry | null,
  ) {
    this.invalid = parent !== null && parent.invalid;
  }

  /** Byte offset of the cell in its slab. */
  get offset(): number {
    return (this.cell % SLAB_CELLS) * CELL;
  }

  get id(): number {
    return this.cell;
  }

  get hash(): Buffer {
    return this.slab.subarray(this.offset, this.offset + 32);
  }

  get version(): number {
    return this.slab.readInt32LE(this.offset + 64);
  }

  get nonce(): number {
    return this.slab.readUInt32LE(this.offset + 68);
  }

  get header(): BlockHeader {
    const at = this.offset;
    return {
      version: this.slab.readInt32LE(at + 64),
      prevBlock: this.parent ? this.parent.hash : ZERO_HASH,
      merkleRoot: this.slab.subarray(at + 32, at + 64),
      time: this.time,
      bits: this.bits,
      nonce: this.slab.readUInt32LE(at + 68),
      hash: this.slab.subarray(at, at + 32),
    };
  }

  writeHeader(to: Buffer, at: number): void {
    const o = this.offset;
    this.slab.copy(to, at, o + 64, o + 68); // version
    if (this.parent) this.parent.slab.copy(to, at + 4, this.parent.offset, this.parent.offset + 32);
    else to.fill(0, at + 4, at + 36);
    this.slab.copy(to, at + 36, o + 32, o + 64); // merkle root
    to.writeUInt32LE(this.time >>> 0, at + 68);
    to.writeUInt32LE(this.bits >>> 0, at + 72);
    this.slab.copy(to, at + 76, o + 68, o + 72); // nonce
  }

  /** A flat summary (an entry links to the whole chain through `parent`: never serialise it whole). */
  toJSON(): { hash: string; height: number; chainWork: string; invalid: boolean; haveData: boolean } {
    return { hash: toDisplayHex(this.hash), height: this.height, chainWork: this.chainWork.toString(), invalid: this.invalid, haveData: this.haveData };
  }

  [inspect.custom](): string {
    return `HeaderEntry(${this.height} ${toDisplayHex(this.hash)}${this.invalid ? ' invalid' : ''})`;
  }

  /** Whether this entry's hash is `hash` (no allocation). */
  is(hash: Uint8Array): boolean {
    const at = this.offset;
    return this.slab.compare(hash, 0, 32, at, at + 32) === 0;
  }
}

export class HeaderTree {
  readonly genesis: HeaderEntry;
  /** Entries by cell number (= id). */
  private readonly all: Entry[] = [];
  /** Open addressing: cell + 1 per slot, 0 = empty; slot = 32 bits of the hash & mask, linear probing. */
  private table = new Int32Array(1 << 10);
  private readonly moreChildren = new Map<Entry, Entry[]>();
  private readonly leaves = new Set<Entry>();
  /** Hashes (latin1 strings) of headers refused for a permanent reason, in insertion order. */
  private readonly failed = new Set<string>();
  private bestEntry: Entry;
  private slab: Buffer = Buffer.alloc(0);
  /** blockProof of the last bits seen (consecutive headers nearly always share bits). */
  private proofBits = -1;
  private proof = 0n;
  private readonly interval: number;
  private readonly limitBits: number;
  /** lastRealBits(walkFrom) = walkBits. */
  private walkFrom: Entry | null = null;
  private walkBits = 0;

  constructor(readonly params: NetworkParams) {
    this.interval = difficultyAdjustmentInterval(params);
    this.limitBits = targetToCompact(params.powLimit);
    const g = params.genesis.header;
    const e = this.insert(null, g);
    e.haveData = true;
    this.genesis = e;
    this.bestEntry = e;
  }

  get size(): number {
    return this.all.length;
  }

  get(hash: Uint8Array): HeaderEntry | undefined {
    if (hash.length !== 32) return undefined;
    const t = this.table;
    const mask = t.length - 1;
    for (let i = read32(hash, 0) & mask; ; i = (i + 1) & mask) {
      const c = t[i];
      if (c === 0) return undefined;
      const e = this.all[c - 1];
      if (e.is(hash)) return e;
    }
  }

  /** Whether a header with this hash was refused for a permanent reason (and not added). */
  isKnownInvalid(hash: Uint8Array): boolean {
    return this.get(hash)?.invalid === true || this.failed.has(Buffer.from(hash).toString('latin1'));
  }

  status(e: HeaderEntry): HeaderStatus {
    return e.invalid ? 'invalid' : 'valid-header';
  }

  /** most-work valid header (ties: the first seen keeps it) */
  best(): HeaderEntry {
    return this.bestEntry;
  }

  /** Every entry, in insertion order (parents before children). */
  entries(): IterableIterator<HeaderEntry> {
    return this.all.values();
  }

  /** Core's GetNextWorkRequired for a child of `parent` with timestamp `time`. */
  nextWorkRequired(parent: HeaderEntry, time: number): number {
    const p = this.params;
    // Testnet/regtest between retargets: Core walks back over min-difficulty blocks to the last
    // "real" bits (up to a whole period, ~1,000 steps a header on regtest, whose every block is at
    // the limit); the walk's answer for an entry never changes, so it is remembered.
    if (p.allowMinDifficultyBlocks && (parent.height + 1) % this.interval !== 0 && time <= parent.time + p.powTargetSpacing * 2) {
      return this.lastRealBits(parent as Entry);
    }
    return getNextWorkRequired(parent, time, p, this.lookupFrom(parent));
  }

  /**
   * The bits the walk of Core's GetNextWorkRequired ends on from `e`: back over blocks at the
   * limit, stopping at a period start or the genesis. The answer for the last entry asked about is
   * kept, so consecutive headers cost one step each.
   */
  private lastRealBits(e: Entry): number {
    const limitBits = this.limitBits;
    const stops = (x: Entry): boolean => x.height === 0 || x.height % this.interval === 0 || x.bits !== limitBits;
    let h = e;
    let bits: number | null = null;
    while (bits === null) {
      if (stops(h)) bits = h.bits;
      else if (h === this.walkFrom) bits = this.walkBits;
      else h = h.parent!;
    }
    this.walkFrom = e;
    this.walkBits = bits;
    return bits;
  }

  medianTimePast(e: HeaderEntry): number {
    return medianTime(e);
  }

  /**
   * Checks and adds a batch of headers (one `headers` message), as Core's net_processing and
   * AcceptBlockHeader do. First the whole batch: every header's proof of work ('high-hash'),
   * continuity ('headers-not-continuous'), the first's parent known ('prev-blk-not-found', not
   * punished: the caller asks for the gap), and the optional anti-DoS work threshold; a failure
   * there adds nothing. Then header by header: a known valid one is skipped, a known invalid
   * one is 'duplicate-invalid', a child of an invalid one 'bad-prevblk', then
   * {@link contextualCheck}. It stops at the first bad header; the ones before it stay added.
   * `header.hash` is trusted to be the hash of the fields (decodeHeader/makeHeader compute it).
   */
  addHeaders(headers: readonly BlockHeader[], nowSeconds: number, opts: AddOptions = {}): AddResult {
    const added: HeaderEntry[] = [];
    if (headers.length === 0) return { added, last: undefined };
    const reject = (index: number, reason: string, punish: boolean, message: string, last?: HeaderEntry): AddResult => ({
      added,
      last,
      error: { reason, index, punish, message },
    });
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i];
      if (!checkProofOfWork(h.hash, h.bits, this.params.powLimit)) return reject(i, 'high-hash', true, 'proof of work failed');
      if (i > 0 && !h.prevBlock.equals(headers[i - 1].hash)) return reject(i, 'headers-not-continuous', true, 'non-continuous headers sequence');
    }
    let parent = this.get(headers[0].prevBlock) as Entry | undefined;
    if (!parent) return reject(0, 'prev-blk-not-found', false, 'previous header not found (unconnecting headers)');
    if (opts.minimumChainWork !== undefined) {
      let work = parent.chainWork;
      for (const h of headers) work += blockProof(h.bits);
      if (work < opts.minimumChainWork) return reject(0, 'too-little-chainwork', false, `headers chain work ${work} below the threshold ${opts.minimumChainWork}`);
    }
    let last: Entry | undefined;
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i];
      const known = this.get(h.hash) as Entry | undefined;
      if (known) {
        if (known.invalid) return reject(i, 'duplicate-invalid', true, 'header is known to be invalid', last);
        parent = last = known;
        continue;
      }
      if (this.failed.size > 0 && this.failed.has(h.hash.toString('latin1'))) return reject(i, 'duplicate-invalid', true, 'header is known to be invalid', last);
      if (parent.invalid) {
        this.remember(h.hash.toString('latin1'));
        return reject(i, 'bad-prevblk', true, 'previous header is invalid', last);
      }
      const fail = contextualCheck(this.params, h, parent.height + 1, parent.time, medianTime(parent), this.nextWorkRequired(parent, h.time), nowSeconds);
      if (fail) {
        if (fail.permanent) this.remember(h.hash.toString('latin1'));
        return reject(i, fail.reason, fail.punish, fail.message, last);
      }
      const e = this.insert(parent, h);
      added.push(e);
      parent = last = e;
    }
    return { added, last };
  }

  /** adds a header without validation (reload from the node's own store at start); parent must be present */
  addTrusted(header: BlockHeader): HeaderEntry {
    const known = this.get(header.hash);
    if (known) return known;
    const parent = this.get(header.prevBlock) as Entry | undefined;
    if (!parent) throw new Error(`addTrusted: parent ${Buffer.from(header.prevBlock).reverse().toString('hex')} is not in the tree`);
    return this.insert(parent, header);
  }

  /** ancestor of `e` at `height` (≤ e.height) in O(log n) via skip pointers */
  ancestor(e: HeaderEntry, height: number): HeaderEntry {
    if (height > e.height || height < 0 || !Number.isInteger(height)) throw new RangeError(`no ancestor at height ${height} of an entry at height ${e.height}`);
    let walk = e;
    let at = e.height;
    while (at > height) {
      const sh = skipHeight(at);
      const shPrev = skipHeight(at - 1);
      // Take the skip unless stepping to the parent and taking its skip gets closer without overshooting.
      if (walk.skip !== null && (sh === height || (sh > height && !(shPrev < sh - 2 && shPrev >= height)))) {
        walk = walk.skip;
        at = sh;
      } else {
        walk = walk.parent!;
        at--;
      }
    }
    return walk;
  }

  /** last common ancestor */
  fork(a: HeaderEntry, b: HeaderEntry): HeaderEntry {
    if (a.height > b.height) a = this.ancestor(a, b.height);
    else if (b.height > a.height) b = this.ancestor(b, a.height);
    while (a !== b) {
      // Same height, so the skips target the same height: different skips mean the fork is below them.
      if (a.skip !== null && b.skip !== null && a.skip !== b.skip) {
        a = a.skip;
        b = b.skip;
      } else {
        if (!a.parent || !b.parent) throw new Error('fork: entries from different trees');
        a = a.parent;
        b = b.parent;
      }
    }
    return a;
  }

  /** Core's block locator from `e`: its hash, then back 1 at a time for 10, then doubling steps, always ending with genesis */
  locator(e: HeaderEntry): Buffer[] {
    const out: Buffer[] = [];
    let step = 1;
    let at: HeaderEntry = e;
    for (;;) {
      out.push(at.hash);
      if (at.height === 0) break;
      at = this.ancestor(at, Math.max(at.height - step, 0));
      if (out.length > 10) step *= 2;
    }
    return out;
  }

  /** marks e and all its descendants invalid (a bad block); recomputes best() */
  invalidate(e: HeaderEntry): void {
    if (e === this.genesis) throw new Error('cannot invalidate the genesis block');
    const stack: HeaderEntry[] = [e];
    while (stack.length > 0) {
      const x = stack.pop() as Entry;
      x.invalid = true;
      for (const c of this.children(x)) stack.push(c);
    }
    if (this.bestEntry.invalid) this.recomputeBest();
  }

  /** every leaf of the tree (entries without children), invalid ones included = Core's getchaintips candidates (the caller adds its active tip if it is not a leaf) */
  tips(): HeaderEntry[] {
    return [...this.leaves];
  }

  /** children of an entry (in insertion order) */
  children(e: HeaderEntry): readonly HeaderEntry[] {
    const x = e as Entry;
    if (x.firstChild === null) return [];
    const more = this.moreChildren.get(x);
    return more ? [x.firstChild, ...more] : [x.firstChild];
  }

  private recomputeBest(): void {
    let best = this.genesis as Entry;
    for (const leaf of this.leaves) {
      let c: Entry | null = leaf;
      while (c !== null && c.invalid) c = c.parent;
      if (c !== null && (c.chainWork > best.chainWork || (c.chainWork === best.chainWork && c.id < best.id))) best = c;
    }
    this.bestEntry = best;
  }

  private remember(key: string): void {
    if (this.failed.size >= MAX_REMEMBERED_INVALID) {
      const oldest = this.failed.values().next();
      if (!oldest.done) this.failed.delete(oldest.value);
    }
    this.failed.add(key);
  }

  /** An ancestor lookup for the retarget rules, walking back from `from` (cheap for consecutive heights). */
  private lookupFrom(from: HeaderEntry): AncestorLookup {
    let cur = from;
    return (height: number) => {
      if (height < 0 || height > from.height) return undefined;
      if (height === cur.height) return cur;
      if (height === cur.height - 1 && cur.parent) cur = cur.parent;
      else cur = this.ancestor(height <= cur.height ? cur : from, height);
      return cur;
    };
  }

  private insert(parent: Entry | null, h: BlockHeader): Entry {
    const cell = this.all.length;
    const at = (cell % SLAB_CELLS) * CELL;
    if (at === 0) this.slab = Buffer.alloc(SLAB_CELLS * CELL);
    const slab = this.slab;
    slab.set(h.hash, at);
    slab.set(h.merkleRoot, at + 32);
    slab.writeInt32LE(h.version | 0, at + 64);
    slab.writeUInt32LE(h.nonce >>> 0, at + 68);
    const height = parent ? parent.height + 1 : 0;
    if (h.bits !== this.proofBits) {
      this.proofBits = h.bits;
      this.proof = blockProof(h.bits);
    }
    const work = (parent ? parent.chainWork : 0n) + this.proof;
    const skip = parent ? (this.ancestor(parent, skipHeight(height)) as Entry) : null;
    const e = new Entry(slab, cell, h.time, h.bits, height, work, parent, skip);
    this.all.push(e);
    if (this.all.length * 2 > this.table.length) this.grow();
    else this.place(this.table, e);
    if (parent) {
      if (parent.firstChild === null) parent.firstChild = e;
      else {
        const more = this.moreChildren.get(parent);
        if (more) more.push(e);
        else this.moreChildren.set(parent, [e]);
      }
      this.leaves.delete(parent);
    }
    this.leaves.add(e);
    // bestEntry is unset only while the constructor inserts genesis.
    if (!e.invalid && this.bestEntry !== undefined && e.chainWork > this.bestEntry.chainWork) this.bestEntry = e;
    return e;
  }

  private place(t: Int32Array, e: Entry): void {
    const mask = t.length - 1;
    let i = read32(e.slab, e.offset) & mask;
    while (t[i] !== 0) i = (i + 1) & mask;
    t[i] = e.cell + 1;
  }

  private grow(): void {
    const t = new Int32Array(this.table.length * 2);
    for (const e of this.all) this.place(t, e);
    this.table = t;
  }
}

/** Core's CChain: the active chain as an array by height. */
export class ActiveChain {
  private readonly chain: HeaderEntry[];

  constructor(genesis: HeaderEntry) {
    this.chain = [genesis];
  }

  tip(): HeaderEntry {
    return this.chain[this.chain.length - 1];
  }

  height(): number {
    return this.chain.length - 1;
  }

  at(height: number): HeaderEntry | undefined {
    return height >= 0 ? this.chain[height] : undefined;
  }

  contains(e: HeaderEntry): boolean {
    return this.chain[e.height] === e;
  }

  next(e: HeaderEntry): HeaderEntry | undefined {
    return this.contains(e) ? this.chain[e.height + 1] : undefined;
  }

  /** sets the tip (rewinds to the fork, extends along the new branch) */
  setTip(e: HeaderEntry): void {
    this.chain.length = e.height + 1;
    let p: HeaderEntry | null = e;
    while (p !== null && this.chain[p.height] !== p) {
      this.chain[p.height] = p;
      p = p.parent;
    }
  }

  /** Core's FindForkInGlobalIndex(locator): the first locator hash on this chain → that entry (or the tip, if it is a descendant of our tip); genesis if none */
  findLocator(tree: HeaderTree, locator: readonly Uint8Array[]): HeaderEntry {
    const tip = this.tip();
    for (const hash of locator) {
      const e = tree.get(hash);
      if (!e) continue;
      if (this.contains(e)) return e;
      if (e.height > tip.height && tree.ancestor(e, tip.height) === tip) return tip;
    }
    return this.chain[0];
  }
}
