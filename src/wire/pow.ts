/**
 * Proof of work as Bitcoin Core computes it (pow.cpp, arith_uint256.cpp): compact "bits" and
 * 256-bit targets, the proof check, chain work per block, and difficulty retargeting as pure
 * functions over a minimal header interface. 256-bit wrap-around is reproduced where Core's
 * arith_uint256 would wrap.
 */

const U256 = (1n << 256n) - 1n;

export interface CompactTarget {
  readonly target: bigint;
  /** The sign bit was set on a non-zero mantissa. */
  readonly negative: boolean;
  /** The value does not fit in 256 bits. */
  readonly overflow: boolean;
}

/** Core's arith_uint256::SetCompact. */
export function compactToTarget(bits: number): CompactTarget {
  bits >>>= 0;
  const size = bits >>> 24;
  let word = bits & 0x007fffff;
  let target: bigint;
  if (size <= 3) {
    word >>>= 8 * (3 - size);
    target = BigInt(word);
  } else {
    target = (BigInt(word) << BigInt(8 * (size - 3))) & U256;
  }
  const negative = word !== 0 && (bits & 0x00800000) !== 0;
  const overflow = word !== 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
  return { target, negative, overflow };
}

/** Core's arith_uint256::GetCompact (targets are taken modulo 2^256 like arith_uint256). */
export function targetToCompact(target: bigint, negative = false): number {
  target &= U256;
  let size = byteLength(target);
  let compact: number;
  if (size <= 3) compact = Number(target) * 2 ** (8 * (3 - size));
  else compact = Number(target >> BigInt(8 * (size - 3)));
  // The 0x00800000 bit is the sign: if set, divide the mantissa by 256 and bump the exponent.
  if (compact & 0x00800000) {
    compact >>>= 8;
    size++;
  }
  compact = (compact | (size << 24)) >>> 0;
  if (negative && (compact & 0x007fffff) !== 0) compact = (compact | 0x00800000) >>> 0;
  return compact;
}

function byteLength(v: bigint): number {
  if (v === 0n) return 0;
  return Math.ceil(v.toString(16).length / 2);
}

/** A 32-byte hash in internal byte order (as on the wire) as the number Core compares with targets. */
export function hashToBigInt(hash: Uint8Array): bigint {
  if (hash.length !== 32) return hash.length === 0 ? 0n : BigInt('0x' + Buffer.from(hash).reverse().toString('hex'));
  const v = new DataView(hash.buffer, hash.byteOffset, 32);
  return (v.getBigUint64(24, true) << 192n) | (v.getBigUint64(16, true) << 128n) | (v.getBigUint64(8, true) << 64n) | v.getBigUint64(0, true);
}

/** A 256-bit value as 32 bytes in internal (little-endian) byte order, like a hash. */
function targetBytes(target: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let t = target;
  for (let i = 0; i < 32 && t > 0n; i++) {
    out[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  return out;
}

/**
 * The last bits/limit pair checked and its target as bytes (null: bits out of range). Headers
 * nearly always share their bits with the one before, so the check is a byte comparison.
 */
let powBits = -1;
let powLimitSeen = -1n;
let powTarget: Uint8Array | null = null;

/** Core's CheckProofOfWork: bits in range (not negative, zero, overflowing or above the limit) and hash ≤ target. */
export function checkProofOfWork(hash: Uint8Array, bits: number, powLimit: bigint): boolean {
  if (bits !== powBits || powLimit !== powLimitSeen) {
    const { target, negative, overflow } = compactToTarget(bits);
    powTarget = negative || overflow || target === 0n || target > powLimit ? null : targetBytes(target);
    powBits = bits;
    powLimitSeen = powLimit;
  }
  const t = powTarget;
  if (t === null) return false;
  if (hash.length !== 32) return hashToBigInt(hash) <= hashToBigInt(t);
  // Most significant byte last (internal order): the first difference from the top decides.
  for (let i = 31; i >= 0; i--) {
    const a = hash[i];
    const b = t[i];
    if (a !== b) return a < b;
  }
  return true;
}

/** The last bits given to blockProof and its result (consecutive headers nearly always share bits). */
let proofBits = -1;
let proofValue = 0n;

/** Core's GetBlockProof: the expected number of hashes for a block at these bits, 2^256 / (target + 1); 0 for invalid bits. */
export function blockProof(bits: number): bigint {
  if (bits === proofBits) return proofValue;
  const { target, negative, overflow } = compactToTarget(bits);
  const proof = negative || overflow || target === 0n ? 0n : (U256 ^ target) / (target + 1n) + 1n;
  proofBits = bits;
  proofValue = proof;
  return proof;
}

/** targetToCompact(powLimit) of the last limit asked for. */
let limitSeen = -1n;
let limitCompact = 0;

function limitBitsOf(powLimit: bigint): number {
  if (powLimit !== limitSeen) {
    limitCompact = targetToCompact(powLimit);
    limitSeen = powLimit;
  }
  return limitCompact;
}

/** The consensus parameters the retarget rules read (a subset of NetworkParams). */
export interface PowParams {
  readonly powLimit: bigint;
  /** Seconds between blocks (600). */
  readonly powTargetSpacing: number;
  /** Seconds per retarget period (two weeks on the public networks). */
  readonly powTargetTimespan: number;
  readonly allowMinDifficultyBlocks: boolean;
  readonly noRetargeting: boolean;
  /** BIP94 (testnet4): retarget from the bits of the period's first block. */
  readonly enforceBIP94: boolean;
}

/** What the retarget rules need of a header in the chain. */
export interface PowHeader {
  readonly height: number;
  /** Block timestamp, seconds. */
  readonly time: number;
  readonly bits: number;
}

/** Returns the ancestor of the chain tip being extended at the given height, if known. */
export type AncestorLookup = (height: number) => PowHeader | undefined;

export function difficultyAdjustmentInterval(p: Pick<PowParams, 'powTargetSpacing' | 'powTargetTimespan'>): number {
  return Math.trunc(p.powTargetTimespan / p.powTargetSpacing);
}

function ancestorAt(ancestor: AncestorLookup | undefined, height: number): PowHeader {
  const h = ancestor?.(height);
  // Core asserts here: a caller that cannot supply ancestors has a bug, not a bad peer.
  if (!h) throw new Error(`pow: ancestor at height ${height} is not available`);
  return h;
}

/**
 * Core's CalculateNextWorkRequired: the new bits at a retarget boundary, from the last
 * header of the period and the time of its first. Timespan clamped to [¼, 4×] of the target;
 * result capped at the PoW limit. Under BIP94 the base target is the first block's bits,
 * which needs `ancestor`.
 */
export function calculateNextWorkRequired(last: PowHeader, firstBlockTime: number, params: PowParams, ancestor?: AncestorLookup): number {
  if (params.noRetargeting) return last.bits;
  let actual = last.time - firstBlockTime;
  const span = params.powTargetTimespan;
  if (actual < Math.trunc(span / 4)) actual = Math.trunc(span / 4);
  if (actual > span * 4) actual = span * 4;
  let baseBits = last.bits;
  if (params.enforceBIP94) {
    baseBits = ancestorAt(ancestor, last.height - (difficultyAdjustmentInterval(params) - 1)).bits;
  }
  let target = compactToTarget(baseBits).target;
  target = (target * BigInt(actual)) & U256;
  target /= BigInt(span);
  if (target > params.powLimit) target = params.powLimit;
  return targetToCompact(target);
}

/**
 * Core's GetNextWorkRequired: the bits the block after `last` must carry, given that block's
 * timestamp. Between boundaries the bits stay; on networks with min-difficulty blocks a block
 * more than twice the spacing after its parent may use the limit, otherwise the walk-back
 * returns the last bits that were not a min-difficulty exception.
 */
export function getNextWorkRequired(last: PowHeader, newBlockTime: number, params: PowParams, ancestor: AncestorLookup): number {
  const limitBits = limitBitsOf(params.powLimit);
  const interval = difficultyAdjustmentInterval(params);
  if ((last.height + 1) % interval !== 0) {
    if (params.allowMinDifficultyBlocks) {
      if (newBlockTime > last.time + params.powTargetSpacing * 2) return limitBits;
      let h = last;
      while (h.height > 0 && h.height % interval !== 0 && h.bits === limitBits) h = ancestorAt(ancestor, h.height - 1);
      return h.bits;
    }
    return last.bits;
  }
  const first = ancestorAt(ancestor, last.height - (interval - 1));
  return calculateNextWorkRequired(last, first.time, params, ancestor);
}

/**
 * Core's PermittedDifficultyTransition: whether `newBits` at `height` is within what the
 * retarget rules could produce from `oldBits` (used to sanity-check headers during sync).
 */
export function permittedDifficultyTransition(params: PowParams, height: number, oldBits: number, newBits: number): boolean {
  if (params.allowMinDifficultyBlocks) return true;
  if (height % difficultyAdjustmentInterval(params) === 0) {
    const span = BigInt(params.powTargetTimespan);
    const smallest = span / 4n;
    const largest = span * 4n;
    const oldTarget = compactToTarget(oldBits).target;
    let largestTarget = ((oldTarget * largest) & U256) / span;
    if (largestTarget > params.powLimit) largestTarget = params.powLimit;
    const maxNew = compactToTarget(targetToCompact(largestTarget)).target;
    const newTarget = compactToTarget(newBits).target;
    if (newTarget > maxNew) return false;
    let smallestTarget = ((oldTarget * smallest) & U256) / span;
    if (smallestTarget > params.powLimit) smallestTarget = params.powLimit;
    const minNew = compactToTarget(targetToCompact(smallestTarget)).target;
    if (newTarget < minNew) return false;
  } else if (oldBits !== newBits) {
    return false;
  }
  return true;
}
