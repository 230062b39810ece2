/**
 * `peerd top`'s data: one snapshot of a running node, read over JSON-RPC, and the pure functions
 * that turn the node's replies into rows. Every reader is defensive: a reply of the wrong shape
 * becomes "no data" plus a note, never an exception, so a bad reply cannot crash the screen.
 */
import type { Json, JsonObject } from '../rpc/protocol.js';

export interface PeerRow {
  readonly id: number;
  readonly addr: string;
  readonly inbound: boolean;
  readonly connType: string;
  /** getpeerinfo's transport_protocol_type: 'v1', 'v2' or 'detecting' ('' when the node does not say). */
  readonly transport: string;
  readonly subver: string;
  /** Round trip of the last ping, ms; null before the first pong. */
  readonly pingMs: number | null;
  readonly bytesRecv: number;
  readonly bytesSent: number;
  /** Bytes/s, 0 = unlimited; null when the node does not say. */
  readonly recvLimit: number | null;
  readonly sendLimit: number | null;
}

/** One actor of the supervision tree, flattened in display order with its depth. */
export interface ActorRow {
  readonly path: string;
  readonly name: string;
  readonly depth: number;
  readonly kind: string;
  readonly status: string;
  readonly mailbox: number;
  readonly mailboxHighWater: number;
  readonly restarts: number;
}

export interface NetInfo {
  readonly subversion: string;
  readonly connections: number;
  readonly connectionsIn: number;
  readonly connectionsOut: number;
  readonly networkActive: boolean;
}

export interface Totals {
  readonly recv: number;
  readonly sent: number;
  readonly timeMs: number;
}

/** getblockchaininfo: not asked yet, not served by this node (-32601), its figures, or an error. */
export type SyncState =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'none' }
  | { readonly kind: 'ok'; readonly chain: string | null; readonly blocks: number; readonly headers: number; readonly progress: number | null; readonly ibd: boolean | null }
  | { readonly kind: 'error'; readonly message: string };

export interface Snapshot {
  readonly peers: readonly PeerRow[] | null;
  readonly net: NetInfo | null;
  readonly totals: Totals | null;
  readonly tree: readonly ActorRow[] | null;
  readonly sync: SyncState;
  readonly uptimeS: number | null;
  /** Node unreachable or a reply we could not read; shown in the status line. */
  readonly error: string | null;
  /** When the last successful poll finished (ms since epoch); null before the first. */
  readonly fetchedAt: number | null;
}

export const EMPTY_SNAPSHOT: Snapshot = { peers: null, net: null, totals: null, tree: null, sync: { kind: 'unknown' }, uptimeS: null, error: null, fetchedAt: null };

const isObj = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** getpeerinfo → rows; entries without a numeric id are skipped; null when the reply is not a list. */
export function parsePeers(r: Json): PeerRow[] | null {
  if (!Array.isArray(r)) return null;
  const out: PeerRow[] = [];
  for (const p of r) {
    if (!isObj(p)) continue;
    const id = num(p.id);
    if (id === null) continue;
    const ping = num(p.pingtime);
    out.push({
      id,
      addr: str(p.addr) ?? '?',
      inbound: p.inbound === true,
      connType: str(p.connection_type) ?? '',
      transport: str(p.transport_protocol_type) ?? '',
      subver: str(p.subver) ?? '',
      pingMs: ping === null ? null : ping * 1000,
      bytesRecv: num(p.bytesrecv) ?? 0,
      bytesSent: num(p.bytessent) ?? 0,
      recvLimit: num(p.recv_limit),
      sendLimit: num(p.send_limit),
    });
  }
  return out;
}

/** getactortree → rows in depth-first order (at most `max`, so a huge tree stays cheap). */
export function flattenTree(r: Json, max = 500): ActorRow[] | null {
  if (!Array.isArray(r)) return null;
  const out: ActorRow[] = [];
  const walk = (nodes: readonly Json[], depth: number): void => {
    for (const n of nodes) {
      if (out.length >= max) return;
      if (!isObj(n)) continue;
      const path = str(n.path);
      if (path === null) continue;
      out.push({
        path,
        name: str(n.name) ?? path.slice(path.lastIndexOf('/') + 1),
        depth,
        kind: str(n.kind) ?? '',
        status: str(n.status) ?? '',
        mailbox: num(n.mailbox) ?? 0,
        mailboxHighWater: num(n.mailboxHighWater) ?? 0,
        restarts: num(n.restarts) ?? 0,
      });
      if (Array.isArray(n.children)) walk(n.children, depth + 1);
    }
  };
  walk(r, 0);
  return out;
}

export function parseNetInfo(r: Json): NetInfo | null {
  if (!isObj(r)) return null;
  const connections = num(r.connections) ?? 0;
  const connectionsIn = num(r.connections_in) ?? 0;
  return {
    subversion: str(r.subversion) ?? '',
    connections,
    connectionsIn,
    connectionsOut: num(r.connections_out) ?? connections - connectionsIn,
    networkActive: r.networkactive !== false,
  };
}

export function parseTotals(r: Json): Totals | null {
  if (!isObj(r)) return null;
  const recv = num(r.totalbytesrecv);
  const sent = num(r.totalbytessent);
  const timeMs = num(r.timemillis);
  return recv === null || sent === null || timeMs === null ? null : { recv, sent, timeMs };
}

export function parseSync(r: Json): SyncState {
  if (!isObj(r)) return { kind: 'error', message: 'bad getblockchaininfo reply' };
  const blocks = num(r.blocks);
  const headers = num(r.headers);
  if (blocks === null || headers === null) return { kind: 'error', message: 'bad getblockchaininfo reply' };
  return {
    kind: 'ok',
    chain: str(r.chain),
    blocks,
    headers,
    progress: num(r.verificationprogress),
    ibd: typeof r.initialblockdownload === 'boolean' ? r.initialblockdownload : null,
  };
}

/** The host part of `host:port` / `[v6]:port` (what setban takes). */
export function hostOf(addr: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(addr);
  if (v6) return v6[1];
  const i = addr.lastIndexOf(':');
  return i > 0 && addr.indexOf(':') === i ? addr.slice(0, i) : addr;
}

// ---- bandwidth history

export interface RateSample {
  /** End of the interval, ms since epoch (the node's clock, timemillis). */
  readonly at: number;
  /** Bytes per second over the interval. */
  readonly recv: number;
  readonly send: number;
}

export interface Bandwidth {
  readonly last: Totals | null;
  /** Oldest first, covering at most `windowMs`. */
  readonly samples: readonly RateSample[];
}

export const EMPTY_BANDWIDTH: Bandwidth = { last: null, samples: [] };

/**
 * Adds a getnettotals reading: the rate since the previous one becomes a sample; samples older
 * than `windowMs` are dropped. A counter that went backwards (node restarted) or a clock that did
 * not advance starts over from this reading.
 */
export function addTotals(b: Bandwidth, t: Totals, windowMs = 60_000): Bandwidth {
  const prev = b.last;
  if (prev === null || t.timeMs <= prev.timeMs || t.recv < prev.recv || t.sent < prev.sent) {
    return { last: t, samples: prev !== null && (t.recv < prev.recv || t.sent < prev.sent) ? [] : b.samples };
  }
  const dt = (t.timeMs - prev.timeMs) / 1000;
  const sample: RateSample = { at: t.timeMs, recv: (t.recv - prev.recv) / dt, send: (t.sent - prev.sent) / dt };
  return { last: t, samples: [...b.samples, sample].filter((s) => s.at > t.timeMs - windowMs) };
}

/**
 * The samples of the `windowMs` before `endMs` spread over `cells` equal slices of time, each the
 * mean of the samples that ended in it (null where none did), oldest first.
 */
export function timeBuckets(samples: readonly RateSample[], pick: (s: RateSample) => number, endMs: number, windowMs: number, cells: number): (number | null)[] {
  const n = Math.max(0, Math.floor(cells));
  const sum = new Array<number>(n).fill(0);
  const count = new Array<number>(n).fill(0);
  const start = endMs - windowMs;
  for (const s of samples) {
    if (s.at <= start || s.at > endMs || n === 0) continue;
    const i = Math.min(n - 1, Math.floor(((s.at - start) / windowMs) * n - 1e-9));
    sum[i] += pick(s);
    count[i]++;
  }
  return sum.map((v, i) => (count[i] > 0 ? v / count[i] : null));
}

const BARS = '▁▂▃▄▅▆▇█';

/** A sparkline, one cell per value, scaled to their maximum; a null value is a blank cell. */
export function sparkline(values: readonly (number | null)[]): string {
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  return values
    .map((v) => (v === null ? ' ' : max <= 0 ? BARS[0] : BARS[Math.min(BARS.length - 1, Math.max(0, Math.round((v / max) * (BARS.length - 1))))]))
    .join('');
}

// ---- formatting

export function fmtBytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)} kB`;
  if (n < 1_000_000_000) return `${(n / 1_000_000).toFixed(1)} MB`;
  return `${(n / 1_000_000_000).toFixed(2)} GB`;
}

export const fmtRate = (n: number): string => `${fmtBytes(n)}/s`;

/** A limit in bytes/s: 0 is unlimited, null unknown. */
export function fmtLimit(n: number | null): string {
  if (n === null) return '?';
  return n === 0 ? '∞' : fmtBytes(n);
}

export function fmtDuration(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${sec}s`;
  return `${sec}s`;
}
