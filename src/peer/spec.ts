/** How the node plugs the peers in: the `peers` dynamic supervisor, where the connection manager starts one peer actor per connection. */
import { dynamicSupervisor, type ActorDef, type ChildSpec, type DynamicSupervisorOptions } from '../../supervisors/index.js';
import type { Settings } from '../config/options.js';
import { peerChildName, type PeerArgs } from '../contracts/peer.js';
import { peerActor } from './actor.js';

/** A `peers` dynamic supervisor of `def`: temporary children (the connection manager replaces them). */
export function peersSupervisor<S, M, A>(def: ActorDef<S, M, A>, opts: Omit<DynamicSupervisorOptions<S, M, A>, 'def'> = {}): ChildSpec {
  return dynamicSupervisor('peers', { restart: 'temporary', shutdown: 2000, intensity: 1000, period: 1, ...opts, def });
}

/** The node's `peers` child: peer actors named `peer-<id>`, room for every connection and a margin. */
export function peersSpec(settings: Settings): ChildSpec {
  return peersSupervisor(peerActor, { maxChildren: settings.maxconnections + 16, childName: (args: PeerArgs) => peerChildName(args.id) });
}
