/**
 * The connection manager's logic as a state machine without I/O: `stepConnman(state, event) → effects`.
 * Deterministic (time and randomness come in through events and the injected `random`); for speed
 * with thousands of peers it updates the state's maps in place. One named handler per event.
 * It decides whom to dial and when, admits or refuses inbound connections (evicting when full),
 * keeps the addnode peers connected with backoff, runs feelers, and remembers why every peer left.
 * The actor shell (connman/actor.ts) performs the effects: sockets, spawning peer actors, asking
 * the address book.
 */
import { match } from 'ts-pattern';
import { backoffDelay, type BackoffOptions } from '../../supervisors/index.js';
import { selectPeerToEvict, type EvictionCandidate } from './eviction.js';
import { isLocalIp, netKind } from '../netaddress/netaddress.js';
import { keyedNetGroup, NO_ASMAP, type NetGroupManager } from '../netaddress/netgroup.js';
import { endpointKey, type AddedNode, type ConnType, type Endpoint } from '../contracts/connection.js';
import { NODE_P2P_V2 } from '../wire/constants.js';
import type { DisconnectRecord } from '../contracts/connman.js';
import type { Candidate } from '../contracts/addressbook.js';
import type { ToConnman } from '../contracts/peer.js';

export interface ConnmanConfig {
  readonly maxConnections: number;
  readonly fullRelayTarget: number;
  readonly blockRelayTarget: number;
  /** Most addnode/connect peers at once (Core: 8). */
  readonly maxManual: number;
  /** 0 disables feelers. */
  readonly feelerIntervalMs: number;
  readonly connectTimeoutMs: number;
  /** False with --connect: only the manual peers are dialled. */
  readonly automaticOutbound: boolean;
  readonly listen: boolean;
  readonly manualBackoff: BackoffOptions;
  /** Secret for keyed network groups (eviction must not be predictable by peers). */
  readonly groupKey: Uint8Array;
  /** Network groups (outbound diversity, eviction); the address book must use the same. */
  readonly netgroups: NetGroupManager;
  /** How many recent disconnects to remember for the operator. */
  readonly disconnectHistory: number;
  /**
   * Our --v2transport (NODE_P2P_V2 among our services): dial manual peers with BIP324 v2, and
   * automatic ones and feelers whose known services include NODE_P2P_V2 (Core's use_v2transport).
   */
  readonly v2transport: boolean;
}

export const DEFAULT_CONNMAN: Omit<ConnmanConfig, 'groupKey'> = {
  maxConnections: 125,
  fullRelayTarget: 8,
  blockRelayTarget: 2,
  maxManual: 8,
  feelerIntervalMs: 120_000,
  connectTimeoutMs: 5000,
  automaticOutbound: true,
  listen: true,
  manualBackoff: { minMs: 1000, maxMs: 300_000, randomFactor: 0.2, resetAfterMs: 60_000 },
  disconnectHistory: 1000,
  netgroups: NO_ASMAP,
  v2transport: false,
};

/** Outbound slots Core reserves: full relay + block relay + feeler (inbound gets the rest). */
export function maxInbound(c: ConnmanConfig): number {
  return Math.max(0, c.maxConnections - (c.fullRelayTarget + c.blockRelayTarget + (c.feelerIntervalMs > 0 ? 1 : 0)));
}

export interface ConnPeer {
  readonly id: number;
  readonly endpoint: Endpoint;
  readonly connType: ConnType;
  readonly group: string;
  readonly keyedGroup: number;
  readonly connectedAt: number;
  readonly manualKey: string | null;
  /** Dialled with the BIP324 v2 transport (false for inbound peers and v1 dials). */
  readonly v2: boolean;
  ready: boolean;
  services: bigint;
  relayTxs: boolean;
  minPingMs: number;
  lastBlockAt: number;
  discouraged: boolean;
  noban: boolean;
}

interface Dial {
  readonly id: number;
  readonly endpoint: Endpoint;
  readonly connType: ConnType;
  readonly group: string;
  readonly startedAt: number;
  readonly manualKey: string | null;
  /** With the BIP324 v2 transport (as its initiator). */
  readonly v2: boolean;
}

interface Manual {
  readonly endpoint: Endpoint;
  /** `manual` for --connect/--addnode, `addr-fetch` for --seednode (connect, get addresses, leave). */
  readonly connType: 'manual' | 'addr-fetch';
  /** onetry entries are dialled once and forgotten. */
  readonly persistent: boolean;
  /** Dialled with the BIP324 v2 transport (the addnode's v2transport, else our --v2transport). */
  readonly v2: boolean;
  failures: number;
  nextAt: number;
  peerId: number | null;
  dialId: number | null;
  connectedAt: number;
}

export interface ConnmanState {
  readonly config: ConnmanConfig;
  readonly peers: Map<number, ConnPeer>;
  readonly dials: Map<number, Dial>;
  readonly manual: Map<string, Manual>;
  /** Addresses offered by the address book and not yet tried (with the services the book knows them for). */
  candidates: Candidate[];
  /** Anchors offered by the address book, for the block-relay-only slots before anything else. */
  anchors: Candidate[];
  feelerCandidates: Candidate[];
  /** An address request is outstanding. */
  wantingAddresses: boolean;
  /** Outbound address rounds in a row that offered nothing dialable … */
  addrEmptyRounds: number;
  /** … and when the next may be asked (capped exponential backoff; reset when the book changes or an outbound peer leaves). */
  addrRetryAt: number;
  nextId: number;
  networkActive: boolean;
  lastFeelerAt: number;
  /** v2 attempts redialled once with v1 (Core's m_reconnections): a v1-only peer had hung up. */
  v1Reconnections: number;
  readonly disconnects: DisconnectRecord[];
  /** Inbound connections refused, by reason. */
  readonly refused: Map<string, number>;
  readonly banned: (ip: string) => boolean;
  readonly discouraged: (ip: string) => boolean;
  readonly random: () => number;
  /** While no peer is connected: since when, and the dials since the last status line (see {@link noteAlone}). */
  readonly alone: AloneState;
}

export interface AloneState {
  since: number | null;
  reportedAt: number;
  dials: number;
  failures: number;
  lastError: string | null;
}

/** How long with no peer before the first status line, and between two of them, ms. */
export const ALONE_REPORT_MS = 60_000;

export type ConnmanEvent =
  | { readonly type: 'tick'; readonly now: number }
  | { readonly type: 'dial-ok'; readonly id: number; readonly now: number }
  | { readonly type: 'dial-failed'; readonly id: number; readonly error: string; readonly now: number }
  | { readonly type: 'inbound'; readonly socketId: number; readonly remote: Endpoint; readonly now: number; readonly noban?: boolean }
  /** The peer's own notice, as it arrives (declared once, in the peer's contract). */
  | Extract<ToConnman, { readonly type: 'peer-connected' }>
  | { readonly type: 'peer-stats'; readonly id: number; readonly minPingMs?: number; readonly lastBlockAt?: number }
  | {
      readonly type: 'peer-disconnected';
      readonly id: number;
      readonly reason: string;
      readonly misbehaving: boolean;
      readonly now: number;
      /** Our own actor died (killed, crashed) without the connection failing: no fault of the remote. */
      readonly local?: boolean;
      /** The peer's verdict on its v2 attempt (ToConnman's reconnectV1): redial once with v1. */
      readonly reconnectV1?: boolean;
    }
  | { readonly type: 'addresses'; readonly purpose: 'outbound' | 'feeler'; readonly list: readonly Candidate[]; readonly now: number }
  /** The address book learned something (new addresses, a tried promotion, an unban) since our last request: ask again now. */
  | { readonly type: 'book-changed'; readonly now: number }
  | { readonly type: 'addnode'; readonly endpoint: Endpoint; readonly command: 'add' | 'remove' | 'onetry'; readonly now: number; readonly v2transport?: boolean }
  | { readonly type: 'disconnect'; readonly id: number; readonly reason: string }
  | { readonly type: 'set-network-active'; readonly active: boolean; readonly now: number }
  /** After a restart of the manager: a live peer found under the peers supervisor. */
  | {
      readonly type: 'adopt';
      readonly id: number;
      readonly endpoint: Endpoint;
      readonly connType: ConnType;
      readonly connectedAt: number;
      readonly ready: boolean;
      readonly services: bigint;
      readonly relayTxs: boolean;
      /** It was dialled with v2 (its transport is v2, or an outbound one still detecting). */
      readonly v2?: boolean;
    };

export type ConnmanEffect =
  /** `v2`: the peer opens as BIP324 initiator. */
  | { readonly kind: 'dial'; readonly id: number; readonly endpoint: Endpoint; readonly connType: ConnType; readonly timeoutMs: number; readonly v2: boolean }
  | { readonly kind: 'accept'; readonly socketId: number; readonly id: number; readonly endpoint: Endpoint }
  | { readonly kind: 'refuse'; readonly socketId: number; readonly reason: string }
  | { readonly kind: 'disconnect'; readonly id: number; readonly reason: string }
  | { readonly kind: 'want-addresses'; readonly purpose: 'outbound' | 'feeler'; readonly count: number; readonly excludeGroups: readonly string[] }
  | { readonly kind: 'attempt'; readonly endpoint: Endpoint; readonly ok: boolean; readonly connType: ConnType }
  | { readonly kind: 'schedule'; readonly ms: number }
  | { readonly kind: 'log'; readonly level: 'info' | 'warn' | 'debug'; readonly msg: string; readonly data?: Readonly<Record<string, unknown>> }
  /** The status line while no peer is connected (the shell adds how many addresses the book knows). */
  | { readonly kind: 'alone'; readonly minutes: number; readonly text: string; readonly data: Readonly<Record<string, unknown>> };

export interface ConnmanInit {
  readonly config: ConnmanConfig;
  readonly connect: readonly Endpoint[];
  readonly addnode: readonly AddedNode[];
  /** Dialled once each to ask for addresses (Core's -seednode). */
  readonly seednode?: readonly Endpoint[];
  readonly now: number;
  readonly banned?: (ip: string) => boolean;
  readonly discouraged?: (ip: string) => boolean;
  /** Random source in [0, 1) for backoff jitter (injected for determinism). */
  readonly random?: () => number;
}

export function initConnman(init: ConnmanInit): ConnmanState {
  const manual = new Map<string, Manual>();
  // Core: manual connections (-connect, -addnode) and -seednode use v2 when we support it (an
  // addnode may say otherwise); a v1-only peer costs one reconnection with v1.
  const v2 = init.config.v2transport;
  const added: readonly AddedNode[] = [...init.connect, ...init.addnode];
  for (const e of added) {
    const entryV2 = (e.v2transport ?? v2) && v2;
    manual.set(endpointKey(e), { endpoint: { host: e.host, port: e.port }, connType: 'manual', persistent: true, v2: entryV2, failures: 0, nextAt: init.now, peerId: null, dialId: null, connectedAt: 0 });
  }
  for (const e of init.seednode ?? []) {
    const key = endpointKey(e);
    if (!manual.has(key))
      manual.set(key, { endpoint: e, connType: 'addr-fetch', persistent: false, v2, failures: 0, nextAt: init.now, peerId: null, dialId: null, connectedAt: 0 });
  }
  return {
    config: init.config,
    peers: new Map(),
    dials: new Map(),
    manual,
    candidates: [],
    anchors: [],
    feelerCandidates: [],
    wantingAddresses: false,
    addrEmptyRounds: 0,
    addrRetryAt: 0,
    nextId: 1,
    networkActive: true,
    lastFeelerAt: init.now,
    v1Reconnections: 0,
    disconnects: [],
    refused: new Map(),
    banned: init.banned ?? (() => false),
    discouraged: init.discouraged ?? (() => false),
    random: init.random ?? Math.random,
    alone: { since: null, reportedAt: 0, dials: 0, failures: 0, lastError: null },
  };
}

const AUTOMATIC: ReadonlySet<ConnType> = new Set(['outbound-full-relay', 'block-relay-only']);

/**
 * After an outbound address round that offered nothing dialable, the next is asked only after
 * 1 s, then 2, 4, … up to 30 s (the slots are still checked every tick); the wait ends at once
 * when the address book reports a change or an automatic outbound peer leaves.
 */
export const ADDR_ROUND_BACKOFF = { minMs: 1000, maxMs: 30_000 } as const;

export function addrRoundDelay(emptyRounds: number): number {
  if (emptyRounds <= 0) return 0;
  return Math.min(ADDR_ROUND_BACKOFF.maxMs, ADDR_ROUND_BACKOFF.minMs * 2 ** Math.min(emptyRounds - 1, 30));
}

function resetAddrBackoff(s: ConnmanState): void {
  s.addrEmptyRounds = 0;
  s.addrRetryAt = 0;
}

function countType(s: ConnmanState, t: ConnType): number {
  let n = 0;
  for (const p of s.peers.values()) if (p.connType === t) n++;
  for (const d of s.dials.values()) if (d.connType === t) n++;
  return n;
}

/** Network groups of automatic outbound peers and dials: never two in one group. */
function usedGroups(s: ConnmanState): Set<string> {
  const g = new Set<string>();
  for (const p of s.peers.values()) if (AUTOMATIC.has(p.connType)) g.add(p.group);
  for (const d of s.dials.values()) if (AUTOMATIC.has(d.connType)) g.add(d.group);
  return g;
}

function busyEndpoints(s: ConnmanState): Set<string> {
  const k = new Set<string>();
  for (const p of s.peers.values()) k.add(endpointKey(p.endpoint));
  for (const d of s.dials.values()) k.add(endpointKey(d.endpoint));
  return k;
}

function startDial(s: ConnmanState, endpoint: Endpoint, connType: ConnType, now: number, manualKey: string | null, v2: boolean, fx: ConnmanEffect[]): number {
  const id = s.nextId++;
  const to: Endpoint = { host: endpoint.host, port: endpoint.port };
  s.dials.set(id, { id, endpoint: to, connType, group: s.config.netgroups.hostGroup(endpoint.host), startedAt: now, manualKey, v2 });
  fx.push({ kind: 'dial', id, endpoint: to, connType, timeoutMs: s.config.connectTimeoutMs, v2 });
  return id;
}

/** Core's ThreadOpenConnections: v2 to an address the book knows offers NODE_P2P_V2, when we offer it too. */
function candidateV2(s: ConnmanState, c: Candidate): boolean {
  return s.config.v2transport && ((c.services ?? 0n) & NODE_P2P_V2) !== 0n;
}

/** Fills every outbound slot it can: manual peers first, then automatic full-relay and block-relay-only, then a feeler when due. */
function fill(s: ConnmanState, now: number, fx: ConnmanEffect[]): void {
  if (!s.networkActive) return;
  let manualBusy = 0;
  for (const m of s.manual.values()) if (m.peerId !== null || m.dialId !== null) manualBusy++;
  let soonest = Infinity;
  for (const [key, m] of s.manual) {
    if (m.peerId !== null || m.dialId !== null) continue;
    if (m.nextAt > now) {
      soonest = Math.min(soonest, m.nextAt - now);
      continue;
    }
    if (manualBusy >= s.config.maxManual) break;
    m.dialId = startDial(s, m.endpoint, m.connType, now, key, m.v2, fx);
    manualBusy++;
  }
  if (Number.isFinite(soonest)) fx.push({ kind: 'schedule', ms: soonest });
  if (!s.config.automaticOutbound) return;

  const groups = usedGroups(s);
  const busy = busyEndpoints(s);
  const take = (list: Candidate[]): Candidate | null => {
    while (list.length > 0) {
      const e = list.shift() as Candidate;
      const g = s.config.netgroups.hostGroup(e.host);
      if (groups.has(g) || busy.has(endpointKey(e)) || s.banned(e.host) || s.discouraged(e.host)) continue;
      groups.add(g);
      busy.add(endpointKey(e));
      return e;
    }
    return null;
  };
  // Anchors first, and only into block-relay-only slots (Core's ThreadOpenConnections): the
  // peers that relayed blocks to us last time, so an attacker who filled the tables since
  // cannot take every outbound slot at the restart. Unused ones (slots full) are dropped.
  let blockMissing = s.config.blockRelayTarget - countType(s, 'block-relay-only');
  while (blockMissing > 0 && s.anchors.length > 0) {
    const e = take(s.anchors);
    if (!e) break;
    startDial(s, e, 'block-relay-only', now, null, candidateV2(s, e), fx);
    blockMissing--;
  }
  if (blockMissing <= 0) s.anchors.length = 0;
  let need = 0;
  for (const [t, target] of [
    ['outbound-full-relay', s.config.fullRelayTarget],
    ['block-relay-only', s.config.blockRelayTarget],
  ] as const) {
    let missing = target - countType(s, t);
    while (missing > 0) {
      const e = take(s.candidates);
      if (!e) break;
      startDial(s, e, t, now, null, candidateV2(s, e), fx);
      missing--;
    }
    need += missing;
  }
  if (need > 0 && !s.wantingAddresses && now >= s.addrRetryAt) {
    s.wantingAddresses = true;
    fx.push({ kind: 'want-addresses', purpose: 'outbound', count: need * 4, excludeGroups: [...groups] });
  }
  if (s.config.feelerIntervalMs > 0 && now - s.lastFeelerAt >= s.config.feelerIntervalMs && countType(s, 'feeler') === 0) {
    // Until the address book offers untried addresses for feelers, test one of the learned candidates.
    const e = take(s.feelerCandidates) ?? take(s.candidates);
    if (e) {
      s.lastFeelerAt = now;
      startDial(s, e, 'feeler', now, null, candidateV2(s, e), fx);
    } else if (need === 0) {
      fx.push({ kind: 'want-addresses', purpose: 'feeler', count: 1, excludeGroups: [...groups] });
      s.lastFeelerAt = now; // ask at most once per interval
    }
  }
}

function record(s: ConnmanState, p: ConnPeer, reason: string, misbehaving: boolean, now: number): void {
  s.disconnects.push({
    id: p.id,
    address: endpointKey(p.endpoint),
    connType: p.connType,
    reason,
    misbehaving,
    at: now,
    connectedMs: now - p.connectedAt,
  });
  const excess = s.disconnects.length - s.config.disconnectHistory;
  if (excess > 0) s.disconnects.splice(0, excess);
}

function evictionCandidate(p: ConnPeer): EvictionCandidate {
  return {
    id: p.id,
    connectedAt: p.connectedAt,
    minPingMs: p.minPingMs,
    lastBlockAt: p.lastBlockAt,
    lastTxAt: 0,
    relevantServices: (p.services & 0x401n) !== 0n, // NODE_NETWORK | NODE_NETWORK_LIMITED
    relayTxs: p.relayTxs,
    bloomFilter: false,
    keyedNetGroup: p.keyedGroup,
    preferEvict: p.discouraged,
    isLocal: isLocalIp(p.endpoint.host),
    network: netKind(p.endpoint.host),
    noban: p.noban,
    inbound: p.connType === 'inbound',
  };
}

function newPeer(s: ConnmanState, id: number, endpoint: Endpoint, connType: ConnType, now: number, manualKey: string | null, v2: boolean, noban = false): ConnPeer {
  const group = s.config.netgroups.hostGroup(endpoint.host);
  return {
    id,
    endpoint,
    connType,
    group,
    keyedGroup: keyedNetGroup(s.config.groupKey, group),
    connectedAt: now,
    manualKey,
    v2,
    ready: false,
    services: 0n,
    relayTxs: false,
    minPingMs: Infinity,
    lastBlockAt: 0,
    discouraged: s.discouraged(endpoint.host),
    noban,
  };
}

function refuse(s: ConnmanState, socketId: number, reason: string, fx: ConnmanEffect[]): void {
  s.refused.set(reason, (s.refused.get(reason) ?? 0) + 1);
  fx.push({ kind: 'refuse', socketId, reason });
}

function inboundCount(s: ConnmanState): number {
  let n = 0;
  for (const p of s.peers.values()) if (p.connType === 'inbound') n++;
  return n;
}

function manualFailed(s: ConnmanState, key: string | null, now: number): void {
  if (key === null) return;
  const m = s.manual.get(key);
  if (!m) return;
  m.dialId = null;
  m.peerId = null;
  if (!m.persistent) {
    s.manual.delete(key);
    return;
  }
  m.nextAt = now + backoffDelay(m.failures, s.config.manualBackoff, s.random());
  m.failures++;
}

/** Core's answers to an `addnode` that cannot be done (null: it can): adding one already added, removing one never added. */
export function addnodeRefusal(s: ConnmanState, endpoint: Endpoint, command: 'add' | 'remove' | 'onetry'): string | null {
  const known = s.manual.has(endpointKey(endpoint));
  if (command === 'add' && known) return 'Error: Node already added';
  if (command === 'remove' && !known) return 'Error: Node could not be removed. It has not been added previously.';
  return null;
}

/** Feeds one event to the connection manager's logic (mutating `s`); returns the effects to perform, in order. */
export function stepConnman(s: ConnmanState, e: ConnmanEvent): ConnmanEffect[] {
  const fx: ConnmanEffect[] = [];
  match(e)
    .with({ type: 'tick' }, (ev) => onTick(s, ev, fx))
    .with({ type: 'dial-ok' }, (ev) => onDialOk(s, ev))
    .with({ type: 'dial-failed' }, (ev) => onDialFailed(s, ev, fx))
    .with({ type: 'inbound' }, (ev) => onInbound(s, ev, fx))
    .with({ type: 'peer-connected' }, (ev) => onPeerConnected(s, ev, fx))
    .with({ type: 'peer-stats' }, (ev) => onPeerStats(s, ev))
    .with({ type: 'peer-disconnected' }, (ev) => onPeerDisconnected(s, ev, fx))
    .with({ type: 'addresses' }, (ev) => onAddresses(s, ev))
    .with({ type: 'book-changed' }, (ev) => onBookChanged(s, ev, fx))
    .with({ type: 'addnode' }, (ev) => onAddnode(s, ev, fx))
    .with({ type: 'disconnect' }, (ev) => onDisconnect(s, ev, fx))
    .with({ type: 'adopt' }, (ev) => onAdopt(s, ev))
    .with({ type: 'set-network-active' }, (ev) => onSetNetworkActive(s, ev, fx))
    .exhaustive();
  noteAlone(s, e, fx);
  return fx;
}

type EventOf<T extends ConnmanEvent['type']> = Extract<ConnmanEvent, { readonly type: T }>;

/** The periodic check: fill every outbound slot that can be filled. */
function onTick(s: ConnmanState, { now }: EventOf<'tick'>, fx: ConnmanEffect[]): void {
  fill(s, now, fx);
}

/** A dial connected: the dial becomes a peer (not ready until its handshake is done). */
function onDialOk(s: ConnmanState, { id, now }: EventOf<'dial-ok'>): void {
  const d = s.dials.get(id);
  if (!d) return;
  s.dials.delete(id);
  s.peers.set(id, newPeer(s, id, d.endpoint, d.connType, now, d.manualKey, d.v2));
  if (d.manualKey !== null) {
    const m = s.manual.get(d.manualKey);
    if (m) {
      m.dialId = null;
      m.peerId = id;
      m.connectedAt = now;
    }
  }
}

/** A dial failed: report the attempt, back a manual peer off, and fill the slot again. */
function onDialFailed(s: ConnmanState, { id, error, now }: EventOf<'dial-failed'>, fx: ConnmanEffect[]): void {
  const d = s.dials.get(id);
  if (!d) return;
  s.dials.delete(id);
  fx.push({ kind: 'attempt', endpoint: d.endpoint, ok: false, connType: d.connType });
  fx.push({ kind: 'log', level: 'debug', msg: 'dial failed', data: { id, address: endpointKey(d.endpoint), connType: d.connType, error } });
  manualFailed(s, d.manualKey, now);
  fill(s, now, fx);
}

/** An inbound connection: refuse it (not listening, banned, discouraged, full) or accept it, evicting a peer when full. */
function onInbound(s: ConnmanState, { socketId, remote, now, noban }: EventOf<'inbound'>, fx: ConnmanEffect[]): void {
  if (!s.config.listen || !s.networkActive) return refuse(s, socketId, 'not accepting', fx);
  if (!noban && s.banned(remote.host)) return refuse(s, socketId, 'banned', fx);
  const limit = maxInbound(s.config);
  const inbound = inboundCount(s);
  // Core: a discouraged address is only let in while there is room to spare.
  if (!noban && s.discouraged(remote.host) && inbound + 1 >= limit) return refuse(s, socketId, 'discouraged', fx);
  if (inbound >= limit) {
    const victim = selectPeerToEvict([...s.peers.values()].map(evictionCandidate));
    if (victim === null) return refuse(s, socketId, 'full, no peer evictable', fx);
    fx.push({ kind: 'disconnect', id: victim, reason: 'evicted to make room for an inbound peer' });
    const v = s.peers.get(victim);
    if (v) {
      record(s, v, 'evicted', false, now);
      s.peers.delete(victim);
    }
  }
  const id = s.nextId++;
  s.peers.set(id, newPeer(s, id, remote, 'inbound', now, null, false, noban === true));
  fx.push({ kind: 'accept', socketId, id, endpoint: remote });
}

/** A peer finished its handshake: it is ready; an outbound one counts as a good attempt, a manual one's backoff resets. */
function onPeerConnected(s: ConnmanState, { id, services, relayTxs }: EventOf<'peer-connected'>, fx: ConnmanEffect[]): void {
  const p = s.peers.get(id);
  if (!p) return;
  p.ready = true;
  p.services = services;
  p.relayTxs = relayTxs;
  if (p.connType !== 'inbound') fx.push({ kind: 'attempt', endpoint: p.endpoint, ok: true, connType: p.connType });
  if (p.manualKey !== null) {
    const m = s.manual.get(p.manualKey);
    if (m) m.failures = 0;
  }
}

/** A peer's figures for eviction: its best ping and its last block. */
function onPeerStats(s: ConnmanState, { id, minPingMs, lastBlockAt }: EventOf<'peer-stats'>): void {
  const p = s.peers.get(id);
  if (!p) return;
  if (minPingMs !== undefined) p.minPingMs = Math.min(p.minPingMs, minPingMs);
  if (lastBlockAt !== undefined) p.lastBlockAt = Math.max(p.lastBlockAt, lastBlockAt);
}

/**
 * Core's one v1 reconnection (CConnman::m_reconnections, V2Transport::ShouldReconnectV1): an
 * outbound v2 attempt that ended before its handshake, with nothing received after we sent at
 * least a v1 header's worth, met a v1-only peer that hung up. It is redialled at once, to the same
 * address, in the same slot (same connection type, same addnode entry), with v1: not a failed
 * attempt for the address book, no backoff step for a manual peer, never misbehaviour. A v1 dial
 * is never retried, so this happens at most once per v2 attempt. True when it redialled.
 */
function reconnectV1(s: ConnmanState, p: ConnPeer, reason: string, now: number, fx: ConnmanEffect[]): boolean {
  if (!p.v2 || p.ready || p.connType === 'inbound' || !s.networkActive) return false;
  // An addnode entry removed meanwhile is not redialled.
  if (p.manualKey !== null && !s.manual.has(p.manualKey)) return false;
  record(s, p, `${reason} (v2 refused: retrying with v1)`, false, now);
  const dialId = startDial(s, p.endpoint, p.connType, now, p.manualKey, false, fx);
  const m = p.manualKey === null ? undefined : s.manual.get(p.manualKey);
  if (m) {
    m.peerId = null;
    m.dialId = dialId;
  }
  s.v1Reconnections++;
  fx.push({ kind: 'log', level: 'debug', msg: 'retrying with v1 transport protocol', data: { id: p.id, address: endpointKey(p.endpoint), connType: p.connType, dial: dialId } });
  return true;
}

/** A connection is over (or a dial's actor died): remember why, back a manual peer off, and fill the slot again (a v2 attempt a v1 peer refused: redial it with v1). */
function onPeerDisconnected(s: ConnmanState, { id, reason, misbehaving, now, local, reconnectV1: v1 }: EventOf<'peer-disconnected'>, fx: ConnmanEffect[]): void {
  const p = s.peers.get(id);
  if (!p) {
    // A dial whose peer actor died before dial-ok, or an already-evicted peer.
    const d = s.dials.get(id);
    if (d) {
      s.dials.delete(id);
      manualFailed(s, d.manualKey, now);
    }
    fill(s, now, fx);
    return;
  }
  s.peers.delete(id);
  if (v1 === true && local !== true && reconnectV1(s, p, reason, now, fx)) return fill(s, now, fx);
  record(s, p, reason, misbehaving, now);
  // Its network group is free again: worth asking the address book at once.
  if (AUTOMATIC.has(p.connType)) resetAddrBackoff(s);
  if (p.connType !== 'inbound' && !p.ready && local !== true) fx.push({ kind: 'attempt', endpoint: p.endpoint, ok: false, connType: p.connType });
  if (p.manualKey !== null) {
    const m = s.manual.get(p.manualKey);
    if (m && local === true) {
      // A kill or crash of our own actor is not the remote's failure: redial after the first
      // delay, and the backoff does not grow (a chaos run must not slow recovery).
      m.dialId = null;
      m.peerId = null;
      if (!m.persistent) s.manual.delete(p.manualKey);
      else m.nextAt = now + backoffDelay(0, s.config.manualBackoff, s.random());
    } else if (m) {
      // A peer that stayed up for a while is retried from the first delay again.
      if (now - m.connectedAt >= (s.config.manualBackoff.resetAfterMs ?? s.config.manualBackoff.maxMs)) m.failures = 0;
      manualFailed(s, p.manualKey, now);
    }
  }
  fill(s, now, fx);
}

/** The address book's answer: outbound candidates (and anchors) to keep, with the empty-round backoff; or the feeler candidates. */
function onAddresses(s: ConnmanState, { purpose, list, now }: EventOf<'addresses'>): void {
  if (purpose === 'feeler') {
    s.feelerCandidates = [...list];
    s.lastFeelerAt = -Infinity;
    return;
  }
  s.wantingAddresses = false;
  const groups = usedGroups(s);
  const busy = busyEndpoints(s);
  const dialable = list.some((c) => !groups.has(s.config.netgroups.hostGroup(c.host)) && !busy.has(endpointKey(c)) && !s.banned(c.host) && !s.discouraged(c.host));
  if (dialable) resetAddrBackoff(s);
  else {
    s.addrEmptyRounds++;
    s.addrRetryAt = now + addrRoundDelay(s.addrEmptyRounds);
  }
  const known = new Set([...s.candidates, ...s.anchors].map(endpointKey));
  const fresh: Candidate[] = [];
  for (const c of list) {
    const k = endpointKey(c);
    if (known.has(k)) continue;
    known.add(k);
    const e: Candidate = c.services === undefined ? { host: c.host, port: c.port } : { host: c.host, port: c.port, services: c.services };
    if (c.anchor === true) s.anchors.push(e);
    else fresh.push(e);
  }
  s.candidates = [...s.candidates, ...fresh].slice(-1000);
}

/** The address book learned something: the empty-round backoff ends, and a waiting round is asked at once. */
function onBookChanged(s: ConnmanState, { now }: EventOf<'book-changed'>, fx: ConnmanEffect[]): void {
  const waiting = s.addrRetryAt > now;
  resetAddrBackoff(s);
  if (waiting) fill(s, now, fx);
}

/** `addnode add|remove|onetry`: add a manual peer (and dial it) or remove one (and disconnect it). */
function onAddnode(s: ConnmanState, { endpoint, command, now, v2transport }: EventOf<'addnode'>, fx: ConnmanEffect[]): void {
  const key = endpointKey(endpoint);
  if (command === 'remove') {
    const m = s.manual.get(key);
    s.manual.delete(key);
    if (m?.peerId != null) fx.push({ kind: 'disconnect', id: m.peerId, reason: 'addnode removed' });
    return;
  }
  if (!s.manual.has(key))
    s.manual.set(key, {
      endpoint,
      connType: 'manual',
      persistent: command === 'add',
      v2: (v2transport ?? s.config.v2transport) && s.config.v2transport,
      failures: 0,
      nextAt: now,
      peerId: null,
      dialId: null,
      connectedAt: 0,
    });
  fill(s, now, fx);
}

/** The operator's disconnect: passed on for a known peer only. */
function onDisconnect(s: ConnmanState, { id, reason }: EventOf<'disconnect'>, fx: ConnmanEffect[]): void {
  if (s.peers.has(id)) fx.push({ kind: 'disconnect', id, reason });
}

/** After a restart: a live peer of the previous incarnation becomes ours again (and its manual entry's). */
function onAdopt(s: ConnmanState, a: EventOf<'adopt'>): void {
  const manualKey = (a.connType === 'manual' || a.connType === 'addr-fetch') && s.manual.has(endpointKey(a.endpoint)) ? endpointKey(a.endpoint) : null;
  const p = newPeer(s, a.id, a.endpoint, a.connType, a.connectedAt, manualKey, a.v2 === true && a.connType !== 'inbound');
  p.ready = a.ready;
  p.services = a.services;
  p.relayTxs = a.relayTxs;
  s.peers.set(a.id, p);
  s.nextId = Math.max(s.nextId, a.id + 1);
  if (manualKey !== null) {
    const m = s.manual.get(manualKey);
    if (m) {
      m.peerId = a.id;
      m.connectedAt = a.connectedAt;
    }
  }
}

/** `setnetworkactive`: off disconnects every peer; on refills at once. */
function onSetNetworkActive(s: ConnmanState, { active, now }: EventOf<'set-network-active'>, fx: ConnmanEffect[]): void {
  s.networkActive = active;
  if (!active) for (const id of s.peers.keys()) fx.push({ kind: 'disconnect', id, reason: 'network disabled by operator' });
  else {
    resetAddrBackoff(s);
    fill(s, now, fx);
  }
}

/**
 * A node with no peer says so at the default level, once a minute after the first minute: how
 * many dials it made, how many failed and the last reason, what the address book has offered,
 * and what to do. Silent again from the first connection.
 */
function noteAlone(s: ConnmanState, msg: ConnmanEvent, fx: ConnmanEffect[]): void {
  const a = s.alone;
  for (const e of fx) if (e.kind === 'dial') a.dials++;
  if (msg.type === 'dial-failed') {
    a.failures++;
    a.lastError = msg.error;
  }
  if (msg.type !== 'tick') return;
  const now = msg.now;
  let ready = 0;
  for (const p of s.peers.values()) if (p.ready) ready++;
  if (ready > 0 || !s.networkActive) {
    a.since = null;
    a.dials = 0;
    a.failures = 0;
    a.lastError = null;
    return;
  }
  if (a.since === null) {
    a.since = now;
    a.reportedAt = now;
    return;
  }
  if (now - a.since < ALONE_REPORT_MS || now - a.reportedAt < ALONE_REPORT_MS) return;
  const minutes = Math.round((now - a.since) / 60_000);
  const tried = a.dials === 0 ? 'no dial in the last minute' : `${a.dials} dial(s) in the last minute, ${a.failures} failed${a.lastError ? ` (last: ${a.lastError})` : ''}`;
  const offered = s.candidates.length + s.feelerCandidates.length;
  const hint =
    s.manual.size > 0
      ? 'retrying the --connect/--addnode peers with backoff'
      : offered === 0 && a.dials === 0
        ? 'the address book has no address to try: give peers with --addnode HOST:PORT or --connect HOST:PORT (DNS seeds need a network)'
        : 'retrying other addresses';
  fx.push({
    kind: 'alone',
    minutes,
    text: `${tried}; ${hint}`,
    data: { aloneForMs: now - a.since, dials: a.dials, failed: a.failures, lastError: a.lastError, manual: s.manual.size, candidates: offered },
  });
  a.reportedAt = now;
  a.dials = 0;
  a.failures = 0;
  a.lastError = null;
}

/** Counts for the registry summary and RPC. */
export function connmanSummary(s: ConnmanState): Record<string, number | boolean> {
  const by: Record<string, number> = {};
  for (const p of s.peers.values()) by[p.connType] = (by[p.connType] ?? 0) + 1;
  return {
    peers: s.peers.size,
    dialing: s.dials.size,
    inbound: by['inbound'] ?? 0,
    fullRelay: by['outbound-full-relay'] ?? 0,
    blockRelay: by['block-relay-only'] ?? 0,
    manual: by['manual'] ?? 0,
    feeler: by['feeler'] ?? 0,
    candidates: s.candidates.length,
    anchors: s.anchors.length,
    addrEmptyRounds: s.addrEmptyRounds,
    v1Reconnections: s.v1Reconnections,
    networkActive: s.networkActive,
  };
}
