/**
 * `peerd gen-chain --blocks N [--txs-per-block K] --out FILE`: writes N valid regtest blocks on
 * the regtest genesis as a block file (u32 LE length + raw block per record).
 *
 * `peerd serve-chain --blocks FILE --bind HOST:PORT [--network regtest]`: the stub chain peer;
 * prints one JSON line with the bound address once listening, and runs until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { generateChainFile } from '../tools/chain/generate.js';
import { startChainServer } from '../tools/chain/stub-peer.js';
import { NETWORKS, type NetworkName } from '../wire/network.js';

interface GenOpts {
  blocks: string;
  txsPerBlock: string;
  out: string;
  seed: string;
  spacing: string;
}

interface ServeOpts {
  blocks: string;
  bind: string;
  network: string;
}

/** Parses `host:port`, `[v6]:port` or `port`. */
export function parseBind(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return null;
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

const nonNegInt = (s: string): number | null => (/^\d+$/.test(s) ? Number(s) : null);

export function installGenChain(program: Command, setExit: (code: number) => void): void {
  program
    .command('gen-chain')
    .description('write N valid regtest blocks (on the regtest genesis) to a block file')
    .requiredOption('--blocks <n>', 'number of blocks')
    .requiredOption('--out <file>', 'output block file')
    .option('--txs-per-block <k>', 'synthetic segwit transactions per block', '0')
    .option('--seed <n>', 'seed (different seeds give different chains)', '0')
    .option('--spacing <seconds>', 'seconds between block timestamps', '600')
    .action(async (opts: GenOpts) => {
      const blocks = nonNegInt(opts.blocks);
      const txs = nonNegInt(opts.txsPerBlock);
      const seed = nonNegInt(opts.seed);
      const spacing = nonNegInt(opts.spacing);
      if (blocks === null || txs === null || seed === null || spacing === null || spacing < 1) {
        process.stderr.write('peerd gen-chain: --blocks, --txs-per-block, --seed and --spacing must be non-negative integers (spacing ≥ 1)\n');
        return setExit(2);
      }
      const r = await generateChainFile(opts.out, { blocks, txsPerBlock: txs, seed, spacing });
      process.stdout.write(JSON.stringify({ event: 'generated', file: opts.out, ...r, blocksPerSecond: r.ms > 0 ? Math.round((r.blocks * 1000) / r.ms) : null }) + '\n');
      setExit(0);
    });
}

export function installServeChain(program: Command, setExit: (code: number) => void): void {
  program
    .command('serve-chain')
    .description('stub chain peer: serve headers and blocks from a block file to anyone who connects')
    .requiredOption('--blocks <file>', 'block file (u32 LE length + raw block per record, heights 1..N)')
    .option('--bind <host:port>', 'address to listen on (port 0 picks one)', '127.0.0.1:0')
    .option('--network <name>', NETWORKS.join(', '), 'regtest')
    .action(async (opts: ServeOpts) => {
      const bind = parseBind(opts.bind);
      if (!bind) {
        process.stderr.write(`peerd serve-chain: bad --bind "${opts.bind}" (want host:port)\n`);
        return setExit(2);
      }
      if (!(NETWORKS as readonly string[]).includes(opts.network)) {
        process.stderr.write(`peerd serve-chain: unknown network "${opts.network}"\n`);
        return setExit(2);
      }
      const line = (o: Record<string, unknown>): void => void process.stdout.write(JSON.stringify({ time: Date.now(), ...o }) + '\n');
      const server = await startChainServer({ blocksFile: opts.blocks, host: bind.host, port: bind.port, network: opts.network as NetworkName, log: line });
      line({ event: 'listening', host: server.host, port: server.port, network: opts.network, height: server.height, tip: server.tip, fileBytes: server.index.fileBytes, inMemory: server.index.inMemory });
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
      line({ event: 'stopped', ...server.stats });
      setExit(0);
    });
}
