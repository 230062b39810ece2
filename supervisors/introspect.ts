/**
 * What the registry shows of an actor (`ActorInfo`, `TreeNode`), the exit records kept by
 * `runtime.recentExits()`, and the path globs `runtime.list` reads.
 */
import { formatReason, type ExitReason } from './exit.js';
import type { RestartType } from './decisions.js';
import type { ActorKind } from './actor.js';
import type { Cell } from './cell.js';

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

/** A registry snapshot of one live actor. @internal */
export function describeCell(c: Cell): ActorInfo {
  let summary: unknown;
  if (c.def.summarize && c.initialized) {
    try {
      summary = c.def.summarize(c.actor.state);
    } catch (err) {
      summary = { error: err instanceof Error ? err.message : String(err) };
    }
  }
  return {
    path: c.path,
    name: c.name,
    kind: c.meta.kind,
    ...(c.parent ? { supervisor: c.parent.path } : {}),
    ...(c.meta.restart ? { restart: c.meta.restart } : {}),
    incarnation: c.meta.incarnation,
    restarts: c.meta.restarts,
    uptimeMs: c.runtime.scheduler.now() - c.startedAt,
    status: c.stopping ? 'stopping' : !c.initialized ? 'starting' : c.actor.busy ? 'busy' : 'idle',
    mailbox: c.actor.mailbox.length,
    mailboxHighWater: c.hwm,
    handled: c.handled,
    ...(c.meta.lastExit ? { lastExit: formatReason(c.meta.lastExit) } : {}),
    timers: c.timerKeys(),
    monitoredBy: c.monitoredBy?.size ?? 0,
    childCount: c.kids.size,
    ...(summary !== undefined ? { summary } : {}),
  };
}
