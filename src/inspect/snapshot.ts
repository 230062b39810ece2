/**
 * What the inspector page shows, computed without I/O: `sample(state, input)` takes the runtime's
 * tree, the peers, the node's byte totals, chain info, exits and disconnects read at one moment,
 * and returns the JSON snapshot the page renders plus the next sampler state (the previous
 * `handled` counters for messages/s, the bandwidth history, each peer's ping history).
 * Tested without sockets or clocks: the caller passes `now`.
 */
import type { ActorKind, ExitRecord, TreeNode } from '../../supervisors/index.js';
import { peerName, type PeerInfo } from '../contracts/peer.js';
import type { DisconnectRecord } from '../contracts/connman.js';
import { knownServiceNames } from '../wire/constants.js';
import { toJson, type Json, type JsonObject } from '../rpc/protocol.js';

/** Bandwidth points kept: one a second, ten minutes. */
export const BANDWIDTH_POINTS = 600;
/** Ping samples kept per peer. */
export const PING_SAMPLES = 120;
/** With no new pong, a peer's last RTT is still sampled this often, ms (so the chart shows time passing). */
export const PING_RESAMPLE_MS = 10_000;
/** Exits and disconnects sent to the page. */
export const RECENT_ROWS = 50;
/** Samples of the block height the sync rate is measured over. */
const SYNC_WINDOW = 10;

/** A supervisor's flags and how much of its restart intensity is in use now. */
export interface SupervisorView {
  readonly strategy: string;
  readonly children: number;
  readonly running: number;
  readonly restartsInPeriod: number;
  readonly maxRestarts: number;
  readonly periodMs: number;
}

export interface ActorRow {
  readonly path: string;
  readonly name: string;
  /** worker, supervisor or dynamic_supervisor. */
  readonly kind: ActorKind;
  /** The name without its instance number: `peer` for `peer-12`, `listener` for `listener-0`. */
  readonly type: string;
  readonly restart: string | null;
  readonly status: string;
  readonly incarnation: number;
  readonly restarts: number;
  readonly uptimeMs: number;
  readonly mailbox: number;
  readonly mailboxHighWater: number;
  readonly handled: number;
  /** Messages handled per second since the previous sample. */
  readonly rate: number;
  readonly lastExit: string | null;
  readonly summary: Json;
  readonly supervisor: SupervisorView | null;
  readonly children: ActorRow[];
}

export interface PeerRow {
  readonly id: number;
  /** The peer's actor, `/root/peers/peer-<id>`. */
  readonly path: string;
  readonly addr: string;
  readonly host: string;
  readonly direction: 'inbound' | 'outbound';
  readonly connType: string;
  /** Core's transport_protocol_type: 'detecting', 'v1' or 'v2'. */
  readonly transport: string;
  /** The BIP324 session id (hex) once v2 is established, '' otherwise. */
  readonly sessionId: string;
  readonly phase: string;
  readonly services: string | null;
  readonly servicesNames: string[];
  readonly userAgent: string | null;
  readonly version: number | null;
  readonly startingHeight: number | null;
  readonly connectedAt: number;
  readonly pingMs: number | null;
  readonly minPingMs: number | null;
  readonly pingWaitMs: number | null;
  readonly bytesSent: number;
  readonly bytesRecv: number;
  /** Bytes by message type, both directions (types seen in either). */
  readonly perMsg: Record<string, { recv: number; sent: number }>;
  readonly recvLimit: number;
  readonly sendLimit: number;
  readonly recvThrottled: boolean;
  readonly recvPaused: boolean;
  readonly sendQueued: number;
  /** Messages we ignored from it, by reason (peerd's misbehaviour counters). */
  readonly ignored: Record<string, number>;
}

/** Node-wide receive and send rates, bytes/s, over the second before `t`. */
export interface BandwidthPoint {
  readonly t: number;
  readonly recv: number;
  readonly sent: number;
}

export interface SyncView {
  readonly chain: string | null;
  readonly headers: number;
  readonly blocks: number;
  /** blocks / headers, 0…100. */
  readonly percent: number;
  /** Blocks per second over the last samples. */
  readonly rate: number;
}

/** A ping sample: [ms since the epoch, round trip in ms]. */
export type PingSample = readonly [number, number];

export interface NodeView {
  readonly network: string;
  readonly userAgent: string;
  readonly startedAt: number;
  readonly totalRecv: number;
  readonly totalSent: number;
  readonly limits: Json;
  readonly deadLetters: number;
  readonly actors: number;
  readonly networkActive: boolean;
}

export interface Snapshot {
  readonly t: number;
  readonly node: NodeView;
  readonly tree: readonly ActorRow[];
  readonly peers: readonly PeerRow[];
  /** The newest bandwidth point, or null on the first sample. */
  readonly bandwidth: BandwidthPoint | null;
  /** null when the node has no chain data (no getblockchaininfo yet). */
  readonly sync: SyncView | null;
  readonly exits: readonly ExitRecord[];
  readonly disconnects: readonly DisconnectRecord[];
  /** Ping samples taken in this sample, by peer id. */
  readonly pings: Record<string, PingSample[]>;
}

/** The first message on a new stream: a snapshot plus the histories kept so far. */
export interface Hello extends Snapshot {
  readonly history: { readonly bandwidth: BandwidthPoint[]; readonly pings: Record<string, PingSample[]> };
}

export interface SampleInput {
  readonly now: number;
  readonly node: { network: string; userAgent: string; startedAt: number; networkActive: boolean };
  readonly tree: readonly TreeNode[];
  /** null when they could not be read (the connection manager is restarting): the last ones are kept. */
  readonly peers: readonly PeerInfo[] | null;
  readonly totals: { recv: number; sent: number; limits?: unknown } | null;
  /** getblockchaininfo's result, or null when the node has none. */
  readonly chain: Json | null;
  readonly exits: readonly ExitRecord[];
  readonly disconnects: readonly DisconnectRecord[] | null;
  readonly deadLetters: number;
}

interface HandledMark {
  readonly incarnation: number;
  readonly handled: number;
}

interface PingTrack {
  readonly pongBytes: number;
  readonly pingMs: number | null;
  readonly lastSampleAt: number;
  readonly samples: PingSample[];
}

export interface SamplerState {
  readonly at: number | null;
  readonly handled: ReadonlyMap<string, HandledMark>;
  readonly totals: { recv: number; sent: number; at: number } | null;
  readonly bandwidth: readonly BandwidthPoint[];
  readonly pings: ReadonlyMap<number, PingTrack>;
  readonly heights: readonly (readonly [number, number])[];
  readonly peers: readonly PeerRow[];
  readonly disconnects: readonly DisconnectRecord[];
}

export function initialSampler(): SamplerState {
  return { at: null, handled: new Map(), totals: null, bandwidth: [], pings: new Map(), heights: [], peers: [], disconnects: [] };
}

export function actorType(name: string): string {
  return name.replace(/-\d+$/, '');
}

function num(o: JsonObject, k: string, dflt = 0): number {
  const v = o[k];
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}

function supervisorView(kind: ActorKind, summary: Json): SupervisorView | null {
  if (kind === 'worker' || summary === null || typeof summary !== 'object' || Array.isArray(summary)) return null;
  const intensity = typeof summary.intensity === 'string' ? /^(\d+)\/([\d.]+)s$/.exec(summary.intensity) : null;
  return {
    strategy: typeof summary.strategy === 'string' ? summary.strategy : '?',
    children: num(summary, 'children'),
    running: num(summary, 'running'),
    restartsInPeriod: num(summary, 'restartsInPeriod'),
    maxRestarts: num(summary, 'maxRestarts', intensity ? Number(intensity[1]) : 0),
    periodMs: num(summary, 'periodMs', intensity ? Number(intensity[2]) * 1000 : 0),
  };
}

/** The runtime's tree as rows, each with its messages/s against the previous marks; returns the new marks. */
export function actorRows(tree: readonly TreeNode[], prev: ReadonlyMap<string, HandledMark>, dtMs: number | null): { rows: ActorRow[]; marks: Map<string, HandledMark> } {
  const marks = new Map<string, HandledMark>();
  const row = (n: TreeNode): ActorRow => {
    marks.set(n.path, { incarnation: n.incarnation, handled: n.handled });
    const before = prev.get(n.path);
    // A new incarnation counts from zero.
    const base = before !== undefined && before.incarnation === n.incarnation ? before.handled : 0;
    const rate = dtMs !== null && dtMs > 0 ? Math.max(0, n.handled - base) / (dtMs / 1000) : 0;
    const summary = n.summary === undefined ? null : toJson(n.summary);
    return {
      path: n.path,
      name: n.name,
      kind: n.kind,
      type: actorType(n.name),
      restart: n.restart ?? null,
      status: n.status,
      incarnation: n.incarnation,
      restarts: n.restarts,
      uptimeMs: Math.round(n.uptimeMs),
      mailbox: n.mailbox,
      mailboxHighWater: n.mailboxHighWater,
      handled: n.handled,
      rate: Math.round(rate * 10) / 10,
      lastExit: n.lastExit ?? null,
      summary,
      supervisor: supervisorView(n.kind, summary),
      children: n.children.map(row),
    };
  };
  return { rows: tree.map(row), marks };
}

export function peerRow(p: PeerInfo): PeerRow {
  const perMsg: Record<string, { recv: number; sent: number }> = {};
  for (const [k, v] of Object.entries(p.bytesrecvPerMsg)) (perMsg[k] ??= { recv: 0, sent: 0 }).recv = v;
  for (const [k, v] of Object.entries(p.bytessentPerMsg)) (perMsg[k] ??= { recv: 0, sent: 0 }).sent = v;
  const services = p.services !== null ? BigInt(`0x${p.services}`) : p.servicesBits;
  return {
    id: p.id,
    path: peerName(p.id).path,
    addr: p.addr,
    host: p.endpoint.host,
    direction: p.inbound ? 'inbound' : 'outbound',
    connType: p.connType,
    transport: p.transportType,
    sessionId: p.sessionId,
    phase: p.phase,
    services: p.services,
    servicesNames: knownServiceNames(services),
    userAgent: p.subver,
    version: p.version,
    startingHeight: p.startingHeight,
    connectedAt: p.connectedAtMs,
    pingMs: p.pingtime === null ? null : round2(p.pingtime * 1000),
    minPingMs: p.minping === null ? null : round2(p.minping * 1000),
    pingWaitMs: p.pingwait === null ? null : Math.round(p.pingwait * 1000),
    bytesSent: p.bytessent,
    bytesRecv: p.bytesrecv,
    perMsg,
    recvLimit: p.recvLimit,
    sendLimit: p.sendLimit,
    recvThrottled: p.recvThrottled,
    recvPaused: p.recvPaused,
    sendQueued: p.sendQueued,
    ignored: { ...p.ignored },
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * Each peer's ping history: a sample whenever a new pong arrived (its `pong` byte count grew) or
 * the RTT changed, and otherwise every PING_RESAMPLE_MS while an RTT is known. Peers that left are dropped.
 */
export function trackPings(prev: ReadonlyMap<number, PingTrack>, peers: readonly PeerRow[], now: number): { tracks: Map<number, PingTrack>; fresh: Record<string, PingSample[]> } {
  const tracks = new Map<number, PingTrack>();
  const fresh: Record<string, PingSample[]> = {};
  for (const p of peers) {
    const before = prev.get(p.id);
    const pongBytes = p.perMsg.pong?.recv ?? 0;
    const newPong = before === undefined ? p.pingMs !== null : pongBytes > before.pongBytes || p.pingMs !== before.pingMs;
    const stale = before !== undefined && now - before.lastSampleAt >= PING_RESAMPLE_MS;
    let samples = before?.samples ?? [];
    let lastSampleAt = before?.lastSampleAt ?? 0;
    if (p.pingMs !== null && (newPong || stale)) {
      const s: PingSample = [now, p.pingMs];
      samples = [...samples, s].slice(-PING_SAMPLES);
      lastSampleAt = now;
      fresh[String(p.id)] = [s];
    }
    tracks.set(p.id, { pongBytes, pingMs: p.pingMs, lastSampleAt, samples });
  }
  return { tracks, fresh };
}

/** The sync panel from getblockchaininfo's result; null when there is none or it is not an object. */
export function syncView(chain: Json | null, heights: readonly (readonly [number, number])[]): SyncView | null {
  if (chain === null || typeof chain !== 'object' || Array.isArray(chain)) return null;
  const blocks = num(chain, 'blocks');
  const headers = Math.max(num(chain, 'headers'), blocks);
  let rate = 0;
  if (heights.length >= 2) {
    const [t0, h0] = heights[0]!;
    const [t1, h1] = heights[heights.length - 1]!;
    if (t1 > t0) rate = Math.max(0, (h1 - h0) / ((t1 - t0) / 1000));
  }
  return {
    chain: typeof chain.chain === 'string' ? chain.chain : null,
    headers,
    blocks,
    percent: headers > 0 ? Math.min(100, round2((blocks / headers) * 100)) : 100,
    rate: round2(rate),
  };
}

function countActors(rows: readonly ActorRow[]): number {
  let n = 0;
  for (const r of rows) n += 1 + countActors(r.children);
  return n;
}

/** One sample: the snapshot to push, and the state for the next one. */
export function sample(state: SamplerState, input: SampleInput): { state: SamplerState; snapshot: Snapshot } {
  const { now } = input;
  const dt = state.at === null ? null : now - state.at;
  const { rows, marks } = actorRows(input.tree, state.handled, dt);

  const peers = input.peers === null ? state.peers : input.peers.map(peerRow).sort((a, b) => a.id - b.id);
  const { tracks, fresh } = trackPings(state.pings, peers, now);

  let point: BandwidthPoint | null = null;
  let bandwidth = state.bandwidth;
  const totals = input.totals === null ? state.totals : { recv: input.totals.recv, sent: input.totals.sent, at: now };
  // Over the time since the totals were last read (a failed read in between widens the interval).
  if (input.totals !== null && state.totals !== null && now > state.totals.at) {
    const s = (now - state.totals.at) / 1000;
    point = { t: now, recv: Math.max(0, Math.round((input.totals.recv - state.totals.recv) / s)), sent: Math.max(0, Math.round((input.totals.sent - state.totals.sent) / s)) };
    bandwidth = [...bandwidth, point].slice(-BANDWIDTH_POINTS);
  }

  let heights = state.heights;
  const blocks = input.chain !== null && typeof input.chain === 'object' && !Array.isArray(input.chain) ? input.chain.blocks : undefined;
  if (typeof blocks === 'number') heights = [...heights, [now, blocks] as const].slice(-SYNC_WINDOW);
  const sync = syncView(input.chain, heights);

  const disconnects = input.disconnects === null ? state.disconnects : input.disconnects;
  const snapshot: Snapshot = {
    t: now,
    node: {
      network: input.node.network,
      userAgent: input.node.userAgent,
      startedAt: input.node.startedAt,
      totalRecv: totals?.recv ?? 0,
      totalSent: totals?.sent ?? 0,
      limits: input.totals?.limits === undefined ? null : toJson(input.totals.limits),
      deadLetters: input.deadLetters,
      actors: countActors(rows),
      networkActive: input.node.networkActive,
    },
    tree: rows,
    peers,
    bandwidth: point,
    sync,
    exits: input.exits.slice(0, RECENT_ROWS),
    disconnects: disconnects.slice(0, RECENT_ROWS),
    pings: fresh,
  };
  return {
    state: { at: now, handled: marks, totals, bandwidth, pings: tracks, heights, peers, disconnects },
    snapshot,
  };
}

/** The first message of a stream: the latest snapshot with the histories. */
export function hello(state: SamplerState, latest: Snapshot): Hello {
  const pings: Record<string, PingSample[]> = {};
  for (const [id, t] of state.pings) if (t.samples.length > 0) pings[String(id)] = [...t.samples];
  return { ...latest, history: { bandwidth: [...state.bandwidth], pings } };
}
