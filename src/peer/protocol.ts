/**
 * One peer connection's protocol logic, without sockets or clocks: `step(state, event) → effects`.
 * Handshake (version/verack and the feature messages) as Bitcoin Core v30 does it, ping/pong,
 * the handshake deadline and the inactivity timeout. Time, randomness and received messages
 * come in as events; everything the peer does goes out as effects that the actor performs.
 */
import { match, P } from 'ts-pattern';
import type { Message, VersionMessage } from '../wire/messages.js';
import type { NetAddress } from '../wire/address.js';
import {
  NODE_NETWORK,
  NODE_NETWORK_LIMITED,
  PROTOCOL_VERSION,
  SHORT_IDS_BLOCKS_VERSION,
  WTXID_RELAY_VERSION,
} from '../wire/constants.js';
import type { ConnType } from '../contracts/connection.js';
import type { PeerSettings } from '../contracts/peer.js';
import { malformedOffence, punishmentFor, type Offence } from '../contracts/punishment.js';
import { isOwnNonce } from './nonce.js';

/** The lowest protocol version peerd talks to (the floor; Core's is 31800). */
export const MIN_PEER_VERSION = 70001;
/** Where Core starts counting BIP155 support: sendaddrv2 is sent to peers at 70016 or above. */
export const ADDRV2_VERSION = 70016;

export type Phase = 'awaiting-version' | 'awaiting-verack' | 'active' | 'closed';

export interface RemoteInfo {
  readonly version: number;
  readonly services: bigint;
  readonly userAgent: string;
  readonly startHeight: number;
  readonly relay: boolean;
  readonly nonce: bigint;
  readonly timestamp: bigint;
  /** The address they say they see us at. */
  readonly addrRecv: NetAddress;
}

export interface PeerState {
  readonly id: number;
  readonly connType: ConnType;
  readonly inbound: boolean;
  /** The noban permission: never disconnected nor discouraged for misbehaviour (contracts/punishment.ts). */
  readonly noban: boolean;
  readonly settings: PeerSettings;
  /** Our version message's fields that depend on the connection. */
  readonly localNonce: bigint;
  readonly remoteAddress: NetAddress;
  startHeight: number;
  phase: Phase;
  sentVersion: boolean;
  sentVerack: boolean;
  remote: RemoteInfo | null;
  /** Feature negotiation as the peer announced it. */
  wtxidRelay: boolean;
  sendAddrV2: boolean;
  sendHeaders: boolean;
  compact: { announce: boolean; version: bigint } | null;
  feeFilter: bigint | null;
  getaddrAnswered: boolean;
  connectedAt: number;
  lastSend: number;
  lastRecv: number;
  /** Outstanding ping: nonce and when it was sent (0n = none). */
  pingNonce: bigint;
  pingStart: number;
  pingsSent: number;
  /** Operator asked for a ping (RPC `ping`). */
  pingQueued: boolean;
  lastPingMs: number | null;
  minPingMs: number | null;
  /**
   * Things the peer did that we ignored, by kind (Core logs them; we count them). Keys are ours (a
   * fixed set: the punishment table's offences and a few names here), never the peer's strings; the
   * object has no prototype all the same.
   */
  readonly ignored: Record<string, number>;
  disconnectReason: string | null;
}

/** What can happen to a peer, as the actor feeds it in. */
export type PeerEvent =
  | { readonly type: 'open'; readonly now: number }
  | { readonly type: 'message'; readonly msg: Message; readonly now: number }
  /** Bytes arrived, whole messages or not (Core's nLastRecv counts every read). */
  | { readonly type: 'bytes'; readonly now: number }
  /**
   * A payload that did not decode: the decoder's fault (its code and offset in the payload) says
   * which row of the punishment table applies (contracts/punishment.ts); without them, 'undecodable'.
   */
  | { readonly type: 'malformed'; readonly what: string; readonly now: number; readonly command?: string; readonly code?: string; readonly offset?: number }
  /** Something the shell found (a framing error): punished as the table says; `ignore` leaves the connection open. */
  | { readonly type: 'offence'; readonly offence: Offence; readonly what: string; readonly now: number }
  /** A whole message arrived that {@link decodes} said not to decode: its command is all there is. */
  | { readonly type: 'undecoded'; readonly command: string; readonly now: number }
  | { readonly type: 'handshake-timer'; readonly now: number }
  | { readonly type: 'ping-timer'; readonly now: number; readonly nonce: bigint }
  | { readonly type: 'inactivity-timer'; readonly now: number }
  /** The actor sent a message of its own (a block read from disk): it counts as sending (Core's nLastSend). */
  | { readonly type: 'sent-raw'; readonly now: number }
  | { readonly type: 'queue-ping' }
  | { readonly type: 'set-start-height'; readonly height: number };

export type TimerKey = 'handshake' | 'ping' | 'inactivity';

export type PeerEffect =
  | { readonly kind: 'send'; readonly msg: Message }
  | { readonly kind: 'timer'; readonly key: TimerKey; readonly ms: number }
  | { readonly kind: 'cancel-timer'; readonly key: TimerKey }
  | { readonly kind: 'disconnect'; readonly reason: string; readonly misbehaving: boolean }
  /** The handshake completed (or, for a feeler, the version arrived). */
  | { readonly kind: 'ready'; readonly remote: RemoteInfo }
  | { readonly kind: 'ping-rtt'; readonly ms: number; readonly minMs: number }
  /** A message for the address book (addr, addrv2, getaddr). */
  | { readonly kind: 'to-addressbook'; readonly msg: Message }
  /** A message for the block actor (headers, block, inv, getheaders, getblocks, getdata, notfound, sendheaders). */
  | { readonly kind: 'to-chain'; readonly msg: Message };

export interface PeerInit {
  readonly id: number;
  readonly connType: ConnType;
  readonly noban?: boolean;
  readonly settings: PeerSettings;
  readonly localNonce: bigint;
  readonly remoteAddress: NetAddress;
  readonly startHeight: number;
  readonly now: number;
}

export function initPeer(i: PeerInit): PeerState {
  return {
    id: i.id,
    connType: i.connType,
    inbound: i.connType === 'inbound',
    noban: i.noban ?? false,
    settings: i.settings,
    localNonce: i.localNonce,
    remoteAddress: i.remoteAddress,
    startHeight: i.startHeight,
    phase: 'awaiting-version',
    sentVersion: false,
    sentVerack: false,
    remote: null,
    wtxidRelay: false,
    sendAddrV2: false,
    sendHeaders: false,
    compact: null,
    feeFilter: null,
    getaddrAnswered: false,
    connectedAt: i.now,
    lastSend: 0,
    lastRecv: 0,
    pingNonce: 0n,
    pingStart: 0,
    pingsSent: 0,
    pingQueued: false,
    lastPingMs: null,
    minPingMs: null,
    ignored: Object.create(null) as Record<string, number>,
    disconnectReason: null,
  };
}

const EMPTY_ADDR: NetAddress = { network: 'ipv4', addr: Buffer.alloc(4), port: 0, services: 0n };

function versionMessage(s: PeerState, now: number): VersionMessage {
  return {
    command: 'version',
    version: PROTOCOL_VERSION,
    services: s.settings.ourServices,
    timestamp: BigInt(Math.floor(now / 1000)),
    addrRecv: { ...s.remoteAddress, services: s.remote?.services ?? 0n },
    addrFrom: { ...EMPTY_ADDR, services: s.settings.ourServices },
    nonce: s.localNonce,
    userAgent: s.settings.userAgent,
    startHeight: s.startHeight,
    relay: false, // peerd keeps no mempool: never ask for transactions
  };
}

/** Core's SAFE_CHARS_DEFAULT: what SanitizeString keeps of a peer's string (everything else is dropped). */
const SAFE_CHARS = /[^A-Za-z0-9 .,;\-_/:?@()]/g;

/** Core's SanitizeString with SAFE_CHARS_DEFAULT: escape sequences, control and non-ASCII characters dropped. */
export function sanitizeString(text: string): string {
  return text.replace(SAFE_CHARS, '');
}

function ignore(s: PeerState, why: string): void {
  s.ignored[why] = (s.ignored[why] ?? 0) + 1;
}

/** An offence, punished as the table says for this peer (ignored: counted under the offence's name). */
function offend(s: PeerState, out: Out, offence: Offence, reason: string): void {
  const p = punishmentFor(offence, s);
  if (p === 'ignore') return ignore(s, offence);
  out.disconnect(reason, p === 'discourage');
}

class Out {
  readonly fx: PeerEffect[] = [];
  constructor(
    private readonly s: PeerState,
    private readonly now: number,
  ) {}
  send(msg: Message): void {
    this.s.lastSend = this.now;
    this.fx.push({ kind: 'send', msg });
  }
  push(e: PeerEffect): void {
    this.fx.push(e);
  }
  disconnect(reason: string, misbehaving = false): void {
    if (this.s.phase === 'closed') return;
    this.s.phase = 'closed';
    this.s.disconnectReason = reason;
    this.fx.push({ kind: 'disconnect', reason, misbehaving });
  }
}

const wantsFullServices = (t: ConnType): boolean => t === 'outbound-full-relay' || t === 'block-relay-only';

function onVersion(s: PeerState, v: VersionMessage, now: number, out: Out): void {
  if (s.remote !== null) return ignore(s, 'duplicate version');
  if (s.inbound && isOwnNonce(s.settings.nonceKey, v.nonce)) return out.disconnect('connected to self');
  if (v.version < MIN_PEER_VERSION) return out.disconnect(`protocol version ${v.version} below ${MIN_PEER_VERSION}`);
  if (wantsFullServices(s.connType) && (v.services & (NODE_NETWORK | NODE_NETWORK_LIMITED)) === 0n)
    return out.disconnect(`services 0x${v.services.toString(16)} lack NODE_NETWORK or NODE_NETWORK_LIMITED`);
  s.remote = {
    version: v.version,
    services: v.services,
    // Kept sanitised, as Core's cleanSubVer: no peer string reaches a terminal or a log with control characters.
    userAgent: sanitizeString(v.userAgent),
    startHeight: v.startHeight,
    relay: v.relay ?? true,
    nonce: v.nonce,
    timestamp: v.timestamp,
    addrRecv: { ...v.addrRecv, addr: Buffer.from(v.addrRecv.addr) }, // a copy: a view would pin the whole first socket chunk
  };
  if (!s.sentVersion) {
    out.send(versionMessage(s, now));
    s.sentVersion = true;
  }
  const common = Math.min(v.version, PROTOCOL_VERSION);
  if (common >= WTXID_RELAY_VERSION) out.send({ command: 'wtxidrelay' });
  if (common >= ADDRV2_VERSION) out.send({ command: 'sendaddrv2' });
  out.send({ command: 'verack' });
  s.sentVerack = true;
  s.phase = 'awaiting-verack';
  if (s.connType === 'feeler') {
    out.push({ kind: 'ready', remote: s.remote });
    return out.disconnect('feeler connection completed');
  }
  // Outbound peers that relay addresses are asked for addresses once (Core), not block-relay-only ones.
  if (s.connType === 'outbound-full-relay' || s.connType === 'manual' || s.connType === 'addr-fetch') out.send({ command: 'getaddr' });
}

function onVerack(s: PeerState, out: Out): void {
  if (s.phase !== 'awaiting-verack') return ignore(s, 'unexpected verack');
  s.phase = 'active';
  const remote = s.remote as RemoteInfo;
  if (Math.min(remote.version, PROTOCOL_VERSION) >= SHORT_IDS_BLOCKS_VERSION) out.send({ command: 'sendcmpct', announce: false, version: 2n });
  out.push({ kind: 'cancel-timer', key: 'handshake' });
  out.push({ kind: 'ready', remote });
  // Core pings as soon as the handshake is done, then every interval: the timer brings the nonce.
  out.push({ kind: 'timer', key: 'ping', ms: 0 });
}

function sendPing(s: PeerState, now: number, out: Out, nonce: bigint): void {
  if (s.pingNonce !== 0n || nonce === 0n) return; // one outstanding ping at a time; its timeout is checked by inactivity
  s.pingNonce = nonce;
  s.pingsSent++;
  s.pingStart = now;
  s.pingQueued = false;
  out.send({ command: 'ping', nonce: s.pingNonce });
}

function onPong(s: PeerState, nonce: bigint, now: number, out: Out): void {
  if (s.pingNonce === 0n) return ignore(s, 'unsolicited pong');
  if (nonce !== s.pingNonce) {
    ignore(s, 'pong nonce mismatch');
    // Core: a pong with nonce zero cancels the outstanding ping.
    if (nonce === 0n) s.pingNonce = 0n;
    return;
  }
  const rtt = now - s.pingStart;
  s.pingNonce = 0n;
  s.lastPingMs = rtt;
  s.minPingMs = s.minPingMs === null ? rtt : Math.min(s.minPingMs, rtt);
  out.push({ kind: 'ping-rtt', ms: rtt, minMs: s.minPingMs });
}

function onActiveMessage(s: PeerState, msg: Message, now: number, out: Out): void {
  match(msg)
    // First: during a sync nearly every message is a block (patterns are tried in order).
    .with({ command: 'block' }, (m) => out.push({ kind: 'to-chain', msg: m }))
    .with({ command: P.union('headers', 'getheaders', 'getblocks', 'getdata', 'notfound') }, (m) => out.push({ kind: 'to-chain', msg: m }))
    .with({ command: 'ping' }, (m) => {
      // Pre-BIP31 pings carry no nonce and get no pong (Core).
      if (m.nonce !== undefined) out.send({ command: 'pong', nonce: m.nonce });
    })
    .with({ command: 'pong' }, (m) => onPong(s, m.nonce, now, out))
    .with({ command: P.union('addr', 'addrv2') }, (m) => {
      if (s.connType === 'block-relay-only') return ignore(s, 'addr on block-relay-only');
      out.push({ kind: 'to-addressbook', msg: m });
      // A seed connection has done its job once it has addresses (Core: addr-fetch).
      if (s.connType === 'addr-fetch' && m.addresses.length > 1) out.disconnect('addr-fetch complete');
    })
    .with({ command: 'getaddr' }, (m) => {
      // Core answers getaddr only from inbound peers, once per connection.
      if (!s.inbound) return ignore(s, 'getaddr from outbound');
      if (s.getaddrAnswered) return ignore(s, 'repeated getaddr');
      s.getaddrAnswered = true;
      out.push({ kind: 'to-addressbook', msg: m });
    })
    .with({ command: 'sendheaders' }, (m) => {
      s.sendHeaders = true;
      out.push({ kind: 'to-chain', msg: m });
    })
    .with({ command: 'sendcmpct' }, (m) => {
      s.compact = { announce: m.announce, version: m.version };
    })
    .with({ command: 'feefilter' }, (m) => {
      s.feeFilter = m.feeRate;
    })
    .with({ command: P.union('wtxidrelay', 'sendaddrv2') }, (m) => offend(s, out, 'feature-after-verack', `${m.command} after verack`))
    .with({ command: 'version' }, () => ignore(s, 'duplicate version'))
    .with({ command: 'verack' }, () => ignore(s, 'duplicate verack'))
    .with({ command: 'inv' }, (m) => {
      // peerd keeps no mempool and says relay=false: a transaction announcement is what Core with
      // -blocksonly calls "inv sent in violation of protocol" (disconnect, not misbehaviour).
      if (m.items.some((i) => (i.type & 0xffff) === 1 || (i.type & 0xffff) === 5)) return out.disconnect(TX_INV_REFUSED);
      const blocks = m.items.filter((i) => (i.type & 0xffff) === 2 || (i.type & 0xffff) === 4);
      if (blocks.length === 0) return ignore(s, 'inv of nothing we fetch');
      out.push({ kind: 'to-chain', msg: blocks.length === m.items.length ? m : { command: 'inv', items: blocks } });
    })
    .with({ command: 'tx' }, () => out.disconnect(TX_REFUSED))
    .with({ command: P.union('mempool', 'reject') }, (m) => ignore(s, m.command))
    .with({ command: 'unknown-command' }, () => ignore(s, 'unknown command'))
    .exhaustive();
}

/**
 * Core (blocksonly, block-relay-only): a transaction after we said relay=false in our version is a
 * protocol violation; the peer is disconnected, not discouraged. peerd always says relay=false.
 */
const TX_REFUSED = 'transaction sent in violation of protocol (we sent relay=false)';
const TX_INV_REFUSED = 'transaction inv sent in violation of protocol (we sent relay=false)';

/**
 * The gate before decode: whether a message with this command is worth decoding in the current
 * phase. Before `version` only a version is (Core ignores the rest undecoded); before `verack`
 * only the handshake's messages are; after it a second `version` is ignored and a `tx` refused
 * (we said relay=false), both undecoded. What is not decoded goes to {@link stepPeer} as
 * `undecoded`: its cost is its command alone, whatever the payload holds.
 */
export function decodes(s: PeerState, command: string): boolean {
  if (s.phase === 'closed') return false;
  if (s.remote === null) return command === 'version';
  if (command === 'version') return false;
  if (s.phase === 'awaiting-verack') return command === 'verack' || command === 'wtxidrelay' || command === 'sendaddrv2';
  return command !== 'tx';
}

function onUndecoded(s: PeerState, command: string, now: number, out: Out): void {
  s.lastRecv = now;
  if (s.remote === null) return ignore(s, 'message before version');
  if (command === 'version') return ignore(s, 'duplicate version');
  if (s.phase === 'awaiting-verack') return ignore(s, 'message before verack');
  if (command === 'tx') return out.disconnect(TX_REFUSED);
  ignore(s, 'undecoded');
}

function onMessage(s: PeerState, msg: Message, now: number, out: Out): void {
  s.lastRecv = now;
  if (msg.command === 'version') return onVersion(s, msg, now, out);
  if (s.remote === null) return ignore(s, 'message before version');
  if (s.phase === 'awaiting-verack') {
    if (msg.command === 'verack') return onVerack(s, out);
    if (msg.command === 'wtxidrelay') {
      s.wtxidRelay = true;
      return;
    }
    if (msg.command === 'sendaddrv2') {
      s.sendAddrV2 = true;
      return;
    }
    return ignore(s, 'message before verack');
  }
  onActiveMessage(s, msg, now, out);
}

function onInactivity(s: PeerState, now: number, out: Out): void {
  const t = s.settings.inactivityTimeoutMs;
  if (s.pingNonce !== 0n && now - s.pingStart >= t) return out.disconnect(`ping timeout: ${((now - s.pingStart) / 1000).toFixed(3)}s`);
  // Core (InactivityCheck): nothing sent *or* nothing received since the connection opened.
  if (s.lastSend === 0 || s.lastRecv === 0) {
    if (now - s.connectedAt >= t) return out.disconnect('no message in the first period');
    return out.push({ kind: 'timer', key: 'inactivity', ms: Math.max(1, s.connectedAt + t - now) });
  }
  if (now - s.lastSend >= t) return out.disconnect(`send timeout: nothing sent for ${((now - s.lastSend) / 1000).toFixed(0)}s`);
  if (now - s.lastRecv >= t) return out.disconnect(`receive timeout: nothing received for ${((now - s.lastRecv) / 1000).toFixed(0)}s`);
  // Next check when the oldest of the three clocks could expire.
  const deadlines = [s.lastSend + t, s.lastRecv + t];
  if (s.pingNonce !== 0n) deadlines.push(s.pingStart + t);
  out.push({ kind: 'timer', key: 'inactivity', ms: Math.max(1, Math.min(...deadlines) - now) });
}

/** Feeds one event to the peer's logic; returns the effects to perform, in order. */
export function stepPeer(s: PeerState, e: PeerEvent): PeerEffect[] {
  if (s.phase === 'closed') return [];
  const now = 'now' in e ? e.now : s.lastRecv;
  const out = new Out(s, now);
  match(e)
    .with({ type: 'bytes' }, ({ now }) => {
      s.lastRecv = now;
    })
    .with({ type: 'open' }, ({ now }) => {
      s.lastSend = 0;
      if (!s.inbound) {
        out.send(versionMessage(s, now));
        s.sentVersion = true;
      }
      out.push({ kind: 'timer', key: 'handshake', ms: s.settings.handshakeTimeoutMs });
      out.push({ kind: 'timer', key: 'inactivity', ms: s.settings.inactivityTimeoutMs });
    })
    .with({ type: 'message' }, ({ msg, now }) => onMessage(s, msg, now, out))
    .with({ type: 'malformed' }, ({ what, command, code, offset }) =>
      offend(s, out, command !== undefined && code !== undefined && offset !== undefined ? malformedOffence(command, code, offset) : 'undecodable', `malformed message: ${what}`),
    )
    .with({ type: 'undecoded' }, ({ command, now }) => onUndecoded(s, command, now, out))
    .with({ type: 'offence' }, ({ offence, what }) => offend(s, out, offence, what))
    .with({ type: 'handshake-timer' }, () => {
      if (s.phase !== 'active') out.disconnect(s.remote === null ? 'version handshake timeout: no version' : 'version handshake timeout: no verack');
    })
    .with({ type: 'ping-timer' }, ({ now, nonce }) => {
      const due = s.pingsSent === 0 || s.pingQueued || now - s.pingStart >= s.settings.pingIntervalMs;
      if (s.phase === 'active' && s.pingNonce === 0n && due) sendPing(s, now, out, nonce);
      if (s.phase === 'active') out.push({ kind: 'timer', key: 'ping', ms: nextPingIn(s, now) });
    })
    .with({ type: 'inactivity-timer' }, ({ now }) => onInactivity(s, now, out))
    .with({ type: 'sent-raw' }, ({ now }) => {
      s.lastSend = now;
    })
    .with({ type: 'queue-ping' }, () => {
      s.pingQueued = true;
      if (s.phase === 'active') out.push({ kind: 'timer', key: 'ping', ms: 0 });
    })
    .with({ type: 'set-start-height' }, ({ height }) => {
      s.startHeight = height;
    })
    .exhaustive();
  return out.fx;
}

function nextPingIn(s: PeerState, now: number): number {
  if (s.pingNonce !== 0n) return s.settings.pingIntervalMs;
  return Math.max(1, s.pingStart + s.settings.pingIntervalMs - now);
}

/** A compact view for the registry and `getpeerinfo`. */
export function peerSummary(s: PeerState): Record<string, unknown> {
  return {
    id: s.id,
    connType: s.connType,
    phase: s.phase,
    version: s.remote?.version ?? null,
    userAgent: s.remote?.userAgent ?? null,
    services: s.remote ? `0x${s.remote.services.toString(16)}` : null,
    pingMs: s.lastPingMs,
    minPingMs: s.minPingMs,
  };
}
