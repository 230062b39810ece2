/**
 * The v1 transport framing (protocol.h CMessageHeader, net.cpp V1Transport): a 24-byte header
 * — 4-byte network magic, 12-byte NUL-padded ASCII command, u32 LE payload length, first four
 * bytes of SHA256d(payload) — followed by the payload.
 *
 * {@link FrameDecoder} is a sans-I/O streaming decoder: `push` socket chunks of any size, then
 * call `next()` until it returns null. A frame lying wholly inside one chunk is returned as a
 * view of that chunk (no copy); a frame spanning chunks is assembled once into a buffer of
 * exactly its payload size, and only when its last byte has arrived (so a header declaring
 * 4 MB followed by one byte costs one byte, not 4 MB — Core grows its buffer in 256 KB steps
 * for the same reason).
 *
 * Errors, as Core handles them:
 * - wrong magic, declared length above the maximum: Core disconnects at once ('bad-magic',
 *   'oversize'). The decoder is dead and drops what it buffered.
 * - wrong checksum, invalid command: Core drops the message and keeps the connection
 *   (V1Transport::GetReceivedMessage sets reject_message). This decoder reports them and stops
 *   too (peerd closes on any framing error), but the fault says where the next frame starts
 *   (`resumeAt`) and {@link FrameDecoder.recover} continues after the bad frame, for callers
 *   that want Core's leniency or an offline tool that scans a damaged capture.
 * Core accepts an all-NUL (empty) command as valid; peerd rejects it as 'bad-command'.
 */
import { COMMAND_SIZE, FRAME_HEADER_SIZE, MAX_PROTOCOL_MESSAGE_LENGTH } from './constants.js';
import type { WireFault } from './errors.js';
import { sha256d } from './hash.js';


export type FrameErrorCode = 'bad-magic' | 'bad-command' | 'oversize' | 'bad-checksum';

/** One complete, checksum-verified message. */
export interface Frame {
  readonly kind: 'frame';
  readonly command: string;
  /** The payload: a view into a pushed chunk when the frame sat inside one chunk, else an exact-size copy. */
  readonly payload: Buffer;
  /** Absolute stream offset of the frame's first (magic) byte. */
  readonly offset: number;
  /** The header checksum as a little-endian u32 (first four bytes of SHA256d(payload)). */
  readonly checksum: number;
  /**
   * Set when the frame's command was one {@link FrameDecoder.discard} refused: its payload (this
   * many bytes) was skipped as it arrived, never buffered nor hashed; `payload` is empty.
   */
  readonly discarded?: number;
}

/** A framing error. The decoder stops after one (see {@link FrameDecoder.recover}). */
export interface FrameFault extends WireFault {
  readonly kind: 'error';
  readonly code: FrameErrorCode;
  /** Absolute stream offset of the start of the offending frame. */
  readonly offset: number;
  /** The command as far as it could be read (non-printable bytes escaped), null for 'bad-magic'. */
  readonly command: string | null;
  /** The declared payload length, null for 'bad-magic' (the rest of the header is not trusted). */
  readonly declaredLength: number | null;
  /** Whether the declared length is within the decoder's maximum. */
  readonly lengthSane: boolean;
  /** Stream offset just after the bad frame, when it can be skipped ('bad-checksum', 'bad-command'); else null. */
  readonly resumeAt: number | null;
}

export type FrameResult = Frame | FrameFault;

export interface FrameDecoderOptions {
  /** The network magic as a u32 read little-endian from the wire (NetworkParams.magic). */
  readonly magic: number;
  /** Largest accepted payload; Core's MAX_PROTOCOL_MESSAGE_LENGTH by default. */
  readonly maxPayload?: number;
}

/** Writes one frame: header and payload in one allocation. Throws TypeError on an invalid command (a programming error). */
export function encodeFrame(magic: number, command: string, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length);
  writeFrameHeader(out, 0, magic, command, payload);
  out.set(payload, FRAME_HEADER_SIZE);
  return out;
}

/**
 * Fills the 24 header bytes at `at` for `payload` (which the caller places right after).
 * Lets a caller that serialised the payload behind 24 reserved bytes frame it without a copy.
 */
export function writeFrameHeader(out: Buffer, at: number, magic: number, command: string, payload: Uint8Array): void {
  checkCommand(command);
  out.writeUInt32LE(magic >>> 0, at);
  out.fill(0, at + 4, at + 16);
  out.write(command, at + 4, 'latin1');
  out.writeUInt32LE(payload.length, at + 16);
  sha256d(payload).copy(out, at + 20, 0, 4);
}

function checkCommand(command: string): void {
  if (command.length === 0 || command.length > COMMAND_SIZE) throw new TypeError(`command must be 1 to ${COMMAND_SIZE} characters: ${JSON.stringify(command)}`);
  for (let i = 0; i < command.length; i++) {
    const c = command.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new TypeError(`command must be printable ASCII: ${JSON.stringify(command)}`);
  }
}

/**
 * Validates the 12 command bytes at `at` as Core's IsMessageTypeValid does (printable ASCII,
 * only NULs after the first NUL) and additionally rejects the empty command.
 * Returns the command's length, or -1 when invalid.
 */
export function commandLength(buf: Uint8Array, at: number): number {
  let n = COMMAND_SIZE;
  for (let i = 0; i < COMMAND_SIZE; i++) {
    const c = buf[at + i];
    if (c === 0) {
      n = i;
      for (let j = i + 1; j < COMMAND_SIZE; j++) if (buf[at + j] !== 0) return -1;
      break;
    }
    if (c < 0x20 || c > 0x7e) return -1;
  }
  return n === 0 ? -1 : n;
}

/** The command bytes for an error message: printable characters kept, others as \xNN, trailing NULs dropped. */
function describeCommand(buf: Uint8Array, at: number): string {
  let end = at + COMMAND_SIZE;
  while (end > at && buf[end - 1] === 0) end--;
  let s = '';
  for (let i = at; i < end; i++) {
    const c = buf[i];
    s += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}

const enum State {
  Header,
  Payload,
  Skip,
  Dead,
}

/** Commands seen on every connection, interned so decoding them allocates no string. */
const COMMON = new Map<string, string>();
for (const c of ['version', 'verack', 'ping', 'pong', 'inv', 'getdata', 'headers', 'getheaders', 'block', 'tx', 'addr', 'addrv2', 'sendcmpct', 'cmpctblock', 'feefilter', 'notfound', 'wtxidrelay', 'sendaddrv2', 'sendheaders', 'getaddr', 'getblocktxn', 'blocktxn', 'mempool', 'getblocks']) COMMON.set(c, c);

/**
 * Streaming frame decoder. Not re-entrant; one per connection.
 *
 * ```ts
 * dec.push(chunk);
 * for (let f = dec.next(); f !== null; f = dec.next()) {
 *   if (f.kind === 'error') { close(f); break; }
 *   handle(f.command, f.payload);
 * }
 * ```
 */
/** Chunks smaller than this are copied into a buffer of the decoder's own (see push). */
const COALESCE_BELOW = 4096;
const EMPTY_PAYLOAD = Buffer.alloc(0);
const COALESCE_BUFFER = 16 * 1024;

export class FrameDecoder {
  readonly magic: number;
  readonly maxPayload: number;

  /** Pushed chunks not yet consumed; `chunks[head]` is read from `pos`. */
  private chunks: Buffer[] = [];
  /** The buffer small chunks are copied into, while its view is the last chunk. */
  private own: { readonly buf: Buffer; readonly begin: number; end: number; view: Buffer } | null = null;
  private head = 0;
  private pos = 0;
  private avail = 0;
  /** Absolute stream offset of the next unconsumed byte. */
  private consumed = 0;

  private state: State = State.Header;
  private readonly hdr = Buffer.allocUnsafe(FRAME_HEADER_SIZE);
  private frameOffset = 0;
  private command = '';
  private length = 0;
  private sum = 0;
  private skipLeft = 0;
  private fault: FrameFault | null = null;

  /**
   * Asked with each frame's command once its header is read: true skips the payload as it
   * arrives (the frame comes out with `discarded` set and an empty payload, its checksum never
   * checked). A peer's gate before decode: what the handshake phase ignores is not even held.
   */
  discard: ((command: string) => boolean) | null = null;

  constructor(opts: FrameDecoderOptions) {
    this.magic = opts.magic >>> 0;
    this.maxPayload = opts.maxPayload ?? MAX_PROTOCOL_MESSAGE_LENGTH;
  }

  /** Bytes received and not yet returned as frames (what the receive-buffer limit applies to). */
  get bytesBuffered(): number {
    return this.avail;
  }

  /** Absolute stream offset of the next byte the decoder will read. */
  get streamOffset(): number {
    return this.consumed;
  }

  /** The error that stopped the decoder, or null while it is alive. */
  get error(): FrameFault | null {
    return this.fault;
  }

  get dead(): boolean {
    return this.state === State.Dead;
  }

  /**
   * Adds received bytes. The decoder keeps a reference (no copy); do not reuse the chunk's memory.
   * Ignored while the decoder is dead, so `bytesBuffered` never exceeds 24 + maxPayload after
   * draining; to continue after a recoverable error, call {@link recover} before pushing more.
   */
  push(chunk: Buffer): void {
    if (chunk.length === 0 || this.state === State.Dead) return;
    const waiting = this.avail;
    this.avail += chunk.length;
    if (chunk.length >= COALESCE_BELOW || waiting === 0) {
      this.chunks.push(chunk);
      return;
    }
    // Small chunks behind a partial frame (a peer trickling bytes) are copied together into
    // buffers of our own: a list of one-byte Buffers would cost ~15 bytes of memory per byte
    // received. A chunk that starts on a frame boundary stays zero-copy.
    const own = this.own;
    const last = this.chunks.length > this.head ? this.chunks[this.chunks.length - 1] : undefined;
    if (own !== null && last === own.view && own.buf.length - own.end >= chunk.length) {
      chunk.copy(own.buf, own.end);
      own.end += chunk.length;
      own.view = own.buf.subarray(own.begin, own.end);
      this.chunks[this.chunks.length - 1] = own.view;
      return;
    }
    const buf = Buffer.allocUnsafe(COALESCE_BUFFER);
    chunk.copy(buf, 0);
    const view = buf.subarray(0, chunk.length);
    this.own = { buf, begin: 0, end: chunk.length, view };
    this.chunks.push(view);
  }

  /** The next frame or error, or null when more bytes are needed (or the decoder is dead). */
  next(): FrameResult | null {
    for (;;) {
      switch (this.state) {
        case State.Dead:
          return null;
        case State.Skip:
          if (this.avail === 0) return null;
          this.skipBuffered();
          continue;
        case State.Header: {
          if (this.avail < FRAME_HEADER_SIZE) return null;
          const err = this.readHeader();
          if (err !== null) return err;
          continue;
        }
        case State.Payload:
          if (this.avail < this.length) return null;
          return this.readPayload();
      }
    }
  }

  /**
   * After a 'bad-checksum' or 'bad-command' error, continue with the frame that follows the bad
   * one (what Core does: it drops such a message and keeps the connection). Returns false, and
   * stays dead, after 'bad-magic' or 'oversize', which leave no trustworthy frame boundary.
   */
  recover(): boolean {
    const f = this.fault;
    if (f === null || f.resumeAt === null) return false;
    this.fault = null;
    if (f.code === 'bad-command') {
      this.skipLeft = this.length;
      this.state = this.skipLeft > 0 ? State.Skip : State.Header;
    } else {
      this.state = State.Header;
    }
    return true;
  }

  private die(code: FrameErrorCode, message: string, command: string | null, declaredLength: number | null, resumeAt: number | null): FrameFault {
    const lengthSane = declaredLength !== null && declaredLength <= this.maxPayload;
    const f: FrameFault = { kind: 'error', code, offset: this.frameOffset, message, command, declaredLength, lengthSane, resumeAt };
    this.fault = f;
    this.state = State.Dead;
    if (resumeAt === null) this.release();
    return f;
  }

  private release(): void {
    this.chunks = [];
    this.own = null;
    this.head = 0;
    this.pos = 0;
    this.avail = 0;
  }

  /** Consumes `n` bytes (n ≤ avail), copying them to `dst` at `at` unless dst is null. */
  private take(n: number, dst: Buffer | null, at: number): void {
    this.avail -= n;
    this.consumed += n;
    while (n > 0) {
      const c = this.chunks[this.head];
      const k = Math.min(n, c.length - this.pos);
      if (dst !== null) c.copy(dst, at, this.pos, this.pos + k);
      at += k;
      n -= k;
      this.pos += k;
      if (this.pos === c.length) this.dropHead();
    }
  }

  private dropHead(): void {
    this.pos = 0;
    this.head++;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  private skipBuffered(): void {
    const n = Math.min(this.skipLeft, this.avail);
    this.take(n, null, 0);
    this.skipLeft -= n;
    if (this.skipLeft === 0) this.state = State.Header;
  }

  private readHeader(): FrameResult | null {
    this.frameOffset = this.consumed;
    let buf = this.chunks[this.head];
    let at = this.pos;
    if (buf.length - at >= FRAME_HEADER_SIZE) {
      this.pos += FRAME_HEADER_SIZE;
      this.avail -= FRAME_HEADER_SIZE;
      this.consumed += FRAME_HEADER_SIZE;
      if (this.pos === buf.length) this.dropHead();
    } else {
      buf = this.hdr;
      at = 0;
      this.take(FRAME_HEADER_SIZE, buf, 0);
    }
    const magic = buf.readUInt32LE(at);
    if (magic !== this.magic) {
      return this.die('bad-magic', `magic ${hex32(magic)} is not ${hex32(this.magic)}`, null, null, null);
    }
    const length = buf.readUInt32LE(at + 16);
    const cmdLen = commandLength(buf, at + 4);
    if (length > this.maxPayload) {
      const shown = cmdLen > 0 ? buf.toString('latin1', at + 4, at + 4 + cmdLen) : describeCommand(buf, at + 4);
      return this.die('oversize', `${shown} declares ${length} payload bytes, more than ${this.maxPayload}`, shown, length, null);
    }
    this.length = length;
    if (cmdLen < 0) {
      const shown = describeCommand(buf, at + 4);
      return this.die('bad-command', `command ${JSON.stringify(shown)} is not NUL-padded printable ASCII`, shown, length, this.frameOffset + FRAME_HEADER_SIZE + length);
    }
    const raw = buf.toString('latin1', at + 4, at + 4 + cmdLen);
    this.command = COMMON.get(raw) ?? raw;
    this.sum = buf.readUInt32LE(at + 20);
    if (this.discard !== null && this.discard(this.command)) {
      this.skipLeft = length;
      this.state = length === 0 ? State.Header : State.Skip;
      return { kind: 'frame', command: this.command, payload: EMPTY_PAYLOAD, offset: this.frameOffset, checksum: this.sum, discarded: length };
    }
    this.state = State.Payload;
    return null;
  }

  private readPayload(): FrameResult {
    const n = this.length;
    let payload: Buffer;
    const c = this.chunks.length > this.head ? this.chunks[this.head] : null;
    if (c !== null && c.length - this.pos >= n) {
      payload = c.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.avail -= n;
      this.consumed += n;
      if (this.pos === c.length) this.dropHead();
    } else {
      payload = Buffer.allocUnsafe(n);
      this.take(n, payload, 0);
    }
    this.state = State.Header;
    const sum = sha256d(payload).readUInt32LE(0);
    if (sum !== this.sum) {
      return this.die('bad-checksum', `${this.command}: checksum ${hex32(this.sum)}, payload hashes to ${hex32(sum)}`, this.command, n, this.consumed);
    }
    return { kind: 'frame', command: this.command, payload, offset: this.frameOffset, checksum: sum };
  }
}

function hex32(v: number): string {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(v >>> 0);
  return b.toString('hex');
}
