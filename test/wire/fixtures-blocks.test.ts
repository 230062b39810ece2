/** Real bytes from Bitcoin Core and the main network (see ../shared/fixtures/README.md). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from '../../src/wire/buffer.js';
import { blockMerkleRoot, checkBlock, encodeBlock, makeBlock, parseBlock, witnessCommitmentIndex, type Block } from '../../src/wire/block.js';
import { toDisplayHex } from '../../src/wire/hash.js';
import { networkParams } from '../../src/wire/network.js';
import { missingFixture, readFixture, splitLengthPrefixed } from '../helpers/fixtures.js';

const REGTEST = 'regtest-2000.blocks';
const MAINNET = 'mainnet-block-413567.raw';

function encode(b: Block): Buffer {
  const w = new Writer(b.size);
  encodeBlock(w, b);
  return Buffer.from(w.result());
}

function loadRegtest(): Block[] | null {
  const file = readFixture(REGTEST);
  if (!file) return null;
  return splitLengthPrefixed(file).map((raw, i) => {
    const r = parseBlock(raw);
    if (!r.ok) throw new Error(`block at height ${i + 1}: ${r.error.code} at ${r.error.offset}: ${r.error.message}`);
    return r.value;
  });
}

test('regtest-2000: every block parses, re-serialises identically, and passes checkBlock', (t) => {
  const file = readFixture(REGTEST);
  if (!file) return t.skip(missingFixture(REGTEST));
  const raws = splitLengthPrefixed(file);
  assert.equal(raws.length, 2000);
  const regtest = networkParams('regtest');
  let txs = 0;
  let withWitness = 0;
  for (let i = 0; i < raws.length; i++) {
    const r = parseBlock(raws[i]);
    assert.ok(r.ok, `height ${i + 1} parses`);
    const b = r.value;
    txs += b.txs.length;
    assert.ok(encode(b).equals(raws[i]), `height ${i + 1} round-trips`);
    assert.ok(blockMerkleRoot(b).root.equals(b.header.merkleRoot), `height ${i + 1} merkle`);
    assert.deepEqual(checkBlock(b, { powLimit: regtest.powLimit }), { ok: true }, `height ${i + 1} checkBlock`);
    if (b.hasWitness) {
      withWitness++;
      assert.notEqual(witnessCommitmentIndex(b), -1);
    }
  }
  // The README says 18,979; bitcoinjs-lib also counts 18,978 in these 2000 blocks (the README
  // figure apparently includes the genesis coinbase, which the file does not contain).
  assert.equal(txs, 18_978);
  assert.ok(withWitness > 0, 'the fixture has witness blocks');
});

test('regtest-2000: block 1904 and the chain links', (t) => {
  const blocks = loadRegtest();
  if (!blocks) return t.skip(missingFixture(REGTEST));
  const b = blocks[1903];
  assert.equal(b.txs.length, 30);
  assert.equal(toDisplayHex(b.header.hash), '3edce9dffef271ce05f9c5c15a242d910c4f9958f609f67d0ea6562a74c77941');
  assert.equal(toDisplayHex(b.header.merkleRoot), '0fa77e77ca4ed92c452d25a1eafcfa1a487c10a8baec84f9d0896e686c70b801');
  assert.equal(b.size, 9261);
  assert.equal(b.weight, 27453);
  assert.equal(b.weight, b.strippedSize * 3 + b.size);
  assert.ok(blocks[0].header.prevBlock.equals(networkParams('regtest').genesisHash), 'block 1 builds on regtest genesis');
  for (let i = 1; i < blocks.length; i++) assert.ok(blocks[i].header.prevBlock.equals(blocks[i - 1].header.hash), `link at ${i + 1}`);
  assert.equal(toDisplayHex(blocks[1999].header.hash), '358f65d9216cd0f9a9a777d941814de9dd1f85befebd7d521d3e0a89cdc8d01b');
});

test('regtest-2000: mutations of block 1904 are rejected', (t) => {
  const blocks = loadRegtest();
  if (!blocks) return t.skip(missingFixture(REGTEST));
  const b = blocks[1903];
  const raw = encode(b);

  // Flip a byte inside a transaction's output value: the merkle root no longer matches.
  const last = b.txs[b.txs.length - 1];
  const at = raw.length - last.size + (last.hasWitness ? 6 : 4) + 1 + 5; // inside the first prevout hash of the last tx
  const flipped = Buffer.from(raw);
  flipped[at] ^= 0x01;
  const fr = parseBlock(flipped);
  assert.ok(fr.ok);
  const fc = checkBlock(fr.value);
  assert.equal(fc.ok ? 'ok' : fc.rule, 'bad-merkle-root');

  // Duplicate the last pair of transactions: same merkle root, mutated.
  const n = b.txs.length;
  assert.equal(n % 2, 0);
  const dup = makeBlock(b.header, [...b.txs, b.txs[n - 2], b.txs[n - 1]]);
  assert.ok(blockMerkleRoot(dup).root.equals(b.header.merkleRoot));
  const dc = checkBlock(dup);
  assert.equal(dc.ok ? 'ok' : dc.rule, 'mutated');

  // Tamper with the witness commitment in the coinbase; the txid merkle root changes too, so
  // recommit the header to isolate the witness rule.
  const idx = witnessCommitmentIndex(b);
  assert.notEqual(idx, -1);
  const cbRaw = Buffer.from(b.txs[0].raw ?? Buffer.alloc(0));
  const script = b.txs[0].outputs[idx].script;
  const off = script.byteOffset - (b.txs[0].raw?.byteOffset ?? 0) + 10;
  cbRaw[off] ^= 0xff;
  const cbParsed = parseBlock(Buffer.concat([raw.subarray(0, 80), Buffer.from([1]), cbRaw]));
  assert.ok(cbParsed.ok);
  const txs = [cbParsed.value.txs[0], ...b.txs.slice(1)];
  const tampered = makeBlock({ ...b.header, merkleRoot: blockMerkleRoot({ txs }).root }, txs);
  const tc = checkBlock(tampered);
  assert.equal(tc.ok ? 'ok' : tc.rule, 'bad-witness-commitment');
  assert.equal(tc.ok ? '' : tc.reason, 'bad-witness-merkle-match');
});

test('mainnet block 413567 parses with the known hash, merkle root, 1,557 txs and 999,887 bytes', (t) => {
  const raw = readFixture(MAINNET);
  if (!raw) return t.skip(missingFixture(MAINNET));
  const r = parseBlock(raw);
  assert.ok(r.ok);
  const b = r.value;
  assert.equal(toDisplayHex(b.header.hash), '0000000000000000025aff8be8a55df8f89c77296db6198f272d6577325d4069');
  assert.equal(toDisplayHex(b.header.merkleRoot), '64a50c649fc816baaa2effda230c39cacf1504e4e616a2863685b72aaa7dce05');
  assert.equal(b.txs.length, 1557);
  assert.equal(b.size, 999_887);
  assert.equal(b.hasWitness, false);
  assert.equal(b.strippedSize, b.size);
  assert.equal(b.weight, 4 * 999_887);
  assert.ok(blockMerkleRoot(b).root.equals(b.header.merkleRoot));
  assert.deepEqual(checkBlock(b, { powLimit: networkParams('main').powLimit }), { ok: true });
  assert.ok(encode(b).equals(raw));
});
