import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle, tick, until } from './helpers.js';
import { probe, reasons, type ProbeMsg } from './fixtures.js';
import {
  Exit,
  Runtime,
  ManualScheduler,
  startSupervisor,
  startTree,
  supervisor,
  tell,
  whichChildren,
  worker,
  formatReason,
  type RestartType,
  type Strategy,
  type ExitReason,
  type SupMsg,
} from '../../supervisors/index.js';

const incarnation = (rt: Runtime, path: string): number | undefined => rt.info(path)?.incarnation;

for (const strategy of ['one_for_one', 'one_for_all', 'rest_for_one'] as Strategy[]) {
  for (const restart of ['permanent', 'transient', 'temporary'] as RestartType[]) {
    for (const exit of ['normal', 'shutdown', 'abnormal'] as const) {
      test(`${strategy} × ${restart} child × ${exit} exit`, async () => {
        const rt = new Runtime();
        const log: string[] = [];
        await startSupervisor(rt, {
          strategy,
          intensity: 5,
          children: [
            worker(probe, { id: 'a', log }, { id: 'a' }),
            worker(probe, { id: 'b', log }, { id: 'b', restart }),
            worker(probe, { id: 'c', log }, { id: 'c' }),
          ],
        });
        assert.deepEqual(log, ['start:a', 'start:b', 'start:c'], 'children start in order');
        tell(rt.refOf<ProbeMsg>('/root/b')!, { type: 'exit', reason: reasons[exit] });
        await settle(rt);
        const restarted = restart === 'permanent' || (restart === 'transient' && exit === 'abnormal');
        assert.equal(incarnation(rt, '/root/b'), restarted ? 2 : undefined, 'b restarted?');
        const others = restarted ? strategy : 'one_for_one';
        assert.equal(incarnation(rt, '/root/a'), others === 'one_for_all' ? 2 : 1, 'a');
        assert.equal(incarnation(rt, '/root/c'), others === 'one_for_one' ? 1 : 2, 'c');
        if (restarted && strategy !== 'one_for_one') {
          assert.deepEqual(log.slice(3, 5), ['stop:b', 'stop:c'], 'the dead child then the rest, newest first');
        }
        const kids = await whichChildren(rt.refOf<SupMsg>('/root')!);
        assert.deepEqual(
          kids.map((k) => k.id),
          restart === 'temporary' ? ['a', 'c'] : ['a', 'b', 'c'],
          'a temporary child leaves the supervisor; others keep their spec',
        );
        if (restart === 'transient' && !restarted) assert.equal(kids[1]!.running, false);
        if (restarted) assert.equal(rt.info('/root/b')!.lastExit, formatReason(reasons[exit]));
        await rt.stop();
        assert.equal(rt.nactActorCount(), 0);
      });
    }
  }
}

test('temporary children are not restarted even under one_for_all', async () => {
  const rt = new Runtime();
  const log: string[] = [];
  await startSupervisor(rt, {
    strategy: 'one_for_all',
    children: [worker(probe, { id: 'a', log }, { id: 'a' }), worker(probe, { id: 't', log }, { id: 't', restart: 'temporary' })],
  });
  rt.kill('/root/a', 'crash');
  await settle(rt);
  assert.equal(incarnation(rt, '/root/a'), 2);
  assert.equal(rt.info('/root/t'), undefined, 'terminated with the others, not restarted');
  assert.deepEqual(log, ['start:a', 'start:t', 'stop:a', 'stop:t', 'start:a']);
  await rt.stop();
});

test('shutdown is in reverse start order and waits for each child cleanup', async () => {
  const rt = new Runtime();
  const log: string[] = [];
  const slowClose = (id: string) => ({
    ...probe,
    terminate: async () => {
      await new Promise((r) => setTimeout(r, 5));
      log.push(`terminated:${id}`);
    },
  });
  await startSupervisor(rt, {
    children: [
      worker(slowClose('a'), { id: 'a', log }, { id: 'a' }),
      supervisor('inner', { children: [worker(slowClose('x'), { id: 'x', log }, { id: 'x' }), worker(slowClose('y'), { id: 'y', log }, { id: 'y' })] }),
      worker(slowClose('c'), { id: 'c', log }, { id: 'c', shutdown: 'brutal_kill' }),
    ],
  });
  assert.deepEqual(log, ['start:a', 'start:x', 'start:y', 'start:c']);
  await rt.stop();
  assert.deepEqual(log.slice(4), ['stop:c', 'terminated:y', 'stop:y', 'terminated:x', 'stop:x', 'terminated:a', 'stop:a'], 'brutal_kill skips terminate');
  assert.equal(rt.cells.size, 0);
});

test('a child that does not stop within its shutdown time is killed', async () => {
  const sched = new ManualScheduler();
  const rt = new Runtime({ scheduler: sched });
  const hang = { ...probe, terminate: () => new Promise<void>(() => {}) };
  await startSupervisor(rt, { children: [worker(hang, { id: 'h' }, { id: 'h', shutdown: 100 })] });
  let exit: ExitReason | undefined;
  rt.watch(rt.refOf('/root/h')!, (r) => (exit = r));
  const stopping = rt.stop();
  await until(() => sched.size > 0, 'shutdown timer');
  sched.advance(100);
  await stopping;
  assert.deepEqual(exit, Exit.killed);
});

test('intensity exceeded: the supervisor stops its children and exits (shutdown); its parent restarts it', async () => {
  const rt = new Runtime();
  const log: string[] = [];
  await startSupervisor(rt, {
    intensity: 5,
    children: [supervisor('mid', { intensity: 1, period: 5, children: [worker(probe, { id: 'w', log }, { id: 'w' }), worker(probe, { id: 'v', log }, { id: 'v' })] })],
  });
  let midExit: ExitReason | undefined;
  rt.watch(rt.refOf('/root/mid')!, (r) => (midExit = r));
  rt.kill('/root/mid/w', 'crash');
  await settle(rt);
  assert.equal(incarnation(rt, '/root/mid/w'), 2, 'first restart is within intensity');
  rt.kill('/root/mid/w', 'crash');
  await settle(rt);
  assert.deepEqual(midExit, Exit.shutdown, 'second restart within 5 s exceeds 1/5s');
  assert.equal(incarnation(rt, '/root/mid'), 2, 'the parent restarted the supervisor');
  assert.equal(incarnation(rt, '/root/mid/w'), 1, 'with fresh children');
  assert.equal(rt.info('/root/mid')!.lastExit, 'shutdown');
  assert.deepEqual(log.slice(-4), ['stop:w', 'stop:v', 'start:w', 'start:v'], 'w crashed, v was shut down, both restarted in order');
  await rt.stop();
});

test('nested escalation reaches the root, which exits leaving nothing alive', async () => {
  const h = await startTree({
    intensity: 0,
    children: [
      worker(probe, { id: 'other' }, { id: 'other' }),
      supervisor('mid', { intensity: 0, children: [supervisor('leaf', { intensity: 0, children: [worker(probe, { id: 'w' }, { id: 'w' })] })] }),
    ],
  });
  h.kill('/root/mid/leaf/w', 'kill');
  const reason = await h.exited;
  assert.deepEqual(reason, Exit.shutdown);
  await settle(h.runtime);
  assert.equal(h.runtime.cells.size, 0);
  assert.equal(h.runtime.nactActorCount(), 0);
  await h.stop();
});

test('a child killed from outside exits with reason killed (transient is restarted)', async () => {
  const rt = new Runtime();
  await startSupervisor(rt, { children: [worker(probe, { id: 'k' }, { id: 'k', restart: 'transient' })] });
  let r: ExitReason | undefined;
  rt.watch(rt.refOf('/root/k')!, (x) => (r = x));
  rt.kill('/root/k', 'kill');
  assert.deepEqual(r, Exit.killed);
  await settle(rt);
  assert.equal(incarnation(rt, '/root/k'), 2);
  assert.equal(rt.info('/root/k')!.lastExit, 'killed');
  await rt.stop();
});

test('backoff: restart waits min·2^n·(1+rand·rf) on a fake clock and resets after a stable run', async () => {
  const sched = new ManualScheduler();
  const rt = new Runtime({ scheduler: sched, random: () => 0.5 });
  await startSupervisor(rt, {
    intensity: 100,
    backoff: { minMs: 100, maxMs: 1000, randomFactor: 0.2, resetAfterMs: 10_000 },
    children: [worker(probe, { id: 'p' }, { id: 'p' })],
  });
  const expected = [110, 220, 440, 880, 1100];
  const crashAndMeasure = async (): Promise<number> => {
    rt.kill('/root/p', 'crash');
    await until(() => rt.info('/root/p') === undefined && sched.size === 1, 'crash and timer');
    return sched.nextAt()! - sched.now();
  };
  const waitOut = async (delay: number): Promise<void> => {
    sched.advance(delay - 1);
    for (let t = 0; t < 50; t++) await tick();
    assert.equal(rt.info('/root/p'), undefined, `not restarted before ${delay} ms`);
    sched.advance(1);
    await until(() => rt.info('/root/p') !== undefined, 'restart');
    await settle(rt);
  };
  for (let i = 0; i < expected.length; i++) {
    const delay = await crashAndMeasure();
    assert.ok(Math.abs(delay - expected[i]!) < 1e-6, `delay ${delay} ≈ ${expected[i]}`);
    await waitOut(delay);
    assert.equal(incarnation(rt, '/root/p'), i + 2);
  }
  sched.advance(10_000);
  const delay = await crashAndMeasure();
  assert.ok(Math.abs(delay - 110) < 1e-6, `back to the first delay after a stable run (got ${delay})`);
  await waitOut(delay);
  await rt.stop();
});
