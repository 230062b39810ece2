/**
 * How the node plugs the connection manager and the listeners in: their child specs, the
 * operator's commands (one method per command, for the node handle and the RPC), and the
 * listeners' queries. Kept here so that `node.ts` only wires them.
 */
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { ask, supervisor, tell, worker, type ChildSpec, type Ref, type Runtime } from '../../supervisors/index.js';
import type { Settings } from '../config/options.js';
import type { NetworkParams } from '../wire/network.js';
import type { NetGroupManager } from '../netaddress/netgroup.js';
import { checkRate, type NetThrottle } from '../throttle/throttle.js';
import type { PeerSettings } from '../contracts/peer.js';
import { PEERS } from '../contracts/peer.js';
import { ADDRESSBOOK, type AddressBookMsg } from '../contracts/addressbook.js';
import { CHAIN, type ChainMsg } from '../contracts/chain.js';
import { CONNMAN, type CommandResult, type ConnmanCommand, type ConnmanCommands, type ConnmanEvents, type ConnmanMsg } from '../contracts/connman.js';
import { endpointKey, parseEndpoint, type AddedNode } from '../contracts/connection.js';
import type { ListenerInfo } from '../contracts/control.js';
import { listenerChildName, listenerName, type ListenerMsg } from '../contracts/listener.js';
import { connmanActor } from './actor.js';
import { listenerActor, type BindSpec } from './listener.js';
import { DEFAULT_CONNMAN } from './logic.js';

/** What the connection manager shares with the rest of the node and keeps across its restarts. */
export interface ConnmanShared {
  /** The node-wide throttle: peers keep the same object when the manager restarts. */
  readonly throttle: NetThrottle;
  /** Where peer-connected/-disconnected are emitted for library users. */
  readonly events: EventEmitter<ConnmanEvents>;
  /** The addnode list, runtime additions included (with their v2transport): a restarted manager starts from it. */
  addnode: AddedNode[];
}

export interface ConnmanSpecOptions {
  readonly peerSettings: PeerSettings;
  readonly netgroups: NetGroupManager;
  readonly automaticOutbound?: boolean;
  readonly tickMs?: number;
  readonly maxReceiveBuffer?: number;
  readonly maxSendBuffer?: number;
  readonly sendStallMs?: number;
}

/** The `connman` child; it reaches the peers supervisor, the address book and the block actor by name. */
export function connmanSpec(settings: Settings, params: NetworkParams, runtime: Runtime, shared: ConnmanShared, o: ConnmanSpecOptions): ChildSpec {
  const connect = settings.connect.map((e) => parseEndpoint(e, params.defaultPort));
  // A ref is a path: once the actor has started, this one reaches every later incarnation.
  let book: Ref<AddressBookMsg> | undefined;
  let chain: Ref<ChainMsg> | undefined;
  return worker(
    connmanActor,
    {
      config: {
        ...DEFAULT_CONNMAN,
        maxConnections: settings.maxconnections,
        connectTimeoutMs: settings.timeout,
        automaticOutbound: o.automaticOutbound ?? connect.length === 0,
        listen: settings.listen,
        groupKey: randomBytes(32),
        netgroups: o.netgroups,
        v2transport: o.peerSettings.v2transport === true,
      },
      connect,
      // A getter: a restarted manager starts from the list as it is now, runtime additions included.
      get addnode() {
        return shared.addnode;
      },
      onAddnode: (endpoint: AddedNode, c: 'add' | 'remove') => {
        const key = endpointKey(endpoint);
        const others = shared.addnode.filter((e) => endpointKey(e) !== key);
        shared.addnode = c === 'add' ? [...others, endpoint] : others;
      },
      seednode: settings.seednode.map((e) => parseEndpoint(e, params.defaultPort)),
      get peers() {
        const r = runtime.lookup(PEERS);
        if (!r) throw new Error('the peers supervisor is not running');
        return r;
      },
      get addressbook() {
        return (book ??= runtime.lookup(ADDRESSBOOK));
      },
      get chain() {
        return (chain ??= runtime.lookup(CHAIN));
      },
      magic: params.magic,
      defaultPort: params.defaultPort,
      peerSettings: o.peerSettings,
      events: shared.events,
      throttle: shared.throttle,
      ...(o.tickMs !== undefined ? { tickMs: o.tickMs } : {}),
      ...(o.maxReceiveBuffer !== undefined ? { maxReceiveBuffer: o.maxReceiveBuffer } : {}),
      ...(o.maxSendBuffer !== undefined ? { maxSendBuffer: o.maxSendBuffer } : {}),
      ...(o.sendStallMs !== undefined ? { sendStallMs: o.sendStallMs } : {}),
    },
    { id: 'connman', restart: 'permanent', shutdown: 5000 },
  );
}

/** The listener `i` would start with now: its bind, with the services set at runtime (setlistenerservices) over the bind's own. */
function bindNow(binds: readonly BindSpec[], services: ReadonlyMap<number, bigint>, i: number): BindSpec {
  const set = services.get(i);
  return set === undefined ? binds[i] : { ...binds[i], services: set };
}

/** The `listeners` child (one listener per bind), or undefined when there is none. */
export function listenersSpec(runtime: Runtime, binds: readonly BindSpec[], services: ReadonlyMap<number, bigint>): ChildSpec | undefined {
  if (binds.length === 0) return undefined;
  return supervisor('listeners', {
    strategy: 'one_for_one',
    intensity: 5,
    period: 10,
    children: binds.map((_bind, i) =>
      worker(
        listenerActor,
        {
          // A getter, so that a listener restarted by its supervisor keeps services set at runtime.
          get bind() {
            return bindNow(binds, services, i);
          },
          get connman() {
            return connmanRef(runtime);
          },
        },
        { id: listenerChildName(i), restart: 'permanent', shutdown: 2000 },
      ),
    ),
  });
}

function connmanRef(runtime: Runtime): Ref<ConnmanMsg> {
  const r = runtime.lookup(CONNMAN);
  if (!r) throw new Error('the connection manager is not running');
  return r;
}


export function connmanCommands(runtime: Runtime, defaultPort: number): ConnmanCommands {
  const command = async (cmd: ConnmanCommand): Promise<Extract<CommandResult, { ok: true }>> => {
    const r = await ask<ConnmanMsg, CommandResult>(connmanRef(runtime), (replyTo) => ({ type: 'command', cmd, replyTo }), 10_000);
    if (!r.ok) throw new Error(r.error);
    return r;
  };
  return {
    peers: async () => (await command({ op: 'peers' })).peers ?? [],
    disconnects: async () => (await command({ op: 'disconnects' })).disconnects ?? [],
    addnode: async (endpoint, c, v2transport) =>
      void (await command({ op: 'addnode', endpoint: parseEndpoint(endpoint, defaultPort), command: c, ...(v2transport !== undefined ? { v2transport } : {}) })),
    addedNodes: async () => (await command({ op: 'added-nodes' })).addedNodes ?? [],
    disconnect: async (target) => void (await command({ op: 'disconnect', ...target })),
    setNetworkActive: async (active) => void (await command({ op: 'set-network-active', active })),
    pingAll: async () => void (await command({ op: 'ping' })),
    setNetLimit: async (recv, send) => void (await command({ op: 'set-net-limit', recv: checkRate(recv, 'recv'), send: checkRate(send, 'send') })),
    async setPeerLimit(target, recv, send) {
      const limits = { recv: checkRate(recv, 'recv'), send: checkRate(send, 'send') };
      const which = target === 'all' ? { all: true } : typeof target === 'number' ? { id: target } : /^\d+$/.test(target) ? { id: Number(target) } : { address: target };
      await command({ op: 'set-peer-limit', ...which, ...limits });
    },
  };
}

/** The listeners as the operator sees them. */
export interface ListenerQueries {
  /** Addresses the listeners are bound to (port 0 resolved). */
  listening(): Promise<{ host: string; port: number }[]>;
  /** Every listener: bound address, services advertised, connections accepted (getlisteners). */
  listeners(): Promise<ListenerInfo[]>;
  /** What one listener (index, or bound HOST:PORT) advertises to peers accepted from now on; kept if the listener restarts. Rejects with "Listener not found: …" for an unknown one. */
  setListenerServices(target: number | string, services: bigint): Promise<ListenerInfo>;
}

export function listenerQueries(runtime: Runtime, binds: readonly BindSpec[], services: Map<number, bigint>, ourServices: bigint): ListenerQueries {
  const address = (ref: Ref<ListenerMsg>): Promise<{ host: string; port: number }> => ask<ListenerMsg, { host: string; port: number }>(ref, (replyTo) => ({ type: 'address', replyTo }), 5000);
  async function listenerInfo(i: number): Promise<ListenerInfo | null> {
    const ref = runtime.lookup(listenerName(i));
    if (!ref) return null;
    // Asked through its mailbox, so that a set-services sent before has been handled.
    const a = await address(ref);
    const summary = runtime.info(listenerName(i).path)?.summary;
    const accepted = typeof summary === 'object' && summary !== null && 'accepted' in summary ? Number((summary as { accepted: unknown }).accepted) : 0;
    return { index: i, address: endpointKey(a), services: bindNow(binds, services, i).services ?? ourServices, accepted };
  }
  async function listeners(): Promise<ListenerInfo[]> {
    const out: ListenerInfo[] = [];
    for (let i = 0; i < binds.length; i++) {
      const l = await listenerInfo(i);
      if (l) out.push(l);
    }
    return out;
  }
  return {
    async listening() {
      const out: { host: string; port: number }[] = [];
      for (let i = 0; i < binds.length; i++) {
        const ref = runtime.lookup(listenerName(i));
        if (ref) out.push(await address(ref));
      }
      return out;
    },
    listeners,
    async setListenerServices(target, bits) {
      if (bits < 0n || bits >= 1n << 64n) throw new RangeError('services must fit in 64 bits');
      const all = await listeners();
      const t = typeof target === 'string' ? target.trim() : target;
      const found = all.find((l) => (typeof t === 'number' ? l.index === t : /^\d+$/.test(t) ? l.index === Number(t) : l.address === t));
      if (!found) throw new Error(`Listener not found: ${String(target)}`);
      services.set(found.index, bits);
      const ref = runtime.lookup(listenerName(found.index));
      if (ref) tell(ref, { type: 'set-services', services: bits });
      return (await listenerInfo(found.index)) ?? { ...found, services: bits };
    },
  };
}
