/**
 * A peerd node in a child process for the simulation and the benchmarks: `node bin/peerd.js
 * start --network regtest --bind 127.0.0.1:0 --dnsseed 0 …`, its P2P port read from the
 * "listening" log line, warnings kept, and every child killed when this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sleep } from '../../util/sleep.js';

export interface NodeChild {
  readonly proc: ChildProcess;
  readonly pid: number;
  port: number;
  /** The RPC port from the "RPC server listening" line (when started with --rpcport), else null. */
  rpcPort: number | null;
  readonly warnings: string[];
  lines: number;
  exited: boolean;
}

export interface NodeChildOptions {
  readonly datadir: string;
  readonly maxconnections: number;
  /** V8/Node flags placed before bin/peerd.js. */
  readonly nodeFlags?: readonly string[];
  /** More `peerd start` arguments (e.g. ['--rpcport', '0']). */
  readonly extraArgs?: readonly string[];
}


/** Every child we started; killed on exit whatever happens. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
}

/** The package root (bin/peerd.js lives there), from dist/src/tools/sim/node.js. */
function projectRoot(): string {
  return fileURLToPath(new URL('../../../../', import.meta.url));
}

export async function startNodeChild(o: NodeChildOptions): Promise<NodeChild> {
  installExitHook();
  const bin = join(projectRoot(), 'bin', 'peerd.js');
  const args = [
    ...(o.nodeFlags ?? []), bin, 'start', '--network', 'regtest', '--datadir', o.datadir, '--bind', '127.0.0.1:0', '--dnsseed', '0',
    '--maxconnections', String(o.maxconnections), '--log-level', 'info', ...(o.extraArgs ?? []),
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: o.datadir });
  live.add(proc);
  let stderr = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (s: string) => {
    if (stderr.length < 4000) stderr += s;
  });
  const warnings: string[] = [];
  const child: NodeChild = { proc, pid: proc.pid ?? -1, port: 0, rpcPort: null, warnings, lines: 0, exited: false };
  proc.on('exit', () => {
    child.exited = true;
    live.delete(proc);
  });
  const stdout = proc.stdout;
  if (!stdout) throw new Error('child has no stdout');
  child.port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`node did not report listening within 15 s; stderr: ${stderr}`)), 15_000);
    proc.on('exit', (code, signal) => reject(new Error(`node exited (${code ?? signal}) before listening; stderr: ${stderr}`)));
    const rl = createInterface({ input: stdout });
    let found = false;
    rl.on('line', (line) => {
      child.lines++;
      if (child.rpcPort === null && line.includes('"RPC server listening"')) {
        const m = /"rpc":\["[^"]*:(\d+)"/.exec(line);
        if (m) child.rpcPort = Number(m[1]);
      }
      if (!found && line.includes('"listening"')) {
        const j = JSON.parse(line) as { msg?: string; port?: number };
        if (j.msg === 'listening' && typeof j.port === 'number') {
          found = true;
          clearTimeout(t);
          resolve(j.port);
        }
      } else if (/"level":(40|50|60)/.test(line) && warnings.length < 20) {
        warnings.push(line.slice(0, 300));
      }
    });
  }).catch((err: unknown) => {
    proc.kill('SIGKILL');
    throw err;
  });
  return child;
}

/** SIGTERM, then SIGKILL after 5 s. */
export async function stopNodeChild(c: NodeChild): Promise<void> {
  if (c.exited) return;
  const gone = new Promise<void>((r) => c.proc.once('exit', () => r()));
  c.proc.kill('SIGTERM');
  const timedOut = await Promise.race([gone.then(() => false), sleep(5000).then(() => true)]);
  if (timedOut) {
    c.proc.kill('SIGKILL');
    await Promise.race([gone, sleep(2000)]);
  }
}

/** Kills every child still running (SIGKILL). */
export function killAllChildren(): void {
  for (const p of live) p.kill('SIGKILL');
}

/** Waits until the child has logged its RPC address (it was started with --rpcport); returns the port. */
export async function childRpcPort(c: NodeChild, timeoutMs = 15_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (c.rpcPort === null) {
    if (c.exited) throw new Error('node exited before its RPC server listened');
    if (Date.now() > end) throw new Error(`no "RPC server listening" line within ${timeoutMs} ms`);
    await sleep(20);
  }
  return c.rpcPort;
}
