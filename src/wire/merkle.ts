/**
 * Merkle roots as Core computes them (consensus/merkle.cpp): an odd level duplicates its last
 * hash; a level where two hashes of a pair are equal marks the tree "mutated" (CVE-2012-2459),
 * which a block must be treated as having an invalid merkle root for.
 */
import { hash as oneShot } from 'node:crypto';

export interface MerkleResult {
  /** Root in internal byte order; 32 zero bytes for an empty list (Core's uint256()). */
  readonly root: Buffer;
  readonly mutated: boolean;
}

/** Computes the merkle root of the leaves (each 32 bytes, internal byte order) and Core's `mutated` flag. */
export function computeMerkleRoot(leaves: readonly Uint8Array[]): MerkleResult {
  const n = leaves.length;
  if (n === 0) return { root: Buffer.alloc(32), mutated: false };
  if (n === 1) return { root: Buffer.from(leaves[0]), mutated: false };
  // One contiguous buffer: level i's hashes at 32-byte slots; pairs are 64-byte windows.
  const level = Buffer.allocUnsafe((n + 1) * 32);
  for (let i = 0; i < n; i++) level.set(leaves[i], i * 32);
  return reduce(level, n);
}

/** Same as {@link computeMerkleRoot} over leaves already packed back to back in one buffer (n × 32 bytes; the buffer is overwritten). */
export function computeMerkleRootPacked(packed: Buffer, n: number): MerkleResult {
  if (n === 0) return { root: Buffer.alloc(32), mutated: false };
  if (n === 1) return { root: Buffer.from(packed.subarray(0, 32)), mutated: false };
  if (packed.length < (n + (n & 1)) * 32) {
    const grown = Buffer.allocUnsafe((n + 1) * 32);
    packed.copy(grown, 0, 0, n * 32);
    packed = grown;
  }
  return reduce(packed, n);
}

function reduce(level: Buffer, n: number): MerkleResult {
  let mutated = false;
  while (n > 1) {
    for (let pos = 0; pos + 1 < n; pos += 2) {
      if (level.compare(level, (pos + 1) * 32, (pos + 2) * 32, pos * 32, (pos + 1) * 32) === 0) mutated = true;
    }
    if (n & 1) {
      level.copy(level, n * 32, (n - 1) * 32, n * 32);
      n++;
    }
    const half = n >> 1;
    for (let i = 0; i < half; i++) {
      const h = oneShot('sha256', oneShot('sha256', level.subarray(i * 64, i * 64 + 64), 'buffer'), 'buffer');
      h.copy(level, i * 32);
    }
    n = half;
  }
  return { root: Buffer.from(level.subarray(0, 32)), mutated };
}
