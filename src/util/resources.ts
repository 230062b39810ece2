/**
 * What this process holds, for leak checks and `getresources`: the runtime's actors and their
 * timers, libuv handles and requests by type (`process.getActiveResourcesInfo()`), open file
 * descriptors (`/proc/self/fd`, Linux only), memory, and the event-loop delay from one
 * process-wide `monitorEventLoopDelay` histogram (started on first use; its timer is unref'd,
 * so it never keeps the process alive).
 */
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** The histogram's sampling interval, ms. The recorded delays include it; we subtract it. */
export const LOOP_RESOLUTION_MS = 10;

export interface LoopDelay {
  /** Delay beyond the sampling interval, ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** Samples in the window. */
  readonly samples: number;
  /** Since the histogram started or was last reset, ms. */
  readonly windowMs: number;
}

export interface ProcessResources {
  /** Live libuv handles and requests by type (TCPSocketWrap, TCPServerWrap, Timeout, FSReqCallback…). */
  readonly handles: Record<string, number>;
  /** TCPSocketWrap + TCPServerWrap + PipeWrap. */
  readonly sockets: number;
  /** Node timers (`Timeout` handles: setTimeout/setInterval still pending). */
  readonly nodeTimers: number;
  /** Open file descriptors (entries of /proc/self/fd), null where there is no /proc. */
  readonly fds: number | null;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
}

let hist: IntervalHistogram | null = null;
let windowStart = 0;

/** Starts the process-wide event-loop delay histogram (idempotent). */
export function startLoopMonitor(): void {
  if (hist !== null) return;
  hist = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  hist.enable();
  windowStart = performance.now();
}

const ms = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
const round = (x: number): number => Math.round(x * 1000) / 1000;

/** The event-loop delay since the monitor started or was last reset; `reset` starts a new window. */
export function loopDelay(reset = false): LoopDelay {
  startLoopMonitor();
  const h = hist as IntervalHistogram;
  const n = h.count;
  const out: LoopDelay = {
    p50Ms: n > 0 ? round(ms(h.percentile(50))) : 0,
    p99Ms: n > 0 ? round(ms(h.percentile(99))) : 0,
    maxMs: n > 0 ? round(ms(h.max)) : 0,
    meanMs: n > 0 ? round(ms(h.mean)) : 0,
    samples: n,
    windowMs: Math.round(performance.now() - windowStart),
  };
  if (reset) {
    h.reset();
    windowStart = performance.now();
  }
  return out;
}

/** Entries of /proc/self/fd (the listing's own descriptor is not counted), or null without /proc. */
export function openFds(): number | null {
  try {
    return Math.max(0, readdirSync('/proc/self/fd').length - 1);
  } catch {
    return null;
  }
}

export function processResources(): ProcessResources {
  const handles: Record<string, number> = {};
  for (const t of process.getActiveResourcesInfo()) handles[t] = (handles[t] ?? 0) + 1;
  const mem = process.memoryUsage();
  return {
    handles,
    sockets: (handles.TCPSocketWrap ?? 0) + (handles.TCPServerWrap ?? 0) + (handles.PipeWrap ?? 0),
    nodeTimers: handles.Timeout ?? 0,
    fds: openFds(),
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    externalBytes: mem.external,
  };
}

/** The part of a registry record resources are counted from (ActorInfo, or listactors over RPC). */
export interface ActorTimers {
  readonly path: string;
  readonly timers: readonly string[];
}

export interface ActorResources {
  readonly actors: number;
  /** Of which peer actors (the children of the peers supervisor). */
  readonly peerActors: number;
  /** Runtime timers (ActorInfo.timers) summed over every actor. */
  readonly timers: number;
  /** The same over the actors that are not peers. */
  readonly nonPeerTimers: number;
  /** Per actor with at least one timer, the count (peers folded into one `<peers>/*` line). */
  readonly timersByActor: Record<string, number>;
}

/** Counts actors and timers; `peersPath` is the peers supervisor's path (its children are counted as peers, folded into one line). */
export function actorResources(list: readonly ActorTimers[], peersPath: string): ActorResources {
  const prefix = `${peersPath}/`;
  const isPeer = (path: string): boolean => path.length > prefix.length && path.startsWith(prefix) && !path.includes('/', prefix.length);
  let timers = 0;
  let nonPeer = 0;
  let peers = 0;
  const by: Record<string, number> = {};
  for (const a of list) {
    const n = a.timers.length;
    const peer = isPeer(a.path);
    if (peer) peers++;
    timers += n;
    if (n === 0) continue;
    const key = peer ? `${prefix}*` : a.path;
    if (!peer) nonPeer += n;
    by[key] = (by[key] ?? 0) + n;
  }
  return { actors: list.length, peerActors: peers, timers, nonPeerTimers: nonPeer, timersByActor: by };
}

/** `getresources`: the node's actors and timers, this process's handles, descriptors, memory and loop delay. */
export interface ResourceReport extends ActorResources, ProcessResources {
  readonly eventLoopDelay: LoopDelay;
  readonly uptimeS: number;
}

export function resourceReport(actors: readonly ActorTimers[], peersPath: string, resetLoop = false): ResourceReport {
  return { ...actorResources(actors, peersPath), ...processResources(), eventLoopDelay: loopDelay(resetLoop), uptimeS: Math.round(process.uptime()) };
}
