import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testNode, until } from '../helpers/node.js';
import { peerdBin as bin, runPeerd as run } from '../helpers/cli.js';



test('peerd rpc / peers / tree / kick / ban / kill against `peerd start` in a child process; cookie 0600, removed on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-rpccli-'));
  const other = await testNode();
  const node = spawn(process.execPath, [bin, 'start', '--network', 'regtest', '--datadir', dir, '--bind', '127.0.0.1:0', '--dnsseed', '0', '--rpcport', '0', '--addnode', `127.0.0.1:${other.port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  node.stdout.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => node.on('close', r));
  try {
    await until('RPC listening', () => /"msg":"RPC server listening"/.test(log), 20_000);
    const line = log.split('\n').find((l) => l.includes('RPC server listening'))!;
    const port = Number(/127\.0\.0\.1:(\d+)/.exec((JSON.parse(line) as { rpc: string[] }).rpc[0])![1]);
    const cookie = join(dir, 'regtest', '.cookie');
    assert.equal(statSync(cookie).mode & 0o777, 0o600);
    const conn = ['--network', 'regtest', '--datadir', dir, '--rpcport', String(port)];

    const info = await run(['rpc', 'getnetworkinfo', ...conn]);
    assert.equal(info.code, 0, info.stderr);
    assert.equal((JSON.parse(info.stdout) as { subversion: string }).subversion, '/peerd:0.1.0/');

    await until('peer connected', async () => (JSON.parse((await run(['rpc', 'getconnectioncount', ...conn])).stdout) as number) === 1, 15_000);
    const peers = await run(['peers', ...conn]);
    assert.equal(peers.code, 0, peers.stderr);
    assert.match(peers.stdout, /^id\s+address\s+type/);
    assert.match(peers.stdout, new RegExp(`127\\.0\\.0\\.1:${other.port}\\s+manual\\s+out`));

    const tree = await run(['tree', ...conn]);
    assert.equal(tree.code, 0, tree.stderr);
    assert.match(tree.stdout, /^root {2}supervisor/);
    assert.match(tree.stdout, /[├└]── control {2}worker, mailbox \d+ \(max \d+\), restarts 0/);

    const help = await run(['rpc', 'help', 'getpeerinfo', ...conn]);
    assert.match(help.stdout, /^getpeerinfo\n/);

    const id = (JSON.parse((await run(['rpc', 'getpeerinfo', ...conn])).stdout) as { id: number }[])[0].id;
    const throttle = await run(['throttle', String(id), '500000', '250000', ...conn]);
    assert.equal(throttle.code, 0, throttle.stderr);
    const limited = (JSON.parse((await run(['rpc', 'getpeerinfo', ...conn])).stdout) as { id: number; recv_limit: number; send_limit: number }[]).find((p) => p.id === id);
    assert.equal(limited?.recv_limit, 500000);
    assert.equal(limited?.send_limit, 250000);
    const nodeLimit = await run(['throttle', 'node', '1000000', '0', ...conn]);
    assert.equal(nodeLimit.code, 0, nodeLimit.stderr);
    const totals = JSON.parse((await run(['rpc', 'getnettotals', ...conn])).stdout) as { limits: { maxrecvrate: number; maxsendrate: number } };
    assert.deepEqual([totals.limits.maxrecvrate, totals.limits.maxsendrate], [1000000, 0]);
    const badRate = await run(['throttle', String(id), 'fast', '0', ...conn]);
    assert.equal(badRate.code, 2);
    const kick = await run(['kick', String(id), ...conn]);
    assert.equal(kick.code, 0, kick.stderr);
    const kickAgain = await run(['kick', String(id), ...conn]);
    assert.equal(kickAgain.code, 1);
    assert.match(kickAgain.stderr, /Node not found in connected nodes/);

    const kill = await run(['kill', '/root/connman', 'crash', ...conn]);
    assert.equal(kill.code, 0, kill.stderr);
    const bad = await run(['rpc', 'nosuchmethod', ...conn]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /error code: -32601\nerror message:\nMethod not found/);

    const ban = await run(['ban', '10.9.8.0/24', '600', ...conn]);
    if (ban.code === 0) {
      const list = JSON.parse((await run(['rpc', 'listbanned', ...conn])).stdout) as { address: string }[];
      assert.deepEqual(list.map((b) => b.address), ['10.9.8.0/24']);
    } else {
      // Without the address book in this build: Core's "not loaded" error, exit 1.
      assert.equal(ban.code, 1);
      assert.match(ban.stderr, /Ban database not loaded/);
    }

    const wrong = await run(['rpc', 'uptime', '--network', 'regtest', '--datadir', dir, '--rpcport', String(port), '--rpcuser', 'x', '--rpcpassword', 'y']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /Authorization failed/);

    node.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(!existsSync(cookie), 'cookie removed on clean shutdown');
    const down = await run(['rpc', 'uptime', ...conn]);
    assert.equal(down.code, 1);
  } finally {
    if (node.exitCode === null) node.kill('SIGKILL');
    await exited;
    await other.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
