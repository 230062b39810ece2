/**
 * `startNode(options)`: the composition root. It resolves the settings, creates the state that
 * outlives actor restarts (`NodeState`), fills each slot of the supervision tree with the child
 * spec its actor's folder builds (`<actor>/spec.ts`), starts the tree and returns the handle, which
 * is also the RPC context. `peerd start` is a thin layer over this; tests and the simulation run
 * many nodes in one process with it.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { Runtime, ask, startTree, formatReason, type Ref, type TreeHandle, type ExitReason, type Scheduler, realScheduler } from '../supervisors/index.js';
import { nodeTreeSpec } from './tree.js';
import { resolveSettings, networkDatadir, ConfigError, type RawValues } from './config/load.js';
import { addnodeDelta, diffSettings, type ReloadPlan } from './config/reload.js';
import type { Settings } from './config/options.js';
import { networkParams, type NetworkParams } from './wire/network.js';
import { NODE_NETWORK, NODE_NETWORK_LIMITED, NODE_P2P_V2, NODE_WITNESS } from './wire/constants.js';
import { rootLogger, parseLevelSpec, type LevelSpec } from './log.js';
import { makeNonceKey } from './peer/nonce.js';
import { peersSpec } from './peer/spec.js';
import { storeSpec } from './store/spec.js';
import { addressbookSpec } from './addressbook/spec.js';
import type { Resolver } from './addressbook/actor.js';
import { chainSpec, type ChainTuning } from './chain/spec.js';
import { connmanCommands, connmanSpec, listenerQueries, listenersSpec } from './connman/spec.js';
import { parseBind, type BindSpec } from './connman/listener.js';
import { controlSpec, rpcAddressOf, runtimeQueries } from './control/spec.js';
import { dispatch } from './control/methods.js';
import { inspectorSpec, inspectAddressOf } from './inspect/spec.js';
import { CHAIN, type ChainMsg, type ChainRpcMethod, type ChainRpcReply } from './contracts/chain.js';
import { ADDRESSBOOK, type AddressBookMsg } from './contracts/addressbook.js';
import type { ConnmanEvents } from './contracts/connman.js';
import { endpointKey, parseEndpoint, type AddedNode } from './contracts/connection.js';
import type { ControlContext } from './contracts/control.js';
import type { InspectAddress } from './contracts/inspector.js';
import type { Json } from './rpc/protocol.js';
import { lockDatadir, type DatadirLock } from './util/datadir-lock.js';
import { NO_ASMAP } from './netaddress/netgroup.js';
import { netThrottle, netTotals, type NetThrottle, type NetTotals } from './throttle/throttle.js';
import { uploadStatus, uploadTarget, type UploadTarget } from './throttle/upload-target.js';

export { parseEndpoint };

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
  readonly chain?: ChainTuning;
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
  /**
   * The runtime's clock and timers (default the real ones). Tests pass a `ManualScheduler` to move
   * every actor's timers and `ctx.now()` themselves instead of sleeping; sockets stay real.
   */
  readonly scheduler?: Scheduler;
};

/** The running node. It is the RPC context (every method the RPC server and the inspector call), plus what a library user adds. */
export interface NodeHandle extends ControlContext {
  readonly runtime: Runtime;
  readonly tree: TreeHandle;
  readonly events: EventEmitter<ConnmanEvents>;
  /** Addresses the listeners are bound to (port 0 resolved to the real port). */
  listening(): Promise<{ host: string; port: number }[]>;
  /** The JSON-RPC server's address (rpcport 0 resolved), or null when it is off. */
  rpcAddress(): Promise<{ host: string; port: number } | null>;
  /** Bytes received and sent since start, and the limits in force (getnettotals). */
  netTotals(): NetTotals;
  /** The address book (`/root/addressbook`): bans, getnodeaddresses, getaddrmaninfo, flush. */
  addressbook(): Ref<AddressBookMsg>;
  /** Runs a chain method (getblockchaininfo, getblockcount, getblock, …) in the block actor; rejects with Core's message on an error. */
  chainCall(method: ChainRpcMethod, args?: readonly Json[]): Promise<Json>;
  /**
   * Re-reads the settings (config file, then the same command-line values and overrides, which
   * win) and applies the ones that can change at runtime: log-level, the node and per-peer rate
   * limits, addnode. Changed settings that need a restart are only reported. A bad config
   * throws a ConfigError (file and line) and changes nothing.
   */
  reload(): Promise<ReloadResult>;
  /** Resolves when the root supervisor exits (after stop(), or after an escalation past its limit). */
  readonly exited: Promise<ExitReason>;
  /** Stops the node: resolves when the tree has stopped. */
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

/**
 * What must outlive actor restarts, created once per node and handed to the child specs. An
 * actor keeps nothing else across a restart but what it reloads from the store.
 */
export interface NodeState {
  /** Node-wide byte counters and rate limits: every peer uses it, a restarted manager hands the same one to new peers. */
  readonly throttle: NetThrottle;
  /** The daily upload budget (-maxuploadtarget): the block actor asks it before serving old blocks; getnettotals reports it. */
  readonly upload: UploadTarget;
  /** The addnode list, runtime additions and removals included (with their v2transport): a restarted manager starts from it. */
  addnode: AddedNode[];
  /** Services set at runtime per listener (setlistenerservices), over the bind's own: a restarted listener keeps them. */
  readonly listenerServices: Map<number, bigint>;
  /** --reindex: pending until the first start of the block actor has rebuilt the index (its restarts do not redo it). */
  readonly reindex: { pending: boolean };
  /** Peer events for library users; the manager emits them. */
  readonly events: EventEmitter<ConnmanEvents>;
}

function nodeState(settings: Settings, params: NetworkParams, clock: Scheduler, uploadTargetBytes?: number): NodeState {
  return {
    // The token buckets run on the runtime's monotonic clock (a test's manual clock moves them too).
    throttle: netThrottle(
      { maxRecvRate: settings.maxrecvrate, maxSendRate: settings.maxsendrate, peerMaxRecvRate: settings.peermaxrecvrate, peerMaxSendRate: settings.peermaxsendrate },
      () => clock.now(),
    ),
    upload: uploadTarget(uploadTargetBytes ?? settings.maxuploadtarget * 1024 * 1024),
    addnode: settings.addnode.map((e) => parseEndpoint(e, params.defaultPort)),
    listenerServices: new Map(),
    reindex: { pending: settings.reindex },
    events: new EventEmitter<ConnmanEvents>(),
  };
}

export async function startNode(options: NodeOptions = {}): Promise<NodeHandle> {
  // What is not a setting tunes the node (tests, the CLI); the settings given override the config file's.
  const { readConfFile, cli, logger, tickMs, addrFlushMs, dnsResolver, dnsDelayMs, services, maxReceiveBuffer, maxSendBuffer, sendStallMs, rpcMaxBody, rpcAuthFailDelayMs,
    setLogLevel, pruneTargetBytes, chain, uploadTargetBytes, inspectIntervalMs, automaticOutbound, fixedSeedsOverride, datadirLock, scheduler, ...overrides } = options;
  const startedAt = (scheduler ?? realScheduler).wallNow();
  const readSettings = () => resolveSettings({ overrides, ...(cli ? { cli } : {}), readConfFile: readConfFile ?? false });
  const { settings } = readSettings();
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
    // NODE_P2P_V2 with --v2transport (Core v30 sets it by default), on the default services and on those a test gives.
    const ourServices = (services ?? (pruneTarget > 0 ? NODE_NETWORK_LIMITED : NODE_NETWORK) | NODE_WITNESS) | (settings.v2transport ? NODE_P2P_V2 : 0n);
    const binds: BindSpec[] = settings.listen
      ? (settings.bind.length > 0 ? settings.bind : [`0.0.0.0:${params.defaultPort}`]).map((b) => parseBind(b, params.defaultPort))
      : [];
    const state = nodeState(settings, params, scheduler ?? realScheduler, uploadTargetBytes);
    const runtime = new Runtime({ name: `peerd-${settings.network}-${randomBytes(4).toString('hex')}`, logger: log, ...(scheduler ? { scheduler } : {}) });

    const handle: NodeHandle = {
      settings,
      params,
      userAgent: USER_AGENT,
      services: ourServices,
      startedAt,
      runtime,
      events: state.events,
      get tree() {
        return tree;
      },
      get exited() {
        return tree.exited;
      },
      ...runtimeQueries(runtime),
      ...connmanCommands(runtime, params.defaultPort),
      ...listenerQueries(runtime, binds, state.listenerServices, ourServices),
      totals: async () => totalsOf(state),
      netTotals: () => netTotals(state.throttle),
      rpcAddress: () => rpcAddressOf(runtime),
      inspectAddress: () => inspectAddressOf(runtime),
      addressbook: () => running(runtime.lookup(ADDRESSBOOK), 'the address book'),
      chainCall: async (method, args = []) => chainCall(running(runtime.lookup(CHAIN), 'the block actor'), method, args),
      reload: serialised(() => reload(handle, readSettings, (level) => (setLogLevel ? setLogLevel(level) : (log.level = level.base)))),
      stop: () => tree.stop(),
    };

    // The JSON-RPC server: on for `peerd start` and config files; for the library only when asked (many nodes share a process).
    const rpcOn = overrides.server ?? (cli !== undefined || readConfFile === true ? settings.server : false);
    const spec = nodeTreeSpec({
      peers: peersSpec(settings),
      children: {
        store: storeSpec(datadir),
        addressbook: addressbookSpec(settings, params, {
          startedAtMs: startedAt,
          // Network groups, one rule for the address book and the connection manager (Core's node.netgroupman);
          // an -asmap option would build `new NetGroupManager(asmap)` here.
          netgroups: NO_ASMAP,
          ...(addrFlushMs !== undefined ? { flushMs: addrFlushMs } : {}),
          ...(dnsResolver ? { resolver: dnsResolver } : {}),
          ...(dnsDelayMs !== undefined ? { dnsDelayMs } : {}),
          ...(fixedSeedsOverride ? { fixedSeeds: fixedSeedsOverride } : {}),
        }),
        chain: chainSpec(settings, params, { dir: datadir, pruneTarget, ...(chain ? { tuning: chain } : {}) }, state),
        connman: connmanSpec(settings, params, runtime, state, {
          peerSettings: {
            ourServices,
            userAgent: USER_AGENT,
            handshakeTimeoutMs: settings.peertimeout * 1000,
            pingIntervalMs: settings.pinginterval * 1000,
            inactivityTimeoutMs: settings.inactivitytimeout * 1000,
            nonceKey: makeNonceKey(),
            v2transport: settings.v2transport,
          },
          netgroups: NO_ASMAP,
          automaticOutbound, tickMs, maxReceiveBuffer, maxSendBuffer, sendStallMs,
        }),
        listeners: listenersSpec(runtime, binds, state.listenerServices),
        control: rpcOn ? controlSpec(handle, datadir, { maxBody: rpcMaxBody, authFailDelayMs: rpcAuthFailDelayMs }) : undefined,
        inspector:
          settings.inspect === ''
            ? undefined
            : inspectorSpec(handle, (method, params) => dispatch(handle, { id: null, version: '2.0', method, params }), {
                networkDir: datadir,
                rpcOn,
                intervalMs: inspectIntervalMs,
                authFailDelayMs: rpcAuthFailDelayMs,
              }),
      },
    });
    const tree = await startTree(spec, runtime);
    tree.exited.then((reason) => log.info({ reason: formatReason(reason) }, 'peerd stopped'));

    // The addresses really bound (port 0 resolved), and how to stop.
    const bound = await handle.listening().catch(() => []);
    const rpc = await handle.rpcAddress().catch(() => null);
    const stop = 'Ctrl-C or SIGTERM, or `peerd rpc stop` with the same --network/--datadir';
    log.info({ network: settings.network, datadir, listen: bound.map(endpointKey), rpc: rpc ? endpointKey(rpc) : null, stop }, 'peerd started');
    return handle;
  }
}

function running<M>(ref: Ref<M> | undefined, what: string): Ref<M> {
  if (!ref) throw new Error(`${what} is not running`);
  return ref;
}

async function chainCall(ref: Ref<ChainMsg>, method: ChainRpcMethod, args: readonly Json[]): Promise<Json> {
  const r = await ask<ChainMsg, ChainRpcReply>(ref, (replyTo) => ({ type: 'rpc', method, args, replyTo }), 30_000);
  if (!r.ok) throw new Error(r.message);
  return r.result;
}

/** getnettotals: the throttle's counters and limits, and the upload budget. */
function totalsOf(state: NodeState): Awaited<ReturnType<ControlContext['totals']>> {
  const t = netTotals(state.throttle);
  return {
    recv: t.totalbytesrecv,
    sent: t.totalbytessent,
    limits: { maxrecvrate: t.maxrecvrate, maxsendrate: t.maxsendrate, peermaxrecvrate: t.peermaxrecvrate, peermaxsendrate: t.peermaxsendrate },
    upload: uploadStatus(state.upload, t.totalbytessent, Date.now()),
  };
}

/** One call at a time: a second one (a second SIGHUP) waits for the first to finish. */
function serialised<T>(run: () => Promise<T>): () => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return () => {
    const p = last.then(run, run);
    last = p.catch(() => undefined);
    return p;
  };
}

/** Sets `name` in `to` to its value in `from`, typed. */
function copySetting<K extends keyof Settings>(to: Settings, from: Settings, name: K): void {
  to[name] = from[name];
}

/** The reload: re-read the settings, apply what can change at runtime, report the rest. */
async function reload(node: NodeHandle, read: () => ReturnType<typeof resolveSettings>, setLevel: (level: LevelSpec) => void): Promise<ReloadResult> {
  const { settings: next, confFile } = read();
  let level: LevelSpec;
  try {
    level = parseLevelSpec(next['log-level']);
  } catch (err) {
    throw new ConfigError('log-level', err instanceof Error ? err.message : String(err));
  }
  const plan = diffSettings(node.settings, next);
  const errors: string[] = [];
  const changed = new Set(plan.apply.map((c) => c.name));
  if (changed.has('log-level')) setLevel(level);
  if (changed.has('maxrecvrate') || changed.has('maxsendrate')) await node.setNetLimit(next.maxrecvrate, next.maxsendrate);
  if (changed.has('peermaxrecvrate') || changed.has('peermaxsendrate')) await node.setPeerLimit('all', next.peermaxrecvrate, next.peermaxsendrate);
  if (changed.has('addnode')) {
    const { add, remove } = addnodeDelta(node.settings.addnode, next.addnode);
    for (const [list, c] of [
      [remove, 'remove'],
      [add, 'add'],
    ] as const) {
      for (const e of list) {
        try {
          await node.addnode(e, c);
        } catch (err) {
          errors.push(`addnode ${c} ${e}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
  }
  // The settings in force now: the next reload diffs against them (restart-only ones keep their old value).
  for (const c of plan.apply) copySetting(node.settings, next, c.name);
  return { ...plan, confFile, errors };
}
