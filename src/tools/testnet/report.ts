/**
 * `peerd net`'s run and report: start a test network, measure the initial sync, one new block
 * and one gossiped address, then list every node's height and peers; as JSON and as text.
 */
import { startNetwork, type NetworkOptions, type TestNetwork } from './network.js';
import { announceBlock, gossipAddress, measureSync, nodeAddresses, type AddressResult, type BlockResult, type SyncResult } from './propagation.js';
import type { Edge, Topology } from './topology.js';

export interface NodePeerReport {
  readonly id: number;
  readonly addr: string;
  readonly direction: 'in' | 'out';
  readonly connType: string;
  /** `node-J` or `stub-K` for our own outbound links, else the peer's user agent. */
  readonly label: string;
}

export interface NodeReport {
  readonly index: number;
  readonly port: number;
  readonly height: number;
  readonly addresses: number;
  readonly peers: readonly NodePeerReport[];
}

export interface NetReport {
  readonly nodes: number;
  readonly topology: Topology;
  readonly edges: readonly Edge[];
  readonly stubLinks: readonly { readonly node: number; readonly stub: number }[];
  readonly chain: { readonly height: number; readonly tip: string } | null;
  readonly sync: SyncResult | null;
  readonly block: BlockResult | null;
  readonly address: AddressResult;
  readonly final: readonly NodeReport[];
  /** True when every node synced, the block reached all and the address at least one other node. */
  readonly ok: boolean;
}

export interface RunNetOptions extends NetworkOptions {
  /** How long to watch the gossiped address, ms (default 5000). */
  readonly addressWindowMs?: number;
  readonly syncTimeoutMs?: number;
  readonly blockTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** Every node's height, address-book size and peers, labelled. */
export async function networkState(net: TestNetwork): Promise<NodeReport[]> {
  const byPort = new Map<number, string>();
  net.nodes.forEach((n) => byPort.set(n.port, `node-${n.index}`));
  net.stubs.forEach((s, i) => byPort.set(s.port, `stub-${i}`));
  const out: NodeReport[] = [];
  for (const n of net.nodes) {
    const peers = (await n.node.peers()).map((p) => ({
      id: p.id,
      addr: p.addr,
      direction: p.inbound ? ('in' as const) : ('out' as const),
      connType: p.connType,
      label: (!p.inbound ? byPort.get(p.endpoint.port) : undefined) ?? p.subver ?? '?',
    }));
    out.push({ index: n.index, port: n.port, height: Number(await n.node.chainCall('getblockcount')), addresses: (await nodeAddresses(net, n.index)).length, peers });
  }
  return out;
}

export async function runNet(o: RunNetOptions): Promise<NetReport> {
  const log = o.log ?? ((): void => undefined);
  const net = await startNetwork(o);
  try {
    log(`${net.nodes.length} nodes (${net.topology}: ${net.edges.map((e) => `${e.from}→${e.to}`).join(' ') || 'no links'}), ${net.stubs.length} stub chain peer(s)${net.chain ? `, chain of ${net.chain.height} blocks` : ''}, in ${net.root}`);
    const sync = net.chain ? await measureSync(net, { timeoutMs: o.syncTimeoutMs ?? 120_000 }) : null;
    if (sync) log(`sync: ${sync.allMs === null ? 'NOT complete' : `${sync.allMs} ms`}`);
    const block = await announceBlock(net, { timeoutMs: o.blockTimeoutMs ?? 30_000 });
    log(`new block: ${block.allMs === null ? 'did NOT reach every node' : `${block.allMs} ms`}`);
    const address = await gossipAddress(net, { windowMs: o.addressWindowMs ?? 5000 });
    log(`address: ${address.reached} of ${net.nodes.length - 1} other nodes`);
    const final = await networkState(net);
    const ok = (sync === null || sync.allMs !== null) && block.allMs !== null && (net.nodes.length < 2 || address.reached >= 1);
    return {
      nodes: net.nodes.length,
      topology: net.topology,
      edges: net.edges,
      stubLinks: net.stubLinks,
      chain: net.chain ? { height: net.chain.height, tip: net.chain.tip } : null,
      sync,
      block,
      address,
      final,
      ok,
    };
  } finally {
    await net.stop();
  }
}

const ms = (x: number | null): string => (x === null ? '—' : `${x}`);

export function netReportText(r: NetReport): string {
  const lines: string[] = [];
  const links = r.edges.map((e) => `${e.from}→${e.to}`).join(' ') || 'none';
  lines.push(`peerd net: ${r.nodes} nodes, ${r.topology} (links ${links}), stub chain peers → nodes ${[...new Set(r.stubLinks.map((l) => l.node))].join(', ') || 'none'}`);
  lines.push('');
  if (r.sync) {
    lines.push(`initial sync   ${r.sync.height} blocks on every node: ${r.sync.allMs === null ? 'NOT within the timeout' : `${r.sync.allMs} ms`}`);
    lines.push(`               per node (ms): ${r.sync.perNodeMs.map(ms).join('  ')}`);
  }
  if (r.block) {
    lines.push(`new block      height ${r.block.height} handed to node ${r.block.to} (getdata after ${r.block.getdataMs} ms): every node ${r.block.allMs === null ? 'NOT within the timeout' : `in ${r.block.allMs} ms`}`);
    lines.push(`               per node (ms): ${r.block.perNodeMs.map(ms).join('  ')}   hops: ${r.block.hops.join(' ')}`);
  }
  const a = r.address;
  lines.push(`address        ${a.address} gossiped to node ${a.to}: ${a.reached} of ${r.nodes - 1} other nodes within ${a.windowMs} ms, ${a.relayed} relays`);
  lines.push(`               per node (ms): ${a.perNodeMs.map(ms).join('  ')}   hops: ${a.hops.join(' ')}`);
  lines.push('');
  lines.push('node  port   height  addrs  peers');
  for (const n of r.final) {
    const peers = n.peers.map((p) => `${p.direction} ${p.label}`).join(', ') || 'none';
    lines.push(`${String(n.index).padEnd(5)} ${String(n.port).padEnd(6)} ${String(n.height).padEnd(7)} ${String(n.addresses).padEnd(6)} ${peers}`);
  }
  lines.push('');
  lines.push(r.ok ? 'ok' : 'FAILED: see above');
  return lines.join('\n');
}
