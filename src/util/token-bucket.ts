/**
 * A token bucket over an explicit clock: `rate` tokens per second, holding at most `burst`.
 * Pure arithmetic on (state, now) so it is tested without timers. A rate of 0 means unlimited.
 */
export interface TokenBucket {
  /** Tokens per second; 0 = unlimited. */
  rate: number;
  burst: number;
  tokens: number;
  /** Time of the last refill, ms. */
  at: number;
}

export function bucket(rate: number, burst: number, now: number, initial = burst): TokenBucket {
  return { rate, burst, tokens: initial, at: now };
}

export function refill(b: TokenBucket, now: number): void {
  if (now > b.at) {
    // A balance credited above the burst (see credit) is kept, not cut back, as Core does.
    if (b.tokens < b.burst) b.tokens = Math.min(b.burst, b.tokens + ((now - b.at) / 1000) * b.rate);
    b.at = now;
  }
}

/** Takes up to n tokens and returns how many were taken (all n when unlimited). */
export function take(b: TokenBucket, n: number, now: number): number {
  if (b.rate === 0) return n;
  refill(b, now);
  const got = Math.min(n, Math.floor(b.tokens));
  b.tokens -= got;
  return got;
}

/** Takes n tokens even if that makes the balance negative (bytes already received must be paid for). */
export function charge(b: TokenBucket, n: number, now: number): void {
  if (b.rate === 0) return;
  refill(b, now);
  b.tokens -= n;
}

/** Milliseconds until the balance reaches `need` tokens (0 if it already has them). */
export function waitFor(b: TokenBucket, need: number, now: number): number {
  if (b.rate === 0) return 0;
  refill(b, now);
  if (b.tokens >= need) return 0;
  return Math.ceil(((need - b.tokens) / b.rate) * 1000);
}

/** Adds tokens beyond the burst cap (Core credits +1000 addresses after sending getaddr). */
export function credit(b: TokenBucket, n: number): void {
  b.tokens += n;
}
