/**
 * Driving a node's ManualScheduler from a test while its sockets stay real: virtual time moves in
 * small steps, and between steps the event loop runs (I/O, mailboxes), so a timer-driven rule is
 * checked over minutes of the node's time in milliseconds of ours, with no sleep and no race
 * against the wall clock.
 */
import { ManualScheduler } from '../../supervisors/index.js';

const turn = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

/** Moves `sched` forward `ms`, `stepMs` at a time, letting I/O and mailboxes run between steps. */
export async function advance(sched: ManualScheduler, ms: number, stepMs = 20): Promise<void> {
  for (let done = 0; done < ms; ) {
    const d = Math.min(stepMs, ms - done);
    sched.advance(d);
    done += d;
    await turn();
  }
}

/**
 * Moves `sched` forward until `cond` holds, at most `maxMs` of virtual time; returns the virtual
 * time it took. Throws with `what` if it never holds.
 */
export async function advanceUntil(sched: ManualScheduler, what: string, cond: () => boolean | Promise<boolean>, maxMs: number, stepMs = 20): Promise<number> {
  const start = sched.now();
  for (;;) {
    if (await cond()) return sched.now() - start;
    if (sched.now() - start >= maxMs) throw new Error(`not within ${maxMs} ms of the node's time: ${what}`);
    sched.advance(stepMs);
    await turn();
  }
}

export { ManualScheduler };

/**
 * Waits for `promise` while running the timers that are due now (a zero-delay timer an actor sets
 * in answer to I/O), without moving the clock.
 */
export async function dueWhile<T>(sched: ManualScheduler, promise: Promise<T>): Promise<T> {
  let done = false;
  const settled = promise.finally(() => {
    done = true;
  });
  while (!done) {
    sched.advance(0);
    await Promise.race([settled.then(() => undefined, () => undefined), turn()]);
  }
  return settled;
}
