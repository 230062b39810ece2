/**
 * The node side of the sync benchmark (bench/sync.ts), run as a child process with an IPC
 * channel: `node dist/bench/sync-node.js '<json options>'`. It starts a regtest peerd in this
 * process (`startNode`, silent logs except warnings and errors on stderr, no listener, no RPC
 * server) connected only to the stub chain peers it is given, and measures from inside:
 *
 * - the time from `startNode` resolving until the best header reaches `target`, and until the
 *   tip does (the block actor's introspection record, read every `pollMs`, 5 ms by default);
 * - this process's event-loop delay over the sync (perf_hooks.monitorEventLoopDelay at 1 ms
 *   resolution; the 1 ms interval itself is subtracted, as in bench/peers.ts);
 * - its peak RSS (VmHWM) and CPU time (user + system, all threads).
 *
 * It sends one `{ type: 'result', … }` message, then stops the node and exits when the parent
 * says `stop` (or disconnects).
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver, performance as perf } from 'node:perf_hooks';
import { pino } from 'pino';
import { startNode } from '../src/node.js';

export interface SyncNodeOptions {
  readonly datadir: string;
  /** HOST:PORT of each stub chain peer. */
  readonly connect: readonly string[];
  /** Height the sync must reach. */
  readonly target: number;
  /** Give up after this long, ms. */
  readonly timeoutMs: number;
  readonly pollMs?: number;
  /** Worker threads for block checks (the node's default when absent). */
  readonly checkThreads?: number;
  /** --v2transport (the node's default, on, when absent): the connect peers are dialled with BIP324 v2 when on. */
  readonly v2transport?: boolean;
}

export interface SyncNodeResult {
  readonly type: 'result';
  readonly ok: boolean;
  readonly error?: string;
  /** startNode() took this long, ms. */
  readonly startMs: number;
  /** Best header when startNode resolved (should be 0: nothing arrived before the clock started). */
  readonly headersAtStart: number;
  readonly headersMs: number;
  readonly tipMs: number;
  readonly height: number;
  readonly headers: number;
  /** Event-loop delay over the sync (startNode resolved → tip), ms beyond the 1 ms sampling interval. */
  readonly loopP50: number;
  readonly loopP99: number;
  readonly loopMax: number;
  /** Event-loop delay over 1 s of idling after the tip was reached (the baseline), ms. */
  readonly idleLoopP99: number;
  readonly idleLoopMax: number;
  /** Peak RSS of this process, bytes. */
  readonly peakRss: number;
  /** RSS when startNode resolved, bytes. */
  readonly startRss: number;
  /** CPU seconds (user + system, every thread) from startNode resolved to tip. */
  readonly cpuSeconds: number;
  /** Minor page faults of the process over the same span. */
  readonly minorFaults: number;
  /** Main-thread garbage-collection pauses over the same span, ms. */
  readonly gcMs: number;
  /** Main-thread event-loop utilisation over the same span (0..1). */
  readonly elu: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Peak RSS of this process, bytes: VmHWM from /proc (getrusage's maxrss is not usable here: on
 * Linux it survives execve, so a child starts with its parent's peak), else maxrss.
 */
function peakRss(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

function send(m: SyncNodeResult): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      process.stdout.write(JSON.stringify(m) + '\n');
      resolve();
      return;
    }
    process.send(m, () => resolve());
  });
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as SyncNodeOptions;
  const pollMs = opts.pollMs ?? 5;
  const logger = pino({ level: 'warn', base: null }, pino.destination(2));
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const t0 = performance.now();
  const node = await startNode({
    network: 'regtest',
    datadir: opts.datadir,
    dnsseed: false,
    listen: false,
    server: false,
    connect: [...opts.connect],
    logger,
    tickMs: 100,
    ...(opts.checkThreads === undefined ? {} : { chain: { checkThreads: opts.checkThreads } }),
    ...(opts.v2transport === undefined ? {} : { v2transport: opts.v2transport }),
  });
  const tStart = performance.now();
  const startRss = process.memoryUsage.rss();
  loop.enable();
  const cpu0 = process.cpuUsage();
  const faults0 = process.resourceUsage().minorPageFault;
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  const elu0 = perf.eventLoopUtilization();
  // The block actor's introspection record, read without a turn in its mailbox (an RPC call
  // every few ms would queue behind, and delay, the messages being measured).
  const info = async (): Promise<{ blocks: number; headers: number }> => {
    const s = node.actors('/root/chain')[0]?.summary as { height?: unknown; headers?: unknown } | undefined;
    if (typeof s?.height === 'number' && typeof s.headers === 'number') return { blocks: s.height, headers: s.headers };
    return (await node.chainCall('getblockchaininfo')) as unknown as { blocks: number; headers: number };
  };
  const headersAtStart = (await info()).headers;
  let headersMs = Number.NaN;
  let tipMs = Number.NaN;
  let last = { blocks: 0, headers: 0 };
  let error: string | undefined;
  const deadline = tStart + opts.timeoutMs;
  for (;;) {
    last = await info();
    const now = performance.now();
    if (Number.isNaN(headersMs) && last.headers >= opts.target) headersMs = now - tStart;
    if (last.blocks >= opts.target) {
      tipMs = now - tStart;
      break;
    }
    if (now > deadline) {
      error = `timed out at height ${last.blocks}, headers ${last.headers}`;
      break;
    }
    await sleep(pollMs);
  }
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  const minorFaults = process.resourceUsage().minorPageFault - faults0;
  const elu = perf.eventLoopUtilization(elu0).utilization;
  gc.disconnect();
  const ms = (ns: number): number => Math.max(0, ns / 1e6 - 1);
  const during = { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) };
  const peakRssBytes = peakRss();
  // The baseline: the same process with nothing to sync, for one second.
  const idle = monitorEventLoopDelay({ resolution: 1 });
  idle.enable();
  await sleep(1000);
  idle.disable();
  await send({
    type: 'result',
    ok: error === undefined,
    ...(error === undefined ? {} : { error }),
    startMs: tStart - t0,
    headersAtStart,
    headersMs,
    tipMs,
    height: last.blocks,
    headers: last.headers,
    loopP50: during.p50,
    loopP99: during.p99,
    loopMax: during.max,
    idleLoopP99: ms(idle.percentile(99)),
    idleLoopMax: ms(idle.max),
    peakRss: peakRssBytes,
    startRss,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    minorFaults,
    gcMs,
    elu,
  });
  const stop = async (): Promise<void> => {
    await node.stop().catch(() => undefined);
    process.exit(0);
  };
  if (!process.send) return stop();
  process.on('message', (m) => {
    if (m === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
}

await main();
