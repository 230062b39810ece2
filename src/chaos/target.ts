/**
 * What the chaos runner acts on: a node in this process (a NodeHandle) or a running node over
 * JSON-RPC (listactors, killactor, getconnectioncount, getdeadletters, getaddrmaninfo, listbanned).
 */
import { ask, type KillMode } from '../../supervisors/runtime.js';
import type { NodeHandle } from '../node.js';
import type { AddressBookMsg, AddrmanInfo as BookInfo, BanEntryJson } from '../addressbook/actor.js';
import { rpcCall, RpcCallError, type RpcClientOptions } from '../control/client.js';
import { RPC, type Json } from '../control/protocol.js';
import { resourceReport, type ResourceReport } from '../util/resources.js';

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
}

type AddrmanInfo = Readonly<Record<string, { readonly total: number }>>;

export function handleTarget(node: NodeHandle): ChaosTarget {
  return {
    where: 'in-process',
    list: (pattern) => Promise.resolve(node.actors(pattern)),
    kill: (path, mode, stallMs) => Promise.resolve(node.runtime.kill(path, mode, { ms: stallMs })),
    alive: () => Promise.resolve(node.actors('/root').length === 1),
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
    resources: () => Promise.resolve(resourceReport(node.actors())),
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
  };
}
