/**
 * The inspector's contract (`/root/inspector`, with `--inspect`): where its web page is. It
 * samples the node through the control context (contracts/control.ts) and serves the page and
 * `/metrics` from its own HTTP server.
 */
import { actorName, type Ref } from '../../supervisors/index.js';
import { ROOT } from './root.js';

export interface InspectAddress {
  readonly host: string;
  readonly port: number;
  /** The page, without credentials. */
  readonly url: string;
  /** The one-time link that opens a session (works once per node). */
  readonly tokenUrl: string;
}

/** What others ask the inspector: its bound address and links. */
export type InspectorMsg = { readonly type: 'address'; readonly replyTo: Ref<InspectAddress> };

export const INSPECTOR = actorName<InspectorMsg>(`${ROOT.path}/inspector`);
