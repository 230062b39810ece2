/**
 * OTP supervisors on the runtime: static (`one_for_one`, `one_for_all`, `rest_for_one`) with
 * ordered start and reverse-order shutdown, and the dynamic supervisor (`simple_one_for_one`)
 * for thousands of children of one spec. Restart intensity, backoff and exit reasons follow
 * OTP's `supervisor`; the decisions themselves are the pure functions of decisions.ts.
 *
 * A supervisor only sees control messages (its children's EXITs, restarts, admin requests):
 * traffic to a child goes straight to the child's mailbox, never through its supervisor.
 */
import { P, match } from 'ts-pattern';
import { Exit, formatReason, type ExitReason } from './exit.js';
import {
  NO_BACKOFF,
  backoffDelay,
  nextBackoffCount,
  recordRestart,
  restartPlan,
  shouldRestart,
  type BackoffOptions,
  type RestartType,
  type Strategy,
} from './decisions.js';
import { defineActor, type ActorContext, type ActorDef, type ActorSystem, type SpawnOptions } from './actor.js';
import { cellOfContext, shutdownCell, type Cell, type CellMeta } from './cell.js';
import { ask, tell } from './messaging.js';
import type { Ref, RefBase } from './ref.js';
import type { Runtime } from './runtime.js';

export type Shutdown = 'brutal_kill' | number;
export type ChildType = 'worker' | 'supervisor';

/** What a child spec's start function gets: spawn exactly one actor (named after the id by default). */
export interface StartContext {
  readonly id: string;
  spawn<S, M, A>(def: ActorDef<S, M, A>, args: A, opts?: SpawnOptions): Promise<Ref<M>>;
}

export interface ChildSpec {
  readonly id: string;
  /** Starts the child; resolves once its `init` has returned (children start one after another). */
  readonly start: (ctx: StartContext) => Promise<RefBase> | RefBase;
  /** Default `permanent`. */
  readonly restart?: RestartType;
  /** Default 5000 ms for workers, Infinity for supervisors. */
  readonly shutdown?: Shutdown;
  /** Default `worker`. */
  readonly type?: ChildType;
  /** Overrides the supervisor's backoff for this child. */
  readonly backoff?: BackoffOptions;
}

export interface SupervisorFlags {
  /** Default `one_for_one`. */
  readonly strategy?: Strategy;
  /** At most `intensity` restarts in `period` seconds (OTP default 1 in 5). */
  readonly intensity?: number;
  readonly period?: number;
  /** Default backoff for the children's restarts (default none: immediate, as in OTP). */
  readonly backoff?: BackoffOptions;
}

export interface SupervisorOptions extends SupervisorFlags {
  readonly children: readonly ChildSpec[];
}

export interface ChildStatus {
  readonly id: string;
  readonly path: string | undefined;
  readonly running: boolean;
  readonly restart: RestartType;
  readonly type: ChildType;
  readonly incarnation: number;
  readonly restarts: number;
  readonly lastExit?: string;
}

export type StartChildResult<M> = { readonly ok: true; readonly ref: Ref<M> } | { readonly ok: false; readonly error: 'max_children' | 'already_present' | 'start_failed'; readonly message: string };

/** The messages both kinds of supervisor handle alike (a child's exit, a restart, which_children). */
type CommonMsg =
  | { readonly type: 'EXIT'; readonly id: string; readonly incarnation: number; readonly reason: ExitReason }
  | { readonly type: 'RESTART'; readonly ids: readonly string[] }
  | { readonly type: 'WHICH_CHILDREN'; readonly replyTo: Ref<ChildStatus[]> };

/** The static supervisor's messages. */
export type SupMsg =
  | CommonMsg
  | { readonly type: 'START_CHILD'; readonly spec: ChildSpec; readonly replyTo: Ref<StartChildResult<unknown>> }
  | { readonly type: 'TERMINATE_CHILD'; readonly id: string; readonly replyTo: Ref<boolean> }
  | { readonly type: 'RESTART_CHILD'; readonly id: string; readonly replyTo: Ref<boolean> };

/** The dynamic supervisor's messages; `A` is the start argument, `M` the children's message type. */
export type DynMsg<A, M> =
  | CommonMsg
  | { readonly type: 'START_CHILD'; readonly args: A; readonly replyTo: Ref<StartChildResult<M>> }
  | { readonly type: 'TERMINATE_CHILD'; readonly id: string; readonly replyTo: Ref<boolean> }
  | { readonly type: 'COUNT_CHILDREN'; readonly replyTo: Ref<{ readonly active: number; readonly max: number }> };

export interface DynamicSupervisorOptions<S, M, A> {
  readonly def: ActorDef<S, M, A>;
  /** Default `temporary` (peers are replaced by the connection manager, not restarted). */
  readonly restart?: RestartType;
  readonly shutdown?: Shutdown;
  /** Default Infinity. */
  readonly maxChildren?: number;
  readonly intensity?: number;
  readonly period?: number;
  readonly backoff?: BackoffOptions;
  /** Child names (unique among live children); default `${def.name ?? 'child'}-${seq}`. */
  readonly childName?: (args: A, seq: number) => string;
}

export class SupervisorError extends Error {
  override readonly name = 'SupervisorError';
  constructor(
    readonly code: 'max_children' | 'already_present' | 'start_failed',
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Shared engine

interface ChildRec {
  readonly id: string;
  readonly start: (ctx: StartContext) => Promise<RefBase> | RefBase;
  readonly restart: RestartType;
  readonly shutdown: Shutdown;
  readonly type: ChildType;
  readonly backoff: BackoffOptions | undefined;
  cell: Cell | undefined;
  incarnation: number;
  restarts: number;
  backoffN: number;
  startedAt: number;
  lastExit: ExitReason | undefined;
  pending: boolean;
}

interface Flags {
  readonly strategy: Strategy;
  readonly intensity: number;
  readonly periodMs: number;
  readonly backoff: BackoffOptions;
}

interface SupState {
  readonly flags: Flags;
  readonly dynamic: boolean;
  readonly children: Map<string, ChildRec>;
  window: number[];
  escalated: boolean;
  seq: number;
  readonly maxChildren: number;
  readonly dyn: DynamicSupervisorOptions<unknown, unknown, unknown> | undefined;
  /** The runtime's clock (the restart window's timestamps are read on it). */
  readonly now: () => number;
}

const RESTART_KEY = '$restart:';

function flagsOf(o: SupervisorFlags): Flags {
  return {
    strategy: o.strategy ?? 'one_for_one',
    intensity: o.intensity ?? 1,
    periodMs: (o.period ?? 5) * 1000,
    backoff: o.backoff ?? NO_BACKOFF,
  };
}

function recOf(spec: ChildSpec): ChildRec {
  const type = spec.type ?? 'worker';
  return {
    id: spec.id,
    start: spec.start,
    restart: spec.restart ?? 'permanent',
    shutdown: spec.shutdown ?? (type === 'supervisor' ? Infinity : 5000),
    type,
    backoff: spec.backoff,
    cell: undefined,
    incarnation: 0,
    restarts: 0,
    backoffN: 0,
    startedAt: 0,
    lastExit: undefined,
    pending: false,
  };
}

function statusOf(r: ChildRec): ChildStatus {
  return {
    id: r.id,
    path: r.cell?.path,
    running: r.cell !== undefined,
    restart: r.restart,
    type: r.type,
    incarnation: r.incarnation,
    restarts: r.restarts,
    ...(r.lastExit ? { lastExit: formatReason(r.lastExit) } : {}),
  };
}

/** Starts one child under the supervisor `sup`; throws if the start function or the child's init fails. */
async function startRec(sup: Cell, rec: ChildRec): Promise<Cell> {
  const rt = sup.runtime;
  let spawned: Cell | undefined;
  const sc: StartContext = {
    id: rec.id,
    spawn: async <S, M, A>(def: ActorDef<S, M, A>, args: A, opts?: SpawnOptions): Promise<Ref<M>> => {
      if (spawned !== undefined) throw new Error(`child spec ${rec.id} must spawn exactly one actor`);
      const meta: CellMeta = {
        kind: def.kind ?? (rec.type === 'supervisor' ? 'supervisor' : 'worker'),
        restart: rec.restart,
        incarnation: rec.incarnation + 1,
        restarts: rec.restarts,
        ...(rec.lastExit ? { lastExit: rec.lastExit } : {}),
        shutdown: rec.shutdown,
        notifyExit: (reason, cell) => {
          if (!sup.dead && !sup.stopping) sup.enqueue({ type: 'EXIT', id: rec.id, incarnation: cell.meta.incarnation, reason } satisfies SupMsg);
        },
      };
      const cell = rt.spawnCell(sup, def, args, { name: opts?.name ?? rec.id }, meta);
      spawned = cell;
      await cell.whenReady();
      return cell.ref as Ref<M>;
    },
  };
  try {
    await rec.start(sc);
    if (spawned === undefined) throw new Error(`child spec ${rec.id} did not spawn an actor`);
    if (spawned.dead) throw new Error(`child ${rec.id} exited during start (${formatReason(spawned.exitReason ?? Exit.killed)})`);
  } catch (err) {
    if (spawned !== undefined && !spawned.dead) spawned.kill(Exit.killed);
    throw err;
  }
  rec.incarnation = spawned.meta.incarnation;
  rec.cell = spawned;
  rec.pending = false;
  rec.startedAt = rt.scheduler.now();
  return spawned;
}

async function shutdownRec(rec: ChildRec): Promise<void> {
  const c = rec.cell;
  rec.cell = undefined;
  if (c !== undefined) await shutdownCell(c, rec.shutdown, Exit.shutdown);
}

/** Stops every child: reverse start order for static supervisors, all at once for dynamic ones. */
async function shutdownChildren(st: SupState, ctx: ActorContext<unknown>): Promise<void> {
  for (const key of ctx.timers.keys()) if (key.startsWith(RESTART_KEY)) ctx.timers.cancel(key);
  const recs = [...st.children.values()];
  for (const r of recs) r.pending = false;
  if (st.dynamic) {
    await Promise.all(recs.map((r) => shutdownRec(r)));
  } else {
    for (let i = recs.length - 1; i >= 0; i--) await shutdownRec(recs[i]!);
  }
}

/** Counts a restart; past the intensity, stops all children and the supervisor itself (reason shutdown). */
async function countRestart(st: SupState, ctx: ActorContext<unknown>): Promise<boolean> {
  const rt = ctx.runtime;
  const { window, exceeded } = recordRestart(st.window, rt.scheduler.now(), st.flags.intensity, st.flags.periodMs);
  st.window = window;
  if (!exceeded) return true;
  ctx.log.error({ intensity: st.flags.intensity, periodMs: st.flags.periodMs }, 'reached max restart intensity; shutting down');
  st.escalated = true;
  await shutdownChildren(st, ctx);
  ctx.stop(Exit.shutdown);
  return false;
}

function scheduleRestart(st: SupState, ctx: ActorContext<unknown>, rec: ChildRec, ids: readonly string[]): number {
  const rt = ctx.runtime;
  const b = rec.backoff ?? st.flags.backoff;
  const { use, next } = nextBackoffCount(rec.backoffN, rt.scheduler.now() - rec.startedAt, b);
  rec.backoffN = next;
  for (const id of ids) {
    const r = st.children.get(id);
    if (r !== undefined) r.pending = true;
  }
  const delay = backoffDelay(use, b, rt.random());
  if (delay > 0) {
    ctx.timers.after(`${RESTART_KEY}${rec.id}`, delay, { type: 'RESTART', ids } satisfies SupMsg);
    ctx.log.info({ child: rec.id, delayMs: Math.round(delay) }, 'restart after backoff');
  }
  return delay;
}

/** (Re)starts the pending children among `ids`, in order. A failed start counts as a restart and is retried. */
async function restartIds(st: SupState, ctx: ActorContext<unknown>, ids: readonly string[]): Promise<void> {
  const sup = cellOfContext(ctx);
  for (let i = 0; i < ids.length; i++) {
    const rec = st.children.get(ids[i]!);
    if (rec === undefined || rec.cell !== undefined || !rec.pending) continue;
    rec.restarts++;
    try {
      await startRec(sup, rec);
      ctx.log.info({ child: rec.id, incarnation: rec.incarnation }, 'child restarted');
    } catch (err) {
      rec.lastExit = Exit.error(err);
      ctx.log.warn({ child: rec.id, err }, 'child failed to restart');
      if (!(await countRestart(st, ctx))) return;
      const rest = ids.slice(i);
      if (scheduleRestart(st, ctx, rec, rest) === 0) tell(ctx.self as unknown as Ref<SupMsg>, { type: 'RESTART', ids: rest });
      return;
    }
  }
}

async function onExit(st: SupState, ctx: ActorContext<unknown>, id: string, incarnation: number, reason: ExitReason): Promise<SupState> {
  const rec = st.children.get(id);
  if (rec === undefined || rec.cell === undefined || rec.cell.meta.incarnation !== incarnation || st.escalated) return st;
  rec.cell = undefined;
  rec.lastExit = reason;
  if (!shouldRestart(rec.restart, reason)) {
    ctx.log.debug({ child: id, reason: formatReason(reason) }, 'child exited; not restarted');
    if (rec.restart === 'temporary' || st.dynamic) st.children.delete(id);
    return st;
  }
  ctx.log.info({ child: id, reason: formatReason(reason) }, 'child exited; restarting');
  if (!(await countRestart(st, ctx))) return st;
  const plan = st.dynamic
    ? { terminate: [], restart: [id], remove: [] }
    : restartPlan(
        st.flags.strategy,
        [...st.children.values()].map((c) => ({ id: c.id, restart: c.restart, running: c.cell !== undefined })),
        id,
      );
  for (const tid of plan.terminate) {
    const t = st.children.get(tid);
    if (t !== undefined) await shutdownRec(t);
  }
  for (const rid of plan.remove) st.children.delete(rid);
  if (scheduleRestart(st, ctx, rec, plan.restart) === 0) await restartIds(st, ctx, plan.restart);
  return st;
}

/** A supervisor's state before any child has started (`dyn` for a dynamic supervisor). */
function initialState(rt: ActorSystem, flags: Flags, dyn?: DynamicSupervisorOptions<unknown, unknown, unknown>): SupState {
  return {
    flags,
    dynamic: dyn !== undefined,
    children: new Map(),
    window: [],
    escalated: false,
    seq: 0,
    maxChildren: dyn?.maxChildren ?? Infinity,
    dyn,
    now: () => rt.scheduler.now(),
  };
}

/** EXIT, RESTART and WHICH_CHILDREN, the same for both kinds of supervisor. */
function handleCommon(st: SupState, msg: CommonMsg, ctx: ActorContext<unknown>): SupState | Promise<SupState> {
  return match(msg)
    .with({ type: 'EXIT' }, (m) => onExit(st, ctx, m.id, m.incarnation, m.reason))
    .with({ type: 'RESTART' }, async (m) => {
      if (!st.escalated) await restartIds(st, ctx, m.ids);
      return st;
    })
    .with({ type: 'WHICH_CHILDREN' }, (m) => {
      tell(m.replyTo, [...st.children.values()].map(statusOf));
      return st;
    })
    .exhaustive();
}

const COMMON = { type: P.union('EXIT', 'RESTART', 'WHICH_CHILDREN') } as const;

/** start_child's common part: adds `rec` and starts it; replies with its ref, or start_failed (and forgets it). */
async function addAndStart(st: SupState, ctx: ActorContext<unknown>, rec: ChildRec, replyTo: Ref<StartChildResult<unknown>>): Promise<SupState> {
  st.children.set(rec.id, rec);
  try {
    const cell = await startRec(cellOfContext(ctx), rec);
    tell(replyTo, { ok: true, ref: cell.ref });
  } catch (err) {
    st.children.delete(rec.id);
    tell(replyTo, { ok: false, error: 'start_failed', message: err instanceof Error ? err.message : String(err) });
  }
  return st;
}

function summarize(st: SupState): unknown {
  let running = 0;
  const pending: string[] = [];
  for (const c of st.children.values()) {
    if (c.cell !== undefined) running++;
    if (c.pending) pending.push(c.id);
  }
  return {
    strategy: st.dynamic ? 'simple_one_for_one' : st.flags.strategy,
    children: st.children.size,
    running,
    ...(pending.length > 0 ? { pending: pending.slice(0, 10) } : {}),
    // Restarts still inside the period now (the window itself is pruned only at the next restart).
    restartsInPeriod: st.window.filter((t) => st.now() - t < st.flags.periodMs).length,
    intensity: `${st.flags.intensity}/${st.flags.periodMs / 1000}s`,
    maxRestarts: st.flags.intensity,
    periodMs: st.flags.periodMs,
    ...(st.dynamic ? { maxChildren: st.maxChildren } : {}),
  };
}

async function terminate(st: SupState, _reason: ExitReason, ctx: ActorContext<unknown>): Promise<void> {
  await shutdownChildren(st, ctx);
}

// ---------------------------------------------------------------------------------------------
// Static supervisor

/** The static supervisor actor (start it with `supervisor(...)` as a child or `startSupervisor` at the top). */
export const supervisorDef: ActorDef<SupState, SupMsg, SupervisorOptions> = defineActor<SupState, SupMsg, SupervisorOptions>({
  name: 'sup',
  kind: 'supervisor',
  async init(opts, ctx) {
    const st = initialState(ctx.runtime, flagsOf(opts));
    const sup = cellOfContext(ctx as ActorContext<unknown>);
    for (const spec of opts.children) {
      if (st.children.has(spec.id)) throw new Error(`duplicate child id ${spec.id}`);
      st.children.set(spec.id, recOf(spec));
    }
    for (const rec of st.children.values()) {
      try {
        await startRec(sup, rec);
      } catch (err) {
        // The error goes on up to whoever starts this supervisor (a parent reports a failed restart
        // at warn; startTree's caller gets it): said once there, not at every level of the tree.
        ctx.log.debug({ child: rec.id, err }, 'child failed to start; supervisor init fails');
        await shutdownChildren(st, ctx as ActorContext<unknown>);
        throw err;
      }
    }
    return st;
  },
  handle(st, msg, ctx0) {
    const ctx = ctx0 as ActorContext<unknown>;
    return match(msg)
      .with(COMMON, (m) => handleCommon(st, m, ctx))
      .with({ type: 'START_CHILD' }, async (m) => {
        if (st.children.has(m.spec.id)) {
          tell(m.replyTo, { ok: false, error: 'already_present', message: `child ${m.spec.id} already present` });
          return st;
        }
        return addAndStart(st, ctx, recOf(m.spec), m.replyTo);
      })
      .with({ type: 'TERMINATE_CHILD' }, async (m) => {
        const rec = st.children.get(m.id);
        if (rec !== undefined) {
          rec.pending = false;
          ctx.timers.cancel(`${RESTART_KEY}${rec.id}`);
          await shutdownRec(rec);
          if (rec.restart === 'temporary') st.children.delete(rec.id);
        }
        tell(m.replyTo, rec !== undefined);
        return st;
      })
      .with({ type: 'RESTART_CHILD' }, async (m) => {
        const rec = st.children.get(m.id);
        if (rec === undefined || rec.cell !== undefined) {
          tell(m.replyTo, false);
          return st;
        }
        try {
          await startRec(cellOfContext(ctx), rec);
          tell(m.replyTo, true);
        } catch (_err) {
          tell(m.replyTo, false);
        }
        return st;
      })
      .exhaustive();
  },
  terminate: (st, reason, ctx) => terminate(st, reason, ctx as ActorContext<unknown>),
  summarize,
});

// ---------------------------------------------------------------------------------------------
// Dynamic supervisor

type ErasedDynMsg = DynMsg<unknown, unknown>;
type ErasedDynOptions = DynamicSupervisorOptions<unknown, unknown, unknown>;

function dynRec(st: SupState, dyn: ErasedDynOptions, args: unknown, name: string): ChildRec {
  return recOf({
    id: name,
    start: (sc) => sc.spawn(dyn.def, args, { name }),
    restart: dyn.restart ?? 'temporary',
    ...(dyn.shutdown !== undefined ? { shutdown: dyn.shutdown } : {}),
    ...(dyn.backoff !== undefined ? { backoff: dyn.backoff } : {}),
  });
}

const dynamicDef: ActorDef<SupState, ErasedDynMsg, ErasedDynOptions> = defineActor<SupState, ErasedDynMsg, ErasedDynOptions>({
  name: 'dynsup',
  kind: 'dynamic_supervisor',
  init(opts, ctx) {
    const flags = flagsOf({ strategy: 'one_for_one', ...(opts.intensity !== undefined ? { intensity: opts.intensity } : {}), ...(opts.period !== undefined ? { period: opts.period } : {}), ...(opts.backoff ? { backoff: opts.backoff } : {}) });
    return initialState(ctx.runtime, flags, opts);
  },
  handle(st, msg, ctx0) {
    const ctx = ctx0 as ActorContext<unknown>;
    const dyn = st.dyn!;
    return match(msg)
      .with(COMMON, (m) => handleCommon(st, m, ctx))
      .with({ type: 'COUNT_CHILDREN' }, (m) => {
        let active = 0;
        for (const c of st.children.values()) if (c.cell !== undefined) active++;
        tell(m.replyTo, { active, max: st.maxChildren });
        return st;
      })
      .with({ type: 'START_CHILD' }, async (m) => {
        if (st.children.size >= st.maxChildren) {
          tell(m.replyTo, { ok: false, error: 'max_children', message: `max_children (${st.maxChildren}) reached` });
          return st;
        }
        const seq = ++st.seq;
        const name = dyn.childName ? dyn.childName(m.args, seq) : `${dyn.def.name ?? 'child'}-${seq}`;
        if (st.children.has(name)) {
          tell(m.replyTo, { ok: false, error: 'already_present', message: `child ${name} already present` });
          return st;
        }
        return addAndStart(st, ctx, dynRec(st, dyn, m.args, name), m.replyTo);
      })
      .with({ type: 'TERMINATE_CHILD' }, async (m) => {
        const rec = st.children.get(m.id);
        if (rec !== undefined) {
          st.children.delete(m.id);
          ctx.timers.cancel(`${RESTART_KEY}${rec.id}`);
          await shutdownRec(rec);
        }
        tell(m.replyTo, rec !== undefined);
        return st;
      })
      .exhaustive();
  },
  terminate: (st, reason, ctx) => terminate(st, reason, ctx as ActorContext<unknown>),
  summarize,
});

// ---------------------------------------------------------------------------------------------
// Child-spec helpers and client API

export interface WorkerOptions {
  readonly id?: string;
  readonly restart?: RestartType;
  readonly shutdown?: Shutdown;
  readonly backoff?: BackoffOptions;
}

/** A worker child spec from an actor definition and its start argument. */
export function worker<S, M, A>(def: ActorDef<S, M, A>, args: A, opts: WorkerOptions & { readonly id: string }): ChildSpec {
  return {
    id: opts.id,
    start: (sc) => sc.spawn(def, args),
    ...(opts.restart ? { restart: opts.restart } : {}),
    ...(opts.shutdown !== undefined ? { shutdown: opts.shutdown } : {}),
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    type: 'worker',
  };
}

export interface SupervisorChildOptions {
  readonly restart?: RestartType;
  readonly shutdown?: Shutdown;
  readonly backoff?: BackoffOptions;
}

/** A static supervisor as a child spec. */
export function supervisor(id: string, opts: SupervisorOptions, child: SupervisorChildOptions = {}): ChildSpec {
  return {
    id,
    start: (sc) => sc.spawn(supervisorDef, opts),
    type: 'supervisor',
    ...(child.restart ? { restart: child.restart } : {}),
    ...(child.shutdown !== undefined ? { shutdown: child.shutdown } : {}),
    ...(child.backoff ? { backoff: child.backoff } : {}),
  };
}

/** A dynamic (simple_one_for_one) supervisor as a child spec. */
export function dynamicSupervisor<S, M, A>(id: string, opts: DynamicSupervisorOptions<S, M, A>, child: SupervisorChildOptions = {}): ChildSpec {
  return {
    id,
    start: (sc) => sc.spawn(dynamicDef, opts as unknown as ErasedDynOptions),
    type: 'supervisor',
    ...(child.restart ? { restart: child.restart } : {}),
    ...(child.shutdown !== undefined ? { shutdown: child.shutdown } : {}),
    ...(child.backoff ? { backoff: child.backoff } : {}),
  };
}

/** Starts a static supervisor at the top of a runtime (its exit is reported through `runtime.watch`). */
export async function startSupervisor(runtime: Runtime, opts: SupervisorOptions, name = 'root'): Promise<Ref<SupMsg>> {
  const cell = runtime.spawnCell(undefined, supervisorDef, opts, { name }, { kind: 'supervisor', incarnation: 1, restarts: 0, shutdown: Infinity });
  await cell.whenReady();
  return cell.ref as Ref<SupMsg>;
}

/** Starts a dynamic supervisor at the top of a runtime (mostly for tests and benchmarks). */
export async function startDynamicSupervisor<S, M, A>(runtime: Runtime, opts: DynamicSupervisorOptions<S, M, A>, name = 'dynsup'): Promise<Ref<DynMsg<A, M>>> {
  const cell = runtime.spawnCell(undefined, dynamicDef, opts as unknown as ErasedDynOptions, { name }, { kind: 'dynamic_supervisor', incarnation: 1, restarts: 0, shutdown: Infinity });
  await cell.whenReady();
  return cell.ref as unknown as Ref<DynMsg<A, M>>;
}

/** Typed ref to a dynamic supervisor found by path (e.g. the tree's `/root/peers`). */
export function dynamicRef<S, M, A>(runtime: Runtime, path: string, _opts: DynamicSupervisorOptions<S, M, A>): Ref<DynMsg<A, M>> | undefined {
  return runtime.refOf<DynMsg<A, M>>(path);
}

/** start_child on a dynamic supervisor: resolves with the child's ref once its init has returned. */
export async function startChild<A, M>(sup: Ref<DynMsg<A, M>>, args: A, timeoutMs = 5000): Promise<Ref<M>> {
  const r = await ask<DynMsg<A, M>, StartChildResult<M>>(sup, (replyTo) => ({ type: 'START_CHILD', args, replyTo }), timeoutMs);
  if (!r.ok) throw new SupervisorError(r.error, r.message);
  return r.ref;
}

/** start_child on a static supervisor: adds a spec and starts it. */
export async function addChild(sup: Ref<SupMsg>, spec: ChildSpec, timeoutMs = 5000): Promise<RefBase> {
  const r = await ask<SupMsg, StartChildResult<unknown>>(sup, (replyTo) => ({ type: 'START_CHILD', spec, replyTo }), timeoutMs);
  if (!r.ok) throw new SupervisorError(r.error, r.message);
  return r.ref;
}

export function terminateChild<A, M>(sup: Ref<DynMsg<A, M>> | Ref<SupMsg>, id: string, timeoutMs = 5000): Promise<boolean> {
  return ask<SupMsg, boolean>(sup as Ref<SupMsg>, (replyTo) => ({ type: 'TERMINATE_CHILD', id, replyTo }), timeoutMs);
}

export function restartChild(sup: Ref<SupMsg>, id: string, timeoutMs = 5000): Promise<boolean> {
  return ask<SupMsg, boolean>(sup, (replyTo) => ({ type: 'RESTART_CHILD', id, replyTo }), timeoutMs);
}

export function whichChildren<A, M>(sup: Ref<DynMsg<A, M>> | Ref<SupMsg>, timeoutMs = 5000): Promise<ChildStatus[]> {
  return ask<SupMsg, ChildStatus[]>(sup as Ref<SupMsg>, (replyTo) => ({ type: 'WHICH_CHILDREN', replyTo }), timeoutMs);
}

export function countChildren<A, M>(sup: Ref<DynMsg<A, M>>, timeoutMs = 5000): Promise<{ readonly active: number; readonly max: number }> {
  return ask<DynMsg<A, M>, { readonly active: number; readonly max: number }>(sup, (replyTo) => ({ type: 'COUNT_CHILDREN', replyTo }), timeoutMs);
}
