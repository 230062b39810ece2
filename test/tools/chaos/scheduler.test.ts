import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { almostPlan, globToRegExp, killTimes, parseIntensity, pickVictim, plan } from '../../../src/tools/chaos/scheduler.js';

const tree = ['/root', '/root/store', '/root/addressbook', '/root/connman', '/root/peers', ...Array.from({ length: 12 }, (_, i) => `/root/peers/peer-${i}`), '/root/listeners', '/root/listeners/listener-0'];
const matching = (glob: string): string[] => tree.filter((p) => globToRegExp(glob).test(p));

test('same seed, same tree: the same kill times and victims in the same order; another seed differs', () => {
  const o = { rate: 5, jitter: 0.5, durationS: 4, mode: 'kill' as const };
  const a = plan({ ...o, seed: 7 }, () => matching('/root/peers/*'));
  const b = plan({ ...o, seed: 7 }, () => [...matching('/root/peers/*')].reverse());
  assert.ok(a.length > 5);
  assert.deepEqual(a, b, 'the order candidates come in does not matter');
  const c = plan({ ...o, seed: 8 }, () => matching('/root/peers/*'));
  assert.notDeepEqual(
    a.map((k) => k.path),
    c.map((k) => k.path),
  );
  assert.notDeepEqual(killTimes({ ...o, seed: 7 }), killTimes({ ...o, seed: 8 }));
  // A step's choice does not depend on earlier steps.
  assert.deepEqual(pickVictim(7, 3, ['b', 'a', 'c']), pickVictim(7, 3, ['c', 'b', 'a']));
});

test('kill times: increasing, inside the duration, close to rate × duration', () => {
  fc.assert(
    fc.property(fc.integer(), fc.double({ min: 0.5, max: 50, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0.5, max: 10, noNaN: true }), (seed, rate, jitter, durationS) => {
      const ts = killTimes({ seed, rate, jitter, durationS });
      for (let i = 1; i < ts.length; i++) assert.ok(ts[i] >= ts[i - 1]);
      assert.ok(ts.every((t) => t >= 0 && t < durationS * 1000));
      assert.ok(ts.length <= Math.ceil((rate * durationS) / (1 - jitter + 1e-9)) + 1);
    }),
  );
});

test('property: every victim matches the pattern', () => {
  const globs = ['/root/peers/*', '/root/*', '/root/**', '/root/listeners/*', '/root/connman', '/**/peer-1*'];
  fc.assert(
    fc.property(fc.integer(), fc.constantFrom(...globs), fc.subarray(tree), fc.integer({ min: 0, max: 1000 }), (seed, glob, live, step) => {
      const re = globToRegExp(glob);
      const v = pickVictim(seed, step, live.filter((p) => re.test(p)));
      if (v !== null) {
        assert.match(v.path, re);
        assert.ok(live.includes(v.path));
      } else assert.equal(live.filter((p) => re.test(p)).length, 0);
    }),
  );
});

test('almost: restarts pushed to intensity − 1, never across', () => {
  assert.deepEqual(parseIntensity('3/5s'), { intensity: 3, periodS: 5 });
  assert.equal(parseIntensity('x'), null);
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 25 }), fc.subarray(['/a', '/b', '/c']), (seed, intensity, inPeriod, kids) => {
      const p = almostPlan(seed, 0, intensity, inPeriod, kids);
      assert.ok(inPeriod + p.length <= Math.max(inPeriod, intensity - 1));
      if (kids.length > 0 && inPeriod < intensity - 1) assert.equal(p.length, intensity - 1 - inPeriod);
      assert.ok(p.every((k) => kids.includes(k)));
      assert.deepEqual(p, almostPlan(seed, 0, intensity, inPeriod, [...kids].reverse()));
    }),
  );
});
