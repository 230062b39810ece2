/**
 * How the node plugs the control actor in: the ControlContext over the node's runtime and
 * connection manager, and the `control` child spec. Kept here so `node.ts` only wires it.
 */
import { ask, type Ref, type Runtime, type KillMode, worker, type ChildSpec } from '../../supervisors/index.js';
import type { Settings } from '../config/options.js';
import type { NetworkParams } from '../wire/network.js';
import type { UploadStatus } from '../throttle/upload-target.js';
import { startLoopMonitor } from '../util/resources.js';
import { ADDRESSBOOK, type AddressBookMsg, type AddressBookQuery } from '../contracts/addressbook.js';
import { CHAIN, type ChainMsg, type ChainRpcReply } from '../contracts/chain.js';
import { CONNMAN, type AddedNodeInfo, type DisconnectRecord } from '../contracts/connman.js';
import { CONTROL, type ControlContext, type ControlMsg, type ListenerInfo, type NetLimits } from '../contracts/control.js';
import type { PeerInfo } from '../contracts/peer.js';
import { controlActor, parseRpcBind } from './actor.js';

export interface ControlDeps {
  readonly settings: Settings;
  readonly params: NetworkParams;
  readonly userAgent: string;
  readonly services: bigint;
  readonly runtime: Runtime;
  readonly peers: () => Promise<PeerInfo[]>;
  readonly disconnects: () => Promise<DisconnectRecord[]>;
  readonly addnode: (endpoint: string, command: 'add' | 'remove' | 'onetry') => Promise<void>;
  readonly addedNodes: () => Promise<AddedNodeInfo[]>;
  readonly disconnect: (target: { id: number } | { address: string }) => Promise<void>;
  readonly setNetworkActive: (active: boolean) => Promise<void>;
  readonly pingAll: () => Promise<void>;
  readonly totals: () => { recv: number; sent: number; limits?: NetLimits; upload?: UploadStatus };
  readonly setNetLimit: (recv: number, send: number) => Promise<void>;
  readonly setPeerLimit: (target: number | string, recv: number, send: number) => Promise<void>;
  readonly listeners: () => Promise<ListenerInfo[]>;
  readonly setListenerServices: (target: number | string, services: bigint) => Promise<ListenerInfo>;
  readonly stop: () => Promise<void>;
}

export function makeControlContext(d: ControlDeps): ControlContext {
  const startedAt = Date.now();
  // getresources reports the event-loop delay since the node started.
  startLoopMonitor();
  return {
    settings: d.settings,
    params: d.params,
    userAgent: d.userAgent,
    services: d.services,
    startedAt,
    peers: d.peers,
    disconnects: d.disconnects,
    addnode: d.addnode,
    addedNodes: d.addedNodes,
    disconnect: d.disconnect,
    setNetworkActive: d.setNetworkActive,
    networkActive: () => {
      const s = d.runtime.info(CONNMAN.path)?.summary;
      return typeof s === 'object' && s !== null && 'networkActive' in s ? (s as { networkActive: unknown }).networkActive !== false : true;
    },
    pingAll: d.pingAll,
    totals: async () => d.totals(),
    setNetLimit: d.setNetLimit,
    setPeerLimit: d.setPeerLimit,
    listeners: d.listeners,
    setListenerServices: d.setListenerServices,
    actors: (p) => d.runtime.list(p),
    actorTree: () => d.runtime.tree(),
    kill: (path: string, mode: KillMode, opts?: { ms?: number }) => d.runtime.kill(path, mode, opts),
    deadLetters: () => d.runtime.deadLetters(),
    askChain(method, args) {
      const ref = d.runtime.lookup(CHAIN);
      if (!ref) return null;
      return ask<ChainMsg, ChainRpcReply>(ref, (replyTo) => ({ type: 'rpc', method, args, replyTo }), 30_000);
    },
    askAddressBook<R>(make: (replyTo: Ref<R>) => AddressBookQuery): Promise<R> | null {
      const ref = d.runtime.lookup(ADDRESSBOOK);
      if (!ref) return null;
      return ask<AddressBookMsg, R>(ref, make, 5000);
    },
    // After the reply is written: the server closes with the rest of the tree.
    stop: () => void setTimeout(() => void d.stop(), 20),
  };
}

/** The `control` child: the RPC server, with binds and credentials from the settings. */
export function controlSpec(context: ControlContext, networkDir: string, opts: { maxBody?: number; authFailDelayMs?: number } = {}): ChildSpec {
  const s = context.settings;
  const port = s.rpcport >= 0 ? s.rpcport : context.params.rpcPort;
  const binds = (s.rpcbind.length > 0 ? s.rpcbind : ['127.0.0.1']).map((b) => parseRpcBind(b, port));
  return worker(
    controlActor,
    {
      context,
      networkDir,
      binds,
      allow: s.rpcallowip,
      rpcuser: s.rpcuser,
      rpcpassword: s.rpcpassword,
      rpccookiefile: s.rpccookiefile,
      ...opts,
    },
    { id: 'control', restart: 'permanent', shutdown: 3000 },
  );
}

/** The RPC server's bound address (port 0 resolved), or null when it is not running. */
export async function rpcAddressOf(runtime: Runtime): Promise<{ host: string; port: number } | null> {
  const ref = runtime.lookup(CONTROL);
  if (!ref) return null;
  const list = await ask<ControlMsg, { host: string; port: number }[]>(ref, (replyTo) => ({ type: 'address', replyTo }), 5000);
  return list[0] ?? null;
}
