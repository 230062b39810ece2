/**
 * How the node plugs the inspector in: the `inspector` child spec (from `--inspect` and the RPC
 * credential settings) and the lookup of its bound address. Kept here so `node.ts` only wires it.
 */
import { ask, type Runtime, worker, type ChildSpec } from '../../supervisors/index.js';
import { ConfigError } from '../config/load.js';
import { cookiePath, readCookie } from '../rpc/auth.js';
import type { ControlContext } from '../contracts/control.js';
import { inspectorActor, parseInspectBind, type InspectorArgs } from './actor.js';
import { INSPECTOR, type InspectAddress, type InspectorMsg } from '../contracts/inspector.js';
import { makeShared } from './server.js';

export interface InspectorSpecOptions {
  /** The network's data directory (where the RPC cookie is). */
  readonly networkDir: string;
  /** Whether the RPC server runs (and so writes the cookie the inspector accepts). */
  readonly rpcOn: boolean;
  readonly intervalMs?: number;
  readonly authFailDelayMs?: number;
}

/** The `inspector` child for `--inspect [HOST:]PORT`; throws a ConfigError for a bad value. */
export function inspectorSpec(context: ControlContext, call: InspectorArgs['call'], o: InspectorSpecOptions): ChildSpec {
  const s = context.settings;
  let bind: { host: string; port: number };
  try {
    bind = parseInspectBind(s.inspect);
  } catch (err) {
    throw new ConfigError('inspect', err instanceof Error ? err.message : String(err));
  }
  const cookie = cookiePath(o.networkDir, s.rpccookiefile);
  // The RPC's credentials: rpcuser/rpcpassword when set, else the cookie the RPC server wrote (read each time: it changes when that server restarts).
  const credentials = (): string | null => (s.rpcpassword !== '' ? `${s.rpcuser}:${s.rpcpassword}` : o.rpcOn ? readCookie(cookie) : null);
  return worker(
    inspectorActor,
    {
      context,
      call,
      bind,
      shared: makeShared(),
      credentials,
      ...(o.intervalMs !== undefined ? { intervalMs: o.intervalMs } : {}),
      ...(o.authFailDelayMs !== undefined ? { authFailDelayMs: o.authFailDelayMs } : {}),
    },
    { id: 'inspector', restart: 'permanent', shutdown: 3000 },
  );
}

/** The inspector's address and links, or null when it is not running. */
export async function inspectAddressOf(runtime: Runtime): Promise<InspectAddress | null> {
  const ref = runtime.lookup(INSPECTOR);
  if (!ref) return null;
  return ask<InspectorMsg, InspectAddress>(ref, (replyTo) => ({ type: 'address', replyTo }), 5000);
}
