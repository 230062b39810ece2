/**
 * The inspector actor (the tree's `inspector` slot): owns the inspector's HTTP server and the
 * event-loop monitor, and samples the node once a second — the runtime's tree, the peers, byte
 * totals, chain info, exits and disconnects — into a snapshot pushed to every open page and into
 * the metrics. Everything it asks goes through the same {@link ControlContext} as the RPC
 * methods. Stopping it, whatever the cause, closes the server; a restart binds the same port.
 */
import { match } from 'ts-pattern';
import { defineActor, tell, type ActorContext } from '../../supervisors/index.js';
import type { ControlContext } from '../contracts/control.js';
import type { InspectAddress, InspectorMsg } from '../contracts/inspector.js';
import type { Json } from '../rpc/protocol.js';
import { hello, initialSampler, sample, type SampleInput, type SamplerState, type Snapshot } from './snapshot.js';
import { InspectorMetrics } from './metrics.js';
import { startInspectServer, type InspectServer, type InspectShared } from './server.js';

export interface InspectorArgs {
  readonly context: ControlContext;
  /** Runs an RPC method (the control's method table over the same context): the page's actions, and chain data for the samples. */
  readonly call: (method: string, params: Json[] | { [k: string]: Json }) => Promise<Json>;
  readonly bind: { readonly host: string; readonly port: number };
  readonly shared: InspectShared;
  /** `user:password` accepted with HTTP Basic now, or null (token only). */
  readonly credentials: () => string | null;
  /** Sampling period, ms (default 1000). */
  readonly intervalMs?: number;
  readonly authFailDelayMs?: number;
}

/** What the inspector tells itself: its sampling tick (the contract's InspectorMsg is what others send it). */
type SelfMsg = { readonly type: 'tick' };

/** Everything in the inspector's mailbox. */
type Mailbox = InspectorMsg | SelfMsg;

interface Live {
  sampler: SamplerState;
  latest: Snapshot | null;
}

interface InspectorState {
  readonly args: InspectorArgs;
  readonly live: Live;
  readonly server: InspectServer;
  readonly metrics: InspectorMetrics;
  readonly samples: number;
}

/** `PORT`, `HOST:PORT` or `[V6]:PORT`; a port alone binds 127.0.0.1. */
export function parseInspectBind(text: string): { host: string; port: number } {
  const t = text.trim();
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):)?(\d{1,5})$/.exec(t);
  if (!m) throw new Error(`"${text}" is not [HOST:]PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`"${text}": port out of range`);
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

/** The address a browser on this machine uses for a bound host (wildcards become loopback). */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function addressOf(s: InspectorState): InspectAddress {
  const a = s.server.address();
  const url = `http://${urlHost(a.host)}:${a.port}/`;
  return { host: a.host, port: a.port, url, tokenUrl: `${url}?token=${s.args.shared.token}` };
}

async function readInput(args: InspectorArgs, ctx: ActorContext<Mailbox>): Promise<SampleInput> {
  const c = args.context;
  const settle = <T>(p: Promise<T>): Promise<T | null> => p.catch(() => null);
  const [peers, totals, disconnects, chain] = await Promise.all([
    settle(c.peers()),
    settle(c.totals()),
    settle(c.disconnects()),
    // Chain data comes from the RPC method once the node has one ("Method not found" until then).
    settle(args.call('getblockchaininfo', [])),
  ]);
  return {
    now: ctx.now(),
    node: { network: c.settings.network, userAgent: c.userAgent, startedAt: c.startedAt, networkActive: c.networkActive() },
    tree: c.actorTree(),
    peers,
    totals,
    chain: chain as Json | null,
    exits: ctx.runtime.recentExits(),
    disconnects,
    deadLetters: c.deadLetters().total,
  };
}

export const inspectorActor = defineActor<InspectorState, Mailbox, InspectorArgs>({
  name: 'inspector',
  async init(args, ctx) {
    const live: Live = { sampler: initialSampler(), latest: null };
    const metrics = ctx.own(new InspectorMetrics());
    const serve = (port: number): Promise<InspectServer> =>
      startInspectServer({
        host: args.bind.host,
        port,
        shared: args.shared,
        credentials: args.credentials,
        log: ctx.log,
        hello: () => (live.latest === null ? null : hello(live.sampler, live.latest)),
        call: args.call,
        metrics: async () => ({ contentType: metrics.contentType, text: await metrics.text() }),
        ...(args.authFailDelayMs !== undefined ? { authFailDelayMs: args.authFailDelayMs } : {}),
      });
    let server: InspectServer;
    const again = args.shared.port;
    if (again !== null && again !== args.bind.port) {
      // A restart: the port bound first, so that open pages reconnect to it.
      server = await serve(again).catch((err: unknown) => {
        ctx.log.warn({ err, port: again }, 'inspector: could not bind the same port again; taking the configured one');
        return serve(args.bind.port);
      });
    } else {
      server = await serve(args.bind.port);
    }
    ctx.own(() => server.close());
    const s: InspectorState = { args, live, server, metrics, samples: 0 };
    args.shared.port ??= server.address().port;
    const a = addressOf(s);
    if (a.host !== '127.0.0.1' && a.host !== '::1') ctx.log.warn({ host: a.host }, 'inspector bound to a non-loopback address (given explicitly)');
    ctx.log.info({ inspect: a.url }, 'inspector listening');
    tell(ctx.self, { type: 'tick' });
    return s;
  },
  async handle(s, msg, ctx) {
    return match(msg)
      .with({ type: 'address' }, ({ replyTo }) => {
        tell(replyTo, addressOf(s));
        return s;
      })
      .with({ type: 'tick' }, async () => {
        const input = await readInput(s.args, ctx);
        const { state, snapshot } = sample(s.live.sampler, input);
        s.live.sampler = state;
        s.live.latest = snapshot;
        s.metrics.observe({ tree: input.tree, peers: input.peers === null ? null : snapshot.peers, totals: input.totals, exits: input.exits, deadLetters: input.deadLetters, sync: snapshot.sync, pings: snapshot.pings });
        s.server.broadcast('tick', snapshot);
        // Re-armed after the sample: a slow one never piles ticks up.
        ctx.timers.after('tick', s.args.intervalMs ?? 1000, { type: 'tick' });
        return { ...s, samples: s.samples + 1 };
      })
      .exhaustive();
  },
  async terminate(s) {
    await s.server.close();
  },
  summarize: (s) => {
    const a = s.server.address();
    return { inspect: `${a.host}:${a.port}`, samples: s.samples, streams: s.server.openStreams(), requests: s.server.stats.requests, actions: s.server.stats.actions, authFailures: s.server.stats.authFailures };
  },
});
