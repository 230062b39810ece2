/**
 * `peerd chaos --target 'peers/*' --mode kill --rate 5 --duration 20` against a `peerd start` with
 * three `--addnode` peers (all 127.0.0.1). A kill of our own peer actor must not grow the addnode
 * redial backoff: a backoff that doubled at each kill made the victims "not back within 10 s"
 * after a few kills per address. 100 kill times in 20 s (a kill finds no victim while all three
 * are being redialled): every victim must be recovered within the default 10 s. A peer victim is
 * recovered when its slot is refilled: the connection count back to its level at the kill, or a
 * connection that was not there at the kill (kills every 200 ms keep the count from coming back
 * until they stop, though each one is answered by a new dial).
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
      '--target', 'peers/*', '--mode', 'kill', '--rate', '5', '--duration', '20', '--seed', '16', '--report', file,
    ]);
    const report = JSON.parse(readFileSync(file, 'utf8')) as ChaosReport;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(report.ok, true, r.stdout);
    // 100 kill times in 20 s; a kill finds no victim while all three are being redialled.
    assert.ok(report.victims.length >= 30, `at least 30 kills in 20 s at 5/s: ${report.victims.length}`);
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
