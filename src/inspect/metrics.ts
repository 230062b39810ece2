/**
 * `/metrics`: the node in Prometheus text format (prom-client), one registry per node (many nodes
 * may share a process). The inspector's sampler feeds it once a second (`observe`), so a scrape
 * costs no actor round trip; the event-loop delay is read at scrape time.
 *
 * Counters stay monotonic across peer disconnects: bytes by message type are accumulated from each
 * peer's growth between samples (the bytes of a peer's last second before it leaves are not seen).
 * The first sample only sets the baselines (bytes, restarts, exits that happened before): a
 * restarted inspector starts its counters from zero, as Prometheus expects after a reset, instead
 * of counting the past again.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ExitRecord, TreeNode } from '../../supervisors/index.js';
import { COMMANDS } from '../wire/messages.js';
import { actorType, type PeerRow, type PingSample, type SyncView } from './snapshot.js';

/** Message types outside the protocol's own are counted under one label (a peer chooses the names). */
export const OTHER_MSG = '*other*';
const KNOWN = new Set<string>(COMMANDS);

export function msgLabel(command: string): string {
  return KNOWN.has(command) ? command : OTHER_MSG;
}

/** What one sample gives the metrics. */
export interface MetricsInput {
  readonly tree: readonly TreeNode[];
  /** null when they could not be read this time. */
  readonly peers: readonly PeerRow[] | null;
  readonly totals: { recv: number; sent: number } | null;
  /** Newest first (as the runtime gives them). */
  readonly exits: readonly ExitRecord[];
  readonly deadLetters: number;
  readonly sync: SyncView | null;
  /** Ping samples new in this sample. */
  readonly pings: Record<string, readonly PingSample[]>;
}

type PerMsg = Record<string, { recv: number; sent: number }>;

export class InspectorMetrics {
  readonly registry = new Registry();
  private readonly loop: IntervalHistogram;
  private readonly peersGauge: Gauge<'direction' | 'conn_type'>;
  private readonly peerBytes: Counter<'direction' | 'msg'>;
  private readonly nodeBytes: Counter<'direction'>;
  private readonly ping: Histogram;
  private readonly exits: Counter<'actor' | 'reason'>;
  private readonly restarts: Counter<'actor'>;
  private readonly actors: Gauge<'actor'>;
  private readonly mailbox: Gauge<'actor'>;
  private readonly mailboxMax: Gauge<'actor'>;
  private readonly deadLetters: Counter;
  private readonly syncBlocks: Gauge;
  private readonly syncHeaders: Gauge;
  private lastPerMsg = new Map<number, PerMsg>();
  private lastExitSeq = 0;
  /** False until the first sample has set the baselines. */
  private primed = false;
  /** Highest restart count seen per path (only paths that restarted at all). */
  private readonly restartsSeen = new Map<string, number>();
  /** Totals kept elsewhere (monotonic already), exposed as counters at scrape time. */
  private readonly latest = { recv: 0, sent: 0, deadLetters: 0 };

  constructor() {
    const registers = [this.registry];
    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
    this.peersGauge = new Gauge({ name: 'peerd_peers', help: 'Connected peers by direction and connection type', labelNames: ['direction', 'conn_type'], registers });
    this.peerBytes = new Counter({ name: 'peerd_peer_bytes_total', help: 'Bytes exchanged with peers, by message type and direction (recv, sent)', labelNames: ['direction', 'msg'], registers });
    const latest = this.latest;
    this.nodeBytes = new Counter({
      name: 'peerd_net_bytes_total',
      help: 'Bytes received and sent by the node since start (getnettotals)',
      labelNames: ['direction'],
      registers,
      collect() {
        this.reset();
        this.inc({ direction: 'recv' }, latest.recv);
        this.inc({ direction: 'sent' }, latest.sent);
      },
    });
    this.ping = new Histogram({
      name: 'peerd_ping_rtt_seconds',
      help: 'Ping round-trip times measured with peers',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.exits = new Counter({ name: 'peerd_actor_exits_total', help: 'Actor exits by actor type (name without its number) and reason', labelNames: ['actor', 'reason'], registers });
    this.restarts = new Counter({ name: 'peerd_actor_restarts_total', help: 'Restarts by supervisors, by actor type', labelNames: ['actor'], registers });
    this.actors = new Gauge({ name: 'peerd_actors', help: 'Live actors by type', labelNames: ['actor'], registers });
    this.mailbox = new Gauge({ name: 'peerd_actor_mailbox_messages', help: 'Messages waiting in mailboxes, summed by actor type', labelNames: ['actor'], registers });
    this.mailboxMax = new Gauge({ name: 'peerd_actor_mailbox_max_messages', help: 'Longest mailbox among the actors of a type', labelNames: ['actor'], registers });
    this.deadLetters = new Counter({
      name: 'peerd_dead_letters_total',
      help: 'Messages sent to actors that were gone',
      registers,
      collect() {
        this.reset();
        this.inc(latest.deadLetters);
      },
    });
    this.syncBlocks = new Gauge({ name: 'peerd_sync_height', help: 'Blocks in the best chain (0 without chain data)', registers });
    this.syncHeaders = new Gauge({ name: 'peerd_sync_headers', help: 'Headers in the best header chain (0 without chain data)', registers });
    const loop = this.loop;
    const seconds = (ns: number): number => (Number.isFinite(ns) ? ns / 1e9 : 0);
    new Gauge({
      name: 'peerd_eventloop_delay_p50_seconds',
      help: 'Event-loop delay, median since the previous scrape',
      registers,
      collect() {
        this.set(seconds(loop.percentile(50)));
      },
    });
    new Gauge({
      name: 'peerd_eventloop_delay_p99_seconds',
      help: 'Event-loop delay, 99th percentile since the previous scrape',
      registers,
      collect() {
        this.set(seconds(loop.percentile(99)));
      },
    });
    new Gauge({
      name: 'peerd_eventloop_delay_max_seconds',
      help: 'Event-loop delay, largest since the previous scrape',
      registers,
      collect() {
        this.set(seconds(loop.max));
      },
    });
  }

  observe(m: MetricsInput): void {
    if (m.totals) {
      this.latest.recv = m.totals.recv;
      this.latest.sent = m.totals.sent;
    }
    this.latest.deadLetters = m.deadLetters;
    if (m.peers) this.observePeers(m.peers);
    for (const samples of Object.values(m.pings)) for (const [, ms] of samples) this.ping.observe(ms / 1000);
    // Exits the runtime recorded since the last sample (its ring keeps the last 200).
    for (let i = m.exits.length - 1; i >= 0; i--) {
      const e = m.exits[i]!;
      if (e.seq <= this.lastExitSeq) continue;
      if (this.primed) this.exits.inc({ actor: actorType(e.path.slice(e.path.lastIndexOf('/') + 1)), reason: e.reasonKind });
      this.lastExitSeq = e.seq;
    }
    this.observeTree(m.tree);
    this.syncBlocks.set(m.sync?.blocks ?? 0);
    this.syncHeaders.set(m.sync?.headers ?? 0);
    this.primed = true;
  }

  private observePeers(peers: readonly PeerRow[]): void {
    this.peersGauge.reset();
    const next = new Map<number, PerMsg>();
    for (const p of peers) {
      this.peersGauge.inc({ direction: p.direction, conn_type: p.connType });
      const before = this.lastPerMsg.get(p.id) ?? {};
      for (const [msg, now] of Object.entries(p.perMsg)) {
        const was = before[msg] ?? { recv: 0, sent: 0 };
        const label = msgLabel(msg);
        if (!this.primed) continue;
        if (now.recv > was.recv) this.peerBytes.inc({ direction: 'recv', msg: label }, now.recv - was.recv);
        if (now.sent > was.sent) this.peerBytes.inc({ direction: 'sent', msg: label }, now.sent - was.sent);
      }
      next.set(p.id, p.perMsg);
    }
    this.lastPerMsg = next;
  }

  private observeTree(tree: readonly TreeNode[]): void {
    this.actors.reset();
    this.mailbox.reset();
    this.mailboxMax.reset();
    const max = new Map<string, number>();
    const walk = (n: TreeNode): void => {
      const actor = actorType(n.name);
      this.actors.inc({ actor });
      this.mailbox.inc({ actor }, n.mailbox);
      max.set(actor, Math.max(max.get(actor) ?? 0, n.mailbox));
      const seen = this.restartsSeen.get(n.path);
      if (n.restarts > 0 || seen !== undefined) {
        // A child record started over (its parent restarted) counts from its new value.
        if (seen !== undefined && n.restarts > seen) this.restarts.inc({ actor }, n.restarts - seen);
        else if (seen === undefined && this.primed) this.restarts.inc({ actor }, n.restarts);
        this.restartsSeen.set(n.path, n.restarts);
      }
      for (const c of n.children) walk(c);
    };
    for (const n of tree) walk(n);
    for (const [actor, v] of max) this.mailboxMax.set({ actor }, v);
  }

  /** The text exposition; the event-loop percentiles start over after each scrape. */
  async text(): Promise<string> {
    const out = await this.registry.metrics();
    this.loop.reset();
    return out;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    this.loop.disable();
    this.registry.clear();
  }
}
