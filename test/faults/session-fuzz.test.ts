/**
 * The session fuzzer, short run (issue 16, item 6): 24 raw peers for 25 s against a peerd child
 * process, a seeded random mix of valid, malformed and abusive messages; the node keeps answering
 * its RPC and an honest peer, nothing but the peers it chose to drop exits, and its RSS stays
 * under its start + 256 MB. test/faults-slow/session-fuzz.test.ts is the long run (minutes, 40
 * peers; `npm run test:faults`). What is checked and why: test/helpers/session-fuzz.ts.
 *
 * An attack whose hole issue 16 lists and which is still open is left out of the mix and run on
 * its own as a `todo` test (reported, not failing) until the fix lands: see FUZZ_TODO.
 */
import { test } from 'node:test';
import { ACTIONS } from '../helpers/hostile.js';
import { FUZZ_RSS_BOUND_MB, FUZZ_TODO, mixWithout, only } from '../helpers/fuzz-mix.js';
import { fuzzSeed, runSessionFuzz } from '../helpers/session-fuzz.js';

const seed = fuzzSeed();

test(`session fuzzer, 24 peers × 25 s (seed ${seed}): the node answers RPC and the honest peer, nothing crashes, RSS < start + ${FUZZ_RSS_BOUND_MB} MB`, { timeout: 180_000 }, async (t) => {
  await runSessionFuzz(t, { seed, peers: 24, seconds: 25, actions: mixWithout(ACTIONS), rssBoundMB: FUZZ_RSS_BOUND_MB });
});

for (const [name, hole] of Object.entries(FUZZ_TODO)) {
  test(`session fuzzer, ${name} alone, 8 peers × 10 s (seed ${seed})`, { todo: hole, timeout: 120_000 }, async (t) => {
    await runSessionFuzz(t, { seed, peers: 8, seconds: 10, actions: only(ACTIONS, name), rssBoundMB: FUZZ_RSS_BOUND_MB });
  });
}
