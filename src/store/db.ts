import { ClassicLevel } from 'classic-level';
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The embedded database: one LevelDB (classic-level) per network data directory, holding the
 * address book, bans, header index, chain state and block index. LevelDB was chosen over SQLite
 * because it ships prebuilt in its npm package (no compiler at install), writes are atomic
 * batches with a write-ahead log (a `kill -9` loses at most unsynced writes, never tears a
 * batch), and sorted keys make height and hash indexes natural. `sync: true` is used for
 * writes that must never be lost (bans, tried promotions, block index entries).
 */
export type Db = ClassicLevel<string, Buffer>;

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
  /** Set when an unreadable or foreign store was found and moved aside (the new one is empty). */
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

/**
 * Opens (creating if needed) the store at `<dir>/store`. A store that LevelDB cannot open
 * (corrupt) or that is not peerd's (no format marker but keys present) is moved aside to a
 * dated name and reported in `movedAside`; it is never silently overwritten.
 */
export async function openStore(dir: string): Promise<OpenedStore> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'store');
  let movedAside: OpenedStore['movedAside'] = null;
  let db: Db;
  try {
    db = await tryOpen(path);
  } catch (err) {
    if (!existsSync(path)) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    movedAside = { to: moveAside(path, 'corrupt'), reason: `could not open: ${reason}` };
    db = await tryOpen(path);
  }
  const format = await db.get(FORMAT_KEY);
  if (format === undefined) {
    let hasKeys = false;
    for await (const _k of db.keys({ limit: 1 })) hasKeys = true;
    if (hasKeys) {
      await db.close();
      movedAside = { to: moveAside(path, 'foreign'), reason: 'a database without peerd’s format marker' };
      db = await tryOpen(path);
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
