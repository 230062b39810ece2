/** ElligatorSwift beyond the BIP's vectors: the encoder, ECDH symmetry, XSwiftEC and its inverse on random inputs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  SECP256K1_P,
  SQRT_MINUS_3,
  bigIntTo32,
  bip324SharedSecret,
  bytesToBigInt,
  ellswiftDecode,
  ellswiftEcdhXonly,
  ellswiftEncode,
  fieldSqrt,
  isValidX,
  xswiftec,
  xswiftecInv,
} from '../../../src/wire/v2/ellswift.js';
import { seeded } from './helpers.js';

const P = SECP256K1_P;
const fieldElement = fc.bigInt({ min: 0n, max: P - 1n });
const privateKey = fc.nat().map((n) => seeded(`key ${n}`));
const xOnly = (priv: Uint8Array) => Buffer.from(secp256k1.getPublicKey(priv, true)).subarray(1);

test('c is a square root of -3 and itself a square; "the" square root is the square one', () => {
  assert.equal((SQRT_MINUS_3 * SQRT_MINUS_3) % P, P - 3n);
  assert.equal(fieldSqrt(P - 3n), SQRT_MINUS_3);
  assert.notEqual(fieldSqrt(SQRT_MINUS_3), null);
  assert.equal(fieldSqrt(3n), null, '3 is not a square mod p (so -3 is)');
  assert.equal(fieldSqrt(0n), 0n);
});

test('ellswiftEncode: decodes to the public key, is determined by its inputs, and changes with the entropy', () => {
  fc.assert(
    fc.property(privateKey, fc.nat(), (priv, e) => {
      const entropy = seeded(`entropy ${e}`);
      const enc = ellswiftEncode(priv, entropy);
      assert.equal(enc.length, 64);
      assert.ok(ellswiftDecode(enc).equals(xOnly(priv)));
      assert.ok(ellswiftEncode(priv, entropy).equals(enc));
      assert.ok(!ellswiftEncode(priv, seeded(`entropy ${e + 1}`)).equals(enc));
      assert.ok(bytesToBigInt(enc.subarray(0, 32)) < P && bytesToBigInt(enc.subarray(32)) < P);
    }),
    { numRuns: 25 },
  );
  assert.throws(() => ellswiftEncode(Buffer.alloc(32), seeded('e')), TypeError, 'zero key');
  assert.throws(() => ellswiftEncode(Buffer.alloc(32, 0xff), seeded('e')), TypeError, 'key ≥ n');
  assert.throws(() => ellswiftEncode(seeded('k'), Buffer.alloc(16)), TypeError, 'short entropy');
});

test('x-only ECDH and the BIP324 shared secret agree from both sides; the secret depends on who initiated', () => {
  fc.assert(
    fc.property(privateKey, privateKey, (a, b) => {
      fc.pre(!a.equals(b));
      const ea = ellswiftEncode(a, seeded('ea'));
      const eb = ellswiftEncode(b, seeded('eb'));
      assert.ok(ellswiftEcdhXonly(eb, a).equals(ellswiftEcdhXonly(ea, b)));
      const sa = bip324SharedSecret(a, eb, ea, true);
      assert.ok(sa.equals(bip324SharedSecret(b, ea, eb, false)));
      assert.ok(!sa.equals(bip324SharedSecret(a, eb, ea, false)));
    }),
    { numRuns: 10 },
  );
});

test('XSwiftEC maps every (u, t) to a valid X; XSwiftECInv results decode back; u or t ≡ 0 mod p are remapped', () => {
  fc.assert(
    fc.property(fieldElement, fieldElement, (u, t) => {
      const x = xswiftec(u, t);
      assert.ok(x >= 0n && x < P);
      assert.ok(isValidX(x));
      // The inverse is defined for u in 1..p-1 (decoding remaps u = 0 and t = 0 to 1; the encoder draws u ≠ 0 and skips t = 0).
      if (u === 0n) return;
      for (let c = 0; c < 8; c++) {
        const t2 = xswiftecInv(x, u, c);
        if (t2 !== null && t2 !== 0n) assert.equal(xswiftec(u, t2), x, `case ${c}`);
      }
    }),
    { numRuns: 40 },
  );
  assert.equal(xswiftec(0n, 5n), xswiftec(1n, 5n));
  assert.equal(xswiftec(P, 5n), xswiftec(1n, 5n));
  assert.equal(xswiftec(7n, 0n), xswiftec(7n, 1n));
  // Every 64-byte string decodes, all-ones included (both halves ≥ p).
  assert.ok(isValidX(bytesToBigInt(ellswiftDecode(Buffer.alloc(64, 0xff)))));
  assert.equal(bigIntTo32(1n).toString('hex'), '00'.repeat(31) + '01');
});
