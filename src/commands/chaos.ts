/**
 * `peerd chaos`: the chaos monkey against a running node, over JSON-RPC. Finds the node as
 * `peerd rpc` does (--network/--datadir/--rpcport/cookie), prints the report table, writes the
 * JSON report, and exits 1 when an invariant broke (2 for bad arguments).
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { addConnOptions, connFromOptions, type ConnOpts } from './rpc.js';
import { CHAOS_MODES, type ChaosMode } from '../tools/chaos/scheduler.js';
import { rpcTarget } from '../tools/chaos/target.js';
import { runChaos } from '../tools/chaos/runner.js';
import { reportText } from '../tools/chaos/report.js';

interface ChaosOpts extends ConnOpts {
  target: string;
  mode: string;
  rate: string;
  duration: string;
  seed: string;
  jitter: string;
  refill: string;
  stallMs: string;
  report?: string;
}

export function installChaos(program: Command, setExit: (code: number) => void): void {
  addConnOptions(
    program
      .command('chaos')
      .description('chaos monkey: kill actors matching a path pattern at a seeded, jittered rate, then check the node healed (exit 1 if an invariant broke)')
      .requiredOption('--target <pattern>', "actor path glob, e.g. '/root/peers/*' ('*' one segment, '**' any); without a leading / it is under /root: chain, addressbook, 'peers/*'")
      .option('--mode <mode>', `${CHAOS_MODES.join(', ')}`, 'kill')
      .option('--rate <per_second>', 'kills per second', '1')
      .option('--duration <seconds>', 'how long to kill', '10')
      .option('--seed <n>', 'PRNG seed (same seed, same tree: same victims in the same order)', '1')
      .option('--jitter <0..1>', 'spread of the interval between kills', '0.5')
      .option('--refill <seconds>', 'connections and replacements must be back within this', '10')
      .option('--stall-ms <ms>', 'for stall: how long each mailbox is blocked', '500')
      .option('--report <file>', 'write the JSON report here'),
  ).action(async (opts: ChaosOpts) => {
    const nums = { rate: Number(opts.rate), duration: Number(opts.duration), seed: Number(opts.seed), jitter: Number(opts.jitter), refill: Number(opts.refill), stallMs: Number(opts.stallMs) };
    const bad = Object.entries(nums).find(([, v]) => !Number.isFinite(v) || v < 0);
    if (bad || !(nums.rate > 0) || !Number.isInteger(nums.seed)) {
      process.stderr.write(`peerd chaos: bad --${bad?.[0] ?? (nums.rate > 0 ? 'seed' : 'rate')}\n`);
      return setExit(2);
    }
    if (!(CHAOS_MODES as readonly string[]).includes(opts.mode)) {
      process.stderr.write(`peerd chaos: unknown mode "${opts.mode}" (${CHAOS_MODES.join(', ')})\n`);
      return setExit(2);
    }
    const report = await runChaos(rpcTarget(connFromOptions(opts)), {
      target: opts.target,
      mode: opts.mode as ChaosMode,
      rate: nums.rate,
      durationS: nums.duration,
      seed: nums.seed,
      jitter: Math.min(1, nums.jitter),
      refillS: nums.refill,
      stallMs: nums.stallMs,
    });
    process.stdout.write(reportText(report) + '\n');
    if (opts.report !== undefined) writeFileSync(opts.report, JSON.stringify(report, null, 2) + '\n');
    setExit(report.ok ? 0 : 1);
  });
}
