/**
 * The session fuzzer, long run (issue 16, item 6): 40 raw peers for 3 minutes (PEERD_FUZZ_SECONDS
 * changes it) against a peerd child process; the same assertions as the short run in
 * test/faults/session-fuzz.test.ts. Runs with `npm run test:faults` (PEERD_FAULTS=1).
 */
import { test } from 'node:test';
import { ACTIONS } from '../helpers/hostile.js';
import { SLOW_SKIP } from '../helpers/faults.js';
import { FUZZ_RSS_BOUND_MB, FUZZ_TODO, mixWithout, only } from '../helpers/fuzz-mix.js';
import { fuzzSeed, runSessionFuzz } from '../helpers/session-fuzz.js';

const seed = fuzzSeed();
const seconds = Number(process.env.PEERD_FUZZ_SECONDS ?? 180);

test(`session fuzzer, 40 peers × ${seconds} s (seed ${seed}): the node answers RPC and the honest peer, nothing crashes, RSS < start + ${FUZZ_RSS_BOUND_MB} MB`, { skip: SLOW_SKIP, timeout: (seconds + 180) * 1000 }, async (t) => {
  await runSessionFuzz(t, { seed, peers: 40, seconds, actions: mixWithout(ACTIONS), rssBoundMB: FUZZ_RSS_BOUND_MB });
});

for (const [name, hole] of Object.entries(FUZZ_TODO)) {
  test(`session fuzzer, ${name} alone, 20 peers × 60 s (seed ${seed})`, { skip: SLOW_SKIP, todo: hole, timeout: 300_000 }, async (t) => {
    await runSessionFuzz(t, { seed, peers: 20, seconds: 60, actions: only(ACTIONS, name), rssBoundMB: FUZZ_RSS_BOUND_MB });
  });
}
