/** Which of the session fuzzer's actions run in its mix, and its memory bound (docs/testing.md, "Session fuzzer"). */
import type { Action } from './hostile.js';

/** RSS growth allowed over the node's RSS before the fuzz peers connect. */
export const FUZZ_RSS_BOUND_MB = 256;

/**
 * Actions left out of the mix because of a hole issue 16 lists that is still open; each runs on
 * its own as a node:test `todo` (its failure reported, not counted) until the fix lands. Remove an
 * entry when its fix is merged: the action then joins the mix.
 */
export const FUZZ_TODO: Readonly<Record<string, string>> = {
  'getdata-flood': 'issue 16: getdata amplification — every item of one getdata becomes a queued block whatever the send queue holds (fix on its way)',
  'getheaders-flood': 'issue 16: getheaders amplification — every getheaders already received is answered whatever the send queue holds (fix on its way)',
};

export function mixWithout(actions: readonly Action[]): Action[] {
  return actions.filter((a) => !(a.name in FUZZ_TODO));
}

/** One action alone, as often as the valid messages that keep its sessions plausible. */
export function only(actions: readonly Action[], name: string): Action[] {
  const valid = actions.find((a) => a.name === 'valid');
  const it = actions.find((a) => a.name === name);
  if (!valid || !it) throw new Error(`no action named ${name}`);
  return [valid, { ...it, weight: valid.weight }];
}
