/**
 * The actor runtime: typed refs, `tell`/`ask`, the actor shell (`defineActor`), keyed timers,
 * monitors, owned resources, the registry, dead letters and the chaos `kill` entry point.
 *
 * Every actor is a nact actor whose handler is a thin shell around an `ActorDef`. A `Cell`
 * holds what nact does not: the exit reason, timers, monitors, resources, counters. nact's
 * `stop` is patched on import (see nact.ts) so stopping an actor stops its subtree, and the
 * patched stop calls back into the cell, which releases everything synchronously.
 */
import { pino, type Logger } from 'pino';
import { Exit, formatReason, type ExitReason } from './exit.js';
import type { RestartType } from './decisions.js';
import { realScheduler, type Cancel, type Scheduler } from './scheduler.js';
import {
  findSystem,
  installStopPatch,
  nact,
  patchSystemStop,
  type NactActor,
  type NactRef,
  type NactSupervisionContext,
  type NactSystem,
} from './nact.js';

// ---------------------------------------------------------------------------------------------
// Refs

/** Anything that names an actor: enough to monitor it or look it up, not to send to it. */
export interface RefBase {
  readonly path: string;
  readonly name: string;
}

/**
 * A typed reference to an actor accepting `M`. The phantom member makes `Ref<M>` invariant in
 * `M`, so `Ref<PeerMsg>` and `Ref<ChainMsg>` cannot be mixed up (nact's own `Ref<T>` can).
 * It reaches whatever actor is alive at its path (a restarted child is reachable by an old ref).
 */
export interface Ref<M> extends RefBase {
  /** Phantom, never present at run time. */
  readonly __msg: (m: M) => M;
}

interface Deliverable {
  deliver(msg: unknown): void;
}

class ActorRefImpl implements RefBase, Deliverable {
  private cached: Cell | undefined;
  constructor(
    readonly runtime: Runtime,
    readonly path: string,
    readonly name: string,
  ) {}

  deliver(msg: unknown): void {
    let c = this.cached;
    if (c === undefined || c.dead) {
      c = this.runtime.cells.get(this.path);
      this.cached = c;
      if (c === undefined) {
        this.runtime.deadLetter(this.path, msg);
        return;
      }
    }
    c.enqueue(msg);
  }

  toJSON(): { path: string } {
    return { path: this.path };
  }
}

class ReplyRefImpl implements RefBase, Deliverable {
  constructor(
    readonly path: string,
    readonly name: string,
    private readonly onReply: (msg: unknown) => void,
  ) {}

  deliver(msg: unknown): void {
    this.onReply(msg);
  }
}

/** Sends `msg` to `ref` (fire and forget). A message to a dead actor is counted as a dead letter. */
export function tell<M>(ref: Ref<M>, msg: M): void {
  (ref as unknown as Deliverable).deliver(msg);
}

export type AskErrorCode = 'timeout' | 'noproc' | 'exit';

/** Why an `ask` failed: no reply in time, no actor at the path, or the actor exited before replying. */
export class AskError extends Error {
  override readonly name = 'AskError';
  constructor(
    readonly code: AskErrorCode,
    readonly path: string,
    readonly reason?: ExitReason,
  ) {
    super(
      code === 'timeout'
        ? `ask ${path}: no reply in time`
        : code === 'noproc'
          ? `ask ${path}: no such actor (noproc)`
          : `ask ${path}: actor exited before replying (${reason ? formatReason(reason) : '?'})`,
    );
  }
}

/**
 * Request/reply: builds the request with a one-shot `replyTo` ref and waits for the reply
 * up to `timeoutMs`. Rejects with `AskError` (`timeout`, `noproc`, or `exit` if the actor dies first).
 */
export function ask<Req, Res>(ref: Ref<Req>, makeMsg: (replyTo: Ref<Res>) => NoInfer<Req>, timeoutMs: number): Promise<Res> {
  const r = ref as unknown as ActorRefImpl;
  const rt = r.runtime;
  return new Promise<Res>((resolve, reject) => {
    const cell = rt.cells.get(r.path);
    if (cell === undefined || cell.dead) {
      reject(new AskError('noproc', r.path, Exit.noproc));
      return;
    }
    let done = false;
    let cancel: Cancel = () => {};
    const finish = (): void => {
      done = true;
      cancel();
      cell.removeDeathWatcher(onDeath);
    };
    const onDeath = (reason: ExitReason): void => {
      if (done) return;
      finish();
      reject(new AskError('exit', r.path, reason));
    };
    const reply = new ReplyRefImpl(`${r.path}#reply`, 'reply', (msg) => {
      if (done) {
        rt.deadLetter(`${r.path}#reply`, msg);
        return;
      }
      finish();
      resolve(msg as Res);
    });
    const msg = makeMsg(reply as unknown as Ref<Res>);
    cell.addDeathWatcher(onDeath);
    cancel = rt.scheduler.setTimeout(
      () => {
        if (done) return;
        finish();
        reject(new AskError('timeout', r.path));
      },
      timeoutMs,
      true,
    );
    cell.enqueue(msg);
  });
}

// ---------------------------------------------------------------------------------------------
// Actor definitions and context

export type ActorKind = 'worker' | 'supervisor' | 'dynamic_supervisor';

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

export interface ActorContext<M> {
  readonly self: Ref<M>;
  readonly path: string;
  readonly incarnation: number;
  /** A pino child logger carrying `{ actor: path }`. */
  readonly log: Logger;
  readonly timers: Timers<M>;
  readonly runtime: Runtime;
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

// ---- pure core, thin shell

/** Effects a pure `update` may return; `perform` interprets actor-specific ones (type `E`). */
export type Effect<M> =
  | { readonly kind: 'send'; readonly to: RefBase; readonly msg: unknown }
  | { readonly kind: 'after'; readonly key: string; readonly ms: number; readonly msg: M }
  | { readonly kind: 'interval'; readonly key: string; readonly ms: number; readonly msg: M }
  | { readonly kind: 'cancel'; readonly key: string }
  | { readonly kind: 'stop'; readonly reason: ExitReason };

/** A typed `send` effect (the only way to build one, so the message matches the ref). */
export function send<T>(to: Ref<T>, msg: T): Effect<never> {
  return { kind: 'send', to, msg };
}

export interface Step<S, M, E = never> {
  readonly state: S;
  readonly effects?: readonly (Effect<M> | E)[];
}

function isEffect<M>(e: unknown): e is Effect<M> {
  if (typeof e !== 'object' || e === null || !('kind' in e)) return false;
  const k = (e as { kind: unknown }).kind;
  return k === 'send' || k === 'after' || k === 'interval' || k === 'cancel' || k === 'stop';
}

/** Runs the built-in effects against a context (exported for shells that do their own I/O). */
export function performEffect<M>(e: Effect<M>, ctx: ActorContext<M>): void {
  switch (e.kind) {
    case 'send':
      (e.to as unknown as Deliverable).deliver(e.msg);
      return;
    case 'after':
      ctx.timers.after(e.key, e.ms, e.msg);
      return;
    case 'interval':
      ctx.timers.interval(e.key, e.ms, e.msg);
      return;
    case 'cancel':
      ctx.timers.cancel(e.key);
      return;
    case 'stop':
      ctx.stop(e.reason);
      return;
  }
}

export interface PureDef<S, M, A, E> {
  readonly name?: string;
  init(args: A): Step<S, M, E>;
  update(state: S, msg: M): Step<S, M, E>;
  /** Interprets actor-specific effects (socket writes…). Built-in effects are handled for you. */
  perform?(effect: E, ctx: ActorContext<M>, state: S): void;
  summarize?(state: S): unknown;
  terminate?(state: S, reason: ExitReason, ctx: ActorContext<M>): void | Promise<void>;
  readonly chaos?: ActorDef<S, M, A>['chaos'];
}

/** An actor whose logic is the pure `(state, msg) → { state, effects }`; the shell interprets the effects. */
export function definePure<S, M, A = void, E = never>(def: PureDef<S, M, A, E>): ActorDef<S, M, A> {
  const run = (step: Step<S, M, E>, ctx: ActorContext<M>): S => {
    if (step.effects) {
      for (const e of step.effects) {
        if (isEffect<M>(e)) performEffect(e, ctx);
        else if (def.perform) def.perform(e as E, ctx, step.state);
      }
    }
    return step.state;
  };
  const out: ActorDef<S, M, A> = {
    init: (args, ctx) => run(def.init(args), ctx),
    handle: (state, msg, ctx) => run(def.update(state, msg), ctx),
  };
  return {
    ...out,
    ...(def.name !== undefined ? { name: def.name } : {}),
    ...(def.summarize ? { summarize: def.summarize } : {}),
    ...(def.terminate ? { terminate: def.terminate } : {}),
    ...(def.chaos ? { chaos: def.chaos } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Cells

type SysOp =
  | { readonly op: 'init'; readonly args: unknown }
  | { readonly op: 'stop'; readonly reason: ExitReason }
  | { readonly op: 'crash' }
  | { readonly op: 'stall'; readonly ms: number }
  | { readonly op: 'socket' };

/** System messages travel in the actor's own mailbox but never reach `handle`. */
class Sys {
  constructor(readonly op: SysOp) {}
}

/** Thrown inside an actor by `kill(path, 'crash')`. */
export class InjectedCrash extends Error {
  override readonly name = 'InjectedCrash';
}

/** What a supervisor attaches to a child it starts. @internal */
export interface CellMeta {
  readonly kind: ActorKind;
  readonly restart?: RestartType;
  readonly incarnation: number;
  readonly restarts: number;
  readonly lastExit?: ExitReason;
  /** Shutdown used by `Runtime.stop` for top-level actors. */
  readonly shutdown?: 'brutal_kill' | number;
  notifyExit?: (reason: ExitReason, cell: Cell) => void;
}

type ErasedDef = ActorDef<unknown, unknown, unknown>;

const cellOf = new WeakMap<NactActor, Cell>();

interface TimerEntry {
  cancel: Cancel;
}

class TimerSet<M> implements Timers<M> {
  private readonly entries = new Map<string, TimerEntry>();
  constructor(private readonly cell: Cell) {}

  after(key: string, ms: number, msg: M): void {
    this.cancel(key);
    if (this.cell.dead) return;
    const entry: TimerEntry = { cancel: () => {} };
    entry.cancel = this.cell.runtime.scheduler.setTimeout(() => {
      if (this.entries.get(key) !== entry) return;
      this.entries.delete(key);
      this.cell.enqueue(msg);
    }, ms);
    this.entries.set(key, entry);
  }

  interval(key: string, ms: number, msg: M): void {
    this.cancel(key);
    if (this.cell.dead) return;
    const entry: TimerEntry = { cancel: () => {} };
    const arm = (): void => {
      entry.cancel = this.cell.runtime.scheduler.setTimeout(() => {
        if (this.entries.get(key) !== entry) return;
        this.cell.enqueue(msg);
        if (this.entries.get(key) === entry) arm();
      }, ms);
    };
    arm();
    this.entries.set(key, entry);
  }

  cancel(key: string): boolean {
    const e = this.entries.get(key);
    if (e === undefined) return false;
    e.cancel();
    this.entries.delete(key);
    return true;
  }

  isActive(key: string): boolean {
    return this.entries.has(key);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  cancelAll(): void {
    for (const e of this.entries.values()) e.cancel();
    this.entries.clear();
  }
}

class ContextImpl<M> implements ActorContext<M> {
  private logger: Logger | undefined;
  constructor(
    private readonly cell: Cell,
    readonly self: Ref<M>,
  ) {}

  get path(): string {
    return this.cell.path;
  }
  get incarnation(): number {
    return this.cell.meta.incarnation;
  }
  get runtime(): Runtime {
    return this.cell.runtime;
  }
  get log(): Logger {
    return (this.logger ??= this.cell.runtime.logger.child({ actor: this.cell.path }));
  }
  get timers(): Timers<M> {
    return this.cell.timerSet() as TimerSet<M>;
  }

  spawn<S2, M2, A2>(def: ActorDef<S2, M2, A2>, args: A2, opts?: SpawnOptions): Ref<M2> {
    const child = this.cell.runtime.spawnCell(this.cell, def, args, opts, { kind: def.kind ?? 'worker', incarnation: 1, restarts: 0 });
    return child.ref as Ref<M2>;
  }

  monitor(target: RefBase, ..._mustAcceptDown: Down extends M ? [] : [never]): number {
    return this.cell.runtime.monitorFrom(this.cell, target);
  }

  demonitor(monitor: number): void {
    const target = this.cell.monitoring?.get(monitor);
    if (target === undefined) return;
    this.cell.monitoring?.delete(monitor);
    target.monitoredBy?.delete(monitor);
  }

  own<R extends Closeable>(resource: R): R {
    if (this.cell.dead) {
      releaseOne(resource, this.cell);
      return resource;
    }
    (this.cell.owned ??= []).push(resource);
    return resource;
  }

  stop(reason: ExitReason = Exit.normal): void {
    if (this.cell.dead) return;
    this.cell.stopRequest ??= reason;
    if (!this.cell.inHandler) this.cell.enqueue(new Sys({ op: 'stop', reason }));
  }
}

function releaseOne(r: Closeable, cell: Cell): unknown {
  try {
    if (typeof r === 'function') return r();
    if ('destroy' in r && typeof r.destroy === 'function') return r.destroy();
    if ('close' in r && typeof r.close === 'function') return r.close();
  } catch (err) {
    cell.ctx.log.warn({ err }, 'releasing an owned resource threw');
  }
  return undefined;
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}

/** One live incarnation of an actor. @internal */
export class Cell {
  actor!: NactActor;
  readonly path: string;
  readonly ref: Ref<unknown>;
  readonly ctx: ContextImpl<unknown>;
  readonly startedAt: number;
  readonly kids = new Set<Cell>();
  dead = false;
  stopping = false;
  initialized = false;
  inHandler = false;
  exitReason: ExitReason | undefined;
  stopRequest: ExitReason | undefined;
  handled = 0;
  hwm = 0;
  owned: Closeable[] | undefined;
  monitoredBy: Map<number, Cell> | undefined;
  monitoring: Map<number, Cell> | undefined;
  private timers: TimerSet<unknown> | undefined;
  private deathWatchers: Set<(r: ExitReason) => void> | undefined;
  private readyWaiters: { resolve: () => void; reject: (e: unknown) => void }[] | undefined;
  private initError: unknown;

  constructor(
    readonly runtime: Runtime,
    readonly parent: Cell | undefined,
    readonly def: ErasedDef,
    readonly name: string,
    readonly meta: CellMeta,
  ) {
    this.path = parent ? `${parent.path}/${name}` : `/${name}`;
    const ref = new ActorRefImpl(runtime, this.path, name);
    this.ref = ref as unknown as Ref<unknown>;
    this.ctx = new ContextImpl(this, this.ref);
    this.startedAt = runtime.scheduler.now();
  }

  attach(actor: NactActor): void {
    this.actor = actor;
    cellOf.set(actor, this);
    this.runtime.cells.set(this.path, this);
    this.parent?.kids.add(this);
  }

  timerSet(): TimerSet<unknown> {
    return (this.timers ??= new TimerSet(this));
  }

  timerKeys(): string[] {
    return this.timers?.keys() ?? [];
  }

  enqueue(msg: unknown): void {
    if (this.dead) {
      this.runtime.deadLetter(this.path, msg);
      return;
    }
    const a = this.actor;
    a.dispatch(msg);
    const n = a.mailbox.length;
    if (n > this.hwm) this.hwm = n;
  }

  // ---- the nact handler and onCrash

  readonly handler = (state: unknown, msg: unknown): unknown => {
    if (msg instanceof Sys) return this.handleSys(state, msg.op);
    this.handled++;
    this.inHandler = true;
    let next: unknown;
    try {
      next = this.def.handle(state, msg, this.ctx);
    } finally {
      this.inHandler = false;
    }
    if (isThenable(next)) return Promise.resolve(next).then((s) => (this.stopRequest !== undefined ? this.finishStop(s, this.stopRequest) : s));
    if (this.stopRequest !== undefined) return this.finishStop(next, this.stopRequest);
    return next;
  };

  private async handleSys(state: unknown, op: SysOp): Promise<unknown> {
    switch (op.op) {
      case 'init': {
        this.inHandler = true;
        let s: unknown;
        try {
          s = this.def.init(op.args, this.ctx);
        } finally {
          this.inHandler = false;
        }
        if (isThenable(s)) s = await s;
        this.initialized = true;
        const waiters = this.readyWaiters;
        this.readyWaiters = undefined;
        if (waiters) for (const w of waiters) w.resolve();
        if (this.stopRequest !== undefined) return this.finishStop(s, this.stopRequest);
        return s;
      }
      case 'stop':
        return this.finishStop(state, this.stopRequest ?? op.reason);
      case 'crash':
        throw new InjectedCrash(`injected crash in ${this.path}`);
      case 'stall':
        await new Promise<void>((resolve) => this.runtime.scheduler.setTimeout(resolve, op.ms, true));
        return state;
      case 'socket': {
        const s = this.def.chaos?.socket?.(state, this.ctx);
        return s === undefined ? state : s;
      }
    }
  }

  /** Graceful stop from inside the actor: terminate(), await owned resources, then stop. */
  private async finishStop(state: unknown, reason: ExitReason): Promise<unknown> {
    if (this.initialized && this.def.terminate) {
      try {
        await this.def.terminate(state, reason, this.ctx);
      } catch (err) {
        this.ctx.log.warn({ err }, 'terminate threw');
      }
    }
    const owned = this.owned;
    this.owned = undefined;
    if (owned) {
      for (let i = owned.length - 1; i >= 0; i--) {
        const r = releaseOne(owned[i]!, this);
        if (isThenable(r)) {
          try {
            await r;
          } catch (err) {
            this.ctx.log.warn({ err }, 'closing an owned resource failed');
          }
        }
      }
    }
    this.kill(reason);
    return state;
  }

  readonly onCrash = (msg: unknown, err: unknown, nctx: NactSupervisionContext): symbol => {
    if (this.dead) return nctx.stop;
    const userMsg = msg instanceof Sys ? undefined : msg;
    const isStop = msg instanceof Sys && msg.op.op === 'stop';
    if (this.initialized && !isStop && this.def.onCrash) {
      let decision: CrashDecision | void = undefined;
      try {
        decision = this.def.onCrash(err, userMsg, this.actor.state, this.ctx);
      } catch (e) {
        this.ctx.log.error({ err: e }, 'onCrash threw; the actor crashes');
      }
      if (decision === 'resume') {
        this.ctx.log.warn({ err }, 'handler threw; resumed');
        return nctx.resume;
      }
    }
    this.exitReason ??= Exit.error(err);
    if (!this.initialized) this.failReady(err);
    return nctx.stop;
  };

  // ---- readiness, death

  /** Resolves once `init` has returned; rejects if the actor died before. */
  whenReady(): Promise<void> {
    if (this.initialized) return Promise.resolve();
    if (this.dead) return Promise.reject(this.initError ?? new AskError('exit', this.path, this.exitReason));
    return new Promise((resolve, reject) => (this.readyWaiters ??= []).push({ resolve, reject }));
  }

  private failReady(err: unknown): void {
    this.initError ??= err;
    const waiters = this.readyWaiters;
    this.readyWaiters = undefined;
    if (waiters) for (const w of waiters) w.reject(err);
  }

  addDeathWatcher(fn: (r: ExitReason) => void): void {
    (this.deathWatchers ??= new Set()).add(fn);
  }

  removeDeathWatcher(fn: (r: ExitReason) => void): void {
    this.deathWatchers?.delete(fn);
  }

  /** Resolves with the exit reason when this incarnation has stopped. */
  whenDead(): Promise<ExitReason> {
    if (this.dead) return Promise.resolve(this.exitReason ?? Exit.killed);
    return new Promise((resolve) => this.addDeathWatcher(resolve));
  }

  /** Stops now (synchronously, with the subtree); `reason` unless one is already recorded. */
  kill(reason: ExitReason): void {
    if (this.dead) return;
    this.exitReason ??= reason;
    this.actor.stop();
  }

  /** Called by the patched nact stop, after the actor and its subtree stopped. */
  terminated(): void {
    if (this.dead) return;
    this.dead = true;
    const parentStopping = this.parent !== undefined && (this.parent.dead || this.parent.stopping);
    const reason = this.exitReason ?? (parentStopping || this.runtime.stopping ? Exit.shutdown : Exit.killed);
    this.exitReason = reason;
    this.timers?.cancelAll();
    const owned = this.owned;
    this.owned = undefined;
    if (owned) {
      for (let i = owned.length - 1; i >= 0; i--) {
        const r = releaseOne(owned[i]!, this);
        if (isThenable(r)) Promise.resolve(r).catch((err: unknown) => this.ctx.log.warn({ err }, 'closing an owned resource failed'));
      }
    }
    if (this.runtime.cells.get(this.path) === this) this.runtime.cells.delete(this.path);
    this.parent?.kids.delete(this);
    if (this.monitoring) {
      for (const [id, target] of this.monitoring) target.monitoredBy?.delete(id);
      this.monitoring = undefined;
    }
    if (this.monitoredBy) {
      for (const [id, w] of this.monitoredBy) {
        w.monitoring?.delete(id);
        if (!w.dead && !w.stopping) {
          const down: Down = { type: 'DOWN', monitor: id, path: this.path, incarnation: this.meta.incarnation, reason };
          w.enqueue(down);
        }
      }
      this.monitoredBy = undefined;
    }
    if (!this.initialized) this.failReady(reason.kind === 'error' ? reason.error : new AskError('exit', this.path, reason));
    const watchers = this.deathWatchers;
    this.deathWatchers = undefined;
    if (watchers) {
      for (const fn of watchers) {
        try {
          fn(reason);
        } catch (err) {
          this.runtime.logger.error({ err, actor: this.path }, 'exit watcher threw');
        }
      }
    }
    if (!parentStopping) {
      try {
        this.meta.notifyExit?.(reason, this);
      } catch (err) {
        this.runtime.logger.error({ err, actor: this.path }, 'exit notification threw');
      }
    }
    this.runtime.recordExit(this, reason);
    if (reason.kind === 'error') this.ctx.log.warn({ err: reason.error }, 'actor crashed');
    else this.ctx.log.debug({ reason: formatReason(reason) }, 'actor stopped');
  }
}

installStopPatch({
  stopping(actor) {
    const c = cellOf.get(actor);
    if (c !== undefined) c.stopping = true;
  },
  stopped(actor) {
    cellOf.get(actor)?.terminated();
  },
});

/** The cell behind a context (for the supervisor module). @internal */
export function cellOfContext(ctx: ActorContext<unknown>): Cell {
  return (ctx as unknown as { cell: Cell }).cell;
}

// ---------------------------------------------------------------------------------------------
// Runtime, registry, introspection

export interface RuntimeOptions {
  /** nact system name (random by default). */
  readonly name?: string;
  readonly scheduler?: Scheduler;
  /** Random source in [0,1) for backoff jitter (inject for deterministic tests). */
  readonly random?: () => number;
  /** Parent logger; each actor logs through `logger.child({ actor: path })`. Default: a silent logger. */
  readonly logger?: Logger;
}

let silent: Logger | undefined;

/** The default logger of a runtime given none: writes nothing (a library stays quiet unless told). */
function silentLogger(): Logger {
  return (silent ??= pino({ level: 'silent' }));
}

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

export type KillMode = 'kill' | 'crash' | 'socket' | 'stall';

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

let systemSeq = 0;

/** Path globs as `list` reads them: `*` one segment, `**` any number, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  const esc = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  const body = esc
    .split('**')
    .map((part) => part.replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

export class Runtime {
  readonly name: string;
  readonly scheduler: Scheduler;
  readonly random: () => number;
  readonly logger: Logger;
  /** Live actors by path. */
  readonly cells = new Map<string, Cell>();
  stopping = false;
  private readonly system: NactSystem;
  private readonly deadLetterCounts = new Map<string, number>();
  private deadLetterTotal = 0;
  /** Ring of the last RECENT_EXITS exits; `exitSeq` numbers them. */
  private readonly exits: ExitRecord[] = [];
  private exitSeq = 0;
  private seq = 0;
  private monitorSeq = 0;

  constructor(opts: RuntimeOptions = {}) {
    this.name = opts.name ?? `peerd-${process.pid}-${++systemSeq}-${Math.floor(Math.random() * 1e9).toString(36)}`;
    this.scheduler = opts.scheduler ?? realScheduler;
    this.random = opts.random ?? Math.random;
    this.logger = opts.logger ?? silentLogger();
    nact.start({ name: this.name });
    const sys = findSystem(this.name);
    if (sys === undefined) throw new Error(`nact system ${this.name} did not start`);
    this.system = sys;
    patchSystemStop(sys);
  }

  /** Spawns a top-level (unsupervised) actor. */
  spawn<S, M, A>(def: ActorDef<S, M, A>, args: A, opts?: SpawnOptions): Ref<M> {
    return this.spawnCell(undefined, def, args, opts, { kind: def.kind ?? 'worker', incarnation: 1, restarts: 0 }).ref as Ref<M>;
  }

  /** @internal */
  spawnCell<S, M, A>(parent: Cell | undefined, def: ActorDef<S, M, A>, args: A, opts: SpawnOptions | undefined, meta: CellMeta): Cell {
    if (this.stopping) throw new Error('runtime is stopping');
    if (parent !== undefined && (parent.dead || parent.stopping)) throw new AskError('noproc', parent.path, Exit.noproc);
    const name = opts?.name ?? `${def.name ?? 'actor'}-${++this.seq}`;
    const cell = new Cell(this, parent, def as unknown as ErasedDef, name, meta);
    const parentRef = parent ? parent.actor.reference : this.system.reference;
    nact.spawn(parentRef, cell.handler, name, { onCrash: cell.onCrash });
    const actor = (parent ? parent.actor.children : this.system.children).get(name);
    if (actor === undefined) throw new Error(`spawn of ${cell.path} failed`);
    cell.attach(actor);
    actor.dispatch(new Sys({ op: 'init', args }));
    return cell;
  }

  /** @internal */
  monitorFrom(watcher: Cell, target: RefBase): number {
    const id = ++this.monitorSeq;
    const t = this.cells.get(target.path);
    if (t === undefined || t.dead) {
      const down: Down = { type: 'DOWN', monitor: id, path: target.path, incarnation: 0, reason: Exit.noproc };
      watcher.enqueue(down);
      return id;
    }
    (t.monitoredBy ??= new Map()).set(id, watcher);
    (watcher.monitoring ??= new Map()).set(id, t);
    return id;
  }

  /**
   * Calls `fn` once when the actor now alive at `target`'s path exits (immediately with
   * `noproc` if none). For code outside actors (tests, the tree handle). Returns an unwatch.
   */
  watch(target: RefBase, fn: (reason: ExitReason) => void): () => void {
    const t = this.cells.get(target.path);
    if (t === undefined || t.dead) {
      fn(Exit.noproc);
      return () => {};
    }
    t.addDeathWatcher(fn);
    return () => t.removeDeathWatcher(fn);
  }

  /** @internal */
  deadLetter(_path: string, msg: unknown): void {
    const type =
      typeof msg === 'object' && msg !== null && 'type' in msg && typeof (msg as { type: unknown }).type === 'string'
        ? (msg as { type: string }).type
        : msg instanceof Sys
          ? `$sys:${msg.op.op}`
          : typeof msg;
    this.deadLetterTotal++;
    this.deadLetterCounts.set(type, (this.deadLetterCounts.get(type) ?? 0) + 1);
  }

  /** Messages sent to dead actors, by message `type`. */
  deadLetters(): { total: number; byType: Record<string, number> } {
    return { total: this.deadLetterTotal, byType: Object.fromEntries(this.deadLetterCounts) };
  }

  /** @internal Called once per exit, by the cell that stopped. */
  recordExit(c: Cell, reason: ExitReason): void {
    const rec: ExitRecord = { seq: ++this.exitSeq, path: c.path, kind: c.meta.kind, reason: formatReason(reason), reasonKind: reason.kind, at: Date.now() };
    if (this.exits.length >= RECENT_EXITS) this.exits.shift();
    this.exits.push(rec);
  }

  /** The last {@link RECENT_EXITS} actor exits (any reason, shutdowns included), newest first. */
  recentExits(): ExitRecord[] {
    return this.exits.slice().reverse();
  }

  /** Typed lookup of a live actor by path (the caller asserts the message type). */
  refOf<M>(path: string): Ref<M> | undefined {
    return this.cells.get(path)?.ref as Ref<M> | undefined;
  }

  /** The underlying nact reference (interop, and proving the stop patch with nact's own `stop`). */
  nactRefOf(path: string): NactRef | undefined {
    return this.cells.get(path)?.actor.reference;
  }

  info(path: string): ActorInfo | undefined {
    const c = this.cells.get(path);
    return c === undefined ? undefined : this.describe(c);
  }

  private describe(c: Cell): ActorInfo {
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
      uptimeMs: this.scheduler.now() - c.startedAt,
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

  /** Flat snapshot of every live actor, optionally filtered by a glob (`*`, `**`) or RegExp on the path. */
  list(pattern?: string | RegExp): ActorInfo[] {
    const re = pattern === undefined ? undefined : typeof pattern === 'string' ? globToRegExp(pattern) : pattern;
    const out: ActorInfo[] = [];
    for (const c of this.cells.values()) if (re === undefined || re.test(c.path)) out.push(this.describe(c));
    return out;
  }

  /** Nested snapshot from the top-level actors down. */
  tree(): TreeNode[] {
    const node = (c: Cell): TreeNode => ({ ...this.describe(c), children: [...c.kids].map(node) });
    return [...this.cells.values()].filter((c) => c.parent === undefined).map(node);
  }

  /**
   * Chaos and admin entry point. `kill`: stop from outside (reason killed); `crash`: throw inside
   * its handler (reason error); `socket`: the actor's own chaos hook; `stall`: block its mailbox
   * for `ms`. Returns false if there is no such actor (or no socket hook).
   */
  kill(path: string, mode: KillMode = 'kill', opts: { ms?: number } = {}): boolean {
    const c = this.cells.get(path);
    if (c === undefined || c.dead) return false;
    switch (mode) {
      case 'kill':
        c.kill(Exit.killed);
        return true;
      case 'crash':
        c.enqueue(new Sys({ op: 'crash' }));
        return true;
      case 'socket':
        if (!c.def.chaos?.socket) return false;
        c.enqueue(new Sys({ op: 'socket' }));
        return true;
      case 'stall':
        c.enqueue(new Sys({ op: 'stall', ms: opts.ms ?? 1000 }));
        return true;
    }
  }

  /** True when no actor is busy or has queued messages (a settling aid for tests and tools). */
  idle(): boolean {
    for (const c of this.cells.values()) {
      if (c.actor.busy || c.actor.mailbox.length > 0 || !c.initialized) return false;
      for (const k of c.timerKeys()) if (k.startsWith('$restart:')) return false;
    }
    return true;
  }

  /** Number of live nact actors under this system (walks nact's own tree: orphans cannot hide from it). */
  nactActorCount(): number {
    let n = 0;
    const walk = (m: Map<string, NactActor>): void => {
      for (const a of m.values()) {
        n++;
        walk(a.children);
      }
    };
    walk(this.system.children);
    return n;
  }

  /**
   * Graceful stop: top-level actors are shut down in reverse start order (each waits for its
   * subtree's cleanup within its shutdown time), then the nact system is stopped.
   */
  async stop(): Promise<void> {
    const tops = [...this.cells.values()].filter((c) => c.parent === undefined).reverse();
    for (const c of tops) await shutdownCell(c, c.meta.shutdown ?? (c.meta.kind === 'worker' ? 5000 : Infinity), Exit.shutdown);
    this.halt();
  }

  /** Brutal stop of everything, synchronously (every cell still releases its resources). */
  halt(): void {
    this.stopping = true;
    this.system.stop();
  }
}

/**
 * OTP-style shutdown of one actor: `brutal_kill` stops it at once (reason killed); a time in
 * ms asks it to stop (it runs `terminate` and closes what it owns, after the messages already
 * queued) and kills it if it has not stopped in time. Resolves when it is gone. @internal
 */
export async function shutdownCell(cell: Cell, shutdown: 'brutal_kill' | number, reason: ExitReason): Promise<void> {
  if (cell.dead) return;
  if (shutdown === 'brutal_kill' || shutdown <= 0) {
    cell.kill(Exit.killed);
    return;
  }
  const dead = cell.whenDead();
  cell.enqueue(new Sys({ op: 'stop', reason }));
  if (Number.isFinite(shutdown)) {
    let cancel: Cancel = () => {};
    const timedOut = new Promise<'timeout'>((resolve) => {
      cancel = cell.runtime.scheduler.setTimeout(() => resolve('timeout'), shutdown, true);
    });
    const r = await Promise.race([dead, timedOut]);
    cancel();
    if (r === 'timeout') cell.kill(Exit.killed);
  } else {
    await dead;
  }
}
