/**
 * A supervision tree on a runtime: `startTree(spec)` starts the root supervisor with its
 * children (in order) and returns a handle to stop it, watch its exit and inspect it.
 */
import { Runtime, type RuntimeOptions } from './runtime.js';
import type { Ref } from './ref.js';
import type { ActorInfo, KillMode, TreeNode } from './introspect.js';
import { startSupervisor, type ChildSpec, type SupMsg, type SupervisorFlags } from './supervisor.js';
import type { ExitReason } from './exit.js';

export interface TreeSpec extends SupervisorFlags {
  readonly children: readonly ChildSpec[];
  /** The root supervisor's name (default `root`). */
  readonly name?: string;
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
