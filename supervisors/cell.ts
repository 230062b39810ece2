/**
 * One live incarnation of an actor. Every actor is a nact actor whose handler is a thin shell
 * around an `ActorDef`; its `Cell` holds what nact does not: the exit reason, timers, monitors,
 * owned resources, counters. nact's `stop` is patched when this module loads (see nact.ts) so
 * stopping an actor stops its subtree, and the patched stop calls back into the cell, which
 * releases everything synchronously.
 */
import { Exit, formatReason, type ExitReason } from './exit.js';
import type { RestartType } from './decisions.js';
import type { Cancel } from './scheduler.js';
import { installStopPatch, type NactActor, type NactSupervisionContext } from './nact.js';
import { ActorRefImpl, type Mailbox, type Mailboxes, type Ref, type RefBase } from './ref.js';
import { AskError } from './messaging.js';
import type { ActorContext, ActorDef, ActorSystem, Closeable, CrashDecision, Down, SpawnOptions } from './actor.js';
import { ContextImpl, TimerSet, isThenable, releaseOne, type ContextCell } from './context.js';
import type { ActorInfo, ActorKind } from './introspect.js';
import { InjectedCrash, Sys, type SysOp } from './sys.js';

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

/** @internal */
export type ErasedDef = ActorDef<unknown, unknown, unknown>;

/** What a cell uses of its runtime (runtime.ts's `Runtime`): the registry, spawning, exits, dead letters. @internal */
export interface CellHost extends ActorSystem, Mailboxes {
  readonly cells: Map<string, Cell>;
  readonly stopping: boolean;
  spawnCell<S, M, A>(parent: Cell | undefined, def: ActorDef<S, M, A>, args: A, opts: SpawnOptions | undefined, meta: CellMeta): Cell;
  monitorFrom(watcher: Cell, target: RefBase): number;
  recordExit(c: Cell, reason: ExitReason): void;
}

const cellOf = new WeakMap<NactActor, Cell>();

/** One live incarnation of an actor. @internal */
export class Cell implements ContextCell, Mailbox {
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
    readonly runtime: CellHost,
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

  spawnChild<S, M, A>(def: ActorDef<S, M, A>, args: A, opts: SpawnOptions | undefined): Ref<M> {
    return this.runtime.spawnCell(this, def, args, opts, { kind: def.kind ?? 'worker', incarnation: 1, restarts: 0 }).ref as Ref<M>;
  }

  monitor(target: RefBase): number {
    return this.runtime.monitorFrom(this, target);
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
    // An init that throws is reported by whoever started the actor (its supervisor, or the caller of
    // spawn/startTree, who gets the error): here only at debug, so a failed start is said once.
    if (reason.kind === 'error') {
      if (this.initialized) this.ctx.log.warn({ err: reason.error }, 'actor crashed');
      else this.ctx.log.debug({ err: reason.error }, 'actor failed to start');
    }
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

/** The cell behind a context (for the supervisor module). @internal */
export function cellOfContext(ctx: ActorContext<unknown>): Cell {
  return (ctx as unknown as { cell: Cell }).cell;
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
