/**
 * Fuzzing the v2 decoder: random input in every state, and mutations of a valid stream. The
 * transport never throws on what a peer sends, never holds more than the key, the garbage or one
 * packet, and what it reports before an error is exactly what the unmodified stream gave.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EXPANSION } from '../../../src/wire/v2/cipher.js';
import { MAX_GARBAGE_SIZE, V2Transport, type V2Event } from '../../../src/wire/v2/transport.js';
import { REGTEST_MAGIC, converse, feed, manualInitiator, options, seeded, summary } from './helpers.js';

const MAX_PAYLOAD = 3000; // small, so random lengths fall on both sides of the limit
const BOUND = MAX_GARBAGE_SIZE + EXPANSION + 13 + MAX_PAYLOAD;
const TYPES = new Set(['send', 'established', 'message', 'rejected', 'fallback-v1', 'error']);

function check(events: readonly V2Event[]): void {
  let errors = 0;
  for (const e of events) {
    assert.ok(TYPES.has(e.type));
    if (e.type === 'error') errors++;
    if (e.type === 'message') assert.ok(e.payload.length <= MAX_PAYLOAD + 12);
  }
  assert.ok(errors <= 1);
  if (errors === 1) assert.equal(events[events.length - 1].type, 'error', 'nothing after an error');
}

/** Random bytes of a length uniform in min..max (fast-check's default sizes stay near 10 bytes). */
const bytesOf = (min: number, max: number) => fc.integer({ min, max }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
const V1_PREFIX = Buffer.concat([REGTEST_MAGIC, Buffer.from('version\0\0\0\0\0', 'latin1')]);

/** Chunks of `bytes` cut at `cuts` (positions taken mod the length). */
function cutsOf(bytes: Uint8Array, cuts: readonly number[]): number[] {
  return [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
}

test('random bytes into a fresh responder: never throws, buffers at most the key', () => {
  // Half the inputs start with part of (or all of) the v1 prefix, to walk the detection.
  const input = fc.oneof(bytesOf(0, 300), fc.tuple(fc.integer({ min: 1, max: 16 }), bytesOf(0, 100)).map(([k, rest]) => Buffer.concat([V1_PREFIX.subarray(0, k), rest])));
  fc.assert(
    fc.property(input, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      const r = new V2Transport(options('responder', 'r', { maxPayload: MAX_PAYLOAD }));
      const ev = feed(r, Buffer.from(bytes), cutsOf(bytes, cuts), BOUND);
      if (r.info().type === 'v1') assert.ok(Buffer.concat(ev.flatMap((e) => (e.type === 'fallback-v1' ? [e.bytes] : []))).equals(Buffer.from(bytes)), 'v1: every byte handed on');
      check(ev);
      if (!r.dead && r.info().type !== 'v1') assert.ok(r.bytesBuffered <= 64 || r.ready);
    }),
    { numRuns: 150 },
  );
});

test('random bytes after a real key exchange (garbage, lengths, packets): never throws, bounded, no message from noise', () => {
  fc.assert(
    fc.property(bytesOf(1, 6000), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      const r = new V2Transport(options('responder', 'r', { maxPayload: MAX_PAYLOAD }));
      manualInitiator(r);
      const ev = feed(r, Buffer.from(bytes), cutsOf(bytes, cuts), BOUND);
      check(ev);
      assert.ok(!ev.some((e) => e.type === 'message' || e.type === 'established'), 'random bytes never authenticate');
      if (bytes.length >= MAX_GARBAGE_SIZE + 16) assert.ok(r.dead, 'no terminator within 4111 bytes');
    }),
    { numRuns: 60 },
  );
});

test('random packets after the terminator: a random length is oversize or waits; a random body never authenticates', () => {
  fc.assert(
    fc.property(bytesOf(1, 5000), (bytes) => {
      const r = new V2Transport(options('responder', 'r', { maxPayload: MAX_PAYLOAD }));
      const m = manualInitiator(r);
      r.receive(Buffer.concat([m.garbage, m.cipher.sendGarbageTerminator]));
      const ev = r.receive(bytes);
      check(ev);
      assert.ok(ev.every((e) => e.type === 'error'));
      if (ev.length === 0) assert.ok(r.bytesBuffered <= BOUND);
      else assert.ok(['oversize', 'bad-packet'].includes(r.error!.code));
    }),
    { numRuns: 100 },
  );
});

test('a mutated valid stream (byte flipped, bytes dropped or inserted): before any error, exactly the events of the original', () => {
  const io = options('initiator', 'i', { decoys: [seeded('decoy', 9)] });
  const ro = options('responder', 'r', { maxPayload: MAX_PAYLOAD });
  const script = {
    initiatorFirst: [['version', seeded('v', 40)] as const, ['verack', Buffer.alloc(0)] as const],
    responderThen: [['ping', seeded('n', 8)] as const],
    initiatorThen: [['pong', seeded('n', 8)] as const, ['customcmd', seeded('c', 100)] as const, ['inv', seeded('inv', 37)] as const],
  };
  const ref = converse(io, ro, script);
  const want = summary(ref.responderEvents);
  const stream = ref.a;
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(stream.length - 1), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat(stream.length - 1), n: fc.integer({ min: 1, max: 20 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(stream.length - 1), bytes: bytesOf(1, 20) }),
  );
  fc.assert(
    fc.property(mutation, fc.array(fc.nat(), { maxLength: 6 }), (m, cuts) => {
      let bad: Buffer;
      if (m.kind === 'flip') {
        bad = Buffer.from(stream);
        bad[m.at] ^= 1 << m.bit;
      } else if (m.kind === 'drop') {
        bad = Buffer.concat([stream.subarray(0, m.at), stream.subarray(m.at + m.n)]);
      } else {
        bad = Buffer.concat([stream.subarray(0, m.at), m.bytes, stream.subarray(m.at)]);
      }
      const r = new V2Transport(ro);
      const ev = feed(r, bad, cutsOf(bad, cuts), BOUND);
      check(ev);
      const got = summary(ev);
      const ok = got.filter((s) => !s.startsWith('error'));
      assert.deepEqual(ok, want.slice(0, ok.length), 'a prefix of the original events');
      // Everything after the key is authenticated: a flipped or dropped byte always costs events.
      // (Bytes inserted after the last packet only start a packet that never completes.)
      if (m.kind !== 'insert') assert.ok(ok.length < want.length, `${m.kind} at ${m.at} went unnoticed`);
    }),
    { numRuns: 200 },
  );
});

test('random bytes into an initiator that sent its key: never throws, bounded', () => {
  fc.assert(
    fc.property(bytesOf(0, 5000), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      const i = new V2Transport(options('initiator', 'i', { maxPayload: MAX_PAYLOAD }));
      i.start();
      const ev = feed(i, Buffer.from(bytes), cutsOf(bytes, cuts), BOUND);
      check(ev);
      assert.ok(!ev.some((e) => e.type === 'message' || e.type === 'established' || e.type === 'fallback-v1'));
    }),
    { numRuns: 60 },
  );
});
