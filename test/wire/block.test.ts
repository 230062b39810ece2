import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader, Writer } from '../../src/wire/buffer.js';
import { WireError } from '../../src/wire/errors.js';
import { sha256d } from '../../src/wire/hash.js';
import { computeMerkleRoot } from '../../src/wire/merkle.js';
import {
  MAX_BLOCK_WEIGHT,
  blockMerkleRoot,
  checkBlock,
  decodeBlock,
  encodeBlock,
  makeBlock,
  parseBlock,
  stripWitness,
  witnessCommitmentIndex,
  witnessMerkleRoot,
  type Block,
  type BlockRule,
} from '../../src/wire/block.js';
import { makeTx, type Tx, type TxFields } from '../../src/wire/tx.js';
import { networkParams } from '../../src/wire/network.js';

const h = (n: number) => Buffer.alloc(32, n);

test('merkle: empty, single, pair, and odd counts', () => {
  assert.deepEqual(computeMerkleRoot([]), { root: Buffer.alloc(32), mutated: false });
  assert.ok(computeMerkleRoot([h(1)]).root.equals(h(1)));
  assert.ok(computeMerkleRoot([h(1), h(2)]).root.equals(sha256d(Buffer.concat([h(1), h(2)]))));
  const three = computeMerkleRoot([h(1), h(2), h(3)]);
  const expect = sha256d(Buffer.concat([sha256d(Buffer.concat([h(1), h(2)])), sha256d(Buffer.concat([h(3), h(3)]))]));
  assert.ok(three.root.equals(expect));
  assert.equal(three.mutated, false);
});

test('merkle: CVE-2012-2459 — [1..6] and [1..6,5,6] share a root; the second is mutated', () => {
  const six = [1, 2, 3, 4, 5, 6].map(h);
  const eight = [...six, h(5), h(6)];
  const a = computeMerkleRoot(six);
  const b = computeMerkleRoot(eight);
  assert.ok(a.root.equals(b.root));
  assert.equal(a.mutated, false);
  assert.equal(b.mutated, true);
  // Equal neighbours in a pair are mutation; equal hashes in different pairs are not.
  assert.equal(computeMerkleRoot([h(1), h(1)]).mutated, true);
  assert.equal(computeMerkleRoot([h(1), h(2), h(1), h(2)]).mutated, true); // level 1: two equal parents
  assert.equal(computeMerkleRoot([h(1), h(2), h(2), h(3)]).mutated, false);
});

// --- synthetic blocks ---------------------------------------------------------------------------

const P2WPKH = (b: number) => Buffer.concat([Buffer.from('0014', 'hex'), Buffer.alloc(20, b)]);

function coinbase(extraOutputs: { value: bigint; script: Buffer }[] = [], witness: Buffer[] = [Buffer.alloc(32)], tag = 1): Tx {
  return makeTx({
    version: 2,
    inputs: [{ prevTxid: Buffer.alloc(32), prevIndex: 0xffffffff, script: Buffer.from([0x01, tag, 0x00]), sequence: 0xffffffff, witness }],
    outputs: [{ value: 50n * 100_000_000n, script: P2WPKH(7) }, ...extraOutputs],
    locktime: 0,
  });
}

function spend(n: number, witness = true, extra: Partial<TxFields> = {}): Tx {
  return makeTx({
    version: 2,
    inputs: [{ prevTxid: h(100 + n), prevIndex: n, script: Buffer.alloc(0), sequence: 0xfffffffe, witness: witness ? [Buffer.alloc(71, n), Buffer.alloc(33, 2)] : [] }],
    outputs: [{ value: 1000n + BigInt(n), script: P2WPKH(n) }],
    locktime: 0,
    ...extra,
  });
}

function commitmentScript(txs: readonly Tx[], reserved = Buffer.alloc(32)): Buffer {
  const root = witnessMerkleRoot({ txs }).root;
  return Buffer.concat([Buffer.from('6a24aa21a9ed', 'hex'), sha256d(Buffer.concat([root, reserved]))]);
}

/** A block whose header commits to its txids; with `commit`, the coinbase carries a correct witness commitment. */
function block(others: Tx[], opts: { commit?: boolean; coinbaseTx?: Tx } = {}): Block {
  let cb = opts.coinbaseTx ?? coinbase();
  if (opts.commit) cb = coinbase([{ value: 0n, script: commitmentScript([cb, ...others]) }]);
  const txs = [cb, ...others];
  return makeBlock({ version: 0x20000000, prevBlock: h(9), merkleRoot: blockMerkleRoot({ txs }).root, time: 1_700_000_000, bits: 0x207fffff, nonce: 0 }, txs);
}

function reencode(b: Block): Block {
  const w = new Writer();
  encodeBlock(w, b);
  const r = parseBlock(Buffer.from(w.result()));
  assert.ok(r.ok);
  return r.value;
}

function rule(b: Block): BlockRule | 'ok' {
  const c = checkBlock(b);
  return c.ok ? 'ok' : c.rule;
}

test('a segwit block with a correct commitment passes and round-trips', () => {
  const b = block([spend(1), spend(2, false), spend(3)], { commit: true });
  assert.equal(rule(b), 'ok');
  const again = reencode(b);
  assert.equal(rule(again), 'ok');
  assert.equal(again.size, b.size);
  assert.equal(again.weight, b.weight);
  assert.equal(again.strippedSize, b.strippedSize);
  assert.equal(again.weight, again.strippedSize * 3 + again.size);
  assert.ok(again.header.hash.equals(b.header.hash));
  assert.equal(witnessCommitmentIndex(again), 1);
});

test('witness commitment: tampered, wrong reserved value size, missing, last one counts', () => {
  const others = [spend(1), spend(2)];
  const good = block(others, { commit: true });
  // Tamper with one commitment byte (merkle root recomputed so only the commitment is wrong).
  const script = Buffer.from(good.txs[0].outputs[1].script);
  script[20] ^= 1;
  assert.equal(rule(block(others, { coinbaseTx: coinbase([{ value: 0n, script }]) })), 'bad-witness-commitment');
  // Reserved value not a single 32-byte item.
  const cbBadNonce = coinbase([{ value: 0n, script: commitmentScript([coinbase(), ...others]) }], [Buffer.alloc(31)]);
  assert.equal(rule(block(others, { coinbaseTx: cbBadNonce })), 'bad-witness-nonce-size');
  // Witness data with no commitment at all.
  assert.equal(rule(block(others)), 'no-witness-commitment-but-witness');
  // No witness anywhere, no commitment needed (coinbase without witness).
  assert.equal(rule(block([spend(1, false)], { coinbaseTx: coinbase([], []) })), 'ok');
  // Two commitment outputs: the last counts.
  const right = commitmentScript([coinbase(), ...others]);
  const wrong = Buffer.from(right);
  wrong[37] ^= 0xff;
  assert.equal(rule(block(others, { coinbaseTx: coinbase([{ value: 0n, script: right }, { value: 0n, script: wrong }]) })), 'bad-witness-commitment');
  assert.equal(rule(block(others, { coinbaseTx: coinbase([{ value: 0n, script: wrong }, { value: 0n, script: right }]) })), 'ok');
});

test('merkle root mismatch and mutation by duplicating the last pair', () => {
  const txs = [coinbase([], []), spend(1, false), spend(2, false), spend(3, false), spend(4, false), spend(5, false)];
  const b = makeBlock({ version: 1, prevBlock: h(0), merkleRoot: blockMerkleRoot({ txs }).root, time: 0, bits: 0x207fffff, nonce: 0 }, txs);
  assert.equal(rule(b), 'ok');
  const dup = makeBlock(b.header, [...txs, txs[4], txs[5]]);
  assert.ok(blockMerkleRoot(dup).root.equals(b.header.merkleRoot), 'same root');
  assert.equal(rule(dup), 'mutated');
  const wrongRoot = makeBlock({ ...b.header, merkleRoot: h(1) }, txs);
  assert.equal(rule(wrongRoot), 'bad-merkle-root');
});

test('CheckBlock structure rules', () => {
  const empty = makeBlock({ version: 1, prevBlock: h(0), merkleRoot: Buffer.alloc(32), time: 0, bits: 0x207fffff, nonce: 0 }, []);
  assert.equal(rule(empty), 'no-transactions');
  const noCb = (txs: Tx[]) => makeBlock({ version: 1, prevBlock: h(0), merkleRoot: blockMerkleRoot({ txs }).root, time: 0, bits: 0x207fffff, nonce: 0 }, txs);
  assert.equal(rule(noCb([spend(1, false)])), 'first-tx-not-coinbase');
  assert.equal(rule(noCb([coinbase([], []), coinbase([], [], 2)])), 'multiple-coinbase');
  assert.equal(rule(noCb([coinbase([], []), spend(1, false, { outputs: [{ value: -1n, script: P2WPKH(1) }] })])), 'tx-vout-negative');
  assert.equal(rule(noCb([coinbase([], []), spend(1, false, { outputs: [{ value: 21_000_001n * 100_000_000n, script: P2WPKH(1) }] })])), 'tx-vout-toolarge');
  const big = { value: 15_000_000n * 100_000_000n, script: P2WPKH(1) };
  assert.equal(rule(noCb([coinbase([], []), spend(1, false, { outputs: [big, big] })])), 'tx-txouttotal-toolarge');
  assert.equal(rule(noCb([coinbase([], []), spend(1, false, { outputs: [] })])), 'tx-vout-empty');
  const input = spend(1, false).inputs[0];
  assert.equal(rule(noCb([coinbase([], []), spend(1, false, { inputs: [input, input] })])), 'tx-inputs-duplicate');
  assert.equal(rule(noCb([coinbase([], []), spend(1, false, { inputs: [{ ...input, prevTxid: Buffer.alloc(32), prevIndex: 0xffffffff }, input] })])), 'tx-prevout-null');
  const shortCb = makeTx({ ...coinbase([], []), inputs: [{ ...coinbase([], []).inputs[0], script: Buffer.from([0x51]) }] });
  assert.equal(rule(noCb([shortCb])), 'coinbase-script-size');
  const sigops = spend(1, false, { outputs: [{ value: 1n, script: Buffer.alloc(20_001, 0xac) }] });
  assert.equal(rule(noCb([coinbase([], []), sigops])), 'sigops');
  const pushed = spend(1, false, { outputs: [{ value: 1n, script: Buffer.concat([Buffer.from([0x4d, 0x21, 0x4e]), Buffer.alloc(20_001, 0xac)]) }] });
  assert.equal(rule(noCb([coinbase([], []), pushed])), 'ok', 'CHECKSIG bytes inside a push are data');
});

test('weight above 4,000,000 with a valid commitment is rejected', () => {
  const heavy = makeTx({
    version: 2,
    inputs: [{ prevTxid: h(5), prevIndex: 0, script: Buffer.alloc(0), sequence: 0, witness: [Buffer.alloc(4_100_000, 1)] }],
    outputs: [{ value: 1n, script: P2WPKH(1) }],
    locktime: 0,
  });
  const b = block([heavy], { commit: true });
  assert.ok(b.weight > MAX_BLOCK_WEIGHT);
  assert.equal(rule(b), 'weight');
  const pre = checkBlock(b, { segwit: false });
  assert.equal(pre.ok ? 'ok' : pre.rule, 'no-witness-commitment-but-witness', 'before segwit any witness is unexpected');
});

test('proof of work is checked when a limit is given', () => {
  const regtest = networkParams('regtest');
  const b = block([spend(1)], { commit: true });
  const c = checkBlock(b, { powLimit: regtest.powLimit });
  // A regtest target passes about half of all hashes; try nonces until one passes and one fails.
  let sawPass = c.ok;
  let sawFail = !c.ok;
  for (let nonce = 1; nonce < 64 && !(sawPass && sawFail); nonce++) {
    const x = makeBlock({ ...b.header, nonce }, b.txs);
    const r = checkBlock(x, { powLimit: regtest.powLimit });
    if (r.ok) sawPass = true;
    else {
      assert.equal(r.rule, 'high-hash');
      assert.equal(r.reason, 'high-hash');
      sawFail = true;
    }
  }
  assert.ok(sawPass && sawFail);
});

test('decodeBlock bounds the transaction count and reports truncation as WireError', () => {
  const b = block([spend(1)], { commit: true });
  const w = new Writer();
  encodeBlock(w, b);
  const bytes = Buffer.from(w.result());
  const lying = Buffer.concat([bytes.subarray(0, 80), Buffer.from('fe00000100', 'hex'), bytes.subarray(81)]);
  const r = parseBlock(lying);
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.error.code, 'truncated');
    assert.equal(r.error.offset, 80);
  }
  for (let n = 0; n < bytes.length; n += 7) assert.equal(parseBlock(bytes.subarray(0, n)).ok, false);
  const trailing = parseBlock(Buffer.concat([bytes, Buffer.from([0])]));
  assert.equal(trailing.ok ? null : trailing.error.code, 'trailing-bytes');
});

test('random and mutated bytes: decodeBlock throws nothing but WireError (property)', () => {
  const w = new Writer();
  encodeBlock(w, block([spend(1), spend(2, false)], { commit: true }));
  const seed = Buffer.from(w.result());
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
      const b = Buffer.from(seed);
      for (const [at, v] of edits) b[at % b.length] = v;
      return b;
    }),
  );
  fc.assert(
    fc.property(arb, (bytes) => {
      try {
        const b = decodeBlock(new Reader(bytes));
        assert.ok(b.size <= bytes.length);
        assert.ok(b.txs.length * 10 <= bytes.length);
        checkBlock(b); // never throws either
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
      }
    }),
    { numRuns: 1500 },
  );
});

/** The outcome of decoding `bytes` as a block: the error's code and offset, or the block's sizes and tx ids. */
function outcome(bytes: Buffer, lazyTxs: boolean): unknown {
  try {
    const b = decodeBlock(new Reader(bytes), { lazyTxs });
    return { size: b.size, strippedSize: b.strippedSize, weight: b.weight, hasWitness: b.hasWitness, raw: b.raw, header: b.header.hash, txids: b.txs.map((t) => [t.txid, t.wtxid, t.size, t.strippedSize, t.hasWitness, t.inputs.length, t.outputs.length]), check: checkBlock(b) };
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    return { code: err.code, offset: err.offset, message: err.message };
  }
}

test('lazy transactions (the receive path): accepted, rejected and sized exactly as a full decode (property)', () => {
  const w = new Writer();
  encodeBlock(w, block([spend(1), spend(2, false), spend(3)], { commit: true }));
  const seed = Buffer.from(w.result());
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
    fc.constant(seed),
    fc.integer({ min: 0, max: seed.length }).map((n) => seed.subarray(0, n)),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
      const b = Buffer.from(seed);
      for (const [at, v] of edits) b[at % b.length] = v;
      return b;
    }),
  );
  let decoded = 0;
  fc.assert(
    fc.property(arb, (bytes) => {
      const full = outcome(bytes, false);
      if (typeof full === 'object' && full !== null && 'size' in full) decoded++;
      assert.deepEqual(outcome(bytes, true), full);
    }),
    { numRuns: 3000 },
  );
  assert.ok(decoded > 0, 'some inputs decode');
});

test('stripWitness copies out the block without witness data, as encodeBlock(…, false) writes it, and refuses what does not parse', () => {
  for (const b of [block([spend(1), spend(2, false), spend(3)], { commit: true }), block([spend(4, false), spend(5, false)]), block([])]) {
    const w = new Writer();
    encodeBlock(w, b);
    const raw = Buffer.from(w.result());
    const expected = new Writer();
    encodeBlock(expected, b, false);
    const s = stripWitness(raw);
    assert.ok(s.ok);
    assert.ok(s.value.equals(Buffer.from(expected.result())), 'same bytes as a decode and re-encode without witness');
    assert.equal(s.value.length, b.strippedSize);
    assert.equal(stripWitness(raw.subarray(0, raw.length - 1)).ok, false, 'truncated');
    assert.equal(stripWitness(Buffer.concat([raw, Buffer.alloc(1)])).ok, false, 'trailing bytes');
  }
});
