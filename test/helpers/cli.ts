import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from './fixtures.js';

/** The `peerd` command of this checkout. */
export const peerdBin = join(projectRoot(), 'bin', 'peerd.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `peerd ARGS…` as a child process to completion; SIGKILLed if the test process exits first. */
export function runPeerd(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [peerdBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const kill = (): void => void p.kill('SIGKILL');
    process.once('exit', kill);
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => {
      process.removeListener('exit', kill);
      resolve({ code, stdout, stderr });
    });
  });
}
