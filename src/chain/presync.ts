/**
 * Headers presync, after Bitcoin Core's HeadersSyncState (headers_sync.cpp), simplified.
 *
 * A peer could feed us a long chain of low-work headers to fill our memory. So, starting from
 * a header we have (`chainStart`), a peer's headers are first downloaded without storing them
 * (PRESYNC): each is checked as {@link HeaderTree.addHeaders} would (continuity, proof of work,
 * exact difficulty via getNextWorkRequired, median-time-past, future time, versions, BIP94),
 * keeping only a ring of the last max(retarget interval, 11) (height, time, bits) triples and,
 * every `commitPeriod`-th height, the header's hash (a commitment). Once the chain's work
 * reaches the minimum, the same headers are downloaded again from `chainStart` (REDOWNLOAD),
 * checked again the same way and against the commitments; they are buffered until their own
 * cumulative work reaches the minimum, then released in order through `toStore` (and every
 * later batch is released at once).
 *
 * Differences from Core, on purpose:
 * - Commitments are full 32-byte hashes at heights that are multiples of `commitPeriod`, not
 *   1-bit salted hashes at a secret offset. A hash commits to the whole chain below it, so a
 *   peer cannot redownload a different chain through a matching commitment, and the offset
 *   need not be secret. Mainnet: ~930 commitments × 32 bytes.
 * - Presync checks everything addHeaders checks (Core checks only the permitted difficulty
 *   transition there), so a presynced chain is not rejected later for its bits or times.
 * - The redownload buffer is capped at `bufferSize` headers (default 15,000, Core's is 14,441):
 *   when it is over the cap, the headers at or below the last verified commitment are released
 *   early: they are provably a prefix of the chain presync measured. The buffer therefore holds
 *   at most about max(bufferSize, commitPeriod) + one message of headers.
 * - Core bounds the number of commitments by how long a chain could be given the clock; here
 *   the median-time-past and future-time checks bound it the same way when `nowSeconds` is
 *   given (without it the future-time check is skipped, and the tree applies it on storing).
 *
 * Memory is O(commitments + ring + buffer), never O(chain): see {@link HeadersSyncState.retained}.
 */
import { type BlockHeader } from '../wire/block.js';
import { blockProof, checkProofOfWork, difficultyAdjustmentInterval, getNextWorkRequired, type PowHeader } from '../wire/pow.js';
import { type NetworkParams } from '../wire/network.js';
import { MEDIAN_TIME_SPAN, contextualCheck, type HeaderEntry, type HeaderTree } from './headers.js';
import type { Offence } from '../contracts/punishment.js';

export const DEFAULT_COMMIT_PERIOD = 1000;
export const DEFAULT_REDOWNLOAD_BUFFER = 15_000;

export type SyncPhase = 'presync' | 'redownload' | 'final';

export interface HeadersSyncOptions {
  /** Heights that are multiples of this get a commitment (default 1000). */
  readonly commitPeriod?: number;
  /** The current time in seconds, for the future-time check (skipped when absent). */
  readonly nowSeconds?: () => number;
  /** Redownloaded headers held before early release at verified commitments (default 15,000). */
  readonly bufferSize?: number;
}

export interface SyncResult {
  /** false → the peer sent something invalid or inconsistent: disconnect it */
  readonly success: boolean;
  /** ask the peer again with `locator` */
  readonly requestMore: boolean;
  /** for the next getheaders */
  readonly locator: Buffer[];
  /** headers now safe to add to the tree (in order) */
  readonly toStore: BlockHeader[];
  readonly reason?: string;
  /**
   * On failure, the punishment table's row: a bad proof of work or headers that do not chain within
   * one message are punished as Core's CheckHeadersPoW does; any other failure (a first header that
   * does not continue the sync, bits, times, a commitment mismatch) only ends the sync, as Core's
   * HeadersSyncState.
   */
  readonly offence?: Offence;
}

/** The row for a header presync refused (`first`: the message's first header). */
function presyncOffence(why: string, first: boolean): Offence {
  if (why === 'high-hash') return 'header-bad-pow';
  if (why === 'headers-not-continuous' && !first) return 'headers-not-continuous';
  return 'presync-failed';
}

/**
 * The tip of a chain being checked without storing it: its hash, height and work, and a ring of
 * the last (time, bits) by height for median-time-past and the retarget rules.
 */
class ChainCursor {
  readonly size: number;
  private readonly times: Float64Array;
  private readonly bits: Uint32Array;
  /** Lowest height held in the ring. */
  private low: number;
  hash: Buffer;
  height: number;
  work: bigint;

  constructor(
    private readonly params: NetworkParams,
    start: HeaderEntry,
  ) {
    this.size = Math.max(difficultyAdjustmentInterval(params), MEDIAN_TIME_SPAN);
    this.times = new Float64Array(this.size);
    this.bits = new Uint32Array(this.size);
    this.hash = start.hash;
    this.height = start.height;
    this.work = start.chainWork;
    let e: HeaderEntry | null = start;
    let n = 0;
    for (; e !== null && n < this.size; e = e.parent, n++) {
      this.times[e.height % this.size] = e.time;
      this.bits[e.height % this.size] = e.bits;
    }
    this.low = start.height - n + 1;
  }

  /** Heights currently held. */
  get held(): number {
    return this.height - this.low + 1;
  }

  private at(height: number): PowHeader | undefined {
    if (height < this.low || height > this.height) return undefined;
    const i = height % this.size;
    return { height, time: this.times[i], bits: this.bits[i] };
  }

  private medianTimePast(): number {
    const n = Math.min(MEDIAN_TIME_SPAN, this.held);
    const t: number[] = [];
    for (let h = this.height; h > this.height - n; h--) t.push(this.times[h % this.size]);
    t.sort((a, b) => a - b);
    return t[t.length >> 1];
  }

  /** The reason `h` cannot extend this chain, or null. */
  check(h: BlockHeader, nowSeconds: number | undefined): string | null {
    if (!h.prevBlock.equals(this.hash)) return 'headers-not-continuous';
    if (!checkProofOfWork(h.hash, h.bits, this.params.powLimit)) return 'high-hash';
    const tip = this.at(this.height)!;
    const expected = getNextWorkRequired(tip, h.time, this.params, (x) => this.at(x));
    const fail = contextualCheck(this.params, h, this.height + 1, tip.time, this.medianTimePast(), expected, nowSeconds);
    return fail ? fail.reason : null;
  }

  accept(h: BlockHeader): void {
    this.height++;
    const i = this.height % this.size;
    this.times[i] = h.time;
    this.bits[i] = h.bits;
    if (this.height - this.low + 1 > this.size) this.low = this.height - this.size + 1;
    this.hash = h.hash;
    this.work += blockProof(h.bits);
  }
}

export class HeadersSyncState {
  private _phase: SyncPhase;
  private readonly commitPeriod: number;
  private readonly bufferSize: number;
  private readonly now: (() => number) | undefined;
  private readonly commitments = new Map<number, Buffer>();
  private presync: ChainCursor | null;
  private redownload: ChainCursor | null;
  private buffer: BlockHeader[] = [];
  /** Height of the last commitment the redownload matched (headers up to it are proven). */
  private verifiedHeight: number;
  /** Redownload work reached the minimum: everything now flows straight to toStore. */
  private processAll: boolean;
  private readonly startLocator: Buffer[];
  private lastProgress: { height: number; chainWork: bigint };

  constructor(
    private readonly tree: HeaderTree,
    private readonly chainStart: HeaderEntry,
    private readonly minimumChainWork: bigint,
    opts: HeadersSyncOptions = {},
  ) {
    this.commitPeriod = Math.max(1, Math.floor(opts.commitPeriod ?? DEFAULT_COMMIT_PERIOD));
    this.bufferSize = Math.max(1, Math.floor(opts.bufferSize ?? DEFAULT_REDOWNLOAD_BUFFER));
    this.now = opts.nowSeconds;
    this.startLocator = tree.locator(chainStart);
    this.verifiedHeight = chainStart.height;
    this.lastProgress = { height: chainStart.height, chainWork: chainStart.chainWork };
    if (chainStart.chainWork >= minimumChainWork) {
      // Enough work already: nothing to prove, headers pass straight through (checked).
      this._phase = 'redownload';
      this.processAll = true;
      this.presync = null;
      this.redownload = new ChainCursor(tree.params, chainStart);
    } else {
      this._phase = 'presync';
      this.processAll = false;
      this.presync = new ChainCursor(tree.params, chainStart);
      this.redownload = null;
    }
  }

  get phase(): SyncPhase {
    return this._phase;
  }

  /** feed one `headers` message' headers; fullMessage = it held 2000 */
  process(headers: readonly BlockHeader[], fullMessage: boolean): SyncResult {
    if (this._phase === 'final') return this.fail('headers sync already finished');
    if (this._phase === 'presync') return this.processPresync(headers, fullMessage);
    return this.processRedownload(headers, fullMessage);
  }

  /** progress for logs: presync height / work */
  progress(): { phase: string; height: number; chainWork: bigint } {
    const c = this.presync ?? this.redownload;
    if (c) this.lastProgress = { height: c.height, chainWork: c.work };
    return { phase: this._phase, ...this.lastProgress };
  }

  /** Items held: ring slots in use + commitments + buffered headers (what memory is proportional to). */
  retained(): number {
    return (this.presync?.held ?? 0) + (this.redownload?.held ?? 0) + this.commitments.size + this.buffer.length;
  }

  private nowSeconds(): number | undefined {
    return this.now ? this.now() : undefined;
  }

  private processPresync(headers: readonly BlockHeader[], fullMessage: boolean): SyncResult {
    const c = this.presync!;
    const now = this.nowSeconds();
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i];
      const why = c.check(h, now);
      if (why) return this.fail(`presync height ${c.height + 1}: ${why}`, presyncOffence(why, i === 0));
      c.accept(h);
      if (c.height % this.commitPeriod === 0) this.commitments.set(c.height, h.hash);
    }
    if (c.work >= this.minimumChainWork) {
      // The peer's chain has enough work: fetch it again from the start, this time to keep.
      this.progress();
      this._phase = 'redownload';
      this.presync = null;
      this.redownload = new ChainCursor(this.tree.params, this.chainStart);
      return { success: true, requestMore: true, locator: this.startLocator.slice(), toStore: [] };
    }
    if (fullMessage) return { success: true, requestMore: true, locator: [c.hash, ...this.startLocator], toStore: [] };
    // The peer's chain ended below the minimum work: nothing to store from it.
    this.finish();
    return { success: true, requestMore: false, locator: [], toStore: [], reason: `chain ends at height ${c.height} with too little work` };
  }

  private processRedownload(headers: readonly BlockHeader[], fullMessage: boolean): SyncResult {
    const c = this.redownload!;
    const now = this.nowSeconds();
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i];
      const why = c.check(h, now);
      if (why) return this.fail(`redownload height ${c.height + 1}: ${why}`, presyncOffence(why, i === 0));
      c.accept(h);
      if (!this.processAll) {
        if (c.work >= this.minimumChainWork) this.processAll = true;
        else if (c.height % this.commitPeriod === 0) {
          const want = this.commitments.get(c.height);
          if (!want) return this.fail(`redownload height ${c.height}: commitment overrun (beyond the presynced chain)`);
          if (!want.equals(h.hash)) return this.fail(`redownload height ${c.height}: header does not match the presync commitment`);
          this.verifiedHeight = c.height;
        }
      }
      this.buffer.push(h);
    }
    let toStore: BlockHeader[] = [];
    if (this.processAll) {
      toStore = this.buffer;
      this.buffer = [];
      this.commitments.clear();
    } else if (this.buffer.length > this.bufferSize) {
      // Release the prefix proven by a matched commitment (heights ≤ verifiedHeight).
      const firstHeight = c.height - this.buffer.length + 1;
      const n = Math.max(0, this.verifiedHeight - firstHeight + 1);
      toStore = this.buffer.slice(0, n);
      this.buffer = this.buffer.slice(n);
    }
    if (fullMessage) return { success: true, requestMore: true, locator: [c.hash, ...this.startLocator], toStore };
    const reason = this.processAll ? undefined : `peer stopped redownload at height ${c.height} before the minimum work`;
    this.finish();
    return reason === undefined ? { success: true, requestMore: false, locator: [], toStore } : { success: true, requestMore: false, locator: [], toStore, reason };
  }

  private fail(reason: string, offence: Offence = 'presync-failed'): SyncResult {
    this.finish();
    return { success: false, requestMore: false, locator: [], toStore: [], reason, offence };
  }

  private finish(): void {
    this.progress();
    this._phase = 'final';
    this.presync = null;
    this.redownload = null;
    this.buffer = [];
    this.commitments.clear();
  }
}
