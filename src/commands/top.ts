/**
 * `peerd top [connection flags] [--interval MS]`: the live terminal view of a running node (peers,
 * actor tree, bandwidth, sync) with keys to kick, ban, throttle, kill and crash. It finds the
 * node as `peerd rpc` does and talks to it over JSON-RPC only.
 */
import type { Command } from 'commander';
import { rpcCall } from '../rpc/client.js';
import { addConnOptions, connFromOptions, connSettings, type ConnOpts } from './rpc.js';

interface TopOpts extends ConnOpts {
  interval: string;
}

export function installTop(program: Command, setExit: (code: number) => void): void {
  addConnOptions(
    program
      .command('top')
      .description('live full-screen view of a running node: peers (sortable), actor tree, bandwidth, sync; keys to kick, ban, throttle, kill (? for help)')
      .option('--interval <ms>', 'refresh every this many milliseconds', '1000'),
  ).action(async (opts: TopOpts) => {
    const intervalMs = Number(opts.interval);
    if (!Number.isInteger(intervalMs) || intervalMs < 100 || intervalMs > 3_600_000) {
      process.stderr.write('peerd top: --interval must be a whole number of milliseconds, 100 to 3600000\n');
      return setExit(2);
    }
    const network = connSettings(opts).network;
    const conn = { ...connFromOptions(opts), timeoutMs: Math.max(2000, intervalMs * 2) };
    try {
      // Loaded here, so that the other commands do not pay for React, Ink and its layout engine;
      // React's production build unless asked otherwise (this process is only `peerd top`).
      process.env.NODE_ENV ??= 'production';
      // Ink draws only the final frame when CI is set (it reads the variable when it loads); `top`
      // runs on a terminal (it refuses anything else), so that setting can only be inherited by mistake.
      delete process.env.CI;
      const { runTop } = await import('../top/app.js');
      await runTop({ call: (method, params) => rpcCall(conn, method, [...params]), network, intervalMs });
    } catch (err) {
      process.stderr.write(`peerd top: ${err instanceof Error ? err.message : String(err)}\n`);
      return setExit(1);
    }
    setExit(0);
  });
}
