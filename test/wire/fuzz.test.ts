import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameDecoder, encodeFrame, type FrameResult } from '../../src/wire/framing.js';
import { COMMANDS, decodeMessage, encodeMessage, type Message } from '../../src/wire/messages.js';
import { messageSummary } from '../../src/wire/summary.js';
import { makeHeader } from '../../src/wire/block.js';
import { missingFixture, readFixture } from '../helpers/fixtures.js';

const MAGIC = 0xdab5bffa;
const MAX = 2000; // a small maximum so random lengths hit both sides of it

/** Feeds chunks, checks the invariants after every push and drain, and returns what came out. */
function run(chunks: readonly Uint8Array[], maxPayload = MAX): FrameResult[] {
  const dec = new FrameDecoder({ magic: MAGIC, maxPayload });
  const out: FrameResult[] = [];
  let lastOffset = -1;
  for (const c of chunks) {
    dec.push(Buffer.from(c.buffer, c.byteOffset, c.length));
    for (let r = dec.next(); r !== null; r = dec.next()) {
      out.push(r);
      assert.equal(typeof r.offset, 'number');
      assert.ok(Number.isInteger(r.offset) && r.offset >= 0, `offset ${r.offset}`);
      assert.ok(r.offset > lastOffset, 'offsets increase');
      lastOffset = r.offset;
      if (r.kind === 'frame') {
        assert.ok(r.payload.length <= maxPayload);
        const d = decodeMessage(r.command, r.payload);
        if (!d.ok) assert.ok(d.error.offset >= 0 && d.error.offset <= r.payload.length);
      } else {
        assert.ok(['bad-magic', 'bad-command', 'oversize', 'bad-checksum'].includes(r.code));
        assert.equal(dec.dead, true);
      }
    }
    assert.ok(dec.bytesBuffered <= 24 + maxPayload, `bytesBuffered ${dec.bytesBuffered}`);
  }
  return out;
}

function chunk(stream: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let p = 0, i = 0; p < stream.length; i++) {
    const n = sizes.length === 0 ? stream.length : sizes[i % sizes.length];
    out.push(stream.subarray(p, p + n));
    p += n;
  }
  return out;
}

const sizes = fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 10 });

test('fuzz: random byte streams never throw; errors carry offsets; buffer bounded', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), sizes, (bytes, s) => {
      run(chunk(bytes, s));
    }),
    { numRuns: 500 },
  );
});

test('fuzz: random streams that start with the right magic reach the later checks', () => {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(MAGIC);
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 20, maxLength: 200 }), { minLength: 1, maxLength: 5 }), sizes, (parts, s) => {
      const stream = Buffer.concat(parts.flatMap((p) => [magic, Buffer.from(p)]));
      run(chunk(stream, s));
    }),
    { numRuns: 500 },
  );
});

const validFrames = fc
  .array(
    fc.record({
      command: fc.constantFrom(...COMMANDS, 'cmpctblock', 'x'),
      payload: fc.uint8Array({ maxLength: 200 }),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .map((fs) => Buffer.concat(fs.map((f) => encodeFrame(MAGIC, f.command, f.payload))));

test('fuzz: mutated valid streams (flip, truncate, splice) never throw', () => {
  fc.assert(
    fc.property(
      validFrames,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }),
      fc.option(fc.nat()),
      fc.option(fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 40 }))),
      sizes,
      (stream, flips, cut, splice, s) => {
        let b = Buffer.from(stream);
        for (const [at, x] of flips) b[at % b.length] ^= x;
        if (cut !== null) b = b.subarray(0, cut % (b.length + 1));
        if (splice !== null) {
          const at = splice[0] % (b.length + 1);
          b = Buffer.concat([b.subarray(0, at), Buffer.from(splice[1]), b.subarray(at)]);
        }
        run(chunk(b, s));
      },
    ),
    { numRuns: 1000 },
  );
});

test('fuzz: a flipped byte in a frame yields the error Core would report for it', () => {
  fc.assert(
    fc.property(validFrames, fc.nat(), fc.integer({ min: 1, max: 255 }), (stream, at, x) => {
      const b = Buffer.from(stream);
      const i = at % b.length;
      b[i] ^= x;
      const out = run([b], 4_000_000);
      const err = out.find((r) => r.kind === 'error');
      // Some flips are harmless (a command byte changed into another printable one): then all frames come out.
      if (err === undefined) return;
      assert.ok(err.kind === 'error');
      assert.ok(err.offset <= i, 'the error is reported at the start of the frame holding the flipped byte');
    }),
    { numRuns: 500 },
  );
});

test('fuzz: decodeMessage on random payloads never throws, for every command', () => {
  const commands = [...COMMANDS, 'cmpctblock', 'unknown'];
  fc.assert(
    fc.property(fc.constantFrom(...commands), fc.uint8Array({ maxLength: 400 }), (command, bytes) => {
      const payload = Buffer.from(bytes);
      for (const allowTrailing of [false, true]) {
        const d = decodeMessage(command, payload, { allowTrailing });
        if (d.ok) JSON.stringify(messageSummary(d.value));
        else {
          assert.equal(d.error.command, command);
          assert.ok(Number.isInteger(d.error.offset) && d.error.offset >= 0 && d.error.offset <= payload.length, `offset ${d.error.offset}`);
        }
      }
    }),
    { numRuns: 3000 },
  );
});

/** Payloads that start valid, so mutations reach deep into each decoder. */
const SEEDS: Message[] = [
  { command: 'headers', headers: [makeHeader({ version: 1, prevBlock: Buffer.alloc(32), merkleRoot: Buffer.alloc(32, 1), time: 0, bits: 0, nonce: 0 })] },
  { command: 'inv', items: [{ type: 1, hash: Buffer.alloc(32) }] },
  { command: 'addrv2', addresses: [{ network: 'torv3', addr: Buffer.alloc(32), port: 1, services: 1n, time: 1 }] },
  { command: 'addr', addresses: [{ network: 'ipv4', addr: Buffer.alloc(4, 1), port: 1, services: 1n, time: 1 }] },
  { command: 'getheaders', version: 1, locator: [Buffer.alloc(32)], hashStop: Buffer.alloc(32) },
  { command: 'version', version: 70016, services: 1n, timestamp: 0n, addrRecv: { network: 'ipv4', addr: Buffer.alloc(4), port: 0, services: 0n }, addrFrom: { network: 'ipv4', addr: Buffer.alloc(4), port: 0, services: 0n }, nonce: 1n, userAgent: '/x/', startHeight: 0, relay: true },
  { command: 'reject', message: 'tx', code: 1, reason: 'r', data: Buffer.alloc(32) },
];

test('fuzz: mutated valid payloads never throw', (t) => {
  const block = readFixture('core-v30-inbound-session.bin');
  const seeds: Array<[string, Buffer]> = SEEDS.map((m) => [m.command, Buffer.from(encodeMessage(m))]);
  if (block) {
    // The last frame of the fixture is a 9261-byte block: mutate real block bytes too.
    seeds.push(['block', block.subarray(block.length - 9261)]);
  } else t.diagnostic(missingFixture('core-v30-inbound-session.bin') + ' (block seed skipped)');
  fc.assert(
    fc.property(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), fc.option(fc.nat()), ([command, seed], flips, cut) => {
      let b = Buffer.from(seed);
      for (const [at, x] of flips) b[at % b.length] ^= x;
      if (cut !== null) b = b.subarray(0, cut % (b.length + 1));
      const d = decodeMessage(command, b);
      if (!d.ok) assert.ok(d.error.offset >= 0 && d.error.offset <= b.length, `${command} offset ${d.error.offset}`);
      else JSON.stringify(messageSummary(d.value));
    }),
    { numRuns: 2000 },
  );
});
