import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { ManualScheduler, advance, advanceUntil } from '../helpers/clock.js';
import type { KillMode } from '../../supervisors/index.js';
import type { PeerInfo } from '../../src/contracts/peer.js';

type Node = Awaited<ReturnType<typeof testNode>>;

async function activePeers(n: Node): Promise<PeerInfo[]> {
  return (await n.peers()).filter((p) => p.phase === 'active');
}

test('a killed, crashed or disconnected peer actor is replaced by a new dial; the reason is recorded', async () => {
  const a = await testNode();
  const b = await testNode({ addnode: [`127.0.0.1:${a.port}`] });
  try {
    const cases: [KillMode, RegExp][] = [
      ['kill', /killed/],
      ['socket', /peer closed the connection|connection lost/],
      ['crash', /error|crash/i],
    ];
    for (const [mode, reason] of cases) {
      let old: PeerInfo | undefined;
      await until('b has an active manual peer', async () => {
        [old] = await activePeers(b);
        return old !== undefined;
      });
      assert.equal(old!.connType, 'manual');
      assert.ok(b.kill(`/root/peers/peer-${old!.id}`, mode), `kill ${mode}`);
      await until(`a replacement after ${mode}`, async () => {
        const ps = await activePeers(b);
        return ps.length === 1 && ps[0].id !== old!.id;
      });
      const rec = (await b.disconnects()).find((d) => d.id === old!.id);
      assert.ok(rec, `the ${mode} is recorded`);
      assert.match(rec.reason, reason);
      assert.equal(rec.connType, 'manual');
    }
    assert.equal((await b.peers()).length, 1, 'one connection, no duplicates');
    await until('a sees exactly one live inbound', async () => (await activePeers(a)).length === 1 && (await a.peers()).length === 1);
  } finally {
    await b.cleanup();
    await a.cleanup();
  }
});

test('the connection manager, killed, is restarted and adopts the live peers: same ids, no duplicate dial', async () => {
  const a = await testNode();
  const b = await testNode({ addnode: [`127.0.0.1:${a.port}`] });
  // A 1 ms tick: a new incarnation would dial before adoption finishes if it did not wait for it.
  // c runs on a manual clock: its restarts, ticks and the stall below move only with it.
  const clock = new ManualScheduler();
  const c = await testNode({ addnode: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], tickMs: 1, scheduler: clock });
  try {
    await advanceUntil(clock, 'c has two active peers', async () => (await activePeers(c)).length === 2, 10_000);
    await until('a has two active peers', async () => (await activePeers(a)).length === 2);
    const before = (await c.peers()).map((p) => p.id);
    const aBefore = (await a.peers()).map((p) => p.id);
    for (const [node, inc, stall] of [
      [c, 2, false],
      [a, 2, false],
      // A busy peer answers the adoption query late: the new manager must not dial meanwhile.
      [c, 3, true],
    ] as const) {
      if (stall) assert.ok(node.runtime.kill(`/root/peers/peer-${before[0]}`, 'stall', { ms: 800 }));
      assert.ok(node.kill('/root/connman', 'kill'));
      if (node === c) {
        await advanceUntil(clock, 'connman restarted', () => node.actors('/root/connman')[0]?.incarnation === inc, 10_000, 5);
        // Ticks every 1 ms of c's time: 3 s of it give the new incarnation thousands of chances to (wrongly) dial again.
        await advance(clock, 3000, 5);
      } else {
        await until('connman restarted', () => node.actors('/root/connman')[0]?.incarnation === inc);
        // Ticks every 100 ms: give the new incarnation several chances to (wrongly) dial again.
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    assert.deepEqual((await c.peers()).map((p) => p.id), before, 'c: same peers, same ids');
    assert.deepEqual((await a.peers()).map((p) => p.id), aBefore, 'a: same peers, same ids');
    assert.equal((await c.disconnects()).length, 0);
    assert.equal((await a.disconnects()).length, 0);
    assert.equal(c.actors('/root/peers/*').length, 2, 'no extra peer actor (no duplicate dial)');
    // The adopted peers are still monitored: killing one is noticed and it is replaced.
    const victim = before[0];
    assert.ok(c.kill(`/root/peers/peer-${victim}`, 'kill'));
    await advanceUntil(
      clock,
      'the adopted peer is replaced',
      async () => {
        const ps = await activePeers(c);
        return ps.length === 2 && !ps.some((p) => p.id === victim);
      },
      10_000,
    );
    const rec = (await c.disconnects()).find((d) => d.id === victim);
    assert.match(rec?.reason ?? '', /killed/);
  } finally {
    await c.cleanup();
    await b.cleanup();
    await a.cleanup();
  }
});
