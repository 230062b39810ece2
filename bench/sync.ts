/**
 * Sync benchmark (issue 6 "Performance", issue 9's sync figures): `npm run bench -- sync`, or
 * `node dist/bench/sync.js` after `npm run build`.
 *
 * A generated regtest chain of 20,000 blocks with synthetic segwit transactions (21 a block:
 * ≈ 4.9 KB a block, ≈ 99 MB in all) is synced into a fresh peerd from ONE, then from FOUR
 * stub chain peers (`startChainServer`, the code behind `peerd serve-chain`) on 127.0.0.1.
 *
 * - The chain file is generated once and cached under the OS temp dir, keyed by its parameters
 *   (`peerd-bench-chain-b20000-t21-s0-v1.blocks`); a later run reuses it (the notes say which).
 * - The node runs in a child process (bench/sync-node.ts, `startNode` in that process, regtest,
 *   no listener, no RPC server), so that its event-loop delay, RSS and CPU are its own and not
 *   mixed with the stub peers', which serve from this process (their blocks held in memory).
 *   Both share the machine's cores, as they would on one host.
 * - Headers/s: 20,000 ÷ the time from `startNode` resolving to best header = 20,000. Blocks/s
 *   and MB/s: 20,000 blocks and the file's block bytes ÷ the time from `startNode` resolving to
 *   tip = 20,000 (headers phase included). Event-loop delay: perf_hooks.monitorEventLoopDelay
 *   in the node's process over the same span. Peak RSS: the node process's maxrss.
 *
 * Baselines, measured on the same bytes (every 4th block) in this process on one core, just
 * before and just after each sync (their mean: the machine's load drifts):
 * - "hashing floor": the hashing a block check cannot avoid, with the primitive it uses
 *   (node:crypto's one-shot sha256, twice): every transaction's txid (its stripped bytes,
 *   copied out beforehand) and wtxid (its full bytes), both merkle trees over them, the header.
 *   MB/s of block bytes. Target: sync MB/s ≥ 0.5 × this.
 * - "bulk sha256d": one sha256d over each whole block (what one core hashes when per-call cost
 *   vanishes), reported for scale.
 * - headers: sha256d of every 80-byte header (the hashing a header sync cannot avoid).
 * - RSS and event-loop delay: the node process before the sync starts (RSS) and idle for 1 s
 *   after it ends (loop delay).
 *
 * Options (environment): PEERD_BENCH_SYNC_BLOCKS (default 20000), PEERD_BENCH_SYNC_TXS (21),
 * PEERD_BENCH_SYNC_PEERS ("1,4"), PEERD_BENCH_SYNC_THREADS (the node's block-check worker threads;
 * its default, cores − 1, when unset), PEERD_BENCH_CPUPROF=<dir> (the node runs with --cpu-prof
 * into that directory: one profile for the main thread, one per worker).
 */
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hash as oneShot } from 'node:crypto';
import os, { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateChainFile } from '../src/tools/chain/generate.js';
import { readBlockFile } from '../src/tools/chain/blockfile.js';
import { startChainServer, type ChainServer } from '../src/tools/chain/stub-peer.js';
import { Reader } from '../src/wire/buffer.js';
import { decodeBlock } from '../src/wire/block.js';
import { computeMerkleRootPacked } from '../src/wire/merkle.js';
import { envInt, fmt, markdownTable, type Figure, type SuiteResult } from './report.js';
import type { SyncNodeOptions, SyncNodeResult } from './sync-node.js';

const FORMAT_VERSION = 1;

interface ChainFile {
  readonly path: string;
  readonly blocks: number;
  readonly bytes: number;
  readonly cached: boolean;
  readonly generateMs: number;
}

/** The chain file for these parameters, from the cache under the OS temp dir or generated into it. */
export async function chainFile(blocks: number, txsPerBlock: number, seed: number): Promise<ChainFile> {
  const base = join(tmpdir(), `peerd-bench-chain-b${blocks}-t${txsPerBlock}-s${seed}-v${FORMAT_VERSION}`);
  const path = `${base}.blocks`;
  const meta = `${base}.json`;
  if (existsSync(path) && existsSync(meta)) {
    try {
      const m = JSON.parse(readFileSync(meta, 'utf8')) as { blocks: number; fileBytes: number; blockBytes: number };
      if (m.blocks === blocks && statSync(path).size === m.fileBytes) return { path, blocks, bytes: m.blockBytes, cached: true, generateMs: 0 };
    } catch {
      // regenerate
    }
  }
  const tmp = `${path}.${process.pid}.tmp`;
  const r = await generateChainFile(tmp, { blocks, txsPerBlock, seed });
  renameSync(tmp, path);
  const blockBytes = r.bytes - 4 * r.blocks;
  writeFileSync(meta, JSON.stringify({ blocks: r.blocks, fileBytes: r.bytes, blockBytes, txs: r.txs, tip: r.tip, ms: r.ms }) + '\n');
  return { path, blocks, bytes: blockBytes, cached: false, generateMs: r.ms };
}

function sha256d(b: Uint8Array): Buffer {
  return oneShot('sha256', oneShot('sha256', b, 'buffer'), 'buffer');
}

/** What the hashing floor hashes, prepared outside the timed part. */
interface HashWork {
  readonly headers: Buffer[];
  readonly blocks: Buffer[];
  /** Per block: the stripped bytes (copies) and full bytes (views) of every transaction. */
  readonly stripped: Buffer[][];
  readonly full: Buffer[][];
  readonly bytes: number;
}

async function prepare(path: string): Promise<HashWork> {
  const headers: Buffer[] = [];
  const blocks: Buffer[] = [];
  const stripped: Buffer[][] = [];
  const full: Buffer[][] = [];
  let bytes = 0;
  for await (const rec of readBlockFile(path)) {
    const raw = rec.block;
    blocks.push(raw);
    headers.push(raw.subarray(0, 80));
    bytes += raw.length;
    const b = decodeBlock(new Reader(raw));
    const s: Buffer[] = [];
    const f: Buffer[] = [];
    for (const tx of b.txs) {
      const all = tx.raw!;
      f.push(all);
      if (!tx.hasWitness) {
        s.push(all);
        continue;
      }
      // version | inputs and outputs (after marker and flag, up to the witness) | locktime
      const bodyLen = tx.strippedSize - 8;
      s.push(Buffer.concat([all.subarray(0, 4), all.subarray(6, 6 + bodyLen), all.subarray(all.length - 4)]));
    }
    stripped.push(s);
    full.push(f);
  }
  return { headers, blocks, stripped, full, bytes };
}

/** Every `step`-th block is hashed by a pass (the chain's blocks are alike: a sample keeps a pass short). */
const SAMPLE_STEP = 4;

/** One pass of the hashing floor over every `step`-th block; returns MB/s. */
function hashingFloorPass(w: HashWork, step = SAMPLE_STEP): number {
  const most = w.stripped.reduce((m, s) => Math.max(m, s.length), 0);
  const ids = Buffer.allocUnsafe((most + 1) * 32);
  const wids = Buffer.allocUnsafe((most + 1) * 32);
  let bytes = 0;
  for (let i = 0; i < w.blocks.length; i += step) bytes += w.blocks[i].length;
  const t0 = performance.now();
  let sink = 0;
  for (let i = 0; i < w.blocks.length; i += step) {
    sink ^= sha256d(w.headers[i])[0];
    const s = w.stripped[i];
    const f = w.full[i];
    const n = s.length;
    wids.fill(0, 0, 32);
    for (let k = 0; k < n; k++) {
      sha256d(s[k]).copy(ids, k * 32);
      if (k > 0) sha256d(f[k]).copy(wids, k * 32);
    }
    sink ^= computeMerkleRootPacked(ids, n).root[0];
    sink ^= computeMerkleRootPacked(wids, n).root[0];
  }
  if (sink === 0.5) process.stdout.write('');
  return bytes / 1e6 / ((performance.now() - t0) / 1000);
}

/** sha256d over each whole block; MB/s. */
function bulkPass(w: HashWork): number {
  let bytes = 0;
  const t0 = performance.now();
  let sink = 0;
  for (const b of w.blocks) {
    sink ^= sha256d(b)[0];
    bytes += b.length;
  }
  if (sink === 0.5) process.stdout.write('');
  return bytes / 1e6 / ((performance.now() - t0) / 1000);
}

/** sha256d of every header; headers/s. */
function headersPass(w: HashWork): number {
  const t0 = performance.now();
  let sink = 0;
  for (const h of w.headers) sink ^= sha256d(h)[0];
  if (sink === 0.5) process.stdout.write('');
  return w.headers.length / ((performance.now() - t0) / 1000);
}

interface Baselines {
  /** MB/s of block bytes. */
  readonly floorMBs: number;
  readonly bulkMBs: number;
  /** Headers hashed per second. */
  readonly headersPerSec: number;
}

function measureBaselines(w: HashWork): Baselines {
  return { floorMBs: hashingFloorPass(w), bulkMBs: bulkPass(w), headersPerSec: headersPass(w) };
}

/** The mean of the baselines measured just before and just after a sync (the machine's load drifts). */
function around(a: Baselines, b: Baselines): Baselines {
  return { floorMBs: (a.floorMBs + b.floorMBs) / 2, bulkMBs: (a.bulkMBs + b.bulkMBs) / 2, headersPerSec: (a.headersPerSec + b.headersPerSec) / 2 };
}

interface Run {
  readonly peers: number;
  readonly r: SyncNodeResult;
  readonly wallSeconds: number;
  readonly warnings: string[];
}

/** Syncs into a fresh node in a child process from the given stub peers (or any listening peers: peerd nodes), with `extra` options for it. */
export async function syncOnce(servers: readonly Pick<ChainServer, 'port'>[], target: number, cpuprof: string | undefined, extra: Partial<Pick<SyncNodeOptions, 'v2transport'>> = {}): Promise<Run> {
  const datadir = mkdtempSync(join(tmpdir(), 'peerd-bench-sync-'));
  const script = fileURLToPath(new URL('./sync-node.js', import.meta.url));
  const threads = process.env.PEERD_BENCH_SYNC_THREADS;
  const opts: SyncNodeOptions = {
    datadir,
    connect: servers.map((s) => `127.0.0.1:${s.port}`),
    target,
    timeoutMs: 150_000,
    ...(threads === undefined || threads === '' ? {} : { checkThreads: Number(threads) }),
    ...extra,
  };
  const execArgv = cpuprof ? ['--cpu-prof', `--cpu-prof-dir=${cpuprof}`] : [];
  const started = performance.now();
  const child = fork(script, [JSON.stringify(opts)], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const warnings: string[] = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    stderr += s;
    let nl: number;
    while ((nl = stderr.indexOf('\n')) >= 0) {
      const line = stderr.slice(0, nl);
      stderr = stderr.slice(nl + 1);
      if (line.trim() !== '' && warnings.length < 20) warnings.push(line.slice(0, 300));
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const r = await new Promise<SyncNodeResult>((resolve, reject) => {
      child.once('message', (m) => resolve(m as SyncNodeResult));
      child.once('exit', (code, signal) => reject(new Error(`sync node exited (${code ?? signal}) before reporting; ${warnings.slice(-3).join(' | ')}`)));
    });
    const wallSeconds = (performance.now() - started) / 1000;
    child.send('stop');
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
    return { peers: servers.length, r, wallSeconds, warnings };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(datadir, { recursive: true, force: true });
  }
}

function figuresOf(run: Run, chain: ChainFile, base: Baselines, target: number): Figure[] {
  const { r } = run;
  const label = `${run.peers} peer${run.peers === 1 ? '' : 's'}`;
  const hps = target / (r.headersMs / 1000);
  const bps = target / (r.tipMs / 1000);
  const mbs = chain.bytes / 1e6 / (r.tipMs / 1000);
  const floorBps = (base.floorMBs * 1e6 * target) / chain.bytes;
  const mbRatio = mbs / base.floorMBs;
  const withRatio = (f: Figure, ratio: number): Figure => (Number.isFinite(ratio) && ratio > 0 ? { ...f, ratio } : f);
  return [
    { name: `${label}: headers/s (start → best header ${target})`, value: hps, unit: 'headers/s', baseline: { name: 'sha256d of each header, 1 core', value: base.headersPerSec }, ratio: hps / base.headersPerSec, target: '≥ 50,000', met: hps >= 50_000 },
    { name: `${label}: blocks/s (start → tip ${target})`, value: bps, unit: 'blocks/s', baseline: { name: 'hashing floor, 1 core', value: floorBps }, ratio: bps / floorBps },
    { name: `${label}: MB/s (start → tip)`, value: mbs, unit: 'MB/s', baseline: { name: 'hashing floor (txid + wtxid + merkle), 1 core', value: base.floorMBs }, ratio: mbRatio, target: '≥ 0.5× hashing floor', met: mbRatio >= 0.5 },
    withRatio({ name: `${label}: event-loop delay p99 (node, during sync)`, value: r.loopP99, unit: 'ms', baseline: { name: 'idle after sync', value: r.idleLoopP99 }, target: '< 50 ms', met: r.loopP99 < 50 }, r.loopP99 / r.idleLoopP99),
    withRatio({ name: `${label}: event-loop delay max (node, during sync)`, value: r.loopMax, unit: 'ms', baseline: { name: 'idle after sync', value: r.idleLoopMax } }, r.loopMax / r.idleLoopMax),
    { name: `${label}: node peak RSS`, value: r.peakRss / 2 ** 20, unit: 'MiB', baseline: { name: 'RSS at start', value: r.startRss / 2 ** 20 }, ratio: r.peakRss / r.startRss },
  ];
}

export async function run(): Promise<SuiteResult> {
  const notes: string[] = [];
  const note = (s: string): void => {
    notes.push(s);
  };
  const blocks = envInt('PEERD_BENCH_SYNC_BLOCKS', 20_000);
  const txs = envInt('PEERD_BENCH_SYNC_TXS', 21);
  const peerCounts = (process.env.PEERD_BENCH_SYNC_PEERS ?? '1,4').split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
  const cpuprof = process.env.PEERD_BENCH_CPUPROF;
  const load0 = loadavg()[0];

  const chain = await chainFile(blocks, txs, 0);
  note(
    chain.cached
      ? `chain: ${chain.blocks} blocks, ${txs} synthetic txs each, ${fmt(chain.bytes / 1e6)} MB of blocks, reused from the cache ${chain.path} (delete it to regenerate)`
      : `chain: ${chain.blocks} blocks, ${txs} synthetic txs each, ${fmt(chain.bytes / 1e6)} MB of blocks, generated in ${fmt(chain.generateMs / 1000)} s and cached as ${chain.path} for later runs`,
  );
  process.stdout.write(`  ${notes[notes.length - 1]}\n`);

  const work = await prepare(chain.path);
  hashingFloorPass(work, 16); // warm-up
  const bulkSeen: number[] = [];

  const maxPeers = Math.max(...peerCounts);
  const servers: ChainServer[] = [];
  const figures: Figure[] = [];
  try {
    for (let i = 0; i < maxPeers; i++) servers.push(await startChainServer({ blocksFile: chain.path, host: '127.0.0.1', port: 0 }));
    for (const n of peerCounts) {
      const before = servers.map((s) => s.stats.blocks);
      const getdataBefore = servers.reduce((k, s) => k + s.stats.getdata, 0);
      const b0 = measureBaselines(work);
      const run = await syncOnce(servers.slice(0, n), blocks, cpuprof);
      const b1 = measureBaselines(work);
      const base = around(b0, b1);
      bulkSeen.push(base.bulkMBs);
      const baseLine = `${n} peer(s): baselines on one core of this process, before / after the sync: hashing floor ${fmt(b0.floorMBs)} / ${fmt(b1.floorMBs)} MB/s, header sha256d ${fmt(b0.headersPerSec)} / ${fmt(b1.headersPerSec)} /s (their mean is the baseline)`;
      note(baseLine);
      process.stdout.write(`  ${baseLine}\n`);
      const served = servers.slice(0, n).map((s, i) => s.stats.blocks - before[i]);
      const getdatas = servers.reduce((k, s) => k + s.stats.getdata, 0) - getdataBefore;
      const { r } = run;
      if (!r.ok) {
        note(`${n} peer(s): sync failed: ${r.error ?? 'unknown'}`);
        process.stdout.write(`  ${n} peer(s): FAILED: ${r.error ?? ''}\n`);
        continue;
      }
      const line =
        `${n} peer(s): headers in ${fmt(r.headersMs / 1000, 2)} s, tip in ${fmt(r.tipMs / 1000, 2)} s; node start ${fmt(r.startMs)} ms (headers at start ${r.headersAtStart}); ` +
        `loop p50 ${fmt(r.loopP50, 2)} / p99 ${fmt(r.loopP99)} / max ${fmt(r.loopMax)} ms; peak RSS ${fmt(r.peakRss / 2 ** 20)} MiB; ` +
        `node CPU ${fmt(r.cpuSeconds)} s (${fmt((r.cpuSeconds / (r.tipMs / 1000)) * 100)} % of a core; main thread busy ${fmt(r.elu * 100)} %, GC ${fmt(r.gcMs / 1000, 2)} s); ` +
        `${r.minorFaults} page faults; blocks served per peer ${served.join('/')} in ${getdatas} getdata messages`;
      note(line);
      process.stdout.write(`  ${line}\n`);
      for (const w of run.warnings.slice(0, 3)) note(`${n} peer(s): node said: ${w}`);
      figures.push(...figuresOf(run, chain, base, blocks));
    }
    // The stub peers speak v1 only, and the node dials with BIP324 v2 first (as Core): the refused
    // attempt is part of the figures above. The same 1-peer sync without it shows what it costs.
    const first = figures.find((f) => f.name.startsWith('1 peer: headers/s'));
    const v1 = await syncOnce(servers.slice(0, 1), blocks, undefined, { v2transport: false });
    if (first && v1.r.ok) {
      const hps = blocks / (v1.r.headersMs / 1000);
      figures.push({ name: '1 peer, --v2transport 0 (no refused v2 attempt): headers/s', value: hps, unit: 'headers/s', baseline: { name: '1 peer, v2 first', value: first.value }, ratio: hps / first.value });
      note(`1 peer, --v2transport 0: headers in ${fmt(v1.r.headersMs / 1000, 2)} s, tip in ${fmt(v1.r.tipMs / 1000, 2)} s`);
    }
  } finally {
    for (const s of servers) await s.close();
  }
  if (bulkSeen.length > 0) note(`bulk sha256d of whole blocks, for scale (no per-transaction calls): ${bulkSeen.map((b) => fmt(b)).join(' / ')} MB/s on one core`);
  note(`machine load average (1 min) ${fmt(load0, 2)} at the start, ${fmt(loadavg()[0], 2)} at the end, on ${os.cpus().length} cores: the node, its check thread and the stub peers share them with whatever else runs`);
  if (cpuprof) note(`node CPU profiles written to ${cpuprof}`);
  return { suite: 'sync', figures, notes };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const r = await run();
  process.stdout.write(`\n${markdownTable([r])}\n`);
  for (const n of r.notes ?? []) process.stdout.write(`note: ${n}\n`);
  process.stdout.write(`(${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
