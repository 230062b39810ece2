/**
 * Bitcoin Core's binaries for interop tests: `<project root>/../shared/bin/` first, then PATH.
 * Null when neither has them (a user's clone has no ../shared): the test skips with
 * {@link missingCore}'s message. Core is never copied into the repository.
 */
import { spawnSync } from 'node:child_process';
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
