import type { NetworkName } from '../netaddress/netaddress.js';

/**
 * What the connection manager knows of an inbound peer when it must make room: the inputs of
 * Bitcoin Core's SelectNodeToEvict (node/eviction.cpp). Times are milliseconds since the epoch;
 * larger `connectedAt` means more recently connected.
 */
export interface EvictionCandidate {
  readonly id: number;
  readonly connectedAt: number;
  /** Lowest ping round trip seen, ms (Infinity before the first pong). */
  readonly minPingMs: number;
  /** When the peer last sent us a block we did not have (0 = never). */
  readonly lastBlockAt: number;
  /** When the peer last sent us a transaction we did not have (0 = never; peerd keeps no mempool). */
  readonly lastTxAt: number;
  /** Serves the blocks we need (NODE_NETWORK or NODE_NETWORK_LIMITED). */
  readonly relevantServices: boolean;
  /** Asked us to relay transactions (version relay flag). */
  readonly relayTxs: boolean;
  readonly bloomFilter: boolean;
  readonly keyedNetGroup: number;
  /** Discouraged peers are evicted first. */
  readonly preferEvict: boolean;
  readonly isLocal: boolean;
  /** The network the connection goes through (Core's ConnectedThroughNetwork: GetNetClass). */
  readonly network: NetworkName;
  /** Whitelisted (noban) peers are never evicted. */
  readonly noban: boolean;
  readonly inbound: boolean;
}

type Cmp = (a: EvictionCandidate, b: EvictionCandidate) => number;

/** Sorts by `cmp` (ties by id, for a deterministic result), then removes up to k matching elements from the end: they are protected. */
function protectLast(list: EvictionCandidate[], cmp: Cmp, k: number, pred: (c: EvictionCandidate) => boolean = () => true): EvictionCandidate[] {
  const sorted = [...list].sort((a, b) => cmp(a, b) || a.id - b.id);
  const cut = Math.max(0, sorted.length - k);
  return [...sorted.slice(0, cut), ...sorted.slice(cut).filter((c) => !pred(c))];
}

const num = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);
/** false before true. */
const flag = (a: boolean, b: boolean): number => num(Number(a), Number(b));

const byNetGroup: Cmp = (a, b) => num(a.keyedNetGroup, b.keyedNetGroup);
const byPingDescending: Cmp = (a, b) => num(b.minPingMs, a.minPingMs);
const byNewestFirst: Cmp = (a, b) => num(b.connectedAt, a.connectedAt);
const byTxTime: Cmp = (a, b) => num(a.lastTxAt, b.lastTxAt) || flag(a.relayTxs, b.relayTxs) || flag(b.bloomFilter, a.bloomFilter) || byNewestFirst(a, b);
const byBlockRelayOnlyTime: Cmp = (a, b) =>
  flag(b.relayTxs, a.relayTxs) || num(a.lastBlockAt, b.lastBlockAt) || flag(a.relevantServices, b.relevantServices) || byNewestFirst(a, b);
const byBlockTime: Cmp = (a, b) => num(a.lastBlockAt, b.lastBlockAt) || flag(a.relevantServices, b.relevantServices) || byNewestFirst(a, b);

type Disadvantaged = { readonly isLocal: boolean; readonly net: NetworkName | null; count: number };

function inGroup(n: Disadvantaged, c: EvictionCandidate): boolean {
  return n.isLocal ? c.isLocal : c.network === n.net;
}

/** Protects half of the rest by uptime, up to half of those slots for peers on disadvantaged networks (CJDNS, I2P, localhost, onion). */
function protectByRatio(input: EvictionCandidate[]): EvictionCandidate[] {
  let list = input;
  const total = Math.floor(list.length / 2);
  const nets: Disadvantaged[] = [
    { isLocal: false, net: 'cjdns', count: 0 },
    { isLocal: false, net: 'i2p', count: 0 },
    { isLocal: true, net: null, count: 0 },
    { isLocal: false, net: 'onion', count: 0 },
  ];
  for (const n of nets) n.count = list.filter((c) => inGroup(n, c)).length;
  // Stable sort: fewer candidates first get the first chance at unused slots.
  nets.sort((a, b) => a.count - b.count);
  const maxByNetwork = Math.floor(total / 2);
  let protectedCount = 0;
  while (protectedCount < maxByNetwork) {
    const withPeers = nets.filter((n) => n.count > 0).length;
    if (withPeers === 0) break;
    const perNet = Math.max(Math.floor((maxByNetwork - protectedCount) / withPeers), 1);
    let any = false;
    for (const n of nets) {
      if (n.count === 0) continue;
      const before = list.length;
      const cmp: Cmp = (a, b) =>
        (n.isLocal && a.isLocal !== b.isLocal ? flag(a.isLocal, b.isLocal) : 0) ||
        flag(a.network === n.net, b.network === n.net) ||
        byNewestFirst(a, b);
      list = protectLast(list, cmp, perNet, (c) => inGroup(n, c));
      const delta = before - list.length;
      if (delta > 0) {
        any = true;
        protectedCount += delta;
        if (protectedCount >= maxByNetwork) break;
        n.count -= delta;
      }
    }
    if (!any) break;
  }
  return protectLast(list, byNewestFirst, total - protectedCount);
}

/**
 * Chooses the inbound peer to disconnect to make room for a new one, or null when every peer is
 * protected (then the new connection is refused). Same protections, in the same order, as
 * Bitcoin Core: noban and outbound peers; 4 by keyed network group; 8 lowest ping; 4 most recent
 * novel transactions; up to 8 block-relay-only peers that sent novel blocks; 4 most recent novel
 * blocks; half of the rest by uptime (a share reserved for disadvantaged networks). Among the
 * rest, discouraged peers go first; then the youngest peer of the network group with most peers.
 */
export function selectPeerToEvict(candidates: readonly EvictionCandidate[]): number | null {
  let list = candidates.filter((c) => !c.noban && c.inbound);
  list = protectLast(list, byNetGroup, 4);
  list = protectLast(list, byPingDescending, 8);
  list = protectLast(list, byTxTime, 4);
  list = protectLast(list, byBlockRelayOnlyTime, 8, (c) => !c.relayTxs && c.relevantServices);
  list = protectLast(list, byBlockTime, 4);
  list = protectByRatio(list);
  if (list.length === 0) return null;
  if (list.some((c) => c.preferEvict)) list = list.filter((c) => c.preferEvict);
  // `list` is ordered newest first; a group's first member is its youngest.
  const groups = new Map<number, EvictionCandidate[]>();
  let best: EvictionCandidate[] | null = null;
  for (const c of list) {
    let g = groups.get(c.keyedNetGroup);
    if (!g) groups.set(c.keyedNetGroup, (g = []));
    g.push(c);
    if (!best || g.length > best.length || (g.length === best.length && g[0].connectedAt > best[0].connectedAt)) best = g;
  }
  return best ? best[0].id : null;
}
