/**
 * SipHash-2-4 (Aumasson & Bernstein) over a byte range, in 32-bit halves so it runs without
 * BigInt or allocation: the keyed hash behind the address manager's bucket placement. A peer
 * that does not know the 128-bit key cannot predict which bucket an address lands in.
 *
 * One loop runs every SipRound: two per message word (the last word carries the tail and the
 * length), then four to finish. The state stays in local variables (a typed-array state and
 * helper functions measured 4× slower).
 */

const LOW30 = 0;
const LOW32 = 1;
const HIGH32 = 2;

/** Reads 32 bits little-endian at data[p]. */
function u32le(data: Uint8Array, p: number): number {
  return (data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)) >>> 0;
}

export class SipHasher {
  private readonly k0l: number;
  private readonly k0h: number;
  private readonly k1l: number;
  private readonly k1h: number;

  /** `key` must hold at least 16 bytes; the first 16 are used (k0, k1 little-endian). */
  constructor(key: Uint8Array) {
    if (key.length < 16) throw new RangeError('SipHash key must be 16 bytes');
    this.k0l = u32le(key, 0);
    this.k0h = u32le(key, 4);
    this.k1l = u32le(key, 8);
    this.k1h = u32le(key, 12);
  }

  /**
   * The low 30 bits of SipHash-2-4 of data[off, off+len): what the address manager reduces
   * modulo a power of two (≤ 2^30), with the same result as from all 32 bits. A 30-bit value
   * is a small integer to V8; a 32-bit one returned from here would be a heap number, one
   * allocation a hash.
   */
  hash30(data: Uint8Array, off: number, len: number): number {
    return this.run(data, off, len, LOW30);
  }

  /** The low 32 bits (unsigned) of SipHash-2-4 of data[off, off+len). */
  hash32(data: Uint8Array, off: number, len: number): number {
    return this.run(data, off, len, LOW32);
  }

  /** The high 32 bits (unsigned) of the 64-bit result: for test vectors. */
  hashHigh32(data: Uint8Array, off: number, len: number): number {
    return this.run(data, off, len, HIGH32);
  }

  private run(data: Uint8Array, off: number, len: number, part: number): number {
    // "somepseudorandomlygeneratedbytes"
    let v0l = (this.k0l ^ 0x70736575) >>> 0;
    let v0h = (this.k0h ^ 0x736f6d65) >>> 0;
    let v1l = (this.k1l ^ 0x6e646f6d) >>> 0;
    let v1h = (this.k1h ^ 0x646f7261) >>> 0;
    let v2l = (this.k0l ^ 0x6e657261) >>> 0;
    let v2h = (this.k0h ^ 0x6c796765) >>> 0;
    let v3l = (this.k1l ^ 0x79746573) >>> 0;
    let v3h = (this.k1h ^ 0x74656462) >>> 0;
    const end = off + len;
    const words = (len >>> 3) + 1;
    const compression = 2 * words;
    let p = off;
    let ml = 0;
    let mh = 0;
    for (let r = 0; r < compression + 4; r++) {
      if (r < compression && (r & 1) === 0) {
        // Next message word: v3 ^= m before its two rounds.
        if (p + 8 <= end) {
          ml = u32le(data, p);
          mh = u32le(data, p + 4);
          p += 8;
        } else {
          ml = 0;
          mh = (len & 0xff) << 24;
          for (let i = 0; p + i < end; i++) {
            if (i < 4) ml |= data[p + i] << (8 * i);
            else mh |= data[p + i] << (8 * (i - 4));
          }
          ml >>>= 0;
          mh >>>= 0;
        }
        v3l = (v3l ^ ml) >>> 0;
        v3h = (v3h ^ mh) >>> 0;
      } else if (r === compression) {
        v2l = (v2l ^ 0xff) >>> 0; // finalization
      }
      let t: number;
      let l: number;
      let h: number;
      // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
      l = (v0l + v1l) >>> 0;
      v0h = (v0h + v1h + (l < v0l ? 1 : 0)) >>> 0;
      v0l = l;
      h = ((v1h << 13) | (v1l >>> 19)) >>> 0;
      l = ((v1l << 13) | (v1h >>> 19)) >>> 0;
      v1l = (l ^ v0l) >>> 0;
      v1h = (h ^ v0h) >>> 0;
      t = v0l;
      v0l = v0h;
      v0h = t;
      // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
      l = (v2l + v3l) >>> 0;
      v2h = (v2h + v3h + (l < v2l ? 1 : 0)) >>> 0;
      v2l = l;
      h = ((v3h << 16) | (v3l >>> 16)) >>> 0;
      l = ((v3l << 16) | (v3h >>> 16)) >>> 0;
      v3l = (l ^ v2l) >>> 0;
      v3h = (h ^ v2h) >>> 0;
      // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
      l = (v0l + v3l) >>> 0;
      v0h = (v0h + v3h + (l < v0l ? 1 : 0)) >>> 0;
      v0l = l;
      h = ((v3h << 21) | (v3l >>> 11)) >>> 0;
      l = ((v3l << 21) | (v3h >>> 11)) >>> 0;
      v3l = (l ^ v0l) >>> 0;
      v3h = (h ^ v0h) >>> 0;
      // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
      l = (v2l + v1l) >>> 0;
      v2h = (v2h + v1h + (l < v2l ? 1 : 0)) >>> 0;
      v2l = l;
      h = ((v1h << 17) | (v1l >>> 15)) >>> 0;
      l = ((v1l << 17) | (v1h >>> 15)) >>> 0;
      v1l = (l ^ v2l) >>> 0;
      v1h = (h ^ v2h) >>> 0;
      t = v2l;
      v2l = v2h;
      v2h = t;
      if (r < compression && (r & 1) === 1) {
        // v0 ^= m after the word's two rounds.
        v0l = (v0l ^ ml) >>> 0;
        v0h = (v0h ^ mh) >>> 0;
      }
    }
    if (part === LOW30) return (v0l ^ v1l ^ v2l ^ v3l) & 0x3fffffff;
    return part === HIGH32 ? (v0h ^ v1h ^ v2h ^ v3h) >>> 0 : (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
  }
}
