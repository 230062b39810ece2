import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  Exit,
  backoffDelay,
  isAbnormal,
  nextBackoffCount,
  recordRestart,
  restartPlan,
  shouldRestart,
  type RestartType,
} from '../../supervisors/index.js';

test('shouldRestart follows OTP restart types', () => {
  const cases: [RestartType, string, boolean][] = [
    ['permanent', 'normal', true],
    ['permanent', 'shutdown', true],
    ['permanent', 'killed', true],
    ['transient', 'normal', false],
    ['transient', 'shutdown', false],
    ['transient', '{shutdown,x}', false],
    ['transient', 'killed', true],
    ['transient', 'error', true],
    ['temporary', 'error', false],
    ['temporary', 'killed', false],
  ];
  const r = { normal: Exit.normal, shutdown: Exit.shutdown, '{shutdown,x}': Exit.shutdownWith('x'), killed: Exit.killed, error: Exit.error(new Error('e')) } as const;
  for (const [type, reason, want] of cases) assert.equal(shouldRestart(type, r[reason as keyof typeof r]), want, `${type} × ${reason}`);
  assert.equal(isAbnormal(Exit.noproc), true);
});

test('intensity window: more than `intensity` restarts within the period exceeds', () => {
  let w: number[] = [];
  let r = recordRestart(w, 0, 1, 5000);
  assert.equal(r.exceeded, false);
  w = r.window;
  r = recordRestart(w, 4999, 1, 5000);
  assert.equal(r.exceeded, true, 'second restart within 5 s');
  r = recordRestart(w, 5000, 1, 5000);
  assert.equal(r.exceeded, false, 'the first restart left the window');
  assert.equal(recordRestart([], 0, 0, 5000).exceeded, true, 'intensity 0: any restart exceeds');
});

test('intensity window property: exceeded iff more than k timestamps in (now-period, now]', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 30 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 50 }), (gaps, k, period) => {
      let w: number[] = [];
      let now = 0;
      const all: number[] = [];
      for (const g of gaps) {
        now += g;
        all.push(now);
        const r = recordRestart(w, now, k, period);
        w = r.window;
        const inWindow = all.filter((t) => now - t < period).length;
        assert.equal(r.exceeded, inWindow > k);
      }
    }),
  );
});

test('backoff: Akka formula min(max, min·2^n)·(1 + rand·rf)', () => {
  const o = { minMs: 100, maxMs: 1000, randomFactor: 0.2 };
  assert.equal(backoffDelay(0, o, 0), 100);
  assert.equal(backoffDelay(1, o, 0), 200);
  assert.equal(backoffDelay(3, o, 0), 800);
  assert.equal(backoffDelay(4, o, 0), 1000);
  assert.equal(backoffDelay(40, o, 0), 1000);
  assert.ok(Math.abs(backoffDelay(0, o, 0.5) - 110) < 1e-9);
  assert.ok(Math.abs(backoffDelay(9, o, 1) - 1200) < 1e-9);
  assert.equal(backoffDelay(5, { minMs: 0, maxMs: 0, randomFactor: 1 }, 1), 0, 'no backoff');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (n, rand) => {
      const d = backoffDelay(n, o, rand);
      assert.ok(d >= 100 && d <= 1200);
      assert.ok(backoffDelay(n + 1, o, rand) >= d, 'monotonic in n');
    }),
  );
});

test('backoff count resets after a stable run', () => {
  const o = { minMs: 100, maxMs: 1000, randomFactor: 0, resetAfterMs: 5000 };
  assert.deepEqual(nextBackoffCount(3, 10, o), { use: 3, next: 4 });
  assert.deepEqual(nextBackoffCount(3, 5000, o), { use: 0, next: 1 });
  assert.deepEqual(nextBackoffCount(2, 1000, { minMs: 100, maxMs: 1000, randomFactor: 0 }), { use: 0, next: 1 }, 'default resetAfter = max');
});

test('restart plans per strategy; temporary children are removed, never restarted', () => {
  const kids = [
    { id: 'a', restart: 'permanent' as const, running: true },
    { id: 't', restart: 'temporary' as const, running: true },
    { id: 'b', restart: 'transient' as const, running: false },
    { id: 'c', restart: 'permanent' as const, running: true },
  ];
  assert.deepEqual(restartPlan('one_for_one', kids, 'c'), { terminate: [], restart: ['c'], remove: [] });
  assert.deepEqual(restartPlan('one_for_all', kids, 'a'), { terminate: ['c', 't'], restart: ['a', 'b', 'c'], remove: ['t'] });
  assert.deepEqual(restartPlan('rest_for_one', kids, 't'), { terminate: ['c'], restart: ['b', 'c'], remove: ['t'] });
  assert.deepEqual(restartPlan('rest_for_one', kids, 'b'), { terminate: ['c'], restart: ['b', 'c'], remove: [] });
});
