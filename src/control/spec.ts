/**
 * How the node plugs the control actor in: the part of the ControlContext answered from the
 * runtime, and the `control` child spec. Kept here so `node.ts` only wires it.
 */
import { ask, type Ref, type Runtime, type KillMode, worker, type ChildSpec } from '../../supervisors/index.js';
import { startLoopMonitor } from '../util/resources.js';
import { ADDRESSBOOK, type AddressBookMsg, type AddressBookQuery } from '../contracts/addressbook.js';
import { CHAIN, type ChainMsg, type ChainRpcReply } from '../contracts/chain.js';
import { CONNMAN } from '../contracts/connman.js';
import { CONTROL, type ControlContext, type ControlMsg } from '../contracts/control.js';
import { controlActor, parseRpcBind } from './actor.js';

/** The part of the RPC context answered from the runtime: actors, dead letters, the connection manager's summary, the block actor's and the address book's queries. */
export type RuntimeQueries = Pick<ControlContext, 'networkActive' | 'actors' | 'actorTree' | 'kill' | 'deadLetters' | 'askChain' | 'askAddressBook'>;

export function runtimeQueries(runtime: Runtime): RuntimeQueries {
  // getresources reports the event-loop delay since the node started.
  startLoopMonitor();
  return {
    networkActive: () => {
      const s = runtime.info(CONNMAN.path)?.summary;
      return typeof s === 'object' && s !== null && 'networkActive' in s ? (s as { networkActive: unknown }).networkActive !== false : true;
    },
    actors: (p) => runtime.list(p),
    actorTree: () => runtime.tree(),
    kill: (path: string, mode?: KillMode, opts?: { ms?: number }) => runtime.kill(path, mode, opts),
    deadLetters: () => runtime.deadLetters(),
    askChain(method, args) {
      const ref = runtime.lookup(CHAIN);
      if (!ref) return null;
      return ask<ChainMsg, ChainRpcReply>(ref, (replyTo) => ({ type: 'rpc', method, args, replyTo }), 30_000);
    },
    askAddressBook<R>(make: (replyTo: Ref<R>) => AddressBookQuery): Promise<R> | null {
      const ref = runtime.lookup(ADDRESSBOOK);
      if (!ref) return null;
      return ask<AddressBookMsg, R>(ref, make, 5000);
    },
  };
}

/** The `control` child: the RPC server, with binds and credentials from the settings. */
export function controlSpec(context: ControlContext, networkDir: string, opts: { maxBody?: number; authFailDelayMs?: number } = {}): ChildSpec {
  const s = context.settings;
  const port = s.rpcport >= 0 ? s.rpcport : context.params.rpcPort;
  const binds = (s.rpcbind.length > 0 ? s.rpcbind : ['127.0.0.1']).map((b) => parseRpcBind(b, port));
  return worker(
    controlActor,
    {
      context,
      networkDir,
      binds,
      allow: s.rpcallowip,
      rpcuser: s.rpcuser,
      rpcpassword: s.rpcpassword,
      rpccookiefile: s.rpccookiefile,
      rest: s.rest,
      ...opts,
    },
    { id: 'control', restart: 'permanent', shutdown: 3000 },
  );
}

/** The RPC server's bound address (port 0 resolved), or null when it is not running. */
export async function rpcAddressOf(runtime: Runtime): Promise<{ host: string; port: number } | null> {
  const ref = runtime.lookup(CONTROL);
  if (!ref) return null;
  const list = await ask<ControlMsg, { host: string; port: number }[]>(ref, (replyTo) => ({ type: 'address', replyTo }), 5000);
  return list[0] ?? null;
}
