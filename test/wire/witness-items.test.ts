/**
 * A block check reads witness items without keeping them (`parseBlock(bytes, { witnessItems:
 * 'coinbase' })`): the same verdicts, sizes and hashes as a full decode, no object per item, so a
 * block of millions of empty witness items costs its bytes and not hundreds of megabytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from '../../src/wire/buffer.js';
import { checkBlock, parseBlock } from '../../src/wire/block.js';
import { WITNESS_NOT_KEPT, encodeTx } from '../../src/wire/tx.js';
import { witnessHeavy } from '../helpers/chain.js';
import { missingFixture, readFixture, splitLengthPrefixed } from '../helpers/fixtures.js';

test('a witness-heavy block: the check decode keeps no item, and agrees with the full decode on sizes, hashes and the verdict', () => {
  const raw = witnessHeavy(200_000);
  const full = parseBlock(raw);
  const lean = parseBlock(raw, { witnessItems: 'coinbase' });
  assert.ok(full.ok && lean.ok);
  assert.equal(full.value.txs[1]!.inputs[0]!.witness.length, 200_000, 'the full decode makes an item each');
  assert.equal(lean.value.txs[1]!.inputs[0]!.witness, WITNESS_NOT_KEPT, 'the check decode keeps none');
  for (const k of ['size', 'strippedSize', 'weight', 'hasWitness'] as const) assert.equal(lean.value[k], full.value[k], k);
  assert.deepEqual(lean.value.txs[1]!.wtxid, full.value.txs[1]!.wtxid);
  assert.deepEqual(lean.value.txs[1]!.txid, full.value.txs[1]!.txid);
  assert.deepEqual(checkBlock(lean.value), checkBlock(full.value));
  // A transaction read without its witness items cannot be written back as if it had none.
  assert.throws(() => encodeTx(new Writer(100), lean.value.txs[1]!), /without its witness items/);
  // The coinbase keeps its witness (the reserved value the commitment check reads).
  assert.deepEqual(lean.value.txs[0]!.inputs[0]!.witness, full.value.txs[0]!.inputs[0]!.witness);
});

test('the same errors at the same offsets: a witness item running past the end', () => {
  const raw = witnessHeavy(1000);
  const cut = raw.subarray(0, raw.length - 10);
  const full = parseBlock(cut);
  const lean = parseBlock(cut, { witnessItems: 'coinbase' });
  assert.ok(!full.ok && !lean.ok);
  assert.deepEqual([lean.error.code, lean.error.offset], [full.error.code, full.error.offset]);
});

test('regtest-2000: every block gets the same verdict and transaction hashes from the check decode', (t) => {
  const file = readFixture('regtest-2000.blocks');
  if (!file) return t.skip(missingFixture('regtest-2000.blocks'));
  for (const raw of splitLengthPrefixed(file)) {
    const full = parseBlock(raw);
    const lean = parseBlock(raw, { witnessItems: 'coinbase' });
    assert.ok(full.ok && lean.ok);
    assert.deepEqual(checkBlock(lean.value), checkBlock(full.value));
    assert.deepEqual(
      lean.value.txs.map((x) => x.wtxid.toString('hex')),
      full.value.txs.map((x) => x.wtxid.toString('hex')),
    );
  }
});
