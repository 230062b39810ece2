/**
 * Bitcoin Core's binaries for interop tests: `<project root>/../shared/bin/` first, then PATH.
 * Null when neither has them (a user's clone has no ../shared): the test skips with
 * {@link missingCore}'s message. Core is never copied into the repository.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import type { RpcClientOptions } from '../../src/rpc/client.js';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './fixtures.js';

/** The path of `bitcoind` or `bitcoin-cli` that runs here, or null. */
export function coreBin(name: 'bitcoind' | 'bitcoin-cli'): string | null {
  const shared = join(projectRoot(), '..', 'shared', 'bin', name);
  const candidates = [shared];
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim() !== '') candidates.push(r.stdout.trim());
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
    } catch {
      continue;
    }
    // Present is not enough: it must run (it needs libevent from apt).
    if (spawnSync(c, ['-version'], { encoding: 'utf8', timeout: 10_000 }).status === 0) return c;
  }
  return null;
}

export function missingCore(name: string): string {
  return `${name} (Bitcoin Core v30) not found in <project root>/../shared/bin/ nor on PATH, or it does not run (it needs libevent: apt-get install libevent-core-2.1-7 libevent-extra-2.1-7 libevent-pthreads-2.1-7)`;
}

/** A TCP port free on 127.0.0.1 now (bound to port 0, read back, released), for a process that takes its port as a flag. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A `bitcoind -regtest` child of a test: its RPC, its recent output, stopped after the test. */
export interface CoreRun {
  readonly proc: ChildProcess;
  readonly rpc: RpcClientOptions;
  /** Core's last `n` output lines, for a failure message. */
  lastLines(n?: number): string;
}

/**
 * Starts `bitcoind -regtest` in `datadir` with RPC on a free 127.0.0.1 port (user peerd), no DNS
 * or fixed seeds, `-debug=net` to stdout, and `args`; SIGTERM and a wait for its exit after the test.
 */
export async function runCore(t: { after(f: () => void | Promise<void>): void }, bitcoind: string, datadir: string, args: readonly string[]): Promise<CoreRun> {
  const rpcport = await freePort();
  const proc = spawn(
    bitcoind,
    ['-regtest', `-datadir=${datadir}`, '-dnsseed=0', '-fixedseeds=0', '-server=1', '-rpcbind=127.0.0.1', '-rpcallowip=127.0.0.1', `-rpcport=${rpcport}`, '-rpcuser=peerd', '-rpcpassword=interop', '-printtoconsole=1', '-debug=net', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  t.after(async () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    await exited;
  });
  const log: string[] = [];
  const keep = (line: string): void => {
    log.push(line);
    if (log.length > 300) log.shift();
  };
  createInterface({ input: proc.stdout! }).on('line', keep);
  proc.stderr?.on('data', (d: Buffer) => keep(d.toString()));
  return { proc, rpc: { host: '127.0.0.1', port: rpcport, credentials: 'peerd:interop' }, lastLines: (n = 30) => log.slice(-n).join('\n') };
}
