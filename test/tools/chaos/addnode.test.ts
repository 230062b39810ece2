/**
 * Issue 16, item 7: `peerd chaos --target 'peers/*' --mode kill --rate 5` against a `peerd start`
 * with three `--addnode` peers (all 127.0.0.1). A kill of our own peer actor must not grow the
 * addnode redial backoff: before the fix each kill doubled it, so after a few kills per address
 * the victims were "not back within 10 s". Here the run lasts 5 s (about 25 kills, 8 per address)
 * and every victim must be recovered within the default 10 s.
 *
 * The issue's own run lasts 20 s. At 5 kills/s on 3 connections a peer victim counts as recovered
 * only when the connection count is back to its level before that kill, which kills every 200 ms
 * keep from happening until the run ends: with 20 s the first victims then wait more than 10 s even
 * though each address is dialled again within about a second (`--refill 30` makes that run pass).
 * That is the chaos runner's measure, not the node; see docs/testing.md, "Chaos".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testNode, until } from '../../helpers/node.js';
import type { ChaosReport } from '../../../src/tools/chaos/runner.js';
import { peerdBin as bin, runPeerd as run } from '../../helpers/cli.js';

test('peerd chaos --rate 5 kill on a node with three --addnode peers: every victim reconnected, all invariants held', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-chaos-addnode-'));
  const others: Awaited<ReturnType<typeof testNode>>[] = [];
  let node: ReturnType<typeof spawn> | null = null;
  try {
    for (let i = 0; i < 3; i++) others.push(await testNode());
    node = spawn(
      process.execPath,
      [bin, 'start', '--network', 'regtest', '--datadir', dir, '--bind', '127.0.0.1:0', '--dnsseed', '0', '--rpcport', '0', ...others.flatMap((o) => ['--addnode', `127.0.0.1:${o.port}`])],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    node.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    await until('RPC listening', () => /"msg":"RPC server listening"/.test(log), 20_000);
    const line = log.split('\n').find((l) => l.includes('RPC server listening'))!;
    const rpcPort = Number(/127\.0\.0\.1:(\d+)/.exec((JSON.parse(line) as { rpc: string[] }).rpc[0])![1]);
    await until('the three addnode peers connected', async () => (await Promise.all(others.map((o) => o.peers()))).every((ps) => ps.some((p) => p.phase === 'active')), 20_000);

    const file = join(dir, 'chaos.json');
    const r = await run([
      'chaos', '--network', 'regtest', '--datadir', dir, '--rpcport', String(rpcPort),
      '--target', 'peers/*', '--mode', 'kill', '--rate', '5', '--duration', '5', '--seed', '16', '--report', file,
    ]);
    const report = JSON.parse(readFileSync(file, 'utf8')) as ChaosReport;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(report.ok, true, r.stdout);
    assert.ok(report.victims.length >= 10, `at least 10 kills in 5 s at 5/s: ${report.victims.length}`);
    for (const v of report.victims) assert.equal(v.recovery, 'reconnected', `${v.path}: ${r.stdout}`);
    assert.ok(report.invariants.some((i) => i.name === 'every victim recovered' && i.pass), r.stdout);
    assert.ok(report.invariants.some((i) => i.name === 'connections refilled' && i.pass), r.stdout);
    // All three are connected again once the run is over.
    await until('all three connected again', async () => (await Promise.all(others.map((o) => o.peers()))).every((ps) => ps.some((p) => p.phase === 'active')), 10_000);
  } finally {
    if (node && node.exitCode === null) {
      const exited = new Promise((res) => node!.once('close', res));
      node.kill('SIGTERM');
      await exited;
    }
    for (const o of others) await o.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
