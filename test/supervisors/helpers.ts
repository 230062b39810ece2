import { setRootLogger, silentLogger } from '../../src/log.js';
import type { Runtime } from '../../supervisors/index.js';

setRootLogger(silentLogger());

/** Yields to the event loop until `cond` holds (or throws after `turns` turns). */
export async function until(cond: () => boolean, what = 'condition', turns = 20_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Waits until every actor is idle (no queued message, no pending restart) for a few turns. */
export async function settle(rt: Runtime, turns = 20_000): Promise<void> {
  let quiet = 0;
  for (let i = 0; i < turns; i++) {
    await new Promise<void>((r) => setImmediate(r));
    if (rt.idle()) {
      if (++quiet >= 5) return;
    } else quiet = 0;
  }
  throw new Error('runtime did not settle');
}

export const tick = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

import { realScheduler, type Scheduler } from '../../supervisors/index.js';

/** A real-time scheduler that counts live timers (unref'd timers are invisible to getActiveResourcesInfo). */
export function countingScheduler(): Scheduler & { live(): number } {
  let live = 0;
  return {
    now: () => realScheduler.now(),
    wallNow: () => realScheduler.wallNow(),
    setTimeout(fn, ms, ref) {
      live++;
      let done = false;
      const cancel = realScheduler.setTimeout(
        () => {
          if (!done) {
            done = true;
            live--;
          }
          fn();
        },
        ms,
        ref,
      );
      return () => {
        if (!done) {
          done = true;
          live--;
        }
        cancel();
      };
    },
    live: () => live,
  };
}
