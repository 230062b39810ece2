/**
 * The RPC method table, as data: name → { category, description, params, handler }. Handlers
 * are small functions over a {@link ControlContext}; `dispatch` checks the parameters as Core's
 * RPCHelpMan does (positional or named, count, types) before calling them.
 */
import { RPC, RpcError, toJson, type Json, type JsonObject, type ParsedRequest } from '../rpc/protocol.js';
import { ADDRESSBOOK, type AddressBookQuery, type AddrmanInfo, type BanEntryJson, type BanReply, type NodeAddressJson, type PeerAddrCounts } from '../contracts/addressbook.js';
import type { ListenerInfo, ControlContext } from '../contracts/control.js';
import { parseIpSubnet, subnetHas } from '../util/subnet.js';
import { netKind } from '../netaddress/netaddress.js';
import { NODE_P2P_V2, PROTOCOL_VERSION, knownServiceNames } from '../wire/constants.js';
import { PEERS, peerName, type PeerInfo } from '../contracts/peer.js';
import type { KillMode, Ref, TreeNode } from '../../supervisors/index.js';
import type { ChainRpcMethod, ChainRpcReply } from '../contracts/chain.js';
import { resourceReport } from '../util/resources.js';

export type ParamType = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'any';

export interface ParamSpec {
  readonly name: string;
  readonly type: ParamType;
  readonly optional?: boolean;
  readonly description: string;
}

export interface MethodDef {
  readonly category: 'Blockchain' | 'Network' | 'Control' | 'peerd';
  readonly description: string;
  readonly params: readonly ParamSpec[];
  /** One line on what comes back, for help. */
  readonly result: string;
  /** Positional arguments after checking (missing optional ones are undefined). */
  readonly handler: (ctx: ControlContext, args: readonly (Json | undefined)[]) => Promise<Json> | Json;
}

const DEFAULT_BAN_S = 24 * 3600;
const NETWORKS = ['ipv4', 'ipv6', 'onion', 'i2p', 'cjdns'] as const;
const KILL_MODES: readonly KillMode[] = ['kill', 'crash', 'socket', 'stall'];
/** The longest `killactor … stall` (a stalled actor blocks its whole mailbox). */
const MAX_STALL_MS = 60_000;

/**
 * getnetworkinfo's `version`: the Bitcoin Core RPC level peerd answers as, in Core's
 * CLIENT_VERSION form (major*10000 + minor*100 + patch): v30.0. Core's tools gate on it
 * (`bitcoin-cli -netinfo` needs 209900 or more); peerd's own version is in `subversion`.
 */
export const CLIENT_VERSION = 300000;

function hex16(bits: bigint): string {
  return bits.toString(16).padStart(16, '0');
}

/**
 * Core's getpeerinfo object for one peer (every field of v30; peerd's own extras at the end).
 * `addr`: the address book's counts for it (zeros when the book did not answer).
 */
export function corePeerInfo(p: PeerInfo, addr?: PeerAddrCounts): JsonObject {
  const services = p.services !== null ? BigInt(`0x${p.services}`) : p.servicesBits;
  const o: JsonObject = {
    id: p.id,
    addr: p.addr,
    network: netKind(p.endpoint.host),
    services: hex16(services),
    servicesnames: knownServiceNames(services),
    relaytxes: p.relayTxs,
    lastsend: p.lastsend,
    lastrecv: p.lastrecv,
    last_transaction: 0,
    last_block: 0,
    bytessent: p.bytessent,
    bytesrecv: p.bytesrecv,
    conntime: p.conntime,
    timeoffset: 0,
  };
  if (p.pingtime !== null) o.pingtime = p.pingtime;
  if (p.minping !== null) o.minping = p.minping;
  if (p.pingwait !== null && p.pingwait > 0) o.pingwait = p.pingwait;
  Object.assign(o, {
    version: p.version ?? 0,
    subver: p.subver ?? '',
    inbound: p.inbound,
    bip152_hb_to: false,
    bip152_hb_from: false,
    startingheight: p.startingHeight ?? -1,
    presynced_headers: -1,
    synced_headers: -1,
    synced_blocks: -1,
    inflight: [],
    addr_relay_enabled: p.connType !== 'block-relay-only' && p.connType !== 'feeler',
    addr_processed: addr?.addrProcessed ?? 0,
    addr_rate_limited: addr?.addrRateLimited ?? 0,
    permissions: [],
    minfeefilter: 0,
    bytessent_per_msg: toJson(p.bytessentPerMsg),
    bytesrecv_per_msg: toJson(p.bytesrecvPerMsg),
    connection_type: p.connType,
    transport_protocol_type: p.transportType,
    session_id: p.sessionId,
    // peerd's own
    phase: p.phase,
    recv_paused: p.recvPaused,
    send_queued: p.sendQueued,
    recv_limit: p.recvLimit,
    send_limit: p.sendLimit,
    recv_throttled: p.recvThrottled,
    held_bytes: p.heldBytes,
    requests_served: p.requestsServed,
  });
  return o;
}

function listenerJson(l: ListenerInfo): JsonObject {
  return { index: l.index, address: l.address, services: hex16(l.services), servicesnames: knownServiceNames(l.services), accepted: l.accepted };
}

/** Service bits from a JSON number or a decimal / 0x-hex string; 64 bits at most. */
function parseServices(v: Json | undefined): bigint {
  let bits: bigint;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new RpcError(RPC.INVALID_PARAMETER, `Invalid services: ${v} (a whole number ≥ 0)`);
    bits = BigInt(v);
  } else if (typeof v === 'string') {
    const t = v.trim();
    if (!/^(0[xX][0-9a-fA-F]{1,16}|\d{1,20})$/.test(t)) throw new RpcError(RPC.INVALID_PARAMETER, `Invalid services: "${v}" (a number, decimal or 0x hex)`);
    bits = BigInt(t);
  } else {
    throw new RpcError(RPC.TYPE_ERROR, `Expected type number or string for services, got ${typeName(v ?? null)}`);
  }
  if (bits >= 1n << 64n) throw new RpcError(RPC.INVALID_PARAMETER, `Invalid services: ${String(v)} (more than 64 bits)`);
  return bits;
}

function abMissing(kind: 'ban' | 'addr'): RpcError {
  return kind === 'ban'
    ? new RpcError(RPC.DATABASE_ERROR, 'Error: Ban database not loaded')
    : new RpcError(RPC.CLIENT_P2P_DISABLED, 'Error: Address manager functionality missing or disabled');
}

/** Runs a chain method in the block actor and turns its reply into a result or Core's error. */
async function chain(ctx: ControlContext, method: ChainRpcMethod, args: readonly (Json | undefined)[]): Promise<Json> {
  const p = ctx.askChain(method, args);
  if (p === null) throw new RpcError(RPC.IN_WARMUP, 'The block actor is not running (restarting); try again');
  let r: ChainRpcReply;
  try {
    r = await p;
  } catch (err) {
    throw new RpcError(RPC.MISC_ERROR, `The block actor did not answer: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!r.ok) throw new RpcError(r.code, r.message);
  return r.result;
}

/** The tip as the waitfor* methods return it. */
async function tipOf(ctx: ControlContext): Promise<{ hash: string; height: number }> {
  const info = await chain(ctx, 'getblockchaininfo', []);
  if (info === null || typeof info !== 'object' || Array.isArray(info)) throw new RpcError(RPC.MISC_ERROR, 'no chain information');
  return { hash: String(info.bestblockhash), height: Number(info.blocks) };
}

/** How often the waitfor* methods look at the tip, ms. */
export const WAIT_POLL_MS = 50;

/**
 * Core's waitfor* methods: waits until `done(tip)` holds or `timeoutMs` pass (0: no limit), then
 * returns the tip. The tip is read from the block actor every
 * WAIT_POLL_MS, so a request costs one small ask per poll and holds nothing else; when the node
 * stops, the block actor is gone and the wait ends with its error.
 */
async function waitForTip(ctx: ControlContext, timeoutArg: Json | undefined, done: (tip: { hash: string; height: number }) => boolean): Promise<Json> {
  const timeoutMs = timeoutArg === undefined || timeoutArg === null ? 0 : Number(timeoutArg);
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new RpcError(RPC.INVALID_PARAMETER, 'Negative timeout');
  const end = timeoutMs === 0 ? Infinity : Date.now() + timeoutMs;
  for (;;) {
    const tip = await tipOf(ctx);
    if (done(tip) || Date.now() >= end) return tip;
    await new Promise((r) => setTimeout(r, Math.min(WAIT_POLL_MS, Math.max(0, end - Date.now()))));
  }
}

async function ab<R>(ctx: ControlContext, kind: 'ban' | 'addr', make: (replyTo: Ref<R>) => AddressBookQuery): Promise<R> {
  const p = ctx.askAddressBook<R>(make);
  if (p === null) throw abMissing(kind);
  try {
    return await p;
  } catch (err) {
    // The address book died or is gone (noproc): as absent.
    if (err instanceof Error && /noproc|exit|timeout/i.test(err.message)) throw abMissing(kind);
    throw err;
  }
}

/** The address book's per-peer addr counts by id; empty when it is not running or does not answer (getpeerinfo still answers). */
async function addrCounts(ctx: ControlContext): Promise<Map<number, PeerAddrCounts>> {
  const p = ctx.askAddressBook<PeerAddrCounts[]>((replyTo) => ({ type: 'peer-addr-counts', replyTo }));
  if (p === null) return new Map();
  try {
    return new Map((await p).map((c) => [c.id, c]));
  } catch {
    return new Map();
  }
}

function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: Json | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function cmdError(err: unknown, map: Record<string, number>): RpcError {
  const msg = err instanceof Error ? err.message : String(err);
  for (const [needle, code] of Object.entries(map)) if (msg.includes(needle)) return new RpcError(code, msg);
  return new RpcError(RPC.MISC_ERROR, msg);
}

function treeWithout(nodes: readonly TreeNode[], depth: number): Json {
  return nodes.map((n) => {
    const { children, ...rest } = n;
    return { ...(toJson(rest) as JsonObject), children: depth > 0 ? treeWithout(children, depth - 1) : [] };
  });
}

export const METHODS: Readonly<Record<string, MethodDef>> = {
  // ---- Network (Core)
  getpeerinfo: {
    category: 'Network',
    description: 'Returns data about each connected network peer as a json array of objects.',
    params: [],
    result: '[{id, addr, network, services, servicesnames, relaytxes, lastsend, lastrecv, bytessent, bytesrecv, conntime, pingtime, minping, version, subver, inbound, startingheight, bytessent_per_msg, bytesrecv_per_msg, connection_type, …}]',
    handler: async (ctx) => {
      const [peers, counts] = await Promise.all([ctx.peers(), addrCounts(ctx)]);
      return peers.map((p) => corePeerInfo(p, counts.get(p.id)));
    },
  },
  getconnectioncount: {
    category: 'Network',
    description: 'Returns the number of connections to other nodes.',
    params: [],
    result: 'n (numeric)',
    handler: async (ctx) => (await ctx.peers()).length,
  },
  getnetworkinfo: {
    category: 'Network',
    description: 'Returns an object containing various state info regarding P2P networking.',
    params: [],
    result: '{version, subversion, protocolversion, localservices, localservicesnames, localrelay, timeoffset, connections, connections_in, connections_out, networkactive, networks, relayfee, incrementalfee, localaddresses, warnings}',
    handler: async (ctx) => {
      const peers = await ctx.peers();
      const inbound = peers.filter((p) => p.inbound).length;
      return {
        version: CLIENT_VERSION,
        subversion: ctx.userAgent,
        protocolversion: PROTOCOL_VERSION,
        localservices: hex16(ctx.services),
        localservicesnames: knownServiceNames(ctx.services),
        localrelay: false,
        timeoffset: 0,
        networkactive: ctx.networkActive(),
        connections: peers.length,
        connections_in: inbound,
        connections_out: peers.length - inbound,
        networks: NETWORKS.map((name) => {
          const reachable = name === 'ipv4' || name === 'ipv6';
          return { name, limited: !reachable, reachable, proxy: '', proxy_randomize_credentials: false };
        }),
        relayfee: 0.00001,
        incrementalfee: 0.00001,
        localaddresses: [],
        warnings: [],
      };
    },
  },
  getnettotals: {
    category: 'Network',
    description: 'Returns information about network traffic, including bytes in, bytes out, and current system time.',
    params: [],
    result: '{totalbytesrecv, totalbytessent, timemillis, uploadtarget: {timeframe, target, target_reached, serve_historical_blocks, bytes_left_in_cycle, time_left_in_cycle}}',
    handler: async (ctx) => {
      const t = await ctx.totals();
      return {
        totalbytesrecv: t.recv,
        totalbytessent: t.sent,
        timemillis: Date.now(),
        ...(t.limits ? { limits: { ...t.limits } } : {}),
        uploadtarget: t.upload
          ? { ...t.upload }
          : { timeframe: 86400, target: 0, target_reached: false, serve_historical_blocks: true, bytes_left_in_cycle: 0, time_left_in_cycle: 0 },
      };
    },
  },
  setnetlimit: {
    category: 'Network',
    description: 'Sets the node-wide receive and send limits in bytes per second (0 = unlimited), at once and without reconnecting anyone. peerd only.',
    params: [
      { name: 'recv', type: 'number', description: 'Most bytes per second received from all peers together (0 = unlimited)' },
      { name: 'send', type: 'number', description: 'Most bytes per second sent to all peers together (0 = unlimited)' },
    ],
    result: 'null',
    handler: async (ctx, [recv, send]) => {
      try {
        await ctx.setNetLimit(num(recv) ?? -1, num(send) ?? -1);
      } catch (err) {
        throw new RpcError(RPC.INVALID_PARAMETER, err instanceof Error ? err.message : String(err));
      }
      return null;
    },
  },
  setpeerlimit: {
    category: 'Network',
    description: "Sets one peer's receive and send limits in bytes per second (0 = unlimited) without reconnecting it; 'all' sets every peer and the default for new ones. peerd only.",
    params: [
      { name: 'peer', type: 'string', description: "The peer's id (see getpeerinfo), its address HOST:PORT, or 'all'" },
      { name: 'recv', type: 'number', description: 'Most bytes per second received from it (0 = unlimited)' },
      { name: 'send', type: 'number', description: 'Most bytes per second sent to it (0 = unlimited)' },
    ],
    result: 'null',
    handler: async (ctx, [peer, recv, send]) => {
      const target = typeof peer === 'number' ? peer : (str(peer) ?? '');
      try {
        await ctx.setPeerLimit(target, num(recv) ?? -1, num(send) ?? -1);
      } catch (err) {
        if (err instanceof RangeError) throw new RpcError(RPC.INVALID_PARAMETER, err.message);
        throw new RpcError(RPC.CLIENT_NODE_NOT_CONNECTED, 'Node not found in connected nodes');
      }
      return null;
    },
  },
  getlisteners: {
    category: 'peerd',
    description: 'Every listener, in bind order: its address, the service bits it advertises to peers accepted there, and how many connections it accepted. peerd only.',
    params: [],
    result: '[{index, address, services, servicesnames, accepted}]',
    handler: async (ctx) => (await ctx.listeners()).map(listenerJson),
  },
  setlistenerservices: {
    category: 'peerd',
    description:
      'Changes the service bits one listener advertises in the version message to peers that connect to it from now on (e.g. NODE_NETWORK once the whole chain is stored). Peers already connected keep what they were told. peerd only.',
    params: [
      { name: 'listener', type: 'any', description: 'The listener: its index (see getlisteners) or its bound address HOST:PORT' },
      { name: 'services', type: 'any', description: 'The service bits: a number, or a string in decimal or 0x hex (e.g. "0x409")' },
    ],
    result: '{index, address, services, servicesnames, accepted}',
    handler: async (ctx, [listener, services]) => {
      if (typeof listener !== 'number' && typeof listener !== 'string') throw new RpcError(RPC.TYPE_ERROR, `Expected type number or string for listener, got ${typeName(listener ?? null)}`);
      if (typeof listener === 'number' && (!Number.isInteger(listener) || listener < 0)) throw new RpcError(RPC.INVALID_PARAMETER, `Listener not found: ${listener}`);
      const bits = parseServices(services);
      try {
        return listenerJson(await ctx.setListenerServices(listener, bits));
      } catch (err) {
        throw new RpcError(RPC.INVALID_PARAMETER, err instanceof Error ? err.message : String(err));
      }
    },
  },
  ping: {
    category: 'Network',
    description: 'Requests that a ping be sent to all other nodes, to measure ping time. Results are in getpeerinfo (pingtime, pingwait).',
    params: [],
    result: 'null',
    handler: async (ctx) => {
      await ctx.pingAll();
      return null;
    },
  },
  addnode: {
    category: 'Network',
    description: "Attempts to add or remove a node from the addnode list, or try a connection to a node once ('onetry').",
    params: [
      { name: 'node', type: 'string', description: 'The address of the peer to connect to' },
      { name: 'command', type: 'string', description: "'add' to add a node to the list, 'remove' to remove a node from the list, 'onetry' to try a connection to the node once" },
      { name: 'v2transport', type: 'boolean', optional: true, description: "Attempt to connect using BIP324 v2 transport protocol (ignored for 'remove' command); default: set by -v2transport" },
    ],
    result: 'null',
    handler: async (ctx, [node, command, v2]) => {
      const c = str(command);
      if (c !== 'add' && c !== 'remove' && c !== 'onetry') throw new RpcError(RPC.MISC_ERROR, helpText('addnode'));
      // Core: the default is the node's -v2transport (NODE_P2P_V2 among our services); v2 asked for while it is off is an error.
      const nodeV2 = (ctx.services & NODE_P2P_V2) !== 0n;
      const useV2 = typeof v2 === 'boolean' ? v2 : nodeV2;
      if (useV2 && !nodeV2) throw new RpcError(RPC.INVALID_PARAMETER, 'Error: v2transport requested but not enabled (see -v2transport)');
      try {
        await ctx.addnode(str(node) ?? '', c, useV2);
      } catch (err) {
        throw cmdError(err, { 'already added': RPC.CLIENT_NODE_ALREADY_ADDED, 'could not be removed': RPC.CLIENT_NODE_NOT_ADDED, 'is not HOST:PORT': RPC.INVALID_PARAMETER });
      }
      return null;
    },
  },
  disconnectnode: {
    category: 'Network',
    description: "Immediately disconnects from the specified peer node. Strictly one out of 'address' and 'nodeid' can be provided to identify the node.",
    params: [
      { name: 'address', type: 'string', optional: true, description: 'The IP address/port of the node' },
      { name: 'nodeid', type: 'number', optional: true, description: 'The node ID (see getpeerinfo for node IDs)' },
    ],
    result: 'null',
    handler: async (ctx, [address, nodeid]) => {
      let target: { id: number } | { address: string };
      if (address !== undefined && address !== null && (nodeid === undefined || nodeid === null)) target = { address: str(address) ?? '' };
      else if (nodeid !== undefined && nodeid !== null && (address === undefined || address === null || address === '')) target = { id: num(nodeid) ?? -1 };
      else throw new RpcError(RPC.INVALID_PARAMS, 'Only one of address and nodeid should be provided.');
      try {
        await ctx.disconnect(target);
      } catch {
        throw new RpcError(RPC.CLIENT_NODE_NOT_CONNECTED, 'Node not found in connected nodes');
      }
      return null;
    },
  },
  getaddednodeinfo: {
    category: 'Network',
    description: 'Returns information about the given added node, or all added nodes (onetry addnodes are not listed here).',
    params: [{ name: 'node', type: 'string', optional: true, description: 'If provided, return information about this specific node, otherwise all nodes are returned.' }],
    result: '[{addednode, connected, addresses: [{address, connected}]}]',
    handler: async (ctx, [node]) => {
      let list = await ctx.addedNodes();
      if (typeof node === 'string') {
        list = list.filter((a) => a.addednode === node);
        if (list.length === 0) throw new RpcError(RPC.CLIENT_NODE_NOT_ADDED, 'Error: Node has not been added.');
      }
      return list.map((a) => ({
        addednode: a.addednode,
        connected: a.connected,
        addresses: a.connected && a.address !== null ? [{ address: a.address, connected: a.inbound ? 'inbound' : 'outbound' }] : [],
      }));
    },
  },
  setban: {
    category: 'Network',
    description: 'Attempts to add or remove an IP/Subnet from the banned list.',
    params: [
      { name: 'subnet', type: 'string', description: 'The IP/Subnet with an optional netmask (default is /32 = single IP)' },
      { name: 'command', type: 'string', description: "'add' to add an IP/Subnet to the list, 'remove' to remove an IP/Subnet from the list" },
      { name: 'bantime', type: 'number', optional: true, description: 'time in seconds how long (or until when if [absolute] is set) the IP is banned (0 or empty means the default of 24h)' },
      { name: 'absolute', type: 'boolean', optional: true, description: 'If set, the bantime must be an absolute timestamp expressed in UNIX epoch time' },
    ],
    result: 'null',
    handler: async (ctx, [subnetArg, command, bantime, absolute]) => {
      const c = str(command);
      if (c !== 'add' && c !== 'remove') throw new RpcError(RPC.MISC_ERROR, helpText('setban'));
      const subnet = parseIpSubnet(str(subnetArg) ?? '');
      if (!subnet) throw new RpcError(RPC.CLIENT_INVALID_IP_OR_SUBNET, 'Error: Invalid IP/Subnet');
      if (c === 'remove') {
        const r = await ab<BanReply>(ctx, 'ban', (replyTo) => ({ type: 'unban', subnet: subnet.text, replyTo: replyTo }));
        if (!r.ok) throw new RpcError(RPC.CLIENT_INVALID_IP_OR_SUBNET, 'Error: Unban failed. Requested address/subnet was not previously manually banned.');
        return null;
      }
      const nowS = Math.floor(Date.now() / 1000);
      const t = num(bantime) ?? 0;
      if (absolute === true && t < nowS) throw new RpcError(RPC.INVALID_PARAMETER, 'Error: Absolute timestamp is in the past');
      const untilS = absolute === true ? t : nowS + (t > 0 ? t : DEFAULT_BAN_S);
      const existing = await ab<BanEntryJson[]>(ctx, 'ban', (replyTo) => ({ type: 'list-bans', replyTo: replyTo }));
      if (existing.some((e) => e.address === subnet.text)) throw new RpcError(RPC.CLIENT_NODE_ALREADY_ADDED, 'Error: IP/Subnet already banned');
      const r = await ab<BanReply>(ctx, 'ban', (replyTo) => ({ type: 'ban', subnet: subnet.text, untilMs: untilS * 1000, reason: 'manually added', replyTo: replyTo }));
      if (!r.ok) throw new RpcError(RPC.CLIENT_NODE_ALREADY_ADDED, r.error ?? 'Error: IP/Subnet already banned');
      // As Core: connected peers in the subnet are disconnected.
      for (const p of await ctx.peers()) {
        if (subnetHas(subnet, p.endpoint.host)) await ctx.disconnect({ id: p.id }).catch(() => undefined);
      }
      return null;
    },
  },
  listbanned: {
    category: 'Network',
    description: 'List all manually banned IPs/Subnets.',
    params: [],
    result: '[{address, ban_created, banned_until, ban_duration, time_remaining}]',
    handler: async (ctx) => toJson(await ab<BanEntryJson[]>(ctx, 'ban', (replyTo) => ({ type: 'list-bans', replyTo: replyTo }))),
  },
  clearbanned: {
    category: 'Network',
    description: 'Clear all banned IPs.',
    params: [],
    result: 'null',
    handler: async (ctx) => {
      await ab<BanReply>(ctx, 'ban', (replyTo) => ({ type: 'clear-bans', replyTo: replyTo }));
      return null;
    },
  },
  setnetworkactive: {
    category: 'Network',
    description: 'Disable/enable all p2p network activity.',
    params: [{ name: 'state', type: 'boolean', description: 'true to enable networking, false to disable' }],
    result: 'true|false (the value that was passed in)',
    handler: async (ctx, [state]) => {
      await ctx.setNetworkActive(state === true);
      return ctx.networkActive();
    },
  },
  getnodeaddresses: {
    category: 'Network',
    description: 'Return known addresses, after filtering for quality and recency.',
    params: [
      { name: 'count', type: 'number', optional: true, description: 'The maximum number of addresses to return. Specify 0 to return all known addresses. Default 1.' },
      { name: 'network', type: 'string', optional: true, description: `Return only addresses of the specified network. Can be one of: ${NETWORKS.join(', ')}.` },
    ],
    result: '[{time, services, address, port, network}]',
    handler: async (ctx, [count, network]) => {
      const n = num(count) ?? 1;
      if (n < 0) throw new RpcError(RPC.INVALID_PARAMETER, 'Address count out of range');
      const net = str(network);
      if (net !== undefined && !(NETWORKS as readonly string[]).includes(net)) throw new RpcError(RPC.INVALID_PARAMETER, `Network not recognized: ${net}`);
      return toJson(
        await ab<NodeAddressJson[]>(ctx, 'addr', (replyTo) => ({ type: 'node-addresses', count: n, ...(net !== undefined ? { network: net } : {}), replyTo: replyTo })),
      );
    },
  },
  getaddrmaninfo: {
    category: 'Network',
    description: 'Provides information about the node\'s address manager by returning the number of addresses in the `new` and `tried` tables and their sum for all networks.',
    params: [],
    result: '{ipv4|ipv6|onion|i2p|cjdns|all_networks: {new, tried, total}}',
    handler: async (ctx) => toJson(await ab<AddrmanInfo>(ctx, 'addr', (replyTo) => ({ type: 'info', replyTo: replyTo }))),
  },

  // ---- Control (Core)
  uptime: {
    category: 'Control',
    description: 'Returns the total uptime of the server.',
    params: [],
    result: 'ttt (numeric) the number of seconds that the server has been running',
    handler: (ctx) => Math.floor((Date.now() - ctx.startedAt) / 1000),
  },
  stop: {
    category: 'Control',
    description: 'Request a graceful shutdown of peerd.',
    params: [],
    result: '"peerd stopping"',
    handler: (ctx) => {
      // After the reply is written: the server closes with the rest of the tree.
      setTimeout(() => void ctx.stop(), 20);
      return 'peerd stopping';
    },
  },
  help: {
    category: 'Control',
    description: 'List all commands, or get help for a specified command.',
    params: [{ name: 'command', type: 'string', optional: true, description: 'The command to get help on' }],
    result: '"text"',
    handler: (_ctx, [command]) => {
      if (typeof command === 'string' && command !== '') {
        return METHODS[command] ? helpText(command) : `help: unknown command: ${command}`;
      }
      return helpIndex();
    },
  },

  // ---- Blockchain (answered by the block actor)
  getblockchaininfo: {
    category: 'Blockchain',
    description: 'Returns an object containing various state info regarding blockchain processing.',
    params: [],
    result: '{chain, blocks, headers, bestblockhash, bits, target, difficulty, time, mediantime, verificationprogress, initialblockdownload, chainwork, size_on_disk, pruned, …, warnings}',
    handler: (ctx) => chain(ctx, 'getblockchaininfo', []),
  },
  getblockcount: {
    category: 'Blockchain',
    description: 'Returns the height of the most-work fully-validated chain. The genesis block has height 0.',
    params: [],
    result: 'n',
    handler: (ctx) => chain(ctx, 'getblockcount', []),
  },
  waitfornewblock: {
    category: 'Blockchain',
    description: 'Waits for any new block and returns useful info about it (or the current tip on timeout).',
    params: [
      { name: 'timeout', type: 'number', optional: true, description: 'Time in milliseconds to wait for a response. 0 indicates no timeout (default 0)' },
      { name: 'current_tip', type: 'string', optional: true, description: 'Wait for a tip other than this one (default: the tip when called)' },
    ],
    result: '{hash, height}',
    handler: async (ctx, args) => {
      const from = typeof args[1] === 'string' ? args[1] : (await tipOf(ctx)).hash;
      return waitForTip(ctx, args[0], (tip) => tip.hash !== from);
    },
  },
  waitforblock: {
    category: 'Blockchain',
    description: 'Waits for a specific new block and returns useful info about it (or the current tip on timeout).',
    params: [
      { name: 'blockhash', type: 'string', description: 'Block hash to wait for' },
      { name: 'timeout', type: 'number', optional: true, description: 'Time in milliseconds to wait for a response. 0 indicates no timeout (default 0)' },
    ],
    result: '{hash, height}',
    handler: (ctx, args) => {
      const want = String(args[0]).toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(want)) throw new RpcError(RPC.INVALID_PARAMETER, `blockhash must be of length 64 (not ${String(args[0]).length}, for '${String(args[0])}')`);
      return waitForTip(ctx, args[1], (tip) => tip.hash === want);
    },
  },
  waitforblockheight: {
    category: 'Blockchain',
    description: 'Waits for (at least) block height and returns the height and hash of the current tip (or the current tip on timeout).',
    params: [
      { name: 'height', type: 'number', description: 'Block height to wait for' },
      { name: 'timeout', type: 'number', optional: true, description: 'Time in milliseconds to wait for a response. 0 indicates no timeout (default 0)' },
    ],
    result: '{hash, height}',
    handler: (ctx, args) => {
      const height = Number(args[0]);
      return waitForTip(ctx, args[1], (tip) => tip.height >= height);
    },
  },
  getbestblockhash: {
    category: 'Blockchain',
    description: 'Returns the hash of the best (tip) block in the most-work fully-validated chain.',
    params: [],
    result: '"hex"',
    handler: (ctx) => chain(ctx, 'getbestblockhash', []),
  },
  getblockhash: {
    category: 'Blockchain',
    description: 'Returns hash of block in best-block-chain at height provided.',
    params: [{ name: 'height', type: 'number', description: 'The height index' }],
    result: '"hex"',
    handler: (ctx, args) => chain(ctx, 'getblockhash', args),
  },
  getblockheader: {
    category: 'Blockchain',
    description: "If verbose is false, returns a string that is serialized, hex-encoded data for blockheader 'hash'. If verbose is true, returns an Object with information about blockheader <hash>.",
    params: [
      { name: 'blockhash', type: 'string', description: 'The block hash' },
      { name: 'verbose', type: 'boolean', optional: true, description: 'true for a json object, false for the hex-encoded data (default true)' },
    ],
    result: '{hash, confirmations, height, version, versionHex, merkleroot, time, mediantime, nonce, bits, target, difficulty, chainwork, nTx, previousblockhash, nextblockhash}',
    handler: (ctx, args) => chain(ctx, 'getblockheader', args),
  },
  getblock: {
    category: 'Blockchain',
    description: "If verbosity is 0, returns a string that is serialized, hex-encoded data for block 'hash'. If verbosity is 1, returns an Object with information about block <hash> (peerd keeps no transaction details: verbosity 2 and 3 are not available).",
    params: [
      { name: 'blockhash', type: 'string', description: 'The block hash' },
      { name: 'verbosity', type: 'any', optional: true, description: '0 for hex-encoded data, 1 for a JSON object (default 1)' },
    ],
    result: '"hex" | {hash, confirmations, size, strippedsize, weight, height, version, …, tx: [txid…], nTx, previousblockhash, nextblockhash}',
    handler: (ctx, args) => chain(ctx, 'getblock', args),
  },
  getchaintips: {
    category: 'Blockchain',
    description: 'Return information about all known tips in the block tree, including the main chain as well as orphaned branches.',
    params: [],
    result: '[{height, hash, branchlen, status}]',
    handler: (ctx) => chain(ctx, 'getchaintips', []),
  },

  // ---- peerd's own
  getactortree: {
    category: 'peerd',
    description: "The supervision tree, nested, with each actor's registry record (kind, restarts, mailbox, handled, status, summary…).",
    params: [{ name: 'depth', type: 'number', optional: true, description: 'Levels of children to include (default all)' }],
    result: '[{path, name, kind, restarts, mailbox, mailboxHighWater, status, summary, …, children: [...]}]',
    handler: (ctx, [depth]) => treeWithout(ctx.actorTree(), num(depth) ?? 1000),
  },
  listactors: {
    category: 'peerd',
    description: 'Every live actor, flat, optionally filtered by a path pattern (`*` one segment, `**` any: e.g. "/root/peers/*").',
    params: [{ name: 'pattern', type: 'string', optional: true, description: 'glob over actor paths' }],
    result: '[{path, name, kind, incarnation, restarts, mailbox, …}]',
    handler: (ctx, [pattern]) => toJson(ctx.actors(str(pattern))),
  },
  killactor: {
    category: 'peerd',
    description:
      "Chaos and admin: 'kill' stops the actor from outside, 'crash' makes it throw in its handler, 'socket' destroys a peer's socket, 'stall' blocks its mailbox for [ms]. The target is an actor path, a pattern (`*` one segment: every match), or `peer:HOST:PORT`, the peer actor of that connection whatever its id (still valid after the connection is replaced).",
    params: [
      { name: 'path', type: 'string', description: 'An actor path (/root/peers/peer-3), a pattern (/root/peers/*) or peer:HOST:PORT' },
      { name: 'mode', type: 'string', optional: true, description: 'kill (default), crash, socket or stall' },
      { name: 'ms', type: 'number', optional: true, description: 'for stall: how long, ms (default 1000)' },
    ],
    result: '{path, mode, killed: [path, …]}',
    handler: async (ctx, [path, mode, ms]) => {
      const m = (str(mode) ?? 'kill') as KillMode;
      if (!KILL_MODES.includes(m)) throw new RpcError(RPC.INVALID_PARAMETER, `Unknown mode "${String(mode)}" (kill, crash, socket, stall)`);
      const p = str(path) ?? '';
      const stallMs = num(ms) ?? 1000;
      if (m === 'stall' && !(Number.isInteger(stallMs) && stallMs >= 1 && stallMs <= MAX_STALL_MS)) throw new RpcError(RPC.INVALID_PARAMETER, `stall ms must be a whole number from 1 to ${MAX_STALL_MS}`);
      let targets: string[];
      if (p.startsWith('peer:')) {
        const addr = p.slice('peer:'.length);
        const peer = (await ctx.peers()).find((x) => x.addr === addr || `${x.endpoint.host}:${x.endpoint.port}` === addr);
        if (!peer) throw new RpcError(RPC.INVALID_PARAMETER, `No peer connected at ${addr}`);
        targets = [peerName(peer.id).path];
      } else targets = p.includes('*') ? ctx.actors(p).map((a) => a.path) : [p];
      if (targets.length === 0) throw new RpcError(RPC.INVALID_PARAMETER, `No actor matches ${p}`);
      const killed = targets.filter((t) => ctx.kill(t, m, { ms: stallMs }));
      if (killed.length === 0) {
        throw new RpcError(RPC.INVALID_PARAMETER, m === 'socket' && ctx.actors(targets[0]).length > 0 ? `Actor ${targets[0]} has no socket` : `No actor at ${p}`);
      }
      return { path: p, mode: m, killed };
    },
  },
  getdisconnects: {
    category: 'peerd',
    description: 'Recent disconnects with their reasons, newest first.',
    params: [{ name: 'count', type: 'number', optional: true, description: 'At most this many (default all kept, up to 1000)' }],
    result: '[{id, address, connType, reason, misbehaving, at, connectedMs}]',
    handler: async (ctx, [count]) => {
      const all = await ctx.disconnects();
      const n = num(count);
      return toJson(n === undefined ? all : all.slice(0, Math.max(0, n)));
    },
  },
  getdeadletters: {
    category: 'peerd',
    description: 'Messages sent to actors that were gone, by message type.',
    params: [],
    result: '{total, byType}',
    handler: (ctx) => toJson(ctx.deadLetters()),
  },
  getstoreinfo: {
    category: 'peerd',
    description:
      "What the node has stored, for the chaos monkey's \"nothing lost\" invariants: the block index (blocks, checksum = sha256 of the sorted stored hashes, hex internal order, joined by newlines — the same as a full read-back's; bytes and files), the tip height, the same digest restricted to blocks stored at heights ≤ height (default the tip), and the address book's count, bans and whether it has changes not yet written (dirty, seconds since its last flush). verify reads every block back and checks its header hash (slow).",
    params: [
      { name: 'height', type: 'number', optional: true, description: 'Restrict the second digest to blocks stored at heights ≤ this (default the tip)' },
      { name: 'verify', type: 'boolean', optional: true, description: 'Also read every block back (default false)' },
    ],
    result: '{blocks, checksum, bytes, files, height, headers, pruned, pruneheight, upto: {height, blocks, checksum}, verified?: {blocks, bytes, checksum, bad}, addresses, new, tried, bans, addressbook: {dirty, lastflushagos}}',
    handler: async (ctx, [height, verify]) => {
      const blocks = (await chain(ctx, 'getstoreinfo', [height, verify])) as JsonObject;
      const info = await ab<AddrmanInfo>(ctx, 'addr', (replyTo) => ({ type: 'info', replyTo: replyTo }));
      const bans = await ab<BanEntryJson[]>(ctx, 'ban', (replyTo) => ({ type: 'list-bans', replyTo: replyTo }));
      const summary = ctx.actors(ADDRESSBOOK.path)[0]?.summary as { dirty?: unknown; lastFlushAgoS?: unknown } | undefined;
      const all = info.all_networks ?? { new: 0, tried: 0, total: 0 };
      return {
        ...blocks,
        addresses: all.total,
        new: all.new,
        tried: all.tried,
        bans: bans.length,
        addressbook: {
          dirty: typeof summary?.dirty === 'boolean' ? summary.dirty : null,
          lastflushagos: typeof summary?.lastFlushAgoS === 'number' ? summary.lastFlushAgoS : null,
        },
      };
    },
  },
  getresources: {
    category: 'peerd',
    description:
      "What the node holds, for leak checks: live actors and the runtime's timers (in all, outside the peers, and per actor), the process's libuv handles by type (sockets, timers, …), open file descriptors (/proc/self/fd; null without /proc), memory, and the event-loop delay (p50/p99/max beyond the 10 ms sampling interval) since the node started or the last reset. In a process running several nodes everything but actors and timers is the whole process's.",
    params: [{ name: 'reset', type: 'boolean', optional: true, description: 'Start a new event-loop delay window after answering (default false)' }],
    result: '{actors, timers, nonPeerTimers, timersByActor, handles: {TCPSocketWrap, Timeout, …}, sockets, nodeTimers, fds, rssBytes, heapUsedBytes, externalBytes, eventLoopDelay: {p50Ms, p99Ms, maxMs, meanMs, samples, windowMs}, uptimeS}',
    handler: (ctx, [reset]) => toJson(resourceReport(ctx.actors(), PEERS.path, reset === true)),
  },
};

function signature(name: string): string {
  const d = METHODS[name];
  const req = d.params.filter((p) => !p.optional).map((p) => (p.type === 'string' ? `"${p.name}"` : p.name));
  const opt = d.params.filter((p) => p.optional).map((p) => (p.type === 'string' ? `"${p.name}"` : p.name));
  return [name, ...req, ...(opt.length > 0 ? [`( ${opt.join(' ')} )`] : [])].join(' ');
}

/** Core's per-method help layout. */
export function helpText(name: string): string {
  const d = METHODS[name];
  const lines = [signature(name), '', d.description, ''];
  if (d.params.length > 0) {
    lines.push('Arguments:');
    d.params.forEach((p, i) => lines.push(`${i + 1}. ${p.name}    (${p.type}, ${p.optional ? 'optional' : 'required'}) ${p.description}`));
    lines.push('');
  }
  lines.push('Result:', d.result, '', 'Examples:', `> peerd rpc ${name}`, `> bitcoin-cli -rpcport=PORT -rpccookiefile=DATADIR/.cookie ${name}`);
  return lines.join('\n');
}

export function helpIndex(): string {
  const out: string[] = [];
  for (const cat of ['Blockchain', 'Control', 'Network', 'peerd'] as const) {
    out.push(`== ${cat} ==`);
    for (const name of Object.keys(METHODS).sort()) if (METHODS[name].category === cat) out.push(signature(name));
    out.push('');
  }
  return out.join('\n').trimEnd();
}

function typeName(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

function matches(t: ParamType, v: Json): boolean {
  if (t === 'any') return true;
  if (t === 'number') return typeof v === 'number' && Number.isFinite(v);
  return typeName(v) === t;
}

/** Checks and orders the parameters as Core's RPCHelpMan: named → positional, count, types. */
export function checkParams(name: string, def: MethodDef, params: Json[] | JsonObject): (Json | undefined)[] {
  let args: (Json | undefined)[];
  if (Array.isArray(params)) args = [...params];
  else {
    args = [];
    for (const [k, v] of Object.entries(params)) {
      const i = def.params.findIndex((p) => p.name === k);
      if (i < 0) throw new RpcError(RPC.INVALID_PARAMETER, `Unknown named parameter ${k}`);
      args[i] = v;
    }
  }
  if (args.length > def.params.length || def.params.some((p, i) => !p.optional && (args[i] === undefined || args[i] === null))) {
    throw new RpcError(RPC.MISC_ERROR, helpText(name));
  }
  const mismatch: Record<string, string> = {};
  def.params.forEach((p, i) => {
    const v = args[i];
    if (v === undefined || v === null) return;
    if (!matches(p.type, v)) mismatch[`Position ${i + 1} (${p.name})`] = `JSON value of type ${typeName(v)} is not of expected type ${p.type}`;
  });
  if (Object.keys(mismatch).length > 0) throw new RpcError(RPC.TYPE_ERROR, `Wrong type passed:\n${JSON.stringify(mismatch, null, 4)}`);
  return Array.from(args, (a) => (a === null ? undefined : a));
}

/** Runs one request against the table. */
export async function dispatch(ctx: ControlContext, req: ParsedRequest): Promise<Json> {
  if (!Object.hasOwn(METHODS, req.method)) throw new RpcError(RPC.METHOD_NOT_FOUND, 'Method not found');
  const def = METHODS[req.method];
  const args = checkParams(req.method, def, req.params);
  return def.handler(ctx, args);
}

