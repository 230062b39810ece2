import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  blockProof,
  calculateNextWorkRequired,
  checkProofOfWork,
  compactToTarget,
  getNextWorkRequired,
  hashToBigInt,
  permittedDifficultyTransition,
  targetToCompact,
  type PowHeader,
} from '../../src/wire/pow.js';
import { networkParams } from '../../src/wire/network.js';

const main = networkParams('main');

// Vectors from Bitcoin Core src/test/pow_tests.cpp (mainnet parameters).
test('get_next_work: no constraint applies', () => {
  assert.equal(calculateNextWorkRequired({ height: 32255, time: 1262152739, bits: 0x1d00ffff }, 1261130161, main), 0x1d00d86a);
});

test('get_next_work_pow_limit: capped at the PoW limit', () => {
  assert.equal(calculateNextWorkRequired({ height: 2015, time: 1233061996, bits: 0x1d00ffff }, 1231006505, main), 0x1d00ffff);
});

test('get_next_work_lower_limit_actual: timespan clamped to a quarter', () => {
  assert.equal(calculateNextWorkRequired({ height: 68543, time: 1279297671, bits: 0x1c05a3f4 }, 1279008237, main), 0x1c0168fd);
});

test('get_next_work_upper_limit_actual: timespan clamped to four times', () => {
  assert.equal(calculateNextWorkRequired({ height: 46367, time: 1269211443, bits: 0x1c387f6f }, 1263163443, main), 0x1d00e1fd);
});

// Vectors from Bitcoin Core src/test/arith_uint256_tests.cpp (bignum_SetCompact).
test('SetCompact / GetCompact vectors', () => {
  const cases: [number, string, number, boolean, boolean][] = [
    // bits, target hex, GetCompact(negative), negative, overflow
    [0x00000000, '0', 0, false, false],
    [0x00123456, '0', 0, false, false],
    [0x01003456, '0', 0, false, false],
    [0x02000056, '0', 0, false, false],
    [0x03000000, '0', 0, false, false],
    [0x04000000, '0', 0, false, false],
    [0x00923456, '0', 0, false, false],
    [0x01803456, '0', 0, false, false],
    [0x02800056, '0', 0, false, false],
    [0x03800000, '0', 0, false, false],
    [0x04800000, '0', 0, false, false],
    [0x01123456, '12', 0x01120000, false, false],
    [0x01fedcba, '7e', 0x01fe0000, true, false],
    [0x02123456, '1234', 0x02123400, false, false],
    [0x03123456, '123456', 0x03123456, false, false],
    [0x04123456, '12345600', 0x04123456, false, false],
    [0x04923456, '12345600', 0x04923456, true, false],
    [0x05009234, '92340000', 0x05009234, false, false],
    [0x20123456, '1234560000000000000000000000000000000000000000000000000000000000', 0x20123456, false, false],
  ];
  for (const [bits, hex, compact, negative, overflow] of cases) {
    const r = compactToTarget(bits);
    assert.equal(r.target, BigInt('0x' + hex), `target of ${bits.toString(16)}`);
    assert.equal(r.negative, negative, `negative of ${bits.toString(16)}`);
    assert.equal(r.overflow, overflow, `overflow of ${bits.toString(16)}`);
    assert.equal(targetToCompact(r.target, negative), compact, `GetCompact of ${bits.toString(16)}`);
  }
  const over = compactToTarget(0xff123456);
  assert.equal(over.negative, false);
  assert.equal(over.overflow, true);
  // Never produce a compact with the sign bit set.
  assert.equal(targetToCompact(0x80n), 0x02008000);
});

test('compact round trip: normalised bits survive, targets only lose low bits (property)', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: (1n << 256n) - 1n }), (t) => {
      const bits = targetToCompact(t);
      const back = compactToTarget(bits);
      assert.equal(back.negative, false);
      assert.equal(back.overflow, false);
      assert.ok(back.target <= t);
      assert.equal(targetToCompact(back.target), bits);
    }),
  );
});

test('CheckProofOfWork: range rules and hash comparison', () => {
  const genesis = main.genesis.header;
  assert.equal(checkProofOfWork(genesis.hash, genesis.bits, main.powLimit), true);
  // A harder target than the genesis hash meets.
  assert.equal(checkProofOfWork(genesis.hash, 0x1a00ffff, main.powLimit), false);
  // Negative, zero, overflowing, above the limit.
  assert.equal(checkProofOfWork(genesis.hash, 0x1d80ffff, main.powLimit), false);
  assert.equal(checkProofOfWork(genesis.hash, 0x1d000000, main.powLimit), false);
  assert.equal(checkProofOfWork(genesis.hash, 0xff123456, main.powLimit), false);
  assert.equal(checkProofOfWork(genesis.hash, 0x1e00ffff, main.powLimit), false);
  const regtest = networkParams('regtest');
  assert.equal(checkProofOfWork(regtest.genesis.header.hash, 0x207fffff, regtest.powLimit), true);
});

test('GetBlockProof: difficulty-1 work and invalid bits', () => {
  assert.equal(blockProof(0x1d00ffff), 0x100010001n);
  assert.equal(blockProof(0x207fffff), 2n);
  assert.equal(blockProof(0), 0n);
  assert.equal(blockProof(0x1d80ffff), 0n);
  assert.equal(blockProof(0xff123456), 0n);
  // Work grows as the target shrinks.
  assert.ok(blockProof(0x1c05a3f4) > blockProof(0x1d00ffff));
});

/** A chain of headers at fixed bits and spacing, looked up by height. */
function chain(n: number, bits: number, spacing: number, start = 1_600_000_000): PowHeader[] {
  return Array.from({ length: n }, (_, h) => ({ height: h, time: start + h * spacing, bits }));
}

test('GetNextWorkRequired: bits stay between boundaries, retarget at boundaries (mainnet)', () => {
  const headers = chain(2016, 0x1d00ffff, 600);
  const at = (h: number) => headers[h];
  assert.equal(getNextWorkRequired(headers[1000], headers[1000].time + 600, main, at), 0x1d00ffff);
  // Exactly two weeks minus one spacing: target shrinks by 2015/2016 (rounded through the compact form).
  const last = headers[2015];
  const expected = calculateNextWorkRequired(last, headers[0].time, main);
  assert.equal(getNextWorkRequired(last, last.time + 600, main, at), expected);
  assert.notEqual(expected, 0x1d00ffff);
});

test('testnet: 20-minute rule allows min difficulty, walk-back skips min-difficulty blocks', () => {
  const testnet = networkParams('testnet3');
  const limitBits = targetToCompact(testnet.powLimit);
  const real = 0x1c0ffff0;
  const headers = chain(2020, real, 600);
  // Blocks 2017..2019 were mined under the min-difficulty exception.
  for (const h of [2017, 2018, 2019]) headers[h] = { ...headers[h], bits: limitBits };
  const at = (h: number) => headers[h];
  const last = headers[2019];
  assert.equal(getNextWorkRequired(last, last.time + 1201, testnet, at), limitBits, 'more than 2 × spacing later');
  assert.equal(getNextWorkRequired(last, last.time + 1200, testnet, at), real, 'walk back to the last real bits');
  // The walk stops at a period boundary even if that block has limit bits.
  headers[2016] = { ...headers[2016], bits: limitBits };
  assert.equal(getNextWorkRequired(last, last.time + 600, testnet, at), limitBits);
});

test('testnet4 (BIP94): retarget from the first block of the period, not the last', () => {
  const t4 = networkParams('testnet4');
  const limitBits = targetToCompact(t4.powLimit);
  const real = 0x1c0ffff0;
  const headers = chain(2016, real, 600);
  headers[2015] = { ...headers[2015], bits: limitBits }; // last block used the min-difficulty exception
  const at = (h: number) => headers[h];
  const last = headers[2015];
  const got = getNextWorkRequired(last, last.time + 600, t4, at);
  const base = calculateNextWorkRequired({ ...last, bits: real }, headers[0].time, { ...t4, enforceBIP94: false });
  assert.equal(got, base);
  // testnet3 (no BIP94) would have retargeted from the limit bits: the timewarp-style reset.
  const t3params = networkParams('testnet3');
  const t3 = getNextWorkRequired(last, last.time + 600, t3params, at);
  assert.equal(t3, calculateNextWorkRequired(last, headers[0].time, t3params));
  assert.ok(compactToTarget(t3).target > compactToTarget(got).target * 10n);
  assert.throws(() => calculateNextWorkRequired(last, headers[0].time, t4), /ancestor/);
});

test('regtest: no retargeting', () => {
  const regtest = networkParams('regtest');
  const headers = chain(144, 0x207fffff, 1);
  const at = (h: number) => headers[h];
  assert.equal(getNextWorkRequired(headers[143], headers[143].time + 1, regtest, at), 0x207fffff);
  assert.equal(calculateNextWorkRequired({ height: 143, time: 10, bits: 0x207fffff }, 0, regtest), 0x207fffff);
});

test('PermittedDifficultyTransition', () => {
  assert.equal(permittedDifficultyTransition(main, 32256, 0x1d00ffff, 0x1d00d86a), true);
  assert.equal(permittedDifficultyTransition(main, 32257, 0x1d00ffff, 0x1d00d86a), false);
  assert.equal(permittedDifficultyTransition(main, 32257, 0x1d00d86a, 0x1d00d86a), true);
  // More than a factor of four in either direction is impossible.
  assert.equal(permittedDifficultyTransition(main, 68544, 0x1c05a3f4, 0x1c0168fd), true);
  assert.equal(permittedDifficultyTransition(main, 68544, 0x1c05a3f4, 0x1c0168fc), false);
  assert.equal(permittedDifficultyTransition(networkParams('testnet3'), 5, 0x1d00ffff, 0x1c00ffff), true);
});

test('checkProofOfWork (a byte comparison against a cached target) agrees with the 256-bit comparison (property)', () => {
  const reference = (hash: Uint8Array, bits: number, powLimit: bigint): boolean => {
    const { target, negative, overflow } = compactToTarget(bits);
    if (negative || overflow || target === 0n || target > powLimit) return false;
    return BigInt('0x' + Buffer.from(hash).reverse().toString('hex')) <= target;
  };
  // A hash at, just under and just over a target, and random ones.
  const near = (bits: number, delta: bigint): Buffer => {
    const t = compactToTarget(bits).target + delta;
    const hex = (t < 0n ? 0n : t & ((1n << 256n) - 1n)).toString(16).padStart(64, '0');
    return Buffer.from(hex, 'hex').reverse();
  };
  const limits = [networkParams('main').powLimit, networkParams('regtest').powLimit, networkParams('testnet4').powLimit];
  const bitsArb = fc.oneof(fc.constantFrom(0x1d00ffff, 0x207fffff, 0x1b0404cb, 0x1a05db8b, 0x17034219, 0x1d80ffff, 0x1e00ffff, 0x04123456, 0x22000001), fc.integer({ min: 0, max: 0xffffffff }));
  fc.assert(
    fc.property(bitsArb, fc.constantFrom(...limits), fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom(-1n, 0n, 1n)), (bits, limit, h) => {
      const hash = typeof h === 'bigint' ? near(bits, h) : h;
      assert.equal(checkProofOfWork(hash, bits, limit), reference(hash, bits, limit));
      assert.equal(hashToBigInt(hash), BigInt('0x' + Buffer.from(hash).reverse().toString('hex')));
    }),
    { numRuns: 3000 },
  );
});
