/**
 * `npm run soak -- --hours H` (or `--minutes M`): the soak run of src/tools/soak/soak.ts from the
 * command line. Progress lines go to stderr, the report table to stdout, the JSON to --report
 * (default soak-report.json in the current directory). Exit status 0 when every invariant held
 * at every checkpoint, 1 when one broke, 2 for bad arguments.
 */
import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runSoak, soakReportText } from './soak.js';
import { killAllChildren } from '../sim/node.js';

interface Opts {
  hours?: string;
  minutes?: string;
  interval: string;
  peers: string;
  rate: string;
  seed: string;
  report: string;
}

export async function main(argv: readonly string[]): Promise<number> {
  let code = 0;
  const program = new Command()
    .name('soak')
    .description('a peerd node with simulated peers and the chaos monkey at a low rate, invariants checked at every checkpoint')
    .option('--hours <h>', 'run time in hours')
    .option('--minutes <m>', 'run time in minutes (for short runs)')
    .option('--interval <seconds>', 'seconds between checkpoints (one chaos round each)', '60')
    .option('--peers <n>', 'simulated inbound peers', '50')
    .option('--rate <per_s>', 'chaos kills per second against peers (other targets: at most 0.04/s)', '0.1')
    .option('--seed <n>', 'chaos seed', '1')
    .option('--report <file>', 'JSON report', 'soak-report.json')
    .exitOverride()
    .action(async (o: Opts) => {
      const hours = o.hours === undefined ? 0 : Number(o.hours);
      const minutes = o.minutes === undefined ? 0 : Number(o.minutes);
      const durationS = hours * 3600 + minutes * 60;
      const nums = { interval: Number(o.interval), peers: Number(o.peers), rate: Number(o.rate), seed: Number(o.seed) };
      const bad =
        !Number.isFinite(durationS) || durationS <= 0
          ? '--hours or --minutes (> 0)'
          : !(nums.interval >= 10)
            ? '--interval (≥ 10 s)'
            : !Number.isInteger(nums.peers) || nums.peers < 1
              ? '--peers'
              : !(nums.rate > 0)
                ? '--rate'
                : !Number.isInteger(nums.seed)
                  ? '--seed'
                  : null;
      if (bad !== null) {
        process.stderr.write(`soak: bad or missing ${bad}\n`);
        code = 2;
        return;
      }
      const report = await runSoak({
        durationS,
        intervalS: Math.min(nums.interval, durationS),
        peers: nums.peers,
        rate: nums.rate,
        seed: nums.seed,
        log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
      });
      process.stdout.write(soakReportText(report) + '\n');
      const file = resolve(o.report);
      writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
      process.stdout.write(`report: ${file}\n`);
      code = report.ok ? 0 : 1;
    });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    const c = (err as { exitCode?: number }).exitCode;
    if (typeof c === 'number') return c === 0 ? 0 : 2;
    process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  return code;
}

// Run when executed directly (node dist/src/tools/soak/main.js).
if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${resolve(process.argv[1])}`).href) {
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      killAllChildren();
      process.exit(130);
    });
  process.exitCode = await main(process.argv.slice(2));
}
