export * from './exit.js';
export * from './decisions.js';
export * from './scheduler.js';
export {
  Runtime,
  AskError,
  InjectedCrash,
  RECENT_EXITS,
  globToRegExp,
  ask,
  tell,
  send,
  defineActor,
  definePure,
  performEffect,
  type ActorContext,
  type ActorDef,
  type ActorInfo,
  type ActorKind,
  type Closeable,
  type CrashDecision,
  type Down,
  type ExitRecord,
  type Effect,
  type KillMode,
  type PureDef,
  type Ref,
  type RefBase,
  type RuntimeOptions,
  type SpawnOptions,
  type Step,
  type Timers,
  type TreeNode,
} from './runtime.js';
export * from './supervisor.js';
export * from './tree.js';
