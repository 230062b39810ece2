/**
 * The data directory lock, as Bitcoin Core's (`<datadir>/.lock`, held for the life of the
 * process): an exclusive `flock(2)` on the file, taken before anything else in the directory is
 * touched. The kernel releases it when the process ends however it ends (`kill -9` included),
 * so a stale lock never blocks a restart. Two locks on one file conflict even inside one
 * process (flock locks belong to the open file, not the process), so two nodes of one test
 * process cannot share a directory either.
 *
 * The file holds the holder's pid, for the message a second process prints; it is never
 * deleted (deleting it would let a third process lock a new file beside a live holder).
 */
import { closeSync, constants as fsc, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { flockSync } from 'fs-ext';

export const LOCK_FILE = '.lock';

/** Another process (or another node of this one) holds the directory. */
export class DatadirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holderPid: number | null,
  ) {
    super(
      `Cannot obtain a lock on data directory ${dir}. peerd is probably already running` +
        (holderPid !== null ? ` (process ${holderPid})` : '') +
        '; stop it first, or give this one another --datadir.',
    );
    this.name = 'DatadirLockedError';
  }
}

export interface DatadirLock {
  readonly dir: string;
  readonly path: string;
  /** Released (idempotent): the next process may take the directory. */
  release(): void;
  readonly held: boolean;
}

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function readPid(path: string): number | null {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/**
 * Takes the lock on `dir` (created if missing) or throws {@link DatadirLockedError} at once (it
 * never waits). Any other failure (permissions, a read-only disk) is thrown as it is.
 */
export function lockDatadir(dir: string): DatadirLock {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  // Read-write, created if missing, never truncated before the lock is ours.
  const fd = openSync(path, fsc.O_RDWR | fsc.O_CREAT, 0o644);
  try {
    flockSync(fd, 'exnb');
  } catch (err) {
    closeSync(fd);
    const code = errCode(err);
    if (code === 'EWOULDBLOCK' || code === 'EAGAIN') throw new DatadirLockedError(dir, readPid(path));
    throw err;
  }
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
  } catch {
    // The pid is only a courtesy for the message; the lock is what counts.
  }
  let held = true;
  return {
    dir,
    path,
    get held() {
      return held;
    },
    release() {
      if (!held) return;
      held = false;
      // Closing the descriptor drops the flock; the file stays (see the module comment).
      closeSync(fd);
    },
  };
}
