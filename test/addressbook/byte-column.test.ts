import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteColumn } from '../../src/addressbook/byte-column.js';

const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

test('byte column: up to 4 bytes inline, 5..16 and 17..32 in pooled units; equals, copy, buf/off', () => {
  const c = new ByteColumn(8);
  c.set(0, Buffer.from([1, 2, 3, 4]), 0, 4);
  c.set(1, Buffer.from([9, 9, 7, 0xff, 0xfe]), 3, 2);
  c.set(2, bytes(16, 0xab), 0, 16);
  c.set(3, bytes(32, 0xcd), 0, 32);
  assert.deepEqual(c.copy(0), Buffer.from([1, 2, 3, 4]));
  assert.deepEqual(c.copy(1), Buffer.from([0xff, 0xfe]));
  assert.deepEqual(c.copy(2), bytes(16, 0xab));
  assert.deepEqual(c.copy(3), bytes(32, 0xcd));
  assert.deepEqual(c.poolUnits(), { u16: 1, u32: 1 });
  assert.ok(c.equals(0, Buffer.from([0, 1, 2, 3, 4]), 1, 4));
  assert.ok(!c.equals(0, Buffer.from([1, 2, 3, 5]), 0, 4));
  assert.ok(!c.equals(0, Buffer.from([1, 2, 3]), 0, 3), 'length counts');
  assert.ok(c.equals(3, bytes(32, 0xcd), 0, 32));
  assert.ok(!c.equals(3, bytes(32, 0xce), 0, 32));
  const b = c.buf(2);
  assert.deepEqual(Buffer.from(b.subarray(c.off(2), c.off(2) + 16)), bytes(16, 0xab));
  assert.throws(() => c.set(4, bytes(33, 1), 0, 33), RangeError);
});

test('byte column: a value changing size class frees its unit; clear frees it; freed units are reused', () => {
  const c = new ByteColumn(4);
  c.set(0, bytes(16, 1), 0, 16);
  c.set(1, bytes(16, 2), 0, 16);
  assert.deepEqual(c.poolUnits(), { u16: 2, u32: 0 });
  c.set(0, bytes(32, 3), 0, 32);
  assert.deepEqual(c.poolUnits(), { u16: 1, u32: 1 });
  c.set(0, bytes(4, 4), 0, 4);
  assert.deepEqual(c.poolUnits(), { u16: 1, u32: 0 });
  c.clear(1);
  assert.deepEqual(c.poolUnits(), { u16: 0, u32: 0 });
  assert.equal(c.length(1), 0);
  c.set(2, bytes(10, 5), 0, 10);
  c.set(3, bytes(10, 6), 0, 10);
  assert.deepEqual(c.poolUnits(), { u16: 2, u32: 0 });
  assert.deepEqual(c.copy(2), bytes(10, 5));
  assert.deepEqual(c.copy(3), bytes(10, 6));
  assert.deepEqual(c.copy(0), bytes(4, 4));
});

test('property: a byte column holds what a Map would, through sets, clears and growth', () => {
  type Op = { k: 'set'; id: number; v: Uint8Array } | { k: 'clear'; id: number } | { k: 'grow'; by: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ k: fc.constant('set' as const), id: fc.nat({ max: 199 }), v: fc.uint8Array({ maxLength: 32 }) }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('clear' as const), id: fc.nat({ max: 199 }) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('grow' as const), by: fc.nat({ max: 100 }) }) },
  );
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 400 }), (ops) => {
      let cap = 100;
      const c = new ByteColumn(cap);
      const model = new Map<number, Buffer>();
      for (const op of ops) {
        if (op.k === 'grow') {
          cap += op.by;
          c.grow(cap);
          continue;
        }
        if (op.id >= cap) continue;
        if (op.k === 'set') {
          c.set(op.id, op.v, 0, op.v.length);
          model.set(op.id, Buffer.from(op.v));
        } else {
          c.clear(op.id);
          model.delete(op.id);
        }
      }
      let u16 = 0;
      let u32 = 0;
      for (let id = 0; id < cap; id++) {
        const want = model.get(id) ?? Buffer.alloc(0);
        assert.deepEqual(c.copy(id), want);
        assert.ok(c.equals(id, want, 0, want.length));
        if (want.length > 16) u32++;
        else if (want.length > 4) u16++;
      }
      assert.deepEqual(c.poolUnits(), { u16, u32 }, 'no unit leaked');
    }),
    { numRuns: 150 },
  );
});
