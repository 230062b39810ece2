/**
 * What the chaos runner acts on: a node in this process (a NodeHandle) or a running node over
 * JSON-RPC (listactors, killactor, getconnectioncount, getdeadletters, getaddrmaninfo, listbanned,
 * getresources, getblockcount, getstoreinfo).
 */
import { ask, type KillMode } from '../../../supervisors/index.js';
import type { NodeHandle } from '../../node.js';
import { ADDRESSBOOK, type AddressBookMsg, type AddrmanInfo as BookInfo, type BanEntryJson } from '../../contracts/addressbook.js';
import { CHAIN, type ChainMsg, type ChainRpcReply } from '../../contracts/chain.js';
import { PEERS } from '../../contracts/peer.js';
import { ROOT } from '../../contracts/root.js';
import { rpcCall, RpcCallError, type RpcClientOptions } from '../../rpc/client.js';
import { RPC, type Json } from '../../rpc/protocol.js';
import { resourceReport, type ResourceReport } from '../../util/resources.js';

/**
 * What a node has stored (RPC `getstoreinfo`): the block index's count and checksum (sha256 of
 * the sorted stored hashes), the same restricted to heights ≤ `upto.height`, the tip height, and
 * the address book's count, bans and flush state.
 */
export interface StoreInfo {
  readonly blocks: number;
  readonly checksum: string;
  readonly height: number;
  readonly pruned: boolean;
  readonly upto: { readonly height: number; readonly blocks: number; readonly checksum: string };
  readonly addresses: number;
  readonly bans: number;
  /** The book has changes not yet in its snapshot (null: unknown). */
  readonly addressesDirty: boolean | null;
  readonly lastFlushAgoS: number | null;
}

/** A getstoreinfo answer (JSON) as a StoreInfo; throws on a shape it does not know. */
export function storeInfoOf(j: Json): StoreInfo {
  const o = j as { [k: string]: Json };
  const upto = o.upto as { [k: string]: Json } | undefined;
  const book = o.addressbook as { [k: string]: Json } | undefined;
  const num = (v: Json | undefined, what: string): number => {
    if (typeof v !== 'number') throw new Error(`getstoreinfo: ${what} is not a number`);
    return v;
  };
  return {
    blocks: num(o.blocks, 'blocks'),
    checksum: String(o.checksum),
    height: num(o.height, 'height'),
    pruned: o.pruned === true,
    upto: { height: num(upto?.height, 'upto.height'), blocks: num(upto?.blocks, 'upto.blocks'), checksum: String(upto?.checksum) },
    addresses: num(o.addresses, 'addresses'),
    bans: num(o.bans, 'bans'),
    addressesDirty: typeof book?.dirty === 'boolean' ? book.dirty : null,
    lastFlushAgoS: typeof book?.lastflushagos === 'number' ? book.lastflushagos : null,
  };
}

/** How long one height sample may take before it counts as unanswered, ms. */
const HEIGHT_TIMEOUT_MS = 2000;

/** The part of a registry record the runner reads (runtime.list / listactors). */
export interface ActorRecord {
  readonly path: string;
  readonly kind: string;
  readonly restart?: string;
  readonly incarnation: number;
  readonly restarts: number;
  readonly mailbox: number;
  readonly handled: number;
  readonly status: string;
  readonly childCount: number;
  readonly summary?: unknown;
}

export interface ChaosTarget {
  readonly where: 'in-process' | 'rpc';
  list(pattern: string): Promise<ActorRecord[]>;
  /** False when there is no such actor (or, for socket, no socket). */
  kill(path: string, mode: KillMode, stallMs: number): Promise<boolean>;
  /** Answers at all (RPC: `uptime`; in-process: the root supervisor is alive). */
  alive(): Promise<boolean>;
  connectionCount(): Promise<number>;
  deadLetters(): Promise<number>;
  addrmanTotal(): Promise<number>;
  bannedCount(): Promise<number>;
  /** In-process only: actors in nact's own tree (orphans cannot hide there). */
  nactActorCount?(): number;
  /**
   * What the node holds (actors, runtime timers, handles, descriptors, memory): in-process from
   * this process, over RPC from `getresources`; null when the node has no such method.
   */
  resources?(): Promise<ResourceReport | null>;
  /** The active chain's height (`getblockcount`); rejects while the block actor is down. */
  blockHeight?(): Promise<number>;
  /** What is stored (`getstoreinfo [height]`); null when the node has no such method. */
  storeInfo?(height?: number): Promise<StoreInfo | null>;
}

type AddrmanInfo = Readonly<Record<string, { readonly total: number }>>;

export function handleTarget(node: NodeHandle): ChaosTarget {
  return {
    where: 'in-process',
    list: (pattern) => Promise.resolve(node.actors(pattern)),
    kill: (path, mode, stallMs) => Promise.resolve(node.runtime.kill(path, mode, { ms: stallMs })),
    alive: () => Promise.resolve(node.actors(ROOT.path).length === 1),
    connectionCount: async () => (await node.peers()).length,
    deadLetters: () => Promise.resolve(node.runtime.deadLetters().total),
    addrmanTotal: async () => {
      const info = await ask<AddressBookMsg, BookInfo>(node.addressbook(), (replyTo) => ({ type: 'info', replyTo }), 5000);
      return info.all_networks?.total ?? 0;
    },
    bannedCount: async () => {
      const bans = await ask<AddressBookMsg, BanEntryJson[]>(node.addressbook(), (replyTo) => ({ type: 'list-bans', replyTo }), 5000);
      return bans.length;
    },
    nactActorCount: () => node.runtime.nactActorCount(),
    resources: () => Promise.resolve(resourceReport(node.actors(), PEERS.path)),
    blockHeight: async () => {
      // Asked directly with a short timeout: a message to a block actor that dies meanwhile is never answered.
      const ref = node.runtime.lookup(CHAIN);
      if (!ref) throw new Error('the block actor is not running');
      const r = await ask<ChainMsg, ChainRpcReply>(ref, (replyTo) => ({ type: 'rpc', method: 'getblockcount', args: [], replyTo }), HEIGHT_TIMEOUT_MS);
      if (!r.ok) throw new Error(r.message);
      return Number(r.result);
    },
    storeInfo: async (height) => {
      const blocks = (await node.chainCall('getstoreinfo', height === undefined ? [] : [height])) as { [k: string]: Json };
      const book = node.addressbook();
      const info = await ask<AddressBookMsg, BookInfo>(book, (replyTo) => ({ type: 'info', replyTo }), 5000);
      const bans = await ask<AddressBookMsg, BanEntryJson[]>(book, (replyTo) => ({ type: 'list-bans', replyTo }), 5000);
      const summary = node.actors(ADDRESSBOOK.path)[0]?.summary as { dirty?: unknown; lastFlushAgoS?: unknown } | undefined;
      return storeInfoOf({
        ...blocks,
        addresses: info.all_networks?.total ?? 0,
        bans: bans.length,
        addressbook: { dirty: typeof summary?.dirty === 'boolean' ? summary.dirty : null, lastflushagos: typeof summary?.lastFlushAgoS === 'number' ? summary.lastFlushAgoS : null },
      });
    },
  };
}

export function rpcTarget(opts: RpcClientOptions): ChaosTarget {
  const o: RpcClientOptions = { timeoutMs: 5000, ...opts };
  const call = (method: string, params: Json[] = []): Promise<Json> => rpcCall(o, method, params);
  return {
    where: 'rpc',
    list: async (pattern) => (await call('listactors', [pattern])) as unknown as ActorRecord[],
    kill: async (path, mode, stallMs) => {
      try {
        await call('killactor', [path, mode, stallMs]);
        return true;
      } catch (err) {
        if (err instanceof RpcCallError && err.code !== undefined) return false;
        throw err;
      }
    },
    alive: async () => {
      try {
        await call('uptime');
        return true;
      } catch {
        return false;
      }
    },
    connectionCount: async () => Number(await call('getconnectioncount')),
    deadLetters: async () => Number(((await call('getdeadletters')) as { total?: number }).total ?? 0),
    addrmanTotal: async () => ((await call('getaddrmaninfo')) as unknown as AddrmanInfo).all_networks?.total ?? 0,
    bannedCount: async () => ((await call('listbanned')) as unknown[]).length,
    resources: async () => {
      try {
        return (await call('getresources')) as unknown as ResourceReport;
      } catch (err) {
        // An older node without the method: no leak check on resources.
        if (err instanceof RpcCallError && err.code === RPC.METHOD_NOT_FOUND) return null;
        throw err;
      }
    },
    blockHeight: async () => Number(await rpcCall({ ...o, timeoutMs: HEIGHT_TIMEOUT_MS }, 'getblockcount', [])),
    storeInfo: async (height) => {
      try {
        return storeInfoOf(await call('getstoreinfo', height === undefined ? [] : [height]));
      } catch (err) {
        if (err instanceof RpcCallError && err.code === RPC.METHOD_NOT_FOUND) return null;
        throw err;
      }
    },
  };
}
