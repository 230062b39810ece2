/**
 * BIP324's rekeying wrappers ("Rekeying wrappers: FSChaCha20Poly1305 and FSChaCha20") over
 * `node:crypto`'s 'chacha20' and 'chacha20-poly1305' (RFC 8439). Each instance serves one
 * direction of one connection, only encrypting or only decrypting.
 *
 * - {@link FSChaCha20} encrypts the 3-byte packet lengths: one keystream per key, each chunk takes
 *   the next bytes; after 224 chunks the next 32 keystream bytes become the key, the block
 *   counter restarts at 0 and the nonce (4 zero bytes ‖ rekey count as u64 LE) moves on.
 * - {@link FSChaCha20Poly1305} encrypts packet contents: message i of the current key uses the
 *   nonce (i as u32 LE) ‖ (rekey count as u64 LE); after 224 messages the new key is the first 32
 *   bytes of the AEAD encryption of 32 zero bytes under nonce ffffffff ‖ (rekey count as u64 LE),
 *   which is ChaCha20 keystream block 1 of that nonce (block 0 keys Poly1305).
 */
import { createCipheriv, createDecipheriv, type CipherChaCha20Poly1305, type DecipherChaCha20Poly1305 } from 'node:crypto';

/** Messages (or length chunks) per key. */
export const REKEY_INTERVAL = 224;
/** The Poly1305 tag. */
export const TAG_SIZE = 16;

const BLOCK = 64;
/**
 * Keystream blocks generated at a time: 3 blocks = 64 length chunks. A key lasts 224 chunks and
 * 32 bytes (11 blocks), so one call to OpenSSL per 64 packets, and 192 bytes held per direction.
 */
const REFILL_BLOCKS = 3;
const EMPTY = Buffer.alloc(0);
let zeros = Buffer.alloc(REFILL_BLOCKS * BLOCK);
/** Scratch for nonces and IVs: every use is synchronous and OpenSSL copies them. */
const scratchNonce = Buffer.alloc(12);
const scratchIv = Buffer.alloc(16);

function zeroBytes(n: number): Buffer {
  if (zeros.length < n) zeros = Buffer.alloc(n);
  return zeros.subarray(0, n);
}

/**
 * A copy of `b` in its own exact-size memory. Long-lived small buffers are made this way, not
 * with Buffer.from (whose copies of less than 4 KiB share Node's 8 KiB pool slabs, so a few
 * bytes kept per connection could pin a slab each).
 */
export function ownCopy(b: Uint8Array): Buffer {
  const c = Buffer.alloc(b.length);
  c.set(b);
  return c;
}

function checkKey(key: Uint8Array): Buffer {
  if (key.length !== 32) throw new TypeError(`key must be 32 bytes, not ${key.length}`);
  return ownCopy(key); // the caller's buffer is neither kept alive nor changed
}

/** Writes n as a u64 LE at `at` (n < 2⁵³). */
function writeU64LE(buf: Buffer, n: number, at: number): void {
  buf.writeUInt32LE(n % 0x1_0000_0000, at);
  buf.writeUInt32LE(Math.floor(n / 0x1_0000_0000), at + 4);
}

/** ChaCha20 (RFC 8439) keystream: `n` bytes from block `counter` of (key, nonce). */
function chacha20Keystream(key: Buffer, nonce12: Buffer, counter: number, n: number): Buffer {
  const iv = scratchIv; // OpenSSL's ChaCha20 IV: u32 LE block counter ‖ 96-bit nonce
  iv.writeUInt32LE(counter >>> 0, 0);
  nonce12.copy(iv, 4);
  return createCipheriv('chacha20', key, iv).update(zeroBytes(n));
}

/** The length cipher. `crypt` both encrypts and decrypts. */
export class FSChaCha20 {
  private key: Buffer;
  private rekeys = 0;
  private chunks = 0;
  private block = 0;
  private ks: Buffer = EMPTY;
  private ksPos = 0;

  constructor(key: Uint8Array) {
    this.key = checkKey(key);
  }

  /** XORs `input` with the next keystream bytes into `out` at `at` (a new buffer by default); one chunk. */
  crypt(input: Uint8Array, out: Buffer = Buffer.allocUnsafe(input.length), at = 0): Buffer {
    const ks = this.keystream(input.length);
    for (let i = 0; i < input.length; i++) out[at + i] = input[i] ^ ks[i];
    if (++this.chunks === REKEY_INTERVAL) {
      this.key = ownCopy(this.keystream(32));
      this.rekeys++;
      this.chunks = 0;
      this.block = 0;
      // As Core: what is left of the old key's keystream is dropped (nothing, with 3-byte chunks).
      this.ks = EMPTY;
      this.ksPos = 0;
    }
    return out;
  }

  /** The next n keystream bytes (a view, valid until the next call). */
  private keystream(n: number): Buffer {
    const avail = this.ks.length - this.ksPos;
    if (avail < n) {
      const blocks = Math.max(REFILL_BLOCKS, Math.ceil((n - avail) / BLOCK));
      const nonce = scratchNonce;
      nonce.writeUInt32LE(0, 0);
      writeU64LE(nonce, this.rekeys, 4);
      const fresh = chacha20Keystream(this.key, nonce, this.block, blocks * BLOCK);
      this.block += blocks;
      if (avail === 0) {
        this.ks = fresh;
      } else {
        const ks = Buffer.alloc(avail + fresh.length);
        this.ks.copy(ks, 0, this.ksPos);
        fresh.copy(ks, avail);
        this.ks = ks;
      }
      this.ksPos = 0;
    }
    const out = this.ks.subarray(this.ksPos, this.ksPos + n);
    this.ksPos += n;
    return out;
  }
}

/** The contents AEAD. One message per packet; the nonce and key move on by themselves. */
export class FSChaCha20Poly1305 {
  private key: Buffer;
  private packets = 0;
  private rekeys = 0;

  constructor(key: Uint8Array) {
    this.key = checkKey(key);
  }

  /** Messages processed so far (all keys). */
  get messageCount(): number {
    return this.rekeys * REKEY_INTERVAL + this.packets;
  }

  /** Starts encrypting the next message (`plaintextLength` bytes) with `aad` (may be empty); feed it with update(), then final() and getAuthTag(). */
  beginEncrypt(aad: Uint8Array, plaintextLength: number): CipherChaCha20Poly1305 {
    const c = createCipheriv('chacha20-poly1305', this.key, this.nextNonce(), { authTagLength: TAG_SIZE });
    if (aad.length > 0) c.setAAD(aad, { plaintextLength });
    this.advance();
    return c;
  }

  /** Starts decrypting the next message (`plaintextLength` bytes without the tag) with `aad`; feed it with update(), then setAuthTag() and final() (which throws when the tag is wrong). */
  beginDecrypt(aad: Uint8Array, plaintextLength: number): DecipherChaCha20Poly1305 {
    const d = createDecipheriv('chacha20-poly1305', this.key, this.nextNonce(), { authTagLength: TAG_SIZE });
    if (aad.length > 0) d.setAAD(aad, { plaintextLength });
    this.advance();
    return d;
  }

  /** ciphertext ‖ tag of `plaintext` as the next message. */
  encrypt(aad: Uint8Array, plaintext: Uint8Array): Buffer {
    const c = this.beginEncrypt(aad, plaintext.length);
    const body = c.update(plaintext);
    const rest = c.final();
    return Buffer.concat([body, rest, c.getAuthTag()]);
  }

  /** The plaintext of the next message (ciphertext ‖ tag), or null when it does not authenticate. The cipher moves on either way. */
  decrypt(aad: Uint8Array, sealed: Uint8Array): Buffer | null {
    if (sealed.length < TAG_SIZE) {
      this.advance();
      return null;
    }
    const n = sealed.length - TAG_SIZE;
    const d = this.beginDecrypt(aad, n);
    const plain = d.update(sealed.subarray(0, n));
    d.setAuthTag(sealed.subarray(n));
    let rest: Buffer;
    try {
      rest = d.final();
    } catch {
      return null;
    }
    return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
  }

  private nextNonce(): Buffer {
    const nonce = scratchNonce;
    nonce.writeUInt32LE(this.packets, 0);
    writeU64LE(nonce, this.rekeys, 4);
    return nonce;
  }

  private advance(): void {
    if (++this.packets < REKEY_INTERVAL) return;
    const nonce = scratchNonce;
    nonce.writeUInt32LE(0xffffffff, 0);
    writeU64LE(nonce, this.rekeys, 4);
    this.key = chacha20Keystream(this.key, nonce, 1, 32);
    this.rekeys++;
    this.packets = 0;
  }
}
