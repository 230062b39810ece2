import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import nact from 'nact';
import { countingScheduler, settle, tick, until } from './helpers.js';
import { probe, ping, type ProbeMsg } from './fixtures.js';
import {
  AskError,
  Exit,
  ManualScheduler,
  Runtime,
  ask,
  defineActor,
  definePure,
  send,
  startDynamicSupervisor,
  startChild,
  startSupervisor,
  tell,
  worker,
  countChildren,
  SupervisorError,
  actorName,
  narrowRef,
  type Down,
  type ExitReason,
  type Ref,
} from '../../supervisors/index.js';

test('monitors: DOWN with the exit reason; noproc at once for a dead target', async () => {
  const rt = new Runtime();
  type WMsg = Down | { type: 'watch'; target: Ref<ProbeMsg> };
  const downs: Down[] = [];
  const watcher = rt.spawn(
    defineActor<null, WMsg, void>({
      init: () => null,
      handle: (s, m, ctx) => {
        if (m.type === 'watch') ctx.monitor(m.target);
        else downs.push(m);
        return s;
      },
    }),
    undefined,
  );
  const target = rt.spawn(probe, { id: 't' }, { name: 't' });
  tell(watcher, { type: 'watch', target });
  await settle(rt);
  tell(target, { type: 'exit', reason: Exit.shutdownWith('bye') });
  await until(() => downs.length === 1, 'DOWN');
  assert.deepEqual(downs[0]!.reason, Exit.shutdownWith('bye'));
  assert.equal(downs[0]!.path, '/t');
  tell(watcher, { type: 'watch', target });
  await until(() => downs.length === 2, 'noproc DOWN');
  assert.deepEqual(downs[1]!.reason, Exit.noproc);
  await rt.stop();
});

test('monitor typing: an actor whose messages exclude Down cannot monitor', () => {
  const def = defineActor<null, { type: 'x' }, void>({
    init: () => null,
    handle: (s, _m, ctx) => {
      // @ts-expect-error Down is not part of this actor's message type
      ctx.monitor(ctx.self);
      return s;
    },
  });
  assert.ok(def);
});

test('timers: replaced by key, fixed-delay interval, cancelled on stop and on restart', async () => {
  const sched = new ManualScheduler();
  const rt = new Runtime({ scheduler: sched });
  type TMsg = { type: 'arm'; key: string; ms: number; every?: boolean } | { type: 'fire'; key: string } | { type: 'crash' };
  const fired: string[] = [];
  const timerActor = defineActor<null, TMsg, void>({
    init: () => null,
    handle: (s, m, ctx) => {
      if (m.type === 'arm') (m.every ? ctx.timers.interval : ctx.timers.after).call(ctx.timers, m.key, m.ms, { type: 'fire', key: m.key });
      else if (m.type === 'fire') fired.push(m.key);
      else throw new Error('crash');
      return s;
    },
  });
  await startSupervisor(rt, { intensity: 10, children: [worker(timerActor, undefined, { id: 'timed' })] });
  const ref = rt.refOf<TMsg>('/root/timed')!;
  tell(ref, { type: 'arm', key: 'a', ms: 100 });
  tell(ref, { type: 'arm', key: 'a', ms: 300 });
  tell(ref, { type: 'arm', key: 'i', ms: 50, every: true });
  await settle(rt);
  assert.deepEqual(rt.info('/root/timed')!.timers.sort(), ['a', 'i']);
  sched.advance(150);
  await settle(rt);
  assert.deepEqual(fired, ['i', 'i', 'i'], 'the first `a` was replaced');
  sched.advance(150);
  await settle(rt);
  assert.deepEqual(fired.filter((k) => k === 'a'), ['a']);
  tell(ref, { type: 'arm', key: 'b', ms: 100 });
  tell(ref, { type: 'crash' });
  await settle(rt);
  assert.equal(rt.info('/root/timed')!.incarnation, 2);
  assert.deepEqual(rt.info('/root/timed')!.timers, [], 'restart cancelled every timer');
  assert.equal(sched.size, 0);
  tell(ref, { type: 'arm', key: 'c', ms: 100, every: true });
  await settle(rt);
  rt.kill('/root/timed', 'kill');
  assert.equal(sched.size, 0, 'stop cancelled every timer');
  await rt.stop();
});

test('typed refs cannot be mixed up; tell/ask are typed', async () => {
  const rt = new Runtime();
  const p: Ref<ProbeMsg> = rt.spawn(probe, { id: 'p' });
  const counter = rt.spawn(defineActor<number, { type: 'inc' }, void>({ init: () => 0, handle: (s) => s + 1 }), undefined);
  // @ts-expect-error a Ref<{type:'inc'}> is not a Ref<ProbeMsg>
  const wrong: Ref<ProbeMsg> = counter;
  // @ts-expect-error wrong message for this ref
  tell(counter, { type: 'crash' });
  void wrong;
  const reply: string = await ask(p, ping, 1000);
  assert.equal(reply, 'pong:p:1');
  await rt.stop();
});

test('names: lookup is typed by the name; narrowRef hands out a part of what an actor accepts', async () => {
  const rt = new Runtime();
  const P = actorName<ProbeMsg>('/p');
  assert.equal(rt.lookup(P), undefined, 'nothing alive there yet');
  const p = rt.spawn(probe, { id: 'p' }, { name: 'p' });
  const found: Ref<ProbeMsg> | undefined = rt.lookup(P);
  assert.equal(found?.path, '/p');
  // @ts-expect-error a name types its lookup: the actor at P does not accept { type: 'inc' }
  const wrong: Ref<{ type: 'inc' }> | undefined = rt.lookup(P);
  void wrong;
  type Ping = Extract<ProbeMsg, { type: 'ping' }>;
  const part: Ref<Ping> = narrowRef<Ping>(p);
  assert.equal(await ask<Ping, string>(part, (replyTo) => ({ type: 'ping', replyTo }), 1000), 'pong:p:1');
  // @ts-expect-error narrowRef only narrows: { type: 'inc' } is not something the probe accepts
  narrowRef<{ type: 'inc' }>(p);
  await rt.stop();
});

test('ask rejects with typed errors: timeout, noproc, exit', async () => {
  const sched = new ManualScheduler();
  const rt = new Runtime({ scheduler: sched });
  type SMsg = { type: 'q'; replyTo: Ref<number> } | { type: 'die'; replyTo: Ref<number> };
  const silent = rt.spawn(
    defineActor<null, SMsg, void>({
      init: () => null,
      handle: (s, m, ctx) => {
        if (m.type === 'die') ctx.stop(Exit.error(new Error('gone')));
        return s;
      },
    }),
    undefined,
    { name: 'silent' },
  );
  const pending = ask(silent, (replyTo) => ({ type: 'q', replyTo }) as SMsg, 500);
  await tick();
  sched.advance(500);
  await assert.rejects(pending, (e: unknown) => e instanceof AskError && e.code === 'timeout' && e.path === '/silent');
  await assert.rejects(
    ask(silent, (replyTo) => ({ type: 'die', replyTo }) as SMsg, 500),
    (e: unknown) => e instanceof AskError && e.code === 'exit' && e.reason?.kind === 'error',
  );
  await assert.rejects(
    ask(silent, (replyTo) => ({ type: 'q', replyTo }) as SMsg, 500),
    (e: unknown) => e instanceof AskError && e.code === 'noproc',
  );
  assert.equal(sched.size, 0, 'no ask timer left behind');
  await rt.stop();
});

test('dead letters are counted by message type', async () => {
  const rt = new Runtime();
  const p = rt.spawn(probe, { id: 'p' }, { name: 'p' });
  await settle(rt);
  assert.equal(rt.kill('/p'), true);
  tell(p, { type: 'tick' });
  tell(p, { type: 'tick' });
  tell(p, { type: 'crash' });
  assert.deepEqual(rt.deadLetters(), { total: 3, byType: { tick: 2, crash: 1 } });
  await rt.stop();
});

test('registry: path, kind, supervisor, restart type, counters, mailbox high-water, summary; list(pattern)', async () => {
  const rt = new Runtime();
  await startSupervisor(rt, { children: [worker(probe, { id: 'a' }, { id: 'a', restart: 'transient' }), worker(probe, { id: 'b' }, { id: 'b' })] });
  const a = rt.refOf<ProbeMsg>('/root/a')!;
  for (let i = 0; i < 10; i++) tell(a, { type: 'tick' });
  await settle(rt);
  const info = rt.info('/root/a')!;
  assert.equal(info.kind, 'worker');
  assert.equal(info.supervisor, '/root');
  assert.equal(info.restart, 'transient');
  assert.equal(info.handled, 10);
  assert.ok(info.mailboxHighWater >= 9, `high-water ${info.mailboxHighWater}`);
  assert.equal(info.mailbox, 0);
  assert.deepEqual(info.summary, { ticks: 10 });
  assert.deepEqual(rt.list('/root/*').map((x) => x.path).sort(), ['/root/a', '/root/b']);
  assert.deepEqual(rt.list('**').length, 3);
  const [root] = rt.tree();
  assert.equal(root!.kind, 'supervisor');
  assert.deepEqual(root!.children.map((c) => c.name).sort(), ['a', 'b']);
  assert.deepEqual((root!.summary as { running: number }).running, 2);
  await rt.stop();
});

test('kill modes: crash → error reason; stall blocks the mailbox; socket uses the actor hook', async () => {
  const sched = new ManualScheduler();
  const rt = new Runtime({ scheduler: sched });
  let destroyed = 0;
  const withSocket = { ...probe, chaos: { socket: () => void destroyed++ } };
  const a = rt.spawn(withSocket, { id: 'a' }, { name: 'a' });
  await settle(rt);
  assert.equal(rt.kill('/a', 'socket'), true);
  assert.equal(rt.kill('/a', 'stall', { ms: 1000 }), true);
  tell(a, { type: 'tick' });
  tell(a, { type: 'tick' });
  for (let i = 0; i < 20; i++) await tick();
  assert.equal(destroyed, 1);
  assert.equal(rt.info('/a')!.mailbox, 2, 'stalled');
  sched.advance(1000);
  await settle(rt);
  assert.deepEqual(rt.info('/a')!.summary, { ticks: 2 });
  let reason: ExitReason | undefined;
  rt.watch(a, (r) => (reason = r));
  rt.kill('/a', 'crash');
  await until(() => reason !== undefined, 'crash');
  assert.equal((reason as unknown as { kind: string }).kind, 'error');
  assert.equal(rt.kill('/a', 'kill'), false, 'gone');
  await rt.stop();
});

test('no orphans: a raw nact stop of a subtree stops every descendant and releases what they own', async () => {
  const sched = countingScheduler();
  const rt = new Runtime({ scheduler: sched });
  const log: string[] = [];
  type NMsg = { type: 'spawn'; id: string };
  const nester = defineActor<null, NMsg, { id: string; depth: number }>({
    name: 'n',
    init: (a, ctx) => {
      ctx.timers.interval('beat', 10, { type: 'spawn', id: 'never' });
      ctx.own(() => log.push(`released:${a.id}`));
      if (a.depth > 0) ctx.spawn(nester, { id: `${a.id}.k`, depth: a.depth - 1 }, { name: 'k' });
      return null;
    },
    handle: (s) => s,
  });
  rt.spawn(nester, { id: 'top', depth: 3 }, { name: 'top' });
  await settle(rt);
  assert.equal(rt.cells.size, 4);
  assert.equal(sched.live(), 4);
  nact.stop(rt.nactRefOf('/top')! as unknown as Parameters<typeof nact.stop>[0]);
  assert.deepEqual(log, ['released:top.k.k.k', 'released:top.k.k', 'released:top.k', 'released:top'], 'deepest first');
  assert.equal(rt.cells.size, 0);
  assert.equal(rt.nactActorCount(), 0);
  assert.equal(sched.live(), 0, 'every interval timer released');
  await rt.stop();
});

test('owned sockets are destroyed when their actor is killed', async () => {
  const server = createServer((s) => s.on('error', () => {}));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const rt = new Runtime();
  let sock: Socket | undefined;
  rt.spawn(
    defineActor<null, never, void>({
      init: async (_a, ctx) => {
        sock = ctx.own(connect(port, '127.0.0.1'));
        await once(sock, 'connect');
        return null;
      },
      handle: (s) => s,
    }),
    undefined,
    { name: 'sock' },
  );
  await settle(rt);
  rt.kill('/sock');
  assert.equal(sock!.destroyed, true);
  await rt.stop();
  server.close();
  await once(server, 'close');
});

test('guarded crash handling: throwing onCrash, throwing init, crash loops: no zombie, no unhandled rejection', async () => {
  const rejections: unknown[] = [];
  const onRej = (r: unknown): void => void rejections.push(r);
  process.on('unhandledRejection', onRej);
  try {
    const rt = new Runtime();
    let initFails = true;
    const bad = {
      ...probe,
      onCrash: () => {
        throw new Error('onCrash throws');
      },
    };
    const { startTree } = await import('../../supervisors/index.js');
    const h = await startTree(
      {
        intensity: 2,
        children: [
          worker(bad, { id: 'bad' }, { id: 'bad' }),
          worker(probe, { id: 'ok' }, { id: 'ok' }),
        ],
      },
      rt,
    );
    rt.kill('/root/bad', 'crash');
    await settle(rt);
    assert.equal(rt.info('/root/bad')!.incarnation, 2, 'crashed despite the throwing onCrash, and restarted');
    // a supervisor whose child's init fails on restart escalates cleanly
    const { addChild } = await import('../../supervisors/index.js');
    initFails = false;
    await addChild(h.root, worker(probe, { id: 'flaky', failInit: () => initFails }, { id: 'flaky' }));
    initFails = true;
    rt.kill('/root/flaky', 'kill');
    const reason = await h.exited;
    assert.deepEqual(reason, Exit.shutdown, 'restart failures count toward intensity; root exits');
    await settle(rt);
    assert.equal(rt.cells.size, 0);
    assert.equal(rt.nactActorCount(), 0);
    // the root's exit does not stop the runtime: a new top-level supervisor still starts…
    const again = await startSupervisor(rt, { children: [] }, 'again');
    assert.equal(rt.info(again.path)?.kind, 'supervisor');
    await h.stop();
    // …until the runtime is stopped; then it refuses new actors
    assert.equal(rt.cells.size, 0);
    await assert.rejects(startSupervisor(rt, { children: [] }), /runtime is stopping/);
    // a supervisor whose child fails at first start fails its own start, leaving nothing
    const rt2 = new Runtime();
    await assert.rejects(startSupervisor(rt2, { children: [worker(probe, { id: 'a' }, { id: 'a' }), worker(probe, { id: 'b', failInit: () => true }, { id: 'b' })] }), /init of b fails/);
    await settle(rt2);
    assert.equal(rt2.cells.size, 0);
    assert.equal(rt2.nactActorCount(), 0);
    await rt2.stop();
    for (let i = 0; i < 20; i++) await tick();
    assert.deepEqual(rejections, []);
  } finally {
    process.off('unhandledRejection', onRej);
  }
});

test('definePure: pure (state, msg) → { state, effects } with the shell interpreting effects', async () => {
  type PMsg = { type: 'start'; echo: Ref<ProbeMsg> } | { type: 'beat' };
  interface PState {
    beats: number;
    echo?: Ref<ProbeMsg>;
  }
  const pureDef = definePure<PState, PMsg, void>({
    init: () => ({ state: { beats: 0 } }),
    update: (s, m) => {
      if (m.type === 'start') return { state: { ...s, echo: m.echo }, effects: [{ kind: 'interval', key: 'beat', ms: 10, msg: { type: 'beat' } }] };
      const beats = s.beats + 1;
      const effects = [send(s.echo!, { type: 'tick' })];
      return beats >= 3 ? { state: { ...s, beats }, effects: [...effects, { kind: 'stop', reason: Exit.normal }] } : { state: { ...s, beats }, effects };
    },
    summarize: (s) => ({ beats: s.beats }),
  });
  const sched = new ManualScheduler();
  const rt = new Runtime({ scheduler: sched });
  const echo = rt.spawn(probe, { id: 'echo' }, { name: 'echo' });
  const p = rt.spawn(pureDef, undefined, { name: 'pure' });
  tell(p, { type: 'start', echo });
  await settle(rt);
  for (let i = 0; i < 3; i++) {
    sched.advance(10);
    await settle(rt);
  }
  assert.equal(rt.info('/pure'), undefined, 'stopped itself');
  assert.deepEqual(rt.info('/echo')!.summary, { ticks: 3 });
  assert.equal(sched.size, 0);
  await rt.stop();
});

test('dynamic supervisor: 2,000 children, max_children, temporary children not restarted', async () => {
  const rt = new Runtime();
  const sup = await startDynamicSupervisor(rt, { def: probe, maxChildren: 2000, childName: (a) => a.id }, 'peers');
  const refs: Ref<ProbeMsg>[] = [];
  for (let i = 0; i < 2000; i++) refs.push(await startChild(sup, { id: `peer-${i}` }));
  await assert.rejects(startChild(sup, { id: 'one-too-many' }), (e: unknown) => e instanceof SupervisorError && e.code === 'max_children');
  assert.deepEqual(await countChildren(sup), { active: 2000, max: 2000 });
  for (const r of refs) tell(r, { type: 'tick' });
  await settle(rt);
  assert.equal(rt.info('/peers/peer-1999')!.handled, 1);
  assert.equal(rt.info('/peers')!.handled, 2002, 'children traffic never went through the supervisor');
  rt.kill('/peers/peer-7', 'crash');
  await settle(rt);
  assert.equal(rt.info('/peers/peer-7'), undefined);
  assert.deepEqual(await countChildren(sup), { active: 1999, max: 2000 });
  await startChild(sup, { id: 'peer-new' });
  await rt.stop();
  assert.equal(rt.nactActorCount(), 0);
});
