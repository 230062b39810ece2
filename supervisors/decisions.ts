/**
 * The supervisor's decisions as pure functions over plain data (unit-tested without nact):
 * whether to restart, the restart-intensity window, the backoff delay and the restart plan.
 */
import { isAbnormal, type ExitReason } from './exit.js';

export type RestartType = 'permanent' | 'transient' | 'temporary';
export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

/** permanent: always; transient: only after an abnormal exit; temporary: never. */
export function shouldRestart(restart: RestartType, reason: ExitReason): boolean {
  switch (restart) {
    case 'permanent':
      return true;
    case 'transient':
      return isAbnormal(reason);
    case 'temporary':
      return false;
  }
}

/**
 * Records a restart at `now` in the sliding window (timestamps in ms) and says whether the
 * supervisor has exceeded its intensity: more than `intensity` restarts within `periodMs`.
 */
export function recordRestart(
  window: readonly number[],
  now: number,
  intensity: number,
  periodMs: number,
): { window: number[]; exceeded: boolean } {
  const kept = window.filter((t) => now - t < periodMs);
  kept.push(now);
  return { window: kept, exceeded: kept.length > intensity };
}

export interface BackoffOptions {
  /** First delay, ms; 0 disables backoff (immediate restarts, as in OTP). */
  readonly minMs: number;
  readonly maxMs: number;
  /** Up to this fraction of jitter is added: 0.2 → +0…20 %. */
  readonly randomFactor: number;
  /** A child that ran at least this long before exiting is restarted from the first delay again. Default maxMs. */
  readonly resetAfterMs?: number;
}

export const NO_BACKOFF: BackoffOptions = { minMs: 0, maxMs: 0, randomFactor: 0 };

/** Akka's BackoffSupervisor formula: min(max, min·2^n)·(1 + rand·randomFactor); n ≥ 30 → max. */
export function backoffDelay(n: number, o: BackoffOptions, rand: number): number {
  if (o.minMs <= 0) return 0;
  const base = n >= 30 ? o.maxMs : Math.min(o.maxMs, o.minMs * 2 ** n);
  return base * (1 + rand * o.randomFactor);
}

/** The backoff exponent to use for the next restart: reset after a stable run, else one more. */
export function nextBackoffCount(previous: number, ranForMs: number, o: BackoffOptions): { use: number; next: number } {
  const reset = ranForMs >= (o.resetAfterMs ?? o.maxMs);
  const use = reset ? 0 : previous;
  return { use, next: use + 1 };
}

export interface PlanChild {
  readonly id: string;
  readonly restart: RestartType;
  readonly running: boolean;
}

export interface RestartPlan {
  /** Running siblings to terminate, in the order to terminate them (reverse start order). */
  readonly terminate: string[];
  /** Children to (re)start, in start order. */
  readonly restart: string[];
  /** Temporary children that leave the supervisor for good. */
  readonly remove: string[];
}

/**
 * What a strategy does when child `failedId` exited and must be restarted. Temporary children
 * caught up in one_for_all/rest_for_one are terminated and removed, never restarted (OTP).
 */
export function restartPlan(strategy: Strategy, children: readonly PlanChild[], failedId: string): RestartPlan {
  const idx = children.findIndex((c) => c.id === failedId);
  if (idx < 0) return { terminate: [], restart: [], remove: [] };
  if (strategy === 'one_for_one') return { terminate: [], restart: [failedId], remove: [] };
  const group = strategy === 'one_for_all' ? children : children.slice(idx);
  const terminate = group.filter((c) => c.id !== failedId && c.running).map((c) => c.id).reverse();
  const restart = group.filter((c) => c.restart !== 'temporary').map((c) => c.id);
  const remove = group.filter((c) => c.restart === 'temporary').map((c) => c.id);
  return { terminate, restart, remove };
}
