/**
 * The connection manager's contract (`/root/connman`): the operator's commands and their
 * results, the sockets listeners hand it, what the address book, the chain and the peers tell it, the
 * disconnect records it keeps, and the events a library user can listen to on the node handle.
 */
import type { Socket } from 'node:net';
import { actorName, type Ref } from '../../supervisors/index.js';
import type { BanListUpdate, BookChanged } from './addressbook.js';
import type { TipUpdate } from './chain.js';
import type { ConnType, Endpoint } from './connection.js';
import type { PeerInfo, ToConnman } from './peer.js';
import { ROOT } from './root.js';

/** Why a peer left, as the manager remembers it (the last 1000; getpeerinfo's history, the inspector). */
export interface DisconnectRecord {
  readonly id: number;
  readonly address: string;
  readonly connType: ConnType;
  readonly reason: string;
  readonly misbehaving: boolean;
  readonly at: number;
  readonly connectedMs: number;
}

/** Commands from the operator (RPC, library handle). */
export type ConnmanCommand =
  /** `v2transport`: dial it with BIP324 v2 (absent: the node's --v2transport). */
  | { readonly op: 'addnode'; readonly endpoint: Endpoint; readonly command: 'add' | 'remove' | 'onetry'; readonly v2transport?: boolean }
  | { readonly op: 'disconnect'; readonly id?: number; readonly address?: string }
  | { readonly op: 'set-network-active'; readonly active: boolean }
  | { readonly op: 'peers' }
  | { readonly op: 'disconnects' }
  | { readonly op: 'ping' }
  /** The addnode list (Core's getaddednodeinfo; onetry entries are not listed). */
  | { readonly op: 'added-nodes' }
  /** Node-wide limits, bytes/s (0 = unlimited); every peer re-evaluates its waits at once. */
  | { readonly op: 'set-net-limit'; readonly recv: number; readonly send: number }
  /** One peer's limits (by id or address), or with `all` every peer's and the default for new ones. */
  | { readonly op: 'set-peer-limit'; readonly id?: number; readonly address?: string; readonly all?: boolean; readonly recv: number; readonly send: number };

export type CommandResult =
  | { readonly ok: true; readonly peers?: PeerInfo[]; readonly disconnects?: DisconnectRecord[]; readonly addedNodes?: AddedNodeInfo[] }
  | { readonly ok: false; readonly error: string };

/** One addnode entry: as given, and the peer it is connected as (if any). */
export interface AddedNodeInfo {
  readonly addednode: string;
  readonly connected: boolean;
  readonly address: string | null;
  readonly inbound: boolean;
}

/** What others send the connection manager. */
export type ConnmanMsg =
  /** An operator's command (RPC, the node handle). */
  | { readonly type: 'command'; readonly cmd: ConnmanCommand; readonly replyTo: Ref<CommandResult> }
  /** A listener accepted a connection: admit it or refuse it. */
  | { readonly type: 'inbound-socket'; readonly socket: Socket; readonly services?: bigint; readonly noban?: boolean }
  /** The address book's ban list (a copy), on our start and on every change. */
  | BanListUpdate
  /** The address book changed since our last `select` (it tells once per request). */
  | BookChanged
  /** The block actor's tip height: the start height of new connections' version messages (0 until told). */
  | TipUpdate
  | ToConnman;

/** Events a library user can listen to on the node handle. */
export interface ConnmanEvents {
  'peer-connected': [{ id: number; address: string; connType: ConnType; services: bigint }];
  'peer-disconnected': [{ id: number; address: string; connType: ConnType; reason: string; misbehaving: boolean }];
}

export const CONNMAN = actorName<ConnmanMsg>(`${ROOT.path}/connman`);

/** The operator's commands to the connection manager, one method each (the node handle and the RPC share them). */
export interface ConnmanCommands {
  peers(): Promise<PeerInfo[]>;
  disconnects(): Promise<DisconnectRecord[]>;
  /** `v2transport`: dial it with BIP324 v2 (absent: the node's --v2transport; true while that is off is the caller's error to refuse). */
  addnode(endpoint: string, command: 'add' | 'remove' | 'onetry', v2transport?: boolean): Promise<void>;
  addedNodes(): Promise<AddedNodeInfo[]>;
  disconnect(target: { id: number } | { address: string }): Promise<void>;
  setNetworkActive(active: boolean): Promise<void>;
  pingAll(): Promise<void>;
  /** Node-wide bandwidth limits, bytes/s (0 = unlimited), in force at once for every peer; throws RangeError on a bad rate. */
  setNetLimit(recv: number, send: number): Promise<void>;
  /** One peer's limits (id, digits or HOST:PORT), or 'all' (every peer and the default for new ones). */
  setPeerLimit(target: number | string, recv: number, send: number): Promise<void>;
}
