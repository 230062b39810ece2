/** Block checks in worker threads (check-pool.ts): the same verdicts as checking here, batched, bytes kept intact. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateChain, type GeneratedBlock } from '../../src/tools/chain/generate.js';
import { SLAB_BYTES, checkHere, checkInPool, sharedCopy } from '../../src/chain/check-pool.js';
import { Reader, Writer } from '../../src/wire/buffer.js';
import { checkBlock, decodeBlock, encodeBlock, type Block, type BlockCheck } from '../../src/wire/block.js';
import { networkParams } from '../../src/wire/network.js';

const regtest = networkParams('regtest');
const main = networkParams('main');

/** Bytes as the receive path has them: decoded with lazy transactions, a view into a larger buffer. */
function received(bytes: Buffer): Block {
  const wire = Buffer.concat([Buffer.alloc(7, 0xee), bytes, Buffer.alloc(5, 0xee)]);
  return decodeBlock(new Reader(wire, 7, 7 + bytes.length), { lazyTxs: true });
}

function encode(b: Pick<Block, 'header' | 'txs'>): Buffer {
  const w = new Writer();
  encodeBlock(w, b);
  return Buffer.from(w.result());
}

const verdict = (c: BlockCheck): string => (c.ok ? 'ok' : c.rule);

test('the pool gives the verdict a check here gives: good, bad merkle root, wrong witness commitment, proof of work', async () => {
  const [g] = [...generateChain({ blocks: 1, txsPerBlock: 3, seed: 5 })];
  const swapped = encode({ header: g.block.header, txs: [g.block.txs[0], g.block.txs[2], g.block.txs[1], g.block.txs[3]] });
  // A witness item changed: same txids (merkle root holds), other wtxids (the commitment fails).
  const tx1 = g.block.txs[1];
  const witness = [Buffer.from(tx1.inputs[0].witness[0]), tx1.inputs[0].witness[1]];
  witness[0][5] ^= 1;
  const rewitnessed = encode({ header: g.block.header, txs: [g.block.txs[0], { ...tx1, inputs: [{ ...tx1.inputs[0], witness }] }, ...g.block.txs.slice(2)] });
  const cases: [string, Buffer, { powLimit: bigint; segwit: boolean }, string][] = [
    ['good', g.raw, { powLimit: regtest.powLimit, segwit: true }, 'ok'],
    ['swapped transactions', swapped, { powLimit: regtest.powLimit, segwit: true }, 'bad-merkle-root'],
    ['witness changed', rewitnessed, { powLimit: regtest.powLimit, segwit: true }, 'bad-witness-commitment'],
    ["regtest work against main's limit", g.raw, { powLimit: main.powLimit, segwit: true }, 'high-hash'],
    ['witness before segwit', g.raw, { powLimit: regtest.powLimit, segwit: false }, 'no-witness-commitment-but-witness'],
  ];
  for (const [name, bytes, opts, want] of cases) {
    const block = received(bytes);
    const pooled = await checkInPool(block, opts, 1);
    const here = checkHere(received(bytes), opts);
    assert.equal(verdict(pooled.result), want, name);
    assert.deepEqual(pooled.result, here.result, `${name}: same verdict and reason as on this thread`);
    assert.deepEqual(pooled.result, checkBlock(decodeBlock(new Reader(bytes)), opts), `${name}: same as a plain decode and check`);
    if (want === 'ok') {
      assert.ok(pooled.raw.equals(bytes), `${name}: the stored copy is the block's bytes`);
      assert.ok(here.raw.equals(bytes));
    } else {
      assert.equal(pooled.raw.length, 0, `${name}: nothing to store`);
    }
  }
});

test('many blocks at once: batched to the worker, each verdict and copy belongs to its own block', async () => {
  const chain: GeneratedBlock[] = [...generateChain({ blocks: 300, txsPerBlock: 2, seed: 9 })];
  // Every third block is damaged (its last two transactions swapped).
  const bytes = chain.map((g, i) => (i % 3 === 2 ? encode({ header: g.block.header, txs: [g.block.txs[0], g.block.txs[2], g.block.txs[1]] }) : g.raw));
  const blocks = bytes.map(received);
  const pending = blocks.map((b) => checkInPool(b, { powLimit: regtest.powLimit, segwit: true }, 1));
  for (const b of blocks) b.raw!.fill(0); // receive buffers reused at once: the checks work on their copies
  const results = await Promise.all(pending);
  results.forEach((r, i) => {
    assert.equal(verdict(r.result), i % 3 === 2 ? 'bad-merkle-root' : 'ok', `block ${i}`);
    if (r.result.ok) assert.ok(r.raw.equals(bytes[i]), `block ${i}: its own bytes`);
  });
  // The copies are still intact after all of them were made (no slab space reused under them).
  results.forEach((r, i) => {
    if (r.result.ok) assert.ok(r.raw.equals(bytes[i]), `block ${i} intact`);
  });
});

test('shared copies: equal bytes, 8-byte aligned, a block over a quarter slab in memory of its own', () => {
  const small = Buffer.alloc(1001, 7);
  const a = sharedCopy(small);
  const b = sharedCopy(small);
  assert.ok(a.buf.equals(small) && b.buf.equals(small));
  assert.ok(a.memory instanceof SharedArrayBuffer);
  assert.equal(b.offset % 8, 0);
  if (a.memory === b.memory) assert.ok(b.offset >= a.offset + small.length, 'no overlap');
  const big = Buffer.alloc(SLAB_BYTES / 4 + 1, 3);
  const c = sharedCopy(big);
  assert.equal(c.offset, 0);
  assert.equal(c.memory.byteLength, big.length);
  assert.ok(c.buf.equals(big));
});

test('threads 0: checked on this thread, same verdicts', async () => {
  const [g] = [...generateChain({ blocks: 1, txsPerBlock: 1, seed: 3 })];
  const block = received(g.raw);
  const r = await checkInPool(block, { powLimit: regtest.powLimit, segwit: true }, 0);
  assert.ok(r.result.ok);
  block.raw!.fill(0); // the receive buffer is reused: the copy must not change
  assert.ok(r.raw.equals(g.raw), 'a copy');
});
