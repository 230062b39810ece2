/**
 * The chaos monkey's pure, seeded scheduler. Given a seed, a rate with jitter and a duration it
 * yields the kill times; given the sorted list of matching live actors at a step it picks the
 * victim. Every choice comes from a PRNG derived from (seed, step), so the same seed on the same
 * tree gives the same victims in the same order, whatever happened at earlier steps.
 */
import { globToRegExp } from '../../../supervisors/index.js';
import { prng } from '../../util/prng.js';
import { ROOT } from '../../contracts/root.js';
export { prng };

export type ChaosMode = 'kill' | 'crash' | 'socket' | 'stall' | 'almost';
export const CHAOS_MODES: readonly ChaosMode[] = ['kill', 'crash', 'socket', 'stall', 'almost'];

export interface ScheduleOptions {
  readonly seed: number;
  /** Kills per second (> 0). */
  readonly rate: number;
  /** 0..1: each interval is (1/rate)·(1 ± jitter·u), u uniform in [0, 1). */
  readonly jitter: number;
  /** Seconds. */
  readonly durationS: number;
}


/** A PRNG for one purpose and step, independent of every other step's. */
export function streamFor(seed: number, stream: number, step: number): () => number {
  const mix = (x: number, y: number): number => {
    let h = Math.imul(x ^ 0x9e3779b9, 0x85ebca6b) ^ y;
    h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
    return (h ^ (h >>> 13)) >>> 0;
  };
  return prng(mix(mix(seed >>> 0, stream), step));
}

/** The kill times, ms from the start, strictly inside [0, duration). */
export function killTimes(o: ScheduleOptions): number[] {
  if (!(o.rate > 0) || !(o.durationS > 0)) return [];
  const jitter = Math.min(1, Math.max(0, o.jitter));
  const rnd = streamFor(o.seed, 1, 0);
  const base = 1000 / o.rate;
  const out: number[] = [];
  let t = 0;
  for (;;) {
    t += base * (1 + jitter * (2 * rnd() - 1));
    if (t >= o.durationS * 1000) return out;
    out.push(Math.floor(t));
  }
}

/** Index into the sorted candidates chosen at `step`, or -1 when there are none. */
export function pickIndex(seed: number, step: number, count: number): number {
  if (count <= 0) return -1;
  return Math.floor(streamFor(seed, 2, step)() * count);
}

/** The victim among `candidates` (sorted here, so the order they came in does not matter). */
export function pickVictim(seed: number, step: number, candidates: readonly string[]): { index: number; path: string } | null {
  const sorted = [...candidates].sort();
  const index = pickIndex(seed, step, sorted.length);
  return index < 0 ? null : { index, path: sorted[index] };
}

/** `"3/5s"` → { intensity: 3, periodS: 5 } (a supervisor's registry summary). */
export function parseIntensity(text: unknown): { intensity: number; periodS: number } | null {
  if (typeof text !== 'string') return null;
  const m = /^(\d+)\/(\d+(?:\.\d+)?)s$/.exec(text);
  return m ? { intensity: Number(m[1]), periodS: Number(m[2]) } : null;
}

/**
 * `almost`: which of a supervisor's children to crash now so that its restarts in the period
 * reach intensity − 1 and never cross it. Children are drawn (with repetition) from the sorted list.
 */
export function almostPlan(seed: number, step: number, intensity: number, restartsInPeriod: number, children: readonly string[]): string[] {
  const budget = Math.max(0, intensity - 1 - restartsInPeriod);
  const sorted = [...children].sort();
  if (sorted.length === 0) return [];
  const rnd = streamFor(seed, 3, step);
  return Array.from({ length: budget }, () => sorted[Math.floor(rnd() * sorted.length)]);
}

export interface PlannedKill {
  readonly step: number;
  readonly atMs: number;
  readonly index: number;
  readonly path: string;
  readonly mode: ChaosMode;
}

/** The whole sequence against a tree that does not change (what the runner does, minus the killing). */
export function plan(o: ScheduleOptions & { readonly mode: ChaosMode }, liveAt: (step: number) => readonly string[]): PlannedKill[] {
  const out: PlannedKill[] = [];
  killTimes(o).forEach((atMs, step) => {
    const v = pickVictim(o.seed, step, liveAt(step));
    if (v) out.push({ step, atMs, index: v.index, path: v.path, mode: o.mode });
  });
  return out;
}

/** runtime.list's glob (`*` one segment, `**` any), for tests and for filtering RPC results. */
export { globToRegExp };

/**
 * The target as a path glob: one that does not start with `/` is taken under `/root/`
 * (`chain` → `/root/chain`, `peers/*` → `/root/peers/*`, `addressbook` → `/root/addressbook`).
 */
export function normalizeTarget(target: string): string {
  const t = target.trim();
  if (t === '' || t.startsWith('/')) return t;
  return `${ROOT.path}/${t}`;
}
