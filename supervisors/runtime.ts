/**
 * The runtime: one nact system, the registry of live actors by path, monitors and `watch`,
 * dead letters, recent exits, introspection (`list`, `tree`, `info`), the chaos `kill`
 * entry point and an orderly `stop`.
 */
import { pino, type Logger } from 'pino';
import { Exit, formatReason, type ExitReason } from './exit.js';
import { realScheduler, type Scheduler } from './scheduler.js';
import { findSystem, nact, patchSystemStop, type NactActor, type NactRef, type NactSystem } from './nact.js';
import type { ActorName, Ref, RefBase } from './ref.js';
import { AskError } from './messaging.js';
import type { ActorDef, ActorSystem, Down, SpawnOptions } from './actor.js';
import { Cell, describeCell, shutdownCell, type CellHost, type CellMeta, type ErasedDef } from './cell.js';
import { Sys } from './sys.js';
import { RECENT_EXITS, globToRegExp, type ActorInfo, type ExitRecord, type KillMode, type TreeNode } from './introspect.js';

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

let systemSeq = 0;

export class Runtime implements ActorSystem, CellHost {
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

  /** The live actor a name stands for, typed by the name (contracts declare names); undefined when none is alive there. */
  lookup<M>(name: ActorName<M>): Ref<M> | undefined {
    return this.cells.get(name.path)?.ref as Ref<M> | undefined;
  }

  /** The live actor at a path; the caller asserts the message type (unchecked: prefer `lookup` with a name). */
  refOf<M>(path: string): Ref<M> | undefined {
    return this.cells.get(path)?.ref as Ref<M> | undefined;
  }

  /** The underlying nact reference (interop, and proving the stop patch with nact's own `stop`). */
  nactRefOf(path: string): NactRef | undefined {
    return this.cells.get(path)?.actor.reference;
  }

  info(path: string): ActorInfo | undefined {
    const c = this.cells.get(path);
    return c === undefined ? undefined : describeCell(c);
  }

  /** Flat snapshot of every live actor, optionally filtered by a glob (`*`, `**`) or RegExp on the path. */
  list(pattern?: string | RegExp): ActorInfo[] {
    const re = pattern === undefined ? undefined : typeof pattern === 'string' ? globToRegExp(pattern) : pattern;
    const out: ActorInfo[] = [];
    for (const c of this.cells.values()) if (re === undefined || re.test(c.path)) out.push(describeCell(c));
    return out;
  }

  /** Nested snapshot from the top-level actors down. */
  tree(): TreeNode[] {
    const node = (c: Cell): TreeNode => ({ ...describeCell(c), children: [...c.kids].map(node) });
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
