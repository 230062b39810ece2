/**
 * Hostile-peers benchmark (issue 16): for each attack, the node's peak RSS growth and an honest
 * peer's ping p99 during the attack, beside an honest-traffic baseline measured in the same run
 * and beside Bitcoin Core v30 under the same attack (when `bitcoind` is found: ../shared/bin/ or
 * PATH). Targets from the issue: RSS growth ≤ 64 MB per attack and ≤ 2× Core's; honest ping p99
 * < 100 ms during any attack.
 *
 * Both nodes hold the same chain: `regtest-2000.blocks` (../shared/fixtures/, mined by Core v30),
 * synced once from a stub chain peer into a template datadir, which every case copies, so each
 * case starts a fresh process (its RSS its own: a heap grown by one attack does not hide the
 * next one's growth). Without the fixture a generated chain is used and Core is skipped (Core
 * would reject the generated chain's transactions). Everything on 127.0.0.1, regtest, no seeds.
 *
 * Per case: start the node, connect the honest peer (a raw v1 peer that handshakes), 1 s of
 * pings to warm up, read RSS, then the attack (or the honest traffic) for the window
 * (PEERD_BENCH_HOSTILE_SECONDS, default 5) while the honest peer pings every 20 ms (one ping
 * outstanding at a time) and VmRSS is read every 100 ms. Growth = peak − RSS before. A case that
 * grows past 1,024 MB is stopped there (the machine is shared) and says so. A pong that has not
 * come after 3 s counts as an RTT of 3 s (a lower bound), ends the honest peer's measurement and
 * is noted.
 *
 * The attacks (issue 16's findings):
 * - getdata flood: one peer that never reads sends a getdata of 50,000 × the chain's largest
 *   block every second;
 * - getheaders flood: one non-reader sends 1,000 getheaders from genesis every second;
 * - witness tx before version: two peers each send 4 MB `tx` frames of ~4 M empty witness items,
 *   before any version, back to back (a new connection when the node closes one);
 * - unknown commands: one peer sends 200,000 distinct unknown commands (empty payloads);
 * - trickled partial frames: 20 peers each write a frame declaring 4,000,000 bytes, one byte per
 *   write;
 * - low-work header fork: one peer sends forks from genesis of half the chain's height (well below
 *   tip work − 144 blocks), 20 distinct ones in turn, 1,000 headers a message, every 50 ms;
 * - mix: 40 peers, the six above shared out among them (7, 7, 7, 7, 6, 6).
 * Honest traffic (the baseline): 40 peers that handshake, read everything and ping 5 times a second.
 *
 * Every attack's bytes are built before its window; the attackers still share this process (and
 * the machine's cores) with the honest peer, so a heavy attack delays the measuring side too —
 * Core's column under the same attack shows how much. The RSS ratio divides by Core's growth
 * floored at 1 MB (below that it is sampling noise).
 *
 * `npm run bench -- hostile`, or `node dist/bench/hostile.js` after a build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { rpcCall, type RpcClientOptions } from '../src/rpc/client.js';
import type { Json } from '../src/rpc/protocol.js';
import { generateChain, type GeneratedBlock } from '../src/tools/chain/generate.js';
import { readBlockFile, writeBlockFile } from '../src/tools/chain/blockfile.js';
import { startChainServer, type ChainServer } from '../src/tools/chain/stub-peer.js';
import { procStatus } from '../src/tools/sim/measure.js';
import { childRpcPort, killAllChildren, startNodeChild, stopNodeChild, type NodeChild } from '../src/tools/sim/node.js';
import type { BlockHeader } from '../src/wire/block.js';
import { coreBin, freePort } from '../test/helpers/core.js';
import { rawFrame } from '../test/helpers/faults.js';
import { fixturePath } from '../test/helpers/fixtures.js';
import { GENESIS, handshakeBytes, honestLoop, invPayload, locatorPayload, MAX_INV, MAX_PAYLOAD, MSG_WITNESS_BLOCK, percentile, Session, witnessHeavyTx } from '../test/helpers/hostile.js';
import { frame, RawPeer } from '../test/helpers/raw-peer.js';
import { envInt, fmt, markdownTable, type Figure, type SuiteResult } from './report.js';

const WINDOW_MS = envInt('PEERD_BENCH_HOSTILE_SECONDS', 5) * 1000;
const CAP_MB = 1024;
/** How long the honest peer waits for one pong; a longer wait counts as this RTT (a lower bound) and ends its measurement. */
const PONG_WAIT_MS = 3000;
const RSS_TARGET_MB = 64;
const P99_TARGET_MS = 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- the nodes --------------------------------------------------------------------------------------

/** A running node under test: its P2P port, its pid (for /proc) and how to stop it. */
interface Running {
  readonly port: number;
  readonly pid: number;
  alive(): boolean;
  stop(): Promise<void>;
}

interface Impl {
  readonly name: 'peerd' | 'Core v30';
  /** Starts a fresh node on a copy of the template datadir. */
  start(): Promise<Running>;
}

async function pollRpc(rpc: RpcClientOptions, method: string, ok: (r: Json) => boolean, ms: number, alive: () => boolean): Promise<void> {
  const end = performance.now() + ms;
  for (;;) {
    const r = await rpcCall(rpc, method, []).catch(() => null);
    if (r !== null && ok(r)) return;
    if (!alive()) throw new Error(`the node exited while waiting for ${method}`);
    if (performance.now() > end) throw new Error(`${method}: no satisfying answer within ${ms} ms`);
    await sleep(100);
  }
}

async function startPeerd(datadir: string, extra: readonly string[]): Promise<{ child: NodeChild; rpc: RpcClientOptions }> {
  mkdirSync(datadir, { recursive: true });
  const child = await startNodeChild({ datadir, maxconnections: 200, extraArgs: ['--rpcport', '0', ...extra] });
  const rpc = { port: await childRpcPort(child), cookieFile: join(datadir, 'regtest', '.cookie'), timeoutMs: 30_000 };
  return { child, rpc };
}

function peerdImpl(template: string, scratch: string): Impl {
  let n = 0;
  return {
    name: 'peerd',
    async start() {
      const dir = join(scratch, `peerd-${n++}`);
      cpSync(template, dir, { recursive: true });
      const { child } = await startPeerd(dir, []);
      return {
        port: child.port,
        pid: child.pid,
        alive: () => !child.exited,
        async stop() {
          await stopNodeChild(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

interface CoreProc {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly rpc: RpcClientOptions;
  exited: boolean;
}

/** Every bitcoind started here, killed if this process exits first. */
const liveCore = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of liveCore) p.kill('SIGKILL');
});

async function startCore(bitcoind: string, datadir: string, extra: readonly string[]): Promise<CoreProc> {
  mkdirSync(datadir, { recursive: true });
  const port = await freePort();
  const rpcport = await freePort();
  const proc = spawn(
    bitcoind,
    [
      '-regtest', `-datadir=${datadir}`, '-listen=1', `-bind=127.0.0.1:${port}`, '-listenonion=0', '-server=1', '-rpcbind=127.0.0.1',
      '-rpcallowip=127.0.0.1', `-rpcport=${rpcport}`, '-rpcuser=peerd', '-rpcpassword=bench', '-dnsseed=0', '-fixedseeds=0', '-discover=0',
      '-natpmp=0', '-v2transport=0', '-printtoconsole=0', ...extra,
    ],
    { stdio: 'ignore' },
  );
  const c: CoreProc = { proc, port, rpc: { port: rpcport, credentials: 'peerd:bench', timeoutMs: 30_000 }, exited: false };
  liveCore.add(proc);
  proc.once('exit', () => {
    c.exited = true;
    liveCore.delete(proc);
  });
  await pollRpc(c.rpc, 'getblockcount', () => true, 30_000, () => !c.exited);
  return c;
}

async function stopCore(c: CoreProc): Promise<void> {
  if (c.exited) return;
  const gone = new Promise<void>((r) => c.proc.once('exit', () => r()));
  await rpcCall(c.rpc, 'stop', []).catch(() => c.proc.kill('SIGTERM'));
  if (await Promise.race([gone.then(() => false), sleep(15_000).then(() => true)])) {
    c.proc.kill('SIGKILL');
    await gone;
  }
}

function coreImpl(bitcoind: string, template: string, scratch: string): Impl {
  let n = 0;
  return {
    name: 'Core v30',
    async start() {
      const dir = join(scratch, `core-${n++}`);
      cpSync(template, dir, { recursive: true });
      const c = await startCore(bitcoind, dir, ['-connect=0']);
      return {
        port: c.port,
        pid: c.proc.pid ?? -1,
        alive: () => !c.exited,
        async stop() {
          await stopCore(c);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

// --- the chain ----------------------------------------------------------------------------------------

interface Chain {
  readonly file: string;
  readonly height: number;
  /** The largest block's hash (internal order) and size. */
  readonly big: { readonly hash: Buffer; readonly size: number };
  /** Headers messages of low-work forks from genesis, one frame each (≤ 1,000 headers). */
  readonly forks: readonly Buffer[];
  readonly fromFixture: boolean;
}

async function prepareChain(scratch: string): Promise<Chain> {
  const fixture = fixturePath('regtest-2000.blocks');
  let file: string;
  if (fixture !== null) file = fixture;
  else {
    file = join(scratch, 'generated.blocks');
    const small = [...generateChain({ blocks: 299, txsPerBlock: 1, seed: 16 })];
    const last = small[small.length - 1]!;
    const big = [...generateChain({ blocks: 1, txsPerBlock: 400, seed: 16, parent: { header: last.block.header, height: last.height } })];
    await writeBlockFile(file, [...small, ...big].map((b) => b.raw));
  }
  const stub = await startChainServer({ blocksFile: file, host: '127.0.0.1', port: 0 });
  let big: { hash: Buffer; size: number } = { hash: Buffer.alloc(32), size: 0 };
  for await (const r of readBlockFile(file)) if (r.block.length > big.size) big = { hash: stub.index.headers[r.index + 1]!.hash, size: r.block.length };
  const height = stub.height;
  await stub.close();
  // Forks from genesis of half our height: far below tip work − 144 blocks' work.
  const forkLen = Math.min(1000, Math.max(1, Math.floor((height - 144) / 2)));
  const forks: Buffer[] = [];
  for (let seed = 1; seed <= 20; seed++) {
    const headers: BlockHeader[] = [...generateChain({ blocks: forkLen, txsPerBlock: 0, seed: 1000 + seed, spacing: 1 })].map((b: GeneratedBlock) => b.block.header);
    forks.push(frame({ command: 'headers', headers }));
  }
  return { file, height, big, forks, fromFixture: fixture !== null };
}

/** Syncs a fresh peerd (and Core) from a stub chain peer into template datadirs. */
async function templates(chain: Chain, scratch: string, bitcoind: string | null, notes: string[]): Promise<{ peerd: string; core: string | null }> {
  const stub: ChainServer = await startChainServer({ blocksFile: chain.file, host: '127.0.0.1', port: 0 });
  try {
    const peerd = join(scratch, 'template-peerd');
    const { child, rpc } = await startPeerd(peerd, ['--connect', `127.0.0.1:${stub.port}`]);
    try {
      await pollRpc(rpc, 'getblockcount', (r) => r === chain.height, 120_000, () => !child.exited);
    } finally {
      await stopNodeChild(child);
    }
    let core: string | null = null;
    if (bitcoind !== null && chain.fromFixture) {
      const dir = join(scratch, 'template-core');
      const c = await startCore(bitcoind, dir, [`-connect=127.0.0.1:${stub.port}`]);
      try {
        await pollRpc(c.rpc, 'getblockcount', (r) => r === chain.height, 120_000, () => !c.exited);
        core = dir;
      } catch (err) {
        notes.push(`Core v30 did not sync the chain from the stub peer (${(err as Error).message}): Core skipped`);
      } finally {
        await stopCore(c);
      }
    }
    return { peerd, core };
  } finally {
    await stub.close();
  }
}

// --- the attacks -------------------------------------------------------------------------------------

interface AttackCtx {
  readonly port: number;
  readonly chain: Chain;
  readonly stopped: () => boolean;
  readonly sessions: Set<Session>;
}

/** An attack: `prepare` builds its bytes before the window (so that this process's own work does not delay the honest peer's measurement), `run` sends them until stopped. */
interface Attack {
  readonly name: string;
  readonly peers: number;
  prepare(chain: Chain): Prepared;
}
type Prepared = (ctx: AttackCtx, peers: number) => Promise<void>;

/** Runs `body` on a session, and a new one each time the node closes it, until stopped. */
async function persistent(ctx: AttackCtx, body: (s: Session) => Promise<void>): Promise<void> {
  while (!ctx.stopped()) {
    let s: Session;
    try {
      s = await Session.open(ctx.port);
    } catch {
      await sleep(100);
      continue;
    }
    ctx.sessions.add(s);
    try {
      await body(s);
    } finally {
      if (s.closed) ctx.sessions.delete(s);
    }
    if (!s.closed) return; // stopped with the session still open: it is destroyed at the end
    await sleep(50);
  }
}

const many = (peers: number, one: () => Promise<void>): Promise<void> => Promise.all(Array.from({ length: peers }, one)).then(() => undefined);

/** A peer that handshakes, never reads, and sends `bytes` every second. */
function nonReaderFlood(bytes: Buffer): Prepared {
  return (ctx, peers) =>
    many(peers, () =>
      persistent(ctx, async (s) => {
        s.pause();
        await s.write(handshakeBytes());
        while (!s.closed && !ctx.stopped()) {
          await s.write(bytes, 1000);
          for (let i = 0; i < 10 && !ctx.stopped(); i++) await sleep(100);
        }
      }),
    );
}

/** `count` distinct unknown commands with empty payloads, as one buffer of 24-byte frames. */
function unknownCommands(count: number): Buffer {
  const one = rawFrame('u', Buffer.alloc(0));
  const b = Buffer.alloc(24 * count);
  for (let i = 0; i < count; i++) {
    one.copy(b, i * 24);
    b.fill(0, i * 24 + 4, i * 24 + 16);
    b.write(`u${i.toString(36)}`, i * 24 + 4, 'latin1');
  }
  return b;
}

const ATTACKS: readonly Attack[] = [
  {
    name: 'getdata flood of one block from a non-reader',
    peers: 1,
    prepare: (chain) => nonReaderFlood(rawFrame('getdata', invPayload(MAX_INV, () => ({ type: MSG_WITNESS_BLOCK, hash: chain.big.hash })))),
  },
  {
    name: 'getheaders flood from a non-reader',
    peers: 1,
    prepare: () => {
      const one = rawFrame('getheaders', locatorPayload([GENESIS]));
      return nonReaderFlood(Buffer.concat(Array.from({ length: 1000 }, () => one)));
    },
  },
  {
    name: '4 MB witness-heavy tx before version',
    peers: 2,
    prepare: () => {
      const tx = rawFrame('tx', witnessHeavyTx(MAX_PAYLOAD));
      return (ctx, peers) =>
        many(peers, () =>
          persistent(ctx, async (s) => {
            while (!s.closed && !ctx.stopped()) await s.write(tx, 5000);
          }),
        );
    },
  },
  {
    name: '200,000 distinct unknown commands',
    peers: 1,
    prepare: () => {
      const all = unknownCommands(200_000);
      return (ctx, peers) =>
        many(peers, () => {
          let at = 0;
          return persistent(ctx, async (s) => {
            await s.write(handshakeBytes());
            for (; at < all.length && !s.closed && !ctx.stopped(); at += 24 * 4096) await s.write(all.subarray(at, at + 24 * 4096));
            while (!s.closed && !ctx.stopped()) await sleep(100);
          });
        });
    },
  },
  {
    name: '1-byte trickled partial frames',
    peers: 20,
    prepare: () => {
      const head = rawFrame('partial', Buffer.alloc(0), { declaredLength: MAX_PAYLOAD }).subarray(0, 24);
      const one = Buffer.from([0x70]);
      return async (ctx, peers) => {
        const live: { s: Session; sent: number }[] = [];
        const opener = many(peers, () =>
          persistent(ctx, async (s) => {
            await s.write(Buffer.concat([handshakeBytes(), head]));
            const me = { s, sent: 0 };
            live.push(me);
            while (!s.closed && !ctx.stopped()) await sleep(50);
            live.splice(live.indexOf(me), 1);
          }),
        );
        // One byte per write to every open session, a macrotask apart.
        while (!ctx.stopped()) {
          for (const l of live) {
            if (l.s.closed) continue;
            l.s.socket.write(l.sent < MAX_PAYLOAD ? one : head);
            l.sent = l.sent < MAX_PAYLOAD ? l.sent + 1 : 0;
          }
          await new Promise<void>((r) => setImmediate(r));
        }
        await opener;
      };
    },
  },
  {
    name: 'low-work header fork',
    peers: 1,
    prepare: (chain) => (ctx, peers) =>
      many(peers, () =>
        persistent(ctx, async (s) => {
          await s.write(handshakeBytes());
          for (let i = 0; !s.closed && !ctx.stopped(); i++) {
            await s.write(chain.forks[i % chain.forks.length]!);
            await sleep(50);
          }
        }),
      ),
  },
];

/** The six attacks shared out among 40 peers (7, 7, 7, 7, 6, 6). */
const MIX: Attack = {
  name: 'mix of all from 40 peers',
  peers: 40,
  prepare: (chain) => {
    const parts = ATTACKS.map((a) => a.prepare(chain));
    return (ctx) => Promise.all(parts.map((p, i) => p(ctx, i < 4 ? 7 : 6))).then(() => undefined);
  },
};

/** Honest traffic: 40 peers that handshake, read everything and ping 5 times a second. */
const HONEST: Attack = {
  name: 'honest traffic (40 pinging peers)',
  peers: 40,
  prepare: () => (ctx, peers) => many(peers, () =>
    persistent(ctx, async (s) => {
      await s.write(handshakeBytes());
      for (let n = 1n; !s.closed && !ctx.stopped(); n++) {
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(n, 0);
        await s.write(rawFrame('ping', b));
        await sleep(200);
      }
    }),
  ),
};

// --- one case -------------------------------------------------------------------------------------------

interface Measured {
  readonly growthMB: number;
  readonly capped: boolean;
  readonly p99: number;
  readonly pings: number;
  readonly honestFailure: string | null;
  readonly alive: boolean;
}

async function measure(impl: Impl, chain: Chain, attack: Attack): Promise<Measured> {
  const go = attack.prepare(chain);
  const node = await impl.start();
  const sessions = new Set<Session>();
  let honest: RawPeer | null = null;
  try {
    const rss = (): number => (procStatus(node.pid, 'VmRSS') ?? 0) / 1024;
    honest = await RawPeer.connect(node.port);
    await honest.handshake({ timeoutMs: 15_000 });
    const warm = performance.now() + 1000;
    await honestLoop(honest, () => performance.now() >= warm, { everyMs: 20, headersEvery: 0, timeoutMs: 15_000 });
    const before = rss();
    let peak = before;
    let capped = false;
    let stop = false;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss());
      if (peak - before > CAP_MB) {
        capped = true;
        stop = true;
      }
    }, 100);
    const end = performance.now() + WINDOW_MS;
    const stopped = (): boolean => stop || performance.now() >= end;
    const ctx: AttackCtx = { port: node.port, chain, stopped, sessions };
    const attacking = go(ctx, attack.peers);
    const h = await honestLoop(honest, stopped, { everyMs: 20, headersEvery: 0, timeoutMs: PONG_WAIT_MS, countTimeout: true });
    while (!stopped()) await sleep(50); // the attack and the RSS samples go on to the end of the window
    stop = true;
    clearInterval(sampler);
    peak = Math.max(peak, rss());
    for (const s of sessions) s.destroy();
    await Promise.race([attacking, sleep(10_000)]);
    return { growthMB: Math.max(0, peak - before), capped, p99: percentile(h.rtts, 99), pings: h.pongs, honestFailure: h.failure, alive: node.alive() };
  } finally {
    for (const s of sessions) s.destroy();
    await honest?.destroy();
    await node.stop();
  }
}

// --- the suite -------------------------------------------------------------------------------------------

export async function run(): Promise<SuiteResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'peerd-bench-hostile-'));
  const notes: string[] = [];
  const figures: Figure[] = [];
  try {
    const chain = await prepareChain(scratch);
    const bitcoind = coreBin('bitcoind');
    if (bitcoind === null) notes.push('bitcoind (Core v30) not found in ../shared/bin/ nor on PATH: peerd only');
    else if (!chain.fromFixture) notes.push('regtest-2000.blocks not found (../shared/fixtures/): a generated chain, which Core would reject; peerd only');
    const t = await templates(chain, scratch, bitcoind, notes);
    const impls: Impl[] = [peerdImpl(t.peerd, scratch)];
    if (bitcoind !== null && t.core !== null) impls.push(coreImpl(bitcoind, t.core, scratch));
    notes.push(`chain: ${chain.height} blocks (${chain.fromFixture ? 'regtest-2000.blocks' : 'generated'}), largest block ${chain.big.size} bytes; window ${WINDOW_MS / 1000} s per case, a fresh node each`);

    const cases: readonly Attack[] = [HONEST, ...ATTACKS, MIX];
    const results = new Map<string, Map<string, Measured>>();
    for (const c of cases) {
      const byImpl = new Map<string, Measured>();
      for (const impl of impls) {
        const m = await measure(impl, chain, c);
        byImpl.set(impl.name, m);
        process.stderr.write(`  [hostile] ${c.name}, ${impl.name}: RSS +${fmt(m.growthMB)} MB${m.capped ? ' (capped)' : ''}, honest ping p99 ${fmt(m.p99)} ms over ${m.pings} pings${m.honestFailure ? `, ${m.honestFailure.replace(/ \(got: .*$/, '')}` : ''}${m.alive ? '' : ', NODE EXITED'}\n`);
        if (m.capped) notes.push(`${c.name}, ${impl.name}: RSS grew past ${CAP_MB} MB; the attack was stopped there (the figure is a lower bound)`);
        if (m.honestFailure) notes.push(`${c.name}, ${impl.name}: ${m.honestFailure.replace(/ \(got: .*$/, '')} (counted as ${PONG_WAIT_MS} ms; the p99 is a lower bound)`);
        if (!m.alive) notes.push(`${c.name}, ${impl.name}: the node process exited during the attack`);
      }
      results.set(c.name, byImpl);
    }

    const base = results.get(cases[0]!.name)!;
    for (const c of cases) {
      const r = results.get(c.name)!;
      const p = r.get('peerd')!;
      const core = r.get('Core v30');
      const isAttack = c !== cases[0];
      const coreFloor = core ? Math.max(core.growthMB, 1) : null;
      const rssMet = !p.capped && p.growthMB <= RSS_TARGET_MB && (coreFloor === null || p.growthMB <= 2 * coreFloor);
      figures.push({
        name: `hostile ${c.name}: peerd peak RSS growth`,
        value: p.growthMB,
        unit: 'MB',
        ...(core && coreFloor !== null
          ? { baseline: { name: 'Core v30', value: core.growthMB }, ratio: p.growthMB / coreFloor }
          : isAttack
            ? { baseline: { name: 'peerd honest traffic', value: base.get('peerd')!.growthMB } }
            : {}),
        ...(isAttack ? { target: `≤ ${RSS_TARGET_MB} MB${core ? ' and ≤ 2× Core (Core floored at 1 MB)' : ''}`, met: rssMet } : {}),
      });
      const bp = base.get('peerd')!.p99;
      figures.push({
        name: `hostile ${c.name}: peerd honest ping p99`,
        value: p.p99,
        unit: 'ms',
        ...(isAttack ? { baseline: { name: 'peerd honest traffic', value: bp }, ratio: p.p99 / bp } : {}),
        target: `< ${P99_TARGET_MS} ms`,
        met: Number.isFinite(p.p99) && p.p99 < P99_TARGET_MS && p.honestFailure === null,
      });
      if (core) {
        const bc = base.get('Core v30')!.p99;
        figures.push({
          name: `hostile ${c.name}: Core v30 honest ping p99`,
          value: core.p99,
          unit: 'ms',
          ...(isAttack ? { baseline: { name: 'Core v30 honest traffic', value: bc }, ratio: core.p99 / bc } : {}),
        });
      }
    }
    return { suite: 'hostile', figures, notes };
  } finally {
    killAllChildren();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await run();
  process.stdout.write(`\n${markdownTable([r])}\n`);
  for (const n of r.notes ?? []) process.stdout.write(`note: ${n}\n`);
}
