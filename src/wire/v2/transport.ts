/**
 * The BIP324 v2 transport of one connection as a pure state machine: bytes in, events out. No
 * sockets, no clocks, no hidden randomness (the ephemeral key, the encoding entropy and the
 * garbage are inputs). It follows Bitcoin Core's V2Transport (net.cpp) where the BIP leaves room.
 *
 * Both roles:
 * - the initiator sends its 64-byte ElligatorSwift key and its garbage at {@link V2Transport.start};
 * - the responder first watches for the 16-byte v1 prefix (network magic ‖ "version\0\0\0\0\0"):
 *   on its first byte that differs it sends its key and garbage; when all 16 match, it emits
 *   'fallback-v1' with the bytes so far and from then on hands every chunk back the same way, for
 *   the v1 framer. When bytes 4..16 match but the magic does not, it is a v1 peer of another
 *   network: 'error' ('wrong-network'), as Core.
 * - on the peer's 64th key byte: ECDH, keys, then our garbage terminator, optional decoys, our
 *   version packet (the first packet carries our garbage as AAD) and whatever messages were
 *   queued before; from then on {@link V2Transport.send} encrypts at once.
 * - the peer's garbage ends at its terminator, searched within 4095 + 16 bytes (else 'error',
 *   'no-garbage-terminator'); its first packet must authenticate that garbage; decoys (header
 *   bit 0x80) are dropped anywhere; the first other packet is the version packet, its contents
 *   ignored: 'established' with the session id; every later one is a message.
 *
 * Limits as Core: a packet's contents may be 1 + 12 + maxPayload bytes (long message type and the
 * 4,000,000-byte message limit); a larger length field is an 'error' ('oversize') before anything
 * of that packet is buffered. A packet that does not authenticate is an 'error' ('bad-packet').
 * A message whose type cannot be decoded is 'rejected' (Core drops it and keeps the connection).
 *
 * Memory: the decoder holds at most the 64-byte key, or the garbage (≤ 4111 bytes), or one
 * packet's decrypted bytes (streamed through the AEAD as they arrive, so the caller's chunks are
 * never retained); everything complete is decoded before `receive` returns. Every split of the
 * input gives the same events. After an 'error' the transport is dead and ignores input.
 *
 * Bytes of 'send' events must be written in the order they were returned: packets are numbered
 * by the ciphers when they are made.
 */
import type { DecipherChaCha20Poly1305 } from 'node:crypto';
import { COMMAND_SIZE, FRAME_HEADER_SIZE, MAX_PROTOCOL_MESSAGE_LENGTH } from '../constants.js';
import { EXPANSION, HEADER_SIZE, IGNORE_BIT, LENGTH_SIZE, MAX_PACKET_CONTENTS, V2PacketCipher } from './cipher.js';
import { ELLSWIFT_SIZE, ellswiftEncode, isValidPrivateKey } from './ellswift.js';
import { TAG_SIZE, ownCopy } from './fschacha.js';
import { GARBAGE_TERMINATOR_SIZE } from './keys.js';
import { decodeContents, messageTypeSize, writeMessageType } from './message-type.js';

/** Most garbage either side may send before its terminator. */
export const MAX_GARBAGE_SIZE = 4095;
/** Bytes a responder compares with the v1 `version` header start. */
export const V1_PREFIX_SIZE = 16;

export type V2Role = 'initiator' | 'responder';
/** What Core's getpeerinfo calls transport_protocol_type. */
export type TransportProtocolType = 'detecting' | 'v1' | 'v2';
export type V2ErrorCode = 'wrong-network' | 'no-garbage-terminator' | 'oversize' | 'bad-packet';

/** A message handed to `send` before the transport could encrypt, returned by 'fallback-v1' for the v1 framer. */
export interface UnsentMessage {
  readonly command: string;
  readonly payload: Uint8Array;
}

export type V2Event =
  /** Bytes to write to the socket, in this order. */
  | { readonly type: 'send'; readonly bytes: Buffer }
  /** The peer's version packet authenticated: v2 is up. Core shows the session id (hex) from here on. */
  | { readonly type: 'established'; readonly sessionId: Buffer }
  /** One application message. `payload` is the caller's to keep. `wireSize` counts its packet's bytes (contents + 20). */
  | { readonly type: 'message'; readonly command: string; readonly payload: Buffer; readonly wireSize: number }
  /** A packet that authenticated but whose message type is unknown or malformed: dropped, the connection stays (Core's reject_message). */
  | { readonly type: 'rejected'; readonly reason: string; readonly wireSize: number }
  /**
   * The responder saw the v1 prefix: `bytes` (the 16 prefix bytes and the rest of that chunk at
   * first, each later chunk afterwards) belong to a v1 framer, and `unsent` are messages `send`
   * had queued, to frame as v1.
   */
  | { readonly type: 'fallback-v1'; readonly bytes: Buffer; readonly unsent: readonly UnsentMessage[] }
  /** The connection must be closed; the transport is dead. */
  | { readonly type: 'error'; readonly code: V2ErrorCode; readonly message: string };

export interface V2TransportOptions {
  readonly role: V2Role;
  /** The network magic, 4 bytes in wire order (NetworkParams.magicBytes). */
  readonly magic: Uint8Array;
  /** Our ephemeral secp256k1 private key (32 bytes, 1..n-1), fresh for each connection. Copied; the copy is wiped once the keys are derived. */
  readonly privateKey: Uint8Array;
  /** 32 random bytes for the ElligatorSwift encoding of our public key (unused when `ellswift` is given). */
  readonly entropy: Uint8Array;
  /** Garbage sent after our key, 0..4095 bytes (Core: a random length and random bytes). */
  readonly garbage: Uint8Array;
  /** Our key's encoding when already computed (e.g. a test vector's); otherwise computed when first needed. */
  readonly ellswift?: Uint8Array;
  /** Contents of decoy packets sent after our garbage terminator and before our version packet. */
  readonly decoys?: readonly Uint8Array[];
  /** Our version packet's contents: empty in BIP324 (reserved for later versions; the peer ignores them). */
  readonly versionContents?: Uint8Array;
  /** Largest message payload accepted: Core's MAX_PROTOCOL_MESSAGE_LENGTH (4,000,000) by default. */
  readonly maxPayload?: number;
}

const enum Recv {
  MaybeV1,
  Key,
  Garbage,
  Length,
  Body,
  V1,
  Dead,
}

const EMPTY = Buffer.alloc(0);
const VERSION_COMMAND = Buffer.from('version\0\0\0\0\0', 'latin1');
const DECOY_HEADER = Buffer.of(IGNORE_BIT);

/** A packet waiting for the keys: its plaintext prefix (header and message type), payload and contents length. */
interface Pending {
  readonly first: Buffer;
  readonly payload: Uint8Array;
  readonly contentsLength: number;
  /** Null for a decoy. */
  readonly command: string | null;
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}

export class V2Transport {
  readonly role: V2Role;
  readonly initiating: boolean;
  /** Largest packet contents accepted: message type (up to 13 bytes) + maxPayload. */
  readonly maxContents: number;

  /** Network magic ‖ "version\0\0\0\0\0": the first 16 bytes of a v1 connection. */
  private readonly v1Prefix: Buffer;
  // Handshake inputs, released (the private key wiped) once the keys are derived.
  private privateKey: Buffer;
  private entropy: Buffer;
  private garbage: Buffer;
  private ours: Buffer | null;
  private readonly decoys: readonly Uint8Array[];
  private readonly versionContents: Uint8Array;

  private recv: Recv;
  private started = false;
  private received = 0;
  private cipher: V2PacketCipher | null = null;
  private versionReceived = false;
  private fault: { readonly code: V2ErrorCode; readonly message: string } | null = null;
  private pending: Pending[] = [];
  private pendingSize = 0;
  private decoysReceived = 0;

  // Receive buffers: the key, the garbage, the current packet.
  private keyBuf = Buffer.alloc(ELLSWIFT_SIZE);
  private keyLen = 0;
  private garb: Buffer | null = null;
  private garbLen = 0;
  private recvAad: Buffer | null = null;
  private readonly lenBuf = Buffer.alloc(LENGTH_SIZE);
  private lenLen = 0;
  private contentsLen = 0;
  private decipher: DecipherChaCha20Poly1305 | null = null;
  private plain: Buffer[] = [];
  private plainIn = 0;
  private readonly tag = Buffer.alloc(TAG_SIZE);
  private tagLen = 0;

  constructor(opts: V2TransportOptions) {
    if (opts.magic.length !== 4) throw new TypeError(`network magic must be 4 bytes, not ${opts.magic.length}`);
    if (!isValidPrivateKey(opts.privateKey)) throw new TypeError('private key must be 32 bytes in 1..n-1');
    if (opts.ellswift === undefined && opts.entropy.length !== 32) throw new TypeError(`entropy must be 32 bytes, not ${opts.entropy.length}`);
    if (opts.ellswift !== undefined && opts.ellswift.length !== ELLSWIFT_SIZE) throw new TypeError(`ellswift must be ${ELLSWIFT_SIZE} bytes`);
    if (opts.garbage.length > MAX_GARBAGE_SIZE) throw new TypeError(`garbage must be at most ${MAX_GARBAGE_SIZE} bytes, not ${opts.garbage.length}`);
    const maxPayload = opts.maxPayload ?? MAX_PROTOCOL_MESSAGE_LENGTH;
    this.maxContents = Math.min(MAX_PACKET_CONTENTS, 1 + COMMAND_SIZE + maxPayload);
    this.role = opts.role;
    this.initiating = opts.role === 'initiator';
    this.v1Prefix = Buffer.alloc(V1_PREFIX_SIZE);
    this.v1Prefix.set(opts.magic);
    this.v1Prefix.set(VERSION_COMMAND, 4);
    this.privateKey = ownCopy(opts.privateKey);
    this.entropy = ownCopy(opts.entropy);
    this.garbage = ownCopy(opts.garbage);
    this.ours = opts.ellswift === undefined ? null : ownCopy(opts.ellswift);
    this.decoys = opts.decoys ?? [];
    this.versionContents = opts.versionContents ?? EMPTY;
    this.recv = this.initiating ? Recv.Key : Recv.MaybeV1;
  }

  /** The initiator's first bytes (key ‖ garbage); nothing for a responder, which waits for the peer. Idempotent. */
  start(out: V2Event[] = []): V2Event[] {
    if (this.initiating && !this.started) this.sendKey(out);
    return out;
  }

  /** Feeds received bytes. The chunk is not retained. Returns `out` with the resulting events appended. */
  receive(data: Uint8Array, out: V2Event[] = []): V2Event[] {
    if (this.recv === Recv.Dead || data.length === 0) return out;
    const chunk = asBuffer(data);
    if (this.recv === Recv.V1) {
      out.push({ type: 'fallback-v1', bytes: chunk, unsent: [] });
      return out;
    }
    this.start(out);
    this.received += chunk.length;
    let pos = 0;
    while (pos < chunk.length) {
      switch (this.recv) {
        case Recv.MaybeV1:
          pos = this.onMaybeV1(chunk, pos, out);
          break;
        case Recv.Key:
          pos = this.onKey(chunk, pos, out);
          break;
        case Recv.Garbage:
          pos = this.onGarbage(chunk, pos, out);
          break;
        case Recv.Length:
          pos = this.onLength(chunk, pos, out);
          break;
        case Recv.Body:
          pos = this.onBody(chunk, pos, out);
          break;
        default:
          // V1 (the fallback took the rest of the chunk) or Dead (an error ended it).
          return out;
      }
    }
    return out;
  }

  /**
   * Sends one message: a 'send' event now, or nothing while the keys are not there yet (it goes
   * out, in order, with our version packet). The payload is referenced until then, not copied.
   * Throws TypeError on an invalid command or after 'fallback-v1' (use the v1 framer), RangeError
   * when the packet would exceed 2²⁴-1 bytes of contents. After an 'error' it does nothing.
   */
  send(command: string, payload: Uint8Array, out: V2Event[] = []): V2Event[] {
    if (this.recv === Recv.V1) throw new TypeError('the transport fell back to v1: frame messages with the v1 framer');
    const typeSize = messageTypeSize(command);
    const first = Buffer.allocUnsafe(HEADER_SIZE + typeSize);
    first[0] = 0;
    writeMessageType(first, HEADER_SIZE, command);
    this.enqueue({ first, payload, contentsLength: typeSize + payload.length, command }, out);
    return out;
  }

  /** Sends a decoy packet (dropped by the peer after authenticating it), queued like {@link send} before the keys. */
  sendDecoy(contents: Uint8Array, out: V2Event[] = []): V2Event[] {
    if (this.recv === Recv.V1) throw new TypeError('the transport fell back to v1');
    this.enqueue({ first: DECOY_HEADER, payload: contents, contentsLength: contents.length, command: null }, out);
    return out;
  }

  /** Core's getpeerinfo view: 'v2' and the session id only once the peer's version packet authenticated. */
  info(): { readonly type: TransportProtocolType; readonly sessionId: string } {
    if (this.recv === Recv.V1) return { type: 'v1', sessionId: '' };
    if (this.versionReceived && this.cipher !== null) return { type: 'v2', sessionId: this.cipher.sessionId.toString('hex') };
    return { type: 'detecting', sessionId: '' };
  }

  /**
   * Core's ShouldReconnectV1: an outbound v2 attempt that ends now should be retried as v1 when
   * nothing at all was received and at least a v1 header's worth (24 bytes) of ours was written
   * (`bytesWritten`, as counted by the socket), enough for a v1 peer to have hung up on us.
   */
  shouldReconnectV1(bytesWritten: number): boolean {
    return this.initiating && this.received === 0 && bytesWritten >= FRAME_HEADER_SIZE;
  }

  /** Received bytes held (key, garbage, the current packet's decrypted part and AAD): what a receive-buffer limit applies to. */
  get bytesBuffered(): number {
    switch (this.recv) {
      case Recv.MaybeV1:
      case Recv.Key:
        return this.keyLen;
      case Recv.Garbage:
        return this.garbLen;
      case Recv.Length:
        return this.lenLen + (this.recvAad?.length ?? 0);
      case Recv.Body:
        return LENGTH_SIZE + this.plainIn + this.tagLen + (this.recvAad?.length ?? 0);
      default:
        return 0;
    }
  }

  /** Bytes of messages and decoys waiting for the keys (contents, before encryption). */
  get pendingBytes(): number {
    return this.pendingSize;
  }

  /** Decoy packets received and dropped. */
  get decoyCount(): number {
    return this.decoysReceived;
  }

  /** The error that ended the transport, or null. */
  get error(): { readonly code: V2ErrorCode; readonly message: string } | null {
    return this.fault;
  }

  get dead(): boolean {
    return this.recv === Recv.Dead;
  }

  /** Whether we can encrypt (the peer's key has arrived): `send` emits at once from here on. */
  get ready(): boolean {
    return this.cipher !== null;
  }

  // --- sending ---------------------------------------------------------------------------------

  private ourKey(): Buffer {
    if (this.ours === null) {
      this.ours = ownCopy(ellswiftEncode(this.privateKey, this.entropy));
      this.entropy = EMPTY;
    }
    return this.ours;
  }

  private sendKey(out: V2Event[]): void {
    this.started = true;
    out.push({ type: 'send', bytes: Buffer.concat([this.ourKey(), this.garbage]) });
  }

  private enqueue(p: Pending, out: V2Event[]): void {
    if (p.contentsLength > MAX_PACKET_CONTENTS) throw new RangeError(`packet contents of ${p.contentsLength} bytes exceed ${MAX_PACKET_CONTENTS}`);
    if (this.recv === Recv.Dead) return;
    if (this.cipher === null) {
      this.pending.push(p);
      this.pendingSize += p.contentsLength;
      return;
    }
    out.push({ type: 'send', bytes: this.cipher.encryptParts(p.first, [p.payload], p.contentsLength) });
  }

  /** The peer's key is complete: derive the keys and send terminator, decoys, version packet and what was queued. */
  private completeKey(out: V2Event[]): void {
    const cipher = V2PacketCipher.fromHandshake({
      privateKey: this.privateKey,
      ellswiftOurs: this.ourKey(),
      ellswiftTheirs: this.keyBuf,
      initiating: this.initiating,
      magic: this.v1Prefix.subarray(0, 4),
    });
    this.cipher = cipher;
    this.privateKey.fill(0);
    this.privateKey = EMPTY;
    this.entropy = EMPTY;
    this.ours = EMPTY;
    this.keyBuf = EMPTY;
    this.recv = Recv.Garbage;
    this.garb = Buffer.alloc(MAX_GARBAGE_SIZE + GARBAGE_TERMINATOR_SIZE);
    this.garbLen = 0;
    const parts: Buffer[] = [cipher.sendGarbageTerminator];
    let aad: Buffer = this.garbage;
    for (const d of this.decoys) {
      parts.push(cipher.encrypt(d, aad, true));
      aad = EMPTY;
    }
    parts.push(cipher.encrypt(this.versionContents, aad, false));
    this.garbage = EMPTY;
    for (const p of this.pending) parts.push(cipher.encryptParts(p.first, [p.payload], p.contentsLength));
    this.pending = [];
    this.pendingSize = 0;
    out.push({ type: 'send', bytes: Buffer.concat(parts) });
  }

  // --- receiving -------------------------------------------------------------------------------

  private fail(code: V2ErrorCode, message: string, out: V2Event[]): number {
    this.fault = { code, message };
    this.recv = Recv.Dead;
    this.garb = null;
    this.recvAad = null;
    this.decipher = null;
    this.plain = [];
    this.pending = [];
    this.pendingSize = 0;
    out.push({ type: 'error', code, message });
    return Number.MAX_SAFE_INTEGER;
  }

  private onMaybeV1(chunk: Buffer, pos: number, out: V2Event[]): number {
    while (pos < chunk.length) {
      const b = chunk[pos++];
      const matches = b === this.v1Prefix[this.keyLen];
      this.keyBuf[this.keyLen++] = b;
      if (!matches) {
        this.recv = Recv.Key;
        this.sendKey(out);
        return this.keyAdded(out) ? pos : chunk.length;
      }
      if (this.keyLen === V1_PREFIX_SIZE) {
        this.recv = Recv.V1;
        const unsent: UnsentMessage[] = this.pending.flatMap((p) => (p.command === null ? [] : [{ command: p.command, payload: p.payload }]));
        this.pending = [];
        this.pendingSize = 0;
        out.push({ type: 'fallback-v1', bytes: Buffer.concat([this.keyBuf.subarray(0, V1_PREFIX_SIZE), chunk.subarray(pos)]), unsent });
        return chunk.length;
      }
    }
    return pos;
  }

  private onKey(chunk: Buffer, pos: number, out: V2Event[]): number {
    const n = Math.min(ELLSWIFT_SIZE - this.keyLen, chunk.length - pos);
    chunk.copy(this.keyBuf, this.keyLen, pos, pos + n);
    this.keyLen += n;
    return this.keyAdded(out) ? pos + n : chunk.length;
  }

  /** After key bytes arrived: the responder's wrong-network check, and the key exchange at 64 bytes. False when the transport died. */
  private keyAdded(out: V2Event[]): boolean {
    if (!this.initiating && this.keyLen >= V1_PREFIX_SIZE && this.keyBuf.compare(VERSION_COMMAND, 0, VERSION_COMMAND.length, 4, V1_PREFIX_SIZE) === 0) {
      // Bytes 0..4 differ from our magic (else we would have fallen back to v1).
      this.fail('wrong-network', `a v1 version message with magic ${this.keyBuf.toString('hex', 0, 4)}, not ${this.v1Prefix.toString('hex', 0, 4)}: a peer of another network`, out);
      return false;
    }
    if (this.keyLen === ELLSWIFT_SIZE) this.completeKey(out);
    return true;
  }

  private onGarbage(chunk: Buffer, pos: number, out: V2Event[]): number {
    const garb = this.garb!;
    const cap = MAX_GARBAGE_SIZE + GARBAGE_TERMINATOR_SIZE;
    const n = Math.min(cap - this.garbLen, chunk.length - pos);
    chunk.copy(garb, this.garbLen, pos, pos + n);
    const before = this.garbLen;
    this.garbLen += n;
    const term = this.cipher!.recvGarbageTerminator;
    // Every earlier end position was searched already: only terminators ending in the new bytes are new.
    const at = garb.subarray(0, this.garbLen).indexOf(term, Math.max(0, before - GARBAGE_TERMINATOR_SIZE + 1));
    if (at >= 0) {
      const end = at + GARBAGE_TERMINATOR_SIZE;
      this.recvAad = ownCopy(garb.subarray(0, at));
      this.garb = null;
      this.garbLen = 0;
      this.recv = Recv.Length;
      return pos + (end - before);
    }
    if (this.garbLen === cap) return this.fail('no-garbage-terminator', `no garbage terminator within ${MAX_GARBAGE_SIZE} bytes of garbage`, out);
    return pos + n;
  }

  private onLength(chunk: Buffer, pos: number, out: V2Event[]): number {
    const n = Math.min(LENGTH_SIZE - this.lenLen, chunk.length - pos);
    chunk.copy(this.lenBuf, this.lenLen, pos, pos + n);
    this.lenLen += n;
    pos += n;
    if (this.lenLen < LENGTH_SIZE) return pos;
    this.lenLen = 0;
    const len = this.cipher!.decryptLength(this.lenBuf);
    if (len > this.maxContents) return this.fail('oversize', `packet of ${len} bytes of contents, more than ${this.maxContents}`, out);
    this.contentsLen = len;
    this.decipher = this.cipher!.beginDecrypt(len, this.recvAad ?? EMPTY);
    this.plain = [];
    this.plainIn = 0;
    this.tagLen = 0;
    this.recv = Recv.Body;
    return pos;
  }

  private onBody(chunk: Buffer, pos: number, out: V2Event[]): number {
    const d = this.decipher!;
    const sealed = HEADER_SIZE + this.contentsLen;
    if (this.plainIn < sealed) {
      const n = Math.min(sealed - this.plainIn, chunk.length - pos);
      this.plain.push(d.update(chunk.subarray(pos, pos + n)));
      this.plainIn += n;
      pos += n;
    }
    if (this.plainIn === sealed && pos < chunk.length) {
      const n = Math.min(TAG_SIZE - this.tagLen, chunk.length - pos);
      chunk.copy(this.tag, this.tagLen, pos, pos + n);
      this.tagLen += n;
      pos += n;
    }
    if (this.tagLen < TAG_SIZE) return pos;
    d.setAuthTag(this.tag);
    try {
      const rest = d.final(); // empty for a stream cipher; kept should OpenSSL ever hold bytes back
      if (rest.length > 0) this.plain.push(rest);
    } catch {
      return this.fail('bad-packet', `a packet of ${this.contentsLen} bytes of contents does not authenticate${this.recvAad !== null ? ' (the first after the garbage)' : ''}`, out);
    }
    const plaintext = this.plain.length === 1 ? this.plain[0] : Buffer.concat(this.plain);
    this.decipher = null;
    this.plain = [];
    this.plainIn = 0;
    this.tagLen = 0;
    this.recvAad = null;
    this.recv = Recv.Length;
    this.onPacket(plaintext, out);
    return pos;
  }

  private onPacket(plaintext: Buffer, out: V2Event[]): void {
    if ((plaintext[0] & IGNORE_BIT) !== 0) {
      this.decoysReceived++;
      return;
    }
    if (!this.versionReceived) {
      // The version packet: contents reserved for future versions, ignored.
      this.versionReceived = true;
      out.push({ type: 'established', sessionId: this.cipher!.sessionId });
      return;
    }
    const wireSize = plaintext.length - HEADER_SIZE + EXPANSION;
    const m = decodeContents(plaintext.subarray(HEADER_SIZE));
    if (m.ok) out.push({ type: 'message', command: m.command, payload: m.payload, wireSize });
    else out.push({ type: 'rejected', reason: m.reason, wireSize });
  }
}
