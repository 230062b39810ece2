/**
 * `peerd start` in a child process: the log file in the network datadir (JSON lines, flushed on a
 * clean stop), stdout in JSON or pretty, per-component levels on both destinations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { until } from '../helpers/node.js';
import { peerdBin, runPeerd } from '../helpers/cli.js';
import { RawPeer } from '../helpers/raw-peer.js';

interface Rec {
  readonly level: number;
  readonly msg: string;
  readonly actor?: string;
  readonly peer?: number;
  readonly addr?: string;
  readonly [k: string]: unknown;
}

const BASE = ['start', '--network', 'regtest', '--bind', '127.0.0.1:0', '--dnsseed', '0', '--rpcport', '0'];

function parseLines(text: string): Rec[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Rec);
}

/** The records of a log file so far (a torn last line, still being written, is left out). */
function fileRecords(path: string): Rec[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return parseLines(text.slice(0, text.lastIndexOf('\n') + 1));
}

interface Running {
  readonly proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | null>;
}

function spawnPeerd(cmd: string, args: readonly string[]): Running {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('close', r));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** Waits for the node's "peerd started" in its log file; returns its P2P and RPC ports, read from the file. */
async function started(file: string, r: Running): Promise<{ port: number; rpcport: number }> {
  await until(`"peerd started" in ${file} (stderr: ${r.stderr()})`, () => fileRecords(file).some((x) => x.msg === 'peerd started'), 20_000);
  const recs = fileRecords(file);
  const listening = recs.find((x) => x.msg === 'listening');
  const rpc = recs.find((x) => x.msg === 'RPC server listening') as { rpc?: string[] } | undefined;
  assert.ok(listening && rpc?.rpc, 'listening and RPC lines are in the file');
  return { port: Number(listening.port), rpcport: Number(/:(\d+)$/.exec(rpc.rpc[0])?.[1]) };
}

async function rpcStop(dir: string, rpcport: number): Promise<void> {
  const r = await runPeerd(['rpc', 'stop', '--network', 'regtest', '--datadir', dir, '--rpcport', String(rpcport)]);
  assert.equal(r.code, 0, r.stderr);
}

/** Connects a raw peer, completes the handshake and leaves: the node's peer actor logs at debug. */
async function visit(port: number): Promise<void> {
  const p = await RawPeer.connect(port);
  await p.handshake();
  await p.destroy();
}

test('peerd start writes JSON lines to <datadir>/regtest/debug.log, the same as stdout, peer=debug shows peer debug lines only, and RPC stop flushes it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-logcli-'));
  const file = join(dir, 'regtest', 'debug.log');
  const r = spawnPeerd(process.execPath, [peerdBin, ...BASE, '--datadir', dir, '--log-level', 'info,peer=debug']);
  try {
    const { port, rpcport } = await started(file, r);
    await visit(port);
    await until('the peer actor logged its disconnect', () => fileRecords(file).some((x) => x.msg === 'disconnecting'), 10_000);
    await rpcStop(dir, rpcport);
    assert.equal(await r.exited, 0, r.stderr());

    const text = readFileSync(file, 'utf8');
    assert.ok(text.endsWith('\n'));
    const recs = parseLines(text);
    // Where the file is, said first; the last line, written while stopping, made it to disk.
    assert.equal(recs[0].msg, `log file: ${file} (JSON lines, rotated at 10 MB, 5 old files kept)`);
    assert.equal(recs[0].logFile, file);
    assert.equal(recs.at(-1)?.msg, 'peerd stopped');
    assert.ok(recs.some((x) => x.msg === 'peerd started'));
    // The peer actor's lines carry its path, id and address.
    for (const msg of ['connected', 'handshake complete', 'disconnecting']) {
      const rec = recs.find((x) => x.msg === msg);
      assert.ok(rec, `peer line "${msg}"`);
      assert.equal(rec.level, 20);
      assert.match(rec.actor ?? '', /^\/root\/peers\/peer-\d+$/);
      assert.equal(rec.actor, `/root/peers/peer-${rec.peer}`);
      assert.match(rec.addr ?? '', /^127\.0\.0\.1:\d+$/);
    }
    // Base info hides every other actor's debug lines (the runtime logs "actor stopped" at debug for all of them).
    const debug = recs.filter((x) => x.level < 30);
    assert.ok(debug.length >= 3);
    for (const x of debug) assert.match(x.actor ?? '(none)', /^\/root\/peers(\/|$)/, `debug line from ${x.actor}: ${x.msg}`);
    // stdout is a pipe: JSON lines, exactly the file's.
    assert.deepEqual(parseLines(r.stdout()), recs);
  } finally {
    if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
    await r.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--log-format pretty prints human lines while the file (own level, own path) stays JSON; SIGINT flushes it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-logcli-'));
  const file = join(dir, 'regtest', 'logs', 'peerd.log');
  const r = spawnPeerd(process.execPath, [peerdBin, ...BASE, '--datadir', dir, '--log-format', 'pretty', '--log-file', 'logs/peerd.log', '--log-file-level', 'debug']);
  try {
    await started(file, r);
    r.proc.kill('SIGINT');
    assert.equal(await r.exited, 0, r.stderr());
    assert.equal(existsSync(join(dir, 'regtest', 'debug.log')), false);
    const lines = r
      .stdout()
      .split('\n')
      .filter((l) => l !== '');
    assert.ok(lines.length >= 4, r.stdout());
    for (const l of lines) {
      assert.throws(() => JSON.parse(l) as unknown, SyntaxError, `not JSON: ${l}`);
      assert.match(l, /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR|FATAL): /);
    }
    assert.ok(lines.some((l) => l.includes(`INFO: log file: ${file}`)));
    assert.ok(lines.some((l) => /INFO: \/root\/listeners\/listener-0 listening \{"host":"127\.0\.0\.1","port":\d+\}/.test(l)));
    assert.ok(lines.some((l) => l.endsWith('INFO: peerd stopped {"reason":"shutdown"}')));
    // The file's own level (debug) let the actors' debug lines in; stdout (info) had none.
    const recs = parseLines(readFileSync(file, 'utf8'));
    assert.ok(recs.some((x) => x.level === 20 && x.msg === 'actor stopped' && x.actor === '/root/connman'));
    assert.equal(recs.find((x) => x.msg.startsWith('SIGINT'))?.msg, 'SIGINT: shutting down');
    assert.equal(recs.at(-1)?.msg, 'peerd stopped');
  } finally {
    if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
    await r.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--log-file 0 (or "") writes no file and says so; SIGTERM stops cleanly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-logcli-'));
  try {
    for (const off of ['0', '']) {
      const r = spawnPeerd(process.execPath, [peerdBin, ...BASE, '--datadir', dir, '--log-file', off]);
      try {
        await until('peerd started on stdout', () => r.stdout().includes('"msg":"peerd started"'), 20_000);
        r.proc.kill('SIGTERM');
        assert.equal(await r.exited, 0, r.stderr());
        const recs = parseLines(r.stdout());
        assert.equal(recs[0].msg, 'no log file (log-file is off)');
        assert.equal(recs.at(-1)?.msg, 'peerd stopped');
        assert.equal(existsSync(join(dir, 'regtest', 'debug.log')), false);
      } finally {
        if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
        await r.exited;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

test('on a terminal (util-linux script gives it a pty): auto prints pretty coloured lines, --log-format json forces JSON', { skip: hasScript ? false : 'util-linux `script` is not installed: no pseudo-terminal to test with' }, async () => {
  for (const format of ['auto', 'json'] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'peerd-logtty-'));
    const file = join(dir, 'regtest', 'debug.log');
    const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const cmd = [process.execPath, peerdBin, ...BASE, '--datadir', dir, '--log-format', format].map(quote).join(' ');
    const r = spawnPeerd('script', ['-qfec', cmd, '/dev/null']);
    try {
      const { rpcport } = await started(file, r);
      await rpcStop(dir, rpcport);
      assert.equal(await r.exited, 0, r.stderr());
      const lines = r
        .stdout()
        .split(/\r?\n/)
        .filter((l) => l !== '');
      assert.ok(lines.length >= 4, r.stdout());
      if (format === 'auto') {
        // eslint-disable-next-line no-control-regex
        const plain = lines.map((l) => l.replace(/\u001b\[[0-9;]*m/g, ''));
        assert.ok(lines.some((l) => l.includes('\u001b[')), 'coloured on a terminal');
        assert.ok(plain.some((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: peerd started /.test(l)), plain.join('\n'));
        for (const l of lines) assert.throws(() => JSON.parse(l) as unknown);
      } else {
        const recs = lines.map((l) => JSON.parse(l) as Rec);
        assert.ok(recs.some((x) => x.msg === 'peerd started'));
        assert.equal(recs.at(-1)?.msg, 'peerd stopped');
      }
      // The file is JSON either way.
      assert.equal(parseLines(readFileSync(file, 'utf8')).at(-1)?.msg, 'peerd stopped');
    } finally {
      if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
      await r.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('a start that fails (its port is taken) says why on stderr and as the last line of the log file, exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-logcli-'));
  const holder = createServer();
  await new Promise<void>((ok) => holder.listen(0, '127.0.0.1', ok));
  const port = (holder.address() as AddressInfo).port;
  try {
    const r = await runPeerd(['start', '--network', 'regtest', '--datadir', dir, '--bind', `127.0.0.1:${port}`, '--dnsseed', '0', '--rpcport', '0']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^peerd: Unable to bind P2P to 127\\.0\\.0\\.1:${port}: the port is in use .* give --bind another port \\(0 = any free port\\)\\n$`));
    assert.doesNotMatch(r.stdout, /\n\s+at /, 'no stack trace at the default level');
    const last = parseLines(readFileSync(join(dir, 'regtest', 'debug.log'), 'utf8')).at(-1);
    assert.equal(last?.level, 60);
    assert.match(last?.msg ?? '', /^start failed: Unable to bind P2P/);
  } finally {
    await new Promise((ok) => holder.close(ok));
    rmSync(dir, { recursive: true, force: true });
  }
});
