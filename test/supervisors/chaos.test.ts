import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import fc from 'fast-check';
import { countingScheduler, settle, until } from './helpers.js';
import { probe, type ProbeMsg } from './fixtures.js';
import {
  Exit,
  Runtime,
  defineActor,
  dynamicSupervisor,
  startChild,
  startTree,
  supervisor,
  tell,
  whichChildren,
  worker,
  type ChildStatus,
  type DynMsg,
  type Ref,
  type SupMsg,
} from '../../supervisors/index.js';

const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

/** A worker holding a socket and two timers, like a peer. */
const connected = defineActor<null, { type: 'beat' }, { port: number }>({
  name: 'conn',
  init: async ({ port }, ctx) => {
    const s: Socket = ctx.own(connect(port, '127.0.0.1'));
    s.on('error', () => {});
    await once(s, 'connect');
    ctx.timers.interval('ping', 5, { type: 'beat' });
    ctx.timers.after('inactivity', 60_000, { type: 'beat' });
    return null;
  },
  handle: (s) => s,
});

async function withServer<T>(f: (port: number) => Promise<T>): Promise<T> {
  const server: Server = createServer((s) => s.on('error', () => {}));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    return await f((server.address() as { port: number }).port);
  } finally {
    server.close();
    await once(server, 'close');
  }
}

test('kill every actor of a running tree in random order: no timer, socket or actor is left', async () => {
  await withServer(async (port) => {
    const baseSockets = sockets();
    const sched = countingScheduler();
    const rt = new Runtime({ scheduler: sched });
    const h = await startTree(
      {
        intensity: 50,
        children: [
          worker(connected, { port }, { id: 'store' }),
          supervisor('mid', { strategy: 'one_for_all', intensity: 50, children: [worker(connected, { port }, { id: 'x' }), worker(probe, { id: 'y' }, { id: 'y' })] }),
          dynamicSupervisor('peers', { def: connected, maxChildren: 100 }),
        ],
      },
      rt,
    );
    const peers = rt.refOf<DynMsg<{ port: number }, { type: 'beat' }>>('/root/peers')!;
    for (let i = 0; i < 20; i++) await startChild(peers, { port });
    await settle(rt);
    assert.ok(sockets() >= baseSockets + 22, 'sockets open');
    assert.ok(sched.live() >= 44, 'timers armed');
    const paths = rt.list().map((i) => i.path);
    const rnd = fc.sample(fc.shuffledSubarray(paths, { minLength: paths.length, maxLength: paths.length }), { numRuns: 1, seed: 42 })[0]!;
    for (const p of rnd) {
      h.kill(p, 'kill');
      await settle(rt);
    }
    assert.ok(!rnd.includes('/root') || rt.cells.size === 0);
    if (rt.cells.size > 0) h.kill('/root', 'kill');
    assert.deepEqual(await h.exited, Exit.killed);
    assert.equal(rt.cells.size, 0, 'no actor in the registry');
    assert.equal(rt.nactActorCount(), 0, 'no actor in nact’s tree');
    assert.equal(sched.live(), 0, 'no timer');
    await until(() => sockets() === baseSockets, 'every socket closed');
    await h.stop();
  });
});

type Op = { kind: 'crash' | 'kill' | 'exit-normal' | 'exit-error' | 'start-peer'; target: number };

/** Fully running (every supervisor's children up, apart from transient children that exited cleanly) or fully gone. */
async function checkWholeOrGone(rt: Runtime): Promise<'running' | 'gone'> {
  if (rt.info('/root') === undefined) {
    assert.equal(rt.cells.size, 0, 'root gone but actors left');
    assert.equal(rt.nactActorCount(), 0, 'root gone but nact actors left');
    return 'gone';
  }
  assert.equal(rt.nactActorCount(), rt.cells.size, 'registry and nact tree agree (no orphan, no ghost)');
  for (const c of rt.cells.values()) if (c.parent) assert.ok(!c.parent.dead, `${c.path} has a live parent`);
  for (const sup of rt.list().filter((i) => i.kind !== 'worker')) {
    const kids: ChildStatus[] = await whichChildren(rt.refOf<SupMsg>(sup.path)!);
    for (const k of kids) {
      const cleanTransient = k.restart === 'transient' && (k.lastExit === 'normal' || k.lastExit?.startsWith('shutdown') || k.lastExit?.startsWith('{shutdown'));
      assert.ok(k.running || cleanTransient, `${sup.path}/${k.id} is not running (${k.lastExit})`);
      if (k.running) assert.ok(rt.info(k.path!), `${k.path} in the registry`);
    }
  }
  return 'running';
}

test('property: random crashes, kills, exits and starts leave the tree fully running or cleanly escalated, never half', async () => {
  const outcomes = { running: 0, gone: 0 };
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({ kind: fc.constantFrom<Op['kind']>('crash', 'kill', 'exit-normal', 'exit-error', 'start-peer'), target: fc.nat() }),
        { minLength: 1, maxLength: 12 },
      ),
      async (ops) => {
        const rt = new Runtime();
        const h = await startTree(
          {
            intensity: 3,
            children: [
              worker(probe, { id: 'a' }, { id: 'a' }),
              supervisor('s1', {
                strategy: 'one_for_all',
                intensity: 2,
                children: [worker(probe, { id: 'b' }, { id: 'b' }), worker(probe, { id: 'c' }, { id: 'c', restart: 'transient' }), worker(probe, { id: 't' }, { id: 't', restart: 'temporary' })],
              }),
              supervisor('s2', { strategy: 'rest_for_one', intensity: 1, children: [worker(probe, { id: 'd' }, { id: 'd' }), worker(probe, { id: 'e' }, { id: 'e' })] }),
              dynamicSupervisor('peers', { def: probe, maxChildren: 10, restart: 'temporary' }),
            ],
          },
          rt,
        );
        try {
          for (const op of ops) {
            const live = rt.list().map((i) => i.path).sort();
            if (live.length === 0) break;
            const path = live[op.target % live.length]!;
            if (op.kind === 'crash') rt.kill(path, 'crash');
            else if (op.kind === 'kill') rt.kill(path, 'kill');
            else if (op.kind === 'start-peer') {
              const peers = rt.refOf<DynMsg<{ id: string }, ProbeMsg>>('/root/peers');
              if (peers) await startChild(peers, { id: `p${op.target}` }).catch(() => {});
            } else if (rt.info(path)?.kind === 'worker') {
              tell(rt.refOf<ProbeMsg>(path)!, { type: 'exit', reason: op.kind === 'exit-normal' ? Exit.normal : Exit.error(new Error('x')) });
            }
            await settle(rt);
          }
          outcomes[await checkWholeOrGone(rt)]++;
        } finally {
          await h.stop();
        }
        assert.equal(rt.cells.size, 0);
      },
    ),
    { numRuns: 60, seed: 7 },
  );
  assert.ok(outcomes.running > 0 && outcomes.gone > 0, `both outcomes explored: ${JSON.stringify(outcomes)}`);
});

test('refs survive restarts (path-addressed) and reach the new incarnation', async () => {
  const h = await startTree({ children: [worker(probe, { id: 'a' }, { id: 'a' })] });
  const a: Ref<ProbeMsg> = h.runtime.refOf<ProbeMsg>('/root/a')!;
  h.kill('/root/a', 'crash');
  await settle(h.runtime);
  tell(a, { type: 'tick' });
  await settle(h.runtime);
  assert.equal(h.runtime.info('/root/a')!.incarnation, 2);
  assert.deepEqual(h.runtime.info('/root/a')!.summary, { ticks: 1 });
  await h.stop();
});
