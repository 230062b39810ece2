/**
 * Codec benchmark: `npm run bench -- codec`, or `node dist/bench/codec.js` after `npm run build`.
 *
 * Every figure is measured against its baseline in the same run, alternating rounds of the
 * two so machine drift hits both. Cases are entries of {@link CASES}; add a section by
 * appending a {@link BenchCase} (e.g. framing's frames/s and MB/s for block and headers
 * streams). A case whose fixture is absent is skipped with a note.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Block as JsBlock } from 'bitcoinjs-lib';
import { Reader } from '../src/wire/buffer.js';
import { blockMerkleRoot, checkBlock, decodeBlock, parseBlock } from '../src/wire/block.js';
import { checksum, sha256d, toDisplayHex } from '../src/wire/hash.js';
import { FRAME_HEADER_SIZE } from '../src/wire/constants.js';
import { FrameDecoder, encodeFrame } from '../src/wire/framing.js';
import { decodeMessage } from '../src/wire/messages.js';
import { networkParams } from '../src/wire/network.js';
import { missingFixture, readFixture, splitLengthPrefixed } from '../test/helpers/fixtures.js';
import { witnessHeavy } from '../test/helpers/chain.js';
import { figureLine, markdownTable, type Figure, type SuiteResult } from './report.js';

export type BenchResult = SuiteResult;

export interface BenchContext {
  /** Seconds to spend measuring each side of a comparison (split over rounds). */
  readonly seconds: number;
  /** Adds a note to the result and prints it. */
  note(text: string): void;
}

export interface BenchCase {
  readonly name: string;
  run(ctx: BenchContext): Promise<readonly Figure[]> | readonly Figure[];
}

/** Runs `fn` repeatedly for about `ms` milliseconds; returns calls per second. */
function rate(fn: () => void, ms: number): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    fn();
    n++;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

/**
 * Alternates rounds of `a` and `b` (after a warm-up of each) and returns the median rate of each.
 * Rates are calls per second.
 */
function compare(a: () => void, b: () => void, seconds: number, rounds = 5): { a: number; b: number } {
  rate(a, 150);
  rate(b, 150);
  const ra: number[] = [];
  const rb: number[] = [];
  const ms = (seconds * 1000) / rounds;
  for (let i = 0; i < rounds; i++) {
    ra.push(rate(a, ms));
    rb.push(rate(b, ms));
  }
  return { a: median(ra), b: median(rb) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[s.length >> 1];
}

function comparison(name: string, ours: number, baselineName: string, base: number, unit: string, minRatio: number, target: string): Figure {
  const ratio = ours / base;
  return { name, value: ours, unit, baseline: { name: baselineName, value: base }, ratio, target, met: ratio >= minRatio };
}

/** One line as the issue asks: `block parse: peerd 412 MB/s, bitcoinjs-lib 97 MB/s, ratio 4.2× (target ≥ 2×)`. */
function say(f: Figure, oursName = 'peerd'): void {
  if (!f.baseline || f.ratio === undefined) {
    process.stdout.write(`  ${figureLine(f)}\n`);
    return;
  }
  const r = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  process.stdout.write(
    `  ${f.name}: ${oursName} ${r(f.value)} ${f.unit}, ${f.baseline.name} ${r(f.baseline.value)} ${f.unit}, ratio ${f.ratio.toFixed(2)}×` +
      (f.target ? ` (target ${f.target}${f.met === undefined ? '' : f.met ? ', met' : ', NOT met'})` : '') +
      '\n',
  );
}

/** Block 413567: parse + every txid + merkle root check, peerd against bitcoinjs-lib on the same bytes. */
const blockParse: BenchCase = {
  name: 'block parse',
  run(ctx) {
    const raw = readFixture('mainnet-block-413567.raw');
    if (!raw) {
      ctx.note(`block parse skipped: ${missingFixture('mainnet-block-413567.raw')}`);
      return [];
    }
    const ours = (): void => {
      const b = decodeBlock(new Reader(raw));
      const ids: string[] = new Array<string>(b.txs.length);
      for (let i = 0; i < b.txs.length; i++) ids[i] = toDisplayHex(b.txs[i].txid);
      if (!blockMerkleRoot(b).root.equals(b.header.merkleRoot)) throw new Error('peerd: merkle mismatch');
    };
    const theirs = (): void => {
      const b = JsBlock.fromBuffer(raw);
      const txs = b.transactions ?? [];
      const ids: string[] = new Array<string>(txs.length);
      for (let i = 0; i < txs.length; i++) ids[i] = txs[i].getId();
      if (!b.checkTxRoots()) throw new Error('bitcoinjs-lib: merkle mismatch');
    };
    ours();
    theirs();
    const r = compare(ours, theirs, ctx.seconds);
    const mb = raw.length / 1e6;
    const f = comparison('block parse + txids + merkle (block 413567)', r.a * mb, 'bitcoinjs-lib', r.b * mb, 'MB/s', 2, '≥ 2× bitcoinjs-lib');
    say(f);
    return [f];
  },
};

/** All 2000 regtest blocks (segwit): parse + txids + merkle + witness commitment, peerd (full checkBlock) against bitcoinjs-lib. */
const regtestChain: BenchCase = {
  name: 'regtest-2000 parse + check',
  run(ctx) {
    const file = readFixture('regtest-2000.blocks');
    if (!file) {
      ctx.note(`regtest-2000 skipped: ${missingFixture('regtest-2000.blocks')}`);
      return [];
    }
    const blocks = splitLengthPrefixed(file);
    const bytes = blocks.reduce((s, b) => s + b.length, 0);
    const ours = (): void => {
      for (const raw of blocks) {
        const b = decodeBlock(new Reader(raw));
        for (const tx of b.txs) toDisplayHex(tx.txid);
        if (!checkBlock(b).ok) throw new Error('peerd: block rejected');
      }
    };
    const theirs = (): void => {
      for (const raw of blocks) {
        const b = JsBlock.fromBuffer(raw);
        for (const tx of b.transactions ?? []) tx.getId();
        if (!b.checkTxRoots()) throw new Error('bitcoinjs-lib: roots mismatch');
      }
    };
    const r = compare(ours, theirs, ctx.seconds, 3);
    const mb = bytes / 1e6;
    const f = comparison('regtest-2000 parse + txids + merkle + witness commitment', r.a * mb, 'bitcoinjs-lib', r.b * mb, 'MB/s', 2, '≥ 2× bitcoinjs-lib');
    say(f);
    return [f];
  },
};

/** sha256d checksums with our hash functions against raw createHash('sha256') twice, on the same bytes. */
const checksums: BenchCase = {
  name: 'sha256d checksum',
  run(ctx) {
    const sizes: [string, number][] = [
      ['1 MB payload', 1_000_000],
      ['9261-byte payload', 9261],
      ['80-byte payload', 80],
    ];
    const out: Figure[] = [];
    for (const [label, size] of sizes) {
      const payload = Buffer.alloc(size, 0xa5);
      // Same result both ways, checked once.
      const raw = (): Buffer => createHash('sha256').update(createHash('sha256').update(payload).digest()).digest();
      if (raw().readUInt32LE(0) !== checksum(payload) || !raw().equals(sha256d(payload))) throw new Error('checksum mismatch');
      let sink = 0;
      const r = compare(
        () => {
          sink ^= checksum(payload);
        },
        () => {
          sink ^= raw().readUInt32LE(0);
        },
        ctx.seconds / sizes.length,
      );
      if (sink === 0.5) process.stdout.write(''); // keep the results observable
      const f = comparison(`sha256d checksum, ${label}`, (r.a * size) / 1e6, 'createHash', (r.b * size) / 1e6, 'MB/s', 1 / 1.5, 'within 1.5× of createHash');
      say(f);
      out.push(f);
    }
    return out;
  },
};

/** Socket-sized pieces of a stream (views, no copies), as a TCP receive loop would hand them over. */
function chunked(stream: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let p = 0; p < stream.length; p += size) out.push(stream.subarray(p, Math.min(stream.length, p + size)));
  return out;
}

/** The payload of a `headers` message: CompactSize count, then 80-byte header + a 0 tx count each. */
function headersPayload(blocks: readonly Buffer[]): Buffer {
  const n = blocks.length;
  const prefix = n < 0xfd ? Buffer.from([n]) : Buffer.from([0xfd, n & 0xff, n >> 8]);
  const out = Buffer.alloc(prefix.length + n * 81);
  prefix.copy(out, 0);
  for (let i = 0; i < n; i++) blocks[i].copy(out, prefix.length + i * 81, 0, 80);
  return out;
}

/**
 * A hand-rolled framer over the whole stream at once (the stream is contiguous, so no chunk
 * handling): magic and checksum checked, then `parse(payload)` per frame. The baseline's framing.
 */
function naiveFrames(stream: Buffer, magic: number, parse: (payload: Buffer) => void): number {
  let p = 0;
  let n = 0;
  while (p < stream.length) {
    if (stream.readUInt32LE(p) !== magic) throw new Error('baseline: bad magic');
    const len = stream.readUInt32LE(p + 16);
    const payload = stream.subarray(p + FRAME_HEADER_SIZE, p + FRAME_HEADER_SIZE + len);
    if (createHash('sha256').update(createHash('sha256').update(payload).digest()).digest().readUInt32LE(0) !== stream.readUInt32LE(p + 20)) throw new Error('baseline: bad checksum');
    parse(payload);
    p += FRAME_HEADER_SIZE + len;
    n++;
  }
  return n;
}

/** FrameDecoder over socket-sized chunks, every frame decoded with decodeMessage (or only framed). Returns frames seen. */
function decodeStream(chunks: readonly Buffer[], magic: number, decode: boolean): number {
  const d = new FrameDecoder({ magic });
  let n = 0;
  for (const c of chunks) {
    d.push(c);
    for (let f = d.next(); f !== null; f = d.next()) {
      if (f.kind === 'error') throw new Error(`framing: ${f.message}`);
      if (decode && !decodeMessage(f.command, f.payload).ok) throw new Error(`decode failed: ${f.command}`);
      n++;
    }
  }
  return n;
}

const FRAMING_CHUNK = 64 * 1024;

/**
 * Framing: the 2000 regtest blocks as one byte stream of `block` messages, and a stream of
 * `headers` messages (2000 headers each, the same chain), pushed into one FrameDecoder in
 * 64 KiB chunks and every frame decoded with decodeMessage. Baselines, same bytes, same run:
 * a hand framer with bitcoinjs-lib doing the same parse (block: header hash, every txid and
 * wtxid; headers: every header hash), and raw createHash sha256d of every payload (the
 * checksum work, the floor of any framer).
 */
const framing: BenchCase = {
  name: 'framing',
  run(ctx) {
    const file = readFixture('regtest-2000.blocks');
    if (!file) {
      ctx.note(`framing skipped: ${missingFixture('regtest-2000.blocks')}`);
      return [];
    }
    const magic = networkParams('regtest').magic;
    const blocks = splitLengthPrefixed(file);
    // Pre-built outside the timed part: one contiguous stream per message kind, and its 64 KiB views.
    const blockStream = Buffer.concat(blocks.map((b) => encodeFrame(magic, 'block', b)));
    const headersFrame = encodeFrame(magic, 'headers', headersPayload(blocks));
    const HEADERS_REPEAT = 32; // 32 × 162 KB ≈ the block stream's size, so both run on comparable bytes
    const headersStream = Buffer.concat(new Array<Buffer>(HEADERS_REPEAT).fill(headersFrame));
    const out: Figure[] = [];

    const section = (label: string, stream: Buffer, frames: number, baselineName: string, parse: (payload: Buffer) => void): void => {
      const chunks = chunked(stream, FRAMING_CHUNK);
      if (decodeStream(chunks, magic, true) !== frames || naiveFrames(stream, magic, parse) !== frames) throw new Error(`${label}: frame count mismatch`);
      const mb = stream.length / 1e6;
      const full = compare(
        () => void decodeStream(chunks, magic, true),
        () => void naiveFrames(stream, magic, parse),
        ctx.seconds / 2,
        3,
      );
      const fps = comparison(`${label}: frames/s, FrameDecoder (64 KiB chunks) + decodeMessage`, full.a * frames, baselineName, full.b * frames, 'frames/s', 1, `≥ 1× ${baselineName}`);
      const mbs = comparison(`${label}: MB/s, FrameDecoder (64 KiB chunks) + decodeMessage`, full.a * mb, baselineName, full.b * mb, 'MB/s', 1, `≥ 1× ${baselineName}`);
      // Framing alone against the checksum it cannot avoid: what the decoder adds over hashing.
      const payloads: Buffer[] = [];
      naiveFrames(stream, magic, (p) => payloads.push(p));
      let sink = 0;
      const frameOnly = compare(
        () => void decodeStream(chunks, magic, false),
        () => {
          for (const p of payloads) sink ^= createHash('sha256').update(createHash('sha256').update(p).digest()).digest().readUInt32LE(0);
        },
        ctx.seconds / 2,
        3,
      );
      if (sink === 0.5) process.stdout.write('');
      const fr = comparison(`${label}: MB/s, FrameDecoder alone (checksum, no decode)`, frameOnly.a * mb, 'raw sha256d of every payload', frameOnly.b * mb, 'MB/s', 0.8, '≥ 0.8× raw sha256d');
      for (const f of [fps, mbs, fr]) {
        say(f);
        out.push(f);
      }
    };

    section(`block stream (2000 blocks, ${(blockStream.length / 1e6).toFixed(2)} MB)`, blockStream, blocks.length, 'hand framer + bitcoinjs-lib', (payload) => {
      const b = JsBlock.fromBuffer(payload);
      b.getHash();
      for (const tx of b.transactions ?? []) {
        tx.getHash();
        tx.getHash(true);
      }
    });
    section(
      `headers stream (${HEADERS_REPEAT} × 2000 headers, ${(headersStream.length / 1e6).toFixed(2)} MB)`,
      headersStream,
      HEADERS_REPEAT,
      'hand framer + bitcoinjs-lib',
      (payload) => {
        const n = payload.readUInt16LE(1);
        for (let i = 0, p = 3; i < n; i++, p += 81) JsBlock.fromBuffer(payload.subarray(p, p + 80)).getHash();
      },
    );
    return out;
  },
};

/**
 * The block check's decode of a hostile block — 3.9 MB of one transaction whose one input has
 * 3.9 M empty witness items — against the full decode: milliseconds and heap for parse + check.
 * The check keeps no witness item but the coinbase's (`witnessItems: 'coinbase'`).
 */
const witnessHeavyCheck: BenchCase = {
  name: 'witness-heavy block check',
  run(ctx) {
    const raw = witnessHeavy(3_900_000);
    const gc = (globalThis as { gc?: () => void }).gc;
    const once = (opts: Parameters<typeof parseBlock>[1]): { ms: number; heapMB: number } => {
      gc?.();
      const h0 = process.memoryUsage().heapUsed;
      const t0 = performance.now();
      const p = parseBlock(raw, opts);
      if (!p.ok) throw new Error(`the witness-heavy block does not parse: ${p.error.message}`);
      checkBlock(p.value);
      const ms = performance.now() - t0;
      const heapMB = (process.memoryUsage().heapUsed - h0) / 1e6;
      return { ms, heapMB };
    };
    const lean = once({ witnessItems: 'coinbase' });
    const full = once({});
    if (!gc) ctx.note('witness-heavy block check: heap figures without --expose-gc include garbage of earlier cases');
    const label = `parse + check of a ${(raw.length / 1e6).toFixed(1)} MB block of 3.9 M empty witness items`;
    return [
      { name: `${label}: time`, value: lean.ms, unit: 'ms', baseline: { name: 'full decode', value: full.ms }, ratio: lean.ms / full.ms },
      { name: `${label}: heap`, value: Math.max(0, lean.heapMB), unit: 'MB', baseline: { name: 'full decode', value: full.heapMB } },
    ];
  },
};

/** The sections of this suite, in order. Append cases here. */
export const CASES: BenchCase[] = [blockParse, regtestChain, checksums, framing, witnessHeavyCheck];

export async function run(opts: { seconds?: number; cases?: readonly BenchCase[] } = {}): Promise<BenchResult> {
  const notes: string[] = [];
  const ctx: BenchContext = {
    seconds: opts.seconds ?? 3,
    note(text) {
      notes.push(text);
      process.stdout.write(`  note: ${text}\n`);
    },
  };
  const figures: Figure[] = [];
  for (const c of opts.cases ?? CASES) figures.push(...(await c.run(ctx)));
  return { suite: 'codec', figures, notes };
}

const direct = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (direct) {
  const started = Date.now();
  const result = await run();
  process.stdout.write(`\n${markdownTable([result])}\n\n(${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
