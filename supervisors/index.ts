// The public surface of supervisors/: import from here, never from the files behind it.
export * from './exit.js';
export * from './decisions.js';
export * from './scheduler.js';
export { actorName, narrowRef, type ActorName, type Ref, type RefBase } from './ref.js';
export { tell, ask, AskError, type AskErrorCode } from './messaging.js';
export {
  defineActor,
  type ActorContext,
  type ActorDef,
  type ActorSystem,
  type Closeable,
  type CrashDecision,
  type Down,
  type SpawnOptions,
  type Timers,
} from './actor.js';
export { definePure, performEffect, send, type Effect, type PureDef, type Step } from './pure.js';
export { InjectedCrash } from './sys.js';
export { Runtime, type RuntimeOptions } from './runtime.js';
export { RECENT_EXITS, globToRegExp, type ActorInfo, type ActorKind, type ExitRecord, type KillMode, type TreeNode } from './introspect.js';
export * from './supervisor.js';
export * from './tree.js';
