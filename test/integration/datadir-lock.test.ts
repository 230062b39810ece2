/**
 * One datadir, one node: a second `peerd start` (or `npm start`) on a datadir in use refuses at
 * once with one line and exit status 1, and the running node loses nothing (store, block files,
 * cookie); a `kill -9` releases the lock; an index deleted by hand is rebuilt from the block
 * files. Real processes, real sockets on 127.0.0.1, the real store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { peerdBin } from '../helpers/cli.js';
import { projectRoot } from '../helpers/fixtures.js';
import { until, testNode } from '../helpers/node.js';
import { chainOf, serveBlocks, tmpDir } from '../helpers/chain.js';
import { rpcCall } from '../../src/rpc/client.js';
import { readCookie } from '../../src/rpc/auth.js';

interface Running {
  readonly proc: ChildProcess;
  readonly rpcPort: () => number | null;
  readonly out: () => string;
  readonly err: () => string;
  readonly closed: Promise<number | null>;
}

/** Spawns a command; stdout/stderr collected; SIGKILLed when the test ends. */
function run(t: { after(f: () => unknown): void }, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Running {
  const proc = spawn(cmd, args, { cwd: projectRoot(), env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<number | null>((r) => proc.on('close', r));
  // The whole process group (npm → sh → node).
  t.after(() => {
    try {
      process.kill(-proc.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  return {
    proc,
    closed,
    out: () => out,
    err: () => err,
    rpcPort() {
      const line = out.split('\n').find((l) => l.includes('RPC server listening'));
      if (!line) return null;
      const m = /127\.0\.0\.1:(\d+)/.exec(line);
      return m ? Number(m[1]) : null;
    },
  };
}

function startArgs(datadir: string, stubPort: number): string[] {
  return ['start', '--network', 'regtest', '--datadir', datadir, '--bind', '127.0.0.1:0', '--rpcport', '0', '--dnsseed', '0', '--connect', `127.0.0.1:${stubPort}`, '--log-format', 'json'];
}

async function rpc(datadir: string, port: number, method: string): Promise<unknown> {
  return rpcCall({ host: '127.0.0.1', port, cookieFile: join(datadir, 'regtest', '.cookie') }, method);
}

function snapshot(datadir: string): { entries: string[]; blk: number; cookie: string | null } {
  const net = join(datadir, 'regtest');
  return {
    entries: readdirSync(net).sort(),
    blk: statSync(join(net, 'blocks', 'blk00000.dat')).size,
    cookie: readCookie(join(net, '.cookie')),
  };
}

test('the same `peerd start` twice: the second refuses in one line (exit 1) before touching anything; the first keeps its chain, files and cookie', async (t) => {
  const blocks = chainOf(200);
  const stub = await serveBlocks(t, blocks);
  const datadir = tmpDir(t, 'peerd-lock-');
  const a = run(t, process.execPath, [peerdBin, ...startArgs(datadir, stub.port)]);
  await until('A answers RPC', () => a.rpcPort() !== null, 30_000);
  const port = a.rpcPort()!;
  await until('A synced 200', async () => Number(await rpc(datadir, port, 'getblockcount')) === 200, 60_000);
  const before = snapshot(datadir);

  const b = run(t, process.execPath, [peerdBin, ...startArgs(datadir, stub.port)]);
  const code = await b.closed;
  assert.equal(code, 1, b.err());
  const lines = b.err().trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${b.err()}`);
  assert.match(lines[0], new RegExp(`^peerd: Cannot obtain a lock on data directory ${join(datadir, 'regtest').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\. peerd is probably already running \\(process ${a.proc.pid}\\)`));
  assert.equal(b.out(), '', 'no log line: it stopped before the logger was opened');

  assert.deepEqual(snapshot(datadir), before, 'store, block files and cookie as they were');
  assert.equal(Number(await rpc(datadir, port, 'getblockcount')), 200, 'A still answers with its cookie');

  // A second start killed -9 in the middle of its start-up changes nothing either.
  const c = run(t, process.execPath, [peerdBin, ...startArgs(datadir, stub.port)]);
  await new Promise((r) => setTimeout(r, 150));
  c.proc.kill('SIGKILL');
  await c.closed;
  assert.deepEqual(snapshot(datadir), before);

  a.proc.kill('SIGTERM');
  assert.equal(await a.closed, 0);
  // Restarted alone, with no peer at all: every block is there.
  const again = await testNode({ datadir, connect: [], listen: false });
  t.after(() => again.stop());
  assert.equal(Number(await again.chainCall('getblockcount')), 200);
  assert.equal(await again.chainCall('getbestblockhash'), stub.tip);
});

test('a node killed -9 mid-sync frees the datadir at once: the next start takes it, keeps every block it had and finishes', async (t) => {
  const blocks = chainOf(400, { txsPerBlock: 3 });
  const stub = await serveBlocks(t, blocks);
  const datadir = tmpDir(t, 'peerd-lock-');
  const a = run(t, process.execPath, [peerdBin, ...startArgs(datadir, stub.port)]);
  await until('A answers RPC', () => a.rpcPort() !== null, 30_000);
  const port = a.rpcPort()!;
  let had = 0;
  await until('A part-way', async () => (had = Number(await rpc(datadir, port, 'getblockcount'))) >= 50, 60_000);
  a.proc.kill('SIGKILL');
  await a.closed;
  const b = run(t, process.execPath, [peerdBin, ...startArgs(datadir, stub.port)]);
  await until('B answers RPC', () => b.rpcPort() !== null, 30_000);
  const bport = b.rpcPort()!;
  assert.ok(Number(await rpc(datadir, bport, 'getblockcount')) >= had, 'nothing A had acknowledged is lost');
  await until('B synced 400', async () => Number(await rpc(datadir, bport, 'getblockcount')) === 400, 60_000);
  assert.equal(readCookie(join(datadir, 'regtest', '.cookie'))?.startsWith('__cookie__:'), true, "B's cookie");
  b.proc.kill('SIGTERM');
  assert.equal(await b.closed, 0);
});

test('`npm start` twice on the default datadir (~/.peerd): the second exits 1 with one line; the first runs on', async (t) => {
  const home = tmpDir(t, 'peerd-home-');
  mkdirSync(join(home, '.peerd'));
  // Defaults everywhere but what keeps the test on loopback: regtest (no seeds), 127.0.0.1, any free ports.
  writeFileSync(join(home, '.peerd', 'peerd.conf'), 'network=regtest\nbind=127.0.0.1:0\nrpcport=0\ndnsseed=0\nlog-format=json\n');
  const env = { ...process.env, HOME: home };
  // `--ignore-scripts` skips only the prestart build (this checkout is built); `npm start` itself runs.
  const a = run(t, 'npm', ['start', '--ignore-scripts', '--silent'], env);
  await until('A answers RPC', () => a.rpcPort() !== null, 30_000);
  const datadir = join(home, '.peerd');
  const port = a.rpcPort()!;
  const cookie = readFileSync(join(datadir, 'regtest', '.cookie'), 'utf8');
  const b = run(t, 'npm', ['start', '--ignore-scripts', '--silent'], env);
  assert.equal(await b.closed, 1, b.err());
  assert.match(b.err(), /^peerd: Cannot obtain a lock on data directory .*\.peerd\/regtest\. peerd is probably already running/);
  assert.equal(b.err().trim().split('\n').length, 1, b.err());
  assert.equal(readFileSync(join(datadir, 'regtest', '.cookie'), 'utf8'), cookie, "A's cookie untouched");
  assert.equal(Number(await rpc(datadir, port, 'getblockcount')), 0);
  // kill -9 the first (the whole npm → node group): the lock goes with it, the next `npm start` runs.
  process.kill(-a.proc.pid!, 'SIGKILL');
  await a.closed;
  const c = run(t, 'npm', ['start', '--ignore-scripts', '--silent'], env);
  await until('C answers RPC', () => c.rpcPort() !== null, 30_000);
  assert.equal(Number(await rpc(datadir, c.rpcPort()!, 'getblockcount')), 0);
  process.kill(-c.proc.pid!, 'SIGTERM');
  await c.closed;
});

/** What the block actor's start reindexed (its summary's `loaded.reindex`), or null. */
function reindexOf(node: { actors(p: string): { summary?: unknown }[] }): { reason: string; indexed: number; unconnected: number; bad: number } | null {
  const summary = node.actors('/root/chain')[0]?.summary as { loaded?: { reindex?: { reason: string; indexed: number; unconnected: number; bad: number } } } | undefined;
  const r = summary?.loaded?.reindex;
  return r ? { reason: r.reason, indexed: r.indexed, unconnected: r.unconnected, bad: r.bad } : null;
}

test('an index deleted by hand (the whole store) is rebuilt from the block files at the next start: every block still there', async (t) => {
  const blocks = chainOf(250, { txsPerBlock: 2 });
  const stub = await serveBlocks(t, blocks);
  const datadir = tmpDir(t, 'peerd-reindex-');
  const a = await testNode({ datadir, connect: [`127.0.0.1:${stub.port}`], listen: false });
  await until('synced 250', async () => Number(await a.chainCall('getblockcount')) === 250, 60_000);
  await a.stop();
  const blk = readdirSync(join(datadir, 'regtest', 'blocks')).filter((n) => n.startsWith('blk'));
  const sizes = blk.map((n) => statSync(join(datadir, 'regtest', 'blocks', n)).size);
  rmSync(join(datadir, 'regtest', 'store'), { recursive: true });

  const b = await testNode({ datadir, connect: [], listen: false });
  t.after(() => b.stop());
  assert.deepEqual(reindexOf(b), { reason: 'index-missing', indexed: 250, unconnected: 0, bad: 0 });
  assert.equal(Number(await b.chainCall('getblockcount')), 250);
  assert.equal(await b.chainCall('getbestblockhash'), stub.tip);
  for (const h of [1, 100, 250]) {
    const hash = await b.chainCall('getblockhash', [h]);
    const raw = String(await b.chainCall('getblock', [hash, 0]));
    assert.equal(raw, blocks[h - 1].raw.toString('hex'), `block ${h} reads back whole`);
  }
  assert.deepEqual(
    blk.map((n) => statSync(join(datadir, 'regtest', 'blocks', n)).size),
    sizes,
    'no block file cut or removed',
  );
  await b.stop();

  // --reindex on a healthy datadir: the same chain again.
  const c = await testNode({ datadir, connect: [], listen: false, reindex: true });
  t.after(() => c.stop());
  assert.deepEqual(reindexOf(c), { reason: 'requested', indexed: 250, unconnected: 0, bad: 0 });
  assert.equal(Number(await c.chainCall('getblockcount')), 250);
  // A crash of the block actor after that does not wipe the index again.
  assert.ok(c.kill('/root/chain', 'crash'));
  await until('the block actor back', () => (c.actors('/root/chain')[0]?.incarnation ?? 0) > 1);
  await until('loaded', () => c.actors('/root/chain')[0]?.status === 'idle');
  assert.equal(reindexOf(c), null, 'no reindex at the restart');
  assert.equal(Number(await c.chainCall('getblockcount')), 250);
  await c.stop();
});

test('the store locked by another process (not a peerd): `peerd start` refuses in one line, exit 1, and moves nothing', async (t) => {
  const datadir = tmpDir(t, 'peerd-storelock-');
  const store = join(datadir, 'regtest', 'store');
  mkdirSync(join(datadir, 'regtest'), { recursive: true });
  // Another program holding the LevelDB open (a backup tool, an inspector…), not the datadir lock.
  const holder = run(t, process.execPath, [
    '--input-type=module',
    '-e',
    `import { ClassicLevel } from 'classic-level'; const db = new ClassicLevel(${JSON.stringify(store)}); await db.open(); await db.put('!meta!format', 'peerd-store-1'); process.stdout.write('held\\n'); setInterval(() => {}, 1000);`,
  ]);
  await until('the holder has the store', () => holder.out().includes('held'), 10_000);
  const before = readdirSync(join(datadir, 'regtest')).sort();
  const r = run(t, process.execPath, [peerdBin, 'start', '--network', 'regtest', '--datadir', datadir, '--bind', '127.0.0.1:0', '--rpcport', '0', '--log-format', 'json']);
  assert.equal(await r.closed, 1, r.err());
  assert.equal(r.err().trim().split('\n').length, 1, r.err());
  assert.match(r.err(), /^peerd: the store .*regtest\/store is locked by another process .*Nothing was changed/);
  assert.doesNotMatch(r.out(), /\n\s+at /, 'no stack trace');
  const after = readdirSync(join(datadir, 'regtest')).filter((n) => !['.lock', 'debug.log', 'blocks'].includes(n)).sort();
  assert.deepEqual(after, before.filter((n) => n !== 'debug.log'), 'nothing moved aside');
  process.kill(-holder.proc.pid!, 'SIGKILL');
  await holder.closed;
});
