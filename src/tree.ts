/**
 * The node's supervision tree, built from configuration:
 *
 *   root (one_for_one) → store, addressbook, chain, peers (dynamic), connman, listeners, control, inspector
 *
 * Each slot is filled with the child spec its module provides; a slot left empty is simply
 * absent (no placeholder actors). `startTree` (supervisors/) starts the result.
 */
import type { ChildSpec, SupervisorFlags, TreeSpec } from '../supervisors/index.js';

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

/** The `peers` dynamic supervisor (peer/spec.ts): temporary children (the connection manager replaces them). */
export { peersSupervisor } from './peer/spec.js';

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
