import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testNode, until } from '../../helpers/node.js';
import type { ChaosReport } from '../../../src/tools/chaos/runner.js';
import { peerdBin as bin, runPeerd as run } from '../../helpers/cli.js';



test('peerd chaos against peerd start over RPC: kills peers, exits 0, writes a JSON report that parses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-chaos-'));
  const other = await testNode();
  const node = spawn(process.execPath, [bin, 'start', '--network', 'regtest', '--datadir', dir, '--bind', '127.0.0.1:0', '--dnsseed', '0', '--rpcport', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  node.stdout.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => node.on('close', r));
  try {
    await until('RPC and P2P listening', () => /"msg":"RPC server listening"/.test(log) && /"msg":"listening"/.test(log), 20_000);
    const line = log.split('\n').find((l) => l.includes('RPC server listening'))!;
    const rpcPort = Number(/127\.0\.0\.1:(\d+)/.exec((JSON.parse(line) as { rpc: string[] }).rpc[0])![1]);
    const p2p = JSON.parse(log.split('\n').find((l) => l.includes('"msg":"listening"'))!) as { port: number };
    // A peer for the monkey: the in-process node keeps an addnode connection to the child.
    await other.addnode(`127.0.0.1:${p2p.port}`, 'add');
    await until('connected', async () => (await other.peers()).some((p) => p.phase === 'active'));

    const file = join(dir, 'chaos.json');
    const r = await run([
      'chaos', '--network', 'regtest', '--datadir', dir, '--rpcport', String(rpcPort),
      '--target', '/root/peers/*', '--mode', 'kill', '--rate', '2', '--duration', '2', '--seed', '7', '--report', file,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /victim +kind +inc +mode +at ms +mailbox at death +recovery +recovery ms/);
    assert.match(r.stdout, /all invariants held/);
    const report = JSON.parse(readFileSync(file, 'utf8')) as ChaosReport;
    assert.equal(report.ok, true);
    assert.equal(report.options.where, 'rpc');
    assert.ok(report.victims.length >= 1, r.stdout);
    assert.ok(report.victims.every((v) => /^\/root\/peers\/peer-\d+$/.test(v.path)));
    assert.ok(report.invariants.some((i) => i.name === 'connections refilled' && i.pass));
    // Leak check through getresources: the table is printed and the node's counts are in the JSON.
    assert.match(r.stdout, /resource +before +after settling +at most +leak/);
    assert.ok(report.resources.before !== null && report.resources.after !== null);
    assert.ok(report.resources.before.actors > 0 && report.resources.after.sockets >= 2);
    assert.ok(report.invariants.some((i) => i.name === 'no leaked resources' && i.pass), r.stdout);
    // Height and store through getblockcount and getstoreinfo over RPC.
    for (const name of ['block height never decreased', 'no stored block lost', 'no address lost', 'bans not lost']) {
      assert.ok(report.invariants.some((i) => i.name === name && i.pass), `${name}: ${r.stdout}`);
    }
    assert.ok(report.store.before !== null && report.store.after !== null);
    assert.equal(report.store.before.height, 0);
    assert.equal(report.store.after.upto.blocks, 0);
    assert.ok(report.height !== null && report.height.samples >= 2);

    const bad = await run(['chaos', '--rpcport', String(rpcPort), '--network', 'regtest', '--datadir', dir, '--target', '/root', '--mode', 'nuke']);
    assert.equal(bad.code, 2);
  } finally {
    node.kill('SIGTERM');
    await exited;
    await other.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
