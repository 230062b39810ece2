/** How the node plugs the store in: the `store` child over the network's data directory. */
import { worker, type ChildSpec } from '../../supervisors/index.js';
import { storeActor } from './actor.js';

/** The `store` child: the key-value store in `<dir>`. */
export function storeSpec(dir: string): ChildSpec {
  return worker(storeActor, { dir }, { id: 'store', restart: 'permanent', shutdown: 10_000 });
}
