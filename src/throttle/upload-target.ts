/**
 * `--maxuploadtarget`: a daily budget for what the node sends, as Bitcoin Core keeps it
 * (net.cpp, `OutboundTargetReached`). Every byte sent counts (as in Core); the cycle is 24 h
 * from the first measurement and starts again when it has run out. When the budget is nearly
 * spent, "historical" blocks (more than a week older than our best header) are no longer served
 * to peers without the noban/download permission; new blocks keep flowing. Core keeps back a
 * buffer of one maximal block per 10 minutes left in the cycle, so that every new block can
 * still be relayed once: serving historical blocks stops when the bytes sent reach
 * target − buffer.
 *
 * Pure functions over a small mutable record owned by the node (so it outlives actor restarts).
 */
import { MAX_BLOCK_WEIGHT } from '../wire/block.js';

/** Core's MAX_UPLOAD_TIMEFRAME. */
export const UPLOAD_TIMEFRAME_S = 24 * 3600;
/** Core's MAX_BLOCK_SERIALIZED_SIZE (= the weight limit). */
export const MAX_BLOCK_SERIALIZED_SIZE = MAX_BLOCK_WEIGHT;
/** Core's HISTORICAL_BLOCK_AGE: blocks this much older than the best header are "historical". */
export const HISTORICAL_BLOCK_AGE_S = 7 * 24 * 3600;

export interface UploadTarget {
  /** Bytes per cycle; 0 = no target. */
  target: number;
  /** ms since the epoch when the current cycle started (0 = not started). */
  cycleStart: number;
  /** The node's total bytes sent when the cycle started. */
  sentAtCycleStart: number;
}

export function uploadTarget(targetBytes: number): UploadTarget {
  if (!Number.isSafeInteger(targetBytes) || targetBytes < 0) throw new RangeError(`upload target must be a whole number of bytes ≥ 0, got ${targetBytes}`);
  return { target: targetBytes, cycleStart: 0, sentAtCycleStart: 0 };
}

/** getnettotals' `uploadtarget` object (Core's fields). */
export interface UploadStatus {
  readonly timeframe: number;
  readonly target: number;
  readonly target_reached: boolean;
  readonly serve_historical_blocks: boolean;
  readonly bytes_left_in_cycle: number;
  readonly time_left_in_cycle: number;
}

/** Starts a new cycle when none is running or the current one is over. */
function roll(u: UploadTarget, totalSent: number, nowMs: number): void {
  if (u.cycleStart === 0 || nowMs - u.cycleStart >= UPLOAD_TIMEFRAME_S * 1000) {
    u.cycleStart = nowMs;
    u.sentAtCycleStart = totalSent;
  }
}

/** The state of the budget, given the node's total bytes sent so far. */
export function uploadStatus(u: UploadTarget, totalSent: number, nowMs: number): UploadStatus {
  if (u.target === 0) {
    return { timeframe: UPLOAD_TIMEFRAME_S, target: 0, target_reached: false, serve_historical_blocks: true, bytes_left_in_cycle: 0, time_left_in_cycle: 0 };
  }
  roll(u, totalSent, nowMs);
  const sent = Math.max(0, totalSent - u.sentAtCycleStart);
  const timeLeft = Math.max(0, Math.floor((u.cycleStart + UPLOAD_TIMEFRAME_S * 1000 - nowMs) / 1000));
  // One maximal block per 10 minutes left, kept back for new blocks.
  const buffer = Math.floor(timeLeft / 600) * MAX_BLOCK_SERIALIZED_SIZE;
  const historicalOff = buffer >= u.target || sent >= u.target - buffer;
  return {
    timeframe: UPLOAD_TIMEFRAME_S,
    target: u.target,
    target_reached: sent >= u.target,
    serve_historical_blocks: !historicalOff,
    bytes_left_in_cycle: Math.max(0, u.target - sent),
    time_left_in_cycle: timeLeft,
  };
}
