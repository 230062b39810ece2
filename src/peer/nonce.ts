import { createHmac, randomBytes } from 'node:crypto';

/**
 * Version nonces that prove themselves: the high 32 bits are a keyed MAC of the low 32 bits.
 * Any peer actor holding the node's key can tell whether an incoming `version` carries a nonce
 * this node sent (a connection to itself) without asking anyone: no shared table of nonces.
 * A stranger's random nonce matches with probability 2^-32.
 */
export function makeNonceKey(): Buffer {
  return randomBytes(32);
}

function tag(key: Uint8Array, low: number): number {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(low, 0);
  return createHmac('sha256', key).update(b).digest().readUInt32LE(0);
}

export function makeVersionNonce(key: Uint8Array, random32: number = randomBytes(4).readUInt32LE(0)): bigint {
  const low = random32 >>> 0;
  return (BigInt(tag(key, low)) << 32n) | BigInt(low);
}

export function isOwnNonce(key: Uint8Array, nonce: bigint): boolean {
  const low = Number(nonce & 0xffffffffn);
  return BigInt(tag(key, low)) === nonce >> 32n;
}

/** A random non-zero u64 for ping. */
export function pingNonce(): bigint {
  for (;;) {
    const n = randomBytes(8).readBigUInt64LE(0);
    if (n !== 0n) return n;
  }
}
