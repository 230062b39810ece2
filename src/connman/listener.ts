/**
 * A listener actor: one per `--bind` address. It owns its server socket and passes every
 * accepted connection to the connection manager, which admits or refuses it. Each listener may
 * advertise its own service bits to the peers that come in through it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { match } from 'ts-pattern';
import { defineActor, tell, type Ref } from '../../supervisors/index.js';
import type { ConnmanMsg } from '../contracts/connman.js';
import type { ListenerMsg } from '../contracts/listener.js';
import { bindError } from '../util/bind-error.js';

export interface BindSpec {
  readonly host: string;
  readonly port: number;
  /** Service bits advertised to peers accepted here (default: the node's). */
  readonly services?: bigint;
  /** Peers accepted here are never evicted or banned (Core's whitebind noban). */
  readonly noban?: boolean;
}

/** Parses `HOST:PORT[=services:N]` (N decimal or 0x hex); `[v6]:port` for IPv6. */
export function parseBind(text: string, defaultPort: number): BindSpec {
  const [addr, opt] = text.split('=', 2) as [string, string | undefined];
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(addr);
  if (!m) throw new Error(`bind: "${text}" is not HOST:PORT`);
  const host = m[1] ?? m[2];
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (port > 65535) throw new Error(`bind: port ${port} out of range`);
  if (opt === undefined) return { host, port };
  const s = /^services:(0x[0-9a-fA-F]+|\d+)$/.exec(opt);
  if (!s) throw new Error(`bind: "${text}": expected HOST:PORT=services:N`);
  return { host, port, services: BigInt(s[1]) };
}

export interface ListenerArgs {
  readonly bind: BindSpec;
  readonly connman: Ref<ConnmanMsg>;
}

interface ListenerState {
  readonly server: Server;
  readonly host: string;
  port: number;
  services: bigint | undefined;
  accepted: number;
}

export const listenerActor = defineActor<ListenerState, ListenerMsg, ListenerArgs>({
  name: 'listener',
  async init(args, ctx) {
    const server = ctx.own(createServer({ noDelay: true }));
    const state: ListenerState = { server, host: args.bind.host, port: args.bind.port, services: args.bind.services, accepted: 0 };
    server.on('connection', (socket: Socket) => {
      state.accepted++;
      tell(args.connman, {
        type: 'inbound-socket',
        socket,
        ...(state.services !== undefined ? { services: state.services } : {}),
        ...(args.bind.noban ? { noban: true } : {}),
      });
    });
    await new Promise<void>((resolve, reject) => {
      const fail = (err: unknown): void => reject(bindError('P2P', args.bind.host, args.bind.port, '--bind', err));
      server.once('error', fail);
      server.listen({ host: args.bind.host, port: args.bind.port }, () => {
        server.removeListener('error', fail);
        resolve();
      });
    });
    server.on('error', (err) => ctx.log.error({ err }, 'listener error'));
    const a = server.address();
    if (typeof a === 'object' && a !== null) state.port = a.port;
    ctx.log.info({ host: args.bind.host, port: state.port }, 'listening');
    return state;
  },
  handle(state, msg) {
    match(msg)
      .with({ type: 'address' }, ({ replyTo }) => tell(replyTo, { host: state.host, port: state.port }))
      .with({ type: 'set-services' }, ({ services }) => {
        state.services = services;
      })
      .exhaustive();
    return state;
  },
  summarize: (s) => ({ address: `${s.host}:${s.port}`, accepted: s.accepted, services: s.services === undefined ? 'node default' : `0x${s.services.toString(16)}` }),
});
