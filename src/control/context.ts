/**
 * What the RPC methods see of the node: a small, handle-like interface. `node.ts` builds the
 * real one; tests build fakes, so every method is testable without HTTP.
 */
import type { Ref, ActorInfo, TreeNode, KillMode } from '../../supervisors/index.js';
import type { PeerInfo } from '../contracts/peer.js';
import type { DisconnectRecord } from '../contracts/connman.js';
import type { AddedNodeInfo } from '../contracts/connman.js';
import type { Settings } from '../config/options.js';
import type { NetworkParams } from '../wire/network.js';
import type { ChainRpcMethod, ChainRpcReply } from '../contracts/chain.js';
import type { Json } from '../rpc/protocol.js';
import type { UploadStatus } from '../throttle/upload-target.js';

/** Core's listbanned entry. */
export interface BannedEntry {
  readonly address: string;
  readonly ban_created: number;
  readonly banned_until: number;
  readonly ban_duration: number;
  readonly time_remaining: number;
}

/** Core's getnodeaddresses entry. */
export interface NodeAddressEntry {
  readonly time: number;
  readonly services: number;
  readonly address: string;
  readonly port: number;
  readonly network: string;
}

export type AddrmanInfo = Record<string, { readonly new: number; readonly tried: number; readonly total: number }>;

/** One peer's addr_processed and addr_rate_limited, as the address book (where the rate limiter is) counts them. */
export interface PeerAddrCounts {
  readonly id: number;
  readonly addrProcessed: number;
  readonly addrRateLimited: number;
}

export interface AbReply {
  readonly ok: boolean;
  readonly error?: string;
}

/** The messages the control actor sends to the address book at `/root/addressbook`. */
export type AddressBookControlMsg =
  | { readonly type: 'ban'; readonly subnet: string; readonly untilMs: number; readonly reason: string; readonly replyTo: Ref<AbReply> }
  | { readonly type: 'unban'; readonly subnet: string; readonly replyTo: Ref<AbReply> }
  | { readonly type: 'list-bans'; readonly replyTo: Ref<BannedEntry[]> }
  | { readonly type: 'clear-bans'; readonly replyTo: Ref<AbReply> }
  | { readonly type: 'node-addresses'; readonly count: number; readonly network?: string; readonly replyTo: Ref<NodeAddressEntry[]> }
  | { readonly type: 'info'; readonly replyTo: Ref<AddrmanInfo> }
  | { readonly type: 'peer-addr-counts'; readonly replyTo: Ref<PeerAddrCounts[]> };

export const ADDRESSBOOK_PATH = '/root/addressbook';

/** Limits in force, bytes/s (0 = unlimited). */
export type NetLimits = {
  readonly maxrecvrate: number;
  readonly maxsendrate: number;
  readonly peermaxrecvrate: number;
  readonly peermaxsendrate: number;
};

/** One listener, as getlisteners shows it. */
export interface ListenerInfo {
  /** Position in the bind list (`listener-<index>` under /root/listeners). */
  readonly index: number;
  /** Bound address, port 0 resolved. */
  readonly address: string;
  /** Service bits advertised to peers accepted there (the node's when the listener has none of its own). */
  readonly services: bigint;
  /** Connections accepted since the listener (re)started. */
  readonly accepted: number;
}

export interface ControlContext {
  readonly settings: Settings;
  readonly params: NetworkParams;
  readonly userAgent: string;
  /** Services our listeners advertise by default. */
  readonly services: bigint;
  /** ms since the epoch when the node started. */
  readonly startedAt: number;
  peers(): Promise<PeerInfo[]>;
  disconnects(): Promise<DisconnectRecord[]>;
  addnode(endpoint: string, command: 'add' | 'remove' | 'onetry'): Promise<void>;
  addedNodes(): Promise<AddedNodeInfo[]>;
  disconnect(target: { id: number } | { address: string }): Promise<void>;
  setNetworkActive(active: boolean): Promise<void>;
  networkActive(): boolean;
  pingAll(): Promise<void>;
  /** Bytes received and sent since start (live peers plus the ones that left), and the node-wide limits in force. */
  totals(): Promise<{ recv: number; sent: number; limits?: NetLimits; upload?: UploadStatus }>;
  /** Node-wide receive/send limits in bytes/s (0 = unlimited); throws RangeError on a bad rate. */
  setNetLimit(recv: number, send: number): Promise<void>;
  /** One peer's limits (id, digits or HOST:PORT), or 'all' (every peer and the default for new ones). */
  setPeerLimit(target: number | string, recv: number, send: number): Promise<void>;
  /** Every listener, in bind order. */
  listeners(): Promise<ListenerInfo[]>;
  /** Changes what one listener (by index or bound HOST:PORT) advertises to new inbound peers; rejects with "Listener not found" for an unknown one. */
  setListenerServices(target: number | string, services: bigint): Promise<ListenerInfo>;
  actors(pattern?: string | RegExp): ActorInfo[];
  actorTree(): TreeNode[];
  kill(path: string, mode: KillMode, opts?: { ms?: number }): boolean;
  deadLetters(): { total: number; byType: Record<string, number> };
  /** Runs a chain method in the block actor; null when it is not running. */
  askChain(method: ChainRpcMethod, args: readonly (Json | undefined)[]): Promise<ChainRpcReply> | null;
  /** Asks the address book; null when it is not running. */
  askAddressBook<R>(make: (replyTo: Ref<R>) => AddressBookControlMsg): Promise<R> | null;
  /** Stops the node (after the reply to `stop` is sent). */
  stop(): void;
}
