/**
 * The store actor's contract (`/root/store`, the first child of the root): the database handle
 * it hands out and how a user asks for it. A user asks in its own `init` and monitors the store:
 * a restarted store closes the handles it gave out, so its users crash and come back on the new one.
 */
import type { ClassicLevel } from 'classic-level';
import { actorName, ask, AskError, type ActorSystem, type Ref } from '../../supervisors/index.js';
import { ROOT } from './root.js';

/** The node's LevelDB (store/db.ts opens it): string keys, Buffer values. */
export type Db = ClassicLevel<string, Buffer>;

export interface StoreInfo {
  readonly path: string;
  readonly status: string;
  readonly movedAside: { readonly to: string; readonly reason: string } | null;
}

export type StoreMsg = { readonly type: 'db'; readonly replyTo: Ref<Db> } | { readonly type: 'info'; readonly replyTo: Ref<StoreInfo> };

export const STORE = actorName<StoreMsg>(`${ROOT.path}/store`);

/**
 * Asks the store for its handle, waiting (up to `timeoutMs`) while no store is running: after a
 * crash of both, the store may still be restarting when its user's `init` runs.
 */
export async function storeDb(system: ActorSystem, store = STORE, timeoutMs = 10_000): Promise<Db> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ref = system.lookup(store);
    if (ref !== undefined) {
      try {
        const db = await ask<StoreMsg, Db>(ref, (replyTo) => ({ type: 'db', replyTo }), Math.max(100, end - Date.now()));
        if (db.status === 'open') return db;
      } catch (err) {
        if (!(err instanceof AskError) || err.code === 'timeout') throw err;
      }
    }
    if (Date.now() >= end) throw new Error(`the store (${store.path}) is not available`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
