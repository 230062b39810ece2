/**
 * BIP324 benchmark: `npm run bench -- v2`, or `node dist/bench/v2.js` after `npm run build`.
 *
 * The pure v2 core against plain v1 framing on the same payloads, in the same run, alternating
 * rounds so machine drift hits both:
 * - encrypt: V2Transport.send (message type, ChaCha20Poly1305, length cipher) against
 *   encodeFrame (header and SHA256d checksum), MB/s of payload;
 * - decrypt: V2Transport.receive on the stream cut in 64 KiB chunks (as a socket delivers it)
 *   against FrameDecoder, MB/s of payload;
 * - the handshake of one connection in memory (both ends: two ElligatorSwift encodings, two
 *   ECDH, the key derivation), and the heap an established V2Transport holds against a
 *   FrameDecoder's.
 * No figure has a target: the issue's targets (sync over v2 ≥ 0.9× v1, RSS per peer within
 * 1.2× at 2,000 peers) are end-to-end figures for when the peer actor speaks v2.
 * PEERD_BENCH_V2_SECONDS sets the seconds per side of each comparison (default 2).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { FrameDecoder, encodeFrame } from '../src/wire/framing.js';
import { networkParams } from '../src/wire/network.js';
import { V2Transport, type V2Event } from '../src/wire/v2/transport.js';
import { envInt, figureLine, markdownTable, type Figure, type SuiteResult } from './report.js';

const MAGIC = networkParams('regtest');
const CHUNK = 64 * 1024;

/** A connected pair, both ends established. */
export function establishedPair(): { initiator: V2Transport; responder: V2Transport } {
  const opts = (role: 'initiator' | 'responder') => ({ role, magic: MAGIC.magicBytes, privateKey: randomKey(), entropy: randomBytes(32), garbage: randomBytes(Math.floor(Math.random() * 4096)) });
  const initiator = new V2Transport(opts('initiator'));
  const responder = new V2Transport(opts('responder'));
  const bytes = (ev: V2Event[]) => Buffer.concat(ev.flatMap((e) => (e.type === 'send' ? [e.bytes] : [])));
  const back = responder.receive(bytes(initiator.start()));
  responder.receive(bytes(initiator.receive(bytes(back))));
  if (initiator.info().type !== 'v2' || responder.info().type !== 'v2') throw new Error('handshake did not complete');
  return { initiator, responder };
}

function randomKey(): Buffer {
  for (;;) {
    const k = randomBytes(32);
    if (k[0] !== 0xff && k.some((b) => b !== 0)) return k; // below n for all practical purposes
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** One timed job: the payload bytes it processed and the milliseconds that count (setup excluded). */
interface Timed {
  readonly bytes: number;
  readonly ms: number;
}

/** Times a whole call. */
function timed(f: () => number): () => Timed {
  return () => {
    const t0 = performance.now();
    const bytes = f();
    return { bytes, ms: performance.now() - t0 };
  };
}

/** Alternating rounds of two jobs after a warm-up of each (at least 5, more while time allows); median MB/s of each. */
function compare(a: () => Timed, b: () => Timed, seconds: number): { a: number; b: number } {
  const mbps = (t: Timed) => t.bytes / 1e6 / (t.ms / 1000);
  a();
  b();
  const ra: number[] = [];
  const rb: number[] = [];
  const deadline = performance.now() + seconds * 2000;
  for (let i = 0; i < 5 || (performance.now() < deadline && i < 30); i++) {
    ra.push(mbps(a()));
    rb.push(mbps(b()));
  }
  return { a: median(ra), b: median(rb) };
}

function figure(name: string, v2: number, v1: number): Figure {
  return { name, value: v2, unit: 'MB/s', baseline: { name: 'v1 framing', value: v1 }, ratio: v2 / v1 };
}

function chunks(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let p = 0; p < stream.length; p += CHUNK) out.push(stream.subarray(p, p + CHUNK));
  return out;
}

/** Encrypt and decrypt figures for `count` messages of `size` bytes per round. */
function throughput(label: string, command: string, size: number, count: number, seconds: number): Figure[] {
  const payload = randomBytes(size);
  const bytes = size * count;
  const sender = establishedPair().initiator;
  const encrypt = timed(() => {
    for (let i = 0; i < count; i++) sender.send(command, payload);
    return bytes;
  });
  const frame = timed(() => {
    for (let i = 0; i < count; i++) encodeFrame(MAGIC.magic, command, payload);
    return bytes;
  });
  const enc = compare(encrypt, frame, seconds);

  // Decrypt: each round decodes a stream the sender made (untimed) just before; the pair stays in step.
  const { initiator, responder } = establishedPair();
  const v1Stream = chunks(Buffer.concat(Array.from({ length: count }, () => encodeFrame(MAGIC.magic, command, payload))));
  const decrypt = (): Timed => {
    const sent: V2Event[] = [];
    for (let i = 0; i < count; i++) initiator.send(command, payload, sent);
    const stream = chunks(Buffer.concat(sent.flatMap((e) => (e.type === 'send' ? [e.bytes] : []))));
    const out: V2Event[] = [];
    let n = 0;
    const t0 = performance.now();
    for (const c of stream) {
      out.length = 0;
      responder.receive(c, out);
      for (const e of out) if (e.type === 'message') n += e.payload.length;
    }
    const ms = performance.now() - t0;
    if (n !== bytes) throw new Error(`${label}: ${n} of ${bytes} payload bytes decrypted${responder.error ? `: ${responder.error.message}` : ''}`);
    return { bytes: n, ms };
  };
  const decode = timed(() => {
    const d = new FrameDecoder({ magic: MAGIC.magic });
    let n = 0;
    for (const c of v1Stream) {
      d.push(c);
      for (let f = d.next(); f !== null; f = d.next()) if (f.kind === 'frame') n += f.payload.length;
    }
    return n;
  });
  const dec = compare(decrypt, decode, seconds);
  return [figure(`encrypt, ${label}`, enc.a, enc.b), figure(`decrypt, ${label} in 64 KiB chunks`, dec.a, dec.b)];
}

function handshakeMs(rounds: number): number {
  establishedPair();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    establishedPair();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/**
 * Heap bytes (JS heap and array buffers) per object of `make`, over `n` live objects, after a
 * warm-up and full collections (gc exposed through V8's flag). Run before anything allocates
 * large buffers: their release is accounted lazily.
 */
function heapPerObject(make: () => unknown, n: number): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const used = () => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  for (let i = 0; i < 5; i++) make();
  const keep: unknown[] = [];
  const before = used();
  for (let i = 0; i < n; i++) keep.push(make());
  const after = used();
  if (keep.length !== n) throw new Error('unreachable');
  return (after - before) / n;
}

export async function run(opts: { seconds?: number } = {}): Promise<SuiteResult> {
  const seconds = opts.seconds ?? envInt('PEERD_BENCH_V2_SECONDS', 2);
  const figures: Figure[] = [];
  const say = (f: Figure) => {
    figures.push(f);
    process.stdout.write(`  ${figureLine(f)}\n`);
  };
  const v2 = heapPerObject(() => establishedPair().responder, 200);
  const v1 = heapPerObject(() => new FrameDecoder({ magic: MAGIC.magic }), 2000);
  const memory: Figure = { name: 'heap per established V2Transport', value: v2, unit: 'bytes', baseline: { name: 'FrameDecoder', value: v1 }, ratio: v2 / v1 };
  for (const f of throughput('1 MB messages (block)', 'block', 1_000_000, 16, seconds)) say(f);
  for (const f of throughput('250-byte messages (tx)', 'tx', 250, 20_000, seconds)) say(f);
  for (const f of throughput('8-byte messages (ping)', 'ping', 8, 50_000, seconds)) say(f);
  say({ name: 'handshake, both ends in memory', value: handshakeMs(20), unit: 'ms' });
  say(memory);
  return {
    suite: 'v2',
    figures,
    notes: [
      'the v2 core alone (src/wire/v2), not a peer: sync over v2 and RSS at 2,000 peers come with the peer actor',
      'MB/s count payload bytes; v1 framing includes its SHA256d checksum, v2 its ChaCha20Poly1305 and length cipher',
    ],
  };
}

const direct = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (direct) {
  const started = Date.now();
  const result = await run();
  process.stdout.write(`\n${markdownTable([result])}\n\n(${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
