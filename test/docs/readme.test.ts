/**
 * README's recipes run as written: each ```sh block marked `<!-- recipe: NAME -->` is taken
 * from README.md, its `peerd` commands run with this checkout's bin/peerd.js (the build step is
 * skipped: this checkout is built), on fresh temporary datadirs instead of /tmp/peerd-*, and
 * what the page promises is checked. Loopback only, ports chosen by the system.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerdBin, runPeerd } from '../helpers/cli.js';
import { projectRoot } from '../helpers/fixtures.js';
import { until } from '../helpers/node.js';

/** The commands of a marked recipe, comments and blank lines dropped. */
export function recipe(readme: string, name: string): string[] {
  const at = readme.indexOf(`<!-- recipe: ${name}`);
  assert.ok(at >= 0, `README has no recipe "${name}"`);
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, `recipe "${name}" has no sh block`);
  return m[1]
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** `peerd a b c` → the arguments after `peerd`, split on spaces (the recipes quote nothing). */
function peerdArgs(line: string): string[] {
  const words = line.split(/\s+/);
  assert.equal(words[0], 'peerd', `a recipe line that is not a peerd command: ${line}`);
  return words.slice(1);
}

test('README "Try it on loopback": two nodes on their own ports, B connects to A, `peerd peers` with B\'s datadir shows A', async (t) => {
  const lines = recipe(readFileSync(join(projectRoot(), 'README.md'), 'utf8'), 'loopback');
  assert.match(lines[0], /^npm ci && npm run build/, 'the first step builds');
  const steps = lines.slice(1);
  assert.equal(steps.length, 3, steps.join('\n'));
  const dirs = new Map<string, string>();
  const dirFor = (p: string): string => {
    let d = dirs.get(p);
    if (!d) dirs.set(p, (d = mkdtempSync(join(tmpdir(), 'peerd-readme-'))));
    return d;
  };
  t.after(() => {
    for (const d of dirs.values()) rmSync(d, { recursive: true, force: true });
  });
  const subst = (args: string[], port: number | null): string[] =>
    args.map((a) => (a.startsWith('/tmp/peerd-') ? dirFor(a) : port !== null ? a.replace('PORT', String(port)) : a));

  const procs: ChildProcess[] = [];
  t.after(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  });
  const startNode = (args: string[]): { proc: ChildProcess; log: () => string } => {
    const proc = spawn(process.execPath, [peerdBin, ...args, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(proc);
    let log = '';
    proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    return { proc, log: () => log };
  };
  const started = (log: string): { listen: string[]; rpc: string | null } | null => {
    const line = log.split('\n').find((l) => l.includes('"msg":"peerd started"'));
    return line ? (JSON.parse(line) as { listen: string[]; rpc: string | null }) : null;
  };

  // Node A: its "peerd started" line says the bound ports.
  const a = startNode(subst(peerdArgs(steps[0]), null));
  await until('A started', () => started(a.log()) !== null, 30_000);
  const aInfo = started(a.log())!;
  const aPort = Number(/:(\d+)$/.exec(aInfo.listen[0])![1]);
  assert.ok(aPort > 0, `A says its real P2P port: ${aInfo.listen[0]}`);
  assert.match(aInfo.rpc ?? '', /^127\.0\.0\.1:[1-9]\d*$/, 'and its real RPC port');

  // Node B, with A's port: it starts (its RPC port does not clash with A's) and connects.
  const b = startNode(subst(peerdArgs(steps[1]), aPort));
  await until('B started', () => started(b.log()) !== null, 30_000);
  assert.notEqual(started(b.log())!.rpc, aInfo.rpc);

  // `peerd peers` with B's datadir reaches B, which has A as a manual outbound peer.
  const peersArgs = subst(peerdArgs(steps[2]), aPort);
  let out = '';
  await until(
    'B lists A',
    async () => {
      const r = await runPeerd(peersArgs);
      assert.equal(r.code, 0, r.stderr);
      out = r.stdout;
      return new RegExp(`127\\.0\\.0\\.1:${aPort}\\s+manual\\s+out`).test(out);
    },
    30_000,
  );
  for (const p of [a.proc, b.proc]) {
    p.kill('SIGTERM');
  }
  const codes = await Promise.all([a.proc, b.proc].map((p) => new Promise<number | null>((r) => (p.exitCode !== null ? r(p.exitCode) : p.on('close', r)))));
  assert.deepEqual(codes, [0, 0]);
});
