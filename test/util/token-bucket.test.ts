import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bucket, take, charge, waitFor, credit } from '../../src/util/token-bucket.js';

test('Core addr bucket: 0.1/s, burst 1000, +1000 after getaddr kept above the cap', () => {
  const b = bucket(0.1, 1000, 0, 1);
  assert.equal(take(b, 5, 0), 1);
  assert.equal(take(b, 5, 10_000), 1, 'one token after 10 s');
  credit(b, 1000);
  assert.equal(take(b, 2000, 10_000), 1000);
  credit(b, 1500);
  take(b, 0, 1_000_000);
  assert.equal(b.tokens, 1500, 'refill never cuts a credited balance back to the burst');
});

test('unlimited when the rate is 0', () => {
  const b = bucket(0, 0, 0);
  assert.equal(take(b, 1e9, 0), 1e9);
  assert.equal(waitFor(b, 1e9, 0), 0);
});

test('property: over any schedule, tokens taken never exceed burst + rate × elapsed', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1e6 }),
      fc.integer({ min: 1, max: 1e6 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 2e6 })), { maxLength: 50 }),
      (rate, burst, steps) => {
        const b = bucket(rate, burst, 0);
        let now = 0;
        let taken = 0;
        for (const [dt, want] of steps) {
          now += dt;
          taken += take(b, want, now);
        }
        assert.ok(taken <= burst + (rate * now) / 1000 + 1e-6);
      },
    ),
  );
});

test('charging past zero makes the next wait proportional to the debt', () => {
  const b = bucket(1000, 1000, 0);
  charge(b, 3000, 0);
  assert.equal(waitFor(b, 1, 0), 2001);
  assert.equal(waitFor(b, 1, 2001), 0);
});
