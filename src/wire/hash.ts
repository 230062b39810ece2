import { createHash, hash as oneShot } from 'node:crypto';

/** SHA-256 of the bytes. */
export function sha256(data: Uint8Array): Buffer {
  return oneShot('sha256', data, 'buffer');
}

/** SHA256(SHA256(data)), Bitcoin's hash256. */
export function sha256d(data: Uint8Array): Buffer {
  return oneShot('sha256', oneShot('sha256', data, 'buffer'), 'buffer');
}

/** SHA256d over several parts without concatenating them. */
export function sha256dParts(parts: readonly Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return oneShot('sha256', h.digest(), 'buffer');
}

/** First four bytes of SHA256d(payload) as a little-endian u32: the frame checksum. */
export function checksum(payload: Uint8Array): number {
  return sha256d(payload).readUInt32LE(0);
}

/** A hash in internal byte order shown as Core displays it (byte-reversed hex). */
export function toDisplayHex(hash: Uint8Array): string {
  return Buffer.from(hash).reverse().toString('hex');
}

/** A displayed (reversed) hex hash back to internal byte order. */
export function fromDisplayHex(hex: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new TypeError(`not a 32-byte hex hash: ${hex}`);
  return Buffer.from(hex, 'hex').reverse();
}
