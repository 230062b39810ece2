/**
 * The block check in a worker thread (run by the pool in check-pool.ts): parse each block's
 * bytes, which sit in shared memory, and run {@link checkBlock} on them — the hashing of every
 * transaction (txid, wtxid), both merkle trees and Core's context-free rules. Pure: bytes in,
 * verdicts out.
 */
import { checkBlock, parseBlock, type BlockCheck } from '../wire/block.js';

export interface CheckItem {
  /** The memory holding the block (shared with the main thread, never written while checked). */
  readonly memory: SharedArrayBuffer;
  readonly offset: number;
  readonly length: number;
  readonly powLimit: bigint;
  readonly segwit: boolean;
}

/** A batch of blocks: one round trip to the worker for all that queued up meanwhile. */
export interface CheckTask {
  readonly items: readonly CheckItem[];
}

/** The verdict on each block, in order; null when it does not parse (the main thread decoded it, so that would be a bug: it checks it itself). */
export default function check(t: CheckTask): (BlockCheck | null)[] {
  return t.items.map((it) => {
    // Witness items but the coinbase's are read and not kept: a block of millions of empty items costs its bytes, not an object each.
    const parsed = parseBlock(Buffer.from(it.memory, it.offset, it.length), { witnessItems: 'coinbase' });
    return parsed.ok ? checkBlock(parsed.value, { powLimit: it.powLimit, segwit: it.segwit }) : null;
  });
}
