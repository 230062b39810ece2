/**
 * Core's REST interface on the RPC port (`--rest`), over real HTTP on 127.0.0.1 against a node
 * synced from a stub chain peer: each endpoint in each format answers what the RPC answers, and
 * errors are Core's (status and one line). Without `--rest`, a GET is refused as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { testNode, until } from '../helpers/node.js';
import { chainOf, displayHex, serveBlocks } from '../helpers/chain.js';

interface Got {
  readonly status: number;
  readonly type: string;
  readonly body: Buffer;
}

function get(port: number, path: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'GET', path, headers: { Connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test('REST: blocks, headers, block hash by height and chain info in bin, hex and json, with Core\'s errors', async (t) => {
  const blocks = chainOf(12, { txsPerBlock: 2 });
  const server = await serveBlocks(t, blocks);
  const node = await testNode({ server: true, rpcport: 0, rest: true, connect: [`127.0.0.1:${server.port}`], listen: false });
  t.after(() => node.cleanup());
  await until('synced to 12', async () => Number(await node.chainCall('getblockcount')) === 12, 30_000);
  const port = (await node.rpcAddress())!.port;
  const h5 = displayHex(blocks[4]!.block.header.hash);
  assert.equal(blocks[4]!.height, 5);

  // /rest/block: the stored bytes, their hex, and the txids-only JSON (getblock 1).
  const bin = await get(port, `/rest/block/${h5}.bin`);
  assert.equal(bin.status, 200);
  assert.equal(bin.type, 'application/octet-stream');
  assert.deepEqual(bin.body, Buffer.from(blocks[4]!.raw));
  const hex = await get(port, `/rest/block/notxdetails/${h5}.hex`);
  assert.equal(hex.body.toString(), `${Buffer.from(blocks[4]!.raw).toString('hex')}\n`);
  const json = await get(port, `/rest/block/notxdetails/${h5}.json`);
  assert.equal(json.type, 'application/json');
  assert.deepEqual(JSON.parse(json.body.toString()), await node.chainCall('getblock', [h5, 1]));
  const details = await get(port, `/rest/block/${h5}.json`);
  assert.equal(details.status, 400, 'peerd keeps no transaction details');
  assert.match(details.body.toString(), /notxdetails/);

  // /rest/headers: along the active chain from the hash, count by query (and the old path form).
  const hdrs = await get(port, `/rest/headers/${h5}.bin?count=3`);
  assert.equal(hdrs.body.length, 3 * 80);
  assert.deepEqual(hdrs.body.subarray(0, 80), Buffer.from(blocks[4]!.raw).subarray(0, 80));
  assert.deepEqual(hdrs.body.subarray(160, 240), Buffer.from(blocks[6]!.raw).subarray(0, 80));
  const hdrJson = JSON.parse((await get(port, `/rest/headers/${h5}.json?count=100`)).body.toString()) as { height: number; hash: string }[];
  assert.deepEqual(
    hdrJson.map((h) => h.height),
    [5, 6, 7, 8, 9, 10, 11, 12],
    'up to the tip',
  );
  assert.deepEqual(hdrJson[0], await node.chainCall('getblockheader', [h5, true]));
  assert.equal((await get(port, `/rest/headers/2/${h5}.hex`)).body.toString(), `${Buffer.from(blocks[4]!.raw).subarray(0, 80).toString('hex')}${Buffer.from(blocks[5]!.raw).subarray(0, 80).toString('hex')}\n`);
  assert.equal((await get(port, `/rest/headers/${h5}.json`)).body.toString().split('"hash"').length - 1, 5, 'five by default');
  assert.equal((await get(port, `/rest/headers/${'ab'.repeat(32)}.json?count=3`)).body.toString(), '[]\n', 'an unknown hash: none, as Core');
  const badCount = await get(port, `/rest/headers/${h5}.json?count=2001`);
  assert.equal(badCount.status, 400);
  assert.equal(badCount.body.toString(), 'Header count is invalid or out of acceptable range (1-2000): 2001\r\n');

  // /rest/blockhashbyheight: the hash in internal byte order (bin), display hex, JSON.
  assert.deepEqual((await get(port, '/rest/blockhashbyheight/5.bin')).body, Buffer.from(blocks[4]!.block.header.hash));
  assert.equal((await get(port, '/rest/blockhashbyheight/5.hex')).body.toString(), `${h5}\n`);
  assert.deepEqual(JSON.parse((await get(port, '/rest/blockhashbyheight/5.json')).body.toString()), { blockhash: h5 });
  const high = await get(port, '/rest/blockhashbyheight/13.json');
  assert.deepEqual([high.status, high.body.toString()], [404, 'Block height out of range\r\n']);
  assert.equal((await get(port, '/rest/blockhashbyheight/x1.json')).status, 400);

  // /rest/chaininfo.json is getblockchaininfo.
  const info = JSON.parse((await get(port, '/rest/chaininfo.json')).body.toString()) as { blocks: number; bestblockhash: string; chain: string };
  assert.deepEqual([info.chain, info.blocks, info.bestblockhash], ['regtest', 12, displayHex(blocks[11]!.block.header.hash)]);

  // Core's errors.
  const unknown = await get(port, `/rest/block/${'cd'.repeat(32)}.bin`);
  assert.deepEqual([unknown.status, unknown.body.toString()], [404, `${'cd'.repeat(32)} not found\r\n`]);
  const badHash = await get(port, '/rest/block/xyz.bin');
  assert.deepEqual([badHash.status, badHash.body.toString()], [400, 'Invalid hash: xyz\r\n']);
  const badFormat = await get(port, `/rest/block/${h5}.txt`);
  assert.deepEqual([badFormat.status, badFormat.body.toString()], [404, 'output format not found (available: .bin, .hex, .json)\r\n']);
  assert.equal((await get(port, '/rest/chaininfo.bin')).status, 404);
  assert.equal((await get(port, '/rest/nothing/here.json')).status, 404);
});

test('REST is off by default: a GET gets the RPC server\'s 405, as before', async (t) => {
  const node = await testNode({ server: true, rpcport: 0 });
  t.after(() => node.cleanup());
  const port = (await node.rpcAddress())!.port;
  assert.equal((await get(port, '/rest/chaininfo.json')).status, 405);
});
