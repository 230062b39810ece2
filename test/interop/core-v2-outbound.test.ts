/**
 * Optional interop: peerd dials Bitcoin Core v30 with BIP324 (v2). Core holds the regtest-2000
 * fixture (imported at its start with -loadblock from a copy in Core's block-file format), listens
 * on 127.0.0.1 at a port the system gave, its RPC likewise, no DNS or fixed seeds, and dials
 * nobody. Checks: peerd's v2 dial → both sides report v2 and the same session id; peerd syncs the
 * 2000 blocks from Core over v2; peerd with --v2transport 0 still talks v1 to Core. Needs
 * `bitcoind` (../shared/bin/ or PATH) and the fixture; skips with the reason when either is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dispatch } from '../../src/control/methods.js';
import { rpcCall } from '../../src/rpc/client.js';
import type { Json } from '../../src/rpc/protocol.js';
import type { NodeHandle } from '../../src/node.js';
import { networkParams } from '../../src/wire/network.js';
import { Writer } from '../../src/wire/buffer.js';
import { encodeBlock } from '../../src/wire/block.js';
import { testNode, until } from '../helpers/node.js';
import { tmpDir } from '../helpers/chain.js';
import { coreBin, freePort, missingCore, runCore } from '../helpers/core.js';
import { fixturePath, missingFixture } from '../helpers/fixtures.js';

type Peer = { addr: string; subver: string; inbound: boolean; transport_protocol_type: string; session_id: string; version: number };

const TIP = '358f65d9216cd0f9a9a777d941814de9dd1f85befebd7d521d3e0a89cdc8d01b';

/**
 * The fixture (u32 length ‖ block records) as a Core block file (magic ‖ u32 length ‖ block), for
 * -loadblock, the genesis block first (Core's import expects to find it there).
 */
function coreBlockFile(fixture: string, out: string): void {
  const src = readFileSync(fixture);
  const params = networkParams('regtest');
  const magic = Buffer.from(params.magicBytes);
  const w = new Writer();
  encodeBlock(w, params.genesis);
  const genesis = Buffer.from(w.result());
  const len = Buffer.alloc(4);
  len.writeUInt32LE(genesis.length);
  const parts: Buffer[] = [magic, len, genesis];
  for (let pos = 0; pos + 4 <= src.length; ) {
    const len = src.readUInt32LE(pos);
    parts.push(magic, src.subarray(pos, pos + 4 + len));
    pos += 4 + len;
  }
  writeFileSync(out, Buffer.concat(parts));
}

const rpc = (node: NodeHandle, method: string, params: Json[] = []): Promise<Json> => dispatch(node, { id: null, version: '2.0', method, params });

test('interop: peerd dials Bitcoin Core v30 with v2 (same session id, syncs regtest-2000 over v2); with --v2transport 0 it talks v1', { timeout: 240_000 }, async (t) => {
  const bitcoind = coreBin('bitcoind');
  if (!bitcoind) return t.skip(missingCore('bitcoind'));
  const fixture = fixturePath('regtest-2000.blocks');
  if (!fixture) return t.skip(missingFixture('regtest-2000.blocks'));

  const coreDir = tmpDir(t, 'peerd-core-');
  const blocks = join(coreDir, 'regtest-2000.dat');
  coreBlockFile(fixture, blocks);
  const p2pport = await freePort();
  const { proc: core, rpc: coreRpc, lastLines } = await runCore(t, bitcoind, coreDir, [
    `-loadblock=${blocks}`,
    '-listen=1',
    `-bind=127.0.0.1:${p2pport}`,
    '-connect=0',
    // The fixture's blocks are old: without this Core stays in IBD and ignores getheaders.
    '-maxtipage=2000000000',
  ]);
  try {
    await until('Core imported the 2000 blocks', async () => core.exitCode !== null || Number(await rpcCall(coreRpc, 'getblockcount', []).catch(() => -1)) === 2000, 120_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; Core's last lines:\n${lastLines()}`);
  }
  assert.equal(core.exitCode, null, `Core exited: ${lastLines()}`);
  const corePeers = async (): Promise<Peer[]> => (await rpcCall(coreRpc, 'getpeerinfo', []).catch(() => [])) as unknown as Peer[];

  await t.test('peerd (v2transport on) dials Core with v2: both report v2 and the same session id, and it syncs the 2000 blocks over v2', async () => {
    const node = await testNode({ connect: [`127.0.0.1:${p2pport}`] });
    try {
      let ours: Peer | undefined;
      await until('Core is an active outbound peer of peerd', async () => (ours = ((await rpc(node, 'getpeerinfo')) as unknown as Peer[]).find((p) => !p.inbound && p.version > 0)) !== undefined, 30_000);
      let theirs: Peer | undefined;
      await until("Core's getpeerinfo shows peerd", async () => (theirs = (await corePeers()).find((p) => p.inbound && /peerd/i.test(p.subver))) !== undefined, 30_000);
      assert.equal(ours!.transport_protocol_type, 'v2');
      assert.equal(theirs!.transport_protocol_type, 'v2');
      assert.match(ours!.session_id, /^[0-9a-f]{64}$/);
      assert.equal(ours!.session_id, theirs!.session_id, 'the same session id on both sides');
      assert.deepEqual(await node.disconnects(), [], 'no v1 retry');
      const started = Date.now();
      await until('peerd synced to 2000 from Core', async () => Number(await node.chainCall('getblockcount')) === 2000, 120_000);
      t.diagnostic(`peerd synced regtest-2000 from Core over v2 in ${Date.now() - started} ms`);
      assert.equal(await node.chainCall('getbestblockhash'), TIP);
      // Still the same v2 connection.
      const after = ((await rpc(node, 'getpeerinfo')) as unknown as Peer[]).find((p) => !p.inbound);
      assert.equal(after?.session_id, ours!.session_id);
      assert.deepEqual(await node.disconnects(), []);
    } finally {
      await node.cleanup();
    }
  });

  await t.test('peerd with --v2transport 0 talks v1 to Core', async () => {
    // Core forgets the previous peer first (its slot, its getpeerinfo line).
    await until('Core has no peer left', async () => (await corePeers()).length === 0, 30_000);
    const node = await testNode({ connect: [`127.0.0.1:${p2pport}`], v2transport: false });
    try {
      let ours: Peer | undefined;
      await until('Core is an active outbound peer of peerd', async () => (ours = ((await rpc(node, 'getpeerinfo')) as unknown as Peer[]).find((p) => !p.inbound && p.version > 0)) !== undefined, 30_000);
      let theirs: Peer | undefined;
      await until("Core's getpeerinfo shows peerd", async () => (theirs = (await corePeers()).find((p) => p.inbound && /peerd/i.test(p.subver))) !== undefined, 30_000);
      assert.equal(ours!.transport_protocol_type, 'v1');
      assert.equal(ours!.session_id, '');
      assert.equal(theirs!.transport_protocol_type, 'v1');
      assert.deepEqual(await node.disconnects(), []);
      await until('peerd synced to 2000 from Core over v1', async () => Number(await node.chainCall('getblockcount')) === 2000, 120_000);
    } finally {
      await node.cleanup();
    }
  });
});
