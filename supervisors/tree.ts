/**
 * The node's supervision tree, built from configuration:
 *
 *   root (one_for_one) → store, addressbook, chain, peers (dynamic), connman, listeners, control, inspector
 *
 * Each slot is filled with the child spec its module provides; a slot left empty is simply
 * absent (no placeholder actors). `startTree` starts any tree and returns a handle.
 */
import { Runtime, type KillMode, type RuntimeOptions } from './runtime.js';
import type { ActorDef } from './actor.js';
import type { Ref } from './ref.js';
import type { ActorInfo, TreeNode } from './introspect.js';
import { dynamicSupervisor, startSupervisor, type ChildSpec, type DynamicSupervisorOptions, type SupMsg, type SupervisorFlags } from './supervisor.js';
import { Exit, type ExitReason } from './exit.js';

/** The slots of the node's root supervisor, in start order (shutdown runs in reverse). */
export const NODE_SLOTS = ['store', 'addressbook', 'chain', 'peers', 'connman', 'listeners', 'control', 'inspector'] as const;
export type NodeSlot = (typeof NODE_SLOTS)[number];

export interface NodeTreeConfig {
  /** Root flags (default one_for_one, intensity 3 in 5 s). */
  readonly root?: SupervisorFlags;
  /** Child specs by slot; each spec's id must equal its slot. */
  readonly children?: Partial<Record<Exclude<NodeSlot, 'peers'>, ChildSpec>>;
  /** The peers dynamic supervisor (a `peersSupervisor(...)` spec). */
  readonly peers?: ChildSpec;
}

export interface TreeSpec extends SupervisorFlags {
  readonly children: readonly ChildSpec[];
  /** The root supervisor's name (default `root`). */
  readonly name?: string;
}

/** The `peers` dynamic supervisor: temporary children (the connection manager replaces them). */
export function peersSupervisor<S, M, A>(def: ActorDef<S, M, A>, opts: Omit<DynamicSupervisorOptions<S, M, A>, 'def'> = {}): ChildSpec {
  return dynamicSupervisor('peers', { restart: 'temporary', shutdown: 2000, intensity: 1000, period: 1, ...opts, def });
}

/** Orders the configured children into the node's root spec. */
export function nodeTreeSpec(cfg: NodeTreeConfig): TreeSpec {
  const children: ChildSpec[] = [];
  for (const slot of NODE_SLOTS) {
    const spec = slot === 'peers' ? cfg.peers : cfg.children?.[slot];
    if (spec === undefined) continue;
    if (spec.id !== slot) throw new Error(`child spec for slot ${slot} has id ${spec.id}`);
    children.push(spec);
  }
  return { strategy: 'one_for_one', intensity: 3, period: 5, ...cfg.root, children };
}

export interface TreeHandle {
  readonly runtime: Runtime;
  readonly root: Ref<SupMsg>;
  /** Resolves with the root's exit reason (shutdown after stop(), or after an escalation). */
  readonly exited: Promise<ExitReason>;
  /** Graceful shutdown (reverse order, each child's shutdown time), then the nact system stops. */
  stop(): Promise<void>;
  tree(): TreeNode[];
  list(pattern?: string | RegExp): ActorInfo[];
  kill(path: string, mode?: KillMode, opts?: { ms?: number }): boolean;
}

/** Starts a tree on a fresh runtime (or the one given). Rejects if a child fails to start. */
export async function startTree(spec: TreeSpec, runtime: Runtime | RuntimeOptions = {}): Promise<TreeHandle> {
  const rt = runtime instanceof Runtime ? runtime : new Runtime(runtime);
  let root: Ref<SupMsg>;
  try {
    root = await startSupervisor(rt, spec, spec.name ?? 'root');
  } catch (err) {
    rt.halt();
    throw err;
  }
  const exited = new Promise<ExitReason>((resolve) => rt.watch(root, resolve));
  let stopping: Promise<void> | undefined;
  return {
    runtime: rt,
    root,
    exited,
    stop: () => (stopping ??= rt.stop()),
    tree: () => rt.tree(),
    list: (p) => rt.list(p),
    kill: (path, mode, opts) => rt.kill(path, mode, opts),
  };
}

export { Exit };
