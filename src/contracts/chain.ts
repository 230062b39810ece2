/**
 * The block actor's contract (`/root/chain`): what peers tell it (their chain messages, and that
 * they are connected or disconnected: `ToChain`, declared with the peer's contract) and the chain RPC methods it
 * answers in its mailbox, so that each answer is a consistent view of the chain.
 */
import { actorName, type Ref } from '../../supervisors/index.js';
import type { Json } from '../rpc/protocol.js';
import type { ToChain } from './peer.js';
import { ROOT } from './root.js';

export const CHAIN_RPC_METHODS = ['getblockchaininfo', 'getblockcount', 'getbestblockhash', 'getblockhash', 'getblockheader', 'getblock', 'getchaintips', 'getstoreinfo'] as const;
export type ChainRpcMethod = (typeof CHAIN_RPC_METHODS)[number];

/** A chain method's result, or Core's error code and message. */
export type ChainRpcReply = { readonly ok: true; readonly result: Json } | { readonly ok: false; readonly code: number; readonly message: string };

/** What others send the block actor. */
export type ChainMsg =
  | ToChain
  | { readonly type: 'rpc'; readonly method: ChainRpcMethod; readonly args: readonly (Json | undefined)[]; readonly replyTo: Ref<ChainRpcReply> };

export const CHAIN = actorName<ChainMsg>(`${ROOT.path}/chain`);
