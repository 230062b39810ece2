import { WireError } from './errors.js';

/** Core's MAX_SIZE: the largest CompactSize a serialised vector may declare. */
export const MAX_COMPACT_SIZE = 0x02000000;

/**
 * A cursor over a byte buffer. Reads are bounds-checked and zero-copy where possible
 * (`bytes` returns a view, not a copy). Offsets in errors are relative to `base`, so a
 * reader over a payload reports payload offsets.
 */
export class Reader {
  pos: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
    readonly base = start,
  ) {
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Offset relative to the start of the structure being read (for errors). */
  get offset(): number {
    return this.pos - this.base;
  }

  fail(code: ConstructorParameters<typeof WireError>[0], message: string, at = this.offset): never {
    throw new WireError(code, at, message);
  }

  need(n: number, what: string): void {
    if (this.end - this.pos < n) this.fail('truncated', `${what} needs ${n} bytes, ${this.end - this.pos} left`);
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  u16le(what = 'u16'): number {
    this.need(2, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return b[p] | (b[p + 1] << 8);
  }

  u16be(what = 'u16be'): number {
    this.need(2, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p] << 8) | b[p + 1];
  }

  u32le(what = 'u32'): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 0x1000000;
  }

  i32le(what = 'i32'): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
  }

  u64le(what = 'u64'): bigint {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  i64le(what = 'i64'): bigint {
    this.need(8, what);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A u64 that must fit in a double exactly (e.g. satoshi amounts, timestamps). */
  u64num(what = 'u64'): number {
    this.need(8, what);
    const lo = this.u32le(what);
    const hi = this.u32le(what);
    if (hi > 0x1fffff) this.fail('bad-value', `${what} exceeds 2^53`, this.offset - 8);
    return hi * 0x100000000 + lo;
  }

  /** CompactSize as Core reads it: canonical encodings only, at most `max` (MAX_SIZE by default). */
  compactSize(what = 'compact size', max = MAX_COMPACT_SIZE): number {
    const at = this.offset;
    const first = this.u8(what);
    let v: number;
    if (first < 0xfd) return checkMax(this, first, max, what, at);
    if (first === 0xfd) {
      v = this.u16le(what);
      if (v < 0xfd) this.fail('non-canonical', `${what} ${v} encoded in 3 bytes`, at);
    } else if (first === 0xfe) {
      v = this.u32le(what);
      if (v < 0x10000) this.fail('non-canonical', `${what} ${v} encoded in 5 bytes`, at);
    } else {
      const big = this.u64le(what);
      if (big < 0x100000000n) this.fail('non-canonical', `${what} ${big} encoded in 9 bytes`, at);
      this.fail('oversize', `${what} ${big} exceeds ${max}`, at);
    }
    return checkMax(this, v, max, what, at);
  }

  /** A view of the next n bytes (no copy). */
  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  skip(n: number, what = 'bytes'): void {
    this.need(n, what);
    this.pos += n;
  }

  /** A length-prefixed byte string, at most `max` bytes, as a view. */
  varBytes(what: string, max = MAX_COMPACT_SIZE): Buffer {
    const n = this.compactSize(what, max);
    return this.bytes(n, what);
  }

  /** A length-prefixed string (Core reads these as raw bytes; we decode as latin1 so every byte survives). */
  varString(what: string, max: number): string {
    return this.varBytes(what, max).toString('latin1');
  }

  /** 32 bytes in internal (wire) byte order, copied so the value outlives the buffer. */
  hash(what = 'hash'): Buffer {
    return Buffer.from(this.bytes(32, what));
  }

  bool(what = 'bool'): boolean {
    return this.u8(what) !== 0;
  }

  /** Throws unless every byte was consumed. */
  expectEnd(what: string): void {
    if (this.pos !== this.end) this.fail('trailing-bytes', `${this.end - this.pos} unexpected bytes after ${what}`);
  }
}

function checkMax(r: Reader, v: number, max: number, what: string, at: number): number {
  if (v > max) r.fail('oversize', `${what} ${v} exceeds ${max}`, at);
  return v;
}

/** An append-only byte writer that grows its buffer geometrically. */
export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16le(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
    return this;
  }

  u16be(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  u32le(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  i32le(v: number): this {
    this.ensure(4);
    this.buf.writeInt32LE(v | 0, this.pos);
    this.pos += 4;
    return this;
  }

  u64le(v: bigint | number): this {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }

  i64le(v: bigint | number): this {
    this.ensure(8);
    this.buf.writeBigInt64LE(BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }

  compactSize(n: number): this {
    if (n < 0xfd) return this.u8(n);
    if (n <= 0xffff) return this.u8(0xfd).u16le(n);
    if (n <= 0xffffffff) return this.u8(0xfe).u32le(n);
    return this.u8(0xff).u64le(BigInt(n));
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  varBytes(b: Uint8Array): this {
    return this.compactSize(b.length).bytes(b);
  }

  varString(s: string): this {
    return this.varBytes(Buffer.from(s, 'latin1'));
  }

  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }

  /** The bytes written so far (a view of the internal buffer). */
  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Encoded size of a CompactSize. */
export function compactSizeLength(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}
