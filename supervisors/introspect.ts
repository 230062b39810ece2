/**
 * What the registry shows of an actor (`ActorInfo`, `TreeNode`), the exit records kept by
 * `runtime.recentExits()`, the path globs `runtime.list` reads and the ways `runtime.kill` hits.
 * Plain data: the cell describes itself (`describeCell` in cell.ts).
 */
import type { ExitReason } from './exit.js';
import type { RestartType } from './decisions.js';

export type ActorKind = 'worker' | 'supervisor' | 'dynamic_supervisor';

/** How `Runtime.kill` hits an actor: stop it, crash it, its socket hook, or stall its mailbox. */
export type KillMode = 'kill' | 'crash' | 'socket' | 'stall';

export interface ActorInfo {
  readonly path: string;
  readonly name: string;
  readonly kind: ActorKind;
  readonly supervisor?: string;
  readonly restart?: RestartType;
  readonly incarnation: number;
  readonly restarts: number;
  readonly uptimeMs: number;
  readonly status: 'starting' | 'idle' | 'busy' | 'stopping';
  readonly mailbox: number;
  readonly mailboxHighWater: number;
  readonly handled: number;
  readonly lastExit?: string;
  readonly timers: string[];
  readonly monitoredBy: number;
  readonly childCount: number;
  readonly summary?: unknown;
}

export interface TreeNode extends ActorInfo {
  readonly children: TreeNode[];
}

/** One actor exit, as kept by {@link Runtime.recentExits}. */
export interface ExitRecord {
  /** 1, 2, 3… per runtime: a reader can tell which records it has already seen. */
  readonly seq: number;
  readonly path: string;
  readonly kind: ActorKind;
  /** Formatted as `formatReason` does (`killed`, `{shutdown,…}`, `error: …`). */
  readonly reason: string;
  readonly reasonKind: ExitReason['kind'];
  /** Wall-clock time, ms since the epoch. */
  readonly at: number;
}

/** How many exits {@link Runtime.recentExits} keeps. */
export const RECENT_EXITS = 200;

/** Path globs as `list` reads them: `*` one segment, `**` any number, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  const esc = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  const body = esc
    .split('**')
    .map((part) => part.replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
    .join('.*');
  return new RegExp(`^${body}$`);
}
