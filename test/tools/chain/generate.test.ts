/** The chain generator: every block passes checkBlock with PoW at the regtest limit and extends the previous one from the regtest genesis. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateChain, generateChainFile, scriptNumPush, REGTEST_BITS } from '../../../src/tools/chain/generate.js';
import { readBlockFile } from '../../../src/tools/chain/blockfile.js';
import { checkBlock, checkTransaction, parseBlock, witnessCommitmentIndex, type Block } from '../../../src/wire/block.js';
import { networkParams } from '../../../src/wire/network.js';
import { toDisplayHex } from '../../../src/wire/hash.js';

const regtest = networkParams('regtest');

function checkChain(raws: readonly Buffer[], withTxs: number): Block[] {
  let prev = regtest.genesis.header;
  const out: Block[] = [];
  raws.forEach((raw, i) => {
    const height = i + 1;
    const r = parseBlock(raw);
    assert.ok(r.ok, `height ${height} parses`);
    const b = r.value;
    const c = checkBlock(b, { powLimit: regtest.powLimit });
    assert.ok(c.ok, `height ${height}: ${c.ok ? '' : c.reason + ' ' + c.message}`);
    for (const tx of b.txs) assert.equal(checkTransaction(tx), null);
    assert.ok(b.header.prevBlock.equals(prev.hash), `height ${height} extends its parent`);
    assert.ok(b.header.time > prev.time, 'timestamps increase (so past median-time-past)');
    assert.equal(b.header.bits, REGTEST_BITS);
    assert.equal(b.txs.length, 1 + withTxs);
    // BIP34: the coinbase scriptSig starts with the height.
    const push = scriptNumPush(height);
    assert.ok(b.txs[0].inputs[0].script.subarray(0, push.length).equals(push), `height ${height} in coinbase`);
    assert.equal(witnessCommitmentIndex(b) !== -1, withTxs > 0, 'commitment exactly when there is witness data');
    assert.equal(b.hasWitness, withTxs > 0);
    prev = b.header;
    out.push(b);
  });
  return out;
}

test('50 coinbase-only blocks: valid, chained from the regtest genesis', () => {
  const raws = [...generateChain({ blocks: 50 })].map((g) => g.raw);
  assert.equal(raws.length, 50);
  checkChain(raws, 0);
});

test('50 blocks with 7 synthetic segwit transactions each: valid, witness commitment checked, distinct txids', () => {
  const gen = [...generateChain({ blocks: 50, txsPerBlock: 7 })];
  const blocks = checkChain(gen.map((g) => g.raw), 7);
  const txids = new Set(blocks.flatMap((b) => b.txs.map((t) => toDisplayHex(t.txid))));
  assert.equal(txids.size, 50 * 8);
  // Deterministic for a seed; another seed gives another chain.
  const again = [...generateChain({ blocks: 3, txsPerBlock: 7 })];
  assert.ok(again[2].raw.equals(gen[2].raw));
  const other = [...generateChain({ blocks: 3, txsPerBlock: 7, seed: 9 })];
  assert.ok(!other[0].block.header.hash.equals(gen[0].block.header.hash));
});

test('a fork can be generated on top of any block', () => {
  const main = [...generateChain({ blocks: 5 })];
  const fork = [...generateChain({ blocks: 3, parent: { header: main[2].block.header, height: 3 }, seed: 1 })];
  assert.equal(fork[0].height, 4);
  assert.ok(fork[0].block.header.prevBlock.equals(main[2].block.header.hash));
  assert.ok(!fork[0].block.header.hash.equals(main[3].block.header.hash));
  assert.ok(checkBlock(fork[2].block, { powLimit: regtest.powLimit }).ok);
});

test('generateChainFile writes a file the reader reads back block for block', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-gen-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, 'chain.blocks');
  const rep = await generateChainFile(p, { blocks: 50, txsPerBlock: 2 });
  assert.equal(rep.blocks, 50);
  assert.equal(rep.height, 50);
  assert.equal(rep.txs, 150);
  const raws: Buffer[] = [];
  for await (const r of readBlockFile(p)) raws.push(r.block);
  const blocks = checkChain(raws, 2);
  assert.equal(toDisplayHex(blocks[49].header.hash), rep.tip);
});
