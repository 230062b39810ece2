/**
 * The control actor, in the tree's `control` slot: owns the JSON-RPC HTTP servers and the
 * cookie file. Requests run concurrently on the event loop against a {@link ControlContext}
 * (a slow method does not hold the others); the actor's mailbox answers questions about the
 * server itself. Stopping the actor (node shutdown, kill, crash) closes the servers and removes
 * the cookie; a restart writes a new cookie and binds again.
 */
import { match } from 'ts-pattern';
import { defineActor, tell } from '../../supervisors/index.js';
import { basicAuthChecker, cookiePath, removeCookie, removeRpcAddress, writeCookie, writeRpcAddress } from '../rpc/auth.js';
import { startRpcServer, type RpcServer } from './rpc-server.js';
import { dispatch } from './methods.js';
import { restRequest } from './rest.js';
import type { ControlContext, ControlMsg } from '../contracts/control.js';
import { parseIpSubnet, type IpSubnet } from '../util/subnet.js';

export interface ControlArgs {
  readonly context: ControlContext;
  /** The network's data directory (the cookie goes there). */
  readonly networkDir: string;
  readonly binds: readonly { host: string; port: number }[];
  readonly allow: readonly string[];
  readonly rpcuser: string;
  readonly rpcpassword: string;
  readonly rpccookiefile: string;
  readonly maxBody?: number;
  readonly authFailDelayMs?: number;
  /** --rest: serve Core's REST interface on the RPC port. */
  readonly rest?: boolean;
}

interface ControlState {
  readonly server: RpcServer;
  readonly cookie: { path: string; value: string } | null;
}

/** Parses `HOST[:PORT]` / `[v6][:PORT]` for --rpcbind. */
export function parseRpcBind(text: string, defaultPort: number): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+))(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) throw new Error(`rpcbind "${text}" is not HOST[:PORT]`);
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (port > 65535) throw new Error(`rpcbind "${text}": port out of range`);
  return { host: m[1] ?? m[2], port };
}

export function parseAllow(list: readonly string[]): IpSubnet[] {
  return list.map((a) => {
    const s = parseIpSubnet(a);
    if (!s) throw new Error(`rpcallowip "${a}" is not an IP or subnet`);
    return s;
  });
}

export const controlActor = defineActor<ControlState, ControlMsg, ControlArgs>({
  name: 'control',
  async init(args, ctx) {
    let cookie: ControlState['cookie'] = null;
    let credentials: string;
    if (args.rpcpassword === '') {
      const path = cookiePath(args.networkDir, args.rpccookiefile);
      credentials = writeCookie(path);
      cookie = { path, value: credentials };
      ctx.own(() => removeCookie(path, credentials));
    } else {
      credentials = `${args.rpcuser}:${args.rpcpassword}`;
    }
    const server = await startRpcServer({
      binds: args.binds,
      allow: parseAllow(args.allow),
      checkAuth: basicAuthChecker(credentials),
      dispatch: (req) => dispatch(args.context, req),
      ...(args.rest ? { rest: (url: string) => restRequest(url, (method, params) => dispatch(args.context, { id: null, version: '1.0', method, params })) } : {}),
      log: ctx.log,
      ...(args.maxBody !== undefined ? { maxBody: args.maxBody } : {}),
      ...(args.authFailDelayMs !== undefined ? { authFailDelayMs: args.authFailDelayMs } : {}),
    });
    ctx.own(() => server.destroy());
    const first = server.addresses()[0];
    if (first !== undefined) {
      const written = writeRpcAddress(args.networkDir, first);
      ctx.own(() => removeRpcAddress(args.networkDir, written));
    }
    ctx.log.info({ rpc: server.addresses().map((a) => `${a.host}:${a.port}`), auth: cookie ? `cookie ${cookie.path}` : 'rpcuser/rpcpassword' }, 'RPC server listening');
    return { server, cookie };
  },
  handle(s, msg) {
    match(msg)
      .with({ type: 'address' }, ({ replyTo }) => tell(replyTo, s.server.addresses()))
      .with({ type: 'stats' }, ({ replyTo }) => tell(replyTo, { ...s.server.stats }))
      .exhaustive();
    return s;
  },
  async terminate(s) {
    await s.server.close(1000);
  },
  summarize: (s) => ({ rpc: s.server.addresses().map((a) => `${a.host}:${a.port}`), ...s.server.stats }),
});
