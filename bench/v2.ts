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
 * End to end (real TCP on 127.0.0.1, regtest):
 * - sync: a peerd in this process holds regtest-2000 (the shared fixture, loaded from a stub chain
 *   peer; a generated 2000-block chain when the fixture is absent); a fresh peerd in a child
 *   process (bench/sync-node.ts) syncs it from that peerd alone, over v2 and over v1 with
 *   --v2transport 0, alternating rounds; median time from start to tip of each; target ≥ 0.9× v1;
 * - handshake: a peerd in this process dials the holder (`addnode … onetry`, v2 then v1 by the
 *   RPC's v2transport argument, alternating) and times dial → TCP connect → transport → version
 *   handshake done (the connection manager's peer-connected event); median of each.
 * - RSS at 2,000 peers: a fresh peerd in a child process (as bench/peers.ts runs it) with 2,000
 *   scripted v1 peers pinging once a second, then another fresh one with 2,000 scripted v2 peers
 *   (BIP324 initiators, src/tools/sim/peers.ts); node RSS per peer (RSS after the window − RSS
 *   before any peer, over the active peers) of each, the ratio v2/v1 (target ≤ 1.2×), ping p99 of
 *   each over a steady window, and the v2 swarm's handshakes (key exchange and version handshake).
 * PEERD_BENCH_V2_SECONDS sets the seconds per side of each in-memory comparison (default 2),
 * PEERD_BENCH_V2_SYNC_ROUNDS the sync rounds per transport (default 3),
 * PEERD_BENCH_V2_HANDSHAKES the handshakes per transport (default 20),
 * PEERD_BENCH_V2_PEERS the peers of the RSS case (default 2000), PEERD_BENCH_V2_WINDOW its
 * steady window in seconds (default 8).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createECDH, randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import v8 from 'node:v8';
import vm from 'node:vm';
import { FrameDecoder, encodeFrame } from '../src/wire/framing.js';
import { networkParams } from '../src/wire/network.js';
import { V2Transport, type V2Event } from '../src/wire/v2/transport.js';
import { envInt, figureLine, fmt, markdownTable, type Figure, type SuiteResult } from './report.js';
import { startNode, type NodeHandle } from '../src/node.js';
import { silentLogger } from '../src/log.js';
import { startChainServer } from '../src/tools/chain/stub-peer.js';
import { fixturePath } from '../test/helpers/fixtures.js';
import { chainFile, syncOnce } from './sync.js';
import { openFilesLimit, pct, procStatus } from '../src/tools/sim/measure.js';
import { PeerSwarm, grow } from '../src/tools/sim/peers.js';
import { startNodeChild, stopNodeChild, type NodeChild } from '../src/tools/sim/node.js';

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

/**
 * The x-only ECDH of each handshake: node:crypto's OpenSSL (what ellswift.ts uses where the
 * platform has secp256k1) against @noble/curves' bigint path, ms per operation, alternating
 * rounds, median of each.
 */
function ecdhMs(rounds: number, perRound: number): { platform: number; noble: number } {
  const keys = Array.from({ length: perRound }, () => secp256k1.utils.randomSecretKey());
  const pubs = keys.map((k) => secp256k1.getPublicKey(k, true));
  const platform = (): number => {
    const t0 = performance.now();
    for (let i = 0; i < perRound; i++) {
      const e = createECDH('secp256k1');
      e.setPrivateKey(keys[i]!);
      e.computeSecret(pubs[(i + 1) % perRound]!);
    }
    return (performance.now() - t0) / perRound;
  };
  const noble = (): number => {
    const t0 = performance.now();
    for (let i = 0; i < perRound; i++) secp256k1.getSharedSecret(keys[i]!, pubs[(i + 1) % perRound]!, true);
    return (performance.now() - t0) / perRound;
  };
  platform();
  noble();
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(platform());
    b.push(noble());
  }
  return { platform: median(a), noble: median(b) };
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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

/** A regtest peerd in this process listening on 127.0.0.1 (port 0), silent, in a throwaway datadir. */
async function benchNode(over: Parameters<typeof startNode>[0] = {}): Promise<{ node: NodeHandle; port: number; stop(): Promise<void> }> {
  const datadir = mkdtempSync(join(tmpdir(), 'peerd-bench-v2-'));
  const node = await startNode({ network: 'regtest', datadir, dnsseed: false, bind: ['127.0.0.1:0'], server: false, logger: silentLogger(), tickMs: 100, ...over });
  const [addr] = await node.listening();
  return {
    node,
    port: addr?.port ?? 0,
    async stop() {
      await node.stop();
      rmSync(datadir, { recursive: true, force: true });
    },
  };
}

/**
 * The end-to-end figures: sync of a 2000-block chain from a peerd over v2 against v1, and the
 * handshake over TCP, v2 against v1, in the same run, alternating.
 */
async function endToEnd(say: (f: Figure) => void, notes: string[]): Promise<void> {
  const rounds = envInt('PEERD_BENCH_V2_SYNC_ROUNDS', 3);
  const handshakes = envInt('PEERD_BENCH_V2_HANDSHAKES', 20);
  const fixture = fixturePath('regtest-2000.blocks');
  const chain = fixture ?? (await chainFile(2000, 9, 0)).path;
  notes.push(fixture ? 'end to end: the regtest-2000 fixture (mined by Core v30, 18,979 txs, 5.7 MB)' : 'end to end: the fixture is absent, a generated 2000-block chain (9 txs a block) instead');
  notes.push(`load average at the start of the end-to-end part: ${loadavg()[0].toFixed(2)} (the machine's other work slows v2's handshake crypto most)`);
  const stub = await startChainServer({ blocksFile: chain, host: '127.0.0.1', port: 0 });
  const holder = await benchNode({ connect: [`127.0.0.1:${stub.port}`] });
  try {
    await waitFor('the holder has the chain', async () => Number(await holder.node.chainCall('getblockcount')) === 2000, 120_000);
    // Alternating rounds, v2 first, each a fresh node in a child process dialling the holder alone.
    const tip: Record<'v1' | 'v2', number[]> = { v1: [], v2: [] };
    for (let i = 0; i < rounds; i++) {
      for (const t of ['v2', 'v1'] as const) {
        const r = await syncOnce([{ port: holder.port }], 2000, undefined, { v2transport: t === 'v2' });
        if (!r.r.ok) throw new Error(`sync over ${t}: ${r.r.error ?? '?'}; ${r.warnings.slice(-3).join(' | ')}`);
        tip[t].push(r.r.tipMs);
      }
    }
    const inbound = async (): Promise<number> => (await holder.node.peers()).filter((p) => p.inbound).length;
    const v2 = median(tip.v2);
    const v1 = median(tip.v1);
    const ratio = v1 / v2;
    say({
      name: `sync 2000 blocks from a peerd, start → tip, over v2 (median of ${rounds})`,
      value: 2000 / (v2 / 1000),
      unit: 'blocks/s',
      baseline: { name: 'over v1', value: 2000 / (v1 / 1000) },
      ratio,
      target: '≥ 0.9× v1',
      met: ratio >= 0.9,
    });
    notes.push(`sync start → tip: v2 ${tip.v2.map((x) => x.toFixed(0)).join(', ')} ms; v1 ${tip.v1.map((x) => x.toFixed(0)).join(', ')} ms`);

    // Handshakes: a dialler in this process; each connection is closed before the next.
    const dialler = await benchNode({ listen: false, bind: [] });
    try {
      const times: Record<'v1' | 'v2', number[]> = { v1: [], v2: [] };
      const target = `127.0.0.1:${holder.port}`;
      for (let i = 0; i < handshakes + 1; i++) {
        for (const t of ['v2', 'v1'] as const) {
          const connected = new Promise<number>((ok) => dialler.node.events.once('peer-connected', ({ id }) => ok(id)));
          const t0 = performance.now();
          await dialler.node.addnode(target, 'onetry', t === 'v2');
          const id = await connected;
          const ms = performance.now() - t0;
          const info = (await dialler.node.peers()).find((p) => p.id === id);
          if (info?.transportType !== t) throw new Error(`handshake: asked ${t}, got ${info?.transportType ?? 'no peer'}`);
          if (i > 0) times[t].push(ms); // the first of each is a warm-up
          const gone = new Promise<void>((ok) => dialler.node.events.once('peer-disconnected', () => ok()));
          await dialler.node.disconnect({ id });
          await gone;
          await waitFor('the holder saw the dialler leave', async () => (await inbound()) === 0, 10_000);
        }
      }
      const h2 = median(times.v2);
      const h1 = median(times.v1);
      say({ name: `handshake over TCP, dial → version handshake done, v2 (median of ${handshakes})`, value: h2, unit: 'ms', baseline: { name: 'v1', value: h1 }, ratio: h1 / h2 });
    } finally {
      await dialler.stop();
    }
  } finally {
    await holder.stop();
    await stub.close();
  }
}

interface SwarmLevel {
  readonly active: number;
  readonly failed: number;
  readonly dropped: number;
  readonly kbPerPeer: number;
  readonly rssKB: number;
  readonly connectSeconds: number;
  readonly handshakeP50: number;
  readonly handshakeP99: number;
  readonly samples: number;
  readonly p50: number;
  readonly p99: number;
}

/** Handshakes at once while growing a v2 swarm: each costs this process ≈ 5 ms of CPU (ElligatorSwift, ECDH), the node as much. */
const V2_CONNECT_CONCURRENCY = 16;

/**
 * A fresh node in a child process, `peers` scripted peers of one transport pinging once a
 * second, a 2 s settle, a steady window; the node's RSS against its RSS before any peer.
 */
async function swarmLevel(transport: 'v1' | 'v2', peers: number, windowSeconds: number): Promise<SwarmLevel> {
  const datadir = mkdtempSync(join(tmpdir(), 'peerd-bench-v2-rss-'));
  let child: NodeChild | null = null;
  let w: PeerSwarm | null = null;
  try {
    child = await startNodeChild({ datadir, maxconnections: Math.max(2100, peers + 100) });
    await sleep(1500);
    const rss0 = procStatus(child.pid, 'VmRSS') ?? Number.NaN;
    w = new PeerSwarm({ port: child.port, userAgent: '/peerd-bench:0.1.0/', pingRate: 1, v2: transport === 'v2' });
    w.startScheduler();
    const tc = performance.now();
    await grow(w, peers, transport === 'v2' ? V2_CONNECT_CONCURRENCY : undefined);
    const connectSeconds = (performance.now() - tc) / 1000;
    const hs = w.handshakeMs.sorted();
    await sleep(2000);
    w.rtt.clear();
    w.recording = true;
    await sleep(windowSeconds * 1000);
    w.recording = false;
    const rss = procStatus(child.pid, 'VmRSS') ?? Number.NaN;
    const s = w.rtt.sorted();
    const active = w.active();
    if (child.exited) throw new Error(`${transport} swarm: the node exited`);
    return {
      active,
      failed: w.c.failed,
      dropped: w.c.dropped,
      kbPerPeer: (rss - rss0) / Math.max(1, active),
      rssKB: rss,
      connectSeconds,
      handshakeP50: pct(hs, 50),
      handshakeP99: pct(hs, 99),
      samples: s.length,
      p50: pct(s, 50),
      p99: pct(s, 99),
    };
  } finally {
    w?.stop();
    if (child) await stopNodeChild(child);
    rmSync(datadir, { recursive: true, force: true });
  }
}

/** Node RSS per peer at 2,000 peers, v1 then v2, each a fresh node, in this run. */
async function rssAtPeers(say: (f: Figure) => void, notes: string[]): Promise<void> {
  let peers = envInt('PEERD_BENCH_V2_PEERS', 2000);
  const windowSeconds = envInt('PEERD_BENCH_V2_WINDOW', 8);
  const limit = openFilesLimit();
  if (limit !== null && limit < peers + 200) {
    const n = Math.max(10, limit - 200);
    notes.push(`RSS case: open-files limit (ulimit -n) is ${limit}, too low for ${peers} peers; ran ${n} peers. Raise it with \`ulimit -n ${peers * 2 + 1000}\``);
    peers = n;
  }
  const r: Partial<Record<'v1' | 'v2', SwarmLevel>> = {};
  for (const t of ['v1', 'v2'] as const) {
    const lv = await swarmLevel(t, peers, windowSeconds);
    r[t] = lv;
    const line =
      `RSS case, ${peers} ${t} peers: ${lv.active} active (failed ${lv.failed}, dropped ${lv.dropped}), handshakes in ${lv.connectSeconds.toFixed(1)} s ` +
      `(p50 ${fmt(lv.handshakeP50)} ms, p99 ${fmt(lv.handshakeP99)} ms); ${lv.samples} RTTs in ${windowSeconds} s, p50 ${fmt(lv.p50, 2)} ms p99 ${fmt(lv.p99, 2)} ms; ` +
      `node RSS ${fmt(lv.rssKB / 1024)} MB, ${fmt(lv.kbPerPeer)} KB/peer`;
    notes.push(line);
  }
  const v1 = r.v1;
  const v2 = r.v2;
  if (!v1 || !v2) return;
  const ratio = v2.kbPerPeer / v1.kbPerPeer;
  say({ name: `${peers} peers pinging: node RSS per peer, v2 (fresh node each)`, value: v2.kbPerPeer, unit: 'KB', baseline: { name: 'v1', value: v1.kbPerPeer }, ratio, target: '≤ 1.2× v1', met: ratio <= 1.2 });
  say({ name: `${peers} peers pinging: ping RTT p99, v2`, value: v2.p99, unit: 'ms', baseline: { name: 'v1', value: v1.p99 }, ratio: v2.p99 / v1.p99 });
  say({ name: `${peers} v2 peers: handshake (connect → key exchange → verack) p50`, value: v2.handshakeP50, unit: 'ms', baseline: { name: 'v1', value: v1.handshakeP50 }, ratio: v2.handshakeP50 / v1.handshakeP50 });
  say({ name: `${peers} v2 peers: all handshakes done (${V2_CONNECT_CONCURRENCY} at once)`, value: v2.connectSeconds, unit: 's', baseline: { name: 'v1, 64 at once', value: v1.connectSeconds } });
  if (v1.active !== peers || v2.active !== peers) notes.push(`RSS case: active peers v1 ${v1.active}, v2 ${v2.active} of ${peers}`);
  notes.push('RSS case: RSS per peer = (node RSS after the window − RSS before any peer) / active peers; the scripted peers live in this process, the node in a child; both share the 2 cores');
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
  const ecdh = ecdhMs(5, 100);
  say({ name: 'x-only ECDH per handshake, node:crypto (OpenSSL)', value: ecdh.platform, unit: 'ms', baseline: { name: '@noble/curves', value: ecdh.noble }, ratio: ecdh.noble / ecdh.platform });
  say(memory);
  const notes = [
    'the in-memory figures are the v2 core alone (src/wire/v2); the end-to-end ones are peerd nodes on 127.0.0.1',
    'MB/s count payload bytes; v1 framing includes its SHA256d checksum, v2 its ChaCha20Poly1305 and length cipher',
  ];
  await endToEnd(say, notes);
  await rssAtPeers(say, notes);
  for (const n of notes.slice(2)) process.stdout.write(`  ${n}\n`);
  return { suite: 'v2', figures, notes };
}

const direct = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (direct) {
  const started = Date.now();
  const result = await run();
  process.stdout.write(`\n${markdownTable([result])}\n\n(${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
