/**
 * The store actor: the `store` slot of the root, started first and stopped last. It opens the
 * embedded database of the network's data directory in `init`, owns it (closed when the actor
 * stops, however it stops), reports loudly a store that had to be moved aside, and hands the
 * handle to the actors that ask for it (`{ type: 'db' }`) in their own `init`.
 *
 * If the store restarts, the handles given out are closed: the next write of a user fails, that
 * user crashes and its supervisor restarts it, and its new `init` asks for the new handle (let it
 * crash). Users also monitor the store to crash at once rather than at their next write.
 */
import { match } from 'ts-pattern';
import { defineActor, tell } from '../../supervisors/index.js';
import type { Db, StoreInfo, StoreMsg } from '../contracts/store.js';
import { openStore } from './db.js';

export interface StoreArgs {
  /** The network data directory; the database lives in `<dir>/store`. */
  readonly dir: string;
}

interface StoreState {
  readonly db: Db;
  readonly path: string;
  readonly movedAside: StoreInfo['movedAside'];
}

/**
 * Closes still in progress, by path: a restarted store waits for its previous incarnation's
 * close, or LevelDB's lock would make the open fail and the store be taken for corrupt.
 */
const closing = new Map<string, Promise<void>>();

function closeDb(path: string, db: Db): Promise<void> {
  if (db.status === 'closed') return Promise.resolve();
  const p = db.close().then(
    () => undefined,
    () => undefined,
  );
  const entry = p.finally(() => {
    if (closing.get(path) === entry) closing.delete(path);
  });
  closing.set(path, entry);
  return entry;
}

export const storeActor = defineActor<StoreState, StoreMsg, StoreArgs>({
  name: 'store',
  async init(args, ctx) {
    const storePath = `${args.dir}/store`;
    await closing.get(storePath);
    const opened = await openStore(args.dir);
    const st: StoreState = { db: opened.db, path: opened.path, movedAside: opened.movedAside };
    // Released on any stop (kill included); a graceful stop awaits the close in terminate.
    ctx.own(() => void closeDb(opened.path, opened.db));
    if (opened.movedAside) {
      ctx.log.warn(
        { path: opened.path, movedTo: opened.movedAside.to, reason: opened.movedAside.reason },
        'the store could not be used and was moved aside; a new empty store was created (nothing was overwritten)',
      );
    } else ctx.log.info({ path: opened.path }, 'store opened');
    return st;
  },
  handle(st, msg) {
    match(msg)
      .with({ type: 'db' }, ({ replyTo }) => tell(replyTo, st.db))
      .with({ type: 'info' }, ({ replyTo }) => tell(replyTo, { path: st.path, status: st.db.status, movedAside: st.movedAside }))
      .exhaustive();
    return st;
  },
  async terminate(st) {
    await closeDb(st.path, st.db);
  },
  summarize: (st) => ({ path: st.path, status: st.db.status, movedAside: st.movedAside?.to ?? null }),
});
