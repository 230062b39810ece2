import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader, Writer } from '../../src/wire/buffer.js';
import { WireError, attempt } from '../../src/wire/errors.js';
import { sha256d, toDisplayHex } from '../../src/wire/hash.js';
import { MIN_TXIN_SIZE, MIN_TXOUT_SIZE, decodeTx, encodeTx, isCoinbase, makeTx, type Tx, type TxFields } from '../../src/wire/tx.js';
import { genesisCoinbase } from '../../src/wire/network.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const enc = (tx: TxFields, witness = true) => {
  const w = new Writer();
  encodeTx(w, tx, witness);
  return Buffer.from(w.result());
};

/** Decodes, requiring that nothing is left, and reports any non-WireError as a test failure. */
function strictDecode(bytes: Buffer): { ok: true; tx: Tx } | { ok: false; error: WireError } {
  try {
    const r = new Reader(bytes);
    const tx = decodeTx(r);
    return { ok: true, tx };
  } catch (err) {
    if (err instanceof WireError) return { ok: false, error: err };
    throw err;
  }
}

const witnessTx: TxFields = {
  version: 2,
  inputs: [
    { prevTxid: Buffer.alloc(32, 0x11), prevIndex: 3, script: Buffer.alloc(0), sequence: 0xfffffffd, witness: [Buffer.alloc(72, 1), Buffer.alloc(33, 2)] },
    { prevTxid: Buffer.alloc(32, 0x22), prevIndex: 0, script: hex('160014aabbccddeeff00112233445566778899aabbccdd'), sequence: 0xffffffff, witness: [] },
  ],
  outputs: [
    { value: 12345n, script: hex('0014' + '33'.repeat(20)) },
    { value: 0n, script: hex('6a') },
  ],
  locktime: 500_000,
};

test('genesis coinbase: known txid and legacy serialisation', () => {
  const cb = genesisCoinbase();
  assert.equal(toDisplayHex(cb.txid), '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b');
  assert.ok(cb.txid.equals(cb.wtxid));
  assert.equal(cb.hasWitness, false);
  assert.equal(cb.size, 204);
  assert.equal(cb.weight, 204 * 4);
  assert.ok(isCoinbase(cb));
  assert.equal(cb.inputs[0].script.toString('hex').slice(0, 16), '04ffff001d010445');
});

test('BIP144: witness tx round-trips; txid over the stripped bytes, wtxid over all', () => {
  const bytes = enc(witnessTx);
  assert.equal(bytes.subarray(4, 6).toString('hex'), '0001');
  const tx = decodeTx(new Reader(bytes));
  assert.equal(tx.hasWitness, true);
  assert.ok(tx.txid.equals(sha256d(enc(witnessTx, false))));
  assert.ok(tx.wtxid.equals(sha256d(bytes)));
  assert.ok(!tx.txid.equals(tx.wtxid));
  assert.equal(tx.size, bytes.length);
  assert.equal(tx.strippedSize, enc(witnessTx, false).length);
  assert.equal(tx.weight, tx.strippedSize * 3 + tx.size);
  assert.deepEqual(enc(tx), bytes);
  assert.equal(tx.inputs[1].witness.length, 0);
  assert.equal(tx.inputs[0].witness[1].length, 33);
});

test('zero-copy: scripts, witness items and outpoints are views into the input', () => {
  const bytes = enc(witnessTx);
  const tx = decodeTx(new Reader(bytes));
  assert.equal(tx.inputs[0].witness[0].buffer, bytes.buffer);
  assert.equal(tx.inputs[1].script.buffer, bytes.buffer);
  assert.equal(tx.inputs[0].prevTxid.buffer, bytes.buffer);
  assert.equal(tx.outputs[0].script.buffer, bytes.buffer);
  assert.equal(tx.raw?.buffer, bytes.buffer);
});

test('superfluous witness record: flag set but every witness empty', () => {
  const fields: TxFields = { ...witnessTx, inputs: witnessTx.inputs.map((i) => ({ ...i, witness: [] })) };
  const legacy = enc(fields);
  // Insert marker+flag and one empty witness stack per input.
  const bad = Buffer.concat([legacy.subarray(0, 4), hex('0001'), legacy.subarray(4, legacy.length - 4), hex('0000'), legacy.subarray(legacy.length - 4)]);
  const r = strictDecode(bad);
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.error.code, 'bad-value');
    assert.match(r.error.message, /superfluous witness/);
    assert.equal(r.error.offset, 5);
  }
});

test('unknown flag bytes are rejected', () => {
  const good = enc(witnessTx);
  for (const flag of [0x02, 0x03, 0x80]) {
    const bad = Buffer.from(good);
    bad[5] = flag;
    const r = strictDecode(bad);
    assert.equal(r.ok, false, `flag ${flag}`);
    if (!r.ok) assert.match(r.error.message, /unknown transaction optional data/);
  }
});

test('marker followed by a zero flag is an empty vin and empty vout (as Core reads it)', () => {
  const bytes = hex('01000000 00 00 00000000');
  const tx = decodeTx(new Reader(bytes));
  assert.equal(tx.inputs.length, 0);
  assert.equal(tx.outputs.length, 0);
  assert.equal(tx.size, 10);
  assert.deepEqual(enc(tx), bytes);
});

test('declared counts are bounded by the remaining bytes before any allocation', () => {
  // 1,000,000 inputs declared with 10 bytes following.
  const r1 = strictDecode(hex('01000000 fe40420f00' + '00'.repeat(10)));
  assert.equal(r1.ok, false);
  if (!r1.ok) {
    assert.equal(r1.error.code, 'truncated');
    assert.equal(r1.error.offset, 4);
  }
  // Above Core's MAX_SIZE.
  const r2 = strictDecode(hex('01000000 ffffffffffffffff7f'));
  assert.equal(r2.ok, false);
  if (!r2.ok) assert.equal(r2.error.code, 'oversize');
  // Huge witness item count.
  const base = enc(witnessTx);
  const wStart = 4 + 2 + (enc(witnessTx, false).length - 8);
  const bad = Buffer.concat([base.subarray(0, wStart), hex('fe00000001'), base.subarray(wStart + 1)]);
  const r3 = strictDecode(bad);
  assert.equal(r3.ok, false);
  if (!r3.ok) assert.equal(r3.error.code, 'truncated');
});

test('truncation at every offset is a WireError, never anything else', () => {
  const bytes = enc(witnessTx);
  for (let n = 0; n < bytes.length; n++) {
    const r = strictDecode(bytes.subarray(0, n));
    assert.equal(r.ok, false, `prefix of ${n}`);
  }
});

const arbTxFields: fc.Arbitrary<TxFields> = fc.record({
  version: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  inputs: fc.array(
    fc.record({
      prevTxid: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a)),
      prevIndex: fc.integer({ min: 0, max: 0xffffffff }),
      script: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      sequence: fc.integer({ min: 0, max: 0xffffffff }),
      witness: fc.array(
        fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)),
        { maxLength: 4 },
      ),
    }),
    { minLength: 1, maxLength: 5 },
  ),
  outputs: fc.array(fc.record({ value: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), script: fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)) }), { maxLength: 5 }),
  locktime: fc.integer({ min: 0, max: 0xffffffff }),
});

test('random transactions round-trip byte for byte with consistent hashes (property)', () => {
  fc.assert(
    fc.property(arbTxFields, (fields) => {
      const bytes = enc(fields);
      const r = new Reader(bytes);
      const tx = decodeTx(r);
      r.expectEnd('tx');
      assert.deepEqual(enc(tx), bytes);
      assert.ok(tx.txid.equals(sha256d(enc(fields, false))));
      assert.ok(tx.wtxid.equals(sha256d(bytes)));
      assert.equal(tx.hasWitness, fields.inputs.some((i) => i.witness.length > 0));
      const built = makeTx(fields);
      assert.ok(built.txid.equals(tx.txid));
      assert.equal(built.weight, tx.weight);
    }),
  );
});

test('random bytes never throw anything but WireError and never decode more elements than bytes allow (property)', () => {
  const seeds = [enc(witnessTx), enc(genesisCoinbase())];
  const arbBytes = fc.oneof(
    fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
    // Mutations of valid transactions reach deeper into the decoder.
    fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })).map(([seed, edits]) => {
      const b = Buffer.from(seed);
      for (const [at, v] of edits) b[at % b.length] = v;
      return b;
    }),
  );
  fc.assert(
    fc.property(arbBytes, (bytes) => {
      const res = attempt(() => decodeTx(new Reader(bytes)));
      const r = strictDecode(bytes);
      assert.equal(res.ok, r.ok);
      if (r.ok) {
        const tx = r.tx;
        assert.ok(tx.inputs.length * MIN_TXIN_SIZE + tx.outputs.length * MIN_TXOUT_SIZE <= bytes.length);
        assert.ok(tx.size <= bytes.length);
        assert.deepEqual(enc(tx), bytes.subarray(0, tx.size));
      }
    }),
    { numRuns: 2000 },
  );
});
