/**
 * The chaos report's leak check, pure: what a node holds after the run (measured once it has
 * settled) against the baseline taken before it. A resource leaks when it is above the baseline
 * by more than its tolerance:
 *
 *   allowed above = abs + ceil(rel × baseline) + perPeer × (peer actors after − before, if more)
 *
 * The per-peer term covers a node that ends with more connections than it started with (each
 * peer is one actor, up to 6 runtime timers, and in a process that also holds the other end, two
 * sockets and two descriptors); the absolute and relative terms cover what moves on its own
 * (LevelDB opening a new table file, an RPC connection, a backoff timer).
 */
import type { ResourceReport } from '../../util/resources.js';

export interface LeakRule {
  readonly abs: number;
  readonly rel: number;
  readonly perPeer: number;
}

export const LEAK_RULES = {
  actors: { abs: 0, rel: 0, perPeer: 1 },
  'runtime timers': { abs: 2, rel: 0.05, perPeer: 6 },
  sockets: { abs: 2, rel: 0.05, perPeer: 2 },
  'node timers': { abs: 4, rel: 0.05, perPeer: 6 },
  'file descriptors': { abs: 8, rel: 0.05, perPeer: 2 },
} as const satisfies Record<string, LeakRule>;

export type LeakResource = keyof typeof LEAK_RULES;

export interface LeakRow {
  readonly resource: LeakResource | 'rss MB';
  readonly before: number | null;
  readonly after: number | null;
  /** Most allowed after (null: not checked, for information). */
  readonly allowed: number | null;
  readonly pass: boolean;
}

function value(r: ResourceReport, k: LeakResource): number | null {
  switch (k) {
    case 'actors':
      return r.actors;
    case 'runtime timers':
      return r.timers;
    case 'sockets':
      return r.sockets;
    case 'node timers':
      return r.nodeTimers;
    case 'file descriptors':
      return r.fds;
  }
}

/** The most a resource may be after the run. */
export function allowedAfter(rule: LeakRule, before: number, extraPeers: number, slack = 0): number {
  return before + rule.abs + slack + Math.ceil(rule.rel * before) + rule.perPeer * Math.max(0, extraPeers);
}

/** One row per resource (plus RSS, for information); `actorSlack` widens the actors' tolerance. */
export function leakRows(before: ResourceReport, after: ResourceReport, actorSlack = 0): LeakRow[] {
  const extraPeers = after.peerActors - before.peerActors;
  const rows: LeakRow[] = (Object.keys(LEAK_RULES) as LeakResource[]).map((k) => {
    const b = value(before, k);
    const a = value(after, k);
    if (b === null || a === null) return { resource: k, before: b, after: a, allowed: null, pass: true };
    const allowed = allowedAfter(LEAK_RULES[k], b, extraPeers, k === 'actors' ? actorSlack : 0);
    return { resource: k, before: b, after: a, allowed, pass: a <= allowed };
  });
  const mb = (x: number): number => Math.round((x / 1048576) * 10) / 10;
  rows.push({ resource: 'rss MB', before: mb(before.rssBytes), after: mb(after.rssBytes), allowed: null, pass: true });
  return rows;
}

export const leaksOk = (rows: readonly LeakRow[]): boolean => rows.every((r) => r.pass);
