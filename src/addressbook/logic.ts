/**
 * The address book's decisions, without sockets, store or clock: what to do with a peer's
 * `addr`/`addrv2` (rate limit, filter, store with Core's 2 h penalty, relay fresh ones), how to
 * answer `getaddr` (a cache renewed every ~24 h, ≤ 1000 entries and 23 % of the table), which
 * addresses to offer for outbound and feeler slots, and what a connection attempt, a connected or
 * disconnected peer, or misbehaviour changes; when to query the DNS seeds and what a round
 * came to; the operator's bans and their expiry (what to persist, the ban list to push to the
 * connection manager). Time and randomness are inputs; `stepBook(state, event) → effects`
 * updates the state in place and returns the effects the actor performs (sends, store writes,
 * DNS queries, timers, replies). Where this is silent it does what Core's net_processing.cpp
 * and net.cpp do.
 */
import { createHash } from 'node:crypto';
import { match } from 'ts-pattern';
import type { Ref } from '../../supervisors/index.js';
import type { FromPeer, PeerMsg } from '../contracts/peer.js';
import type { AddressBookMsg, BanReply, Candidate, PeerAddrCounts } from '../contracts/addressbook.js';
import { endpointKey, type ConnType, type Endpoint } from '../contracts/connection.js';
import { isLocalIp, normalizeIp } from '../netaddress/netaddress.js';
import { punishmentFor } from '../contracts/punishment.js';
import { discourage, isBanned, isDiscouraged, parseSubnet, subnetContains, sweep, type BanList } from '../contracts/bans.js';
import { bucket, credit, take, type TokenBucket } from '../util/token-bucket.js';
import { formatHost, isValidAddress, parseAddress, type NetAddress, type TimedNetAddress } from '../wire/address.js';
import type { Message } from '../wire/messages.js';
import { NODE_NETWORK, NODE_WITNESS } from '../wire/constants.js';
import type { AddrEntry, AddrMan } from './addrman.js';
import { parseSeed } from './seeds.js';

/** Core's MAX_ADDR_TO_SEND: most addresses in one message, and in a getaddr answer. */
export const MAX_ADDR_TO_SEND = 1000;
/** Core's MAX_PCT_ADDR_TO_SEND. */
export const MAX_PCT_ADDR_TO_SEND = 23;
/** Core's MAX_ADDR_RATE_PER_SECOND and MAX_ADDR_PROCESSING_TOKEN_BUCKET. */
export const ADDR_RATE_PER_SECOND = 0.1;
export const ADDR_BUCKET = 1000;
/** Penalty on the time of gossiped addresses (Core: 2 h). */
export const ADDR_PENALTY_SEC = 2 * 3600;
/** Relay only addresses seen in the last 10 minutes, from messages of at most 10 addresses. */
export const RELAY_MAX_AGE_SEC = 10 * 60;
export const RELAY_MAX_ADDRS = 10;
/** The getaddr answer cache lives 21 h + up to 6 h (Core's m_addr_response_caches). */
export const CACHE_BASE_MS = 21 * 3600 * 1000;
export const CACHE_JITTER_MS = 6 * 3600 * 1000;
/** At most this many anchors (Core: MAX_BLOCK_RELAY_ONLY_ANCHORS). */
export const MAX_ANCHORS = 2;
/** Networks peerd can dial. */
export const REACHABLE_NETWORKS: readonly string[] = ['ipv4', 'ipv6'];

/** One live connection as the address book knows it. */
export interface BookPeer {
  readonly id: number;
  ref: Ref<PeerMsg> | null;
  endpoint: Endpoint | null;
  connType: ConnType | null;
  /** The peer sent sendaddrv2 (it may be sent addrv2). */
  addrv2: boolean;
  readonly bucket: TokenBucket;
  /** We sent getaddr and have not yet had the (final) answer: its addresses are solicited. */
  getaddrPending: boolean;
  /** The tokens for our getaddr were credited (once per connection). */
  credited: boolean;
  /** Ready (handshake done) according to the connection manager. */
  connected: boolean;
  /** Addresses this peer is known to have (it sent them, or we relayed them to it): not relayed to it again. Core's m_addr_known. */
  known?: Set<string>;
  /** Addresses of its addr/addrv2 that passed the token bucket and are not banned or discouraged (Core's m_addr_processed). */
  addrProcessed: number;
  /** Addresses of its addr/addrv2 dropped by the token bucket (Core's m_addr_rate_limited). */
  addrRateLimited: number;
}

export interface BookCounters {
  addrReceived: number;
  addrAccepted: number;
  addrRateLimited: number;
  addrDropped: number;
  relayed: number;
  getaddrAnswered: number;
  /** Candidate requests answered, addrman draws they made, and those that found nothing to offer. */
  selectRounds: number;
  selectDraws: number;
  selectEmpty: number;
}

export interface BookState {
  readonly man: AddrMan;
  readonly bans: BanList;
  readonly peers: Map<number, BookPeer>;
  /** The getaddr answer, shared by every requester until it expires. */
  cache: { readonly addrs: readonly TimedNetAddress[]; readonly builtAt: number; readonly expiresAt: number } | null;
  /** Anchors read at start, offered first for outbound slots (once each). */
  pendingAnchors: Endpoint[];
  /** Keys of the anchors last written, to write only on change. */
  savedAnchors: string;
  readonly random: () => number;
  readonly counters: BookCounters;
  /** Secret that picks each address's relay targets (same peers for a day, as Core); default all zeros. */
  readonly relayKey?: Buffer;
  /** The DNS seed round under way (null: none). */
  dns: DnsRound | null;
}

/** A DNS seed round: answers still due, and what came back (one summary line at its end). */
export interface DnsRound {
  pending: number;
  answered: number;
  added: number;
  readonly failed: string[];
}

export type BookEffect =
  | { readonly kind: 'send'; readonly to: Ref<PeerMsg>; readonly msg: Message }
  | { readonly kind: 'disconnect'; readonly to: Ref<PeerMsg>; readonly reason: string; readonly misbehaving: boolean }
  /**
   * Addresses of one `addr`/`addrv2` (after the rate limit and filters) were given to addrman:
   * journal them now (not synced), so that a crash of the actor or the process loses none;
   * `added` is how many found a place (new entries or references).
   */
  | { readonly kind: 'learned'; readonly addrs: readonly TimedNetAddress[]; readonly source: NetAddress; readonly penalty: number; readonly atSec: number; readonly added: number }
  /** A failed connection attempt was recorded (last try, maybe a failure): journal it now (not synced). */
  | { readonly kind: 'attempted'; readonly addr: NetAddress; readonly countFailure: boolean; readonly atSec: number }
  /** A success of an address already in tried (times, attempts reset): journal it now, not synced. */
  | { readonly kind: 'succeeded'; readonly addr: TimedNetAddress; readonly source: NetAddress; readonly atSec: number }
  /** An address entered the tried table: journal it now (sync), so that no crash loses it. */
  | { readonly kind: 'tried'; readonly addr: TimedNetAddress; readonly source: NetAddress; readonly atSec: number }
  | { readonly kind: 'anchors'; readonly anchors: readonly Endpoint[] }
  | { readonly kind: 'log'; readonly level: 'debug' | 'info' | 'warn'; readonly msg: string; readonly data?: Readonly<Record<string, unknown>> }
  /** Resolve these DNS seeds; each answer (or failure) comes back as a `dns-result` event. */
  | { readonly kind: 'query-dns'; readonly seeds: readonly string[] }
  /** Send the book a timer event of this type after `ms`. */
  | { readonly kind: 'timer'; readonly key: 'dns-seed' | 'fixed-seeds'; readonly ms: number }
  /** An operator's ban: write it (synced) before anything else. */
  | { readonly kind: 'persist-ban'; readonly subnet: string; readonly createdAt: number; readonly until: number; readonly reason: string }
  /** Bans (subnet texts) gone: delete them from the store (synced). Discouragement is memory only. */
  | { readonly kind: 'delete-bans'; readonly bans: readonly string[] }
  /** Tell the connection manager the ban list (a copy). */
  | { readonly kind: 'push-ban-list'; readonly bans: BanList }
  /** The book changed in a way that may give the manager something to dial: tell the last asker. */
  | { readonly kind: 'book-changed' }
  | { readonly kind: 'reply'; readonly to: Ref<BanReply>; readonly reply: BanReply }
  | { readonly kind: 'candidates'; readonly to: Ref<readonly Candidate[]>; readonly list: readonly Candidate[] };

export function emptyCounters(): BookCounters {
  return { addrReceived: 0, addrAccepted: 0, addrRateLimited: 0, addrDropped: 0, relayed: 0, getaddrAnswered: 0, selectRounds: 0, selectDraws: 0, selectEmpty: 0 };
}

/** Connection types to which we send getaddr (the peer protocol does; the first answer is solicited). */
const GETADDR_SENT: ReadonlySet<ConnType> = new Set(['outbound-full-relay', 'manual', 'addr-fetch']);
/** Connection types we never relay addresses to. */
const NO_RELAY: ReadonlySet<ConnType> = new Set(['block-relay-only', 'feeler', 'addr-fetch']);

export function endpointOf(a: Pick<NetAddress, 'network' | 'addr' | 'port'>): Endpoint {
  return { host: normalizeIp(formatHost(a)), port: a.port };
}

export function addressOf(e: Endpoint, services = 0n): NetAddress | null {
  return parseAddress(endpointKey(e), e.port, services);
}

function hostOf(a: NetAddress): string | null {
  return a.network === 'ipv4' || a.network === 'ipv6' ? normalizeIp(formatHost(a)) : null;
}

function shuffle<T>(xs: T[], random: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = xs[i] as T;
    xs[i] = xs[j] as T;
    xs[j] = t;
  }
  return xs;
}

/** The book's record of a peer, created on first sight (a message or the manager's notice). */
export function peerOf(s: BookState, id: number, nowMs: number): BookPeer {
  let p = s.peers.get(id);
  if (p === undefined) {
    // Core starts every peer with one token (m_addr_token_bucket{1.0}).
    p = {
      id,
      ref: null,
      endpoint: null,
      connType: null,
      addrv2: false,
      bucket: bucket(ADDR_RATE_PER_SECOND, ADDR_BUCKET, nowMs, 1),
      getaddrPending: false,
      credited: false,
      connected: false,
      addrProcessed: 0,
      addrRateLimited: 0,
    };
    s.peers.set(id, p);
  }
  return p;
}

/** Learns what a message tells about its peer: its ref, connection type, addrv2 support; credits the getaddr tokens once. */
export function notePeer(s: BookState, id: number, ref: Ref<PeerMsg>, connType: ConnType | undefined, addrv2: boolean | undefined, nowMs: number): BookPeer {
  const p = peerOf(s, id, nowMs);
  p.ref = ref;
  if (addrv2 !== undefined) p.addrv2 = addrv2;
  if (connType !== undefined && p.connType === null) p.connType = connType;
  if (!p.credited && p.connType !== null && GETADDR_SENT.has(p.connType)) {
    // We sent getaddr to this peer: its answer may be up to 1000 addresses more (Core).
    p.credited = true;
    p.getaddrPending = true;
    credit(p.bucket, MAX_ADDR_TO_SEND);
  }
  return p;
}

function blockedIp(s: BookState, host: string | null, nowMs: number): boolean {
  return host !== null && (isBanned(s.bans, host, nowMs) || isDiscouraged(s.bans, host, nowMs));
}

/**
 * A peer's `addr`/`addrv2` (the peer already dropped those of block-relay-only connections).
 * Over 1000 entries is misbehaviour; otherwise shuffled, rate-limited per peer, filtered
 * (invalid, banned, discouraged), stored with a 2 h penalty and the fresh ones relayed.
 */
export function onAddr(s: BookState, p: BookPeer, addresses: readonly TimedNetAddress[], nowMs: number, allowLocal: boolean): BookEffect[] {
  const fx: BookEffect[] = [];
  if (addresses.length > MAX_ADDR_TO_SEND) {
    // The punishment table's row (the peer's decoder stops such a list first; noban is the peer's to apply).
    const punish = punishmentFor('list-too-long', { connType: p.connType ?? 'inbound', noban: false });
    if (p.ref && punish !== 'ignore') fx.push({ kind: 'disconnect', to: p.ref, reason: `addr message size = ${addresses.length}`, misbehaving: punish === 'discourage' });
    return fx;
  }
  const nowSec = Math.floor(nowMs / 1000);
  const solicited = p.getaddrPending;
  const list = shuffle([...addresses], s.random);
  const fresh: TimedNetAddress[] = [];
  const store: TimedNetAddress[] = [];
  for (const a0 of list) {
    s.counters.addrReceived++;
    if (take(p.bucket, 1, nowMs) < 1) {
      s.counters.addrRateLimited++;
      p.addrRateLimited++;
      continue;
    }
    const valid = isValidAddress(a0);
    const host = valid ? hostOf(a0) : null;
    if (blockedIp(s, host, nowMs)) {
      s.counters.addrDropped++;
      continue;
    }
    // Core counts as processed all that passed the bucket and is not banned or discouraged.
    p.addrProcessed++;
    // Port 0 is refused except for I2P, whose addresses carry none (Core: I2P_SAM31_PORT).
    if (!valid || (a0.port === 0 && a0.network !== 'i2p') || (!allowLocal && host !== null && isLocalIp(host))) {
      s.counters.addrDropped++;
      continue;
    }
    // Core: a time far in the future or before 1973 becomes "5 days ago".
    const a = a0.time <= 100_000_000 || a0.time > nowSec + 600 ? { ...a0, time: nowSec - 5 * 86400 } : a0;
    store.push(a);
    if (a.time > nowSec - RELAY_MAX_AGE_SEC && !solicited && addresses.length <= RELAY_MAX_ADDRS && host !== null) fresh.push(a);
  }
  // Core: an answer of fewer than 1000 addresses is the last one to our getaddr.
  if (addresses.length < MAX_ADDR_TO_SEND) p.getaddrPending = false;
  if (store.length > 0) {
    const source: NetAddress = p.endpoint ? (addressOf(p.endpoint) ?? placeholderSource(p.id)) : placeholderSource(p.id);
    const added = s.man.add(store, source, ADDR_PENALTY_SEC, nowSec);
    s.counters.addrAccepted += added;
    // First, so that the actor issues the journal write before anything else can interrupt it.
    fx.push({ kind: 'learned', addrs: store, source, penalty: ADDR_PENALTY_SEC, atSec: nowSec, added });
  }
  for (const a of addresses) remember(p, addrKey(a));
  if (fresh.length > 0) fx.push(...relay(s, p.id, fresh, nowMs));
  return fx;
}

/** Every known peer's addr_processed and addr_rate_limited, by id. */
export function peerAddrCounts(s: BookState): PeerAddrCounts[] {
  return [...s.peers.values()].map((p) => ({ id: p.id, addrProcessed: p.addrProcessed, addrRateLimited: p.addrRateLimited }));
}

/** A source for a peer whose endpoint we do not know yet: an internal (fd6b:88c0:8724::/48) address per peer id. */
function placeholderSource(id: number): NetAddress {
  const b = Buffer.alloc(16);
  Buffer.from('fd6b88c08724', 'hex').copy(b);
  b.writeUInt32BE(id >>> 0, 12);
  return { network: 'ipv6', addr: b, port: 0, services: 0n };
}

/** Relay targets: connected peers that relay addresses, not the source, not block-relay-only. */
function relayTargets(s: BookState, sourceId: number): BookPeer[] {
  const out: BookPeer[] = [];
  for (const p of s.peers.values()) {
    if (p.id === sourceId || p.ref === null || p.connType === null || NO_RELAY.has(p.connType)) continue;
    out.push(p);
  }
  return out;
}

/** Core's m_addr_known holds 5,000 addresses per peer (a rolling filter); we keep the newest 5,000. */
export const KNOWN_ADDRS = 5000;

function addrKey(a: NetAddress): string {
  return `${a.network}:${Buffer.from(a.addr).toString('hex')}:${a.port}`;
}

function remember(p: BookPeer, key: string): void {
  const known = (p.known ??= new Set());
  known.delete(key);
  known.add(key);
  if (known.size > KNOWN_ADDRS) known.delete(known.values().next().value as string);
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/**
 * Relays fresh addresses as Core's RelayAddress does: each address goes to the 2 peers (1 for a
 * network we cannot reach) that score highest on a keyed hash of the address, a day-long time
 * bucket (offset per address) and the peer — so the same address goes to the same peers all
 * day and repeated gossip can't be used to map our connections — skipping peers that already
 * know it (they sent it, or we relayed it to them before).
 */
export function relay(s: BookState, sourceId: number, addrs: readonly TimedNetAddress[], nowMs: number): BookEffect[] {
  const targets = relayTargets(s, sourceId);
  const key = s.relayKey ?? Buffer.alloc(32);
  const nowSec = Math.floor(nowMs / 1000);
  const per = new Map<BookPeer, TimedNetAddress[]>();
  for (const a of addrs) {
    const k = addrKey(a);
    const h0 = createHash('sha256').update(key).update(k).digest();
    const bucket = Math.floor((nowSec + (h0.readUInt32LE(0) % 86400)) / 86400);
    const scored = targets
      .map((p) => ({ p, score: createHash('sha256').update(h0).update(u32(bucket)).update(u32(p.id)).digest().readBigUInt64LE(0) }))
      .sort((x, y) => (x.score < y.score ? 1 : x.score > y.score ? -1 : 0));
    const n = a.network === 'ipv4' || a.network === 'ipv6' ? 2 : 1;
    for (const { p } of scored.slice(0, n)) {
      if (p.known?.has(k)) continue;
      const list = per.get(p) ?? [];
      list.push(a);
      per.set(p, list);
    }
  }
  const fx: BookEffect[] = [];
  for (const [t, list] of per) {
    if (t.ref === null) continue;
    for (const a of list) remember(t, addrKey(a));
    fx.push({ kind: 'send', to: t.ref, msg: addrMessage(t.addrv2, list) });
    s.counters.relayed += list.length;
  }
  return fx;
}

/** `addrv2` for peers that asked for it; otherwise `addr` with the addresses v1 can carry (IPv4, IPv6). */
export function addrMessage(v2: boolean, addrs: readonly TimedNetAddress[]): Message {
  if (v2) return { command: 'addrv2', addresses: addrs };
  return { command: 'addr', addresses: addrs.filter((a) => a.network === 'ipv4' || a.network === 'ipv6') };
}

/** The getaddr answer (the peer already filtered: inbound only, once per connection). */
export function onGetaddr(s: BookState, p: BookPeer, nowMs: number): BookEffect[] {
  if (p.ref === null) return [];
  const addrs = cachedAddresses(s, nowMs);
  s.counters.getaddrAnswered++;
  return [{ kind: 'send', to: p.ref, msg: addrMessage(p.addrv2, addrs) }];
}

/** The cached answer, rebuilt when expired: ≤ 1000 entries, ≤ 23 % of the table, no banned or discouraged ones. */
export function cachedAddresses(s: BookState, nowMs: number): readonly TimedNetAddress[] {
  if (s.cache === null || s.cache.expiresAt <= nowMs) {
    const addrs = s.man.getAddr({
      max: MAX_ADDR_TO_SEND,
      maxPct: MAX_PCT_ADDR_TO_SEND,
      nowSec: Math.floor(nowMs / 1000),
      filter: (e) => !blockedIp(s, hostOf(e.addr), nowMs),
    });
    s.cache = { addrs, builtAt: nowMs, expiresAt: nowMs + CACHE_BASE_MS + Math.floor(s.random() * CACHE_JITTER_MS) };
  }
  return s.cache.addrs;
}

export interface SelectRequest {
  readonly purpose: 'outbound' | 'feeler';
  readonly count: number;
  readonly excludeGroups: readonly string[];
  /** Endpoints connected or being dialled (the manager's view). */
  readonly excludeEndpoints?: readonly string[];
}

/** Draws per request: Core's 100 per connection, plus 4 per candidate asked for. */
export const SELECT_BASE_DRAWS = 100;
/** A request stops after this many draws in a row that offered nothing new (Core gives up on a connection after 100). */
export const SELECT_MAX_MISSES = 100;

/**
 * Candidates for the manager's empty slots: anchors first (outbound; marked `anchor`, so that
 * the manager dials them as block-relay-only, as Core does), then addrman's weighted
 * selection (feelers: a tried collision to test, else new entries only), never a connected or
 * excluded endpoint, never two in one network group or an excluded group, never banned or
 * discouraged, only networks we can dial; like Core, recently tried ones are skipped for the
 * first 30 draws. At most 100 + 4 × count draws, and the search stops after 100 draws in a
 * row that gave nothing usable (a table whose entries are all in groups in use, say).
 */
export function selectCandidates(s: BookState, req: SelectRequest, nowMs: number): Candidate[] {
  const nowSec = Math.floor(nowMs / 1000);
  const busy = new Set(req.excludeEndpoints ?? []);
  for (const p of s.peers.values()) if (p.endpoint) busy.add(endpointKey(p.endpoint));
  const groups = new Set(req.excludeGroups);
  const out: Candidate[] = [];
  const usable = (e: Endpoint): boolean => {
    const key = endpointKey(e);
    const group = s.man.netgroups.hostGroup(e.host);
    if (busy.has(key) || groups.has(group) || blockedIp(s, e.host, nowMs)) return false;
    busy.add(key);
    groups.add(group);
    return true;
  };
  if (req.purpose === 'outbound') {
    while (s.pendingAnchors.length > 0 && out.length < req.count) {
      const a = s.pendingAnchors.shift() as Endpoint;
      if (usable(a)) out.push({ host: a.host, port: a.port, anchor: true });
    }
  } else {
    s.man.resolveCollisions(nowSec);
    const c = s.man.selectTriedCollision(nowSec);
    if (c !== null && REACHABLE_NETWORKS.includes(String(c.addr.network))) {
      const e = endpointOf(c.addr);
      if (usable(e)) out.push({ ...e, services: c.addr.services });
    }
  }
  s.counters.selectRounds++;
  const maxDraws = SELECT_BASE_DRAWS + req.count * 4;
  let lastHit = 0;
  let tries = 0;
  for (; out.length < req.count && tries < maxDraws && tries - lastHit < SELECT_MAX_MISSES; tries++) {
    const entry = s.man.select({ newOnly: req.purpose === 'feeler', nowSec, networks: REACHABLE_NETWORKS });
    if (entry === null) break;
    // Core: only consider recently tried addresses after 30 failed draws.
    if (nowSec - entry.lastTry < 600 && tries < 30) continue;
    const e = endpointOf(entry.addr);
    if (usable(e)) {
      out.push({ ...e, services: entry.addr.services });
      lastHit = tries + 1;
    }
  }
  s.counters.selectDraws += tries;
  if (out.length === 0) s.counters.selectEmpty++;
  return out;
}

/** A connection attempt's outcome, from the manager: Attempt on failure, Good on success (may promote to tried). */
export function onAttempt(s: BookState, endpoint: Endpoint, ok: boolean, connType: ConnType, nowMs: number): BookEffect[] {
  const addr = addressOf(endpoint);
  if (addr === null) return [];
  const nowSec = Math.floor(nowMs / 1000);
  const before = s.man.find(addr);
  if (!ok) {
    // Core counts failures of automatic connections; a manual peer's failures do not age its entry.
    const countFailure = connType !== 'manual';
    s.man.attempt(addr, countFailure, nowSec);
    return before === undefined ? [] : [{ kind: 'attempted', addr: before.addr, countFailure, atSec: nowSec }];
  }
  s.man.good(addr, nowSec);
  const after = s.man.find(addr);
  if (after !== undefined && after.inTried && before?.inTried !== true) {
    return [
      { kind: 'tried', addr: after.addr, source: after.source, atSec: nowSec },
      { kind: 'log', level: 'debug', msg: 'address moved to tried', data: { address: endpointKey(endpoint) } },
    ];
  }
  // Already tried: its last success and reset attempts are journaled too (replayed as a success).
  if (after !== undefined && after.inTried) return [{ kind: 'succeeded', addr: after.addr, source: after.source, atSec: nowSec }];
  return [];
}

/** The manager's notice of a ready peer: remembered for relay, exclusion and anchors. */
export function onPeerConnected(
  s: BookState,
  m: { readonly id: number; readonly endpoint: Endpoint; readonly connType: ConnType; readonly services: bigint; readonly ref: Ref<PeerMsg> | null },
  nowMs: number,
): BookEffect[] {
  const p = peerOf(s, m.id, nowMs);
  p.endpoint = m.endpoint;
  p.connected = true;
  if (m.ref) p.ref = m.ref;
  if (p.connType === null) p.connType = m.connType;
  if (m.connType !== 'inbound') {
    const addr = addressOf(m.endpoint);
    if (addr !== null && s.man.find(addr) !== undefined) s.man.setServices(addr, m.services);
  }
  return anchorsEffect(s);
}

export function onPeerDisconnected(s: BookState, id: number, nowMs: number): BookEffect[] {
  const p = s.peers.get(id);
  if (p === undefined) return [];
  s.peers.delete(id);
  // Core (FinalizeNode): Connected() for outbound peers, never block-relay-only (no information leak).
  if (p.endpoint && p.connType !== null && p.connType !== 'inbound' && p.connType !== 'block-relay-only' && p.connected) {
    const addr = addressOf(p.endpoint);
    if (addr !== null) s.man.connected(addr, Math.floor(nowMs / 1000));
  }
  return p.connType === 'block-relay-only' ? anchorsEffect(s) : [];
}

/** The block-relay-only peers in use (at most 2): what is saved as anchors. */
export function currentAnchors(s: BookState): Endpoint[] {
  const out: Endpoint[] = [];
  for (const p of s.peers.values()) if (p.connType === 'block-relay-only' && p.endpoint && p.connected && out.length < MAX_ANCHORS) out.push(p.endpoint);
  return out;
}

function anchorsEffect(s: BookState): BookEffect[] {
  const a = currentAnchors(s);
  const key = a.map(endpointKey).sort().join(',');
  if (key === s.savedAnchors) return [];
  s.savedAnchors = key;
  return [{ kind: 'anchors', anchors: a }];
}

/**
 * Misbehaviour reported by the manager: discouraged for 24 h, never a local address (Core). In
 * memory only and bounded, as Core's rolling filter of 50,000 (contracts/bans.ts): nothing is
 * written. Returns whether the address was discouraged.
 */
export function onMisbehaving(s: BookState, endpoint: Endpoint, nowMs: number): boolean {
  if (isLocalIp(endpoint.host)) return false;
  discourage(s.bans, endpoint.host, nowMs);
  return true;
}

/** Peers whose address a ban covers (to be disconnected). */
export function peersIn(s: BookState, covered: (ip: string) => boolean): BookPeer[] {
  const out: BookPeer[] = [];
  for (const p of s.peers.values()) if (p.endpoint && covered(p.endpoint.host)) out.push(p);
  return out;
}

/** Core's getaddrmaninfo / network names: torv3 is `onion`. */
export function networkName(n: string): string {
  return n === 'torv3' ? 'onion' : n;
}

export type { AddrEntry };

// --- fixed seeds ---------------------------------------------------------------------------

/** Core: fixed seeds wait this long for the DNS seeds, -seednode and -addnode to fill the book. */
export const FIXED_SEEDS_DELAY_MS = 60_000;
/** After the delay, how often the book is looked at again while no reachable network is empty (Core checks every loop). */
export const FIXED_SEEDS_RECHECK_MS = 60_000;

/** What decides when the fixed seeds are added (Core's ThreadOpenConnections). */
export interface FixedSeedsPolicy {
  /** --fixedseeds, no --connect, and a list to add. */
  readonly enabled: boolean;
  readonly dnsseed: boolean;
  /** -addnode or -seednode peers given: Core waits the delay for them even without DNS seeds. */
  readonly manualPeers: boolean;
  /** When the node started, ms. */
  readonly startedAtMs: number;
  /** Networks we can dial (names as the book counts them). */
  readonly reachable: readonly string[];
}

export type FixedSeedsDecision =
  | { readonly kind: 'off' }
  /** Look again after `ms`. */
  | { readonly kind: 'wait'; readonly ms: number }
  /** Add the seeds of these networks (reachable and empty in the book), once. */
  | { readonly kind: 'add'; readonly networks: readonly string[]; readonly reason: 'timeout' | 'no-dnsseed' };

/** The reachable networks the book has no address of (Core's GetReachableEmptyNetworks). */
export function emptyReachableNetworks(man: AddrMan, reachable: readonly string[]): string[] {
  const c = man.counts();
  return reachable.filter((n) => (c.new[n] ?? 0) + (c.tried[n] ?? 0) === 0);
}

/**
 * Core's rule: while some reachable network has no address, add the fixed seeds of those
 * networks — at once when -dnsseed is off and no -addnode/-seednode was given, otherwise once
 * 60 s have passed since the start; never with -fixedseeds=0 or -connect. Pure: the caller
 * passes the networks that are empty now.
 */
export function fixedSeedsDecision(p: FixedSeedsPolicy, nowMs: number, emptyReachable: readonly string[]): FixedSeedsDecision {
  if (!p.enabled) return { kind: 'off' };
  const elapsed = nowMs - p.startedAtMs;
  if (emptyReachable.length === 0) return { kind: 'wait', ms: elapsed >= FIXED_SEEDS_DELAY_MS ? FIXED_SEEDS_RECHECK_MS : FIXED_SEEDS_DELAY_MS - elapsed };
  if (elapsed >= FIXED_SEEDS_DELAY_MS) return { kind: 'add', networks: emptyReachable, reason: 'timeout' };
  if (!p.dnsseed && !p.manualPeers) return { kind: 'add', networks: emptyReachable, reason: 'no-dnsseed' };
  return { kind: 'wait', ms: FIXED_SEEDS_DELAY_MS - elapsed };
}

/** Core's SetInternal: an address in fd6b:88c0:8724::/48 standing for a name (a DNS seed, "fixedseeds"). */
export function internalSource(name: string): NetAddress {
  const b = Buffer.alloc(16);
  Buffer.from('fd6b88c08724', 'hex').copy(b);
  createHash('sha256').update(name).digest().copy(b, 6, 0, 10);
  return { network: 'ipv6', addr: b, port: 0, services: 0n };
}

/** The source of every fixed seed (Core's internal "fixedseeds" address). */
export const FIXED_SEEDS_SOURCE: NetAddress = internalSource('fixedseeds');

/**
 * The fixed-seeds timer fired: decides (see {@link fixedSeedsDecision}) and, when it is time,
 * adds the seeds of the reachable networks that are empty, each seen "a random 1 to 2 weeks ago"
 * with NODE_NETWORK | NODE_WITNESS (Core's SeedsServiceFlags), from {@link FIXED_SEEDS_SOURCE}. Returns the effects (the
 * learned batch to journal, a log line) and when to look again (null: never, done or off).
 */
export function onFixedSeedsTimer(s: BookState, p: FixedSeedsPolicy, seeds: readonly NetAddress[], nowMs: number): { fx: BookEffect[]; nextMs: number | null } {
  const d = fixedSeedsDecision(p, nowMs, emptyReachableNetworks(s.man, p.reachable));
  if (d.kind === 'off') return { fx: [], nextMs: null };
  if (d.kind === 'wait') return { fx: [], nextMs: d.ms };
  const nowSec = Math.floor(nowMs / 1000);
  const week = 7 * 86400;
  const addrs: TimedNetAddress[] = [];
  for (const a of seeds) {
    if (!d.networks.includes(networkName(String(a.network)))) continue;
    addrs.push({ ...a, services: NODE_NETWORK | NODE_WITNESS, time: nowSec - week - Math.floor(s.random() * week) });
  }
  const added = s.man.add(addrs, FIXED_SEEDS_SOURCE, 0, nowSec);
  const why =
    d.reason === 'timeout'
      ? 'adding fixed seeds: 60 seconds have passed and the address book is empty for at least one reachable network'
      : 'adding fixed seeds: -dnsseed=0 and neither -addnode nor -seednode given';
  const fx: BookEffect[] = [{ kind: 'log', level: 'info', msg: why, data: { networks: d.networks, seeds: addrs.length, added } }];
  if (addrs.length > 0) fx.unshift({ kind: 'learned', addrs, source: FIXED_SEEDS_SOURCE, penalty: 0, atSec: nowSec, added });
  return { fx, nextMs: null };
}

/** What the fixed seeds are and when to add them: the texts parsed (bad ones reported), the policy built. */
export interface FixedSeedsSetup {
  readonly policy: FixedSeedsPolicy;
  readonly seeds: readonly NetAddress[];
  /** What to say about the list: entries that are not addresses, seeds given but disabled. */
  readonly fx: BookEffect[];
}

/**
 * Parses the fixed-seed texts (an entry that does not parse is skipped and reported) and builds
 * the policy: enabled with --fixedseeds (default on, off with --connect) and a non-empty list.
 */
export function fixedSeedsSetup(o: {
  readonly texts: readonly string[];
  readonly defaultPort: number;
  readonly fixedseeds: boolean;
  readonly dnsseed: boolean;
  readonly manualPeers: boolean;
  readonly startedAtMs: number;
}): FixedSeedsSetup {
  const seeds: NetAddress[] = [];
  const bad: string[] = [];
  for (const text of o.texts) {
    const a = parseSeed(text, o.defaultPort);
    if (a === null) bad.push(text);
    else seeds.push(a);
  }
  const fx: BookEffect[] = [];
  if (bad.length > 0) fx.push({ kind: 'log', level: 'warn', msg: 'fixed seeds that are not addresses were skipped', data: { bad: bad.slice(0, 5), count: bad.length } });
  const policy: FixedSeedsPolicy = {
    enabled: o.fixedseeds && seeds.length > 0,
    dnsseed: o.dnsseed,
    manualPeers: o.manualPeers,
    startedAtMs: o.startedAtMs,
    reachable: REACHABLE_NETWORKS,
  };
  if (seeds.length > 0 && !policy.enabled) fx.push({ kind: 'log', level: 'info', msg: 'fixed seeds are disabled', data: { seeds: seeds.length } });
  return { policy, seeds, fx };
}

// --- DNS seeds -----------------------------------------------------------------------------

/** Delay before the DNS seeds are considered, ms (Core: 11 s). */
export const DNS_SEED_DELAY_MS = 11_000;
/** Core queries DNS seeds only while the book has fewer addresses than this. */
export const DNS_SEED_THRESHOLD = 1000;

/** When to look at the DNS seeds after the start: after the delay, with --dnsseed and a seed list; null: never. */
export function dnsSeedDelay(dnsseed: boolean, seeds: readonly string[], delayMs = DNS_SEED_DELAY_MS): number | null {
  return dnsseed && seeds.length > 0 ? delayMs : null;
}

/** The DNS-seed timer: query every seed while the book has fewer than 1000 addresses (a round starts), else nothing. */
export function onDnsSeedTimer(s: BookState, seeds: readonly string[]): BookEffect[] {
  if (s.man.size >= DNS_SEED_THRESHOLD) return [{ kind: 'log', level: 'debug', msg: 'enough addresses: DNS seeds not queried', data: { addresses: s.man.size } }];
  const fx: BookEffect[] = [{ kind: 'log', level: 'info', msg: 'querying DNS seeds', data: { seeds: seeds.length, addresses: s.man.size } }];
  s.dns = { pending: seeds.length, answered: 0, added: 0, failed: [] };
  fx.push({ kind: 'query-dns', seeds });
  return fx;
}

/**
 * One seed answered (or failed): its addresses are added with the seed as source, NODE_NETWORK |
 * NODE_WITNESS and a time 3 to 7 days ago (Core: below gossiped ones), and journaled; the round's
 * last answer ends it with one summary line.
 */
export function onDnsResult(s: BookState, seed: string, hosts: readonly string[], error: string | undefined, defaultPort: number, nowMs: number): BookEffect[] {
  const round = s.dns;
  if (error !== undefined) {
    round?.failed.push(`${seed}: ${error}`);
    return [{ kind: 'log', level: 'debug', msg: 'DNS seed failed', data: { seed, error } }, ...dnsAnswerCounted(s, round)];
  }
  const nowSec = Math.floor(nowMs / 1000);
  const addrs: TimedNetAddress[] = [];
  for (const h of hosts) {
    const a = parseAddress(h.includes(':') ? `[${normalizeIp(h)}]` : h, defaultPort, NODE_NETWORK | NODE_WITNESS);
    if (a) addrs.push({ ...a, time: nowSec - 3 * 86400 - Math.floor(s.random() * 4 * 86400) });
  }
  const source = internalSource(seed);
  const added = s.man.add(addrs, source, 0, nowSec);
  // First, so that the actor issues the journal write before anything else.
  const fx: BookEffect[] = addrs.length > 0 ? [{ kind: 'learned', addrs, source, penalty: 0, atSec: nowSec, added }] : [];
  fx.push({ kind: 'log', level: 'debug', msg: 'DNS seed answered', data: { seed, found: hosts.length, added } });
  if (round !== null) {
    round.answered++;
    round.added += added;
  }
  fx.push(...dnsAnswerCounted(s, round));
  return fx;
}

/** One answer of the round counted: at the last, the round is over and its summary is said. */
function dnsAnswerCounted(s: BookState, round: DnsRound | null): BookEffect[] {
  if (round === null || --round.pending > 0) return [];
  s.dns = null;
  return [dnsRoundSummary(round)];
}

/** The one line for a whole round (offline, eight identical failures say nothing more than one). */
export function dnsRoundSummary(round: Pick<DnsRound, 'answered' | 'added' | 'failed'>): Extract<BookEffect, { kind: 'log' }> {
  const n = round.answered + round.failed.length;
  if (round.failed.length === 0) return { kind: 'log', level: 'info', msg: `DNS seeds: ${n} of ${n} answered, ${round.added} new addresses`, data: { seeds: n, added: round.added } };
  return {
    kind: 'log',
    level: 'info',
    msg:
      `DNS seeds: ${round.answered} of ${n} answered (${round.failed[0]}${round.failed.length > 1 ? `, and ${round.failed.length - 1} more` : ''})` +
      (round.answered === 0 ? '; no network or no DNS here? the built-in fixed seeds follow after 60 s, or give peers with --addnode/--connect' : ''),
    data: { seeds: n, answered: round.answered, added: round.added, failed: round.failed },
  };
}

// --- bans ----------------------------------------------------------------------------------

/** A copy of the ban list (what the connection manager is sent: nothing is shared). */
export function copyBans(b: BanList): BanList {
  return { bans: new Map(b.bans), discouraged: new Map(b.discouraged) };
}

function pushBanList(s: BookState): BookEffect {
  return { kind: 'push-ban-list', bans: copyBans(s.bans) };
}

/** Misbehaviour reported by the manager: discouraged for 24 h in memory (not a local address), and the ban list pushed. */
export function onMisbehavingPeer(s: BookState, endpoint: Endpoint, reason: string, nowMs: number): BookEffect[] {
  if (!onMisbehaving(s, endpoint, nowMs)) return [];
  return [{ kind: 'log', level: 'info', msg: 'misbehaving peer discouraged for 24 h', data: { address: endpointKey(endpoint), reason } }, pushBanList(s)];
}

/**
 * The operator bans a subnet until `untilMs`: refused when it does not parse, ends in the past or is
 * banned already; otherwise persisted first, the getaddr cache dropped, the ban list pushed and the
 * peers it covers disconnected.
 */
export function onBan(s: BookState, m: { readonly subnet: string; readonly untilMs: number; readonly reason: string; readonly replyTo: Ref<BanReply> }, nowMs: number): BookEffect[] {
  const reply = (r: BanReply): BookEffect => ({ kind: 'reply', to: m.replyTo, reply: r });
  const subnet = parseSubnet(m.subnet);
  if (subnet === null) return [reply({ ok: false, error: 'Error: Invalid IP/Subnet' })];
  if (!(m.untilMs > nowMs)) return [reply({ ok: false, error: 'Error: ban end time is in the past' })];
  const existing = s.bans.bans.get(subnet.text);
  if (existing && existing.until > nowMs) return [reply({ ok: false, error: 'Error: IP/Subnet already banned' })];
  s.bans.bans.set(subnet.text, { subnet, createdAt: nowMs, until: m.untilMs, reason: m.reason });
  s.cache = null;
  const fx: BookEffect[] = [{ kind: 'persist-ban', subnet: subnet.text, createdAt: nowMs, until: m.untilMs, reason: m.reason }, pushBanList(s)];
  for (const p of peersIn(s, (ip) => subnetContains(subnet, ip))) if (p.ref) fx.push({ kind: 'disconnect', to: p.ref, reason: `banned (${subnet.text})`, misbehaving: false });
  fx.push({ kind: 'log', level: 'info', msg: 'subnet banned', data: { subnet: subnet.text, until: new Date(m.untilMs).toISOString(), reason: m.reason } });
  fx.push(reply({ ok: true }));
  return fx;
}

/** The operator lifts a ban: refused when the subnet does not parse or is not banned; otherwise deleted, the list pushed, the manager told. */
export function onUnban(s: BookState, subnetText: string, replyTo: Ref<BanReply>): BookEffect[] {
  const subnet = parseSubnet(subnetText);
  if (subnet === null || !s.bans.bans.has(subnet.text)) return [{ kind: 'reply', to: replyTo, reply: { ok: false, error: 'Error: Unban failed' } }];
  s.bans.bans.delete(subnet.text);
  return [{ kind: 'delete-bans', bans: [subnet.text] }, pushBanList(s), { kind: 'book-changed' }, { kind: 'reply', to: replyTo, reply: { ok: true } }];
}

/** `clearbanned`: every ban and discouragement deleted (bans from the store too), the (empty) list pushed, the manager told. */
export function onClearBans(s: BookState, replyTo: Ref<BanReply>): BookEffect[] {
  const bans = [...s.bans.bans.keys()];
  s.bans.bans.clear();
  s.bans.discouraged.clear();
  return [{ kind: 'delete-bans', bans }, pushBanList(s), { kind: 'book-changed' }, { kind: 'reply', to: replyTo, reply: { ok: true } }];
}

/** The sweep timer: expired bans and discouragements are deleted, the list pushed, the manager told; nothing when none expired. */
export function onSweep(s: BookState, nowMs: number): BookEffect[] {
  const bans = [...s.bans.bans.values()].filter((e) => e.until <= nowMs).map((e) => e.subnet.text);
  const discouraged = [...s.bans.discouraged].filter(([, until]) => until <= nowMs).map(([ip]) => ip);
  if (bans.length + discouraged.length === 0) return [];
  sweep(s.bans, nowMs);
  return [
    ...(bans.length > 0 ? [{ kind: 'delete-bans' as const, bans }] : []),
    pushBanList(s),
    { kind: 'book-changed' },
    { kind: 'log', level: 'info', msg: 'bans expired', data: { bans, discouraged: discouraged.length } },
  ];
}

// --- the step ------------------------------------------------------------------------------

type Msg<T extends AddressBookMsg['type']> = Extract<AddressBookMsg, { readonly type: T }>;
type At = { readonly now: number };

/** The input of the book's logic: what others send it (the contract's messages, with the time), and its own timers and DNS answers. */
export type BookEvent =
  /** The actor started: its timers and the first push of the ban list. */
  | { readonly type: 'start'; readonly dnsseed: boolean; readonly dnsSeeds: readonly string[]; readonly dnsDelayMs?: number; readonly fixedSeeds: FixedSeedsPolicy }
  | (FromPeer & At & { readonly allowLocal: boolean })
  | (Omit<Msg<'select'>, 'notify'> & At)
  | (Msg<'attempt'> & At)
  | (Msg<'peer-connected'> & At)
  | (Msg<'peer-disconnected'> & At)
  | (Msg<'misbehaving'> & At)
  | (Msg<'ban'> & At)
  | Msg<'unban'>
  | Msg<'clear-bans'>
  | ({ readonly type: 'sweep' } & At)
  | { readonly type: 'dns-seed'; readonly seeds: readonly string[] }
  | ({ readonly type: 'dns-result'; readonly seed: string; readonly hosts: readonly string[]; readonly error?: string; readonly defaultPort: number } & At)
  | ({ readonly type: 'fixed-seeds'; readonly policy: FixedSeedsPolicy; readonly seeds: readonly NetAddress[] } & At);

/** Feeds one event to the address book's logic (mutating `s`); returns the effects to perform, in order. */
export function stepBook(s: BookState, e: BookEvent): BookEffect[] {
  return match(e)
    .with({ type: 'start' }, (ev) => onStart(s, ev))
    .with({ type: 'from-peer' }, (ev) => onFromPeer(s, ev))
    .with({ type: 'select' }, ({ purpose, count, excludeGroups, excludeEndpoints, replyTo, now }): BookEffect[] => [
      { kind: 'candidates', to: replyTo, list: selectCandidates(s, { purpose, count, excludeGroups, ...(excludeEndpoints ? { excludeEndpoints } : {}) }, now) },
    ])
    .with({ type: 'attempt' }, ({ endpoint, ok, connType, now }) => onAttempt(s, endpoint, ok, connType, now))
    .with({ type: 'peer-connected' }, (m) => onPeerConnected(s, { ...m, ref: m.ref ?? null }, m.now))
    .with({ type: 'peer-disconnected' }, ({ id, now }) => onPeerDisconnected(s, id, now))
    .with({ type: 'misbehaving' }, ({ endpoint, reason, now }) => onMisbehavingPeer(s, endpoint, reason, now))
    .with({ type: 'ban' }, (m) => onBan(s, m, m.now))
    .with({ type: 'unban' }, ({ subnet, replyTo }) => onUnban(s, subnet, replyTo))
    .with({ type: 'clear-bans' }, ({ replyTo }) => onClearBans(s, replyTo))
    .with({ type: 'sweep' }, ({ now }) => onSweep(s, now))
    .with({ type: 'dns-seed' }, ({ seeds }) => onDnsSeedTimer(s, seeds))
    .with({ type: 'dns-result' }, ({ seed, hosts, error, defaultPort, now }) => onDnsResult(s, seed, hosts, error, defaultPort, now))
    .with({ type: 'fixed-seeds' }, ({ policy, seeds, now }) => onFixedSeeds(s, policy, seeds, now))
    .exhaustive();
}

/** The start: the DNS-seed timer (after the delay, when there are seeds to ask), the fixed-seeds timer (at once, when enabled), and the ban list pushed. */
function onStart(s: BookState, e: Extract<BookEvent, { type: 'start' }>): BookEffect[] {
  const fx: BookEffect[] = [];
  const dnsMs = dnsSeedDelay(e.dnsseed, e.dnsSeeds, e.dnsDelayMs);
  if (dnsMs !== null) fx.push({ kind: 'timer', key: 'dns-seed', ms: dnsMs });
  if (e.fixedSeeds.enabled) fx.push({ kind: 'timer', key: 'fixed-seeds', ms: 0 });
  fx.push(pushBanList(s));
  return fx;
}

/** A peer's message for the book: its `addr`/`addrv2` learned, its `getaddr` answered (anything else only noted). */
function onFromPeer(s: BookState, m: Extract<BookEvent, { type: 'from-peer' }>): BookEffect[] {
  const p = notePeer(s, m.peer, m.self, m.connType, m.sendAddrV2, m.now);
  const w = m.msg;
  if (w.command === 'addr' || w.command === 'addrv2') return onAddr(s, p, w.addresses, m.now, m.allowLocal);
  if (w.command === 'getaddr') return onGetaddr(s, p, m.now);
  return [];
}

/** The fixed-seeds timer: {@link onFixedSeedsTimer}, and the timer again when it says to look later. */
function onFixedSeeds(s: BookState, policy: FixedSeedsPolicy, seeds: readonly NetAddress[], nowMs: number): BookEffect[] {
  const { fx, nextMs } = onFixedSeedsTimer(s, policy, seeds, nowMs);
  if (nextMs !== null) fx.push({ kind: 'timer', key: 'fixed-seeds', ms: nextMs });
  return fx;
}
