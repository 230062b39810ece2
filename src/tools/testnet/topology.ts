/**
 * Topologies of the test network, pure: which node dials which. An edge `{from, to}` means
 * node `from` keeps a manual connection (`addnode`) to node `to`; the connection carries
 * traffic both ways, so the graph the network forms is the undirected one.
 *
 * - `ring`: node i dials node i+1 (mod K); K = 2 is one edge, K = 1 none.
 * - `random`: seeded. A random spanning tree first, grown from the root (node 0 unless told):
 *   the other nodes, in a shuffled order, each dial one node placed before them, so every node
 *   has a path of its own outbound links to the root; then random extra edges until every node
 *   has at least `degree` neighbours or no node can take one more. No self-loops, no pair twice;
 *   no node dials more than `maxDials` others (peerd keeps at most 8 addnode peers).
 *
 * Why outbound paths to the root matter: a node downloads blocks from its outbound peers and
 * turns to inbound ones only when it has no outbound peer that serves blocks (see
 * `canFetchFrom` in src/chain/peers.ts), so a chain served to the root reaches a node only
 * along links that node dialled itself.
 */

export type Topology = 'ring' | 'random';

export const TOPOLOGIES: readonly Topology[] = ['ring', 'random'];

export interface Edge {
  readonly from: number;
  readonly to: number;
}

/** Most manual connections one node makes (connman's addnode limit). */
export const MAX_DIALS = 8;

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TopologyOptions {
  readonly nodes: number;
  readonly topology: Topology;
  /** random: neighbours each node should have at least (default 2; capped at nodes − 1). */
  readonly degree?: number;
  /** random: seed of the graph (default 1). */
  readonly seed?: number;
  /** random: the spanning tree's root, which every node reaches through its own outbound links (default 0). */
  readonly root?: number;
  readonly maxDials?: number;
}

export function buildEdges(o: TopologyOptions): Edge[] {
  const k = o.nodes;
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`nodes must be a non-negative integer (got ${k})`);
  if (o.topology === 'ring') {
    if (k < 2) return [];
    if (k === 2) return [{ from: 0, to: 1 }];
    return Array.from({ length: k }, (_, i) => ({ from: i, to: (i + 1) % k }));
  }
  const maxDials = o.maxDials ?? MAX_DIALS;
  const degree = Math.min(o.degree ?? 2, k - 1);
  if (!Number.isInteger(degree) || degree < 1) {
    if (k < 2) return [];
    throw new RangeError(`degree must be a positive integer (got ${o.degree})`);
  }
  const rand = seededRandom(o.seed ?? 1);
  const pick = (n: number): number => Math.floor(rand() * n);
  const edges: Edge[] = [];
  const adj: Set<number>[] = Array.from({ length: k }, () => new Set<number>());
  const dials = new Array<number>(k).fill(0);
  const add = (from: number, to: number): void => {
    edges.push({ from, to });
    adj[from].add(to);
    adj[to].add(from);
    dials[from]++;
  };
  const root = o.root ?? 0;
  if (!Number.isInteger(root) || root < 0 || root >= k) throw new RangeError(`root must be a node (got ${root})`);
  const order = [root, ...Array.from({ length: k }, (_, i) => i).filter((i) => i !== root)];
  for (let i = k - 1; i > 1; i--) {
    const j = 1 + pick(i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let i = 1; i < order.length; i++) add(order[i], order[pick(i)]);
  // Extra edges: a node short of `degree` dials a random node it is not linked to yet.
  for (let round = 0; round < k * k; round++) {
    const short = order.filter((n) => adj[n].size < degree && dials[n] < maxDials);
    if (short.length === 0) break;
    const from = short[pick(short.length)];
    const choices = order.filter((n) => n !== from && !adj[from].has(n));
    if (choices.length === 0) {
      dials[from] = maxDials; // nothing left to link: stop trying this one
      continue;
    }
    // Prefer partners that are short too, so degrees even out.
    const shortChoices = choices.filter((n) => adj[n].size < degree);
    const pool = shortChoices.length > 0 ? shortChoices : choices;
    add(from, pool[pick(pool.length)]);
  }
  return edges;
}

/** Neighbours of every node in the undirected graph of `edges`. */
export function neighbours(nodes: number, edges: readonly Edge[]): number[][] {
  const adj: Set<number>[] = Array.from({ length: nodes }, () => new Set<number>());
  for (const e of edges) {
    adj[e.from].add(e.to);
    adj[e.to].add(e.from);
  }
  return adj.map((s) => [...s].sort((a, b) => a - b));
}

/** Hops from `start` to every node (−1 when unreachable): breadth-first over the undirected graph. */
export function hopsFrom(nodes: number, edges: readonly Edge[], start: number): number[] {
  const adj = neighbours(nodes, edges);
  const hops = new Array<number>(nodes).fill(-1);
  if (start < 0 || start >= nodes) return hops;
  hops[start] = 0;
  const queue = [start];
  for (let q = 0; q < queue.length; q++) {
    const n = queue[q];
    for (const m of adj[n]) {
      if (hops[m] !== -1) continue;
      hops[m] = hops[n] + 1;
      queue.push(m);
    }
  }
  return hops;
}

/** Nodes that reach `target` by following dial edges (from → to): where a chain served to `target` can flow. */
export function dialReach(nodes: number, edges: readonly Edge[], target: number): boolean[] {
  const reach = new Array<boolean>(nodes).fill(false);
  if (target < 0 || target >= nodes) return reach;
  reach[target] = true;
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of edges) {
      if (reach[e.to] && !reach[e.from]) {
        reach[e.from] = true;
        changed = true;
      }
    }
  }
  return reach;
}
