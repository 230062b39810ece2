/**
 * The chaos modes not covered by inprocess.test.ts (socket, stall), and the report's leak check:
 * a pure test of its tolerance rule, and a run against a target that really leaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { testNode, until } from '../../helpers/node.js';
import { RawPeer } from '../../helpers/raw-peer.js';
import { handleTarget, runChaos, reportText, leakRows, allowedAfter, LEAK_RULES, type ChaosReport } from '../../../src/tools/chaos/index.js';
import type { ResourceReport } from '../../../src/util/resources.js';

function held(r: ChaosReport): void {
  assert.deepEqual(
    r.invariants.filter((i) => !i.pass),
    [],
    reportText(r),
  );
  assert.ok(r.ok);
}

test('chaos socket: peer sockets destroyed from inside; each victim goes, its node dials again, the count refills; nothing leaks', async () => {
  const a = await testNode();
  const others: Awaited<ReturnType<typeof testNode>>[] = [];
  try {
    for (let i = 0; i < 2; i++) others.push(await testNode({ addnode: [`127.0.0.1:${a.port}`] }));
    await until('two inbound peers on a', async () => (await a.peers()).filter((p) => p.phase === 'active').length === 2);
    const idsBefore = new Set((await a.peers()).map((p) => p.id));

    const r = await runChaos(handleTarget(a), { target: '/root/peers/*', mode: 'socket', rate: 2, jitter: 0.3, durationS: 2, seed: 4, refillS: 15 });
    held(r);
    assert.ok(r.victims.length >= 2, reportText(r));
    for (const v of r.victims) {
      assert.equal(v.mode, 'socket');
      assert.equal(v.recovery, 'reconnected', `${v.path}: ${v.recovery}`);
      // The victim's actor ended (a peer is never restarted in place): its path is gone for good.
      assert.equal(a.actors(v.path).length, 0, `${v.path} still there`);
    }
    // Its end saw the close: the node recorded each victim's disconnect.
    const recs = await a.disconnects();
    for (const v of r.victims) assert.ok(recs.some((d) => `/root/peers/peer-${d.id}` === v.path), `${v.path} disconnect recorded`);
    const after = await a.peers();
    assert.equal(after.length, 2, 'back to two connections');
    assert.ok(after.some((p) => !idsBefore.has(p.id)), 'replaced by new connections (new peer ids)');
    assert.ok(r.invariants.some((i) => i.name === 'no leaked resources' && i.pass));
    assert.ok(r.resources.leaks.some((l) => l.resource === 'sockets' && l.before !== null && l.after !== null));
  } finally {
    for (const n of others) await n.cleanup();
    await a.cleanup();
  }
});

test('chaos stall: a peer mailbox blocked for 1 s queues the pings that arrive meanwhile (mailbox > 0) and then drains them all, in order', async () => {
  const node = await testNode();
  const peer = await RawPeer.connect(node.port);
  try {
    await peer.handshake();
    await peer.waitFor('ping');
    let path = '';
    await until('the peer is active', async () => {
      const [p] = await node.peers();
      if (p?.phase !== 'active') return false;
      path = `/root/peers/peer-${p.id}`;
      return true;
    });
    const [rec0] = node.actors(path);

    // rate 2/s, no jitter, 1 s: a single stall, 500 ms in.
    const run = runChaos(handleTarget(node), { target: path, mode: 'stall', stallMs: 1000, rate: 2, jitter: 0, durationS: 1, seed: 1, refillS: 10 });
    const sent: bigint[] = [];
    let maxMailbox = 0;
    for (let i = 0; i < 45; i++) {
      const nonce = 1000n + BigInt(i);
      peer.send({ command: 'ping', nonce });
      sent.push(nonce);
      await new Promise((r) => setTimeout(r, 40));
      maxMailbox = Math.max(maxMailbox, node.actors(path)[0]?.mailbox ?? 0);
    }
    const r = await run;
    held(r);
    assert.equal(r.victims.length, 1, reportText(r));
    const [v] = r.victims;
    assert.equal(v.mode, 'stall');
    assert.equal(v.recovery, 'resumed');
    assert.ok(maxMailbox > 0, 'messages queued while the mailbox was stalled');
    await until('every ping answered', () => peer.all('pong').length >= sent.length, 10_000);
    assert.deepEqual(
      peer.all('pong').map((p) => p.nonce),
      sent,
      'nothing lost, nothing reordered',
    );
    const [rec1] = node.actors(path);
    assert.equal(rec1?.incarnation, rec0?.incarnation, 'the same actor: a stall is not a restart');
    assert.ok((rec1?.mailboxHighWater ?? 0) >= maxMailbox);
    assert.equal(peer.isClosed, false);
  } finally {
    await peer.destroy();
    await node.cleanup();
  }
});

const base: ResourceReport = {
  actors: 10,
  peerActors: 2,
  timers: 12,
  nonPeerTimers: 4,
  timersByActor: {},
  handles: {},
  sockets: 6,
  nodeTimers: 1,
  fds: 40,
  rssBytes: 50 << 20,
  heapUsedBytes: 0,
  externalBytes: 0,
  eventLoopDelay: { p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0, samples: 0, windowMs: 0 },
  uptimeS: 1,
};

test('leak rule: baseline + abs + rel·baseline + per extra peer; fds unknown are not checked', () => {
  assert.equal(allowedAfter(LEAK_RULES.sockets, 6, 0), 6 + 2 + 1);
  assert.equal(allowedAfter(LEAK_RULES['runtime timers'], 12, 2), 12 + 2 + 1 + 12);
  assert.equal(allowedAfter(LEAK_RULES.actors, 10, -3, 1), 11, 'fewer peers: no extra allowance');
  const same = leakRows(base, base);
  assert.ok(same.every((l) => l.pass));
  const sockets = leakRows(base, { ...base, sockets: 10 }).find((l) => l.resource === 'sockets')!;
  assert.deepEqual([sockets.after, sockets.allowed, sockets.pass], [10, 9, false]);
  // Two more peers explain two more actors, 12 timers and 4 sockets.
  const grown = leakRows(base, { ...base, peerActors: 4, actors: 12, timers: 24, sockets: 10 });
  assert.ok(grown.every((l) => l.pass), JSON.stringify(grown));
  // But not a non-peer actor more.
  assert.equal(leakRows(base, { ...base, actors: 11 }).find((l) => l.resource === 'actors')?.pass, false);
  const noProc = leakRows({ ...base, fds: null }, { ...base, fds: 999 }).find((l) => l.resource === 'file descriptors')!;
  assert.equal(noProc.allowed, null);
  assert.equal(noProc.pass, true);
});

test('chaos leak check: a run during which listening sockets and timers are left open fails "no leaked resources"', async () => {
  const node = await testNode();
  const servers: Server[] = [];
  const intervals: NodeJS.Timeout[] = [];
  try {
    const inner = handleTarget(node);
    let leaked = false;
    // The target leaks on its first kill: 4 listening sockets and 6 timers this process never closes during the run.
    const leaky = {
      ...inner,
      kill: async (path: string, mode: Parameters<typeof inner.kill>[1], ms: number) => {
        if (!leaked) {
          leaked = true;
          for (let i = 0; i < 4; i++) {
            const s = createServer();
            await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
            servers.push(s);
          }
          for (let i = 0; i < 6; i++) intervals.push(setInterval(() => {}, 60_000));
        }
        return inner.kill(path, mode, ms);
      },
    };
    const r = await runChaos(leaky, { target: '/root/listeners/*', mode: 'crash', rate: 1, jitter: 0, durationS: 1.5, seed: 2, refillS: 1 });
    assert.equal(r.ok, false, reportText(r));
    const inv = r.invariants.find((i) => i.name === 'no leaked resources');
    assert.equal(inv?.pass, false);
    assert.match(inv!.detail, /sockets/);
    assert.match(inv!.detail, /node timers/);
    // Everything else held: the listener was replaced.
    assert.ok(r.invariants.filter((i) => i.name !== 'no leaked resources').every((i) => i.pass), reportText(r));
    assert.match(reportText(r), /sockets +\d+ +\d+ +\d+ +LEAK/);
  } finally {
    for (const t of intervals) clearInterval(t);
    for (const s of servers) await new Promise((r) => s.close(r));
    await node.cleanup();
  }
});
