/**
 * The peer actor's contract: what others send a peer (`PeerMsg`), what it answers (`PeerInfo`),
 * what it tells the connection manager (`ToConnman`), the address book (`FromPeer`) and the block
 * actor (`ToChain`), what it is started with (`PeerArgs`), and where peers live (`PEERS`, the
 * `peers` dynamic supervisor, one child `peer-<id>` per connection).
 */
import type { Socket } from 'node:net';
import { actorName, type ActorName, type DynMsg, type Ref } from '../../supervisors/index.js';
import type { NetAddress } from '../wire/address.js';
import type { Message } from '../wire/messages.js';
import type { NetThrottle } from '../throttle/throttle.js';
import type { TransportProtocolType } from '../wire/v2/transport.js';
import type { ConnType, Endpoint } from './connection.js';
import { ROOT } from './root.js';

export interface PeerSettings {
  readonly ourServices: bigint;
  readonly userAgent: string;
  readonly handshakeTimeoutMs: number;
  readonly pingIntervalMs: number;
  /** Nothing sent, nothing received, or a ping unanswered for this long → disconnect. */
  readonly inactivityTimeoutMs: number;
  /** Secret that marks our own version nonces (self-connection detection). */
  readonly nonceKey: Uint8Array;
  /** Accept the BIP324 v2 transport on inbound connections (v1 still detected); off or absent: v1 only. Outbound v2 is `PeerArgs.v2`. */
  readonly v2transport?: boolean;
}

/** What a peer tells the connection manager: connected (handshake done), its stats, disconnected and why. */
export type ToConnman =
  | {
      readonly type: 'peer-connected';
      readonly id: number;
      readonly services: bigint;
      readonly relayTxs: boolean;
      readonly now: number;
      /** What the peer said of itself in its version message (for the connection log line). */
      readonly version?: number;
      readonly userAgent?: string;
      readonly startHeight?: number;
    }
  | { readonly type: 'peer-stats'; readonly id: number; readonly minPingMs?: number; readonly lastBlockAt?: number }
  | {
      readonly type: 'peer-disconnected';
      readonly id: number;
      readonly reason: string;
      readonly misbehaving: boolean;
      /**
       * A v2 attempt of ours that ended before the v2 handshake, with nothing received after we
       * wrote at least a v1 header's worth: a v1-only peer hung up. Core reconnects once with v1.
       */
      readonly reconnectV1?: boolean;
    };

/** Messages from the wire, with the peer they came from, for the address book and the block actor. */
export interface FromPeer {
  readonly type: 'from-peer';
  readonly peer: number;
  readonly self: Ref<PeerMsg>;
  readonly msg: Message;
  /** The connection's type (the address book credits the tokens of our getaddr by it). */
  readonly connType?: ConnType;
  /** The peer sent sendaddrv2: it may be answered with addrv2. */
  readonly sendAddrV2?: boolean;
  /** For the block actor: the wire bytes charged to the peer until the block actor says `consumed`. */
  readonly bytes?: number;
}

/** What a peer tells the block actor besides wire messages: connected (handshake done), or disconnected. */
export type ChainPeerEvent =
  | {
      readonly type: 'peer-connected';
      readonly peer: number;
      readonly self: Ref<PeerMsg>;
      readonly inbound: boolean;
      readonly connType: ConnType;
      readonly services: bigint;
      readonly startHeight: number;
      /** It already sent `sendheaders`. */
      readonly sendHeaders: boolean;
      /** It has the noban (and so download) permission: no upload target applies to it. */
      readonly noban: boolean;
    }
  | { readonly type: 'peer-disconnected'; readonly peer: number };

/** Wire messages for the block actor that came in together (one receive chunk), in order: one mailbox turn for all. */
export interface FromPeerBatch {
  readonly type: 'from-peer-batch';
  readonly peer: number;
  readonly self: Ref<PeerMsg>;
  readonly msgs: readonly Message[];
  /** The wire bytes charged to the peer until the block actor says `consumed`. */
  readonly bytes?: number;
}

/**
 * One piece of a peer's request (a getheaders, a getblocks, or a getdata of at most one block):
 * the block actor answers it, then tells the peer `served` with `seq` (the peer hands out the next
 * piece only then, and only while its send queue is below the limit).
 */
export interface PeerRequest {
  readonly type: 'peer-request';
  readonly peer: number;
  readonly self: Ref<PeerMsg>;
  readonly msg: Message;
  readonly seq: number;
}

/** Everything a peer sends the block actor. */
export type ToChain = FromPeer | FromPeerBatch | PeerRequest | ChainPeerEvent;

export interface PeerArgs {
  readonly id: number;
  readonly socket: Socket;
  readonly connType: ConnType;
  readonly endpoint: Endpoint;
  /** Outbound: open with the BIP324 v2 transport as its initiator (the connection manager decides; see Core's use_v2transport). */
  readonly v2?: boolean;
  /** The remote address in wire form (for our version message). */
  readonly remoteAddress: NetAddress;
  readonly magic: number;
  readonly settings: PeerSettings;
  readonly startHeight: number;
  readonly reportTo: Ref<ToConnman>;
  readonly addressbook?: Ref<FromPeer>;
  readonly chain?: Ref<ToChain>;
  /** Accepted on a noban bind: never banned, exempt from the upload target. */
  readonly noban?: boolean;
  /** Bytes we hold for a peer before pausing its socket (Core: 5 MB). */
  readonly maxReceiveBuffer?: number;
  /** Bytes queued to a peer before we stop reading from it until it drains (Core: 1 MB). */
  readonly maxSendBuffer?: number;
  /** A peer that keeps us paused on its send buffer this long is disconnected. */
  readonly sendStallMs?: number;
  readonly now?: () => number;
  /** The node-wide throttle shared by all peers (default: a private unlimited one). */
  readonly throttle?: NetThrottle;
  /** This peer's own limits, bytes/s, 0 = unlimited (default: the throttle's per-peer rates). */
  readonly recvLimit?: number;
  readonly sendLimit?: number;
}

/** getpeerinfo's view of one peer. */
export interface PeerInfo {
  readonly id: number;
  readonly addr: string;
  readonly endpoint: Endpoint;
  readonly connType: ConnType;
  readonly inbound: boolean;
  readonly phase: string;
  readonly connectedAtMs: number;
  readonly servicesBits: bigint;
  readonly version: number | null;
  readonly subver: string | null;
  readonly services: string | null;
  readonly startingHeight: number | null;
  readonly relayTxs: boolean;
  readonly conntime: number;
  readonly lastsend: number;
  readonly lastrecv: number;
  readonly bytessent: number;
  readonly bytesrecv: number;
  readonly pingtime: number | null;
  readonly minping: number | null;
  readonly pingwait: number | null;
  readonly bytessentPerMsg: Readonly<Record<string, number>>;
  readonly bytesrecvPerMsg: Readonly<Record<string, number>>;
  readonly ignored: Readonly<Record<string, number>>;
  readonly recvPaused: boolean;
  /** Bytes queued to this peer: in the socket plus waiting for send tokens. */
  readonly sendQueued: number;
  /** This peer's limits in force, bytes/s, 0 = unlimited (the node-wide ones apply as well). */
  readonly recvLimit: number;
  readonly sendLimit: number;
  /** Reading is paused because a receive bucket (the peer's or the node's) is in debt. */
  readonly recvThrottled: boolean;
  /** Bytes waiting for send tokens (part of sendQueued). */
  readonly sendThrottled: number;
  /**
   * Every byte this peer makes us hold: received and not yet handled (mailbox, framer, v2 transport),
   * its requests waiting to be served, and the send queue (sendQueued). Bounded by the receive limit
   * plus the send limit plus one answer being prepared (a block of at most 4 MB).
   */
  readonly heldBytes: number;
  /** Request pieces (a getheaders, a getblocks, a getdata of at most one block) handed to the block actor. */
  readonly requestsServed: number;
  /** Core's transport_protocol_type: 'detecting' while an inbound connection may still be either, then 'v1' or 'v2'. */
  readonly transportType: TransportProtocolType;
  /** The BIP324 session id in hex once v2 is established; '' otherwise (Core's session_id). */
  readonly sessionId: string;
}

/** What others send a peer actor (its own socket events and timers are its business). */
export type PeerMsg =
  /** New limits for this peer (bytes/s, 0 = unlimited; absent = unchanged); with neither, the node-wide ones changed: re-evaluate. */
  | { readonly type: 'set-limits'; readonly recv?: number; readonly send?: number }
  | { readonly type: 'disconnect'; readonly reason: string; readonly misbehaving?: boolean }
  | { readonly type: 'ping' }
  | { readonly type: 'send'; readonly msg: Message }
  /** Several messages, in order, in one write. */
  | { readonly type: 'send-many'; readonly msgs: readonly Message[] }
  /** A payload already serialised (a block read from disk): framed and sent as is. */
  | { readonly type: 'send-raw'; readonly command: string; readonly payload: Buffer }
  /** The block actor (re)started: say again that we are here. */
  | { readonly type: 'chain-hello' }
  /** The block actor answered the request piece `seq` (its answer was sent before this). */
  | { readonly type: 'served'; readonly seq: number }
  /** The block actor handled messages of ours charged `bytes` (a from-peer or from-peer-batch). */
  | { readonly type: 'consumed'; readonly bytes: number }
  | { readonly type: 'set-start-height'; readonly height: number }
  | { readonly type: 'info'; readonly replyTo: Ref<PeerInfo> };

/** The `peers` dynamic supervisor: a peer is started there with its PeerArgs (temporary: the connection manager replaces it). */
export const PEERS = actorName<DynMsg<PeerArgs, PeerMsg>>(`${ROOT.path}/peers`);

const PEER_CHILD = 'peer-';

/** The child name of connection `id` under the peers supervisor. */
export function peerChildName(id: number): string {
  return `${PEER_CHILD}${id}`;
}

/** The peer actor of connection `id` (under `peers`, by default the node's). */
export function peerName(id: number, peers: { readonly path: string } = PEERS): ActorName<PeerMsg> {
  return actorName<PeerMsg>(`${peers.path}/${peerChildName(id)}`);
}

/** A child of the peers supervisor found at run time (its listing, whichChildren): a peer actor. */
export function peerAt(path: string): ActorName<PeerMsg> {
  return actorName<PeerMsg>(path);
}

/** The connection id of a peer actor's path under `peers`, or undefined for any other path. */
export function peerIdOf(path: string, peers: { readonly path: string } = PEERS): number | undefined {
  const prefix = `${peers.path}/${PEER_CHILD}`;
  const id = path.startsWith(prefix) ? Number(path.slice(prefix.length)) : NaN;
  return Number.isSafeInteger(id) ? id : undefined;
}
