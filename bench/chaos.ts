/**
 * Chaos recovery benchmark (issue 9, "chaos recovery times"): the chaos runner in-process
 * against a regtest node connected to 8 stub chain peers (addnode) and synced to their
 * 1,000-block chain, measuring how long the node takes to heal:
 *
 * - peers: 8 peer actors killed within a second; per victim, until the connection count is
 *   back to its level before the kill, and in all, from the first kill until the last slot
 *   refilled. Baseline: a clean connect of the same 8 peers (addnode, all at once) measured in
 *   the same run. The refill waits for the addnode retry backoff (1 s × 1–1.2) by design.
 * - the address book and the block actor, each crashed twice: until the replacement's init is
 *   done (it is up), and until it handled its first message. Baseline: the same runner crashing
 *   a trivial worker (whose 1 ms timer gives it a message at once) in a bare runtime.
 *
 * Never more than 3 restarts of the root's children within 5 s (its intensity). Takes ~30 s.
 * `npm run bench -- chaos`, or directly: `node dist/bench/chaos.js`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setRootLogger, silentLogger } from '../src/log.js';
import { startNode, type NodeHandle } from '../src/node.js';
import { generateChainFile } from '../src/tools/chain/generate.js';
import { startChainServer, type ChainServer } from '../src/tools/chain/stub-peer.js';
import { handleTarget, runChaos, type ChaosReport, type ChaosTarget } from '../src/tools/chaos/index.js';
import { Runtime, defineActor, startSupervisor, worker } from '../supervisors/index.js';
import { fmt, type Figure, type SuiteResult } from './report.js';

const PEERS = 8;
const BLOCKS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`bench chaos: timed out waiting for ${what}`);
    await sleep(2);
  }
}

const activePeers = async (node: NodeHandle): Promise<number> => (await node.peers()).filter((p) => p.phase === 'active').length;

/** A trivial worker with a 1 ms timer: its replacement handles a message as soon as it is up. */
const ticker = defineActor<number, { type: 'tick' }, void>({
  name: 'ticker',
  init: (_a, ctx) => {
    ctx.timers.interval('tick', 1, { type: 'tick' });
    return 0;
  },
  handle: (n) => n + 1,
});

/** The chaos runner's view of a bare runtime (no connections, no address book). */
function runtimeTarget(rt: Runtime): ChaosTarget {
  const none = (): Promise<number> => Promise.reject(new Error('no such thing in a bare runtime'));
  return {
    where: 'in-process',
    list: (p) => Promise.resolve(rt.list(p)),
    kill: (path, mode, ms) => Promise.resolve(rt.kill(path, mode, { ms })),
    alive: () => Promise.resolve(rt.list('/root').length === 1),
    connectionCount: none,
    deadLetters: () => Promise.resolve(rt.deadLetters().total),
    addrmanTotal: none,
    bannedCount: none,
    nactActorCount: () => rt.nactActorCount(),
  };
}

function checked(r: ChaosReport, what: string): ChaosReport {
  const broken = r.invariants.filter((i) => !i.pass);
  if (broken.length > 0) throw new Error(`bench chaos: ${what}: invariant broken: ${broken.map((i) => `${i.name}: ${i.detail}`).join('; ')}`);
  return r;
}

/** Recovery (replacement up) and first-message times of the victims, ms. */
function restartTimes(r: ChaosReport): { up: number[]; first: number[] } {
  return {
    up: r.victims.map((v) => v.recoveryMs).filter((x): x is number => x !== null),
    first: r.victims.map((v) => v.firstMessageMs).filter((x): x is number => x !== null),
  };
}

export async function run(): Promise<SuiteResult> {
  setRootLogger(silentLogger());
  const dir = mkdtempSync(join(tmpdir(), 'peerd-bench-chaos-'));
  const servers: ChainServer[] = [];
  let node: NodeHandle | null = null;
  const rt = new Runtime();
  try {
    const file = join(dir, 'chain.blocks');
    await generateChainFile(file, { blocks: BLOCKS, txsPerBlock: 1, seed: 5 });
    for (let i = 0; i < PEERS; i++) servers.push(await startChainServer({ blocksFile: file, host: '127.0.0.1', port: 0 }));
    node = await startNode({ network: 'regtest', datadir: join(dir, 'node'), dnsseed: false, bind: ['127.0.0.1:0'], logger: silentLogger(), tickMs: 100, automaticOutbound: false });
    const n = node;

    // Baseline: a clean connect of the same peers, all at once.
    const c0 = performance.now();
    for (const s of servers) await n.addnode(`127.0.0.1:${s.port}`, 'add');
    await until(`${PEERS} peers`, async () => (await activePeers(n)) === PEERS, 20_000);
    const cleanConnectMs = performance.now() - c0;
    await until(`synced to ${BLOCKS}`, async () => Number(await n.chainCall('getblockcount')) === BLOCKS, 60_000);

    const target = handleTarget(n);
    const opts = { jitter: 0, refillS: 15, pollMs: 1 } as const;

    // The address book, crashed twice (at 1 s and 2 s).
    const book = checked(await runChaos(target, { ...opts, target: 'addressbook', mode: 'crash', rate: 1, durationS: 2.5, seed: 1 }), 'address book');
    const bookFirstKill = performance.now() - (book.elapsedMs - book.victims[0]!.atMs);

    // Every peer killed within a second.
    const peers = checked(await runChaos(target, { ...opts, target: 'peers/*', mode: 'kill', rate: PEERS, durationS: (PEERS + 0.5) / PEERS, seed: 2 }), 'peers');
    const peerRecovery = peers.victims.map((v) => v.recoveryMs).filter((x): x is number => x !== null);
    const backAt = Math.max(...peers.victims.map((v) => v.atMs + (v.recoveryMs ?? 0)));
    const refilledMs = backAt - Math.min(...peers.victims.map((v) => v.atMs));
    const afterLastKillMs = backAt - Math.max(...peers.victims.map((v) => v.atMs));

    // The block actor, crashed twice; first at least 5 s after the address book's first crash.
    await sleep(Math.max(0, 5000 - (performance.now() - bookFirstKill) - 900));
    const chain = checked(await runChaos(target, { ...opts, target: 'chain', mode: 'crash', rate: 1, durationS: 2.5, seed: 3 }), 'block actor');

    // Baseline for restarts: the same runner crashing a trivial worker in a bare runtime.
    await startSupervisor(rt, { intensity: 100, period: 5, children: [worker(ticker, undefined, { id: 'w' })] });
    const bare = checked(await runChaos(runtimeTarget(rt), { ...opts, target: '/root/w', mode: 'crash', rate: 4, durationS: 2.6, seed: 4 }), 'bare worker');

    const b = restartTimes(bare);
    const ab = restartTimes(book);
    const ch = restartTimes(chain);
    const baseFirst = median(b.first);
    const figures: Figure[] = [
      {
        name: `${PEERS} peers killed within 1 s: until the outbound count refilled`,
        value: refilledMs,
        unit: 'ms',
        baseline: { name: `clean connect of ${PEERS} peers`, value: cleanConnectMs },
        ratio: refilledMs / cleanConnectMs,
      },
      { name: 'from the last peer kill until the outbound count refilled', value: afterLastKillMs, unit: 'ms', target: 'addnode backoff 1–1.2 s + a dial' },
      { name: 'address book crash: replacement handled its 1st message, median', value: median(ab.first), unit: 'ms', baseline: { name: 'trivial worker', value: baseFirst }, ratio: median(ab.first) / baseFirst },
      { name: 'address book crash: replacement up (init done), median', value: median(ab.up), unit: 'ms', baseline: { name: 'trivial worker', value: median(b.up) }, ratio: median(ab.up) / median(b.up) },
      { name: `block actor crash (${BLOCKS} blocks stored): replacement handled its 1st message, median`, value: median(ch.first), unit: 'ms', baseline: { name: 'trivial worker', value: baseFirst }, ratio: median(ch.first) / baseFirst },
      { name: `block actor crash (${BLOCKS} blocks stored): replacement up (init done), median`, value: median(ch.up), unit: 'ms', baseline: { name: 'trivial worker', value: median(b.up) }, ratio: median(ch.up) / median(b.up) },
    ];
    return {
      suite: 'chaos',
      figures,
      notes: [
        `in-process regtest node, ${PEERS} stub chain peers by addnode, ${BLOCKS} blocks synced; chaos runner polling every 1 ms (times include up to ~1 ms of polling)`,
        `victims: peers ${peers.victims.length} (the count back to its level before each kill after ${peerRecovery.map((x) => fmt(x, 0)).join(', ')} ms), address book ${book.victims.length}, block actor ${chain.victims.length}, trivial worker ${bare.victims.length}; every invariant held`,
        'a killed peer is dialled again after the addnode backoff (1 s × 1–1.2), which dominates its refill time; the clean connect has no backoff',
      ],
    };
  } finally {
    await rt.stop().catch(() => undefined);
    if (node) await node.stop().catch(() => undefined);
    for (const s of servers) await s.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await run();
  for (const f of r.figures) console.log(`${f.name}: ${fmt(f.value)} ${f.unit}${f.baseline ? `; ${f.baseline.name} ${fmt(f.baseline.value)} ${f.unit}` : ''}${f.ratio !== undefined ? `; ${fmt(f.ratio, 2)}×` : ''}`);
  for (const n of r.notes ?? []) console.log(`note: ${n}`);
}
