/**
 * The actor context (`ctx`) and its keyed timers. Both are views of the actor's cell: a timer
 * fires into the cell's mailbox, an owned resource is released by the cell when it stops.
 */
import type { Logger } from 'pino';
import { Exit, type ExitReason } from './exit.js';
import type { Cancel } from './scheduler.js';
import type { Ref, RefBase } from './ref.js';
import type { ActorContext, ActorDef, ActorSystem, Closeable, Down, SpawnOptions, Timers } from './actor.js';
import { Sys } from './sys.js';

/** What a context and its timers use of their cell (cell.ts's `Cell`). @internal */
export interface ContextCell {
  readonly path: string;
  readonly meta: { readonly incarnation: number };
  readonly runtime: ActorSystem;
  readonly dead: boolean;
  readonly inHandler: boolean;
  stopRequest: ExitReason | undefined;
  owned: Closeable[] | undefined;
  monitoring: Map<number, { readonly monitoredBy: Map<number, unknown> | undefined }> | undefined;
  readonly ctx: { readonly log: Logger };
  enqueue(msg: unknown): void;
  timerSet(): TimerSet<unknown>;
  /** Spawns an unsupervised child of this cell. */
  spawnChild<S, M, A>(def: ActorDef<S, M, A>, args: A, opts: SpawnOptions | undefined): Ref<M>;
  /** This cell monitors `target`; returns the monitor id. */
  monitor(target: RefBase): number;
}

interface TimerEntry {
  cancel: Cancel;
}

/** An actor's keyed timers; every one is cancelled when the actor stops. @internal */
export class TimerSet<M> implements Timers<M> {
  private readonly entries = new Map<string, TimerEntry>();
  constructor(private readonly cell: ContextCell) {}

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

/** The `ctx` an actor's init, handle and terminate get. @internal */
export class ContextImpl<M> implements ActorContext<M> {
  private logger: Logger | undefined;
  constructor(
    private readonly cell: ContextCell,
    readonly self: Ref<M>,
  ) {}

  get path(): string {
    return this.cell.path;
  }
  get incarnation(): number {
    return this.cell.meta.incarnation;
  }
  get runtime(): ActorSystem {
    return this.cell.runtime;
  }
  get log(): Logger {
    return (this.logger ??= this.cell.runtime.logger.child({ actor: this.cell.path }));
  }
  get timers(): Timers<M> {
    return this.cell.timerSet() as TimerSet<M>;
  }
  now(): number {
    return this.cell.runtime.scheduler.wallNow();
  }

  spawn<S2, M2, A2>(def: ActorDef<S2, M2, A2>, args: A2, opts?: SpawnOptions): Ref<M2> {
    return this.cell.spawnChild(def, args, opts);
  }

  monitor(target: RefBase, ..._mustAcceptDown: Down extends M ? [] : [never]): number {
    return this.cell.monitor(target);
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

/** Releases one owned resource (destroy, close or call); a throw is logged. @internal */
export function releaseOne(r: Closeable, cell: Pick<ContextCell, 'ctx'>): unknown {
  try {
    if (typeof r === 'function') return r();
    if ('destroy' in r && typeof r.destroy === 'function') return r.destroy();
    if ('close' in r && typeof r.close === 'function') return r.close();
  } catch (err) {
    cell.ctx.log.warn({ err }, 'releasing an owned resource threw');
  }
  return undefined;
}

/** @internal */
export function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}
