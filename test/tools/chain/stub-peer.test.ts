/** The stub chain peer, in process, driven by a raw peer on loopback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateChainFile, generateChain } from '../../../src/tools/chain/generate.js';
import { startChainServer, MSG_BLOCK, MSG_WITNESS_BLOCK, type ChainServer } from '../../../src/tools/chain/stub-peer.js';
import { parseBind } from '../../../src/commands/chain.js';
import { networkParams } from '../../../src/wire/network.js';
import { toDisplayHex, fromDisplayHex } from '../../../src/wire/hash.js';
import { RawPeer, tcpHandles } from '../../helpers/raw-peer.js';
import { fixturePath, missingFixture } from '../../helpers/fixtures.js';

const regtest = networkParams('regtest');
const ZERO = Buffer.alloc(32);

type After = { after: (f: () => void | Promise<void>) => void };

async function serve(t: After, blocksFile: string): Promise<{ server: ChainServer; peer: RawPeer }> {
  const server = await startChainServer({ blocksFile, host: '127.0.0.1', port: 0 });
  t.after(() => server.close());
  const peer = await RawPeer.connect(server.port);
  t.after(() => peer.destroy());
  return { server, peer };
}

function tmpDir(t: After): string {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-serve-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('serve-chain: handshake, 50 headers from genesis, exact block bytes, stripped MSG_BLOCK, notfound, getblocks, pong', async (t) => {
  const file = join(tmpDir(t), 'c50.blocks');
  await generateChainFile(file, { blocks: 50, txsPerBlock: 3 });
  const gen = [...generateChain({ blocks: 50, txsPerBlock: 3 })];
  const { server, peer } = await serve(t, file);
  assert.equal(server.height, 50);
  assert.ok(server.index.inMemory);
  const v = await peer.handshake();
  assert.equal(v.version, 70016);
  assert.equal(v.services, 9n);
  assert.equal(v.startHeight, 50);

  peer.send({ command: 'getheaders', version: 70016, locator: [regtest.genesisHash], hashStop: ZERO });
  const hs = await peer.waitFor('headers');
  assert.equal(hs.headers.length, 50);
  hs.headers.forEach((h, i) => assert.ok(h.hash.equals(gen[i].block.header.hash), `header ${i + 1}`));

  // hashStop is inclusive; a locator at the tip gives nothing; an unknown locator falls back to genesis.
  peer.send({ command: 'getheaders', version: 70016, locator: [gen[9].block.header.hash], hashStop: gen[19].block.header.hash });
  const some = await peer.waitFor('headers');
  assert.deepEqual(some.headers.map((h) => toDisplayHex(h.hash)), gen.slice(10, 20).map((g) => toDisplayHex(g.block.header.hash)));
  peer.send({ command: 'getheaders', version: 70016, locator: [gen[49].block.header.hash], hashStop: ZERO });
  assert.equal((await peer.waitFor('headers')).headers.length, 0);
  peer.send({ command: 'getheaders', version: 70016, locator: [Buffer.alloc(32, 0xab)], hashStop: ZERO });
  assert.equal((await peer.waitFor('headers')).headers.length, 50);

  peer.send({ command: 'getdata', items: [{ type: MSG_WITNESS_BLOCK, hash: gen[9].block.header.hash }] });
  const wb = await peer.waitFor('block');
  assert.ok(wb.block.raw!.equals(gen[9].raw), 'witness block: the exact bytes of the file');
  assert.ok(wb.block.hasWitness);

  peer.send({ command: 'getdata', items: [{ type: MSG_BLOCK, hash: gen[9].block.header.hash }, { type: MSG_WITNESS_BLOCK, hash: Buffer.alloc(32, 1) }] });
  const sb = await peer.waitFor('block');
  assert.ok(!sb.block.hasWitness, 'MSG_BLOCK is sent without witness, as Core does');
  assert.equal(sb.block.size, gen[9].block.strippedSize);
  assert.ok(sb.block.header.hash.equals(gen[9].block.header.hash));
  const nf = await peer.waitFor('notfound');
  assert.equal(nf.items.length, 1);
  assert.ok(nf.items[0].hash.equals(Buffer.alloc(32, 1)));

  peer.send({ command: 'getblocks', version: 70016, locator: [regtest.genesisHash], hashStop: ZERO });
  const inv = await peer.waitFor('inv');
  assert.equal(inv.items.length, 50);
  assert.ok(inv.items.every((it, i) => it.type === MSG_BLOCK && it.hash.equals(gen[i].block.header.hash)));

  peer.send({ command: 'ping', nonce: 0x0102030405060708n });
  assert.equal((await peer.waitFor('pong')).nonce, 0x0102030405060708n);
  assert.equal(peer.frameError, null);
});

test('serve-chain: 2,100 blocks → 2,000 headers, then the last 100; getblocks caps at 500; blocks read from disk when over the memory limit', async (t) => {
  const file = join(tmpDir(t), 'c2100.blocks');
  await generateChainFile(file, { blocks: 2100 });
  const gen = [...generateChain({ blocks: 2100 })];
  const server = await startChainServer({ blocksFile: file, host: '127.0.0.1', port: 0, inMemoryLimit: 0 });
  t.after(() => server.close());
  assert.equal(server.index.inMemory, false);
  const peer = await RawPeer.connect(server.port);
  t.after(() => peer.destroy());
  await peer.handshake();
  peer.send({ command: 'getheaders', version: 70016, locator: [regtest.genesisHash], hashStop: ZERO });
  const first = await peer.waitFor('headers');
  assert.equal(first.headers.length, 2000);
  assert.ok(first.headers[1999].hash.equals(gen[1999].block.header.hash));
  peer.send({ command: 'getheaders', version: 70016, locator: [first.headers[1999].hash, regtest.genesisHash], hashStop: ZERO });
  const rest = await peer.waitFor('headers');
  assert.equal(rest.headers.length, 100);
  assert.equal(toDisplayHex(rest.headers[99].hash), server.tip);
  peer.send({ command: 'getblocks', version: 70016, locator: [regtest.genesisHash], hashStop: ZERO });
  assert.equal((await peer.waitFor('inv')).items.length, 500);
  const want = [0, 999, 2099];
  peer.send({ command: 'getdata', items: want.map((i) => ({ type: MSG_WITNESS_BLOCK, hash: gen[i].block.header.hash })) });
  for (const i of want) assert.ok((await peer.waitFor('block')).block.raw!.equals(gen[i].raw), `block ${i + 1} from disk`);
});

test('serve-chain on regtest-2000.blocks: 2,000 headers from genesis ending at the tip; block 1904 byte-exact', async (t) => {
  const file = fixturePath('regtest-2000.blocks');
  if (!file) return t.skip(missingFixture('regtest-2000.blocks'));
  const { server, peer } = await serve(t, file);
  assert.equal(server.height, 2000);
  assert.equal(server.tip, '358f65d9216cd0f9a9a777d941814de9dd1f85befebd7d521d3e0a89cdc8d01b');
  await peer.handshake();
  peer.send({ command: 'getheaders', version: 70016, locator: [regtest.genesisHash], hashStop: ZERO });
  const hs = await peer.waitFor('headers');
  assert.equal(hs.headers.length, 2000);
  assert.equal(toDisplayHex(hs.headers[1999].hash), '358f65d9216cd0f9a9a777d941814de9dd1f85befebd7d521d3e0a89cdc8d01b');
  const h1904 = fromDisplayHex('3edce9dffef271ce05f9c5c15a242d910c4f9958f609f67d0ea6562a74c77941');
  peer.send({ command: 'getdata', items: [{ type: MSG_WITNESS_BLOCK, hash: h1904 }] });
  const b = await peer.waitFor('block');
  assert.equal(b.block.size, 9261);
  assert.equal(b.block.weight, 27453);
  assert.equal(b.block.txs.length, 30);
  assert.ok(b.block.header.hash.equals(h1904));
});

test('serve-chain: close() ends connections and frees the listener', async (t) => {
  const file = join(tmpDir(t), 'c3.blocks');
  await generateChainFile(file, { blocks: 3 });
  const before = tcpHandles();
  const server = await startChainServer({ blocksFile: file, host: '127.0.0.1', port: 0 });
  const peer = await RawPeer.connect(server.port);
  await peer.handshake();
  await server.close();
  await peer.waitClosed(2000);
  await server.close(); // idempotent
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(tcpHandles(), before);
});

test('parseBind', () => {
  assert.deepEqual(parseBind('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseBind('[::1]:18444'), { host: '::1', port: 18444 });
  assert.deepEqual(parseBind('18444'), { host: '127.0.0.1', port: 18444 });
  assert.equal(parseBind('host:99999'), null);
  assert.equal(parseBind('nope'), null);
});
