/**
 * The embedded database: one LevelDB (classic-level) per network data directory, holding the
 * address book, bans, header index, chain state and block index. LevelDB was chosen over SQLite
 * because it ships prebuilt in its npm package (no compiler at install), writes are atomic
 * batches with a write-ahead log (a `kill -9` loses at most unsynced writes, never tears a
 * batch), and sorted keys make height and hash indexes natural. `sync: true` is used for
 * writes that must never be lost (bans, tried promotions, block index entries).
 */
import { ClassicLevel } from 'classic-level';
import type { Db } from '../contracts/store.js';
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';

export const STORE_FORMAT = 'peerd-store-1';
const FORMAT_KEY = '!meta!format';

export class StoreError extends Error {
  constructor(
    message: string,
    readonly movedTo: string | null,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface OpenedStore {
  readonly db: Db;
  readonly path: string;
  /** Set when LevelDB reported the store corrupt and it was moved aside (the new one is empty). */
  readonly movedAside: { readonly to: string; readonly reason: string } | null;
}

function moveAside(path: string, why: string): string {
  const to = `${path}.${why}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(path, to);
  return to;
}

async function tryOpen(path: string): Promise<Db> {
  const db = new ClassicLevel<string, Buffer>(path, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
  await db.open({ createIfMissing: true });
  return db;
}

/** classic-level's code for why an open failed: `LEVEL_CORRUPTION`, `LEVEL_LOCKED`, `LEVEL_IO_ERROR`, … */
function levelCode(err: unknown): string | undefined {
  const codeOf = (e: unknown): string | undefined =>
    typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
  const cause = typeof err === 'object' && err !== null && 'cause' in err ? (err as { cause: unknown }).cause : undefined;
  return codeOf(cause) ?? codeOf(err);
}

function detail(err: unknown): string {
  const cause = typeof err === 'object' && err !== null && 'cause' in err ? (err as { cause: unknown }).cause : undefined;
  const e = cause instanceof Error ? cause : err;
  return e instanceof Error ? e.message : String(e);
}

/**
 * Opens (creating if needed) the store at `<dir>/store`. Only corruption that LevelDB itself
 * reports moves the store aside (to a dated name, reported in `movedAside`; the new store is
 * empty and the block files are re-indexed into it). Anything else that stops the open (the
 * store locked by another process, an I/O error, a database that is not peerd's, a newer
 * format) is a {@link StoreError} that changes nothing on disk.
 */
export async function openStore(dir: string): Promise<OpenedStore> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'store');
  let movedAside: OpenedStore['movedAside'] = null;
  let db: Db;
  try {
    db = await tryOpen(path);
  } catch (err) {
    const code = levelCode(err);
    if (code === 'LEVEL_LOCKED') {
      throw new StoreError(`the store ${path} is locked by another process (${detail(err)}): is another peerd running on this datadir? Nothing was changed`, null);
    }
    if (code !== 'LEVEL_CORRUPTION' || !existsSync(path)) {
      throw new StoreError(
        `the store ${path} could not be opened (${detail(err)}); nothing was changed. If the disk is fine and the store is damaged, move it aside: the block files are kept and re-indexed at the next start`,
        null,
      );
    }
    movedAside = { to: moveAside(path, 'corrupt'), reason: `corrupt: ${detail(err)}` };
    db = await tryOpen(path);
  }
  const format = await db.get(FORMAT_KEY);
  if (format === undefined) {
    let hasKeys = false;
    for await (const _k of db.keys({ limit: 1 })) hasKeys = true;
    if (hasKeys) {
      await db.close();
      throw new StoreError(`the store ${path} is a database without peerd’s format marker (not peerd's): nothing was changed; move it away or use another --datadir`, null);
    }
    await db.put(FORMAT_KEY, Buffer.from(STORE_FORMAT), { sync: true });
  } else if (format.toString() !== STORE_FORMAT) {
    await db.close();
    throw new StoreError(`store ${path} has format ${format.toString()}, this peerd reads ${STORE_FORMAT}`, null);
  }
  return { db, path, movedAside };
}

/** True when a directory holds anything (used to tell a fresh datadir from an old one). */
export function isNonEmptyDir(path: string): boolean {
  return existsSync(path) && readdirSync(path).length > 0;
}
