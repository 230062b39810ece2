/**
 * A multi-node test network on loopback (issue 9): K peerd nodes in this process (regtest,
 * 127.0.0.1:0, no DNS seeds, no automatic outbound: only the topology's `addnode` links) wired as
 * a ring or a seeded random graph, plus stub chain peers (`serve-chain`) serving a generated
 * chain to some nodes (node 0 by default). Every other node learns the chain through peerd
 * nodes only. `stop()` stops the nodes and stub peers and removes the directories it made.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { silentLogger } from '../../log.js';
import { startNode, type NodeHandle, type NodeOptions } from '../../node.js';
import { generateChainFile } from '../chain/generate.js';
import { startChainServer, type ChainServer } from '../chain/stub-peer.js';
import { cookiePath } from '../../rpc/auth.js';
import { networkDatadir } from '../../config/load.js';
import type { InspectAddress } from '../../contracts/inspector.js';
import { buildEdges, type Edge, type Topology } from './topology.js';

export interface NetworkOptions {
  /** Number of peerd nodes (K ≥ 1). */
  readonly nodes: number;
  /** Default `ring`. */
  readonly topology?: Topology;
  /** random: neighbours per node, at least (default 2). */
  readonly degree?: number;
  /** random: the graph's seed (default 1). */
  readonly seed?: number;
  /** Generate a chain of this many blocks (into the network's directory) for the stub peers to serve (default 0: none). */
  readonly chainBlocks?: number;
  /** Synthetic transactions per generated block (default 0). */
  readonly txsPerBlock?: number;
  /** Serve this block file instead of generating one. */
  readonly chainFile?: string;
  /** Stub chain peers serving the chain (default 1 when there is a chain, else 0). */
  readonly stubPeers?: number;
  /** Nodes that dial every stub chain peer (default [0]). */
  readonly stubNodes?: readonly number[];
  /** Open node 0's web inspector: true for 127.0.0.1 on a free port, or `[HOST:]PORT`. */
  readonly inspectFirst?: boolean | string;
  /** Run each node's JSON-RPC server on 127.0.0.1, a free port, with a cookie (default false). */
  readonly rpc?: boolean;
  /** Where the nodes' datadirs and the chain file go (default: a new directory under the OS temp dir). */
  readonly datadirRoot?: string;
  /** Remove the root directory on stop (default: only when it was created here). */
  readonly removeOnStop?: boolean;
  /** Each node's logger (default silent). */
  readonly logger?: (index: number) => Logger;
  /** More settings for every node (e.g. `chain`, `maxrecvrate`). */
  readonly nodeOptions?: NodeOptions;
}

export interface NetNode {
  readonly index: number;
  readonly node: NodeHandle;
  /** P2P port on 127.0.0.1. */
  readonly port: number;
  /** The node's `--datadir` (its regtest data is in `<datadir>/regtest`). */
  readonly datadir: string;
  /** Its JSON-RPC server (with `rpc: true`): port and cookie file. */
  readonly rpc: { readonly host: string; readonly port: number; readonly cookieFile: string } | null;
  /** Its inspector (node 0 with `inspectFirst`). */
  readonly inspect: InspectAddress | null;
}

export interface NetworkChain {
  readonly file: string;
  readonly height: number;
  /** Display hex of the tip. */
  readonly tip: string;
}

export interface TestNetwork {
  readonly nodes: readonly NetNode[];
  readonly stubs: readonly ChainServer[];
  /** Which node dials which (the topology). */
  readonly edges: readonly Edge[];
  /** Stub peer links: node index → stub index. */
  readonly stubLinks: readonly { readonly node: number; readonly stub: number }[];
  readonly topology: Topology;
  readonly root: string;
  readonly chain: NetworkChain | null;
  /** `performance.now()` when the last link was requested: the sync clock starts here. */
  readonly wiredAt: number;
  /** Every node's getblockcount. */
  heights(): Promise<number[]>;
  stop(): Promise<void>;
}

export async function startNetwork(o: NetworkOptions): Promise<TestNetwork> {
  if (!Number.isInteger(o.nodes) || o.nodes < 1) throw new RangeError(`nodes must be a positive integer (got ${o.nodes})`);
  const topology = o.topology ?? 'ring';
  // A random graph grows from the first node that talks to the stub peers, so the chain reaches every node along links it dialled.
  const treeRoot = o.stubNodes?.[0] ?? 0;
  const edges = buildEdges({
    nodes: o.nodes,
    topology,
    ...(o.degree !== undefined ? { degree: o.degree } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(treeRoot >= 0 && treeRoot < o.nodes ? { root: treeRoot } : {}),
  });
  const created = o.datadirRoot === undefined;
  const root = o.datadirRoot ?? mkdtempSync(join(tmpdir(), 'peerd-net-'));
  mkdirSync(root, { recursive: true });
  const removeOnStop = o.removeOnStop ?? created;
  const nodes: NetNode[] = [];
  const stubs: ChainServer[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Nodes first (they would otherwise redial the stub peers), then the stub peers.
    await Promise.allSettled(nodes.map((n) => n.node.stop()));
    await Promise.allSettled(stubs.map((s) => s.close()));
    if (removeOnStop) rmSync(root, { recursive: true, force: true });
  };
  try {
    let chain: NetworkChain | null = null;
    if (o.chainFile !== undefined || (o.chainBlocks ?? 0) > 0) {
      let file = o.chainFile;
      if (file === undefined) {
        file = join(root, 'chain.blocks');
        await generateChainFile(file, { blocks: o.chainBlocks ?? 0, txsPerBlock: o.txsPerBlock ?? 0, seed: o.seed ?? 0 });
      }
      const stubCount = o.stubPeers ?? 1;
      for (let i = 0; i < stubCount; i++) stubs.push(await startChainServer({ blocksFile: file, host: '127.0.0.1', port: 0 }));
      chain = { file, height: stubs[0]?.height ?? 0, tip: stubs[0]?.tip ?? '' };
    }
    for (let i = 0; i < o.nodes; i++) {
      const datadir = join(root, `node-${i}`);
      const inspect = i === 0 && o.inspectFirst !== undefined && o.inspectFirst !== false ? (o.inspectFirst === true ? '127.0.0.1:0' : o.inspectFirst) : '';
      const node = await startNode({
        ...o.nodeOptions,
        network: 'regtest',
        datadir,
        bind: ['127.0.0.1:0'],
        dnsseed: false,
        automaticOutbound: false,
        logger: o.logger?.(i) ?? silentLogger(),
        ...(o.rpc ? { server: true, rpcport: 0 } : {}),
        inspect,
      });
      const [addr] = await node.listening();
      let rpc: NetNode['rpc'] = null;
      if (o.rpc) {
        const a = await node.rpcAddress();
        if (a) rpc = { host: a.host, port: a.port, cookieFile: cookiePath(networkDatadir(datadir, 'regtest'), '') };
      }
      const inspectAddr = inspect === '' ? null : await node.inspectAddress();
      nodes.push({ index: i, node, port: addr?.port ?? 0, datadir, rpc, inspect: inspectAddr });
    }
    const stubNodes = stubs.length === 0 ? [] : (o.stubNodes ?? [0]).filter((i) => i >= 0 && i < nodes.length);
    const stubLinks = stubNodes.flatMap((node) => stubs.map((_s, stub) => ({ node, stub })));
    for (const e of edges) await nodes[e.from].node.addnode(`127.0.0.1:${nodes[e.to].port}`, 'add');
    for (const l of stubLinks) await nodes[l.node].node.addnode(`127.0.0.1:${stubs[l.stub].port}`, 'add');
    const wiredAt = performance.now();
    return {
      nodes,
      stubs,
      edges,
      stubLinks,
      topology,
      root,
      chain,
      wiredAt,
      heights: () => Promise.all(nodes.map(async (n) => Number(await n.node.chainCall('getblockcount')))),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
