import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testNode, until } from '../helpers/node.js';
import { clientOptions, rpcCall } from '../../src/rpc/client.js';
import { peerdBin as bin, runPeerd as run } from '../helpers/cli.js';



interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly applied?: string[];
  readonly needRestart?: string[];
  readonly error?: string;
}

test('SIGHUP re-reads peerd.conf: applies rates, addnode and log-level, names what needs a restart, flags win; a bad file changes nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-sighup-'));
  const conf = join(dir, 'peerd.conf');
  writeFileSync(conf, 'maxconnections=20\n[regtest]\npeermaxsendrate=7000\n');
  const other = await testNode();
  const node = spawn(
    process.execPath,
    [bin, 'start', '--network', 'regtest', '--datadir', dir, '--bind', '127.0.0.1:0', '--dnsseed', '0', '--rpcport', '0', '--peermaxrecvrate', '5000'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  node.stdout.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => node.on('close', r));
  const lines = (): LogLine[] =>
    log
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  const sighup = (re: RegExp): LogLine[] => lines().filter((l) => l.msg.startsWith('SIGHUP') && re.test(l.msg));
  try {
    await until('RPC listening', () => /"msg":"RPC server listening"/.test(log), 20_000);
    const line = log.split('\n').find((l) => l.includes('RPC server listening'))!;
    const port = Number(/127\.0\.0\.1:(\d+)/.exec((JSON.parse(line) as { rpc: string[] }).rpc[0])![1]);
    const conn = ['--network', 'regtest', '--datadir', dir, '--rpcport', String(port)];
    // Over HTTP directly: `peerd rpc` reads peerd.conf too, and refuses a bad one.
    const rpc = clientOptions({ network: 'regtest', datadir: dir, rpcport: port });
    const totals = async (): Promise<Record<string, number>> => ((await rpcCall(rpc, 'getnettotals')) as { limits: Record<string, number> }).limits;
    assert.deepEqual(await totals(), { maxrecvrate: 0, maxsendrate: 0, peermaxrecvrate: 5000, peermaxsendrate: 7000 });
    assert.equal(lines().some((l) => l.level === 20), false, 'no debug lines at info');

    // Round 1: runtime settings change, restart-only ones are reported, the flag (peermaxrecvrate) wins over the file.
    writeFileSync(
      conf,
      ['maxconnections=10', 'maxrecvrate=123456', 'log-level=debug', '[regtest]', 'peermaxsendrate=8000', 'peermaxrecvrate=1', `addnode=127.0.0.1:${other.port}`, ''].join('\n'),
    );
    node.kill('SIGHUP');
    await until('reload logged', () => sighup(/^SIGHUP: reloaded/).length === 1, 10_000);
    const applied = sighup(/^SIGHUP: reloaded/)[0];
    assert.deepEqual(applied.applied, ['addnode', 'log-level', 'maxrecvrate', 'peermaxsendrate']);
    assert.match(applied.msg, /maxrecvrate \(0 → 123456\)/);
    assert.match(applied.msg, /peermaxsendrate \(7000 → 8000\)/);
    await until('restart warning', () => sighup(/need a restart/).length === 1, 5000);
    assert.deepEqual(sighup(/need a restart/)[0].needRestart, ['maxconnections']);
    assert.match(sighup(/need a restart/)[0].msg, /maxconnections \(20 → 10\)/);
    const cliTotals = await run(['rpc', 'getnettotals', ...conn]);
    assert.equal(cliTotals.code, 0, cliTotals.stderr);
    assert.deepEqual((JSON.parse(cliTotals.stdout) as { limits: Record<string, number> }).limits, {
      maxrecvrate: 123456,
      maxsendrate: 0,
      peermaxrecvrate: 5000,
      peermaxsendrate: 8000,
    });
    const added = JSON.parse((await run(['rpc', 'getaddednodeinfo', ...conn])).stdout) as { addednode: string }[];
    assert.deepEqual(
      added.map((a) => a.addednode),
      [`127.0.0.1:${other.port}`],
    );
    await until('addnode peer connected', async () => (JSON.parse((await run(['rpc', 'getconnectioncount', ...conn])).stdout) as number) === 1, 15_000);
    // log-level=debug reached the actors' loggers: kicking the peer logs its disconnect at debug.
    const id = (JSON.parse((await run(['rpc', 'getpeerinfo', ...conn])).stdout) as { id: number }[])[0].id;
    assert.equal((await run(['kick', String(id), ...conn])).code, 0);
    await until('debug lines from actors', () => lines().some((l) => l.level === 20), 10_000);

    // Round 2: a bad line → reported with file and line, nothing changes (not even the good lines before it).
    writeFileSync(conf, ['maxrecvrate=999', 'log-level=info', 'this is not a setting', ''].join('\n'));
    node.kill('SIGHUP');
    await until('reload refused', () => sighup(/nothing changed/).length === 1, 10_000);
    const refused = sighup(/nothing changed/)[0];
    assert.equal(refused.level, 50);
    assert.ok(refused.error?.startsWith(`${conf}:3: `), refused.error);
    assert.deepEqual(await totals(), { maxrecvrate: 123456, maxsendrate: 0, peermaxrecvrate: 5000, peermaxsendrate: 8000 });
    assert.equal(sighup(/^SIGHUP: reloaded/).length, 1);

    // Round 3: the addnode is dropped from the file → removed; the node still runs.
    writeFileSync(conf, 'maxconnections=10\nmaxrecvrate=123456\nlog-level=debug\n[regtest]\npeermaxsendrate=8000\n');
    node.kill('SIGHUP');
    await until('second reload', () => sighup(/^SIGHUP: reloaded/).length === 2, 10_000);
    assert.deepEqual(sighup(/^SIGHUP: reloaded/)[1].applied, ['addnode']);
    assert.deepEqual(await rpcCall(rpc, 'getaddednodeinfo'), []);

    node.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (node.exitCode === null) node.kill('SIGKILL');
    await exited;
    await other.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
