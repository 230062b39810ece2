import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../../helpers/node.js';
import { handleTarget, runChaos, reportText, type ChaosReport } from '../../../src/tools/chaos/index.js';

function check(r: ChaosReport): void {
  const broken = r.invariants.filter((i) => !i.pass);
  assert.deepEqual(broken, [], reportText(r));
  assert.ok(r.ok);
  // Every kill is in the report, each with its own record.
  assert.equal(new Set(r.victims.map((v) => `${v.path}#${v.incarnation}#${v.step}`)).size, r.victims.length);
  for (const v of r.victims) {
    assert.notEqual(v.recovery, 'timeout', `${v.path} recovered`);
    assert.ok(v.mailboxAtDeath >= 0);
  }
}

test('chaos in-process on a 3-node regtest network: peers and the connection manager, kill and crash; invariants hold, connections come back', async () => {
  const nodes: Awaited<ReturnType<typeof testNode>>[] = [];
  try {
    for (let i = 0; i < 3; i++) nodes.push(await testNode({ addnode: nodes.map((n) => `127.0.0.1:${n.port}`) }));
    await nodes[0].addnode(`127.0.0.1:${nodes[2].port}`, 'add');
    await until('each node has peers', async () => (await Promise.all(nodes.map((n) => n.peers()))).every((ps) => ps.length >= 2 && ps.every((p) => p.phase === 'active')));
    const [a, b] = nodes;

    const peers = await runChaos(handleTarget(a), { target: '/root/peers/*', mode: 'kill', rate: 3, jitter: 0.5, durationS: 1.5, seed: 7, refillS: 15 });
    check(peers);
    assert.ok(peers.victims.length > 0, 'peers were killed');
    assert.ok(peers.victims.every((v) => /^\/root\/peers\/peer-\d+$/.test(v.path) && v.mode === 'kill'));

    const crashes = await runChaos(handleTarget(b), { target: '/root/peers/*', mode: 'crash', rate: 3, jitter: 0.5, durationS: 1, seed: 11, refillS: 15 });
    check(crashes);
    assert.ok(crashes.victims.every((v) => v.mode === 'crash'));

    // The root allows 3 restarts in 5 s: two connection-manager deaths stay under it.
    const connman = await runChaos(handleTarget(a), { target: '/root/connman', mode: 'crash', rate: 1, jitter: 0.2, durationS: 2, seed: 3, refillS: 15 });
    check(connman);
    assert.ok(connman.victims.length >= 1 && connman.victims.every((v) => v.path === '/root/connman' && v.recovery === 'replaced' && v.newIncarnation! > v.incarnation));
    assert.match(reportText(connman), /\/root\/connman .*crash/);
    assert.ok((await a.peers()).length >= 2, 'connections came back');
  } finally {
    for (const n of nodes) await n.cleanup();
  }
});

test('chaos almost: a supervisor pushed to its limit − 1 without crossing it', async () => {
  const node = await testNode();
  try {
    const r = await runChaos(handleTarget(node), { target: '/root/listeners', mode: 'almost', rate: 1, jitter: 0, durationS: 1.5, seed: 5, refillS: 10 });
    check(r);
    // listeners: 5 restarts in 10 s allowed → 4 crashes of its only child, then nothing more in the period.
    assert.equal(r.victims.length, 4, reportText(r));
    assert.ok(r.victims.every((v) => v.path === '/root/listeners/listener-0' && v.supervisor === '/root/listeners' && v.mode === 'crash'));
    const sup = r.supervisors.find((s) => s.path === '/root/listeners')!;
    assert.equal(sup.maxRestartsInPeriodSeen, 4);
    assert.equal(sup.escalated, false);
    assert.ok(node.actors('/root/listeners/*').length === 1);
  } finally {
    await node.cleanup();
  }
});
