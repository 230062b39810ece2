import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader, Writer, compactSizeLength } from '../../src/wire/buffer.js';
import { attempt } from '../../src/wire/errors.js';

const hex = (s: string) => Buffer.from(s, 'hex');

test('CompactSize round-trips every size class', () => {
  for (const n of [0, 1, 0xfc, 0xfd, 0xffff, 0x10000, 0x02000000]) {
    const b = new Writer().compactSize(n).result();
    assert.equal(b.length, compactSizeLength(n));
    assert.equal(new Reader(b).compactSize(), n);
  }
});

test('CompactSize rejects non-canonical encodings as Core does', () => {
  for (const [bytes, at] of [
    ['fdfc00', 0],
    ['fe ffff0000', 0],
    ['ff ffffffff00000000', 0],
  ] as const) {
    const r = attempt(() => new Reader(hex(bytes.replace(/ /g, ''))).compactSize());
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'non-canonical');
      assert.equal(r.error.offset, at);
    }
  }
});

test('CompactSize above MAX_SIZE is oversize, truncated input is truncated', () => {
  const big = attempt(() => new Reader(hex('fe01000002')).compactSize());
  assert.deepEqual(big.ok ? null : big.error.code, 'oversize');
  const short = attempt(() => new Reader(hex('fd01')).compactSize());
  assert.deepEqual(short.ok ? null : short.error.code, 'truncated');
});

test('integers round-trip (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (u, i, big) => {
      const b = new Writer(1).u32le(u).i32le(i).u64le(big).result();
      const r = new Reader(b);
      assert.equal(r.u32le(), u);
      assert.equal(r.i32le(), i);
      assert.equal(r.u64le(), big);
      r.expectEnd('ints');
    }),
  );
});

test('reader errors carry offsets relative to the structure base', () => {
  const buf = hex('00000000aabb');
  const r = new Reader(buf, 4, 6, 4);
  r.u8();
  const res = attempt(() => r.u32le('field'));
  assert.equal(res.ok, false);
  if (!res.ok) assert.equal(res.error.offset, 1);
});
