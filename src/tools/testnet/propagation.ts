/**
 * Propagation measurements on a test network (`startNetwork`):
 *
 * - `measureSync`: from the moment the network was wired until every node's getblockcount is
 *   the chain's height (per node and for all).
 * - `announceBlock`: mines one block on a node's tip (`mineBlock`), hands it to that node
 *   through a raw peer (`headers`, the node's `getdata`, `block`), and times until every node's
 *   best block is it.
 * - `gossipAddress`: sends one fresh address in an `addr` message to a node through a raw peer
 *   and watches every node's address book (getnodeaddresses) for it during a window. Relay is
 *   to one or two random peers per hop, so on a graph with more neighbours than that, or with
 *   stub chain peers taking a relay slot, the count reached within the window is what is measured.
 *
 * Times are wall-clock milliseconds on the polling clock (every `pollMs`: by default 20 ms for
 * the sync, 2 ms for a block, 10 ms for an address), so a figure is at most one poll (plus one
 * pass over the nodes) late. The nodes run in this process, so polls and nodes share its loop.
 */
import { ask } from '../../../supervisors/index.js';
import { ADDRESSBOOK, type AddressBookMsg, type NodeAddressJson } from '../../contracts/addressbook.js';
import { mineBlock } from '../chain/generate.js';
import { Reader } from '../../wire/buffer.js';
import { decodeHeader } from '../../wire/block.js';
import { sleep } from '../../util/sleep.js';
import type { TimedNetAddress } from '../../wire/address.js';
import { hopsFrom } from './topology.js';
import type { TestNetwork } from './network.js';
import { WirePeer } from './wire-peer.js';

export interface PollOptions {
  /** Give up after this long (default 60 s for sync, 30 s for a block). */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

export interface SyncResult {
  /** The height every node had to reach. */
  readonly height: number;
  /** Milliseconds from wiring until the last node had it, or null if one had not within the timeout. */
  readonly allMs: number | null;
  /** Per node: milliseconds from wiring until it had the height, or null. */
  readonly perNodeMs: readonly (number | null)[];
  /** Heights at the end. */
  readonly heights: readonly number[];
}

export interface BlockResult {
  readonly hash: string;
  readonly height: number;
  /** The node the block was handed to. */
  readonly to: number;
  /** Milliseconds from sending the header until the node asked for the block. */
  readonly getdataMs: number;
  readonly allMs: number | null;
  /** Per node: milliseconds from sending the header until its best block was the new one, or null. */
  readonly perNodeMs: readonly (number | null)[];
  /** Hops from `to` in the topology. */
  readonly hops: readonly number[];
}

export interface AddressResult {
  /** `host:port` of the gossiped address. */
  readonly address: string;
  readonly to: number;
  readonly windowMs: number;
  /** Nodes other than `to` that had it by the end of the window. */
  readonly reached: number;
  /** Per node: milliseconds from sending until it was in the node's address book, or null. */
  readonly perNodeMs: readonly (number | null)[];
  readonly hops: readonly number[];
  /** Addresses the nodes' address books relayed during the window, together (their `relayed` counters). */
  readonly relayed: number;
}

const nowMs = (): number => performance.now();

async function heightOf(net: TestNetwork, i: number): Promise<number> {
  return Number(await net.nodes[i].node.chainCall('getblockcount'));
}

/** Polls every node with `check` until all pass or the timeout; returns when each first passed (ms after `t0`). */
async function pollAll(count: number, t0: number, check: (i: number) => Promise<boolean>, o: PollOptions, defaultTimeout: number): Promise<(number | null)[]> {
  const timeoutMs = o.timeoutMs ?? defaultTimeout;
  const pollMs = o.pollMs ?? 20;
  const at: (number | null)[] = new Array<number | null>(count).fill(null);
  for (;;) {
    for (let i = 0; i < count; i++) if (at[i] === null && (await check(i))) at[i] = Math.round(nowMs() - t0);
    if (at.every((x) => x !== null) || nowMs() - t0 > timeoutMs) return at;
    await sleep(pollMs);
  }
}

const maxOrNull = (xs: readonly (number | null)[]): number | null => (xs.some((x) => x === null) ? null : Math.max(0, ...(xs as number[])));

/** Until every node has the network chain's height, timed from `net.wiredAt`. */
export async function measureSync(net: TestNetwork, o: PollOptions = {}): Promise<SyncResult> {
  const height = net.chain?.height ?? 0;
  const perNodeMs = await pollAll(net.nodes.length, net.wiredAt, async (i) => (await heightOf(net, i)) >= height, o, 60_000);
  return { height, allMs: maxOrNull(perNodeMs), perNodeMs, heights: await net.heights() };
}

let mined = 0;

/** Mines a block on node `to`'s tip, hands it over through a raw peer, and times its way to every node. */
export async function announceBlock(net: TestNetwork, o: PollOptions & { readonly to?: number; readonly miner?: WirePeer } = {}): Promise<BlockResult> {
  const to = o.to ?? 0;
  const target = net.nodes[to];
  if (!target) throw new RangeError(`no node ${to}`);
  const tipHash = String(await target.node.chainCall('getbestblockhash'));
  const parent = decodeHeader(new Reader(Buffer.from(String(await target.node.chainCall('getblockheader', [tipHash, false])), 'hex')));
  const height = (await heightOf(net, to)) + 1;
  // A seed of our own per block, so two blocks on the same parent differ.
  const next = mineBlock(parent, height, parent.time + 600, [], { seed: (0x6e657400 + ++mined) >>> 0 });
  const hash = Buffer.from(next.block.header.hash).reverse().toString('hex');
  const miner = o.miner ?? (await WirePeer.connect({ port: target.port, startHeight: height - 1 }));
  try {
    const t0 = nowMs();
    miner.send({ command: 'headers', headers: [next.block.header] });
    await miner.waitFor('getdata', o.timeoutMs ?? 30_000, (m) => m.items.some((it) => it.hash.equals(next.block.header.hash)));
    const getdataMs = Math.round(nowMs() - t0);
    miner.send({ command: 'block', block: next.block });
    // Polled every 2 ms by default: a hop on loopback takes a few milliseconds.
    const perNodeMs = await pollAll(net.nodes.length, t0, async (i) => String(await net.nodes[i].node.chainCall('getbestblockhash')) === hash, { pollMs: 2, ...o }, 30_000);
    return { hash, height, to, getdataMs, allMs: maxOrNull(perNodeMs), perNodeMs, hops: hopsFrom(net.nodes.length, net.edges, to) };
  } finally {
    if (!o.miner) miner.close();
  }
}

/** Every address in a node's book (getnodeaddresses 0). */
export async function nodeAddresses(net: TestNetwork, i: number): Promise<NodeAddressJson[]> {
  return ask<AddressBookMsg, NodeAddressJson[]>(net.nodes[i].node.addressbook(), (replyTo) => ({ type: 'node-addresses', count: 0, replyTo }), 5000);
}

/** The address books' `relayed` counters, summed. */
export function relayedTotal(net: TestNetwork): number {
  let sum = 0;
  for (const n of net.nodes) {
    const s = n.node.actors(ADDRESSBOOK.path)[0]?.summary;
    const r = typeof s === 'object' && s !== null && 'relayed' in s ? Number((s as { relayed: unknown }).relayed) : 0;
    if (Number.isFinite(r)) sum += r;
  }
  return sum;
}

/**
 * A fresh address nobody has seen: 127.x.y.z on port 1. Loopback, because regtest keeps loopback
 * addresses (and only loopback may ever be dialled from here); port 1 is closed, so a node that
 * dialled it would be refused at once. The nodes of a test network make no automatic
 * connections, so they never dial it anyway.
 */
export function freshAddress(random: () => number = Math.random): { host: string; port: number } {
  const b = (): number => 1 + Math.floor(random() * 254);
  return { host: `127.${b()}.${b()}.${b()}`, port: 1 };
}

/** Gossips one fresh address to node `to` and watches every address book for `windowMs` (or until all have it). */
export async function gossipAddress(net: TestNetwork, o: { readonly to?: number; readonly windowMs?: number; readonly pollMs?: number; readonly address?: { host: string; port: number } } = {}): Promise<AddressResult> {
  const to = o.to ?? 0;
  const target = net.nodes[to];
  if (!target) throw new RangeError(`no node ${to}`);
  const windowMs = o.windowMs ?? 5000;
  const { host, port } = o.address ?? freshAddress();
  const octets = host.split('.').map(Number);
  const entry: TimedNetAddress = { network: 'ipv4', addr: Buffer.from(octets), port, services: 0x9n, time: Math.floor(Date.now() / 1000) };
  const peer = await WirePeer.connect({ port: target.port });
  const relayedBefore = relayedTotal(net);
  try {
    const t0 = nowMs();
    peer.send({ command: 'addr', addresses: [entry] });
    const has = async (i: number): Promise<boolean> => (await nodeAddresses(net, i)).some((a) => a.address === host && a.port === port);
    const perNodeMs = await pollAll(net.nodes.length, t0, has, { timeoutMs: windowMs, pollMs: o.pollMs ?? 10 }, windowMs);
    const reached = perNodeMs.filter((x, i) => i !== to && x !== null).length;
    return { address: `${host}:${port}`, to, windowMs, reached, perNodeMs, hops: hopsFrom(net.nodes.length, net.edges, to), relayed: relayedTotal(net) - relayedBefore };
  } finally {
    peer.close();
  }
}
