/**
 * The control actor's contract (`/root/control`, the JSON-RPC server): what it answers about
 * itself, and the node as its RPC methods — and the inspector, which runs the same methods — see
 * it (`ControlContext`). The node handle is the real context (node.ts); tests build fakes,
 * so every method is testable without HTTP.
 */
import { actorName, type ActorInfo, type KillMode, type Ref, type TreeNode } from '../../supervisors/index.js';
import type { Settings } from '../config/options.js';
import type { Json } from '../rpc/protocol.js';
import type { UploadStatus } from '../throttle/upload-target.js';
import type { NetworkParams } from '../wire/network.js';
import type { AddressBookQuery } from './addressbook.js';
import type { ChainRpcMethod, ChainRpcReply } from './chain.js';
import type { ConnmanCommands } from './connman.js';
import { ROOT } from './root.js';

/** The RPC server's counters. */
export interface RpcStats {
  requests: number;
  authFailures: number;
  refused: number;
  tooLarge: number;
  inFlight: number;
}

/** What others ask the control actor: the addresses its servers are bound to (port 0 resolved), its counters. */
export type ControlMsg =
  | { readonly type: 'address'; readonly replyTo: Ref<{ host: string; port: number }[]> }
  | { readonly type: 'stats'; readonly replyTo: Ref<RpcStats> };

export const CONTROL = actorName<ControlMsg>(`${ROOT.path}/control`);

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

/** What the RPC methods run against: the connection manager's commands (declared once, in its contract) and the rest of the node. */
export interface ControlContext extends ConnmanCommands {
  readonly settings: Settings;
  readonly params: NetworkParams;
  readonly userAgent: string;
  /** Services our listeners advertise by default. */
  readonly services: bigint;
  /** ms since the epoch when the node started. */
  readonly startedAt: number;
  networkActive(): boolean;
  /** Bytes received and sent since start (live peers plus the ones that left), and the node-wide limits in force. */
  totals(): Promise<{ recv: number; sent: number; limits?: NetLimits; upload?: UploadStatus }>;
  /** Every listener, in bind order. */
  listeners(): Promise<ListenerInfo[]>;
  /** Changes what one listener (by index or bound HOST:PORT) advertises to new inbound peers; rejects with "Listener not found" for an unknown one. */
  setListenerServices(target: number | string, services: bigint): Promise<ListenerInfo>;
  actors(pattern?: string | RegExp): ActorInfo[];
  actorTree(): TreeNode[];
  kill(path: string, mode?: KillMode, opts?: { ms?: number }): boolean;
  deadLetters(): { total: number; byType: Record<string, number> };
  /** Runs a chain method in the block actor; null when it is not running. */
  askChain(method: ChainRpcMethod, args: readonly (Json | undefined)[]): Promise<ChainRpcReply> | null;
  /** Asks the address book; null when it is not running. */
  askAddressBook<R>(make: (replyTo: Ref<R>) => AddressBookQuery): Promise<R> | null;
  /** Stops the node (the `stop` method calls it once its reply is sent). */
  stop(): Promise<void> | void;
}
