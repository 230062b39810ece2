/**
 * `peerd sim`: N scripted peers against one node on loopback, for a duration; reports the
 * node's RSS per peer and CPU (from /proc, when the node is our child), its event-loop delay
 * over the window (getresources over RPC, when the node is our child), the ping RTT the peers
 * see, and messages per second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { USER_HZ, cpuTicks, openFilesLimits, pct, procStatus } from './measure.js';
import { PeerSwarm, grow } from './peers.js';
import { childRpcPort, startNodeChild, stopNodeChild, type NodeChild } from './node.js';
import { rpcCall, type RpcClientOptions } from '../../rpc/client.js';
import type { ResourceReport } from '../../util/resources.js';
import { sleep } from '../../util/sleep.js';

export interface SimOptions {
  readonly peers: number;
  readonly durationS: number;
  readonly pingRate: number;
  readonly addrRate: number;
  readonly getheadersRate: number;
  /** Target this node instead of starting one (loopback only). */
  readonly connect?: { readonly host: string; readonly port: number };
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

export interface SimReport {
  readonly options: {
    readonly peers: number;
    readonly durationS: number;
    readonly pingRate: number;
    readonly addrRate: number;
    readonly getheadersRate: number;
    readonly target: string;
  };
  readonly ok: boolean;
  readonly fdLimit: { readonly soft: number | null; readonly hard: number | null; readonly needed: number };
  readonly peers: { readonly requested: number; readonly handshakes: number; readonly failed: number; readonly dropped: number; readonly activeAtEnd: number; readonly connectSeconds: number; readonly handshakeP50Ms: number | null; readonly handshakeP99Ms: number | null };
  readonly node: {
    readonly pid: number | null;
    readonly rssBeforeKB: number | null;
    readonly rssKB: number | null;
    readonly rssPerPeerKB: number | null;
    /** One core = 100. */
    readonly cpuPct: number | null;
    readonly eventLoopDelayP99Ms: number | null;
    readonly eventLoopDelayNote: string;
    readonly exitedDuringRun: boolean;
    readonly warnings: readonly string[];
  };
  readonly rtt: { readonly samples: number; readonly p50Ms: number | null; readonly p99Ms: number | null; readonly maxMs: number | null };
  readonly messages: {
    readonly windowSeconds: number;
    readonly sent: number;
    readonly received: number;
    readonly perSecond: number;
    readonly pings: number;
    readonly pongs: number;
    readonly latePings: number;
    readonly addr: number;
    readonly getheaders: number;
    readonly headers: number;
    readonly nodePingsAnswered: number;
  };
  readonly sim: { readonly cpuPct: number; readonly eventLoopDelayP99Ms: number };
  readonly notes: readonly string[];
}

/** File descriptors this process needs for N peers (the node needs about as many; it inherits the limit). */
export const fdsNeeded = (peers: number): number => peers + 100;

/** Whether a host names loopback: localhost, 127.0.0.0/8, ::1 (or ::ffff:127.x.y.z). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** HOST:PORT or [V6]:PORT; null if malformed. */
export function parseHostPort(s: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) return null;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host: m[1], port };
}

const orNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

export async function runSim(o: SimOptions): Promise<SimReport> {
  const log = o.log ?? ((): void => {});
  const notes: string[] = [];
  const limits = openFilesLimits();
  const needed = fdsNeeded(o.peers);
  let child: NodeChild | null = null;
  let datadir: string | null = null;
  let swarm: PeerSwarm | null = null;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  try {
    let host = '127.0.0.1';
    let port: number;
    if (o.connect) {
      host = o.connect.host;
      port = o.connect.port;
      notes.push('external node (--connect): its RSS and CPU are not measured (its pid is unknown to the simulation)');
    } else {
      datadir = mkdtempSync(join(tmpdir(), 'peerd-sim-'));
      child = await startNodeChild({ datadir, maxconnections: o.peers + 50, extraArgs: ['--rpcport', '0'] });
      port = child.port;
      await sleep(1000);
    }
    const pid = child?.pid ?? null;
    // Our child's RPC (started with --rpcport 0): its event-loop delay over the window.
    const rpc: RpcClientOptions | null = child && datadir ? { port: await childRpcPort(child), cookieFile: join(datadir, 'regtest', '.cookie'), timeoutMs: 10_000 } : null;
    const nodeResources = async (reset: boolean): Promise<ResourceReport | null> =>
      rpc === null ? null : ((await rpcCall(rpc, 'getresources', [reset]).catch(() => null)) as ResourceReport | null);
    const rss0 = pid !== null ? procStatus(pid, 'VmRSS') : null;
    log(`node ${pid !== null ? `pid ${pid} ` : ''}on ${host}:${port}${rss0 !== null ? `, RSS before any peer ${(rss0 / 1024).toFixed(1)} MB` : ''}; connecting ${o.peers} peers`);

    const w = new PeerSwarm({ host, port, pingRate: o.pingRate, addrRate: o.addrRate, getheadersRate: o.getheadersRate });
    swarm = w;
    w.startScheduler();
    const tc = performance.now();
    await grow(w, o.peers);
    const connectSeconds = (performance.now() - tc) / 1000;
    const hs = w.handshakeMs.sorted();
    log(`${w.c.handshakes} handshakes in ${connectSeconds.toFixed(1)} s (${w.c.failed} failed); measuring for ${o.durationS} s`);
    await sleep(1000); // every peer has pinged once; the node's first pings are answered

    w.rtt.clear();
    w.windowStart = { ...w.c };
    const cpu0 = pid !== null ? cpuTicks(pid) : null;
    const bcpu0 = process.cpuUsage();
    const tw = performance.now();
    loop.reset();
    loop.enable();
    await nodeResources(true);
    w.recording = true;
    await sleep(o.durationS * 1000);
    w.recording = false;
    loop.disable();
    const secs = (performance.now() - tw) / 1000;
    const cpu1 = pid !== null ? cpuTicks(pid) : null;
    const bcpu = process.cpuUsage(bcpu0);
    const rss = pid !== null ? procStatus(pid, 'VmRSS') : null;
    const nodeLoop = (await nodeResources(false))?.eventLoopDelay ?? null;
    const s = w.rtt.sorted();
    const activeAtEnd = w.active();
    const c = w.c;
    const ws = w.windowStart;
    const sent = c.msgsSent - ws.msgsSent;
    const received = c.msgsRecv - ws.msgsRecv;
    const exitedDuringRun = child?.exited ?? false;
    if (exitedDuringRun) notes.push('the node exited during the run');
    if (o.addrRate > 0) notes.push('addr gossip carries 127.x.y.z:1 addresses only: loopback, closed port, so a node that dials them is refused at once');
    if (o.getheadersRate > 0 && c.headersReceived === 0) notes.push('no headers came back: a node in initial block download (a fresh regtest node is) does not answer getheaders, as Bitcoin Core does not');
    notes.push('RTT is measured by the scripted peers in this process, so it includes this process\'s own event-loop delay (shown); both processes share the machine\'s cores');
    const report: SimReport = {
      options: { peers: o.peers, durationS: o.durationS, pingRate: o.pingRate, addrRate: o.addrRate, getheadersRate: o.getheadersRate, target: o.connect ? `${host}:${port}` : 'child regtest node' },
      ok: c.handshakes === o.peers && c.failed === 0 && c.dropped === 0 && !exitedDuringRun,
      fdLimit: { soft: limits ? orNull(limits.soft) : null, hard: limits ? orNull(limits.hard) : null, needed },
      peers: { requested: o.peers, handshakes: c.handshakes, failed: c.failed, dropped: c.dropped, activeAtEnd, connectSeconds, handshakeP50Ms: orNull(pct(hs, 50)), handshakeP99Ms: orNull(pct(hs, 99)) },
      node: {
        pid,
        rssBeforeKB: rss0,
        rssKB: rss,
        rssPerPeerKB: rss !== null && rss0 !== null ? (rss - rss0) / Math.max(1, activeAtEnd) : null,
        cpuPct: cpu0 !== null && cpu1 !== null ? ((cpu1 - cpu0) / USER_HZ / secs) * 100 : null,
        eventLoopDelayP99Ms: nodeLoop?.p99Ms ?? null,
        eventLoopDelayNote: nodeLoop
          ? `the node's own (getresources over RPC), over the window, beyond the 10 ms sampling interval; max ${nodeLoop.maxMs} ms`
          : 'not available: an external node (--connect) is not asked over RPC; the simulation process\'s own loop delay is under sim',
        exitedDuringRun,
        warnings: child ? [...child.warnings] : [],
      },
      rtt: { samples: s.length, p50Ms: orNull(pct(s, 50)), p99Ms: orNull(pct(s, 99)), maxMs: s.length ? s[s.length - 1] : null },
      messages: {
        windowSeconds: secs,
        sent,
        received,
        perSecond: (sent + received) / secs,
        pings: c.pingsSent - ws.pingsSent,
        pongs: c.pongs - ws.pongs,
        latePings: c.late - ws.late,
        addr: c.addrSent - ws.addrSent,
        getheaders: c.getheadersSent - ws.getheadersSent,
        headers: c.headersReceived - ws.headersReceived,
        nodePingsAnswered: c.nodePingsAnswered - ws.nodePingsAnswered,
      },
      // The histogram counts the 1 ms sampling interval itself; report the delay beyond it.
      sim: { cpuPct: ((bcpu.user + bcpu.system) / 1e6 / secs) * 100, eventLoopDelayP99Ms: Math.max(0, loop.percentile(99) / 1e6 - 1) },
      notes,
    };
    return report;
  } finally {
    loop.disable();
    swarm?.stop();
    if (child) await stopNodeChild(child);
    if (datadir) rmSync(datadir, { recursive: true, force: true });
  }
}

const num = (v: number | null, digits = 1, unit = ''): string => (v === null ? 'n/a' : `${v.toFixed(digits)}${unit}`);

/** The human table. */
export function simReportText(r: SimReport): string {
  const rows: [string, string][] = [
    ['target', r.options.target],
    ['peers (handshakes / requested)', `${r.peers.handshakes} / ${r.peers.requested}`],
    ['failed / dropped', `${r.peers.failed} / ${r.peers.dropped}`],
    ['connect time', `${r.peers.connectSeconds.toFixed(1)} s (handshake p50 ${num(r.peers.handshakeP50Ms)} ms, p99 ${num(r.peers.handshakeP99Ms)} ms)`],
    ['rates per peer (ping / addr / getheaders)', `${r.options.pingRate} / ${r.options.addrRate} / ${r.options.getheadersRate} per s`],
    ['window', `${r.messages.windowSeconds.toFixed(1)} s`],
    ['ping RTT p50 / p99 / max', `${num(r.rtt.p50Ms, 2)} / ${num(r.rtt.p99Ms, 2)} / ${num(r.rtt.maxMs, 2)} ms (${r.rtt.samples} samples)`],
    ['messages/s (sent + received by peers)', `${r.messages.perSecond.toFixed(0)} (${r.messages.sent} sent, ${r.messages.received} received)`],
    ['pings / pongs / late', `${r.messages.pings} / ${r.messages.pongs} / ${r.messages.latePings}`],
    ['addr / getheaders / headers', `${r.messages.addr} / ${r.messages.getheaders} / ${r.messages.headers}`],
    ['node RSS', r.node.rssKB === null ? 'n/a' : `${(r.node.rssKB / 1024).toFixed(1)} MB (before peers ${num(r.node.rssBeforeKB === null ? null : r.node.rssBeforeKB / 1024)} MB)`],
    ['node RSS per peer', num(r.node.rssPerPeerKB, 1, ' KB')],
    ['node CPU (one core = 100 %)', num(r.node.cpuPct, 1, ' %')],
    ['node event-loop delay p99', r.node.eventLoopDelayP99Ms === null ? 'n/a (see note)' : `${r.node.eventLoopDelayP99Ms.toFixed(2)} ms`],
    ['sim process CPU / loop delay p99', `${r.sim.cpuPct.toFixed(1)} % / ${r.sim.eventLoopDelayP99Ms.toFixed(2)} ms`],
    ['open-files limit (soft / needed per process)', `${r.fdLimit.soft ?? 'unknown'} / ${r.fdLimit.needed}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
  lines.push(`result: ${r.ok ? 'ok' : 'NOT ok (failed or dropped peers, or the node exited)'}`);
  for (const n of [r.node.eventLoopDelayNote, ...r.notes]) lines.push(`note: ${n}`);
  for (const wl of r.node.warnings.slice(0, 3)) lines.push(`node warning: ${wl}`);
  return lines.join('\n');
}
