/**
 * A column of short byte strings (at most 32 bytes), one per entry id, for the address manager's
 * struct of arrays. Up to 4 bytes live inline in a u32 per id (an IPv4 address or source); 5 to
 * 16 bytes in a pool of 16-byte units (IPv6, CJDNS) and 17 to 32 in a pool of 32-byte units
 * (Tor v3, I2P), the id's u32 then holding the unit's index. So an IPv4 entry costs 5 bytes (the
 * u32 and a length byte), an IPv6 one 21, a Tor v3 one 37, and no entry has an object of its own.
 *
 * `buf(id)`/`off(id)` give the bytes where they are; for an inline value that is a scratch array
 * of this column, valid until the next `buf` call on it: read it at once.
 */
export const MAX_BYTES = 32;

export class ByteColumn {
  private ref: Uint32Array;
  private len: Uint8Array;
  private readonly p16 = new Pool(16);
  private readonly p32 = new Pool(32);
  private readonly scratch = new Uint8Array(4);

  constructor(cap = 0) {
    this.ref = new Uint32Array(cap);
    this.len = new Uint8Array(cap);
  }

  /** Room for ids below `cap` (kept values are copied). */
  grow(cap: number): void {
    if (cap <= this.ref.length) return;
    const ref = new Uint32Array(cap);
    ref.set(this.ref);
    const len = new Uint8Array(cap);
    len.set(this.len);
    this.ref = ref;
    this.len = len;
  }

  length(id: number): number {
    return this.len[id];
  }

  /** Stores b[o, o+n) as id's value, replacing (and freeing) what it held. n ≤ 32. */
  set(id: number, b: Uint8Array, o: number, n: number): void {
    if (n > MAX_BYTES) throw new RangeError(`${n} bytes: at most ${MAX_BYTES}`);
    const before = this.len[id];
    if (n <= 4) {
      if (before > 4) this.release(id);
      let v = 0;
      for (let k = 0; k < n; k++) v |= b[o + k] << (24 - 8 * k);
      this.ref[id] = v >>> 0;
    } else {
      const pool = this.pool(n);
      // The unit is kept when the size class stays the same.
      if (before <= 4 || this.pool(before) !== pool) {
        if (before > 4) this.release(id);
        this.ref[id] = pool.take();
      }
      const at = this.ref[id] * pool.unit;
      for (let k = 0; k < n; k++) pool.data[at + k] = b[o + k];
    }
    this.len[id] = n;
  }

  /** Forgets id's value (its pool unit, if any, is reused). */
  clear(id: number): void {
    if (this.len[id] > 4) this.release(id);
    this.len[id] = 0;
    this.ref[id] = 0;
  }

  /** The array holding id's bytes, at {@link off}. */
  buf(id: number): Uint8Array {
    const n = this.len[id];
    if (n > 4) return this.pool(n).data;
    const v = this.ref[id];
    const s = this.scratch;
    s[0] = v >>> 24;
    s[1] = v >>> 16;
    s[2] = v >>> 8;
    s[3] = v;
    return s;
  }

  off(id: number): number {
    const n = this.len[id];
    return n > 4 ? this.ref[id] * this.pool(n).unit : 0;
  }

  /** Whether id holds exactly b[o, o+n). */
  equals(id: number, b: Uint8Array, o: number, n: number): boolean {
    if (this.len[id] !== n) return false;
    if (n <= 4) {
      let v = 0;
      for (let k = 0; k < n; k++) v |= b[o + k] << (24 - 8 * k);
      return this.ref[id] === v >>> 0;
    }
    const data = this.pool(n).data;
    const at = this.ref[id] * this.pool(n).unit;
    for (let k = 0; k < n; k++) if (data[at + k] !== b[o + k]) return false;
    return true;
  }

  /** A copy of id's bytes. */
  copy(id: number): Buffer {
    const o = this.off(id);
    return Buffer.from(this.buf(id).subarray(o, o + this.len[id]));
  }

  /** Pool units in use (16-byte, 32-byte): for tests. */
  poolUnits(): { readonly u16: number; readonly u32: number } {
    return { u16: this.p16.inUse(), u32: this.p32.inUse() };
  }

  private pool(n: number): Pool {
    return n > 16 ? this.p32 : this.p16;
  }

  private release(id: number): void {
    this.pool(this.len[id]).free.push(this.ref[id]);
  }
}

/** Fixed-size units in one growing array, freed units reused first. */
class Pool {
  data = new Uint8Array(0);
  private used = 0;
  readonly free: number[] = [];

  constructor(readonly unit: number) {}

  take(): number {
    const f = this.free.pop();
    if (f !== undefined) return f;
    if ((this.used + 1) * this.unit > this.data.length) {
      // Twice the size (at least 64 units), contents kept.
      const b = new Uint8Array(Math.max(this.data.length * 2, 64 * this.unit));
      b.set(this.data);
      this.data = b;
    }
    return this.used++;
  }

  inUse(): number {
    return this.used - this.free.length;
  }
}
