/**
 * The BIP324 packet cipher ("Overall packet encryption and decryption pseudocode"), for one
 * connection after the key exchange: a packet is
 *
 *     3-byte encrypted length ‖ ChaCha20Poly1305(header byte ‖ contents, aad) ‖ 16-byte tag
 *
 * where the length counts the contents only (not the header, not the tag), the header's bit 7
 * (0x80) marks a decoy the receiver drops after authenticating it, and the AAD is empty except
 * for the first packet of each direction, which authenticates the garbage sent before it.
 * Pure: no I/O, no randomness; state is the four rekeying ciphers.
 */
import type { DecipherChaCha20Poly1305 } from 'node:crypto';
import { bip324SharedSecret } from './ellswift.js';
import { FSChaCha20, FSChaCha20Poly1305, TAG_SIZE } from './fschacha.js';
import { deriveV2Keys, type V2Keys } from './keys.js';

export const LENGTH_SIZE = 3;
export const HEADER_SIZE = 1;
/** Bytes a packet adds to its contents: length, header, tag. */
export const EXPANSION = LENGTH_SIZE + HEADER_SIZE + TAG_SIZE;
/** The header's ignore (decoy) bit. */
export const IGNORE_BIT = 0x80;
/** The largest contents the 3-byte length can carry. */
export const MAX_PACKET_CONTENTS = 0xffffff;

const EMPTY = Buffer.alloc(0);
/** Scratch for plaintext lengths (every use is synchronous). */
const lenScratch = Buffer.alloc(LENGTH_SIZE);
const HEADER_PLAIN = Buffer.of(0);
const HEADER_IGNORE = Buffer.of(IGNORE_BIT);

export interface DecryptedPacket {
  /** The header's ignore bit: a decoy, to be dropped. */
  readonly ignore: boolean;
  readonly contents: Buffer;
}

export interface HandshakeKeys {
  readonly privateKey: Uint8Array;
  readonly ellswiftOurs: Uint8Array;
  readonly ellswiftTheirs: Uint8Array;
  readonly initiating: boolean;
  /** The network magic, 4 bytes in wire order (NetworkParams.magicBytes). */
  readonly magic: Uint8Array;
}

/** The packet cipher of one connection (Core's BIP324Cipher once initialised). */
export class V2PacketCipher {
  readonly sessionId: Buffer;
  readonly sendGarbageTerminator: Buffer;
  readonly recvGarbageTerminator: Buffer;
  private readonly sendL: FSChaCha20;
  private readonly sendP: FSChaCha20Poly1305;
  private readonly recvL: FSChaCha20;
  private readonly recvP: FSChaCha20Poly1305;

  constructor(keys: V2Keys, initiating: boolean) {
    this.sessionId = keys.sessionId;
    this.sendL = new FSChaCha20(initiating ? keys.initiatorL : keys.responderL);
    this.sendP = new FSChaCha20Poly1305(initiating ? keys.initiatorP : keys.responderP);
    this.recvL = new FSChaCha20(initiating ? keys.responderL : keys.initiatorL);
    this.recvP = new FSChaCha20Poly1305(initiating ? keys.responderP : keys.initiatorP);
    this.sendGarbageTerminator = initiating ? keys.initiatorGarbageTerminator : keys.responderGarbageTerminator;
    this.recvGarbageTerminator = initiating ? keys.responderGarbageTerminator : keys.initiatorGarbageTerminator;
  }

  /** ECDH, shared secret and key derivation in one step (BIP324's v2_ecdh + initialize_v2_transport). */
  static fromHandshake(h: HandshakeKeys): V2PacketCipher {
    const secret = bip324SharedSecret(h.privateKey, h.ellswiftTheirs, h.ellswiftOurs, h.initiating);
    return new V2PacketCipher(deriveV2Keys(secret, h.magic), h.initiating);
  }

  /** One packet: encrypted length ‖ encrypted header and contents ‖ tag. Throws RangeError above 2²⁴-1 bytes of contents. */
  encrypt(contents: Uint8Array, aad: Uint8Array = EMPTY, ignore = false): Buffer {
    return this.encryptParts(ignore ? HEADER_IGNORE : HEADER_PLAIN, [contents], contents.length, aad);
  }

  /**
   * One packet whose plaintext is `first` ‖ `rest`…, where `first` starts with the header byte;
   * `contentsLength` is the plaintext length minus that byte. Lets the caller encrypt a message
   * type and a payload without joining them first.
   */
  encryptParts(first: Uint8Array, rest: readonly Uint8Array[], contentsLength: number, aad: Uint8Array = EMPTY): Buffer {
    if (contentsLength > MAX_PACKET_CONTENTS) throw new RangeError(`packet contents of ${contentsLength} bytes exceed ${MAX_PACKET_CONTENTS}`);
    const out = Buffer.allocUnsafe(EXPANSION + contentsLength);
    const len = lenScratch;
    len[0] = contentsLength & 0xff;
    len[1] = (contentsLength >>> 8) & 0xff;
    len[2] = (contentsLength >>> 16) & 0xff;
    this.sendL.crypt(len, out, 0);
    const c = this.sendP.beginEncrypt(aad, HEADER_SIZE + contentsLength);
    let at = LENGTH_SIZE;
    at += c.update(first).copy(out, at);
    for (const part of rest) if (part.length > 0) at += c.update(part).copy(out, at);
    const tail = c.final();
    at += tail.copy(out, at);
    c.getAuthTag().copy(out, at);
    return out;
  }

  /** The contents length of the next packet, from its 3 encrypted length bytes. */
  decryptLength(enc: Uint8Array): number {
    const p = this.recvL.crypt(enc.subarray(0, LENGTH_SIZE), lenScratch, 0);
    return p[0] | (p[1] << 8) | (p[2] << 16);
  }

  /** Decrypts what follows the length: header ‖ contents ‖ tag. Null when it does not authenticate. */
  decrypt(body: Uint8Array, aad: Uint8Array = EMPTY): DecryptedPacket | null {
    const plain = this.recvP.decrypt(aad, body);
    if (plain === null || plain.length < HEADER_SIZE) return null;
    return { ignore: (plain[0] & IGNORE_BIT) !== 0, contents: plain.subarray(HEADER_SIZE) };
  }

  /**
   * Streaming form of {@link decrypt} for a packet that arrives in pieces: the AEAD of the next
   * packet, whose contents are `contentsLength` bytes, with `aad`. Feed it header ‖ contents with
   * update(), then setAuthTag(tag) and final() (which throws when the packet does not authenticate).
   */
  beginDecrypt(contentsLength: number, aad: Uint8Array = EMPTY): DecipherChaCha20Poly1305 {
    return this.recvP.beginDecrypt(aad, HEADER_SIZE + contentsLength);
  }
}
