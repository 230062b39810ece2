/**
 * The demo (issue 8): a small regtest network on loopback only — one stub chain peer serving a
 * freshly generated chain, three peerd nodes in a ring, the first with the web inspector open on
 * 127.0.0.1 and every node with its JSON-RPC server — and the text that tells what to try.
 * `peerd demo` runs it until Ctrl-C; this module holds the parts it is made of.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNetwork, type TestNetwork } from './network.js';
import { PEERS, peerName } from '../../contracts/peer.js';

export interface DemoOptions {
  /** Blocks of the generated chain (default 400). */
  readonly blocks?: number;
  /** Synthetic transactions per block (default 5: blocks of a few kB, so the byte counters move). */
  readonly txsPerBlock?: number;
  /** peerd nodes in the ring (default 3). */
  readonly nodes?: number;
  /** The inspector's port on 127.0.0.1 (default 0: a free one). */
  readonly inspectPort?: number;
}

/** Starts the demo network: everything binds 127.0.0.1, data goes to a new temporary directory removed on stop. */
export async function startDemo(o: DemoOptions = {}): Promise<TestNetwork> {
  return startNetwork({
    nodes: o.nodes ?? 3,
    topology: 'ring',
    chainBlocks: o.blocks ?? 400,
    txsPerBlock: o.txsPerBlock ?? 5,
    stubPeers: 1,
    stubNodes: [0],
    inspectFirst: `127.0.0.1:${o.inspectPort ?? 0}`,
    rpc: true,
    datadirRoot: mkdtempSync(join(tmpdir(), 'peerd-demo-')),
    removeOnStop: true,
  });
}

/** Where bin/peerd.js is (this file is dist/src/tools/testnet/demo.js). */
export const peerdBin = (): string => fileURLToPath(new URL('../../../../bin/peerd.js', import.meta.url));

/** How to run peerd from here: `peerd` if it is what runs, else `node <path to bin/peerd.js>` (relative when shorter). */
export function peerdCommand(cwd = process.cwd()): string {
  const bin = peerdBin();
  const rel = relative(cwd, bin);
  return `node ${rel.length < bin.length && !rel.startsWith('..') ? rel : bin}`;
}

/** The text printed once the network is up: the inspector link, every node's ports and cookie, and what to try. */
export function demoText(net: TestNetwork, o: { readonly peerd?: string } = {}): string {
  const peerd = o.peerd ?? peerdCommand();
  // By address, not by actor id: a replaced connection gets a new id, the address stays.
  const second = net.nodes[1];
  const victim = second ? `peer:127.0.0.1:${second.port}` : `${PEERS.path}/*`;
  const first = net.nodes[0];
  const conn = (i: number): string => {
    const n = net.nodes[i];
    return `--network regtest --datadir ${n.datadir} --rpcport ${n.rpc?.port ?? '?'}`;
  };
  const ring = [...net.nodes.map((n) => `node-${n.index}`), 'node-0'].join(' → ');
  const stub = net.stubs[0];
  const lines: string[] = [];
  lines.push(`peerd demo: a regtest network on 127.0.0.1 (data in ${net.root}, removed on Ctrl-C)`);
  lines.push('');
  if (stub && net.chain) lines.push(`  chain      stub chain peer 127.0.0.1:${stub.port} serves ${net.chain.height} generated blocks (tip ${net.chain.tip.slice(0, 16)}…)`);
  lines.push(`  topology   ring ${ring}; only node-0 talks to the stub peer, the others sync through peerd nodes`);
  lines.push('');
  if (first?.inspect) {
    lines.push(`  inspector  ${first.inspect.tokenUrl}`);
    lines.push(`             (node-0's live page; the link works once, then ${first.inspect.url} with the session cookie or the RPC cookie as HTTP Basic)`);
    lines.push('');
  }
  lines.push('  node    p2p port  rpc port  cookie file');
  for (const n of net.nodes) lines.push(`  node-${String(n.index).padEnd(2)} ${String(n.port).padEnd(9)} ${String(n.rpc?.port ?? '-').padEnd(9)} ${n.rpc?.cookieFile ?? '-'}`);
  lines.push('');
  lines.push('Try (in another terminal):');
  lines.push(`  ${peerd} top ${conn(1)}`);
  lines.push('      node-1 live in the terminal: peers, sync, actor tree');
  lines.push(`  ${peerd} tree ${conn(0)}`);
  lines.push(`  ${peerd} kill ${victim} kill ${conn(0)}`);
  lines.push(
    `      kill node-0's peer actor ${second ? 'of its link to node-1 (named by address, so it works again after every heal)' : '(every one: a pattern)'}: the connection manager redials it (addnode), the tree heals`,
  );
  lines.push(`  ${peerd} kill /root/chain crash ${conn(1)}`);
  lines.push('      crash the block actor: its supervisor restarts it and it reloads the chain from its store');
  lines.push(`  ${peerd} throttle all 2000 2000 ${conn(0)}`);
  lines.push('      limit every peer of node-0 to 2 kB/s each way (setpeerlimit; "all 0 0" lifts it); watch the bandwidth chart');
  lines.push(`  ${peerd} rpc getblockchaininfo ${conn(2)}`);
  lines.push('  In the page: click any actor, then "kill" or "crash"; click a peer to kick, ban or throttle it.');
  lines.push('');
  lines.push('Ctrl-C stops every node and the stub peer and removes the data directory.');
  return lines.join('\n');
}

/** The actor path of node `from`'s outbound peer to node `to` (for the text), or null while it is not connected. */
export async function linkPeerPath(net: TestNetwork, from: number, to: number): Promise<string | null> {
  const target = net.nodes[to];
  const peers = await net.nodes[from]?.node.peers();
  const p = peers?.find((x) => !x.inbound && x.endpoint.port === target?.port);
  return p ? peerName(p.id).path : null;
}
