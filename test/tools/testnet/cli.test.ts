/**
 * `peerd net` and `peerd demo` as child processes: the report (text and JSON), the refusals, and
 * the demo's whole life — URL with token, the page, every node synced over its printed RPC port
 * and cookie, then SIGINT leaving no process, port or directory behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rpcCall } from '../../../src/rpc/client.js';
import type { NetReport } from '../../../src/tools/testnet/report.js';
import { peerdBin, runPeerd } from '../../helpers/cli.js';
import { login, request } from '../../helpers/inspect.js';
import { until } from '../../helpers/node.js';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Pids whose parent is `pid` (from /proc; empty where there is no /proc). */
function childrenOf(pid: number): number[] {
  if (!existsSync('/proc')) return [];
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const m = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'));
      if (m && Number(m[1]) === pid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

test('peerd net: 3-node ring, report on stdout and as JSON, exit 0', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-net-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'report.json');
  const r = await runPeerd(['net', '--nodes', '3', '--blocks', '60', '--duration', '5', '--report', file]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /initial sync +60 blocks on every node: \d+ ms/);
  assert.match(r.stdout, /new block +height 61 handed to node 0/);
  assert.match(r.stdout, /^ok$/m);
  const report = JSON.parse(readFileSync(file, 'utf8')) as NetReport;
  assert.equal(report.ok, true);
  assert.equal(report.nodes, 3);
  assert.deepEqual(
    report.final.map((n) => n.height),
    [61, 61, 61],
  );
  assert.deepEqual(report.edges, [
    { from: 0, to: 1 },
    { from: 1, to: 2 },
    { from: 2, to: 0 },
  ]);
  assert.ok(report.address.reached >= 1);
  assert.ok(report.sync !== null && report.sync.allMs !== null);
});

test('peerd net: bad flags exit 2 with a message', async () => {
  for (const [args, re] of [
    [['net', '--nodes', '0'], /bad --nodes/],
    [['net', '--nodes', '3', '--topology', 'star'], /unknown --topology "star"/],
    [['net', '--nodes', '3', '--duration', '0'], /bad --duration/],
    [['demo', '--inspect-port', '70000'], /bad --inspect-port/],
  ] as const) {
    const r = await runPeerd(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

test('peerd demo: prints the inspector link and the nodes, the page opens, every node syncs, SIGINT stops and removes everything', async () => {
  const child = spawn(process.execPath, [peerdBin, 'demo', '--blocks', '300', '--mine-every', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = (): void => void child.kill('SIGKILL');
  process.once('exit', killer);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  let root = '';
  try {
    await until('the demo text', () => /Ctrl-C stops every node/.test(out), 60_000);
    root = /data in (\S+), removed on Ctrl-C/.exec(out)?.[1] ?? '';
    assert.ok(root.length > 0 && existsSync(root), out);
    const tokenUrl = /inspector +(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out)?.[1];
    assert.ok(tokenUrl, out);
    const base = tokenUrl.split('?')[0]!;
    const nodes = [...out.matchAll(/^ {2}node-(\d+) +(\d+) +(\d+) +(\S+)$/gm)].map((m) => ({ p2p: Number(m[2]), rpc: Number(m[3]), cookieFile: m[4]! }));
    assert.equal(nodes.length, 3, out);
    for (const n of nodes) assert.ok(n.cookieFile.startsWith(root) && existsSync(n.cookieFile));

    // The one-time link opens a session; the page answers 200 with it.
    const cookie = await login(tokenUrl);
    const page = await request(base, { headers: { Cookie: cookie } });
    assert.equal(page.status, 200);
    assert.match(page.body, /<html/i);
    assert.equal((await request(base)).status, 401, 'no session, no page');

    // Every node reaches the chain's height, asked over its printed RPC port with its cookie.
    await until(
      'every node at 300',
      async () => {
        const hs = await Promise.all(nodes.map((n) => rpcCall({ port: n.rpc, cookieFile: n.cookieFile }, 'getblockcount').catch(() => -1)));
        return hs.every((h) => h === 300);
      },
      60_000,
    );
    await until('the synced line', () => /^synced: all 3 nodes at height 300/m.test(out), 10_000);
    // Everything runs in the one process: the demo starts no child processes.
    assert.deepEqual(childrenOf(child.pid!), []);

    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
    assert.equal(code, 0, `exit ${code}; stderr: ${err}`);
    assert.match(err, /stopped; removed /);
    assert.equal(existsSync(root), false, 'the temporary directory is gone');
    const ports = [...nodes.flatMap((n) => [n.p2p, n.rpc]), Number(new URL(base).port)];
    for (const p of ports) assert.equal(await accepts(p), false, `port ${p} closed`);
  } finally {
    process.removeListener('exit', killer);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    if (root) rmSync(root, { recursive: true, force: true });
  }
});
