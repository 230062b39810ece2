/**
 * Measurements for the simulation and the peers benchmark: readings of another process from
 * /proc (RSS, CPU ticks), this process's open-files limit, percentiles, and a growable array of
 * samples that does not box its numbers.
 */
import { readFileSync } from 'node:fs';

/** A `<field>: <n> kB` line of /proc/<pid>/status (VmRSS, VmHWM…), in KB; null if unreadable. */
export function procStatus(pid: number, field: string): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** utime + stime of a process, in clock ticks (USER_HZ, 100 on Linux). */
export function cpuTicks(pid: number): number | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces), which ends with ')'.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return null;
  }
}
export const USER_HZ = 100;

/** The soft and hard "Max open files" of this process (children inherit them); null if unreadable. */
export function openFilesLimits(): { soft: number; hard: number } | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m) return null;
    const n = (s: string): number => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
    return { soft: n(m[1]), hard: n(m[2]) };
  } catch {
    return null;
  }
}

/** The soft open-files limit of this process; null if unreadable. */
export function openFilesLimit(): number | null {
  return openFilesLimits()?.soft ?? null;
}

/** The p-th percentile (0..100) of sorted samples, nearest-rank below; NaN when empty. */
export function pct(sorted: Float64Array | readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** A growable array of doubles (RTT samples) without boxing. */
export class Samples {
  private buf = new Float64Array(4096);
  length = 0;
  add(v: number): void {
    if (this.length === this.buf.length) {
      const b = new Float64Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.length++] = v;
  }
  /** The samples from index `from` on, sorted. */
  sorted(from = 0): Float64Array {
    return this.buf.slice(from, this.length).sort();
  }
  clear(): void {
    this.length = 0;
  }
}
