/**
 * `peerd sim`: N scripted peers on loopback against a regtest node started as a child process
 * (or an existing loopback node with --connect). Prints a table, writes the JSON report with
 * --report; exit 0 when every peer handshook and none was dropped, 1 otherwise, 2 for bad
 * arguments (a non-loopback --connect, rates out of range, N above the open-files limit).
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { openFilesLimits } from '../tools/sim/measure.js';
import { MAX_RATE } from '../tools/sim/peers.js';
import { fdsNeeded, isLoopbackHost, parseHostPort, runSim, simReportText } from '../tools/sim/run.js';
import { killAllChildren } from '../tools/sim/node.js';

interface SimOpts {
  peers: string;
  duration: string;
  report?: string;
  pingRate: string;
  addrRate: string;
  getheadersRate: string;
  connect?: string;
}

export function installSim(program: Command, setExit: (code: number) => void): void {
  program
    .command('sim')
    .description('simulation: N scripted peers on loopback handshake, ping, gossip addresses and request headers against one node; reports RSS per peer, CPU, ping RTT and messages/s')
    .requiredOption('--peers <n>', 'number of scripted peers')
    .option('--duration <seconds>', 'measurement window, after every peer has connected', '10')
    .option('--report <file>', 'write the JSON report here')
    .option('--ping-rate <per_s>', `pings per second per peer (0..${MAX_RATE})`, '1')
    .option('--addr-rate <per_s>', `addr messages per second per peer, each with three 127.x.y.z:1 addresses (0..${MAX_RATE})`, '0')
    .option('--getheaders-rate <per_s>', `getheaders (genesis locator) per second per peer (0..${MAX_RATE})`, '0')
    .option('--connect <host:port>', 'target this node (loopback only) instead of starting a regtest node')
    .action(async (opts: SimOpts) => {
      const fail = (msg: string): void => {
        process.stderr.write(`peerd sim: ${msg}\n`);
        setExit(2);
      };
      const peers = Number(opts.peers);
      const durationS = Number(opts.duration);
      if (!Number.isInteger(peers) || peers < 1) return fail(`bad --peers ${JSON.stringify(opts.peers)} (a positive integer)`);
      if (!Number.isFinite(durationS) || durationS <= 0) return fail(`bad --duration ${JSON.stringify(opts.duration)} (seconds > 0)`);
      const rates = { 'ping-rate': Number(opts.pingRate), 'addr-rate': Number(opts.addrRate), 'getheaders-rate': Number(opts.getheadersRate) };
      for (const [k, v] of Object.entries(rates)) if (!Number.isFinite(v) || v < 0 || v > MAX_RATE) return fail(`bad --${k} (0..${MAX_RATE} per second per peer)`);
      let connect: { host: string; port: number } | undefined;
      if (opts.connect !== undefined) {
        const hp = parseHostPort(opts.connect);
        if (!hp) return fail(`bad --connect ${JSON.stringify(opts.connect)} (HOST:PORT)`);
        if (!isLoopbackHost(hp.host)) return fail(`refusing --connect ${opts.connect}: the simulation only targets loopback nodes (127.0.0.0/8, ::1, localhost)`);
        connect = hp;
      }
      const limits = openFilesLimits();
      const needed = fdsNeeded(peers);
      if (limits !== null && limits.soft < needed) {
        return fail(
          `--peers ${peers} is too high for the open-files limit ${limits.soft} (ulimit -n; hard limit ${limits.hard}): this process needs about ${needed} descriptors, and the node as many. ` +
            `Raise it first, e.g. \`ulimit -n ${Math.min(limits.hard, needed * 2)}\`, or run fewer peers.`,
        );
      }
      const onSignal = (): void => {
        killAllChildren();
        process.exit(130);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const report = await runSim({ peers, durationS, pingRate: rates['ping-rate'], addrRate: rates['addr-rate'], getheadersRate: rates['getheaders-rate'], connect, log: (l) => process.stderr.write(`peerd sim: ${l}\n`) });
        process.stdout.write(simReportText(report) + '\n');
        if (opts.report !== undefined) writeFileSync(opts.report, JSON.stringify(report, null, 2) + '\n');
        setExit(report.ok ? 0 : 1);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
