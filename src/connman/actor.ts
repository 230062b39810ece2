/**
 * The connection manager actor: the shell around `logic.ts`. It dials sockets, hands accepted
 * and dialled sockets to new peer actors under the `peers` dynamic supervisor, monitors every
 * peer (a DOWN is how it learns of any death, whatever the cause) and feeds all of it to the logic.
 * After a restart it adopts the peers still alive under the supervisor, so nothing is lost.
 */
import { connect, type Socket } from 'node:net';
import type { EventEmitter } from 'node:events';
import { match, P } from 'ts-pattern';
import {
  defineActor,
  tell,
  ask,
  type ActorContext,
  type Down,
  type Ref,
  type ActorSystem,
  formatReason,
  startChild,
  whichChildren,
  type DynMsg,
  narrowRef,
} from '../../supervisors/index.js';
import { parseAddress } from '../wire/address.js';
import { peerAt, peerIdOf, peerName, type PeerArgs, type PeerInfo, type PeerMsg, type ToConnman, type FromPeer, type ToChain, type PeerSettings } from '../contracts/peer.js';
import { isLocalIp, normalizeIp } from '../netaddress/netaddress.js';
import { discourageAddress } from '../contracts/punishment.js';
import { emptyBans, isBanned, isDiscouraged, sweep, type BanList } from '../contracts/bans.js';
import type { AddressBookMsg, AddrmanInfo, BanListUpdate, BookChanged, Candidate } from '../contracts/addressbook.js';
import { netThrottle, setRate, type NetThrottle } from '../throttle/throttle.js';
import {
  addnodeRefusal,
  connmanSummary,
  initConnman,
  stepConnman,
  type ConnmanConfig,
  type ConnmanEffect,
  type ConnmanEvent,
  type ConnmanState,
} from './logic.js';
import type { AddedNodeInfo, CommandResult, ConnmanCommand, ConnmanEvents, ConnmanMsg } from '../contracts/connman.js';
import { endpointKey, type AddedNode, type ConnType, type Endpoint } from '../contracts/connection.js';
import type { ChainMsg, TipUpdate } from '../contracts/chain.js';

/** What the manager tells itself: timers, dials, spawns, the book's candidates, adoption, monitors (the contract's ConnmanMsg is what others send it). */
type SelfMsg =
  | { readonly type: 'tick' }
  | { readonly type: 'dial-done'; readonly id: number; readonly socket: Socket | null; readonly error: string | null }
  | { readonly type: 'peer-spawned'; readonly id: number; readonly ref: Ref<PeerMsg> | null; readonly error?: string }
  | { readonly type: 'addresses'; readonly purpose: 'outbound' | 'feeler'; readonly list: readonly Candidate[] }
  | { readonly type: 'adopted'; readonly infos: readonly PeerInfo[] }
  | Down;

/** Everything in the manager's mailbox. */
type Mailbox = ConnmanMsg | SelfMsg;

export interface ConnmanArgs {
  readonly config: ConnmanConfig;
  readonly connect: readonly Endpoint[];
  /** The addnode list at start, and after a restart of this actor (the node keeps it current through onAddnode). */
  readonly addnode: readonly AddedNode[];
  /** Told of every accepted addnode add/remove (with its v2transport), so that the list outlives a restart of this actor. */
  readonly onAddnode?: (endpoint: AddedNode, command: 'add' | 'remove') => void;
  readonly seednode?: readonly Endpoint[];
  /** Where peers are started. */
  readonly peers: Ref<DynMsg<PeerArgs, PeerMsg>>;
  readonly magic: number;
  readonly defaultPort: number;
  readonly peerSettings: PeerSettings;
  /**
   * The address book: asked for dial candidates (`select`, with a short timeout: a book that is
   * down or restarting answers nothing and the slots are retried at the next tick), told of
   * attempts, ready and gone peers and misbehaviour; peers send it their addr/getaddr.
   */
  readonly addressbook?: Ref<AddressBookMsg>;
  /** How long a `select` may take before the manager gives up until the next tick (default 2 s). */
  readonly selectTimeoutMs?: number;
  /** The block actor: peers report to it; asked for the tip height at start (`sync-tip`), it then tells every change. */
  readonly chain?: Ref<ChainMsg>;
  readonly events?: EventEmitter<ConnmanEvents>;
  /** How often slots are checked (ms); deaths and failures trigger an immediate refill anyway. */
  readonly tickMs?: number;
  readonly maxReceiveBuffer?: number;
  readonly maxSendBuffer?: number;
  /** How long a peer may keep its send buffer over the limit before it is dropped as not reading (default: the inactivity timeout). */
  readonly sendStallMs?: number;
  /** The node-wide throttle (owned by the node so that it outlives this actor); default: unlimited. */
  readonly throttle?: NetThrottle;
}

interface Shell {
  readonly args: ConnmanArgs;
  readonly logic: ConnmanState;
  /** Sockets this actor holds until a peer actor takes them (destroyed if this actor stops first). */
  readonly held: Map<number, Socket>;
  readonly peerRefs: Map<number, Ref<PeerMsg>>;
  readonly monitors: Map<number, number>;
  readonly closing: Map<number, { reason: string; misbehaving: boolean; reconnectV1?: boolean }>;
  readonly services: Map<number, bigint>;
  /** The address book's bans and 24 h discouragements (a copy it pushes on every change). */
  readonly bans: BanList;
  nextSocket: number;
  /** Until the live peers of a previous incarnation are adopted, nothing is dialled or accepted. */
  adopting: boolean;
  /** Messages held back while adopting, replayed in order afterwards. */
  readonly stash: Mailbox[];
  readonly throttle: NetThrottle;
  /** The chain's tip height as the block actor last told it: new connections' start height (0 until told). */
  tipHeight: number;
}

function endpointOfSocket(socket: Socket): Endpoint {
  return { host: normalizeIp(socket.remoteAddress ?? '0.0.0.0'), port: socket.remotePort ?? 0 };
}

function feed(sh: Shell, ctx: ActorContext<Mailbox>, msg: ConnmanEvent): void {
  for (const e of stepConnman(sh.logic, msg)) perform(sh, ctx, e);
}

function spawnPeer(sh: Shell, ctx: ActorContext<Mailbox>, id: number, socket: Socket, endpoint: Endpoint, connType: ConnType, services?: bigint, v2 = false): void {
  const a = sh.args;
  const remoteAddress = parseAddress(endpointKey(endpoint), a.defaultPort) ?? { network: 'ipv4' as const, addr: Buffer.alloc(4), port: endpoint.port, services: 0n };
  const settings = services === undefined ? a.peerSettings : { ...a.peerSettings, ourServices: services };
  const args: PeerArgs = {
    id,
    socket,
    connType,
    endpoint,
    ...(v2 ? { v2 } : {}),
    remoteAddress,
    magic: a.magic,
    settings,
    startHeight: sh.tipHeight,
    reportTo: narrowRef<ToConnman>(ctx.self),
    ...(a.addressbook ? { addressbook: narrowRef<FromPeer>(a.addressbook) } : {}),
    ...(a.chain ? { chain: narrowRef<ToChain>(a.chain) } : {}),
    ...(sh.logic.peers.get(id)?.noban ? { noban: true } : {}),
    ...(a.maxReceiveBuffer !== undefined ? { maxReceiveBuffer: a.maxReceiveBuffer } : {}),
    ...(a.maxSendBuffer !== undefined ? { maxSendBuffer: a.maxSendBuffer } : {}),
    ...(a.sendStallMs !== undefined ? { sendStallMs: a.sendStallMs } : {}),
    throttle: sh.throttle,
  };
  const self = ctx.self;
  startChild(a.peers, args).then(
    (ref) => tell(self, { type: 'peer-spawned', id, ref }),
    (err: unknown) => tell(self, { type: 'peer-spawned', id, ref: null, error: err instanceof Error ? err.message : String(err) }),
  );
}

function dial(sh: Shell, ctx: ActorContext<Mailbox>, id: number, endpoint: Endpoint, timeoutMs: number): void {
  const self = ctx.self;
  const socket = connect({ host: endpoint.host, port: endpoint.port });
  sh.held.set(id, socket);
  let settled = false;
  const done = (error: string | null): void => {
    if (settled) return;
    settled = true;
    socket.setTimeout(0);
    socket.removeListener('error', onError);
    tell(self, { type: 'dial-done', id, socket: error === null ? socket : null, error });
  };
  const onError = (err: Error): void => {
    socket.destroy();
    done(err.message);
  };
  socket.once('connect', () => done(null));
  socket.once('error', onError);
  socket.setTimeout(timeoutMs, () => {
    socket.destroy();
    done(`connect timeout after ${timeoutMs} ms`);
  });
}

function perform(sh: Shell, ctx: ActorContext<Mailbox>, e: ConnmanEffect): void {
  match(e)
    .with({ kind: 'dial' }, ({ id, endpoint, timeoutMs }) => dial(sh, ctx, id, endpoint, timeoutMs))
    .with({ kind: 'accept' }, ({ socketId, id, endpoint }) => {
      const socket = sh.held.get(-socketId);
      sh.held.delete(-socketId);
      if (!socket) return;
      sh.held.set(id, socket);
      spawnPeer(sh, ctx, id, socket, endpoint, 'inbound', sh.services.get(socketId));
      sh.services.delete(socketId);
    })
    .with({ kind: 'refuse' }, ({ socketId, reason }) => {
      const socket = sh.held.get(-socketId);
      sh.held.delete(-socketId);
      sh.services.delete(socketId);
      socket?.destroy();
      ctx.log.debug({ reason }, 'inbound connection refused');
    })
    .with({ kind: 'disconnect' }, ({ id, reason }) => {
      const ref = sh.peerRefs.get(id);
      if (ref) tell(ref, { type: 'disconnect', reason });
      else {
        sh.held.get(id)?.destroy();
        sh.held.delete(id);
      }
    })
    .with({ kind: 'want-addresses' }, ({ purpose, count, excludeGroups }) => {
      const book = sh.args.addressbook;
      if (!book) return;
      const excludeEndpoints = [...[...sh.logic.peers.values()].map((p) => endpointKey(p.endpoint)), ...[...sh.logic.dials.values()].map((d) => endpointKey(d.endpoint))];
      const self = ctx.self;
      const notify = narrowRef<BookChanged>(self);
      ask<AddressBookMsg, readonly Candidate[]>(book, (replyTo) => ({ type: 'select', purpose, count, excludeGroups, excludeEndpoints, notify, replyTo }), sh.args.selectTimeoutMs ?? 2000).then(
        (list) => tell(self, { type: 'addresses', purpose, list }),
        // Down, restarting or slow: no candidates this time (the request is not left pending).
        () => tell(self, { type: 'addresses', purpose, list: [] }),
      );
    })
    .with({ kind: 'attempt' }, ({ endpoint, ok, connType }) => {
      if (sh.args.addressbook) tell(sh.args.addressbook, { type: 'attempt', endpoint, ok, connType });
    })
    .with({ kind: 'schedule' }, ({ ms }) => ctx.timers.after('retry', ms, { type: 'tick' }))
    .with({ kind: 'log' }, ({ level, msg, data }) => ctx.log[level](data ?? {}, msg))
    .with({ kind: 'alone' }, ({ minutes, text, data }) => {
      // With what the address book knows, if it answers soon (the line is not held up for long).
      const say = (known: number | null): void =>
        ctx.log.info({ ...data, addressesKnown: known }, `no peer connected for ${minutes} min${known === null ? '' : ` (${known} addresses known)`}: ${text}`);
      const book = sh.args.addressbook;
      if (!book) return say(null);
      ask<AddressBookMsg, AddrmanInfo>(book, (replyTo) => ({ type: 'info', replyTo }), 1000).then(
        (i) => say(i.all_networks?.total ?? 0),
        () => say(null),
      );
    })
    .exhaustive();
}

async function adopt(args: ConnmanArgs, runtime: ActorSystem): Promise<PeerInfo[]> {
  const children = await whichChildren(args.peers);
  const infos: PeerInfo[] = [];
  for (const c of children) {
    const ref = c.running && c.path !== undefined ? runtime.lookup(peerAt(c.path)) : undefined;
    if (ref === undefined) continue;
    try {
      infos.push(await ask<PeerMsg, PeerInfo>(ref, (replyTo) => ({ type: 'info', replyTo }), 2000));
    } catch {
      // It died meanwhile; nothing to adopt.
    }
  }
  return infos;
}

export const connmanActor = defineActor<Shell, Mailbox, ConnmanArgs>({
  name: 'connman',
  init(args, ctx) {
    const bans = emptyBans();
    // The book pushes its ban list now and on every change.
    if (args.addressbook) tell(args.addressbook, { type: 'sync-bans', replyTo: narrowRef<BanListUpdate>(ctx.self) });
    const sh: Shell = {
      args,
      bans,
      logic: initConnman({
        config: args.config,
        connect: args.connect,
        addnode: args.addnode,
        ...(args.seednode ? { seednode: args.seednode } : {}),
        now: ctx.now(),
        banned: (ip) => isBanned(bans, ip, ctx.now()),
        discouraged: (ip) => isDiscouraged(bans, ip, ctx.now()),
      }),
      held: new Map(),
      peerRefs: new Map(),
      monitors: new Map(),
      closing: new Map(),
      services: new Map(),
      nextSocket: 1,
      adopting: true,
      stash: [],
      throttle: args.throttle ?? netThrottle(),
      tipHeight: 0,
    };
    // The block actor tells its tip now and on every change.
    if (args.chain) tell(args.chain, { type: 'sync-tip', replyTo: narrowRef<TipUpdate>(ctx.self) });
    // Never reuse the id of a peer that outlived a previous incarnation, even before it is adopted.
    for (const a of ctx.runtime.list(`${args.peers.path}/*`)) {
      const id = peerIdOf(a.path, args.peers);
      if (id !== undefined) sh.logic.nextId = Math.max(sh.logic.nextId, id + 1);
    }
    ctx.own(() => {
      for (const s of sh.held.values()) s.destroy();
      sh.held.clear();
      for (const m of sh.stash) if (m.type === 'inbound-socket') m.socket.destroy();
    });
    ctx.timers.interval('tick', args.tickMs ?? 1000, { type: 'tick' });
    // Peers that outlived a previous incarnation of this actor are adopted, not forgotten.
    const self = ctx.self;
    adopt(args, ctx.runtime).then(
      (infos) => tell(self, { type: 'adopted', infos }),
      () => tell(self, { type: 'adopted', infos: [] }),
    );
    return sh;
  },
  handle(sh, msg, ctx) {
    if (sh.adopting && msg.type !== 'adopted' && msg.type !== 'peer-disconnected') {
      // A tick would dial the manual peers that are in fact still connected: drop it (the adoption ends with one).
      if (msg.type !== 'tick') sh.stash.push(msg);
      return sh;
    }
    const now = ctx.now();
    match(msg)
      .with({ type: 'tick' }, () => {
        sweep(sh.bans, now);
        feed(sh, ctx, { type: 'tick', now });
      })
      .with({ type: 'ban-list' }, ({ bans }) => {
        sh.bans.bans.clear();
        for (const [k, v] of bans.bans) sh.bans.bans.set(k, v);
        sh.bans.discouraged.clear();
        for (const [k, v] of bans.discouraged) sh.bans.discouraged.set(k, v);
      })
      .with({ type: 'adopted' }, ({ infos }) => {
        sh.adopting = false;
        for (const i of infos) {
          if (sh.logic.peers.has(i.id)) continue;
          // Gone since it answered: nothing to adopt (adopting it without a monitor would leave a ghost).
          const ref = ctx.runtime.lookup(peerName(i.id, sh.args.peers));
          if (!ref) continue;
          feed(sh, ctx, {
            type: 'adopt',
            id: i.id,
            endpoint: i.endpoint,
            connType: i.connType,
            connectedAt: i.connectedAtMs,
            ready: i.phase === 'active',
            services: i.servicesBits,
            relayTxs: i.relayTxs,
            v2: !i.inbound && i.transportType !== 'v1',
          });
          sh.peerRefs.set(i.id, ref);
          sh.monitors.set(ctx.monitor(ref), i.id);
          if (i.phase === 'active' && sh.args.addressbook)
            tell(sh.args.addressbook, { type: 'peer-connected', id: i.id, endpoint: i.endpoint, connType: i.connType, services: i.servicesBits, ref });
        }
        if (infos.length > 0) ctx.log.info({ peers: infos.length }, 'adopted live peers after restart');
        feed(sh, ctx, { type: 'tick', now });
        const held = sh.stash.splice(0);
        for (const m of held) tell(ctx.self, m);
      })
      .with({ type: 'inbound-socket' }, ({ socket, services, noban }) => {
        const socketId = sh.nextSocket++;
        sh.held.set(-socketId, socket);
        if (services !== undefined) sh.services.set(socketId, services);
        socket.on('error', () => socket.destroy());
        feed(sh, ctx, { type: 'inbound', socketId, remote: endpointOfSocket(socket), now, ...(noban ? { noban } : {}) });
      })
      .with({ type: 'dial-done' }, ({ id, socket, error }) => {
        if (socket === null) {
          sh.held.delete(id);
          feed(sh, ctx, { type: 'dial-failed', id, error: error ?? 'unknown', now });
          return;
        }
        const dialled = sh.logic.dials.get(id);
        if (!dialled) {
          socket.destroy();
          sh.held.delete(id);
          return;
        }
        feed(sh, ctx, { type: 'dial-ok', id, now });
        spawnPeer(sh, ctx, id, socket, dialled.endpoint, dialled.connType, undefined, dialled.v2);
      })
      .with({ type: 'peer-spawned' }, ({ id, ref, error }) => {
        if (ref === null) sh.held.get(id)?.destroy();
        sh.held.delete(id); // the peer actor owns it now
        if (ref === null) {
          ctx.log.warn({ id, error }, 'peer actor failed to start');
          feed(sh, ctx, { type: 'peer-disconnected', id, reason: `start failed: ${error ?? '?'}`, misbehaving: false, now });
          return;
        }
        sh.peerRefs.set(id, ref);
        sh.monitors.set(ctx.monitor(ref), id);
      })
      .with({ type: 'DOWN' }, (d) => {
        const id = sh.monitors.get(d.monitor);
        if (id === undefined) return;
        sh.monitors.delete(d.monitor);
        sh.peerRefs.delete(id);
        // A peer that closes its connection says why first (peer-disconnected); an exit without it is
        // our own actor dying (killed, crashed), not the remote failing.
        const said = sh.closing.get(id);
        const why = said ?? { reason: formatReason(d.reason), misbehaving: false };
        const local = said === undefined;
        sh.closing.delete(id);
        const p = sh.logic.peers.get(id);
        if (p) {
          // As Core (contracts/punishment.ts): noban and manual peers are never discouraged, local ones are
          // disconnected but not discouraged (tests and local tools stay usable).
          if (why.misbehaving && discourageAddress({ connType: p.connType, noban: p.noban === true, local: isLocalIp(p.endpoint.host) }) && sh.args.addressbook)
            tell(sh.args.addressbook, { type: 'misbehaving', endpoint: p.endpoint, reason: why.reason });
          sh.args.events?.emit('peer-disconnected', { id, address: endpointKey(p.endpoint), connType: p.connType, reason: why.reason, misbehaving: why.misbehaving });
        } else {
          // The logic forgets a peer it evicts at once (to free the slot) and records it then: tell listeners now that it is gone.
          const d = sh.logic.disconnects.findLast((r) => r.id === id);
          if (d) sh.args.events?.emit('peer-disconnected', { id, address: d.address, connType: d.connType, reason: d.reason, misbehaving: d.misbehaving });
        }
        // A v2 attempt a v1-only peer hung up on is redialled with v1 at once: not worth a line at the default level (Core logs it under -debug=net).
        if (p) ctx.log[said?.reconnectV1 === true ? 'debug' : 'info']({ peer: id, address: endpointKey(p.endpoint), connType: p.connType, reason: why.reason, misbehaving: why.misbehaving }, 'peer disconnected');
        if (sh.args.addressbook) tell(sh.args.addressbook, { type: 'peer-disconnected', id });
        feed(sh, ctx, { type: 'peer-disconnected', id, reason: why.reason, misbehaving: why.misbehaving, now, local, ...(said?.reconnectV1 === true ? { reconnectV1: true } : {}) });
      })
      .with({ type: 'peer-connected' }, (m) => {
        feed(sh, ctx, m);
        const p = sh.logic.peers.get(m.id);
        if (p) {
          sh.args.events?.emit('peer-connected', { id: m.id, address: endpointKey(p.endpoint), connType: p.connType, services: m.services });
          // As Core: each new outbound peer at the default level, inbound ones at debug (a busy listener would flood the log).
          const line = { peer: m.id, address: endpointKey(p.endpoint), connType: p.connType, version: m.version, subver: m.userAgent, startHeight: m.startHeight, services: m.services.toString(16) };
          const text = `new ${p.connType} peer connected: ${endpointKey(p.endpoint)}, version ${m.version ?? '?'} ${m.userAgent ?? ''}, blocks=${m.startHeight ?? '?'}, peer=${m.id}`;
          if (p.connType === 'inbound') ctx.log.debug(line, text);
          else ctx.log.info(line, text);
        }
        const ref = sh.peerRefs.get(m.id);
        if (p && sh.args.addressbook) tell(sh.args.addressbook, { type: 'peer-connected', id: m.id, endpoint: p.endpoint, connType: p.connType, services: m.services, ...(ref ? { ref } : {}) });
      })
      .with({ type: 'peer-stats' }, (m) => feed(sh, ctx, m))
      .with({ type: 'peer-disconnected' }, ({ id, reason, misbehaving, reconnectV1 }) => sh.closing.set(id, { reason, misbehaving, ...(reconnectV1 === true ? { reconnectV1 } : {}) }))
      .with({ type: 'addresses' }, (m) => feed(sh, ctx, { ...m, now: ctx.now() }))
      .with({ type: 'book-changed' }, () => feed(sh, ctx, { type: 'book-changed', now: ctx.now() }))
      .with({ type: 'tip' }, ({ height }) => {
        sh.tipHeight = height;
      })
      .with({ type: 'command' }, ({ cmd, replyTo }) => command(sh, ctx, cmd, replyTo, now))
      .exhaustive();
    return sh;
  },
  summarize: (sh) => connmanSummary(sh.logic),
});

function command(sh: Shell, ctx: ActorContext<Mailbox>, cmd: ConnmanCommand, replyTo: Ref<CommandResult>, now: number): void {
  match(cmd)
    .with({ op: 'addnode' }, ({ endpoint, command: c, v2transport }) => {
      const refused = addnodeRefusal(sh.logic, endpoint, c);
      if (refused !== null) return tell(replyTo, { ok: false, error: refused });
      feed(sh, ctx, { type: 'addnode', endpoint, command: c, now, ...(v2transport !== undefined ? { v2transport } : {}) });
      if (c !== 'onetry') sh.args.onAddnode?.(v2transport !== undefined && c === 'add' ? { ...endpoint, v2transport } : endpoint, c);
      tell(replyTo, { ok: true });
    })
    .with({ op: 'disconnect' }, ({ id, address }) => {
      let target = id;
      if (target === undefined && address !== undefined) {
        for (const p of sh.logic.peers.values()) if (endpointKey(p.endpoint) === address) target = p.id;
      }
      if (target === undefined || !sh.logic.peers.has(target)) return tell(replyTo, { ok: false, error: 'Node not found in connected nodes' });
      feed(sh, ctx, { type: 'disconnect', id: target, reason: 'disconnected by operator' });
      tell(replyTo, { ok: true });
    })
    .with({ op: 'set-network-active' }, ({ active }) => {
      feed(sh, ctx, { type: 'set-network-active', active, now });
      tell(replyTo, { ok: true });
    })
    .with({ op: P.union('peers', 'ping') }, ({ op }) => {
      const refs = [...sh.peerRefs.values()];
      if (op === 'ping') {
        for (const r of refs) tell(r, { type: 'ping' });
        return tell(replyTo, { ok: true });
      }
      Promise.allSettled(refs.map((r) => ask<PeerMsg, PeerInfo>(r, (rt) => ({ type: 'info', replyTo: rt }), 2000))).then((rs) =>
        tell(replyTo, { ok: true, peers: rs.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])).sort((a, b) => a.id - b.id) }),
      );
    })
    .with({ op: 'disconnects' }, () => tell(replyTo, { ok: true, disconnects: [...sh.logic.disconnects].reverse() }))
    .with({ op: 'added-nodes' }, () => {
      const addedNodes: AddedNodeInfo[] = [];
      for (const [key, m] of sh.logic.manual) {
        if (m.connType !== 'manual' || !m.persistent) continue;
        const p = m.peerId === null ? undefined : sh.logic.peers.get(m.peerId);
        addedNodes.push({ addednode: key, connected: p !== undefined, address: p ? endpointKey(p.endpoint) : null, inbound: p?.connType === 'inbound' });
      }
      tell(replyTo, { ok: true, addedNodes });
    })
    .with({ op: 'set-net-limit' }, ({ recv, send }) => {
      const t = sh.throttle;
      setRate(t.recv, recv, t.now());
      setRate(t.send, send, t.now());
      for (const r of sh.peerRefs.values()) tell(r, { type: 'set-limits' });
      tell(replyTo, { ok: true });
    })
    .with({ op: 'set-peer-limit' }, ({ id, address, all, recv, send }) => {
      if (all) {
        sh.throttle.peerRecvRate = recv;
        sh.throttle.peerSendRate = send;
        for (const r of sh.peerRefs.values()) tell(r, { type: 'set-limits', recv, send });
        return tell(replyTo, { ok: true });
      }
      let target = id;
      if (target === undefined && address !== undefined) {
        for (const p of sh.logic.peers.values()) if (endpointKey(p.endpoint) === address) target = p.id;
      }
      const ref = target === undefined ? undefined : sh.peerRefs.get(target);
      if (ref === undefined) return tell(replyTo, { ok: false, error: 'Node not found in connected nodes' });
      tell(ref, { type: 'set-limits', recv, send });
      tell(replyTo, { ok: true });
    })
    .exhaustive();
}
