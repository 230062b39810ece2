/**
 * Address manager benchmark (issue 5): insert 1,000,000 gossiped addresses (batches of 10 from
 * 100,000 sources in many groups, 2 h penalty, as `addr` handling does), then 100,000 outbound
 * selections; snapshot size and time, restore time; RSS per stored address measured in a fresh
 * child `node --expose-gc` per store. Baseline in the same run: a naive Map<string, object>
 * store of the same addresses (no buckets, no bound) with uniform random selection. Then select
 * on a sparse table of hopeless entries (the soak's case), and the journal figures of
 * bench/journal.ts (addresses/s through the actor with and without it, loading 100,000).
 * `npm run bench -- addrman`, or directly: `node dist/bench/addrman.js`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { AddrMan, addrKey, seededRandom } from '../src/addressbook/addrman.js';
import type { NetAddress, TimedNetAddress } from '../src/wire/address.js';
import { figureLine, type Figure, type SuiteResult } from './report.js';
import { journalFigures } from './journal.js';

const NOW = 1_700_000_000;
const INSERTS = 1_000_000;
const BATCH = 10;
const SELECTS = 100_000;
const KEY = Buffer.alloc(32, 0x42);

/** Public IPv4 addresses, consecutive ones in different /16s. */
function addrAt(i: number): TimedNetAddress {
  const n = Math.imul(i, 0x9e3779b1) >>> 0;
  const r = Math.floor(n / 80);
  return { network: 'ipv4', addr: Buffer.from([11 + (n % 80), r & 255, (r >>> 8) & 255, (r >>> 16) & 255]), port: 8333, services: 0x409n, time: NOW - (i % 7200) };
}

function sourceAt(batch: number): NetAddress {
  // 100,000 sources over 80 × 256 /16s (public 11..90.x).
  return { network: 'ipv4', addr: Buffer.from([11 + (batch % 80), (batch >>> 7) & 255, batch & 127, 1]), port: 8333, services: 0n };
}

function workload(): { addrs: TimedNetAddress[][]; sources: NetAddress[] } {
  const addrs: TimedNetAddress[][] = [];
  const sources: NetAddress[] = [];
  for (let b = 0; b < INSERTS / BATCH; b++) {
    const batch: TimedNetAddress[] = [];
    for (let j = 0; j < BATCH; j++) batch.push(addrAt(b * BATCH + j));
    addrs.push(batch);
    sources.push(sourceAt(b));
  }
  return { addrs, sources };
}

interface NaiveEntry {
  addr: TimedNetAddress;
  source: NetAddress;
  lastTry: number;
  lastSuccess: number;
  attempts: number;
}

function buildOurs(w: ReturnType<typeof workload>): AddrMan {
  const am = new AddrMan({ key: KEY, random: seededRandom(1) });
  for (let b = 0; b < w.addrs.length; b++) am.add(w.addrs[b], w.sources[b], 7200, NOW);
  return am;
}

function buildNaive(w: ReturnType<typeof workload>): Map<string, NaiveEntry> {
  const m = new Map<string, NaiveEntry>();
  for (let b = 0; b < w.addrs.length; b++) {
    for (const a of w.addrs[b]) {
      const k = addrKey(a);
      const e = m.get(k);
      if (e === undefined) m.set(k, { addr: { ...a, time: a.time - 7200 }, source: w.sources[b], lastTry: 0, lastSuccess: 0, attempts: 0 });
    }
  }
  return m;
}

type MemResult = { stored: number; rssPerAddr: number; heapPerAddr: number };

/**
 * Child mode: with the whole workload already in memory, build one store and report how much
 * the process grew (the workload stays referenced, so only the store and its garbage count).
 */
function memChild(which: string, want: number): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  const w = workload();
  gc?.();
  gc?.();
  const m0 = process.memoryUsage();
  let stored: number;
  let keep: AddrMan | Map<string, NaiveEntry>;
  if (which === 'ours') {
    const am = buildOurs(w);
    stored = am.size;
    keep = am;
  } else {
    // The naive store keeps all it gets: give it as many addresses as addrman kept.
    const m = new Map<string, NaiveEntry>();
    for (let b = 0; m.size < want; b++) {
      for (const a of w.addrs[b]) m.set(addrKey(a), { addr: { ...a, time: a.time - 7200 }, source: w.sources[b], lastTry: 0, lastSuccess: 0, attempts: 0 });
    }
    stored = m.size;
    keep = m;
  }
  gc?.();
  gc?.();
  const m1 = process.memoryUsage();
  const out: MemResult = { stored, rssPerAddr: (m1.rss - m0.rss) / stored, heapPerAddr: (m1.heapUsed + m1.arrayBuffers - m0.heapUsed - m0.arrayBuffers) / stored };
  process.stdout.write(JSON.stringify(out) + '\n');
  if (keep.size < 0 || w.addrs.length < 0) process.stdout.write('');
}

function memory(which: 'ours' | 'naive', want: number): MemResult | null {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--mem', which, String(want)], { encoding: 'utf8', timeout: 120_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as MemResult;
  } catch {
    return null;
  }
}

export async function run(): Promise<SuiteResult> {
  const notes: string[] = [];
  const figures: Figure[] = [];
  const w = workload();

  // Warm up both on a slice, then measure.
  {
    const am = new AddrMan({ key: KEY, random: seededRandom(9) });
    for (let b = 0; b < 5000; b++) am.add(w.addrs[b], w.sources[b], 7200, NOW);
  }
  let t0 = performance.now();
  const am = buildOurs(w);
  const insertS = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const naive = buildNaive(w);
  const naiveInsertS = (performance.now() - t0) / 1000;
  const inserts = INSERTS / insertS;
  const naiveInserts = INSERTS / naiveInsertS;
  figures.push({ name: 'insert (1M gossiped addresses)', value: inserts, unit: 'addr/s', baseline: { name: 'naive Map', value: naiveInserts }, ratio: inserts / naiveInserts, target: '≥ 100,000 addr/s', met: inserts >= 100_000 });
  notes.push(`stored ${am.size} of ${INSERTS} (new ${am.newCount}, tried ${am.triedCount}); the naive Map keeps ${naive.size}, unbounded`);

  // Some tried entries, as a running node has.
  const rnd = seededRandom(5);
  let promoted = 0;
  t0 = performance.now();
  for (let i = 0; i < 5000; i++) {
    const e = am.select({ nowSec: NOW, newOnly: true });
    if (e !== null && am.good(e.addr, NOW - 86400)) promoted++;
  }
  const goodMs = (performance.now() - t0) / 5000;
  notes.push(`${promoted} promoted to tried by good(): ${goodMs.toFixed(3)} ms per select+good (good scans the 1024 new buckets as Core does)`);

  t0 = performance.now();
  let found = 0;
  for (let i = 0; i < SELECTS; i++) {
    const e = am.select({ nowSec: NOW });
    if (e !== null) found++;
    if (i % 10 === 0 && e !== null) am.attempt(e.addr, true, NOW);
  }
  const selects = SELECTS / ((performance.now() - t0) / 1000);
  const values = [...naive.values()];
  t0 = performance.now();
  let nf = 0;
  for (let i = 0; i < SELECTS; i++) {
    const e = values[Math.floor(rnd() * values.length)];
    if (e.lastTry >= 0) nf++;
  }
  const naiveSelects = SELECTS / ((performance.now() - t0) / 1000);
  figures.push({ name: 'select outbound candidate (100k)', value: selects, unit: 'select/s', baseline: { name: 'naive uniform pick', value: naiveSelects }, ratio: selects / naiveSelects });
  if (found !== SELECTS || nf !== SELECTS) notes.push(`selects found ${found}/${SELECTS}`);
  figures.push({ name: 'select cost', value: 1e6 / selects, unit: 'µs/select' });
  figures.push({ name: 'insert cost', value: 1e6 / inserts, unit: 'µs/addr' });

  t0 = performance.now();
  let ga = 0;
  for (let i = 0; i < 20; i++) ga += am.getAddr({ max: 1000, maxPct: 23, nowSec: NOW }).length;
  figures.push({ name: 'getAddr (1000 of the table)', value: (performance.now() - t0) / 20, unit: 'ms' });
  if (ga !== 20_000) notes.push(`getAddr returned ${ga / 20} per call`);

  t0 = performance.now();
  const snap = am.serialize();
  const serMs = performance.now() - t0;
  const naiveJson = JSON.stringify([...naive.values()].slice(0, am.size), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
  figures.push({ name: 'snapshot size', value: snap.length / am.size, unit: 'B/addr', baseline: { name: 'JSON of naive entries', value: Buffer.byteLength(naiveJson) / am.size }, ratio: Buffer.byteLength(naiveJson) / snap.length });
  figures.push({ name: 'snapshot total', value: snap.length / 1024 / 1024, unit: 'MiB' });
  figures.push({ name: 'serialize', value: serMs, unit: 'ms' });
  t0 = performance.now();
  const back = AddrMan.restore(snap, { key: KEY });
  const restMs = performance.now() - t0;
  figures.push({ name: 'restore (with consistency check)', value: restMs, unit: 'ms' });
  if (back.size !== am.size) notes.push(`restore kept ${back.size} of ${am.size}`);

  // The soak's case: 80 loopback addresses from one source (one new bucket), all tried and failed a moment ago.
  {
    const sparse = new AddrMan({ key: KEY, random: seededRandom(3), allowLocal: true });
    const src: NetAddress = { network: 'ipv4', addr: Buffer.from([127, 0, 0, 1]), port: 0, services: 0n };
    for (let i = 0; i < 200; i++) sparse.add([{ network: 'ipv4', addr: Buffer.from([127, 1 + (i % 200), (i * 7) & 255, 1]), port: 1, services: 0x409n, time: NOW - 60 }], src, 0, NOW);
    sparse.good({ network: 'ipv4', addr: Buffer.from([127, 0, 0, 2]), port: 1, services: 0n }, NOW - 100);
    for (const e of [...sparse.entries()]) sparse.attempt(e.addr, true, NOW - 10);
    const n = 20_000;
    t0 = performance.now();
    for (let i = 0; i < n; i++) sparse.select({ nowSec: NOW });
    figures.push({ name: `select on a sparse table (${sparse.size} entries in ${sparse.usedNewBuckets()} bucket(s), all failed just now)`, value: ((performance.now() - t0) * 1000) / n, unit: 'µs/select' });
  }

  const ours = memory('ours', 0);
  const base = ours === null ? null : memory('naive', ours.stored);
  if (ours !== null) {
    figures.push({
      name: 'RSS per stored address',
      value: ours.rssPerAddr,
      unit: 'B',
      ...(base !== null ? { baseline: { name: 'naive Map', value: base.rssPerAddr }, ratio: base.rssPerAddr / ours.rssPerAddr } : {}),
      target: '< 200 B',
      met: ours.rssPerAddr < 200,
    });
    figures.push({ name: 'heap+buffers per stored address', value: ours.heapPerAddr, unit: 'B', ...(base !== null ? { baseline: { name: 'naive Map', value: base.heapPerAddr }, ratio: base.heapPerAddr / ours.heapPerAddr } : {}) });
    notes.push(`memory measured in a fresh node --expose-gc child: ${ours.stored} addresses stored (includes the fixed 327 KiB bucket tables)`);
  } else notes.push('memory child failed');
  const j = await journalFigures();
  figures.push(...j.figures);
  notes.push(...j.notes);
  return { suite: 'addrman', figures, notes };
}

const argv = process.argv;
const direct = argv[1] !== undefined && resolve(argv[1]) === fileURLToPath(import.meta.url);
if (direct && argv[2] === '--mem') memChild(argv[3] ?? 'ours', Number(argv[4] ?? 0));
else if (direct) {
  const r = await run();
  for (const f of r.figures) process.stdout.write(`  ${figureLine(f)}\n`);
  for (const n of r.notes ?? []) process.stdout.write(`  note: ${n}\n`);
}
