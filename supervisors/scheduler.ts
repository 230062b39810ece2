/**
 * The clock and timer source of a runtime. Actor timers, backoff delays, intensity windows and
 * shutdown/ask timeouts all go through it, so tests can drive time with `ManualScheduler`.
 */
export type Cancel = () => void;

export interface Scheduler {
  /** Monotonic milliseconds: durations, timers, restart windows. */
  now(): number;
  /** Wall-clock milliseconds since the epoch (what an actor stamps on records: bans, addresses, times shown to users). */
  wallNow(): number;
  /** Runs `fn` after `ms`. `ref: false` (the default) unref()s the timer: it never keeps the process alive. */
  setTimeout(fn: () => void, ms: number, ref?: boolean): Cancel;
}

const MAX_TIMEOUT = 2_147_483_647;

export const realScheduler: Scheduler = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn, ms, ref = false) {
    const t = setTimeout(fn, Math.min(MAX_TIMEOUT, Math.max(0, ms)));
    if (!ref) t.unref();
    return () => clearTimeout(t);
  },
};

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A fake clock: time moves only with `advance(ms)`, which runs due timers in order. Its wall clock
 * starts at `wallStart` (epoch ms; default the real time when it was made) and moves with it.
 */
export class ManualScheduler implements Scheduler {
  private t = 0;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(private readonly wallStart: number = Date.now()) {}

  now(): number {
    return this.t;
  }

  wallNow(): number {
    return this.wallStart + this.t;
  }

  setTimeout(fn: () => void, ms: number): Cancel {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.pending.push(p);
    return () => {
      const i = this.pending.indexOf(p);
      if (i >= 0) this.pending.splice(i, 1);
    };
  }

  /** Number of timers waiting. */
  get size(): number {
    return this.pending.length;
  }

  /** When the next timer is due, or undefined. */
  nextAt(): number | undefined {
    let best: number | undefined;
    for (const p of this.pending) if (best === undefined || p.at < best) best = p.at;
    return best;
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending) if (p.at <= end && (next === undefined || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      if (next === undefined) break;
      this.pending.splice(this.pending.indexOf(next), 1);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}
