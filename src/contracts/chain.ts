/**
 * The block actor's contract (`/root/chain`): what peers tell it (their chain messages, and that
 * they are connected or disconnected: `ToChain`, declared with the peer's contract) and the chain RPC methods it
 * answers in its mailbox, so that each answer is a consistent view of the chain; and the tip
 * height it tells the connection manager (`TipUpdate`), for the version messages of new connections.
 */
import { actorName, type Ref } from '../../supervisors/index.js';
import type { Json } from '../rpc/protocol.js';
import type { ToChain } from './peer.js';
import { ROOT } from './root.js';

export const CHAIN_RPC_METHODS = ['getblockchaininfo', 'getblockcount', 'getbestblockhash', 'getblockhash', 'getblockheader', 'getblock', 'getchaintips', 'getstoreinfo'] as const;
export type ChainRpcMethod = (typeof CHAIN_RPC_METHODS)[number];

/** A chain method's result, or Core's error code and message. */
export type ChainRpcReply = { readonly ok: true; readonly result: Json } | { readonly ok: false; readonly code: number; readonly message: string };

/** The chain's tip height, told to the connection manager when the block actor (re)starts, on every tip change and when asked (`sync-tip`). */
export type TipUpdate = { readonly type: 'tip'; readonly height: number };

/** What others send the block actor. */
export type ChainMsg =
  | ToChain
  /** Tell `replyTo` the tip height now (the connection manager asks when it (re)starts; later changes reach it by name). */
  | { readonly type: 'sync-tip'; readonly replyTo: Ref<TipUpdate> }
  | { readonly type: 'rpc'; readonly method: ChainRpcMethod; readonly args: readonly (Json | undefined)[]; readonly replyTo: Ref<ChainRpcReply> };

export const CHAIN = actorName<ChainMsg>(`${ROOT.path}/chain`);
