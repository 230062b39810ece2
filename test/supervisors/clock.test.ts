/** An actor's wall clock (`ctx.now()`) is the runtime's scheduler: a manual clock moves it, a real one is Date.now(). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from './helpers.js';
import { ManualScheduler, Runtime, ask, defineActor, tell, type Ref } from '../../supervisors/index.js';

type ClockMsg = { type: 'now'; replyTo: Ref<number> };
const clock = defineActor<null, ClockMsg, void>({
  init: () => null,
  handle: (st, msg, ctx) => {
    tell(msg.replyTo, ctx.now());
    return st;
  },
});

test('ctx.now() follows a manual scheduler: it starts at the given wall time and moves only with advance()', async () => {
  const sched = new ManualScheduler(1_700_000_000_000);
  const rt = new Runtime({ scheduler: sched });
  const a = rt.spawn(clock, undefined, { name: 'clock' });
  await settle(rt);
  const now = (): Promise<number> => ask<ClockMsg, number>(a, (replyTo) => ({ type: 'now', replyTo }), 1000);
  assert.equal(await now(), 1_700_000_000_000);
  sched.advance(90_000);
  assert.equal(await now(), 1_700_000_090_000);
  assert.equal(sched.wallNow() - sched.now(), 1_700_000_000_000, 'the wall clock is the monotonic clock shifted');
  await rt.stop();
});

test('ctx.now() on the real scheduler is the wall clock', async () => {
  const rt = new Runtime();
  const a = rt.spawn(clock, undefined, { name: 'clock' });
  const before = Date.now();
  const t = await ask<ClockMsg, number>(a, (replyTo) => ({ type: 'now', replyTo }), 1000);
  assert.ok(t >= before && t <= Date.now(), `${t} within [${before}, now]`);
  await rt.stop();
});
