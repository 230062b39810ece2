import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameDecoder, commandLength, encodeFrame, type Frame, type FrameFault, type FrameResult } from '../../src/wire/framing.js';
import { sha256d } from '../../src/wire/hash.js';

const MAGIC = 0xdab5bffa; // regtest: fa bf b5 da on the wire
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function drain(dec: FrameDecoder): FrameResult[] {
  const out: FrameResult[] = [];
  for (let f = dec.next(); f !== null; f = dec.next()) out.push(f);
  return out;
}

function feed(chunks: readonly Buffer[], maxPayload?: number): { results: FrameResult[]; dec: FrameDecoder } {
  const dec = new FrameDecoder({ magic: MAGIC, maxPayload });
  const results: FrameResult[] = [];
  for (const c of chunks) {
    dec.push(c);
    results.push(...drain(dec));
  }
  return { results, dec };
}

function asFrames(rs: readonly FrameResult[]): Frame[] {
  return rs.map((r) => {
    if (r.kind === 'error') assert.fail(`unexpected ${r.code} at ${r.offset}`);
    return r;
  });
}

function onlyError(rs: readonly FrameResult[]): FrameFault {
  const errs = rs.filter((r): r is FrameFault => r.kind === 'error');
  assert.equal(errs.length, 1);
  return errs[0];
}

test('encodeFrame: the known verack frame on main net', () => {
  // Core's verack on main: magic f9beb4d9, "verack", length 0, checksum 5df6e0e2 (SHA256d of nothing).
  const f = encodeFrame(0xd9b4bef9, 'verack', Buffer.alloc(0));
  assert.equal(f.toString('hex'), 'f9beb4d976657261636b000000000000000000005df6e0e2');
});

test('encodeFrame: header layout and checksum', () => {
  const payload = Buffer.from('hello');
  const f = encodeFrame(MAGIC, 'ping', payload);
  assert.equal(f.length, 24 + 5);
  assert.equal(f.readUInt32LE(0), MAGIC);
  assert.equal(f.toString('latin1', 4, 16), 'ping\0\0\0\0\0\0\0\0');
  assert.equal(f.readUInt32LE(16), 5);
  assert.ok(f.subarray(20, 24).equals(sha256d(payload).subarray(0, 4)));
  assert.ok(f.subarray(24).equals(payload));
  assert.throws(() => encodeFrame(MAGIC, '', payload), TypeError);
  assert.throws(() => encodeFrame(MAGIC, 'thirteen-char', payload), TypeError);
  assert.throws(() => encodeFrame(MAGIC, 'caf\u00e9', payload), TypeError);
});

test('commandLength follows Core (printable ASCII, NULs only after the first NUL) and rejects empty', () => {
  const cmd = (s: string) => {
    const b = Buffer.alloc(12);
    b.write(s, 'latin1');
    return b;
  };
  assert.equal(commandLength(cmd('version'), 0), 7);
  assert.equal(commandLength(cmd('twelve-chars'), 0), 12);
  assert.equal(commandLength(cmd(''), 0), -1);
  assert.equal(commandLength(cmd('ver\0sion'), 0), -1);
  assert.equal(commandLength(cmd('ver\x7fsion'), 0), -1);
  assert.equal(commandLength(cmd('ver\x1f'), 0), -1);
  assert.equal(commandLength(cmd(' ~'), 0), 2);
});

const SAMPLE = [
  encodeFrame(MAGIC, 'version', Buffer.alloc(102, 7)),
  encodeFrame(MAGIC, 'verack', Buffer.alloc(0)),
  encodeFrame(MAGIC, 'ping', hex('0102030405060708')),
  encodeFrame(MAGIC, 'inv', Buffer.alloc(37 * 3, 1)),
  encodeFrame(MAGIC, 'sendheaders', Buffer.alloc(0)),
];
const STREAM = Buffer.concat(SAMPLE);

function checkSample(frames: readonly Frame[]): void {
  assert.deepEqual(
    frames.map((f) => [f.command, f.payload.length]),
    [
      ['version', 102],
      ['verack', 0],
      ['ping', 8],
      ['inv', 111],
      ['sendheaders', 0],
    ],
  );
  let off = 0;
  frames.forEach((f, i) => {
    assert.equal(f.offset, off);
    assert.ok(f.payload.equals(SAMPLE[i].subarray(24)));
    assert.equal(f.checksum, SAMPLE[i].readUInt32LE(20));
    off += SAMPLE[i].length;
  });
}

test('many frames in one chunk, payloads are zero-copy views', () => {
  const { results, dec } = feed([STREAM]);
  const frames = asFrames(results);
  checkSample(frames);
  for (const f of frames) if (f.payload.length > 0) assert.equal(f.payload.buffer, STREAM.buffer);
  assert.equal(dec.bytesBuffered, 0);
  assert.equal(dec.streamOffset, STREAM.length);
});

test('split into two chunks at every offset', () => {
  for (let s = 0; s <= STREAM.length; s++) {
    const { results, dec } = feed([STREAM.subarray(0, s), STREAM.subarray(s)]);
    checkSample(asFrames(results));
    assert.equal(dec.bytesBuffered, 0);
  }
});

test('split into three chunks at every pair of offsets around the first boundaries', () => {
  for (let a = 0; a <= 160; a++) {
    for (let b = a; b <= 160; b += 3) {
      const { results } = feed([STREAM.subarray(0, a), STREAM.subarray(a, b), STREAM.subarray(b)]);
      checkSample(asFrames(results));
    }
  }
});

test('one byte at a time; bytesBuffered counts what is held', () => {
  const dec = new FrameDecoder({ magic: MAGIC });
  const out: FrameResult[] = [];
  let sinceFrame = 0; // bytes pushed since the last complete frame
  for (let i = 0; i < STREAM.length; i++) {
    dec.push(STREAM.subarray(i, i + 1));
    sinceFrame++;
    const got = drain(dec);
    if (got.length > 0) sinceFrame = 0;
    out.push(...got);
    // Once its header is parsed, a frame's 24 header bytes are no longer held.
    assert.equal(dec.bytesBuffered, sinceFrame >= 24 ? sinceFrame - 24 : sinceFrame);
  }
  checkSample(asFrames(out));
  assert.equal(dec.bytesBuffered, 0);
});

test('bytesBuffered: header bytes, then payload bytes, then zero once the frame is out', () => {
  const f = encodeFrame(MAGIC, 'ping', hex('0102030405060708'));
  const dec = new FrameDecoder({ magic: MAGIC });
  dec.push(f.subarray(0, 10));
  assert.equal(dec.next(), null);
  assert.equal(dec.bytesBuffered, 10);
  dec.push(f.subarray(10, 28));
  assert.equal(dec.next(), null);
  assert.equal(dec.bytesBuffered, 4, 'the parsed header is no longer held; 4 payload bytes are');
  dec.push(f.subarray(28));
  const r = dec.next();
  assert.ok(r !== null && r.kind === 'frame');
  assert.equal(r.payload.length, 8);
  assert.equal(dec.bytesBuffered, 0);
});

test('bad magic: error at the frame offset, decoder dead, buffer released', () => {
  const bad = Buffer.from(SAMPLE[1]);
  bad[0] ^= 0xff;
  const { results, dec } = feed([SAMPLE[0], bad, SAMPLE[2]]);
  assert.equal(results.length, 2);
  const e = onlyError(results);
  assert.equal(e.code, 'bad-magic');
  assert.equal(e.offset, SAMPLE[0].length);
  assert.equal(e.declaredLength, null);
  assert.equal(e.resumeAt, null);
  assert.ok(dec.dead);
  assert.equal(dec.error, e);
  assert.equal(dec.bytesBuffered, 0);
  assert.equal(dec.recover(), false);
  dec.push(SAMPLE[2]);
  assert.equal(dec.next(), null);
});

test('BIP324 v2 handshake bytes (random, no magic) are bad-magic at offset 0', () => {
  const { results } = feed([Buffer.alloc(64, 0x5a)]);
  const e = onlyError(results);
  assert.equal(e.code, 'bad-magic');
  assert.equal(e.offset, 0);
});

test('bad command (bytes after a NUL, non-printable, empty): error with declared length and resume point', () => {
  const cases: Array<[string, (b: Buffer) => void]> = [
    ['non-NUL after NUL', (b) => (b[4 + 8] = 0x41)], // "ping\0\0\0\0A..."
    ['control char', (b) => (b[5] = 0x09)],
    ['high byte', (b) => (b[6] = 0x80)],
    ['empty', (b) => b.fill(0, 4, 16)],
  ];
  for (const [name, mutate] of cases) {
    const bad = Buffer.from(SAMPLE[2]);
    mutate(bad);
    const { results, dec } = feed([Buffer.concat([SAMPLE[0], bad, SAMPLE[1]])]);
    const e = onlyError(results);
    assert.equal(e.code, 'bad-command', name);
    assert.equal(e.offset, SAMPLE[0].length, name);
    assert.equal(e.declaredLength, 8, name);
    assert.equal(e.lengthSane, true, name);
    assert.equal(e.resumeAt, SAMPLE[0].length + SAMPLE[2].length, name);
    assert.ok(dec.dead);
    dec.push(SAMPLE[4]);
    assert.equal(dec.next(), null, 'bytes pushed while dead are dropped');
    // Core's leniency on request: skip the bad frame and go on.
    assert.equal(dec.recover(), true);
    const rest = asFrames(drain(dec));
    assert.deepEqual(
      rest.map((f) => f.command),
      ['verack'],
      name,
    );
  }
});

test('recover after bad-command skips a payload that arrives later, chunk by chunk', () => {
  const payload = Buffer.alloc(100, 3);
  const bad = encodeFrame(MAGIC, 'xx', payload);
  bad[4] = 0x01;
  const stream = Buffer.concat([bad, SAMPLE[2]]);
  const dec = new FrameDecoder({ magic: MAGIC });
  dec.push(stream.subarray(0, 30));
  const e = dec.next();
  assert.ok(e !== null && e.kind === 'error' && e.code === 'bad-command');
  assert.ok(dec.recover());
  for (let i = 30; i < stream.length; i += 7) dec.push(stream.subarray(i, i + 7));
  const got = asFrames(drain(dec));
  assert.equal(got.length, 1);
  assert.equal(got[0].command, 'ping');
  assert.equal(got[0].offset, bad.length);
});

test('oversize: rejected from the header alone, no payload buffered', () => {
  const f = encodeFrame(MAGIC, 'block', Buffer.alloc(0));
  f.writeUInt32LE(4_000_001, 16);
  const dec = new FrameDecoder({ magic: MAGIC });
  for (let i = 0; i < 24; i++) {
    dec.push(f.subarray(i, i + 1));
    assert.ok(dec.bytesBuffered <= 24);
    const r = dec.next();
    if (i < 23) assert.equal(r, null);
    else {
      assert.ok(r !== null && r.kind === 'error');
      assert.equal(r.code, 'oversize');
      assert.equal(r.offset, 0);
      assert.equal(r.declaredLength, 4_000_001);
      assert.equal(r.lengthSane, false);
      assert.equal(r.resumeAt, null);
      assert.equal(r.command, 'block');
    }
  }
  dec.push(Buffer.alloc(1_000_000));
  assert.ok(dec.bytesBuffered <= 24);
  assert.equal(dec.next(), null);
});

test('oversize against a custom maximum; the maximum itself is accepted', () => {
  const ok = feed([encodeFrame(MAGIC, 'tx', Buffer.alloc(110))], 110);
  assert.equal(asFrames(ok.results).length, 1);
  const { results, dec } = feed([SAMPLE[0], encodeFrame(MAGIC, 'tx', Buffer.alloc(111))], 110);
  const e = onlyError(results);
  assert.equal(e.code, 'oversize');
  assert.equal(e.offset, SAMPLE[0].length);
  assert.equal(e.declaredLength, 111);
  assert.equal(dec.bytesBuffered, 0);
});

test('bad checksum: error at the frame offset with a resume point after the frame', () => {
  const bad = Buffer.from(SAMPLE[3]);
  bad[30] ^= 1; // a payload byte
  const { results, dec } = feed([Buffer.concat([SAMPLE[0], SAMPLE[1], bad, SAMPLE[4]])]);
  assert.equal(results.length, 3);
  const e = onlyError(results);
  assert.equal(e.code, 'bad-checksum');
  assert.equal(e.offset, SAMPLE[0].length + SAMPLE[1].length);
  assert.equal(e.command, 'inv');
  assert.equal(e.declaredLength, 111);
  assert.equal(e.resumeAt, e.offset + bad.length);
  assert.equal(dec.next(), null, 'dead until recovered');
  assert.ok(dec.recover());
  assert.deepEqual(
    asFrames(drain(dec)).map((f) => f.command),
    ['sendheaders'],
  );
});

test('an offline scanner can walk past every recoverable error with resumeAt', () => {
  const badSum = Buffer.from(SAMPLE[2]);
  badSum[24] ^= 1;
  const badCmd = Buffer.from(SAMPLE[3]);
  badCmd[4] = 0;
  const stream = Buffer.concat([SAMPLE[0], badSum, SAMPLE[1], badCmd, SAMPLE[4]]);
  const seen: string[] = [];
  let at = 0;
  while (at < stream.length) {
    const dec = new FrameDecoder({ magic: MAGIC });
    dec.push(stream.subarray(at));
    let next: number | null = null;
    for (let r = dec.next(); r !== null; r = dec.next()) {
      if (r.kind === 'error') {
        seen.push(`!${r.code}`);
        next = r.resumeAt === null ? null : at + r.resumeAt;
        break;
      }
      seen.push(r.command);
    }
    if (next === null) break;
    at = next;
  }
  assert.deepEqual(seen, ['version', '!bad-checksum', 'verack', '!bad-command', 'sendheaders']);
});

test('property: any chunking of any sequence of valid frames decodes to the same frames', () => {
  const frameArb = fc.record({
    command: fc.stringMatching(/^[a-z]{1,12}$/),
    payload: fc.uint8Array({ maxLength: 300 }),
  });
  fc.assert(
    fc.property(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }), (specs, sizes) => {
      const stream = Buffer.concat(specs.map((s) => encodeFrame(MAGIC, s.command, s.payload)));
      const chunks: Buffer[] = [];
      for (let p = 0, i = 0; p < stream.length; i++) {
        const n = sizes[i % sizes.length];
        chunks.push(stream.subarray(p, p + n));
        p += n;
      }
      const { results, dec } = feed(chunks);
      const frames = asFrames(results);
      assert.deepEqual(
        frames.map((f) => [f.command, Buffer.from(f.payload).toString('hex')]),
        specs.map((s) => [s.command, Buffer.from(s.payload).toString('hex')]),
      );
      assert.equal(dec.bytesBuffered, 0);
    }),
  );
});

test('a frame trickled one byte per chunk costs about its own size in memory, not ~15× (small chunks are copied together)', (t) => {
  const payload = Buffer.alloc(1_000_000, 7);
  const bytes = encodeFrame(0xdab5bffa, 'block', payload);
  const dec = new FrameDecoder({ magic: 0xdab5bffa });
  const before = process.memoryUsage();
  for (let i = 0; i < bytes.length - 1; i++) dec.push(bytes.subarray(i, i + 1));
  const after = process.memoryUsage();
  const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  assert.equal(dec.bytesBuffered, bytes.length - 1);
  t.diagnostic(`1 MB trickled one byte per chunk: ${(grown / 1e6).toFixed(1)} MB held (heap + array buffers)`);
  assert.ok(grown < 8 * 1024 * 1024, `held ${(grown / 1e6).toFixed(1)} MB for 1 MB trickled`);
  assert.equal(dec.next(), null);
  dec.push(bytes.subarray(bytes.length - 1));
  const f = dec.next();
  assert.ok(f !== null && f.kind === 'frame' && f.command === 'block' && f.payload.equals(payload), 'the frame reassembles whole');
});

test('discard: a refused command is skipped as it arrives (never held), reported with its length, and the next frame decodes', () => {
  const MAGIC = 0xdab5bffa;
  const big = encodeFrame(MAGIC, 'tx', Buffer.alloc(4_000_000, 0xee));
  const ping = encodeFrame(MAGIC, 'ping', Buffer.alloc(8, 1));
  const d = new FrameDecoder({ magic: MAGIC });
  d.discard = (command) => command === 'tx';
  const out: FrameResult[] = [];
  let held = 0;
  const stream = Buffer.concat([big, ping]);
  for (let at = 0; at < stream.length; at += 65_536) {
    d.push(stream.subarray(at, Math.min(stream.length, at + 65_536)));
    for (let f = d.next(); f !== null; f = d.next()) out.push(f);
    held = Math.max(held, d.bytesBuffered);
  }
  assert.ok(held <= 65_536, `at most one chunk held, not the 4 MB payload (held ${held})`);
  assert.equal(out.length, 2);
  const [tx, p] = out as Frame[];
  assert.deepEqual([tx!.kind, tx!.command, tx!.discarded, tx!.payload.length], ['frame', 'tx', 4_000_000, 0]);
  assert.deepEqual([p!.command, p!.discarded, p!.payload], ['ping', undefined, Buffer.alloc(8, 1)]);
  // Without the predicate, the same stream gives the whole payload.
  const plain = new FrameDecoder({ magic: MAGIC });
  plain.push(stream);
  const whole = plain.next() as Frame;
  assert.equal(whole.payload.length, 4_000_000);
  assert.equal(whole.discarded, undefined);
});
