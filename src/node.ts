/**
 * `startNode(options)`: builds the node's supervision tree from settings and starts it.
 * `peerd start` is a thin layer over this; tests and the simulation run many nodes in one
 * process with it.
 */
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import {
  Runtime,
  ask,
  tell,
  type Ref,
  type TreeNode,
  type ActorInfo,
  type KillMode,
  supervisor,
  worker,
  type DynMsg,
  startTree,
  type TreeHandle,
  formatReason,
  type ExitReason,
} from '../supervisors/index.js';
import { nodeTreeSpec, peersSupervisor } from './tree.js';
import { resolveSettings, networkDatadir, ConfigError, type RawValues } from './config/load.js';
import { addnodeDelta, diffSettings, type ReloadPlan } from './config/reload.js';
import type { Settings } from './config/options.js';
import { networkParams, type NetworkParams } from './wire/network.js';
import { NODE_NETWORK, NODE_NETWORK_LIMITED, NODE_WITNESS } from './wire/constants.js';
import { rootLogger, parseLevelSpec, type LevelSpec } from './log.js';
import { peerActor } from './peer/actor.js';
import { PEERS, peerChildName, type PeerArgs, type PeerInfo, type PeerMsg, type PeerSettings } from './contracts/peer.js';
import { chainActor, type ChainArgs } from './chain/actor.js';
import { CHAIN, type ChainMsg, type ChainRpcMethod, type ChainRpcReply } from './contracts/chain.js';
import type { Json } from './rpc/protocol.js';
import { makeNonceKey } from './peer/nonce.js';
import { connmanActor } from './connman/actor.js';
import { CONNMAN, type CommandResult, type ConnmanMsg, type ConnmanCommand, type ConnmanEvents, type DisconnectRecord } from './contracts/connman.js';
import { listenerActor, parseBind, type BindSpec } from './connman/listener.js';
import { listenerChildName, listenerName, type ListenerMsg } from './contracts/listener.js';
import { DEFAULT_CONNMAN } from './connman/logic.js';
import { endpointKey, type Endpoint } from './contracts/connection.js';
import { randomBytes } from 'node:crypto';
import { storeActor } from './store/actor.js';
import { lockDatadir, type DatadirLock } from './util/datadir-lock.js';
import { addressBookActor, DEFAULT_FLUSH_MS, type Resolver } from './addressbook/actor.js';
import { ADDRESSBOOK, type AddressBookMsg } from './contracts/addressbook.js';
import { loadFixedSeeds } from './addressbook/seeds.js';
import { NO_ASMAP } from './netaddress/netgroup.js';
import { checkRate, netThrottle, netTotals, type NetTotals } from './throttle/throttle.js';
import { uploadStatus, uploadTarget } from './throttle/upload-target.js';
import { controlSpec, makeControlContext, rpcAddressOf } from './control/spec.js';
import { dispatch } from './control/methods.js';
import type { ListenerInfo } from './contracts/control.js';
import { inspectorSpec, inspectAddressOf } from './inspect/spec.js';
import type { InspectAddress } from './contracts/inspector.js';

export const USER_AGENT = '/peerd:0.1.0/';

/** Everything `peerd start` takes, as typed values; anything left out takes its default. */
export type NodeOptions = Partial<Settings> & {
  /** Read `<datadir>/peerd.conf` (default false for the library, true for the CLI). */
  readonly readConfFile?: boolean;
  /** Raw command-line values (the CLI passes them so that errors name the flag). */
  readonly cli?: RawValues;
  readonly logger?: Logger;
  /** Interval of the connection manager's slot check, ms. */
  readonly tickMs?: number;
  /** How often the address book snapshot is written, ms (default Core's 15 min). */
  readonly addrFlushMs?: number;
  /** DNS resolver for the seeds (tests inject one: DNS is never reached from tests). */
  readonly dnsResolver?: Resolver;
  /** Delay before DNS seeds are considered, ms (default Core's 11 s). */
  readonly dnsDelayMs?: number;
  /** Services we advertise (default NODE_NETWORK | NODE_WITNESS; NODE_NETWORK_LIMITED instead of NODE_NETWORK with --prune). */
  readonly services?: bigint;
  /** Upload target in bytes per 24 h, overriding --maxuploadtarget (tests). */
  readonly uploadTargetBytes?: number;
  /** Prune target in bytes, overriding --prune and its 550 MiB floor (tests). */
  readonly pruneTargetBytes?: number;
  /** Block actor tuning (tests: short stall timeouts, a low minimum chain work). */
  readonly chain?: Pick<ChainArgs, 'config' | 'minimumChainWork' | 'sync' | 'tickMs' | 'progressBar' | 'checkThreads'>;
  /** Per-peer receive buffer before its socket is paused, bytes (default Core's 5 MB). */
  readonly maxReceiveBuffer?: number;
  /** Per-peer send queue before we stop reading from it, bytes (default Core's 1 MB). */
  readonly maxSendBuffer?: number;
  /** A peer that keeps its send queue over the limit this long is disconnected, ms (default: the inactivity timeout). */
  readonly sendStallMs?: number;
  /** Applies a new log level on reload (default: the overall level on the logger itself). */
  readonly setLogLevel?: (spec: LevelSpec) => void;
  /** Largest JSON-RPC request body, bytes (default 1 MB). */
  readonly rpcMaxBody?: number;
  /** Delay before a 401 for bad RPC credentials, ms (default Core's 250). */
  readonly rpcAuthFailDelayMs?: number;
  /** How often the inspector samples the node and pushes to its pages, ms (default 1000). */
  readonly inspectIntervalMs?: number;
  /** Dial automatic outbound peers and feelers from the address book (default: only when `connect` is empty); off, only connect/addnode peers are dialled (the test network's fixed topology). */
  readonly automaticOutbound?: boolean;
  /** Fixed seeds (`host:port`) instead of the network's shipped list (tests: 127.0.0.1 ports on regtest). */
  readonly fixedSeedsOverride?: readonly string[];
  /**
   * The network datadir's lock, already taken (`peerd start` takes it before opening its log
   * file there). The node owns it from then on and releases it when it exits or fails to start.
   * Absent, `startNode` takes it itself and refuses a directory another node holds.
   */
  readonly datadirLock?: DatadirLock;
};

export interface NodeHandle {
  readonly settings: Settings;
  readonly params: NetworkParams;
  readonly runtime: Runtime;
  readonly tree: TreeHandle;
  readonly events: EventEmitter<ConnmanEvents>;
  /** Addresses the listeners are bound to (port 0 resolved to the real port). */
  listening(): Promise<{ host: string; port: number }[]>;
  peers(): Promise<PeerInfo[]>;
  disconnects(): Promise<DisconnectRecord[]>;
  addnode(endpoint: string, command: 'add' | 'remove' | 'onetry'): Promise<void>;
  disconnect(target: { id: number } | { address: string }): Promise<void>;
  setNetworkActive(active: boolean): Promise<void>;
  pingAll(): Promise<void>;
  /** The JSON-RPC server's address (rpcport 0 resolved), or null when it is off. */
  rpcAddress(): Promise<{ host: string; port: number } | null>;
  /** Node-wide bandwidth limits, bytes/s (0 = unlimited), in force at once for every peer; no one is reconnected. */
  setNetLimit(recv: number, send: number): Promise<void>;
  /**
   * One peer's limits (by id, or address `host:port`), bytes/s, 0 = unlimited; `'all'` sets
   * every connected peer's and the default for peers that connect later. Rejects with
   * "Node not found in connected nodes" for an unknown peer, a RangeError for a bad rate.
   */
  setPeerLimit(target: number | string, recv: number, send: number): Promise<void>;
  /** Every listener: bound address, services advertised, connections accepted (getlisteners). */
  listeners(): Promise<ListenerInfo[]>;
  /**
   * What one listener (index, or bound HOST:PORT) advertises to peers accepted from now on;
   * kept if the listener restarts. Rejects with "Listener not found: …" for an unknown one.
   */
  setListenerServices(target: number | string, services: bigint): Promise<ListenerInfo>;
  /** Bytes received and sent since start, and the limits in force (getnettotals). */
  netTotals(): NetTotals;
  /** The address book (`/root/addressbook`): bans, getnodeaddresses, getaddrmaninfo, flush. */
  addressbook(): Ref<AddressBookMsg>;
  /** Runs a chain method (getblockchaininfo, getblockcount, getblock, …) in the block actor; rejects with Core's message on an error. */
  chainCall(method: ChainRpcMethod, args?: readonly Json[]): Promise<Json>;
  actors(pattern?: string | RegExp): ActorInfo[];
  actorTree(): TreeNode[];
  kill(path: string, mode?: KillMode): boolean;
  /**
   * Re-reads the settings (config file, then the same command-line values and overrides, which
   * win) and applies the ones that can change at runtime: log-level, the node and per-peer rate
   * limits, addnode. Changed settings that need a restart are only reported. A bad config
   * throws a ConfigError (file and line) and changes nothing.
   */
  reload(): Promise<ReloadResult>;
  /** Resolves when the root supervisor exits (after stop(), or after an escalation past its limit). */
  readonly exited: Promise<ExitReason>;
  stop(): Promise<void>;
  /** The web inspector's bound address (port 0 resolved) and its one-time link, or null when `inspect` is off. */
  inspectAddress(): Promise<InspectAddress | null>;
}

export interface ReloadResult extends ReloadPlan {
  /** The config file read, or null when there was none. */
  readonly confFile: string | null;
  /** Changes that were due but failed on the running node (e.g. an addnode the manager refused). */
  readonly errors: readonly string[];
}

export function parseEndpoint(text: string, defaultPort: number): Endpoint {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+))(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not HOST:PORT`);
  return { host: m[1] ?? m[2], port: m[3] === undefined ? defaultPort : Number(m[3]) };
}

export async function startNode(options: NodeOptions = {}): Promise<NodeHandle> {
  const {
    readConfFile,
    cli,
    logger,
    tickMs,
    addrFlushMs,
    dnsResolver,
    dnsDelayMs,
    services,
    maxReceiveBuffer,
    maxSendBuffer,
    sendStallMs,
    rpcMaxBody,
    rpcAuthFailDelayMs,
    setLogLevel,
    pruneTargetBytes,
    chain: chainOptions,
    uploadTargetBytes,
    inspectIntervalMs,
    automaticOutbound,
    fixedSeedsOverride,
    datadirLock,
    ...overrides
  } = options;
  const startedAtMs = Date.now();
  const { settings } = resolveSettings({ overrides, ...(cli ? { cli } : {}), readConfFile: readConfFile ?? false });
  const params = networkParams(settings.network);
  const log = logger ?? rootLogger();
  const datadir = networkDatadir(settings.datadir, settings.network);
  // Before anything in the directory is touched: a second node on it stops here (Core's .lock).
  if (datadirLock !== undefined && (!datadirLock.held || resolve(datadirLock.dir) !== resolve(datadir))) {
    throw new Error(`the datadir lock given is ${datadirLock.held ? `for ${datadirLock.dir}` : 'released'}, not held for ${datadir}`);
  }
  const lock = datadirLock ?? lockDatadir(datadir);
  try {
    const node = await buildNode();
    node.exited.then(
      () => lock.release(),
      () => lock.release(),
    );
    return node;
  } catch (err) {
    lock.release();
    throw err;
  }

  // The rest runs with the directory locked.
  async function buildNode(): Promise<NodeHandle> {

    if (settings.prune > 0 && settings.prune < 550 && pruneTargetBytes === undefined)
      throw new ConfigError(cli?.get('prune') ? '--prune' : 'prune', `Prune configured below the minimum of 550 MiB (${settings.prune}). Please use a higher number.`);
    const pruneTarget = pruneTargetBytes ?? settings.prune * 1024 * 1024;
    const ourServices = services ?? (pruneTarget > 0 ? NODE_NETWORK_LIMITED : NODE_NETWORK) | NODE_WITNESS;
    const peerSettings: PeerSettings = {
      ourServices,
      userAgent: USER_AGENT,
      handshakeTimeoutMs: settings.peertimeout * 1000,
      pingIntervalMs: settings.pinginterval * 1000,
      inactivityTimeoutMs: settings.inactivitytimeout * 1000,
      nonceKey: makeNonceKey(),
    };
    const binds: BindSpec[] = settings.listen
      ? (settings.bind.length > 0 ? settings.bind : [`0.0.0.0:${params.defaultPort}`]).map((b) => parseBind(b, params.defaultPort))
      : [];
    // Services set at runtime per listener (setlistenerservices), over the bind's own.
    const servicesSet = new Map<number, bigint>();
    const bindNow = (i: number): BindSpec => {
      const set = servicesSet.get(i);
      return set === undefined ? binds[i] : { ...binds[i], services: set };
    };
    const events = new EventEmitter<ConnmanEvents>();
    // Owned here, not by the connection manager, so that it outlives a manager restart (peers keep the same object).
    const throttle = netThrottle({
      maxRecvRate: settings.maxrecvrate,
      maxSendRate: settings.maxsendrate,
      peerMaxRecvRate: settings.peermaxrecvrate,
      peerMaxSendRate: settings.peermaxsendrate,
    });
    const runtime = new Runtime({ name: `peerd-${settings.network}-${randomBytes(4).toString('hex')}`, logger: log });

    const peersSpec = peersSupervisor(peerActor, {
      maxChildren: settings.maxconnections + 16,
      childName: (args: PeerArgs) => peerChildName(args.id),
    });
    const peersRef = (): Ref<DynMsg<PeerArgs, PeerMsg>> => {
      const r = runtime.lookup(PEERS);
      if (!r) throw new Error('the peers supervisor is not running');
      return r;
    };
    const connmanRef = (): Ref<ConnmanMsg> => {
      const r = runtime.lookup(CONNMAN);
      if (!r) throw new Error('the connection manager is not running');
      return r;
    };
    // A ref is a path: once the book has started, this one reaches every later incarnation.
    let bookRef: Ref<AddressBookMsg> | undefined;
    const addressbookRef = (): Ref<AddressBookMsg> | undefined => (bookRef ??= runtime.lookup(ADDRESSBOOK));
    const storeSpec = worker(storeActor, { dir: datadir }, { id: 'store', restart: 'permanent', shutdown: 10_000 });
    // Network groups, one rule for the address book and the connection manager (Core's node.netgroupman).
    // Core's groups without an asmap; an -asmap option would build `new NetGroupManager(asmap)` here.
    const netgroups = NO_ASMAP;
    const addressbookSpec = worker(
      addressBookActor,
      {
        netgroups,
        defaultPort: params.defaultPort,
        dnsSeeds: params.dnsSeeds,
        fixedSeeds: fixedSeedsOverride ?? params.fixedSeeds ?? loadFixedSeeds(params.name),
        dnsseed: settings.dnsseed,
        // Core: -connect never reaches the fixed seeds; -addnode/-seednode make them wait 60 s.
        fixedseeds: settings.fixedseeds && settings.connect.length === 0,
        manualPeers: settings.addnode.length + settings.seednode.length > 0,
        startedAtMs,
        // Regtest nodes live on 127.0.0.1: keep loopback addresses there (Core drops them elsewhere).
        allowLocal: settings.network === 'regtest',
        flushMs: addrFlushMs ?? DEFAULT_FLUSH_MS,
        ...(dnsResolver ? { resolver: dnsResolver } : {}),
        ...(dnsDelayMs !== undefined ? { dnsDelayMs } : {}),
      },
      { id: 'addressbook', restart: 'permanent', shutdown: 10_000 },
    );
    // The daily upload budget (owned here, like the throttle, so that it outlives actor restarts).
    const upload = uploadTarget(uploadTargetBytes ?? settings.maxuploadtarget * 1024 * 1024);
    let chainRefCache: Ref<ChainMsg> | undefined;
    const chainRef = (): Ref<ChainMsg> | undefined => (chainRefCache ??= runtime.lookup(CHAIN));
    const chainSpec = worker(
      chainActor,
      {
        params,
        dir: datadir,
        pruneTarget,
        blocksXor: settings.blocksxor,
        // --reindex: the first start of the block actor rebuilds the index; its restarts do not.
        reindex: { pending: settings.reindex },
        ...chainOptions,
        serveHistorical: () => uploadStatus(upload, throttle.totalSent, Date.now()).serve_historical_blocks,
      },
      { id: 'chain', restart: 'permanent', shutdown: 10_000 },
    );
    const connect = settings.connect.map((e) => parseEndpoint(e, params.defaultPort));
    // The addnode list, kept here so that it outlives a restart of the connection manager.
    let addedNodes: Endpoint[] = settings.addnode.map((e) => parseEndpoint(e, params.defaultPort));
    const connmanSpec = worker(
      connmanActor,
      {
        config: {
          ...DEFAULT_CONNMAN,
          maxConnections: settings.maxconnections,
          connectTimeoutMs: settings.timeout,
          automaticOutbound: automaticOutbound ?? connect.length === 0,
          listen: settings.listen,
          groupKey: randomBytes(32),
          netgroups,
        },
        connect,
        // A getter: a restarted manager starts from the list as it is now, runtime additions included.
        get addnode() {
          return addedNodes;
        },
        onAddnode: (endpoint: Endpoint, c: 'add' | 'remove') => {
          const key = endpointKey(endpoint);
          addedNodes = c === 'add' ? [...addedNodes.filter((e) => endpointKey(e) !== key), endpoint] : addedNodes.filter((e) => endpointKey(e) !== key);
        },
        seednode: settings.seednode.map((e) => parseEndpoint(e, params.defaultPort)),
        get peers() {
          return peersRef();
        },
        get addressbook() {
          return addressbookRef();
        },
        get chain() {
          return chainRef();
        },
        magic: params.magic,
        defaultPort: params.defaultPort,
        peerSettings,
        events,
        throttle,
        ...(tickMs !== undefined ? { tickMs } : {}),
        ...(maxReceiveBuffer !== undefined ? { maxReceiveBuffer } : {}),
        ...(maxSendBuffer !== undefined ? { maxSendBuffer } : {}),
        ...(sendStallMs !== undefined ? { sendStallMs } : {}),
      },
      { id: 'connman', restart: 'permanent', shutdown: 5000 },
    );
    const listenersSpec =
      binds.length === 0
        ? undefined
        : supervisor('listeners', {
            strategy: 'one_for_one',
            intensity: 5,
            period: 10,
            children: binds.map((_bind, i) =>
              worker(
                listenerActor,
                {
                  // A getter, so that a listener restarted by its supervisor keeps services set at runtime.
                  get bind() {
                    return bindNow(i);
                  },
                  get connman() {
                    return connmanRef();
                  },
                },
                { id: listenerChildName(i), restart: 'permanent', shutdown: 2000 },
              ),
            ),
          });
    // The JSON-RPC server: on for `peerd start` and config files; for the library only when asked (many nodes share a process).
    const rpcOn = overrides.server ?? (cli !== undefined || readConfFile === true ? settings.server : false);
    // Built whether or not the RPC server runs: the inspector calls the same methods through it.
    const controlContext = makeControlContext({
      settings,
      params,
      userAgent: USER_AGENT,
      services: ourServices,
      runtime,
      peers: async () => (await command({ op: 'peers' })).peers ?? [],
      disconnects: async () => (await command({ op: 'disconnects' })).disconnects ?? [],
      addnode: async (endpoint, c) => void (await command({ op: 'addnode', endpoint: parseEndpoint(endpoint, params.defaultPort), command: c })),
      addedNodes: async () => (await command({ op: 'added-nodes' })).addedNodes ?? [],
      disconnect: async (target) => void (await command({ op: 'disconnect', ...target })),
      setNetworkActive: async (active) => void (await command({ op: 'set-network-active', active })),
      pingAll: async () => void (await command({ op: 'ping' })),
      totals: () => {
        const t = netTotals(throttle);
        return {
          recv: t.totalbytesrecv,
          sent: t.totalbytessent,
          limits: { maxrecvrate: t.maxrecvrate, maxsendrate: t.maxsendrate, peermaxrecvrate: t.peermaxrecvrate, peermaxsendrate: t.peermaxsendrate },
          upload: uploadStatus(upload, t.totalbytessent, Date.now()),
        };
      },
      setNetLimit: (recv, send) => setNetLimit(recv, send),
      setPeerLimit: (target, recv, send) => setPeerLimit(target, recv, send),
      listeners: () => listeners(),
      setListenerServices: (target, bits) => setListenerServices(target, bits),
      stop: () => tree.stop(),
    });
    const control = rpcOn
      ? controlSpec(controlContext, datadir, {
          ...(rpcMaxBody !== undefined ? { maxBody: rpcMaxBody } : {}),
          ...(rpcAuthFailDelayMs !== undefined ? { authFailDelayMs: rpcAuthFailDelayMs } : {}),
        })
      : undefined;
    const inspector =
      settings.inspect === ''
        ? undefined
        : inspectorSpec(controlContext, (method, params) => dispatch(controlContext, { id: null, version: '2.0', method, params }), {
            networkDir: datadir,
            rpcOn,
            ...(inspectIntervalMs !== undefined ? { intervalMs: inspectIntervalMs } : {}),
            ...(rpcAuthFailDelayMs !== undefined ? { authFailDelayMs: rpcAuthFailDelayMs } : {}),
          });
    const spec = nodeTreeSpec({
      peers: peersSpec,
      children: {
        ...(control ? { control } : {}),
        store: storeSpec,
        addressbook: addressbookSpec,
        chain: chainSpec,
        connman: connmanSpec,
        ...(listenersSpec ? { listeners: listenersSpec } : {}),
        ...(inspector ? { inspector } : {}),
      },
    });
    const tree = await startTree(spec, runtime);

    const command = async (cmd: ConnmanCommand): Promise<Extract<CommandResult, { ok: true }>> => {
      const r = await ask<ConnmanMsg, CommandResult>(connmanRef(), (replyTo) => ({ type: 'command', cmd, replyTo }), 10_000);
      if (!r.ok) throw new Error(r.error);
      return r;
    };
    tree.exited.then((reason) => log.info({ reason: formatReason(reason) }, 'peerd stopped'));
    async function setNetLimit(recv: number, send: number): Promise<void> {
      await command({ op: 'set-net-limit', recv: checkRate(recv, 'recv'), send: checkRate(send, 'send') });
    }
    async function setPeerLimit(target: number | string, recv: number, send: number): Promise<void> {
      const limits = { recv: checkRate(recv, 'recv'), send: checkRate(send, 'send') };
      const which = target === 'all' ? { all: true } : typeof target === 'number' ? { id: target } : /^\d+$/.test(target) ? { id: Number(target) } : { address: target };
      await command({ op: 'set-peer-limit', ...which, ...limits });
    }

    async function listenerInfo(i: number): Promise<ListenerInfo | null> {
      const ref = runtime.lookup(listenerName(i));
      if (!ref) return null;
      // Asked through its mailbox, so that a set-services sent before has been handled.
      const a = await ask<ListenerMsg, { host: string; port: number }>(ref, (replyTo) => ({ type: 'address', replyTo }), 5000);
      const summary = runtime.info(listenerName(i).path)?.summary;
      const accepted = typeof summary === 'object' && summary !== null && 'accepted' in summary ? Number((summary as { accepted: unknown }).accepted) : 0;
      const host = a.host.includes(':') ? `[${a.host}]` : a.host;
      return { index: i, address: `${host}:${a.port}`, services: bindNow(i).services ?? ourServices, accepted };
    }
    async function listeners(): Promise<ListenerInfo[]> {
      const out: ListenerInfo[] = [];
      for (let i = 0; i < binds.length; i++) {
        const l = await listenerInfo(i);
        if (l) out.push(l);
      }
      return out;
    }
    async function setListenerServices(target: number | string, bits: bigint): Promise<ListenerInfo> {
      if (bits < 0n || bits >= 1n << 64n) throw new RangeError('services must fit in 64 bits');
      const all = await listeners();
      const t = typeof target === 'string' ? target.trim() : target;
      const found = all.find((l) => (typeof t === 'number' ? l.index === t : /^\d+$/.test(t) ? l.index === Number(t) : l.address === t));
      if (!found) throw new Error(`Listener not found: ${String(target)}`);
      servicesSet.set(found.index, bits);
      const ref = runtime.lookup(listenerName(found.index));
      if (ref) tell(ref, { type: 'set-services', services: bits });
      return (await listenerInfo(found.index)) ?? { ...found, services: bits };
    }

    // One reload at a time: a second SIGHUP waits for the first to finish.
    let reloading: Promise<unknown> = Promise.resolve();
    async function reloadOnce(): Promise<ReloadResult> {
      const { settings: next, confFile } = resolveSettings({ overrides, ...(cli ? { cli } : {}), readConfFile: readConfFile ?? false });
      let level: LevelSpec;
      try {
        level = parseLevelSpec(next['log-level']);
      } catch (err) {
        throw new ConfigError('log-level', err instanceof Error ? err.message : String(err));
      }
      const plan = diffSettings(settings, next);
      const errors: string[] = [];
      const changed = new Set(plan.apply.map((c) => c.name));
      if (changed.has('log-level')) {
        if (setLogLevel) setLogLevel(level);
        else log.level = level.base;
      }
      if (changed.has('maxrecvrate') || changed.has('maxsendrate')) await setNetLimit(next.maxrecvrate, next.maxsendrate);
      if (changed.has('peermaxrecvrate') || changed.has('peermaxsendrate')) await setPeerLimit('all', next.peermaxrecvrate, next.peermaxsendrate);
      if (changed.has('addnode')) {
        const { add, remove } = addnodeDelta(settings.addnode, next.addnode);
        for (const [list, c] of [
          [remove, 'remove'],
          [add, 'add'],
        ] as const) {
          for (const e of list) {
            try {
              await command({ op: 'addnode', endpoint: parseEndpoint(e, params.defaultPort), command: c });
            } catch (err) {
              errors.push(`addnode ${c} ${e}: ${err instanceof Error ? err.message : String(err)}`);
            }
          }
        }
      }
      // The settings in force now: the next reload diffs against them (restart-only ones keep their old value).
      const target = settings as unknown as Record<string, unknown>;
      for (const c of plan.apply) target[c.name] = Array.isArray(c.to) ? [...c.to] : c.to;
      return { ...plan, confFile, errors };
    }

    const handle: NodeHandle = {
      settings,
      params,
      reload() {
        const p = reloading.then(reloadOnce, reloadOnce);
        reloading = p.catch(() => undefined);
        return p;
      },
      runtime,
      tree,
      events,
      exited: tree.exited,
      async listening() {
        const out: { host: string; port: number }[] = [];
        for (let i = 0; i < binds.length; i++) {
          const ref = runtime.lookup(listenerName(i));
          if (ref) out.push(await ask<ListenerMsg, { host: string; port: number }>(ref, (replyTo) => ({ type: 'address', replyTo }), 5000));
        }
        return out;
      },
      peers: async () => (await command({ op: 'peers' })).peers ?? [],
      disconnects: async () => (await command({ op: 'disconnects' })).disconnects ?? [],
      addnode: async (endpoint, c) => void (await command({ op: 'addnode', endpoint: parseEndpoint(endpoint, params.defaultPort), command: c })),
      disconnect: async (target) => void (await command({ op: 'disconnect', ...target })),
      setNetworkActive: async (active) => void (await command({ op: 'set-network-active', active })),
      pingAll: async () => void (await command({ op: 'ping' })),
      rpcAddress: () => rpcAddressOf(runtime),
      setNetLimit,
      setPeerLimit,
      listeners,
      setListenerServices,
      netTotals: () => netTotals(throttle),
      addressbook: () => {
        const r = addressbookRef();
        if (!r) throw new Error('the address book is not running');
        return r;
      },
      async chainCall(method, args = []) {
        const ref = chainRef();
        if (!ref) throw new Error('the block actor is not running');
        const r = await ask<ChainMsg, ChainRpcReply>(ref, (replyTo) => ({ type: 'rpc', method, args, replyTo }), 30_000);
        if (!r.ok) throw new Error(r.message);
        return r.result;
      },
      actors: (p) => tree.list(p),
      actorTree: () => tree.tree(),
      kill: (path, mode) => tree.kill(path, mode),
      stop: () => tree.stop(),
      inspectAddress: () => inspectAddressOf(runtime),
    };
    // The addresses really bound (port 0 resolved), and how to stop.
    const hostPort = (a: { host: string; port: number }): string => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
    const bound = await handle.listening().catch(() => []);
    const rpc = await handle.rpcAddress().catch(() => null);
    log.info(
      {
        network: settings.network,
        datadir,
        listen: bound.map(hostPort),
        rpc: rpc ? hostPort(rpc) : null,
        stop: 'Ctrl-C or SIGTERM, or `peerd rpc stop` with the same --network/--datadir',
      },
      'peerd started',
    );
    return handle;
  }
}
