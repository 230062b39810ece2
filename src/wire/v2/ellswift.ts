/**
 * ElligatorSwift encoding of secp256k1 X coordinates and the x-only ECDH of BIP324
 * ("Version 2 P2P Encrypted Transport Protocol", section "ElligatorSwift encoding of curve X
 * coordinates"), written from the BIP's text. Field, scalar and point arithmetic come from
 * `@noble/curves` (audited), the ECDH itself from the platform's OpenSSL (`node:crypto`) where it
 * has secp256k1; what no package has (XSwiftEC, its inverse, the encoder and the BIP324 shared
 * secret) is here.
 *
 * Every 64-byte string is a valid encoding (u ‖ t, two big-endian 32-byte integers taken mod p),
 * so decoding never fails and a peer's key needs no validation. Decoding and ECDH work on
 * bigints and are not constant time in the public inputs; the private key only enters noble's
 * point multiplication. Nothing here draws randomness: {@link ellswiftEncode} takes it as input.
 */
import { createECDH, createHash, getCurves } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';

const Fp = secp256k1.Point.Fp;
/** The field size p. */
export const SECP256K1_P: bigint = Fp.ORDER;
/** The group order n. */
export const SECP256K1_N: bigint = secp256k1.Point.Fn.ORDER;

/** c = √-3 (mod p), the root that is itself a square (BIP324). */
export const SQRT_MINUS_3 = 0xa2d2ba93507f1df233770c2a797962cc61f6d15da14ecd47d8d27ae1cd5f852n;

/** Length of an ElligatorSwift-encoded public key. */
export const ELLSWIFT_SIZE = 64;

const SQRT_EXP = (SECP256K1_P + 1n) / 4n;
const HALF = Fp.inv(2n);
/** (1 - c)/2 and (1 + c)/2, the constants of XSwiftECInv's four results. */
const C_MINUS = Fp.mul(Fp.sub(1n, SQRT_MINUS_3), HALF);
const C_PLUS = Fp.mul(Fp.add(1n, SQRT_MINUS_3), HALF);

/**
 * "The" square root of a mod p as BIP324 defines it: a^((p+1)/4) when that squares back to a
 * (the root that is itself a square), else null.
 */
export function fieldSqrt(a: bigint): bigint | null {
  const r = Fp.pow(a, SQRT_EXP);
  return Fp.sqr(r) === a ? r : null;
}

/** g(x) = x³ + 7, the curve's right-hand side. */
function curveRhs(x: bigint): bigint {
  return Fp.add(Fp.mul(Fp.sqr(x), x), 7n);
}

/** Whether x is the X coordinate of a curve point (BIP340's lift_x succeeds). */
export function isValidX(x: bigint): boolean {
  return fieldSqrt(curveRhs(Fp.create(x))) !== null;
}

/**
 * XSwiftEC(u, t): maps any pair of field elements to the X coordinate of a curve point.
 * Inputs are reduced mod p first; the result is in 0..p-1.
 */
export function xswiftec(u0: bigint, t0: bigint): bigint {
  let u = Fp.create(u0);
  let t = Fp.create(t0);
  if (u === 0n) u = 1n;
  if (t === 0n) t = 1n;
  const g = curveRhs(u);
  if (Fp.add(g, Fp.sqr(t)) === 0n) t = Fp.add(t, t);
  // Neither denominator can be zero: t ≠ 0, u ≠ 0, and X + t = 0 would need u³ + 7 + t² = 0,
  // which the doubling of t above rules out.
  const X = Fp.div(Fp.sub(g, Fp.sqr(t)), Fp.add(t, t));
  const Y = Fp.div(Fp.add(X, t), Fp.mul(SQRT_MINUS_3, u));
  const x1 = Fp.add(u, Fp.mul(Fp.sqr(Y), 4n));
  if (isValidX(x1)) return x1;
  const XoverY = Fp.div(X, Y);
  const x2 = Fp.mul(Fp.sub(Fp.neg(XoverY), u), HALF);
  if (isValidX(x2)) return x2;
  // The BIP: at least one of the three is valid, so the third is when the first two are not.
  return Fp.mul(Fp.sub(XoverY, u), HALF);
}

/**
 * XSwiftECInv(x, u, case): a t with XSwiftEC(u, t) = x, or null. `which` (0..7) selects which
 * of the up to 8 such t to return.
 */
export function xswiftecInv(x0: bigint, u0: bigint, which: number): bigint | null {
  const x = Fp.create(x0);
  const u = Fp.create(u0);
  let s: bigint;
  let v: bigint;
  if ((which & 2) === 0) {
    if (isValidX(Fp.neg(Fp.add(x, u)))) return null;
    v = x;
    const den = Fp.add(Fp.add(Fp.sqr(u), Fp.mul(u, v)), Fp.sqr(v));
    // u² + uv + v² = 0 means v = ωu for a cube root of unity ω; then -x-u = ω²u is valid
    // whenever x is, and we have returned above. Kept as a guard against misuse with invalid x.
    if (den === 0n) return null;
    s = Fp.neg(Fp.div(curveRhs(u), den));
  } else {
    s = Fp.sub(x, u);
    if (s === 0n) return null;
    const q = Fp.neg(Fp.mul(s, Fp.add(Fp.mul(curveRhs(u), 4n), Fp.mul(Fp.mul(Fp.sqr(u), s), 3n))));
    const r = fieldSqrt(q);
    if (r === null) return null;
    if ((which & 1) === 1 && r === 0n) return null;
    v = Fp.mul(Fp.sub(Fp.div(r, s), u), HALF);
  }
  const w = fieldSqrt(s);
  if (w === null) return null;
  switch (which & 5) {
    case 0:
      return Fp.neg(Fp.mul(w, Fp.add(Fp.mul(u, C_MINUS), v)));
    case 1:
      return Fp.mul(w, Fp.add(Fp.mul(u, C_PLUS), v));
    case 4:
      return Fp.mul(w, Fp.add(Fp.mul(u, C_MINUS), v));
    default:
      return Fp.neg(Fp.mul(w, Fp.add(Fp.mul(u, C_PLUS), v)));
  }
}

/** A big-endian unsigned integer. */
export function bytesToBigInt(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex'));
}

/** v as 32 big-endian bytes (v < 2²⁵⁶). */
export function bigIntTo32(v: bigint): Buffer {
  return Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
}

/** The X coordinate (32 bytes) a 64-byte ElligatorSwift encoding decodes to. Never fails. */
export function ellswiftDecode(ellswift: Uint8Array): Buffer {
  checkLength('ellswift', ellswift, ELLSWIFT_SIZE);
  return bigIntTo32(xswiftec(bytesToBigInt(ellswift.subarray(0, 32)), bytesToBigInt(ellswift.subarray(32, 64))));
}

const ENCODE_TAG = createHash('sha256').update('peerd/bip324/ellswift_encode').digest();

/**
 * An ElligatorSwift encoding (64 bytes) of the public key of `privateKey`, chosen uniformly
 * among the encodings of its X coordinate (BIP324's XElligatorSwift) with `entropy` as the only
 * source of randomness: attempt i draws u (nonzero) and the case from
 * SHA-512(SHA256("peerd/bip324/ellswift_encode") ‖ entropy ‖ privateKey ‖ i as u32 LE), as
 * libsecp256k1 mixes the secret key into its nonce so that weak entropy does not make u guessable.
 * The same inputs always give the same encoding. About 4 attempts are needed on average.
 * Throws TypeError on an invalid private key (not in 1..n-1) or entropy that is not 32 bytes.
 */
export function ellswiftEncode(privateKey: Uint8Array, entropy: Uint8Array): Buffer {
  checkPrivateKey(privateKey);
  checkLength('entropy', entropy, 32);
  const x = bytesToBigInt(secp256k1.getPublicKey(privateKey, true).subarray(1));
  const counter = Buffer.alloc(4);
  for (let i = 0; ; i++) {
    counter.writeUInt32LE(i >>> 0);
    const h = createHash('sha512').update(ENCODE_TAG).update(entropy).update(privateKey).update(counter).digest();
    const u = Fp.create(bytesToBigInt(h.subarray(0, 32)));
    if (u === 0n) continue;
    const t = xswiftecInv(x, u, h[32] & 7);
    // t = 0 would decode as t = 1; the final check also guards the whole path.
    if (t === null || t === 0n || xswiftec(u, t) !== x) continue;
    return Buffer.concat([bigIntTo32(u), bigIntTo32(t)]);
  }
}

/**
 * ellswift_ecdh_xonly: the X coordinate (32 bytes) of privateKey · P, where P is a point whose X
 * coordinate is what `ellswiftTheirs` decodes to.
 */
export function ellswiftEcdhXonly(ellswiftTheirs: Uint8Array, privateKey: Uint8Array): Buffer {
  checkPrivateKey(privateKey);
  const x = ellswiftDecode(ellswiftTheirs);
  // 02 ‖ x names the point with that X and even Y; either point gives the same X of the product.
  const point = Buffer.concat([Buffer.of(2), x]);
  if (PLATFORM_ECDH) {
    // OpenSSL's ECDH (constant time, about twice as fast as the bigint path): its secret is the X coordinate.
    const ecdh = createECDH('secp256k1');
    ecdh.setPrivateKey(privateKey);
    return ecdh.computeSecret(point);
  }
  const shared = secp256k1.getSharedSecret(privateKey, point, true);
  return Buffer.from(shared.subarray(1, 33));
}

/** Whether the platform's OpenSSL has secp256k1 (Node's own build does; a distribution's may not). */
const PLATFORM_ECDH = getCurves().includes('secp256k1');

/** BIP340's tagged hash: SHA256(SHA256(tag) ‖ SHA256(tag) ‖ parts…). */
export function taggedHash(tag: string, ...parts: readonly Uint8Array[]): Buffer {
  const t = createHash('sha256').update(tag, 'utf8').digest();
  const h = createHash('sha256').update(t).update(t);
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * BIP324's v2_ecdh: the 32-byte shared secret, tagged hash "bip324_ellswift_xonly_ecdh" over
 * the initiator's encoding ‖ the responder's encoding ‖ the x-only ECDH result.
 */
export function bip324SharedSecret(privateKey: Uint8Array, ellswiftTheirs: Uint8Array, ellswiftOurs: Uint8Array, initiating: boolean): Buffer {
  checkLength('ellswiftOurs', ellswiftOurs, ELLSWIFT_SIZE);
  const x = ellswiftEcdhXonly(ellswiftTheirs, privateKey);
  const [first, second] = initiating ? [ellswiftOurs, ellswiftTheirs] : [ellswiftTheirs, ellswiftOurs];
  return taggedHash('bip324_ellswift_xonly_ecdh', first, second, x);
}

/** Whether `key` is a valid secp256k1 private key: 32 bytes, 1..n-1. */
export function isValidPrivateKey(key: Uint8Array): boolean {
  return key.length === 32 && secp256k1.utils.isValidSecretKey(key);
}

function checkPrivateKey(key: Uint8Array): void {
  if (!isValidPrivateKey(key)) throw new TypeError('private key must be 32 bytes in 1..n-1');
}

function checkLength(name: string, b: Uint8Array, n: number): void {
  if (b.length !== n) throw new TypeError(`${name} must be ${n} bytes, not ${b.length}`);
}
