/**
 * What an actor is made of: its definition (`ActorDef`: init, handle, terminate, summarize,
 * onCrash, chaos hooks), the context it runs with (`ActorContext`: self, log, keyed timers,
 * spawn, monitors, owned resources, stop), the runtime as it sees it (`ActorSystem`) and the
 * `Down` message a monitor delivers.
 */
import type { Logger } from 'pino';
import type { ExitReason } from './exit.js';
import type { Scheduler } from './scheduler.js';
import type { ActorName, Ref, RefBase } from './ref.js';
import type { ActorInfo, ActorKind, ExitRecord, KillMode, TreeNode } from './introspect.js';

/** Delivered to a watcher when a monitored actor exits (immediately with `noproc` if it was gone). */
export interface Down {
  readonly type: 'DOWN';
  readonly monitor: number;
  readonly path: string;
  readonly incarnation: number;
  readonly reason: ExitReason;
}

/** A resource an actor owns: released (close/destroy/call) when the actor stops, whatever the cause. */
export type Closeable = { close(): unknown } | { destroy(): unknown } | (() => unknown);

export interface Timers<M> {
  /** Delivers `msg` to self once after `ms`; replaces any timer with the same key. */
  after(key: string, ms: number, msg: M): void;
  /** Delivers `msg` to self every `ms` (fixed delay); replaces any timer with the same key. */
  interval(key: string, ms: number, msg: M): void;
  cancel(key: string): boolean;
  isActive(key: string): boolean;
  keys(): string[];
}

export interface SpawnOptions {
  readonly name?: string;
}

/** The runtime as an actor sees it (`ctx.runtime`); `Runtime` implements it. */
export interface ActorSystem {
  readonly name: string;
  readonly scheduler: Scheduler;
  /** Random source in [0,1) (backoff jitter). */
  readonly random: () => number;
  readonly logger: Logger;
  /** Spawns a top-level (unsupervised) actor. */
  spawn<S, M, A>(def: ActorDef<S, M, A>, args: A, opts?: SpawnOptions): Ref<M>;
  /** The live actor a name stands for, typed by the name; undefined when none is alive there. */
  lookup<M>(name: ActorName<M>): Ref<M> | undefined;
  /** The live actor at a path; the caller asserts its message type (prefer `lookup` with a name). */
  refOf<M>(path: string): Ref<M> | undefined;
  /** Calls `fn` once when the actor now alive at `target`'s path exits (`noproc` at once if none); returns an unwatch. */
  watch(target: RefBase, fn: (reason: ExitReason) => void): () => void;
  info(path: string): ActorInfo | undefined;
  list(pattern?: string | RegExp): ActorInfo[];
  tree(): TreeNode[];
  recentExits(): ExitRecord[];
  deadLetters(): { total: number; byType: Record<string, number> };
  kill(path: string, mode?: KillMode, opts?: { ms?: number }): boolean;
}

export interface ActorContext<M> {
  readonly self: Ref<M>;
  readonly path: string;
  readonly incarnation: number;
  /** A pino child logger carrying `{ actor: path }`. */
  readonly log: Logger;
  readonly timers: Timers<M>;
  readonly runtime: ActorSystem;
  /** Wall-clock ms since the epoch from the runtime's scheduler (a test's manual clock moves it): use it, never `Date.now()`. */
  now(): number;
  /** Spawns an (unsupervised) child: it dies with this actor; monitor it to learn of its exit. */
  spawn<S2, M2, A2>(def: ActorDef<S2, M2, A2>, args: A2, opts?: SpawnOptions): Ref<M2>;
  /** Monitors `target`: a `Down` message arrives when it exits. `M` must include `Down`. */
  monitor(target: RefBase, ..._mustAcceptDown: Down extends M ? [] : [never]): number;
  demonitor(monitor: number): void;
  /** Registers a resource released when this actor stops (reverse order of registration). */
  own<R extends Closeable>(resource: R): R;
  /** Stops this actor after the current message with `reason` (default `normal`); `terminate` runs. */
  stop(reason?: ExitReason): void;
}

export type CrashDecision = 'resume' | 'crash';

export interface ActorDef<S, M, A = void> {
  /** Name prefix for actors spawned without a name. */
  readonly name?: string;
  readonly kind?: ActorKind;
  /** Runs inside the actor before any message; may be async; a throw is a crash (reason error). */
  init(args: A, ctx: ActorContext<M>): S | Promise<S>;
  /** Returns the next state. Write the logic as a pure function and keep this a thin shell (see `definePure`). */
  handle(state: S, msg: M, ctx: ActorContext<M>): S | Promise<S>;
  /** Graceful-stop cleanup (supervisor shutdown or `ctx.stop`), bounded by the child's shutdown time. */
  terminate?(state: S, reason: ExitReason, ctx: ActorContext<M>): void | Promise<void>;
  /** A short JSON-able state summary for the registry/inspector. */
  summarize?(state: S): unknown;
  /** Consulted when `handle` throws: 'resume' drops the message and keeps the state; anything else (or a throw) crashes. */
  onCrash?(error: unknown, msg: M | undefined, state: S, ctx: ActorContext<M>): CrashDecision | void;
  /** Chaos hooks: `socket` is actor-defined (e.g. a peer destroys its socket). */
  readonly chaos?: { socket?(state: S, ctx: ActorContext<M>): S | void };
}

/** Identity helper that keeps the three type parameters inferred. */
export function defineActor<S, M, A = void>(def: ActorDef<S, M, A>): ActorDef<S, M, A> {
  return def;
}
