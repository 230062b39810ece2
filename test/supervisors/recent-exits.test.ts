import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualScheduler, RECENT_EXITS, Runtime, startSupervisor, worker, type ExitRecord } from '../../supervisors/index.js';
import { probe } from './fixtures.js';
import { settle } from './helpers.js';

test('recentExits: every exit with path, kind, reason and time, newest first, numbered, the last 200 kept', async () => {
  const rt = new Runtime();
  try {
    await startSupervisor(rt, { intensity: 1000, period: 1, children: [worker(probe, { id: 'a' }, { id: 'a' }), worker(probe, { id: 'b' }, { id: 'b' })] });
    const t0 = Date.now();
    assert.deepEqual(rt.recentExits(), []);
    rt.kill('/root/a', 'kill');
    await settle(rt);
    rt.kill('/root/b', 'crash');
    await settle(rt);
    const [b, a] = rt.recentExits();
    assert.deepEqual(
      [a, b].map((e: ExitRecord | undefined) => e && { path: e.path, kind: e.kind, reasonKind: e.reasonKind }),
      [
        { path: '/root/a', kind: 'worker', reasonKind: 'killed' },
        { path: '/root/b', kind: 'worker', reasonKind: 'error' },
      ],
    );
    assert.equal(a!.reason, 'killed');
    assert.match(b!.reason, /^error: injected crash in \/root\/b/);
    assert.ok(b!.seq > a!.seq);
    assert.ok(a!.at >= t0 && b!.at <= Date.now());
    for (let i = 0; i < RECENT_EXITS + 20; i++) {
      assert.ok(rt.kill('/root/a', 'kill'));
      await settle(rt);
    }
    const all = rt.recentExits();
    assert.equal(all.length, RECENT_EXITS);
    assert.equal(all[0]!.seq, RECENT_EXITS + 22, 'the newest first');
    for (let i = 1; i < all.length; i++) assert.equal(all[i]!.seq, all[i - 1]!.seq - 1, 'consecutive, none lost inside the window');
  } finally {
    await rt.stop();
  }
  // A shutdown is an exit too.
  assert.equal(rt.recentExits()[0]!.reasonKind, 'shutdown');
});

test("a supervisor's summary counts only the restarts still inside its period, and gives its limits", async () => {
  const sched = new ManualScheduler();
  const rt = new Runtime({ scheduler: sched });
  try {
    await startSupervisor(rt, { intensity: 3, period: 5, children: [worker(probe, { id: 'p' }, { id: 'p' })] });
    const summary = () => rt.info('/root')!.summary as { restartsInPeriod: number; maxRestarts: number; periodMs: number; intensity: string };
    assert.equal(summary().restartsInPeriod, 0);
    assert.equal(summary().maxRestarts, 3);
    assert.equal(summary().periodMs, 5000);
    assert.equal(summary().intensity, '3/5s');
    assert.ok(rt.kill('/root/p', 'kill'));
    await settle(rt);
    sched.advance(2000);
    assert.ok(rt.kill('/root/p', 'kill'));
    await settle(rt);
    assert.equal(rt.info('/root/p')?.restarts, 2);
    assert.equal(summary().restartsInPeriod, 2);
    sched.advance(3500);
    assert.equal(summary().restartsInPeriod, 1, 'the first restart left the period');
    sched.advance(2000);
    assert.equal(summary().restartsInPeriod, 0);
  } finally {
    rt.halt();
  }
});
