/**
 * The soak: one peerd node (a child process, measured through RPC) with 50 simulated inbound
 * peers (src/sim), one outbound `--addnode` peer (a second, in-process regtest node) and the
 * chaos monkey at a low rate, for hours. The chaos runs in rounds (one per interval, rotating
 * target and mode: peers kill/crash/socket/stall, the address book crash, the connection
 * manager crash); simulated peers that lose their connection dial again, as real inbound peers
 * would. At every checkpoint (each minute by default) the invariants are checked:
 *
 * - RPC answering (`uptime`), and how fast;
 * - the chaos round's own invariants (every victim recovered, no escalation, no leak within the
 *   round, …: see src/tools/chaos/runner.ts);
 * - connections refilled: the 50 inbound peers and the outbound one back within 30 s;
 * - no leak growth: actors, runtime timers, sockets, ref'd Node timers and file descriptors
 *   against the baseline taken at the start, with the chaos report's tolerance (src/tools/chaos/leaks.ts);
 * - RSS at most 2 × the baseline RSS (the baseline is taken with every peer connected).
 *
 * Also recorded per checkpoint: the node's event-loop delay over the interval (getresources
 * with reset), the simulated peers' ping RTT p50/p99, dead letters, victims.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startNode, type NodeHandle } from '../../node.js';
import { silentLogger } from '../../log.js';
import { childRpcPort, startNodeChild, stopNodeChild, type NodeChild } from '../sim/node.js';
import { PeerSwarm, PeerState, ScriptPeer } from '../sim/peers.js';
import { USER_HZ, cpuTicks, pct } from '../sim/measure.js';
import { rpcCall, type RpcClientOptions } from '../../rpc/client.js';
import { rpcTarget } from '../chaos/target.js';
import { runChaos, type ChaosReport } from '../chaos/runner.js';
import type { ChaosMode } from '../chaos/scheduler.js';
import { leakRows, leaksOk, type LeakRow } from '../chaos/leaks.js';
import type { ResourceReport } from '../../util/resources.js';
import { sleep } from '../../util/sleep.js';
import { table } from '../../util/table.js';
import { ADDRESSBOOK } from '../../contracts/addressbook.js';
import { CONNMAN } from '../../contracts/connman.js';
import { PEERS } from '../../contracts/peer.js';

export interface SoakOptions {
  /** Total run time, seconds. */
  readonly durationS: number;
  /** Seconds between checkpoints (default 60); each holds one chaos round. */
  readonly intervalS?: number;
  /** Simulated inbound peers (default 50). */
  readonly peers?: number;
  /** Chaos kills per second against peers (default 0.1); other targets get at most 0.04/s. */
  readonly rate?: number;
  readonly seed?: number;
  /** Pings per second per simulated peer (default 1). */
  readonly pingRate?: number;
  /** addr messages per second per simulated peer (default 0.02). */
  readonly addrRate?: number;
  readonly log?: (line: string) => void;
}

export interface SoakRound {
  readonly target: string;
  readonly mode: ChaosMode;
  readonly rate: number;
}

/** Every peer actor, as a chaos target. */
const ALL_PEERS = `${PEERS.path}/*`;

/** The rotation of chaos rounds (never the listeners or the RPC server: port 0 would move). */
export const SOAK_ROUNDS: readonly SoakRound[] = [
  { target: ALL_PEERS, mode: 'kill', rate: 1 },
  { target: ALL_PEERS, mode: 'crash', rate: 1 },
  { target: ALL_PEERS, mode: 'socket', rate: 1 },
  { target: ALL_PEERS, mode: 'stall', rate: 1 },
  { target: ADDRESSBOOK.path, mode: 'crash', rate: 0.4 },
  { target: CONNMAN.path, mode: 'crash', rate: 0.4 },
];

export interface Check {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

export interface Checkpoint {
  readonly n: number;
  /** Seconds since the start. */
  readonly atS: number;
  readonly round: { readonly target: string; readonly mode: ChaosMode; readonly rate: number; readonly victims: number; readonly recoveredMaxMs: number | null; readonly ok: boolean; readonly failed: readonly string[] };
  readonly rpcMs: number | null;
  readonly connections: { readonly inbound: number; readonly outbound: number };
  readonly resources: Pick<ResourceReport, 'actors' | 'timers' | 'sockets' | 'nodeTimers' | 'fds'> & { readonly rssMB: number; readonly heapMB: number };
  /** The node's CPU over the interval (one core = 100), from /proc. */
  readonly cpuPct: number | null;
  readonly loopDelay: { readonly p99Ms: number; readonly maxMs: number };
  readonly rtt: { readonly samples: number; readonly p50Ms: number | null; readonly p99Ms: number | null };
  readonly deadLetters: number;
  readonly leaks: readonly LeakRow[];
  readonly checks: readonly Check[];
  readonly ok: boolean;
}

export interface SoakReport {
  readonly options: { readonly durationS: number; readonly intervalS: number; readonly peers: number; readonly rate: number; readonly seed: number; readonly pingRate: number; readonly addrRate: number };
  readonly startedAt: string;
  readonly elapsedS: number;
  readonly node: { readonly pid: number; readonly exitedDuringRun: boolean; readonly warnings: readonly string[] };
  readonly baseline: { readonly resources: ResourceReport; readonly rssMB: number };
  readonly rssBoundMB: number;
  readonly checkpoints: readonly Checkpoint[];
  readonly totals: {
    readonly victims: number;
    readonly victimsByMode: Record<string, number>;
    readonly failedChecks: number;
    readonly simPeersDropped: number;
    readonly simReconnects: number;
    readonly rttP99MaxMs: number | null;
    readonly loopDelayP99MaxMs: number;
    readonly rssMinMB: number;
    readonly rssMaxMB: number;
    /** Least-squares slope of RSS over the checkpoints, MB per hour (information, not a check). */
    readonly rssSlopeMBPerHour: number | null;
  };
  readonly ok: boolean;
}

const mb = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

/** Keeps `target` simulated peers connected: dials new ones for those that closed. */
class Refiller {
  private timer: NodeJS.Timeout | null = null;
  reconnects = 0;
  constructor(
    private readonly w: PeerSwarm,
    private readonly target: number,
  ) {}
  live(): number {
    let n = 0;
    for (const p of this.w.peers) if (p.state !== PeerState.Closed) n++;
    return n;
  }
  top(): void {
    // Closed peers are dropped from the list so a long run does not keep them all.
    for (let i = this.w.peers.length - 1; i >= 0; i--) if (this.w.peers[i]?.state === PeerState.Closed) this.w.peers.splice(i, 1);
    for (let missing = this.target - this.live(); missing > 0; missing--) {
      this.w.peers.push(new ScriptPeer(this.w, nextId++));
      this.reconnects++;
    }
  }
  start(): void {
    this.timer = setInterval(() => this.top(), 1000);
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
let nextId = 0;

function slope(xs: readonly number[], ys: readonly number[]): number | null {
  const n = xs.length;
  if (n < 3) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

async function until(cond: () => Promise<boolean>, ms: number, every = 250): Promise<boolean> {
  const end = performance.now() + ms;
  for (;;) {
    if (await cond().catch(() => false)) return true;
    if (performance.now() > end) return false;
    await sleep(every);
  }
}

interface PeerRow {
  readonly inbound: boolean;
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? ((): void => {});
  const intervalS = o.intervalS ?? 60;
  const peers = o.peers ?? 50;
  const rate = o.rate ?? 0.1;
  const seed = o.seed ?? 1;
  const pingRate = o.pingRate ?? 1;
  const addrRate = o.addrRate ?? 0.02;
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const sinceS = (): number => Math.round((performance.now() - t0) / 100) / 10;
  const dirs: string[] = [];
  let other: NodeHandle | null = null;
  let child: NodeChild | null = null;
  let swarm: PeerSwarm | null = null;
  let refiller: Refiller | null = null;
  try {
    // The outbound peer: a second regtest node in this process.
    const otherDir = mkdtempSync(join(tmpdir(), 'peerd-soak-b-'));
    dirs.push(otherDir);
    other = await startNode({ network: 'regtest', datadir: otherDir, dnsseed: false, bind: ['127.0.0.1:0'], logger: silentLogger() });
    const [b] = await other.listening();
    const datadir = mkdtempSync(join(tmpdir(), 'peerd-soak-'));
    dirs.push(datadir);
    child = await startNodeChild({ datadir, maxconnections: peers + 50, extraArgs: ['--rpcport', '0', '--addnode', `127.0.0.1:${b?.port ?? 0}`] });
    const node = child;
    const rpc: RpcClientOptions = { port: await childRpcPort(node), cookieFile: join(datadir, 'regtest', '.cookie'), timeoutMs: 10_000 };
    const call = (method: string, params: (string | number | boolean)[] = []): Promise<unknown> => rpcCall(rpc, method, params);
    const conns = async (): Promise<{ inbound: number; outbound: number }> => {
      const list = (await call('getpeerinfo')) as PeerRow[];
      const inbound = list.filter((p) => p.inbound).length;
      return { inbound, outbound: list.length - inbound };
    };
    log(`node pid ${node.pid} on 127.0.0.1:${node.port} (RPC ${rpc.port}), outbound peer 127.0.0.1:${b?.port ?? 0}; connecting ${peers} simulated peers`);

    const w = new PeerSwarm({ port: node.port, pingRate, addrRate });
    swarm = w;
    w.startScheduler();
    const r = new Refiller(w, peers);
    refiller = r;
    r.top();
    r.start();
    const full = async (): Promise<boolean> => {
      const c = await conns();
      return c.inbound >= peers && c.outbound >= 1 && w.active() >= peers;
    };
    if (!(await until(full, 30_000))) throw new Error(`the node did not reach ${peers} inbound peers and its outbound peer within 30 s: ${JSON.stringify(await conns())}`);
    await sleep(2000);
    const baseline = (await call('getresources', [true])) as ResourceReport;
    const rssBoundMB = 2 * mb(baseline.rssBytes);
    let deadBefore = Number(((await call('getdeadletters')) as { total?: number }).total ?? 0);
    w.recording = true;
    w.rtt.clear();
    log(`baseline: ${baseline.actors} actors, ${baseline.timers} timers, ${baseline.sockets} sockets, ${String(baseline.fds)} fds, RSS ${mb(baseline.rssBytes)} MB (bound ${rssBoundMB} MB)`);

    const checkpoints: Checkpoint[] = [];
    const target = rpcTarget(rpc);
    const rounds = Math.max(1, Math.round(o.durationS / intervalS));
    let ticks = cpuTicks(node.pid);
    let ticksAt = performance.now();
    for (let n = 0; n < rounds; n++) {
      const roundStart = performance.now();
      const spec = SOAK_ROUNDS[n % SOAK_ROUNDS.length] as SoakRound;
      const roundRate = spec.target === ALL_PEERS ? rate : Math.min(rate, 0.04);
      // The round leaves ~25 % of the interval (at least 10 s) for recovery and the checks.
      const chaosS = Math.max(2, intervalS * 0.75 - 10);
      let chaos: ChaosReport | null = null;
      let chaosError: string | null = null;
      try {
        chaos = await runChaos(target, { target: spec.target, mode: spec.mode, rate: roundRate, jitter: 0.5, durationS: chaosS, seed: seed * 1000 + n, refillS: 10, stallMs: 500 });
      } catch (err) {
        chaosError = err instanceof Error ? err.message : String(err);
      }
      const checks: Check[] = [];
      const roundOk = chaos !== null && chaos.ok;
      const failed = chaos ? chaos.invariants.filter((i) => !i.pass).map((i) => `${i.name}: ${i.detail}`) : [`chaos round failed: ${chaosError ?? '?'}`];
      checks.push({ name: 'chaos round invariants', pass: roundOk, detail: roundOk ? `${chaos?.victims.length ?? 0} victim(s), all recovered` : failed.join('; ') });

      const tr = performance.now();
      let rpcMs: number | null = null;
      try {
        await call('uptime');
        rpcMs = Math.round(performance.now() - tr);
      } catch {
        rpcMs = null;
      }
      checks.push({ name: 'RPC answering', pass: rpcMs !== null, detail: rpcMs === null ? 'uptime failed' : `uptime in ${rpcMs} ms` });

      const refilled = await until(full, 30_000);
      const c = await conns().catch(() => ({ inbound: -1, outbound: -1 }));
      checks.push({ name: 'connections refilled', pass: refilled, detail: `${c.inbound} inbound (want ${peers}), ${c.outbound} outbound (want ≥ 1)` });

      // Leak growth against the baseline, once settled (up to 10 s).
      let res = (await call('getresources')) as ResourceReport;
      let leaks = leakRows(baseline, res);
      await until(
        async () => {
          res = (await call('getresources')) as ResourceReport;
          leaks = leakRows(baseline, res);
          return leaksOk(leaks);
        },
        10_000,
        500,
      );
      const bad = leaks.filter((l) => !l.pass);
      checks.push({ name: 'no leak growth', pass: bad.length === 0, detail: bad.length === 0 ? 'within tolerance of the baseline' : bad.map((l) => `${l.resource} ${l.after} (baseline ${l.before}, at most ${l.allowed})`).join('; ') });
      const rssMB = mb(res.rssBytes);
      checks.push({ name: 'RSS bounded', pass: rssMB <= rssBoundMB, detail: `${rssMB} MB (bound ${rssBoundMB} MB)` });

      // Rest of the interval, then the loop delay over it.
      await sleep(intervalS * 1000 - (performance.now() - roundStart));
      const loop = ((await call('getresources', [true])) as ResourceReport).eventLoopDelay;
      const dead = Number(((await call('getdeadletters')) as { total?: number }).total ?? 0);
      const ticksNow = cpuTicks(node.pid);
      const cpuPct = ticks !== null && ticksNow !== null ? Math.round(((ticksNow - ticks) / USER_HZ / ((performance.now() - ticksAt) / 1000)) * 1000) / 10 : null;
      ticks = ticksNow;
      ticksAt = performance.now();
      const s = w.rtt.sorted();
      w.rtt.clear();
      const cp: Checkpoint = {
        n: n + 1,
        atS: sinceS(),
        round: {
          target: spec.target,
          mode: spec.mode,
          rate: roundRate,
          victims: chaos?.victims.length ?? 0,
          recoveredMaxMs: chaos && chaos.victims.length > 0 ? Math.max(...chaos.victims.map((v) => v.recoveryMs ?? 0)) : null,
          ok: roundOk,
          failed,
        },
        rpcMs,
        connections: c,
        resources: { actors: res.actors, timers: res.timers, sockets: res.sockets, nodeTimers: res.nodeTimers, fds: res.fds, rssMB, heapMB: mb(res.heapUsedBytes) },
        cpuPct,
        loopDelay: { p99Ms: loop.p99Ms, maxMs: loop.maxMs },
        rtt: { samples: s.length, p50Ms: s.length ? pct(s, 50) : null, p99Ms: s.length ? pct(s, 99) : null },
        deadLetters: dead - deadBefore,
        leaks,
        checks,
        ok: checks.every((k) => k.pass) && !node.exited,
      };
      deadBefore = dead;
      checkpoints.push(cp);
      log(checkpointLine(cp));
    }

    const victims = checkpoints.reduce((a, cp) => a + cp.round.victims, 0);
    const byMode: Record<string, number> = {};
    for (const cp of checkpoints) byMode[cp.round.mode] = (byMode[cp.round.mode] ?? 0) + cp.round.victims;
    const rss = checkpoints.map((cp) => cp.resources.rssMB);
    const rtts = checkpoints.map((cp) => cp.rtt.p99Ms).filter((x): x is number => x !== null);
    const report: SoakReport = {
      options: { durationS: o.durationS, intervalS, peers, rate, seed, pingRate, addrRate },
      startedAt,
      elapsedS: sinceS(),
      node: { pid: node.pid, exitedDuringRun: node.exited, warnings: [...node.warnings] },
      baseline: { resources: baseline, rssMB: mb(baseline.rssBytes) },
      rssBoundMB,
      checkpoints,
      totals: {
        victims,
        victimsByMode: byMode,
        failedChecks: checkpoints.reduce((a, cp) => a + cp.checks.filter((k) => !k.pass).length, 0),
        simPeersDropped: w.c.dropped,
        simReconnects: r.reconnects - peers,
        rttP99MaxMs: rtts.length ? Math.max(...rtts) : null,
        loopDelayP99MaxMs: Math.max(0, ...checkpoints.map((cp) => cp.loopDelay.p99Ms)),
        rssMinMB: Math.min(...rss),
        rssMaxMB: Math.max(...rss),
        rssSlopeMBPerHour: ((): number | null => {
          const k = slope(
            checkpoints.map((cp) => cp.atS / 3600),
            rss,
          );
          return k === null ? null : Math.round(k * 10) / 10;
        })(),
      },
      ok: checkpoints.every((cp) => cp.ok) && !node.exited,
    };
    return report;
  } finally {
    refiller?.stop();
    swarm?.stop();
    if (child) await stopNodeChild(child);
    if (other) await other.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

const f1 = (x: number | null): string => (x === null ? '-' : x.toFixed(1));

function checkpointLine(cp: Checkpoint): string {
  return `#${cp.n} ${cp.atS}s ${cp.round.mode} ${cp.round.target}: ${cp.round.victims} victim(s); in ${cp.connections.inbound} out ${cp.connections.outbound}; RSS ${cp.resources.rssMB} MB; heap ${cp.resources.heapMB} MB; CPU ${String(cp.cpuPct)} %; fds ${String(cp.resources.fds)}; loop p99 ${cp.loopDelay.p99Ms} ms; RTT p99 ${f1(cp.rtt.p99Ms)} ms; ${cp.ok ? 'ok' : 'FAIL: ' + cp.checks.filter((k) => !k.pass).map((k) => k.name).join(', ')}`;
}

/** The human report: one row per checkpoint, then the totals and any failed check. */
export function soakReportText(r: SoakReport): string {
  const o = r.options;
  const out: string[] = [
    `soak: ${o.durationS} s, checkpoint every ${o.intervalS} s, ${o.peers} simulated peers (ping ${o.pingRate}/s, addr ${o.addrRate}/s each) + 1 outbound, chaos ${o.rate}/s on peers (≤ 0.04/s elsewhere), seed ${o.seed}; node pid ${r.node.pid}`,
    `baseline: ${r.baseline.resources.actors} actors, ${r.baseline.resources.timers} timers, ${r.baseline.resources.sockets} sockets, ${String(r.baseline.resources.fds)} fds, RSS ${r.baseline.rssMB} MB (bound ${r.rssBoundMB} MB)`,
    '',
    table(
      ['#', 'at s', 'chaos', 'victims', 'max recov ms', 'rpc ms', 'in/out', 'actors', 'timers', 'sockets', 'fds', 'RSS MB', 'heap MB', 'CPU %', 'loop p99/max ms', 'RTT p50/p99 ms', 'dead letters', 'result'],
      r.checkpoints.map((cp) => [
        String(cp.n),
        String(cp.atS),
        `${cp.round.mode} ${cp.round.target}`,
        String(cp.round.victims),
        cp.round.recoveredMaxMs === null ? '-' : String(cp.round.recoveredMaxMs),
        cp.rpcMs === null ? 'FAIL' : String(cp.rpcMs),
        `${cp.connections.inbound}/${cp.connections.outbound}`,
        String(cp.resources.actors),
        String(cp.resources.timers),
        String(cp.resources.sockets),
        String(cp.resources.fds ?? '-'),
        String(cp.resources.rssMB),
        String(cp.resources.heapMB),
        cp.cpuPct === null ? '-' : String(cp.cpuPct),
        `${cp.loopDelay.p99Ms.toFixed(1)}/${cp.loopDelay.maxMs.toFixed(0)}`,
        `${f1(cp.rtt.p50Ms)}/${f1(cp.rtt.p99Ms)}`,
        String(cp.deadLetters),
        cp.ok ? 'ok' : 'FAIL',
      ]),
    ),
    '',
  ];
  const t = r.totals;
  out.push(
    `victims: ${t.victims} (${Object.entries(t.victimsByMode).map(([k, v]) => `${k} ${v}`).join(', ')}); simulated peers dropped ${t.simPeersDropped}, redialled ${t.simReconnects}`,
    `RSS ${t.rssMinMB}–${t.rssMaxMB} MB (slope ${t.rssSlopeMBPerHour === null ? 'n/a' : `${t.rssSlopeMBPerHour} MB/h`}); worst loop-delay p99 ${t.loopDelayP99MaxMs} ms; worst RTT p99 ${f1(t.rttP99MaxMs)} ms`,
  );
  for (const cp of r.checkpoints) for (const k of cp.checks) if (!k.pass) out.push(`checkpoint ${cp.n}: ${k.name} FAILED: ${k.detail}`);
  out.push(r.ok ? `all invariants held at all ${r.checkpoints.length} checkpoints` : `INVARIANT BROKEN (${t.failedChecks} failed check(s)${r.node.exitedDuringRun ? ', the node exited' : ''})`);
  return out.join('\n');
}
