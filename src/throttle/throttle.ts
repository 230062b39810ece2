/**
 * Bandwidth throttling: token buckets in bytes per second, for the whole node (one receive and
 * one send bucket shared by every peer) and for each peer (its own receive and send buckets).
 * Pure arithmetic over an explicit clock (see `util/token-bucket.ts`); the peer actor performs it.
 *
 * - Receive: bytes that arrived are always charged (they are here; nothing is dropped). When a
 *   charge leaves either bucket (the peer's or the node's) in debt, the peer pauses its socket
 *   (TCP backpressure) and resumes once both balances are back to zero: {@link recvWait}.
 * - Send: frames wait in the peer actor's queue and leave, possibly split, as tokens allow:
 *   {@link sendAllowance} bytes now, or {@link sendWait} ms until a useful amount can go.
 *
 * A rate of 0 means unlimited. The burst (the most a bucket holds after an idle spell) is
 * {@link burstFor}: max(rate × 100 ms, 64 KiB).
 */
import { performance } from 'node:perf_hooks';
import { bucket, charge, refill, waitFor, type TokenBucket } from '../util/token-bucket.js';

/** A bucket holds at most this many seconds of its rate... */
export const BURST_SECONDS = 0.1;
/** ...and never less than this many bytes (one socket read of Node's is up to 64 KiB). */
export const MIN_BURST = 64 * 1024;
/** A send wait aims to be able to write at least this much at once (or what is queued, if less). */
export const SEND_QUANTUM = 16 * 1024;

export function burstFor(rate: number): number {
  return rate <= 0 ? 0 : Math.max(Math.ceil(rate * BURST_SECONDS), MIN_BURST);
}

/** Throws a RangeError unless `rate` is a usable limit: a whole number of bytes/s, 0 = unlimited. */
export function checkRate(rate: number, what = 'rate'): number {
  if (!Number.isSafeInteger(rate) || rate < 0) throw new RangeError(`${what} must be a whole number of bytes per second ≥ 0 (0 = unlimited), got ${rate}`);
  return rate;
}

/** A bucket for `rate` bytes/s (0 = unlimited), starting full. */
export function rateBucket(rate: number, now: number): TokenBucket {
  return bucket(rate, burstFor(rate), now);
}

/**
 * Changes a bucket's rate in place, keeping its history: tokens earned at the old rate up to
 * `now` are kept (capped by the new burst), a debt stays a debt. A bucket that was unlimited
 * starts full.
 */
export function setRate(b: TokenBucket, rate: number, now: number): void {
  if (b.rate > 0) refill(b, now);
  const wasUnlimited = b.rate === 0;
  b.rate = rate;
  b.burst = burstFor(rate);
  b.tokens = wasUnlimited ? b.burst : Math.min(b.tokens, b.burst);
  b.at = now;
}

function available(b: TokenBucket, now: number): number {
  if (b.rate === 0) return Number.POSITIVE_INFINITY;
  refill(b, now);
  return b.tokens > 0 ? Math.floor(b.tokens) : 0;
}

/** Charges `n` received bytes to both buckets; true if either is now in debt (pause reading). */
export function recvCharge(peer: TokenBucket, net: TokenBucket, n: number, now: number): boolean {
  charge(peer, n, now);
  charge(net, n, now);
  return (peer.rate > 0 && peer.tokens < 0) || (net.rate > 0 && net.tokens < 0);
}

/** Ms until both receive balances are out of debt (0: resume reading now). */
export function recvWait(peer: TokenBucket, net: TokenBucket, now: number): number {
  return Math.max(waitFor(peer, 0, now), waitFor(net, 0, now));
}

/** Bytes that may be written now (Infinity when neither bucket limits). */
export function sendAllowance(peer: TokenBucket, net: TokenBucket, now: number): number {
  return Math.min(available(peer, now), available(net, now));
}

/** Takes `n` written bytes from both buckets. */
export function sendCharge(peer: TokenBucket, net: TokenBucket, n: number, now: number): void {
  charge(peer, n, now);
  charge(net, n, now);
}

/** Ms until a useful amount (`queued` bytes, at most one quantum, at most a burst) may be written. */
export function sendWait(peer: TokenBucket, net: TokenBucket, queued: number, now: number): number {
  const need = (b: TokenBucket): number => Math.min(queued, SEND_QUANTUM, b.burst);
  return Math.max(waitFor(peer, need(peer), now), waitFor(net, need(net), now));
}

/**
 * The node-wide throttle: one object owned by the node, handed to the connection manager and
 * by it to every peer actor (all on the one JS thread, each use is a synchronous step of one
 * actor's message). Only the connection manager changes the rates; peers charge the buckets and
 * add to the totals.
 */
export interface NetThrottle {
  readonly recv: TokenBucket;
  readonly send: TokenBucket;
  /** Per-peer limits given to peers when they connect (and to all of them by `setPeerLimit('all', …)`). */
  peerRecvRate: number;
  peerSendRate: number;
  /** Bytes received and sent by all peers since the node started (getnettotals). */
  totalRecv: number;
  totalSent: number;
  /** Monotonic ms: the clock of every throttle bucket. */
  readonly now: () => number;
}

export interface ThrottleLimits {
  /** Node-wide, bytes/s, 0 = unlimited. */
  readonly maxRecvRate?: number;
  readonly maxSendRate?: number;
  /** Per peer, bytes/s, 0 = unlimited. */
  readonly peerMaxRecvRate?: number;
  readonly peerMaxSendRate?: number;
}

export function netThrottle(limits: ThrottleLimits = {}, now: () => number = () => performance.now()): NetThrottle {
  const t = now();
  return {
    recv: rateBucket(checkRate(limits.maxRecvRate ?? 0, 'maxrecvrate'), t),
    send: rateBucket(checkRate(limits.maxSendRate ?? 0, 'maxsendrate'), t),
    peerRecvRate: checkRate(limits.peerMaxRecvRate ?? 0, 'peermaxrecvrate'),
    peerSendRate: checkRate(limits.peerMaxSendRate ?? 0, 'peermaxsendrate'),
    totalRecv: 0,
    totalSent: 0,
    now,
  };
}

/** getnettotals' view (Core's fields, plus the limits in force; bytes/s, 0 = unlimited). */
export interface NetTotals {
  readonly totalbytesrecv: number;
  readonly totalbytessent: number;
  readonly timemillis: number;
  readonly maxrecvrate: number;
  readonly maxsendrate: number;
  readonly peermaxrecvrate: number;
  readonly peermaxsendrate: number;
  /** The burst of each node-wide bucket, bytes (0 when unlimited). */
  readonly recvburst: number;
  readonly sendburst: number;
}

export function netTotals(t: NetThrottle): NetTotals {
  return {
    totalbytesrecv: t.totalRecv,
    totalbytessent: t.totalSent,
    timemillis: Date.now(),
    maxrecvrate: t.recv.rate,
    maxsendrate: t.send.rate,
    peermaxrecvrate: t.peerRecvRate,
    peermaxsendrate: t.peerSendRate,
    recvburst: t.recv.burst,
    sendburst: t.send.burst,
  };
}
