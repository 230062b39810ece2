/**
 * `peerd net`: starts a multi-node test network on loopback (K in-process regtest nodes wired as
 * a ring or a random graph, a stub chain peer on node 0), measures block and address propagation,
 * prints a report (JSON with --report) and stops it. Exit 0 when everything propagated, 1 when
 * not, 2 for bad flags.
 *
 * `peerd demo`: the same kind of network (three nodes in a ring, node 0 with the web inspector),
 * printed instructions, running until SIGINT/SIGTERM; then everything is stopped and removed.
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { TOPOLOGIES, type Topology } from '../tools/testnet/topology.js';
import { netReportText, runNet } from '../tools/testnet/report.js';
import { demoText, linkPeerPath, startDemo } from '../tools/testnet/demo.js';
import { announceBlock, measureSync } from '../tools/testnet/propagation.js';
import type { TestNetwork } from '../tools/testnet/network.js';
import { WirePeer } from '../tools/testnet/wire-peer.js';
import { sleep } from '../util/sleep.js';

interface NetOpts {
  nodes: string;
  topology: string;
  degree: string;
  seed: string;
  blocks: string;
  txsPerBlock: string;
  stubPeers: string;
  duration: string;
  report?: string;
}

interface DemoOpts {
  blocks: string;
  txsPerBlock: string;
  nodes: string;
  inspectPort: string;
  mineEvery: string;
}

const intIn = (s: string, min: number, max: number): number | null => (/^\d+$/.test(s) && Number(s) >= min && Number(s) <= max ? Number(s) : null);

export function installNet(program: Command, setExit: (code: number) => void): void {
  program
    .command('net')
    .description('multi-node test network on loopback: K regtest nodes (ring or random graph) and a stub chain peer; reports block and address propagation')
    .requiredOption('--nodes <k>', 'number of peerd nodes (1..64)')
    .option('--topology <name>', TOPOLOGIES.join(' or '), 'ring')
    .option('--degree <n>', 'random: neighbours per node, at least', '2')
    .option('--seed <n>', 'random: seed of the graph (and of the chain)', '1')
    .option('--blocks <n>', 'blocks of the generated chain the stub peer serves (0: no chain)', '300')
    .option('--txs-per-block <n>', 'synthetic transactions per generated block', '0')
    .option('--stub-peers <n>', 'stub chain peers, all dialled by node 0', '1')
    .option('--duration <seconds>', 'how long to watch the gossiped address spread', '5')
    .option('--report <file>', 'write the JSON report here')
    .action(async (opts: NetOpts) => {
      const fail = (msg: string): void => {
        process.stderr.write(`peerd net: ${msg}\n`);
        setExit(2);
      };
      const nodes = intIn(opts.nodes, 1, 64);
      const degree = intIn(opts.degree, 1, 8);
      const seed = intIn(opts.seed, 0, 0xffffffff);
      const blocks = intIn(opts.blocks, 0, 100_000);
      const txs = intIn(opts.txsPerBlock, 0, 1000);
      const stubPeers = intIn(opts.stubPeers, 0, 8);
      const duration = Number(opts.duration);
      if (nodes === null) return fail(`bad --nodes ${JSON.stringify(opts.nodes)} (1..64)`);
      if (!(TOPOLOGIES as readonly string[]).includes(opts.topology)) return fail(`unknown --topology ${JSON.stringify(opts.topology)} (${TOPOLOGIES.join(', ')})`);
      if (degree === null) return fail(`bad --degree ${JSON.stringify(opts.degree)} (1..8)`);
      if (seed === null) return fail(`bad --seed ${JSON.stringify(opts.seed)}`);
      if (blocks === null) return fail(`bad --blocks ${JSON.stringify(opts.blocks)} (0..100000)`);
      if (txs === null) return fail(`bad --txs-per-block ${JSON.stringify(opts.txsPerBlock)} (0..1000)`);
      if (stubPeers === null) return fail(`bad --stub-peers ${JSON.stringify(opts.stubPeers)} (0..8)`);
      if (!Number.isFinite(duration) || duration <= 0 || duration > 3600) return fail(`bad --duration ${JSON.stringify(opts.duration)} (seconds, 0 < S ≤ 3600)`);
      const report = await runNet({
        nodes,
        topology: opts.topology as Topology,
        degree,
        seed,
        chainBlocks: blocks,
        txsPerBlock: txs,
        stubPeers: blocks > 0 ? stubPeers : 0,
        addressWindowMs: Math.round(duration * 1000),
        log: (l) => process.stderr.write(`peerd net: ${l}\n`),
      });
      process.stdout.write(netReportText(report) + '\n');
      if (opts.report !== undefined) writeFileSync(opts.report, JSON.stringify(report, null, 2) + '\n');
      setExit(report.ok ? 0 : 1);
    });
}

export function installDemo(program: Command, setExit: (code: number) => void): void {
  program
    .command('demo')
    .description('a small regtest network on loopback (stub chain peer, three nodes in a ring, the web inspector on node 0) to try peerd on; runs until Ctrl-C')
    .option('--blocks <n>', 'blocks of the generated chain', '400')
    .option('--txs-per-block <n>', 'synthetic transactions per generated block', '5')
    .option('--nodes <k>', 'peerd nodes in the ring', '3')
    .option('--inspect-port <port>', "the inspector's port on 127.0.0.1 (0: a free one)", '0')
    .option('--mine-every <seconds>', 'mine a new block and hand it to node 0 this often (0: never)', '30')
    .action(async (opts: DemoOpts) => {
      const fail = (msg: string): void => {
        process.stderr.write(`peerd demo: ${msg}\n`);
        setExit(2);
      };
      const blocks = intIn(opts.blocks, 1, 100_000);
      const txs = intIn(opts.txsPerBlock, 0, 1000);
      const nodes = intIn(opts.nodes, 1, 16);
      const inspectPort = intIn(opts.inspectPort, 0, 65535);
      const mineEvery = Number(opts.mineEvery);
      if (blocks === null) return fail(`bad --blocks ${JSON.stringify(opts.blocks)} (1..100000)`);
      if (txs === null) return fail(`bad --txs-per-block ${JSON.stringify(opts.txsPerBlock)} (0..1000)`);
      if (nodes === null) return fail(`bad --nodes ${JSON.stringify(opts.nodes)} (1..16)`);
      if (inspectPort === null) return fail(`bad --inspect-port ${JSON.stringify(opts.inspectPort)} (0..65535)`);
      if (!Number.isFinite(mineEvery) || mineEvery < 0) return fail(`bad --mine-every ${JSON.stringify(opts.mineEvery)} (seconds, 0 = never)`);
      setExit(await runDemo({ blocks, txs, nodes, inspectPort, mineEveryMs: mineEvery * 1000 }));
    });
}

async function runDemo(o: { blocks: number; txs: number; nodes: number; inspectPort: number; mineEveryMs: number }): Promise<number> {
  const out = (s: string): void => void process.stdout.write(s + '\n');
  let signalled = false;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const onSignal = (): void => {
    if (signalled) {
      process.stderr.write('peerd demo: second signal, exiting at once\n');
      process.exit(130);
    }
    signalled = true;
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let net: TestNetwork | null = null;
  let timer: NodeJS.Timeout | undefined;
  const mining: { peer: WirePeer | null } = { peer: null };
  try {
    process.stderr.write(`peerd demo: generating ${o.blocks} blocks and starting ${o.nodes} nodes…\n`);
    net = await startDemo({ blocks: o.blocks, txsPerBlock: o.txs, nodes: o.nodes, inspectPort: o.inspectPort });
    if (signalled) return 0;
    const demoNet = net;
    // Node-0's link to node-1 up before the text suggests killing it (usually within milliseconds).
    let linked = false;
    for (let i = 0; i < 50 && o.nodes > 1 && !linked && !signalled; i++) {
      linked = (await linkPeerPath(demoNet, 0, 1).catch(() => null)) !== null;
      if (!linked) await sleep(100);
    }
    out(demoText(demoNet));
    out('');
    for (const n of demoNet.nodes) {
      n.node.events.on('peer-disconnected', (p) => !signalled && out(`node-${n.index}: peer ${p.address} (${p.connType}) gone: ${p.reason}`));
      n.node.events.on('peer-connected', (p) => !signalled && out(`node-${n.index}: peer ${p.address} (${p.connType}) connected`));
    }
    const sync = await Promise.race([measureSync(demoNet, { timeoutMs: 300_000, pollMs: 100 }), stopped.then(() => null)]);
    if (sync) out(sync.allMs === null ? `not synced after 300 s: heights ${sync.heights.join(', ')}` : `synced: all ${demoNet.nodes.length} nodes at height ${sync.height} (${sync.allMs} ms; per node ${sync.perNodeMs.join(', ')} ms)`);
    if (o.mineEveryMs > 0 && !signalled) {
      let busy = false;
      // One connection for the miner, kept open (it shows as an inbound peer of node-0) and redialled if it goes.
      const mine = async (): Promise<Awaited<ReturnType<typeof announceBlock>>> => {
        if (mining.peer === null || mining.peer.closed) mining.peer = await WirePeer.connect({ port: demoNet.nodes[0].port, userAgent: '/peerd-demo-miner:0.1.0/' });
        mining.peer.drop();
        return announceBlock(demoNet, { timeoutMs: 20_000, miner: mining.peer });
      };
      timer = setInterval(() => {
        if (busy || signalled) return;
        busy = true;
        mine()
          .then((b) => out(`mined block ${b.height} ${b.hash.slice(0, 16)}… handed to node-0: ${b.allMs === null ? `not on every node after 20 s (${b.perNodeMs.map((x) => x ?? '—').join(', ')})` : `on every node in ${b.allMs} ms`}`))
          .catch((err: unknown) => out(`mining: ${err instanceof Error ? err.message : String(err)}`))
          .finally(() => (busy = false));
      }, o.mineEveryMs);
    }
    await stopped;
    return 0;
  } catch (err) {
    process.stderr.write(`peerd demo: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    clearInterval(timer);
    mining.peer?.close();
    if (net) {
      process.stderr.write('peerd demo: stopping…\n');
      await net.stop();
      process.stderr.write(`peerd demo: stopped; removed ${net.root}\n`);
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
