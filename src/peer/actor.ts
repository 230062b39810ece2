/**
 * The peer actor: the thin shell around `protocol.ts` (the protocol logic) and `flow.ts` (its flow
 * control: receive and send limits, the throttle, the send stall). It owns one TCP socket, turns
 * its bytes into frames and messages, feeds them to the logic and performs the effects (writes,
 * pauses, timers, reports to the connection manager). Socket events become messages in its
 * mailbox. The socket is an owned resource: whatever stops the actor destroys it.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { match } from 'ts-pattern';
import { defineActor, tell, Exit, narrowRef, type ActorContext, type Ref } from '../../supervisors/index.js';
import { FrameDecoder, encodeFrame, type FrameErrorCode, type FrameResult } from '../wire/framing.js';
import { decodeMessage, encodeMessage, encodeMessageFrame, commandOf, type Message } from '../wire/messages.js';
import { V2Transport, isValidPrivateKey, messageTypeSize, MAX_GARBAGE_SIZE, type TransportProtocolType, type V2Event, type V2Role } from '../wire/v2/index.js';
import { countedType } from '../wire/message-types.js';
import { DEFAULT_MAX_RECEIVE_BUFFER, DEFAULT_MAX_SEND_BUFFER, FRAME_HEADER_SIZE } from '../wire/constants.js';
import type { Endpoint } from '../contracts/connection.js';
import type { FromPeer, PeerArgs, PeerInfo, PeerMsg, ToChain } from '../contracts/peer.js';
import type { Offence } from '../contracts/punishment.js';
import { decodes, initPeer, peerSummary, stepPeer, type PeerEffect, type PeerEvent, type PeerState, type TimerKey } from './protocol.js';
import { initRequests, isRequest, requestBytes, requestsIdle, stepRequests, type Request, type RequestEvent, type RequestState } from './requests.js';
import { initFlow, queuedBytes, stepFlow, type FlowEvent, type FlowState, type FlowTimer } from './flow.js';
import { makeVersionNonce, pingNonce } from './nonce.js';
import { netThrottle, type NetThrottle } from '../throttle/throttle.js';

export interface CommandStats {
  msgs: number;
  bytes: number;
}

/** What the peer tells itself: socket events and timers (the contract's PeerMsg is what others send it). */
type SelfMsg =
  | { readonly type: 'data'; readonly chunk: Buffer }
  | { readonly type: 'closed'; readonly error: string | null }
  | { readonly type: 'drain' }
  | { readonly type: 'timer'; readonly key: TimerKey | FlowTimer };

/** A message decoded by the v2 transport, waiting to be handled. */
interface V2In {
  readonly command: string;
  readonly payload: Buffer;
  readonly wireSize: number;
}

/** Everything in the peer's mailbox. */
type Mailbox = PeerMsg | SelfMsg;

interface Shell {
  readonly args: PeerArgs;
  /** Our ref as others may use it (in what we tell the address book and the block actor). */
  readonly self: Ref<PeerMsg>;
  /** The actor's logger with this connection's `peer` id, `addr` and `conn` type bound (besides `actor`). */
  readonly log: Logger;
  readonly proto: PeerState;
  /** Flow control's state (receive and send limits, throttle buckets, the stall check). */
  readonly flow: FlowState;
  readonly decoder: FrameDecoder;
  /**
   * The BIP324 transport: an inbound connection's while it is detecting or v2, an outbound v2
   * dial's (we are the initiator); null for v1 (no v2, or after the fallback, when the bytes go
   * straight to `decoder`).
   */
  v2: V2Transport | null;
  /** Messages the v2 transport decoded and not yet handled (held while the send queue is over its limit). */
  readonly v2In: V2In[];
  /** Their wire bytes, counted against the receive buffer as undecoded v1 frames are. */
  v2InBytes: number;
  readonly socket: Socket;
  readonly now: () => number;
  /** While frames are processed: the messages for the block actor, told together at the end. */
  toChain: Message[] | null;
  /** Their wire bytes. */
  toChainBytes: number;
  /** The wire size of the frame being handled (what a message it yields for the block actor is charged). */
  frameBytes: number;
  /** Bytes of our messages told to the block actor and not yet handled there (it says `consumed`). */
  atChain: number;
  /** Received frames are handled (false while the flow core holds them: the send queue is over its limit). */
  processing: boolean;
  /** The peer's request being served, one piece at a time (nothing else of its is processed meanwhile). */
  readonly requests: RequestState;
  bytesRecv: number;
  readonly sentPerMsg: Record<string, CommandStats>;
  readonly recvPerMsg: Record<string, CommandStats>;
  closing: boolean;
  readonly net: NetThrottle;
  /** Frames (or the rest of one) waiting for send tokens, in order: `flow.outQueued` bytes. */
  readonly outQueue: Buffer[];
}

function endpointText(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** Counted under the command's name when Core knows it, else under `*other*`: a peer cannot grow the table. */
function count(table: Record<string, CommandStats>, cmd: string, bytes: number): void {
  const c = (table[countedType(cmd)] ??= { msgs: 0, bytes: 0 });
  c.msgs++;
  c.bytes += bytes;
}

/** The punishment table's row for each framing error. */
const FRAME_OFFENCE: Readonly<Record<FrameErrorCode, Offence>> = {
  'bad-magic': 'bad-magic',
  oversize: 'frame-oversize',
  'bad-checksum': 'bad-checksum',
  'bad-command': 'bad-command',
};

/**
 * Received bytes held and not yet handled: in the v1 framer, or in the v2 transport and its decoded
 * queue, the request waiting to be served, and the messages told to the block actor that it has not
 * handled yet (one receive limit for all of it, beside the socket chunks in our mailbox).
 */
function buffered(sh: Shell): number {
  return sh.decoder.bytesBuffered + (sh.v2 === null ? 0 : sh.v2.bytesBuffered) + sh.v2InBytes + requestBytes(sh.requests) + sh.atChain;
}

/** The peer's next message may be handled: the send queue is below its limit and its last request is served. */
function canProcess(sh: Shell): boolean {
  return sh.processing && requestsIdle(sh.requests);
}

/** Feeds one event to the request queue and performs its effects: pieces to the block actor, then (all served) the next messages. */
function requests(sh: Shell, ctx: ActorContext<Mailbox>, ev: RequestEvent): void {
  for (const e of stepRequests(sh.requests, ev)) {
    if (sh.closing) return;
    switch (e.kind) {
      case 'to-chain':
        // After what this peer told the block actor before (the batch of this chunk), in order.
        flushToChain(sh);
        if (sh.args.chain) tell<ToChain>(sh.args.chain, { type: 'peer-request', peer: sh.args.id, self: sh.self, msg: e.msg, seq: e.seq });
        break;
      case 'idle':
        processFrames(sh, ctx);
        break;
    }
  }
}

/** A request from the peer joins its queue (dropped when there is no block actor to answer it). */
function request(sh: Shell, ctx: ActorContext<Mailbox>, msg: Request): void {
  if (!sh.args.chain) return;
  requests(sh, ctx, { type: 'request', msg, paused: sh.flow.sendPaused });
}

/** Feeds one event to the flow logic and performs its effects, in order. */
function flow(sh: Shell, ctx: ActorContext<Mailbox>, ev: FlowEvent): void {
  for (const e of stepFlow(sh.flow, ev)) {
    switch (e.kind) {
      case 'pause-socket':
        sh.socket.pause();
        break;
      case 'resume-socket':
        sh.socket.resume();
        break;
      case 'write':
        writeQueued(sh, e.bytes);
        break;
      case 'timer':
        ctx.timers.after(e.key, e.ms, { type: 'timer', key: e.key });
        break;
      case 'cancel-timer':
        ctx.timers.cancel(e.key);
        break;
      case 'stop-processing':
        sh.processing = false;
        break;
      case 'resume-processing':
        sh.processing = true;
        // The waiting request first (its next piece), then, once it is all served, the next messages.
        requests(sh, ctx, { type: 'unpaused' });
        processFrames(sh, ctx);
        break;
      case 'disconnect':
        close(sh, ctx, e.reason, false);
        break;
    }
  }
}

/** Hands the first `n` bytes of the send queue to the socket, splitting the last frame if need be (TCP is a byte stream). */
function writeQueued(sh: Shell, n: number): void {
  let left = n;
  while (left > 0) {
    const head = sh.outQueue[0];
    if (head.length <= left) {
      sh.outQueue.shift();
      write(sh, head);
      left -= head.length;
    } else {
      write(sh, head.subarray(0, left));
      sh.outQueue[0] = head.subarray(left);
      left = 0;
    }
  }
}

function write(sh: Shell, bytes: Buffer): void {
  sh.net.totalSent += bytes.length;
  sh.socket.write(bytes);
}

/** Bytes queued to the peer: in the socket's buffer plus waiting for send tokens. */
function queued(sh: Shell): number {
  return queuedBytes(sh.flow, sh.socket.writableLength);
}

function close(sh: Shell, ctx: ActorContext<Mailbox>, reason: string, misbehaving: boolean): void {
  if (sh.closing) return;
  sh.closing = true;
  flow(sh, ctx, { type: 'closing' });
  // Our v2 attempt met a v1-only peer (nothing received, a v1 header's worth of ours written): the manager redials once with v1.
  const reconnectV1 = sh.v2 !== null && sh.v2.shouldReconnectV1(sh.socket.bytesWritten);
  tell(sh.args.reportTo, { type: 'peer-disconnected', id: sh.args.id, reason, misbehaving, ...(reconnectV1 ? { reconnectV1 } : {}) });
  sh.log.debug({ reason, misbehaving, ...(reconnectV1 ? { reconnectV1 } : {}) }, 'disconnecting');
  flushToChain(sh);
  if (sh.args.chain) tell<ToChain>(sh.args.chain, { type: 'peer-disconnected', peer: sh.args.id });
  sh.socket.destroy();
  ctx.stop(Exit.shutdownWith(reason));
}

function perform(sh: Shell, ctx: ActorContext<Mailbox>, effects: readonly PeerEffect[]): void {
  for (const e of effects) {
    if (sh.closing) return;
    switch (e.kind) {
      case 'send':
        if (sh.v2 !== null) sendV2(sh, ctx, commandOf(e.msg), encodeMessage(e.msg));
        else sendFrame(sh, ctx, commandOf(e.msg), encodeMessageFrame(sh.args.magic, e.msg));
        break;
      case 'timer':
        ctx.timers.after(e.key, e.ms, { type: 'timer', key: e.key });
        break;
      case 'cancel-timer':
        ctx.timers.cancel(e.key);
        break;
      case 'disconnect':
        close(sh, ctx, e.reason, e.misbehaving);
        break;
      case 'ready':
        flushToChain(sh);
        sh.log.debug({ version: e.remote.version, subver: e.remote.userAgent, services: e.remote.services.toString(16), startHeight: e.remote.startHeight }, 'handshake complete');
        tell(sh.args.reportTo, {
          type: 'peer-connected',
          id: sh.args.id,
          services: e.remote.services,
          relayTxs: e.remote.relay,
          now: sh.now(),
          version: e.remote.version,
          userAgent: e.remote.userAgent,
          startHeight: e.remote.startHeight,
        });
        chainHello(sh);
        break;
      case 'ping-rtt':
        tell(sh.args.reportTo, { type: 'peer-stats', id: sh.args.id, minPingMs: e.minMs });
        break;
      case 'to-addressbook':
        if (sh.args.addressbook)
          tell<FromPeer>(sh.args.addressbook, { type: 'from-peer', peer: sh.args.id, self: sh.self, msg: e.msg, connType: sh.args.connType, sendAddrV2: sh.proto.sendAddrV2 });
        break;
      case 'to-chain':
        if (isRequest(e.msg)) request(sh, ctx, e.msg);
        else if (sh.toChain !== null) {
          sh.toChain.push(e.msg);
          sh.toChainBytes += sh.frameBytes;
        } else if (sh.args.chain) {
          sh.atChain += sh.frameBytes;
          tell<ToChain>(sh.args.chain, { type: 'from-peer', peer: sh.args.id, self: sh.self, msg: e.msg, bytes: sh.frameBytes });
        }
        break;
    }
  }
}

/** Tells the block actor the messages gathered for it (one message, or a batch). */
function flushToChain(sh: Shell): void {
  const msgs = sh.toChain;
  if (msgs === null || msgs.length === 0 || !sh.args.chain) return;
  const bytes = sh.toChainBytes;
  sh.toChain = [];
  sh.toChainBytes = 0;
  // Charged to the peer until the block actor has handled them (it says `consumed`).
  sh.atChain += bytes;
  if (msgs.length === 1) tell<ToChain>(sh.args.chain, { type: 'from-peer', peer: sh.args.id, self: sh.self, msg: msgs[0], bytes });
  else tell<ToChain>(sh.args.chain, { type: 'from-peer-batch', peer: sh.args.id, self: sh.self, msgs, bytes });
}

/** Tells the block actor this peer is ready (after the handshake, and again when the block actor restarts). */
function chainHello(sh: Shell): void {
  const remote = sh.proto.remote;
  if (!sh.args.chain || remote === null || sh.closing) return;
  tell<ToChain>(sh.args.chain, {
    type: 'peer-connected',
    peer: sh.args.id,
    self: sh.self,
    inbound: sh.proto.inbound,
    connType: sh.args.connType,
    services: remote.services,
    startHeight: remote.startHeight,
    sendHeaders: sh.proto.sendHeaders,
    noban: sh.args.noban ?? false,
  });
}

/** Queues one frame to the peer through the send throttle (the flow core pauses reading while the queue is over the limit). */
function sendFrame(sh: Shell, ctx: ActorContext<Mailbox>, command: string, frame: Buffer): void {
  count(sh.sentPerMsg, command, frame.length);
  sendBytes(sh, ctx, frame);
}

/**
 * Sends one message through the v2 transport: encrypted now, or queued in the transport until its
 * keys are there (then it leaves with our version packet). Counted by its packet's size, as Core.
 */
function sendV2(sh: Shell, ctx: ActorContext<Mailbox>, command: string, payload: Buffer): void {
  const v2 = sh.v2;
  if (v2 === null) return sendFrame(sh, ctx, command, encodeFrame(sh.args.magic, command, payload));
  count(sh.sentPerMsg, command, messageTypeSize(command) + payload.length + V2_PACKET_OVERHEAD);
  v2Events(sh, ctx, v2.send(command, payload));
}

/** A v2 packet's bytes besides its contents: the 3-byte length, the header byte and the 16-byte tag. */
const V2_PACKET_OVERHEAD = 20;

/** Bytes to the peer: queued, written as the flow core says, then checked against the send limit. */
function sendBytes(sh: Shell, ctx: ActorContext<Mailbox>, frame: Buffer): void {
  sh.outQueue.push(frame);
  flow(sh, ctx, { type: 'queued', bytes: frame.length, now: sh.net.now(), socketQueued: sh.socket.writableLength, timerArmed: ctx.timers.isActive('throttle-send') });
  flow(sh, ctx, { type: 'written', socketQueued: sh.socket.writableLength });
}

/** Writes what may go from the send queue (the socket drained, the send timer fired), then ends the send pause if the queue is back under the limit. */
function flushSend(sh: Shell, ctx: ActorContext<Mailbox>): void {
  flow(sh, ctx, { type: 'flush', now: sh.net.now(), socketQueued: sh.socket.writableLength, timerArmed: ctx.timers.isActive('throttle-send') });
  flow(sh, ctx, { type: 'flushed', socketQueued: sh.socket.writableLength });
}

/** Resumes reading once the receive buckets are out of debt (after a chunk, and when the throttle timer fires). */
function recvCheck(sh: Shell, ctx: ActorContext<Mailbox>): void {
  flow(sh, ctx, { type: 'recv-check', held: buffered(sh), now: sh.net.now(), timerArmed: ctx.timers.isActive('throttle-recv') });
}

/** Limits changed (this peer's, or the node's): re-evaluate both directions now. */
function setLimits(sh: Shell, ctx: ActorContext<Mailbox>, recv: number | undefined, send: number | undefined): void {
  flow(sh, ctx, { type: 'limits', recv, send, now: sh.net.now(), held: buffered(sh), socketQueued: sh.socket.writableLength });
  flow(sh, ctx, { type: 'flushed', socketQueued: sh.socket.writableLength });
}

function step(sh: Shell, ctx: ActorContext<Mailbox>, ev: PeerEvent): void {
  perform(sh, ctx, stepPeer(sh.proto, ev));
}

function onData(sh: Shell, ctx: ActorContext<Mailbox>, chunk: Buffer): void {
  flow(sh, ctx, { type: 'consumed', bytes: chunk.length });
  sh.bytesRecv += chunk.length;
  sh.net.totalRecv += chunk.length;
  step(sh, ctx, { type: 'bytes', now: sh.now() });
  if (sh.v2 !== null) {
    sh.socket.cork();
    try {
      v2Events(sh, ctx, sh.v2.receive(chunk));
    } finally {
      if (!sh.socket.destroyed) sh.socket.uncork();
    }
    if (sh.closing) return;
  } else sh.decoder.push(chunk);
  processFrames(sh, ctx);
  if (!sh.closing) recvCheck(sh, ctx);
}

/**
 * Performs what the v2 transport asks: bytes to write, its establishment, decoded messages (queued
 * for {@link processFrames}), the v1 fallback (the bytes go to the v1 framer from then on, and
 * what was queued in the transport is framed as v1) and its errors (the connection is closed; a
 * peer that does not speak our protocol is not misbehaving, as in Core).
 */
function v2Events(sh: Shell, ctx: ActorContext<Mailbox>, events: readonly V2Event[]): void {
  for (const e of events) {
    if (sh.closing) return;
    switch (e.type) {
      case 'send':
        sendBytes(sh, ctx, e.bytes);
        break;
      case 'established':
        sh.log.debug({ sessionId: e.sessionId.toString('hex') }, 'v2 transport established');
        break;
      case 'message':
        sh.v2In.push({ command: e.command, payload: e.payload, wireSize: e.wireSize });
        sh.v2InBytes += e.wireSize;
        break;
      case 'rejected':
        // Core drops a message whose type it cannot decode and keeps the connection.
        count(sh.recvPerMsg, '*other*', e.wireSize);
        sh.log.debug({ reason: e.reason }, 'v2 message dropped');
        break;
      case 'fallback-v1':
        sh.v2 = null;
        sh.decoder.push(e.bytes);
        for (const m of e.unsent) sendFrame(sh, ctx, m.command, encodeFrame(sh.args.magic, m.command, m.payload));
        break;
      case 'error':
        close(sh, ctx, `v2 transport error: ${e.code}: ${e.message}`, false);
        return;
    }
  }
}

/** The next received message: one the v2 transport decoded, else the v1 framer's next frame (or its error). */
function nextIn(sh: Shell): V2In | FrameResult | null {
  const m = sh.v2In.shift();
  if (m === undefined) return sh.decoder.next();
  sh.v2InBytes -= m.wireSize;
  return m;
}

/**
 * Handles the complete frames the decoder holds (or the messages the v2 transport decoded). While the peer's send queue is over the limit
 * nothing more is processed (Core stops processing a peer's messages while its send is paused):
 * the frames wait in the decoder, count against the receive limit, and run on 'drain'.
 */
function processFrames(sh: Shell, ctx: ActorContext<Mailbox>): void {
  if (!canProcess(sh)) {
    flow(sh, ctx, { type: 'buffered', held: buffered(sh) });
    return;
  }
  // Replies to the messages of one chunk (pongs to a burst of pings) leave in one write, not one syscall each;
  // the messages for the block actor go in one mailbox turn.
  sh.socket.cork();
  const outer = sh.toChain === null;
  if (outer) sh.toChain = [];
  try {
    for (let f = nextIn(sh); f !== null && !sh.closing; f = canProcess(sh) ? nextIn(sh) : null) {
      if ('kind' in f && f.kind === 'error') {
        // The punishment table (contracts/punishment.ts) decides, as Core: a wrong magic (a BIP324 opening,
        // another network) or an oversize header closes the connection without penalty; a bad checksum or
        // an invalid message type drops that message and keeps the peer, its bytes counted under *other*.
        step(sh, ctx, { type: 'offence', offence: FRAME_OFFENCE[f.code], what: `framing error: ${f.code} at byte ${f.offset}: ${f.message}`, now: sh.now() });
        if (sh.closing) return;
        if (!sh.decoder.recover()) return close(sh, ctx, `framing error: ${f.code} at byte ${f.offset}: ${f.message}`, false);
        count(sh.recvPerMsg, '*other*', (f.declaredLength ?? 0) + FRAME_HEADER_SIZE);
        continue;
      }
      sh.frameBytes = 'wireSize' in f ? f.wireSize : (f.discarded ?? f.payload.length) + FRAME_HEADER_SIZE;
      count(sh.recvPerMsg, f.command, sh.frameBytes);
      const now = sh.now();
      // The gate before decode (Core): what the phase ignores or refuses anyway is never decoded.
      if (!decodes(sh.proto, f.command)) {
        step(sh, ctx, { type: 'undecoded', command: f.command, now });
        continue;
      }
      // Blocks: their transactions are checked here but decoded and hashed by the block check (in a worker thread).
      const r = decodeMessage(f.command, f.payload, { allowTrailing: true, lazyBlockTxs: true });
      if (!r.ok) step(sh, ctx, { type: 'malformed', what: `${r.error.command}: ${r.error.code} at ${r.error.offset}: ${r.error.message}`, now, command: r.error.command, code: r.error.code, offset: r.error.offset });
      else step(sh, ctx, { type: 'message', msg: r.value, now });
    }
  } finally {
    if (outer) {
      flushToChain(sh);
      sh.toChain = null;
    }
    if (!sh.socket.destroyed) sh.socket.uncork();
  }
  if (!sh.closing) flow(sh, ctx, { type: 'buffered', held: buffered(sh) });
}

/**
 * The BIP324 transport of a connection, with its randomness from the platform (Core's
 * V2Transport: a fresh ephemeral key, 32 bytes of encoding entropy, 0–4095 bytes of garbage):
 * the responder of an inbound one, the initiator of an outbound v2 dial.
 */
function v2Transport(role: V2Role, magic: number): V2Transport {
  let privateKey = randomBytes(32);
  while (!isValidPrivateKey(privateKey)) privateKey = randomBytes(32);
  const magicBytes = Buffer.alloc(4);
  magicBytes.writeUInt32LE(magic >>> 0);
  return new V2Transport({ role, magic: magicBytes, privateKey, entropy: randomBytes(32), garbage: randomBytes(randomInt(0, MAX_GARBAGE_SIZE + 1)) });
}

/** Which transport a new connection starts with: v2 responder (inbound, --v2transport), v2 initiator (an outbound v2 dial), else none (v1). */
function initialTransport(args: PeerArgs): V2Transport | null {
  if (args.connType === 'inbound') return args.settings.v2transport === true ? v2Transport('responder', args.magic) : null;
  return args.v2 === true ? v2Transport('initiator', args.magic) : null;
}

export function peerInfo(sh: Shell): PeerInfo {
  const p = sh.proto;
  const flat = (t: Record<string, CommandStats>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.bytes]));
  const now = sh.now();
  const transport: { readonly type: TransportProtocolType; readonly sessionId: string } = sh.v2 === null ? { type: 'v1', sessionId: '' } : sh.v2.info();
  return {
    id: p.id,
    addr: endpointText(sh.args.endpoint),
    endpoint: sh.args.endpoint,
    connType: p.connType,
    inbound: p.inbound,
    phase: p.phase,
    connectedAtMs: p.connectedAt,
    servicesBits: p.remote?.services ?? 0n,
    version: p.remote?.version ?? null,
    subver: p.remote?.userAgent ?? null,
    services: p.remote ? p.remote.services.toString(16).padStart(16, '0') : null,
    startingHeight: p.remote?.startHeight ?? null,
    relayTxs: p.remote?.relay ?? false,
    conntime: Math.floor(p.connectedAt / 1000),
    lastsend: Math.floor(p.lastSend / 1000),
    lastrecv: Math.floor(p.lastRecv / 1000),
    bytessent: sh.flow.sent,
    bytesrecv: sh.bytesRecv,
    pingtime: p.lastPingMs === null ? null : p.lastPingMs / 1000,
    minping: p.minPingMs === null ? null : p.minPingMs / 1000,
    pingwait: p.pingNonce !== 0n ? (now - p.pingStart) / 1000 : null,
    bytessentPerMsg: flat(sh.sentPerMsg),
    bytesrecvPerMsg: flat(sh.recvPerMsg),
    ignored: { ...p.ignored },
    recvPaused: sh.flow.recvPaused,
    sendQueued: queued(sh),
    recvLimit: sh.flow.recvBucket.rate,
    sendLimit: sh.flow.sendBucket.rate,
    recvThrottled: sh.flow.recvThrottled,
    sendThrottled: sh.flow.outQueued,
    heldBytes: sh.flow.inMailbox + buffered(sh) + queued(sh),
    requestsServed: sh.requests.pieces,
    transportType: transport.type,
    sessionId: transport.sessionId,
  };
}

export const peerActor = defineActor<Shell, Mailbox, PeerArgs>({
  name: 'peer',
  init(args, ctx) {
    const socket = ctx.own(args.socket);
    const now = args.now ?? ((): number => ctx.now());
    const net = args.throttle ?? netThrottle();
    const sh: Shell = {
      args,
      self: narrowRef<PeerMsg>(ctx.self),
      log: ctx.log.child({ peer: args.id, addr: endpointText(args.endpoint), conn: args.connType }),
      socket,
      now,
      decoder: new FrameDecoder({ magic: args.magic }),
      v2: initialTransport(args),
      v2In: [],
      v2InBytes: 0,
      flow: initFlow({
        maxRecv: args.maxReceiveBuffer ?? DEFAULT_MAX_RECEIVE_BUFFER,
        maxSend: args.maxSendBuffer ?? DEFAULT_MAX_SEND_BUFFER,
        stallMs: args.sendStallMs ?? args.settings.inactivityTimeoutMs,
        recvRate: args.recvLimit ?? net.peerRecvRate,
        sendRate: args.sendLimit ?? net.peerSendRate,
        net,
        now: net.now(),
      }),
      proto: initPeer({
        id: args.id,
        connType: args.connType,
        noban: args.noban ?? false,
        settings: args.settings,
        localNonce: makeVersionNonce(args.settings.nonceKey),
        remoteAddress: args.remoteAddress,
        startHeight: args.startHeight,
        now: now(),
      }),
      toChain: null,
      toChainBytes: 0,
      frameBytes: 0,
      atChain: 0,
      processing: true,
      requests: initRequests(),
      bytesRecv: 0,
      // No prototype: a key can never be `__proto__` or `constructor` of Object.prototype.
      sentPerMsg: Object.create(null) as Record<string, CommandStats>,
      recvPerMsg: Object.create(null) as Record<string, CommandStats>,
      closing: false,
      net,
      outQueue: [],
    };
    // The gate before decode, at the frame header: what the phase ignores or refuses is skipped as
    // it arrives, never held (a 4 MB frame before version costs its chunks, not 4 MB).
    sh.decoder.discard = (command) => !decodes(sh.proto, command);
    const self = ctx.self;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      // Charged to the receive buckets; reading pauses over the receive limit or in debt (the actor's timer resumes it).
      flow(sh, ctx, { type: 'received', bytes: chunk.length, held: buffered(sh), now: net.now() });
      tell(self, { type: 'data', chunk });
    });
    socket.on('drain', () => tell(self, { type: 'drain' }));
    socket.on('error', () => {
      /* 'close' follows with hadError; the reason is taken there */
    });
    socket.on('close', (hadError: boolean) => tell(self, { type: 'closed', error: hadError ? 'socket error' : null }));
    if (socket.destroyed) tell(self, { type: 'closed', error: 'socket already closed' });
    sh.log.debug({ inbound: sh.proto.inbound, ...(sh.v2?.initiating === true ? { v2: true } : {}) }, 'connected');
    // A BIP324 initiator speaks first: its key and garbage leave before anything else (our version waits in the transport for the keys).
    if (sh.v2?.initiating === true) v2Events(sh, ctx, sh.v2.start());
    step(sh, ctx, { type: 'open', now: now() });
    return sh;
  },
  handle(sh, msg, ctx) {
    if (sh.closing) return sh;
    match(msg)
      .with({ type: 'data' }, ({ chunk }) => onData(sh, ctx, chunk))
      .with({ type: 'closed' }, ({ error }) => close(sh, ctx, error === null ? 'peer closed the connection' : `connection lost: ${error}`, false))
      .with({ type: 'drain' }, () => flushSend(sh, ctx))
      .with({ type: 'timer' }, ({ key }) => {
        const now = sh.now();
        if (key === 'send-stall') return flow(sh, ctx, { type: 'stall', socketQueued: sh.socket.writableLength });
        if (key === 'throttle-recv') return recvCheck(sh, ctx);
        if (key === 'throttle-send') return flushSend(sh, ctx);
        const ev: PeerEvent =
          key === 'handshake' ? { type: 'handshake-timer', now } : key === 'ping' ? { type: 'ping-timer', now, nonce: pingNonce() } : { type: 'inactivity-timer', now };
        step(sh, ctx, ev);
      })
      .with({ type: 'disconnect' }, ({ reason, misbehaving }) => close(sh, ctx, reason, misbehaving ?? false))
      .with({ type: 'ping' }, () => step(sh, ctx, { type: 'queue-ping' }))
      .with({ type: 'send' }, ({ msg: m }) => perform(sh, ctx, [{ kind: 'send', msg: m }]))
      .with({ type: 'send-many' }, ({ msgs }) => {
        sh.socket.cork();
        try {
          perform(sh, ctx, msgs.map((m) => ({ kind: 'send', msg: m })));
        } finally {
          if (!sh.socket.destroyed) sh.socket.uncork();
        }
      })
      .with({ type: 'send-raw' }, ({ command, payload }) => {
        step(sh, ctx, { type: 'sent-raw', now: sh.now() });
        if (sh.v2 !== null) sendV2(sh, ctx, command, payload);
        else sendFrame(sh, ctx, command, encodeFrame(sh.args.magic, command, payload));
      })
      .with({ type: 'chain-hello' }, () => {
        if (sh.proto.phase === 'active') chainHello(sh);
        // What our messages were charged at the block actor went with its predecessor.
        sh.atChain = 0;
        // The restarted block actor lost the piece it was serving: go on with the rest.
        requests(sh, ctx, { type: 'chain-restarted', paused: sh.flow.sendPaused });
      })
      .with({ type: 'served' }, ({ seq }) => requests(sh, ctx, { type: 'served', seq, paused: sh.flow.sendPaused }))
      .with({ type: 'consumed' }, ({ bytes }) => {
        sh.atChain = Math.max(0, sh.atChain - bytes);
        flow(sh, ctx, { type: 'buffered', held: buffered(sh) });
      })
      .with({ type: 'set-start-height' }, ({ height }) => step(sh, ctx, { type: 'set-start-height', height }))
      .with({ type: 'info' }, ({ replyTo }) => tell(replyTo, peerInfo(sh)))
      .with({ type: 'set-limits' }, ({ recv, send }) => setLimits(sh, ctx, recv, send))
      .exhaustive();
    return sh;
  },
  summarize: (sh) => ({
    ...peerSummary(sh.proto),
    addr: endpointText(sh.args.endpoint),
    bytesSent: sh.flow.sent,
    bytesRecv: sh.bytesRecv,
    recvPaused: sh.flow.recvPaused,
    recvLimit: sh.flow.recvBucket.rate,
    sendLimit: sh.flow.sendBucket.rate,
    recvThrottled: sh.flow.recvThrottled,
  }),
  chaos: {
    socket(sh) {
      sh.socket.destroy();
    },
  },
});
