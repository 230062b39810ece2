/**
 * A one-minute smoke run of the soak (`npm run soak -- --minutes 1`), through its command line:
 * three checkpoints 20 s apart (chaos rounds: kill, crash, socket on peers, at 0.5/s so that a
 * short round has victims), every invariant holding, the table on stdout and the JSON report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SLOW_SKIP } from '../helpers/faults.js';
import type { SoakReport } from '../../src/tools/soak/soak.js';

const main = fileURLToPath(new URL('../../src/tools/soak/main.js', import.meta.url));

function run(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGTERM'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

test('soak --minutes 1: three checkpoints, victims in each round, every invariant held, table and JSON report', { skip: SLOW_SKIP, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-soak-test-'));
  try {
    const file = join(dir, 'soak.json');
    const r = await run(['--minutes', '1', '--interval', '20', '--rate', '0.5', '--seed', '3', '--report', file], 170_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /# +at s +chaos +victims +max recov ms +rpc ms +in\/out +actors +timers +sockets +fds +RSS MB/);
    assert.match(r.stdout, /all invariants held at all 3 checkpoints/);
    const report = JSON.parse(readFileSync(file, 'utf8')) as SoakReport;
    assert.equal(report.ok, true);
    assert.equal(report.checkpoints.length, 3);
    assert.deepEqual(report.checkpoints.map((c) => c.round.mode), ['kill', 'crash', 'socket']);
    assert.ok(report.totals.victims >= 1, `victims ${report.totals.victims}`);
    for (const cp of report.checkpoints) {
      assert.deepEqual(cp.checks.map((k) => k.name), ['chaos round invariants', 'RPC answering', 'connections refilled', 'no leak growth', 'RSS bounded']);
      assert.ok(cp.checks.every((k) => k.pass));
      assert.ok(cp.connections.inbound >= 50 && cp.connections.outbound >= 1);
      assert.ok(cp.resources.rssMB > 0 && cp.resources.rssMB <= report.rssBoundMB);
      assert.ok(cp.rtt.samples > 0);
    }
    assert.ok(report.totals.simReconnects >= 1, 'killed simulated peers dialled again');

    const bad = await run(['--interval', '20'], 10_000);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--hours or --minutes/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
