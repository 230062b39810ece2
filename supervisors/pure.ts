/**
 * Pure core, thin shell: an actor whose logic is `update(state, msg) → { state, effects }`;
 * the shell interprets the built-in effects (send, timers, stop) and hands the others to
 * `perform`.
 */
import type { ExitReason } from './exit.js';
import type { Deliverable, Ref, RefBase } from './ref.js';
import type { ActorContext, ActorDef } from './actor.js';

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
