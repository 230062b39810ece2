/**
 * The listeners' contract: one actor per `--bind` address under the `listeners` supervisor
 * (`/root/listeners/listener-<index>`, in bind order). Each hands accepted sockets to the
 * connection manager (`inbound-socket`, contracts/connman.ts) and may advertise its own services.
 */
import { actorName, type ActorName, type Ref, type SupMsg } from '../../supervisors/index.js';
import { ROOT } from './root.js';

/** What others send a listener. */
export type ListenerMsg =
  /** The address it is bound to (port 0 resolved). */
  | { readonly type: 'address'; readonly replyTo: Ref<{ host: string; port: number }> }
  /** The service bits advertised to peers accepted from now on. */
  | { readonly type: 'set-services'; readonly services: bigint };

/** The supervisor of the listeners (absent when the node does not listen). */
export const LISTENERS = actorName<SupMsg>(`${ROOT.path}/listeners`);

/** The child id of the listener for bind address `index`. */
export function listenerChildName(index: number): string {
  return `listener-${index}`;
}

/** The listener for bind address `index`. */
export function listenerName(index: number): ActorName<ListenerMsg> {
  return actorName<ListenerMsg>(`${LISTENERS.path}/${listenerChildName(index)}`);
}
