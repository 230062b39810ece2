/**
 * Block checks off the main thread: the block actor's `check-block` effect hands a block's bytes
 * to a pool of worker threads (piscina) running check-worker.ts, so that hashing and parsing big
 * blocks never holds up ping replies or other peers' messages.
 *
 * - The bytes are copied once, into shared memory (slabs of {@link SLAB_BYTES}; a block larger
 *   than a quarter slab gets its own): the worker reads them there without another copy, and
 *   the copy is also what gets stored (the decoded block is a view into a peer's receive
 *   buffer, which must not be kept).
 * - Batches: at most one task per thread is out at a time; blocks arriving meanwhile queue and
 *   go together in the next task (up to {@link MAX_BATCH_BLOCKS} / {@link MAX_BATCH_BYTES}), so
 *   the cost of a round trip to a worker (a thread wake-up each way) is paid once per batch,
 *   not once per block. An idle thread gets small blocks after at most {@link GATHER_MS}, or as
 *   soon as {@link GATHER_BYTES} wait, so that blocks trickling in one by one still travel together.
 * - One pool per process, started on first use with the thread count first asked for; its
 *   threads are unreferenced while idle, so they never keep a process alive.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { checkBlock, parseBlock, type Block, type BlockCheck, type CheckBlockOptions } from '../wire/block.js';
import type { CheckItem, CheckTask } from './check-worker.js';

export const SLAB_BYTES = 256 * 1024;
export const MAX_BATCH_BLOCKS = 256;
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;
export const GATHER_MS = 2;
export const GATHER_BYTES = 256 * 1024;

const DEFAULT_THREADS = Math.max(1, Math.min(4, availableParallelism() - 1));

/** Worker threads by default: one core is left to the main thread (at least one, at most four). */
export function defaultCheckThreads(): number {
  return DEFAULT_THREADS;
}

export interface Checked {
  readonly result: BlockCheck;
  /** The block's bytes, a copy owned by the caller (empty when the block failed). */
  readonly raw: Buffer;
}

let slab: SharedArrayBuffer | null = null;
let slabView: Buffer | null = null;
let slabUsed = 0;

/** A copy of `bytes` in shared memory. */
export function sharedCopy(bytes: Uint8Array): { memory: SharedArrayBuffer; offset: number; buf: Buffer } {
  const n = bytes.length;
  if (n > SLAB_BYTES / 4) {
    const memory = new SharedArrayBuffer(n);
    const buf = Buffer.from(memory);
    buf.set(bytes);
    return { memory, offset: 0, buf };
  }
  if (slab === null || slabView === null || slabUsed + n > SLAB_BYTES) {
    slab = new SharedArrayBuffer(SLAB_BYTES);
    slabView = Buffer.from(slab);
    slabUsed = 0;
  }
  const offset = slabUsed;
  slabView.set(bytes, offset);
  // 8-byte aligned starts: no two blocks share a word.
  slabUsed = (offset + n + 7) & ~7;
  return { memory: slab, offset, buf: slabView.subarray(offset, offset + n) };
}

interface Job {
  readonly opts: Required<CheckBlockOptions>;
  readonly item: CheckItem;
  readonly buf: Buffer;
  readonly resolve: (c: Checked) => void;
  readonly reject: (err: unknown) => void;
}

class Checker {
  private readonly pool: Piscina<CheckTask, (BlockCheck | null)[]>;
  private readonly queue: Job[] = [];
  private head = 0;
  private out = 0;
  /** Bytes of the jobs queued and not yet sent. */
  private queued = 0;
  private gather: NodeJS.Timeout | null = null;

  constructor(readonly threads: number) {
    this.pool = new Piscina<CheckTask, (BlockCheck | null)[]>({
      filename: new URL('./check-worker.js', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      // Threads stay up between blocks (idle ones are unreferenced, so the process can still exit).
      idleTimeout: 60_000,
    });
  }

  check(bytes: Buffer, opts: Required<CheckBlockOptions>): Promise<Checked> {
    const copy = sharedCopy(bytes);
    return new Promise<Checked>((resolve, reject) => {
      this.queue.push({ opts, buf: copy.buf, resolve, reject, item: { memory: copy.memory, offset: copy.offset, length: bytes.length, powLimit: opts.powLimit, segwit: opts.segwit } });
      this.queued += bytes.length;
      if (this.queued >= GATHER_BYTES) this.pump();
      else if (this.gather === null && this.out < this.threads) {
        this.gather = setTimeout(() => {
          this.gather = null;
          this.pump();
        }, GATHER_MS);
      }
    });
  }

  private pump(): void {
    if (this.gather !== null) {
      clearTimeout(this.gather);
      this.gather = null;
    }
    while (this.out < this.threads && this.head < this.queue.length) {
      const batch: Job[] = [];
      let bytes = 0;
      while (this.head < this.queue.length && batch.length < MAX_BATCH_BLOCKS && (batch.length === 0 || bytes + this.queue[this.head].item.length <= MAX_BATCH_BYTES)) {
        const j = this.queue[this.head++];
        batch.push(j);
        bytes += j.item.length;
        this.queued -= j.item.length;
      }
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      }
      this.out++;
      this.pool.run({ items: batch.map((j) => j.item) }).then(
        (results) => this.settle(batch, results),
        () => this.settle(batch, []),
      );
    }
  }

  private settle(batch: readonly Job[], results: readonly (BlockCheck | null)[]): void {
    this.out--;
    for (let i = 0; i < batch.length; i++) {
      const j = batch[i];
      try {
        // No verdict from the worker (it failed, which it never should): check it here.
        const result = results[i] ?? checkBytes(j.buf, j.opts);
        j.resolve({ result, raw: result.ok ? j.buf : Buffer.alloc(0) });
      } catch (err) {
        j.reject(err);
      }
    }
    this.pump();
  }
}

let checker: Checker | null = null;

/**
 * Checks a decoded block (it must carry `raw`, its bytes) in a worker thread; `threads` 0 checks
 * it here, synchronously.
 */
export function checkInPool(block: Block, opts: Required<CheckBlockOptions>, threads: number): Promise<Checked> {
  const bytes = block.raw;
  if (threads <= 0 || bytes === undefined) return Promise.resolve(checkHere(block, opts));
  checker ??= new Checker(threads);
  return checker.check(bytes, opts);
}

/** Parses and checks a block's bytes here (they were decoded once already, so they parse). */
function checkBytes(bytes: Buffer, opts: Required<CheckBlockOptions>): BlockCheck {
  const parsed = parseBlock(bytes, { witnessItems: 'coinbase' });
  if (!parsed.ok) throw new Error(`a block that decoded does not parse: ${parsed.error.message}`);
  return checkBlock(parsed.value, opts);
}

/** The same check on this thread. */
export function checkHere(block: Block, opts: Required<CheckBlockOptions>): Checked {
  // From the bytes, as the worker does (witness items but the coinbase's not kept), not from the
  // peer's lazily decoded transactions, which would make an object of every witness item here, on the main thread.
  const reparsed = block.raw ? parseBlock(block.raw, { witnessItems: 'coinbase' }) : null;
  const result = checkBlock(reparsed?.ok ? reparsed.value : block, opts);
  // A copy: the parsed block is a view into the peer's receive chunk.
  return { result, raw: result.ok && block.raw ? Buffer.from(block.raw) : Buffer.alloc(0) };
}
