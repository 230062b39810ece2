/**
 * The address-book actor (`/root/addressbook`, permanent): the shell around `logic.ts` and the
 * pure `AddrMan`. It feeds every event to `stepBook` (addresses from peers, `getaddr`, dial
 * candidates for the connection manager, attempts and successes, anchors, the operator's bans and
 * the 24 h discouragements, the DNS-seed and fixed-seed rounds) and performs the effects: the
 * store's I/O (see persist.ts for what a crash can lose), DNS resolution, timers, messages.
 *
 * It asks the store for its database in `init` and monitors the store: if the store stops, this
 * actor crashes too and its supervisor restarts it on the new store (let it crash). Killed, it is
 * restarted by the root supervisor and reloads everything from the store; asks sent while it was
 * down fail fast (noproc) and the connection manager falls back to asking again later.
 */
import { randomBytes, createHash } from 'node:crypto';
import { promises as dnsPromises } from 'node:dns';
import { match } from 'ts-pattern';
import { defineActor, tell, ask, type ActorContext, type ActorName, type Down, type DynMsg, type Ref, formatReason } from '../../supervisors/index.js';
import { PEERS, peerName, type PeerArgs, type PeerInfo, type PeerMsg } from '../contracts/peer.js';
import { endpointKey } from '../contracts/connection.js';
import type { AddressBookMsg, AddrmanInfo, BanEntryJson, BanListUpdate, BookChanged, NodeAddressJson, TableCounts } from '../contracts/addressbook.js';
import { CONNMAN, type CommandResult, type ConnmanMsg } from '../contracts/connman.js';
import { emptyBans, isBanned, isDiscouraged, sweep, type BanList } from '../contracts/bans.js';
import type { NetGroupManager } from '../netaddress/netgroup.js';
import { STORE, storeDb, type StoreMsg, type Db } from '../contracts/store.js';
import { formatHost, type NetAddress, type TimedNetAddress } from '../wire/address.js';
import { AddrMan, AddrManFormatError, type AddrManOptions } from './addrman.js';
import {
  copyBans,
  currentAnchors,
  DNS_SEED_DELAY_MS,
  DNS_SEED_THRESHOLD,
  emptyCounters,
  fixedSeedsSetup,
  internalSource,
  networkName,
  peerAddrCounts,
  stepBook,
  type BookEffect,
  type BookEvent,
  type BookState,
  type FixedSeedsPolicy,
} from './logic.js';
import * as persist from './persist.js';

/** What the address book tells itself: timers, DNS answers, the peers found at start (the contract's AddressBookMsg is what others send it). */
type SelfMsg =
  | { readonly type: 'sweep' }
  | { readonly type: 'dns-seed' }
  | { readonly type: 'dns-result'; readonly seed: string; readonly hosts: readonly string[]; readonly error?: string }
  | { readonly type: 'fixed-seeds' }
  | { readonly type: 'known-peers'; readonly infos: readonly PeerInfo[] }
  | Down;

/** Everything in the address book's mailbox. */
type Mailbox = AddressBookMsg | SelfMsg;

export type Resolver = (host: string) => Promise<string[]>;

export interface AddressBookArgs {
  readonly defaultPort: number;
  readonly dnsSeeds: readonly string[];
  /** Fixed seeds, `host:port` texts (see seeds.ts); an entry that does not parse is logged and skipped. */
  readonly fixedSeeds?: readonly string[];
  readonly dnsseed: boolean;
  /** --fixedseeds, and no --connect (default true). */
  readonly fixedseeds?: boolean;
  /** -addnode or -seednode peers were given (the fixed seeds then wait 60 s even with --dnsseed 0, as Core). */
  readonly manualPeers?: boolean;
  /** When the node started, ms (the fixed seeds' 60 s count from it, across restarts of this actor; default: this actor's start). */
  readonly startedAtMs?: number;
  /** Keep loopback/local addresses (regtest: every test node is on 127.0.0.1). */
  readonly allowLocal: boolean;
  /** Network groups (the connection manager's, so that both agree on them); Core's without an asmap by default. */
  readonly netgroups?: NetGroupManager;
  /** Snapshot interval, ms (Core's DUMP_PEERS_INTERVAL: 15 min). */
  readonly flushMs?: number;
  /** Delay before the DNS seeds are considered, ms (Core: 11 s). */
  readonly dnsDelayMs?: number;
  /** Injected for tests: DNS is never reachable there. */
  readonly resolver?: Resolver;
  /** Where the store is (default {@link STORE}). */
  readonly store?: ActorName<StoreMsg>;
  /** The connection manager (default {@link CONNMAN}): told of ban-list changes, asked for the live peers at start. */
  readonly connman?: ActorName<ConnmanMsg>;
  /** Where the peers are (default {@link PEERS}). */
  readonly peers?: ActorName<DynMsg<PeerArgs, PeerMsg>>;
  readonly random?: () => number;
  /** Journal learned addresses between snapshots (default true; false only to measure what it costs). */
  readonly journalAddresses?: boolean;
  /** Write a snapshot early once the journal holds this many learned addresses (default {@link JOURNAL_COMPACT_ADDRS}). */
  readonly journalCompactAddrs?: number;
}

export const DEFAULT_FLUSH_MS = 15 * 60 * 1000;
/** Re-exported: the DNS-seed decisions live in logic.ts. */
export { DNS_SEED_DELAY_MS, DNS_SEED_THRESHOLD };
const SWEEP_MS = 60_000;
/** A snapshot is written early once the journal holds this many learned addresses (bounds the replay at load). */
export const JOURNAL_COMPACT_ADDRS = 50_000;

interface Shell {
  readonly args: AddressBookArgs;
  readonly db: Db;
  readonly book: BookState;
  readonly key: Buffer;
  readonly allowLocal: boolean;
  nextSeq: number;
  lastFlushAt: number;
  /** Something changed since the last snapshot. */
  dirty: boolean;
  /** Learned addresses in the journal since the last snapshot. */
  journaled: number;
  /** Who asked to hear of the next change (the connection manager, backing off). */
  notify: Ref<BookChanged> | null;
  /** Journal writes that failed (the store closing under us, say). */
  journalFailed: number;
  readonly loadReport: Readonly<Record<string, unknown>>;
  /** When and what fixed seeds to add. */
  readonly fixed: { readonly policy: FixedSeedsPolicy; readonly seeds: readonly NetAddress[] };
}

export async function defaultResolver(host: string): Promise<string[]> {
  const [v4, v6] = await Promise.allSettled([dnsPromises.resolve4(host), dnsPromises.resolve6(host)]);
  const out = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  if (out.length === 0 && v4.status === 'rejected') throw v4.reason;
  return out;
}

export { internalSource };

function banJson(e: { subnet: { text: string }; createdAt: number; until: number; reason: string }, nowMs: number): BanEntryJson {
  const until = Number.isFinite(e.until) ? Math.floor(e.until / 1000) : 0;
  const created = Math.floor(e.createdAt / 1000);
  return {
    address: e.subnet.text,
    ban_created: created,
    banned_until: until,
    ban_duration: until - created,
    time_remaining: Math.max(0, until - Math.floor(nowMs / 1000)),
    reason: e.reason,
  };
}

function pushBans(sh: Shell, ctx: ActorContext<Mailbox>, bans: BanList): void {
  const ref = ctx.runtime.lookup(sh.args.connman ?? CONNMAN);
  if (ref) tell(ref, { type: 'ban-list', bans });
}

function log(ctx: ActorContext<Mailbox>, { level, msg, data }: Extract<BookEffect, { kind: 'log' }>): void {
  ctx.log[level](data ?? {}, msg);
}

/** Asks every seed of a round; each answer or failure comes back as a `dns-result`. */
function queryDns(sh: Shell, ctx: ActorContext<Mailbox>, seeds: readonly string[]): void {
  const resolve = sh.args.resolver ?? defaultResolver;
  const self = ctx.self;
  for (const seed of seeds) {
    resolve(seed).then(
      (hosts) => tell(self, { type: 'dns-result', seed, hosts }),
      (err: unknown) => tell(self, { type: 'dns-result', seed, hosts: [], error: err instanceof Error ? err.message : String(err) }),
    );
  }
}

/** The book changed in a way that may give the manager something to dial: tell the last asker, once. */
function changed(sh: Shell): void {
  const n = sh.notify;
  if (n === null) return;
  sh.notify = null;
  tell<BookChanged>(n, { type: 'book-changed' });
}

/**
 * Journals a batch of learned addresses; call it right after AddrMan.add, before anything else.
 * The put is handed to LevelDB synchronously, within this call (a crash of the actor right after
 * cannot lose it), but not awaited: the actor goes on with its mailbox. A
 * snapshot, and the load of a restarted actor, first wait for the writes in flight
 * (persist.journalSettled). Keys carry the order, so writes landing out of order replay in order.
 */
async function journalAddrs(sh: Shell, ctx: ActorContext<Mailbox>, r: Omit<persist.AddrsRecord, 'kind'>): Promise<void> {
  if (sh.args.journalAddresses === false || r.addrs.length === 0) return;
  sh.journaled += r.addrs.length;
  sh.dirty = true;
  persist.appendAddrs(sh.db, sh.nextSeq++, r).catch((err: unknown) => {
    sh.journalFailed++;
    ctx.log.error({ error: err instanceof Error ? err.message : String(err) }, 'address book journal write failed (the next snapshot covers it)');
  });
  if (sh.journaled >= (sh.args.journalCompactAddrs ?? JOURNAL_COMPACT_ADDRS)) await flush(sh, ctx);
}


/** Appends one journal record without waiting (a kill -9 keeps it); a failed write is counted and logged, never fatal. */
function journalQuietly(sh: Shell, ctx: ActorContext<Mailbox>, write: (seq: number) => Promise<void>): void {
  sh.journaled++;
  sh.dirty = true;
  write(sh.nextSeq++).catch((err: unknown) => {
    sh.journalFailed++;
    ctx.log.error({ error: err instanceof Error ? err.message : String(err) }, 'address book journal write failed (the next snapshot covers it)');
  });
}

async function perform(sh: Shell, ctx: ActorContext<Mailbox>, fx: readonly BookEffect[]): Promise<void> {
  for (const e of fx) {
    await match(e)
      .with({ kind: 'learned' }, async ({ addrs, source, penalty, atSec, added }) => {
        const written = journalAddrs(sh, ctx, { addrs, source, penalty, atSec });
        if (added > 0) {
          sh.dirty = true;
          changed(sh);
        }
        await written;
      })
      .with({ kind: 'send' }, ({ to, msg }) => tell(to, { type: 'send', msg }))
      .with({ kind: 'disconnect' }, ({ to, reason, misbehaving }) => tell(to, { type: 'disconnect', reason, misbehaving }))
      // Like learned addresses: issued now, not awaited, not synced (a kill -9 keeps them).
      .with({ kind: 'attempted' }, ({ addr, countFailure, atSec }) => journalQuietly(sh, ctx, (seq) => persist.appendAttempt(sh.db, seq, { addr, countFailure, atSec })))
      // A success of an address already tried, replayed as one (Good).
      .with({ kind: 'succeeded' }, (r) => journalQuietly(sh, ctx, (seq) => persist.appendTried(sh.db, seq, { kind: 'tried', addr: r.addr, source: r.source, atSec: r.atSec }, false)))
      .with({ kind: 'tried' }, async (r) => {
        // Written (synced) before anything else happens: a tried promotion survives any crash.
        await persist.appendTried(sh.db, sh.nextSeq++, { kind: 'tried', addr: r.addr, source: r.source, atSec: r.atSec });
        sh.dirty = true;
        changed(sh);
      })
      .with({ kind: 'anchors' }, async ({ anchors }) => persist.saveAnchors(sh.db, anchors))
      .with({ kind: 'log' }, (l) => log(ctx, l))
      .with({ kind: 'query-dns' }, ({ seeds }) => queryDns(sh, ctx, seeds))
      .with({ kind: 'timer' }, ({ key, ms }) =>
        key === 'dns-seed' ? ctx.timers.after(key, ms, { type: 'dns-seed' }) : ctx.timers.after(key, ms, { type: 'fixed-seeds' }),
      )
      .with({ kind: 'persist-ban' }, async ({ subnet, createdAt, until, reason }) => persist.putBan(sh.db, subnet, createdAt, until, reason))
      .with({ kind: 'delete-bans' }, async ({ bans }) => persist.delBans(sh.db, bans))
      .with({ kind: 'push-ban-list' }, ({ bans }) => pushBans(sh, ctx, bans))
      .with({ kind: 'book-changed' }, () => changed(sh))
      .with({ kind: 'reply' }, ({ to, reply }) => tell(to, reply))
      .with({ kind: 'candidates' }, ({ to, list }) => tell(to, list))
      .exhaustive();
  }
}

async function flush(sh: Shell, ctx: ActorContext<Mailbox>): Promise<void> {
  // writeSnapshot waits for journal writes still in flight before the batch that deletes them.
  const upTo = sh.nextSeq;
  const t0 = Date.now();
  const snap = sh.book.man.serialize();
  await persist.writeSnapshot(sh.db, snap, upTo);
  sh.dirty = false;
  sh.journaled = 0;
  sh.lastFlushAt = ctx.now();
  ctx.log.debug({ addresses: sh.book.man.size, bytes: snap.length, ms: Date.now() - t0 }, 'address book written');
}

function manOptions(key: Buffer, args: AddressBookArgs): AddrManOptions {
  return { key, ...(args.random ? { random: args.random } : {}), allowLocal: args.allowLocal, ...(args.netgroups ? { netgroups: args.netgroups } : {}) };
}

/** The fixed seeds parsed (bad entries logged and skipped) and the policy that decides when to add them (see fixedSeedsSetup). */
function fixedSeeds(args: AddressBookArgs, ctx: ActorContext<Mailbox>): Shell['fixed'] {
  const { policy, seeds, fx } = fixedSeedsSetup({
    texts: args.fixedSeeds ?? [],
    defaultPort: args.defaultPort,
    fixedseeds: args.fixedseeds ?? true,
    dnsseed: args.dnsseed,
    manualPeers: args.manualPeers ?? false,
    startedAtMs: args.startedAtMs ?? ctx.now(),
  });
  for (const e of fx) if (e.kind === 'log') log(ctx, e);
  return { policy, seeds };
}

async function load(args: AddressBookArgs, db: Db, ctx: ActorContext<Mailbox>): Promise<Shell> {
  const nowMs = ctx.now();
  const key = await persist.loadKey(db, () => randomBytes(32));
  const opts = manOptions(key, args);
  let man: AddrMan | null = null;
  const report: Record<string, unknown> = {};
  const snap = await persist.loadSnapshot(db);
  if (snap !== undefined) {
    try {
      man = AddrMan.restore(snap, opts);
      report.snapshot = man.size;
    } catch (err) {
      if (!(err instanceof AddrManFormatError)) throw err;
      const movedTo = await persist.moveSnapshotAside(db, snap, new Date());
      report.corrupt = { reason: err.reason, movedTo };
      ctx.log.error(
        { reason: err.reason, message: err.message, movedTo, bytes: snap.length },
        'the address book snapshot is unreadable: moved aside in the store, starting with an empty book (tried promotions and bans are kept)',
      );
    }
  }
  man ??= new AddrMan(opts);
  const journal = await persist.loadJournal(db);
  let journaled = 0;
  const t0 = Date.now();
  for (const r of journal.records) {
    if (r.kind === 'addrs') {
      man.add(r.addrs, r.source, r.penalty, r.atSec);
      journaled += r.addrs.length;
    } else if (r.kind === 'attempt') {
      man.attempt(r.addr, r.countFailure, r.atSec);
      journaled++;
    } else {
      man.add([r.addr], r.source, 0, r.atSec);
      man.good(r.addr, r.atSec);
    }
  }
  report.journal = journal.records.length;
  if (journaled > 0) report.journalAddresses = journaled;
  if (journal.records.length > 0) report.journalMs = Date.now() - t0;
  if (journal.bad > 0) {
    // Skipped, never fatal: the next snapshot's batch deletes them with the rest of the journal.
    report.badJournal = journal.bad;
    ctx.log.warn({ bad: journal.bad }, 'address book journal: records that do not decode were skipped');
  }
  const bans = emptyBans();
  const b = await persist.loadBans(db, bans, nowMs);
  report.bans = b.loaded;
  const anchors = await persist.loadAnchors(db);
  report.anchors = anchors.length;
  const book: BookState = {
    man,
    bans,
    peers: new Map(),
    cache: null,
    pendingAnchors: anchors,
    savedAnchors: anchors.map(endpointKey).sort().join(','),
    random: args.random ?? Math.random,
    counters: emptyCounters(),
    // Derived from the book's secret: relay targets stay the same across restarts, unknown to others.
    relayKey: createHash('sha256').update('peerd relay').update(key).digest(),
    dns: null,
  };
  return {
    args,
    db,
    book,
    key,
    allowLocal: args.allowLocal,
    nextSeq: journal.nextSeq,
    lastFlushAt: nowMs,
    dirty: journal.records.length + journal.bad > 0,
    journaled,
    notify: null,
    journalFailed: 0,
    loadReport: report,
    fixed: fixedSeeds(args, ctx),
  };
}

function summary(sh: Shell): Record<string, unknown> {
  const c = sh.book.man.counts();
  const nowMs = Date.now();
  return {
    addresses: c.total,
    new: c.new,
    tried: c.tried,
    bans: sh.book.bans.bans.size,
    discouraged: sh.book.bans.discouraged.size,
    peers: sh.book.peers.size,
    cacheAgeS: sh.book.cache === null ? null : Math.floor((nowMs - sh.book.cache.builtAt) / 1000),
    lastFlushAgoS: Math.floor((nowMs - sh.lastFlushAt) / 1000),
    dirty: sh.dirty,
    journaled: sh.journaled,
    journalSkipped: typeof sh.loadReport.badJournal === 'number' ? sh.loadReport.badJournal : 0,
    journalFailed: sh.journalFailed,
    ...sh.book.counters,
  };
}

function addrmanInfo(sh: Shell): AddrmanInfo {
  const c = sh.book.man.counts();
  const out: Record<string, TableCounts> = {};
  for (const n of ['ipv4', 'ipv6', 'onion', 'i2p', 'cjdns']) out[n] = { new: 0, tried: 0, total: 0 };
  const bump = (net: string, which: 'new' | 'tried', k: number): void => {
    const name = networkName(net);
    const cur = out[name] ?? { new: 0, tried: 0, total: 0 };
    out[name] = { ...cur, [which]: cur[which] + k, total: cur.total + k };
  };
  for (const [n, k] of Object.entries(c.new)) bump(n, 'new', k);
  for (const [n, k] of Object.entries(c.tried)) bump(n, 'tried', k);
  let nw = 0;
  let tr = 0;
  for (const v of Object.values(out)) {
    nw += v.new;
    tr += v.tried;
  }
  out.all_networks = { new: nw, tried: tr, total: nw + tr };
  return out;
}

function nodeAddresses(sh: Shell, count: number, network: string | undefined): NodeAddressJson[] {
  const nowMs = Date.now();
  // Core's getnodeaddresses: count 0 means all; network names as Core prints them (onion, not torv3).
  const list = sh.book.man.getAddr({ max: count, maxPct: 0, nowSec: Math.floor(nowMs / 1000), ...(network ? { network } : {}) });
  return list.map((a: TimedNetAddress) => ({ time: a.time, services: Number(a.services), address: formatHost(a), port: a.port, network: networkName(String(a.network)) }));
}

function askKnownPeers(sh: Shell, ctx: ActorContext<Mailbox>): void {
  const ref = ctx.runtime.lookup(sh.args.connman ?? CONNMAN);
  if (!ref) return;
  const self = ctx.self;
  ask<ConnmanMsg, CommandResult>(ref, (replyTo) => ({ type: 'command', cmd: { op: 'peers' }, replyTo }), 5000).then(
    (r) => tell(self, { type: 'known-peers', infos: r.ok ? (r.peers ?? []) : [] }),
    () => undefined,
  );
}

export const addressBookActor = defineActor<Shell, Mailbox, AddressBookArgs>({
  name: 'addressbook',
  async init(args, ctx) {
    const store = args.store ?? STORE;
    const db = await storeDb(ctx.runtime, store);
    // The handle dies with the store: crash with it and come back on the new one.
    const storeRef = ctx.runtime.lookup(store);
    if (storeRef) ctx.monitor(storeRef);
    const sh = await load(args, db, ctx);
    ctx.timers.interval('flush', args.flushMs ?? DEFAULT_FLUSH_MS, { type: 'flush' });
    ctx.timers.interval('sweep', SWEEP_MS, { type: 'sweep' });
    ctx.log.info({ addresses: sh.book.man.size, ...sh.loadReport }, 'address book loaded');
    // The DNS-seed and fixed-seed timers, and the ban list pushed to the manager.
    const start: BookEvent = { type: 'start', dnsseed: args.dnsseed, dnsSeeds: args.dnsSeeds, fixedSeeds: sh.fixed.policy, ...(args.dnsDelayMs !== undefined ? { dnsDelayMs: args.dnsDelayMs } : {}) };
    await perform(sh, ctx, stepBook(sh.book, start));
    // After a restart: a manager backing off on the old incarnation's empty answers asks again.
    const connman = ctx.runtime.lookup(args.connman ?? CONNMAN);
    if (connman) tell(connman, { type: 'book-changed' });
    askKnownPeers(sh, ctx);
    return sh;
  },
  async handle(sh, msg, ctx) {
    const nowMs = ctx.now();
    const book = sh.book;
    const step = (e: BookEvent): Promise<void> => perform(sh, ctx, stepBook(book, e));
    await match(msg)
      .with({ type: 'from-peer' }, async (m) => step({ ...m, allowLocal: sh.allowLocal, now: nowMs }))
      .with({ type: 'select' }, async ({ notify, ...m }) => {
        if (notify) sh.notify = notify;
        await step({ ...m, now: nowMs });
      })
      .with({ type: 'attempt' }, async (m) => {
        await step({ ...m, now: nowMs });
        sh.dirty = true;
      })
      .with({ type: 'peer-connected' }, async (m) => step({ ...m, now: nowMs }))
      .with({ type: 'peer-disconnected' }, async (m) => step({ ...m, now: nowMs }))
      .with({ type: 'misbehaving' }, async (m) => step({ ...m, now: nowMs }))
      .with({ type: 'ban' }, async (m) => step({ ...m, now: nowMs }))
      .with({ type: 'unban' }, async (m) => step(m))
      .with({ type: 'list-bans' }, ({ replyTo }) => {
        sweep(book.bans, nowMs);
        tell(
          replyTo,
          [...book.bans.bans.values()].sort((a, b) => a.createdAt - b.createdAt).map((e) => banJson(e, nowMs)),
        );
      })
      .with({ type: 'clear-bans' }, async (m) => step(m))
      .with({ type: 'is-banned' }, ({ ip, replyTo }) => tell(replyTo, { banned: isBanned(book.bans, ip, nowMs), discouraged: isDiscouraged(book.bans, ip, nowMs) }))
      .with({ type: 'node-addresses' }, ({ count, network, replyTo }) => tell(replyTo, nodeAddresses(sh, count, network)))
      .with({ type: 'info' }, ({ replyTo }) => tell(replyTo, addrmanInfo(sh)))
      .with({ type: 'peer-addr-counts' }, ({ replyTo }) => tell(replyTo, peerAddrCounts(book)))
      .with({ type: 'sync-bans' }, ({ replyTo }) => tell<BanListUpdate>(replyTo, { type: 'ban-list', bans: copyBans(book.bans) }))
      .with({ type: 'flush' }, async ({ replyTo }) => {
        if (sh.dirty || replyTo) await flush(sh, ctx);
        if (replyTo) tell(replyTo, { ok: true });
      })
      .with({ type: 'sweep' }, async () => step({ type: 'sweep', now: nowMs }))
      .with({ type: 'dns-seed' }, async () => step({ type: 'dns-seed', seeds: sh.args.dnsSeeds }))
      .with({ type: 'dns-result' }, async (m) => step({ ...m, defaultPort: sh.args.defaultPort, now: nowMs }))
      .with({ type: 'fixed-seeds' }, async () => step({ type: 'fixed-seeds', policy: sh.fixed.policy, seeds: sh.fixed.seeds, now: nowMs }))
      .with({ type: 'known-peers' }, async ({ infos }) => {
        const peers = sh.args.peers ?? PEERS;
        for (const i of infos) {
          if (book.peers.get(i.id)?.connected) continue;
          const ref = ctx.runtime.lookup(peerName(i.id, peers)) ?? null;
          if (ref === null || i.phase !== 'active') continue;
          await step({ type: 'peer-connected', id: i.id, endpoint: i.endpoint, connType: i.connType, services: i.servicesBits, ref, now: nowMs });
        }
      })
      .with({ type: 'DOWN' }, (d) => {
        throw new Error(`the store stopped (${formatReason(d.reason)}): restarting on the new store`);
      })
      .exhaustive();
    return sh;
  },
  async terminate(sh, _reason, ctx) {
    if (sh.db.status !== 'open') return;
    try {
      await persist.saveAnchors(sh.db, currentAnchors(sh.book).length > 0 ? currentAnchors(sh.book) : sh.book.pendingAnchors);
      await flush(sh, ctx);
    } catch (err) {
      ctx.log.warn({ error: err instanceof Error ? err.message : String(err) }, 'address book not written at stop');
    }
  },
  summarize: (sh) => summary(sh),
});

