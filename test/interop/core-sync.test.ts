/**
 * Optional interop: a real Bitcoin Core node syncs the whole chain from peerd alone.
 *
 * Needs `bitcoind` (../shared/bin/ or PATH) and the fixture `regtest-2000.blocks` (blocks made by Core itself, so
 * that Core's full validation accepts them); skips with the reason when either is missing.
 * Core runs on regtest with `-connect` to peerd only, no listener (`-listen=0`), no RPC server
 * (`-server=0`), no DNS or fixed seeds: it binds nothing and dials only 127.0.0.1. Its progress
 * is read from its console log (`UpdateTip: new best=… height=…`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startChainServer } from '../../src/tools/chain/stub-peer.js';
import { fixturePath, missingFixture } from '../helpers/fixtures.js';
import { testNode, until } from '../helpers/node.js';
import { tmpDir } from '../helpers/chain.js';
import { coreBin, missingCore } from '../helpers/core.js';
import { clientOptions, rpcCall } from '../../src/rpc/client.js';

test('interop: Bitcoin Core syncs regtest-2000 from peerd alone', { timeout: 180_000 }, async (t) => {
  const bitcoind = coreBin('bitcoind');
  if (!bitcoind) return t.skip(missingCore('bitcoind'));
  const file = fixturePath('regtest-2000.blocks');
  if (!file) return t.skip(missingFixture('regtest-2000.blocks'));

  const server = await startChainServer({ blocksFile: file, host: '127.0.0.1', port: 0 });
  t.after(() => server.close());
  const node = await testNode({ connect: [`127.0.0.1:${server.port}`], server: true, rpcport: 0 });
  t.after(() => node.cleanup());
  await until('peerd synced to 2000', async () => Number(await node.chainCall('getblockcount')) === 2000, 60_000);

  const coreDir = tmpDir(t, 'peerd-core-');
  const core = spawn(
    bitcoind,
    ['-regtest', `-datadir=${coreDir}`, `-connect=127.0.0.1:${node.port}`, '-listen=0', '-server=0', '-dnsseed=0', '-fixedseeds=0', '-printtoconsole=1', '-debug=net'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => core.once('exit', () => resolve()));
  t.after(async () => {
    if (core.exitCode === null) core.kill('SIGTERM');
    await exited;
  });
  let coreHeight = -1;
  let coreBest = '';
  const log: string[] = [];
  createInterface({ input: core.stdout }).on('line', (line) => {
    log.push(line);
    if (log.length > 200) log.shift();
    const m = /UpdateTip: new best=([0-9a-f]{64}) height=(\d+)/.exec(line);
    if (m) {
      coreBest = m[1];
      coreHeight = Number(m[2]);
    }
  });
  core.stderr.on('data', (d: Buffer) => log.push(d.toString()));
  try {
    await until('Core synced to 2000 from peerd', () => coreHeight === 2000 || core.exitCode !== null, 150_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; Core at ${coreHeight}; its last lines:\n${log.slice(-30).join('\n')}`);
  }
  assert.equal(core.exitCode, null, `Core exited: ${log.slice(-10).join('\n')}`);
  assert.equal(coreBest, server.tip, 'Core ends on the same tip');
  const addr = await node.rpcAddress();
  assert.ok(addr, 'the test node runs its RPC server');
  const rpc = clientOptions({ network: 'regtest', datadir: node.settings.datadir, rpcport: addr.port });
  const peers = (await rpcCall(rpc, 'getpeerinfo', [])) as unknown as { subver: string; inbound: boolean; bytessent: number; transport_protocol_type: string }[];
  const inbound = peers.find((p) => p.inbound && /Satoshi/.test(p.subver));
  assert.ok(inbound, `Core is an inbound peer of peerd: ${JSON.stringify(peers.map((p) => p.subver))}`);
  assert.ok(inbound.bytessent > 400_000, `peerd served the blocks (${inbound.bytessent} bytes sent)`);
  // Core v30 dials with BIP324 by default, and peerd (--v2transport on by default) answers it.
  assert.equal(inbound.transport_protocol_type, 'v2', 'the chain was served over v2');
});
