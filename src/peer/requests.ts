/**
 * One peer's requests (`getdata`, `getheaders`, `getblocks`), served one at a time, without
 * sockets or clocks: `stepRequests(state, event) → effects` (Core's `m_getdata_requests` and
 * `ProcessGetData`).
 *
 * - A request the peer sent waits here; the peer actor processes none of the peer's further
 *   messages until it is served in full (Core: "this maintains the order of responses and prevents
 *   m_getdata_requests to grow unbounded"), so what waits is at most one message (a getdata of at
 *   most 50,000 items), charged to the peer's receive limit.
 * - The block actor gets one piece at a time: a getheaders or a getblocks, or the leading items of
 *   a getdata that are not blocks (answered with one notfound: peerd keeps no mempool) plus at most
 *   one block. The next piece goes only when the block actor said the previous one is `served`
 *   (its answer is already in our mailbox) *and* the send queue is below the send limit (Core's
 *   fPauseSend): a peer that never reads holds at most the limit plus one answer.
 * - A restart of the block actor loses what it was serving: the piece is dropped (the peer asks
 *   again), the rest goes on. Pieces are numbered, so a late `served` of the lost one is ignored.
 */
import { match } from 'ts-pattern';
import type { InvItem, Message } from '../wire/messages.js';
import { MSG_BLOCK, MSG_CMPCT_BLOCK, MSG_WITNESS_FLAG } from '../wire/constants.js';

export type Request = Extract<Message, { readonly command: 'getdata' | 'getheaders' | 'getblocks' }>;

/** Bytes an inventory item takes on the wire (type + hash): what a waiting getdata item is charged. */
const INV_ITEM_SIZE = 36;

export function isRequest(m: Message): m is Request {
  return m.command === 'getdata' || m.command === 'getheaders' || m.command === 'getblocks';
}

/** An item the block actor answers with a block read from disk (the rest are notfound). */
export function isBlockItem(i: InvItem): boolean {
  const t = (i.type & ~MSG_WITNESS_FLAG) >>> 0;
  return t === MSG_BLOCK || t === MSG_CMPCT_BLOCK;
}

export interface RequestState {
  /** Requests waiting, oldest first (at most one in practice: nothing more is processed meanwhile). */
  readonly queue: Request[];
  /** How many items of the oldest request (a getdata) were handed out already. */
  next: number;
  /** The number of the piece the block actor is serving; 0 = none. */
  inFlight: number;
  /** The last piece's number. */
  seq: number;
  /** Pieces handed to the block actor since the connection opened. */
  pieces: number;
}

export type RequestEvent =
  /** The peer sent a request. `paused`: the send queue is over its limit (Core's fPauseSend). */
  | { readonly type: 'request'; readonly msg: Request; readonly paused: boolean }
  /** The block actor answered piece `seq` (its answer is ahead of this in our mailbox). */
  | { readonly type: 'served'; readonly seq: number; readonly paused: boolean }
  /** The send queue is back below its limit. */
  | { readonly type: 'unpaused' }
  /** The block actor restarted: the piece it was serving is lost. */
  | { readonly type: 'chain-restarted'; readonly paused: boolean };

export type RequestEffect =
  /** Hand this piece to the block actor, numbered `seq` (it answers `served` with that number). */
  | { readonly kind: 'to-chain'; readonly msg: Request; readonly seq: number }
  /** Everything the peer asked for is served: its next messages may be processed. */
  | { readonly kind: 'idle' };

const IDLE: RequestEffect = { kind: 'idle' };

export function initRequests(): RequestState {
  return { queue: [], next: 0, inFlight: 0, seq: 0, pieces: 0 };
}

/** Nothing waits and nothing is being served: the peer's next message may be processed. */
export function requestsIdle(s: RequestState): boolean {
  return s.queue.length === 0 && s.inFlight === 0;
}

/** Bytes of requests waiting here (charged to the peer's receive limit). */
export function requestBytes(s: RequestState): number {
  let n = 0;
  for (let i = 0; i < s.queue.length; i++) {
    const r = s.queue[i];
    n += r.command === 'getdata' ? (r.items.length - (i === 0 ? s.next : 0)) * INV_ITEM_SIZE : 36 + r.locator.length * 32;
  }
  return n;
}

/** The next piece of the oldest request; the request leaves the queue with its last piece. */
function takePiece(s: RequestState): Request | null {
  const r = s.queue[0];
  if (r === undefined) return null;
  if (r.command !== 'getdata') {
    s.queue.shift();
    return r;
  }
  const start = s.next;
  let end = start;
  while (end < r.items.length && !isBlockItem(r.items[end])) end++;
  if (end < r.items.length) end++; // one block
  if (end >= r.items.length) {
    s.queue.shift();
    s.next = 0;
  } else s.next = end;
  return start === 0 && end >= r.items.length ? r : { command: 'getdata', items: r.items.slice(start, end) };
}

/** Hands the next piece to the block actor if none is there and the send queue has room. */
function issue(s: RequestState, paused: boolean, fx: RequestEffect[]): void {
  if (s.inFlight !== 0 || paused) return;
  const msg = takePiece(s);
  if (msg === null) return;
  s.seq++;
  s.pieces++;
  s.inFlight = s.seq;
  fx.push({ kind: 'to-chain', msg, seq: s.seq });
}

/** Feeds one event to the request queue; returns the effects to perform, in order. */
export function stepRequests(s: RequestState, e: RequestEvent): RequestEffect[] {
  const fx: RequestEffect[] = [];
  const wasIdle = requestsIdle(s);
  match(e)
    .with({ type: 'request' }, ({ msg, paused }) => {
      // An empty getdata asks for nothing.
      if (msg.command === 'getdata' && msg.items.length === 0) return;
      s.queue.push(msg);
      issue(s, paused, fx);
    })
    .with({ type: 'served' }, ({ seq, paused }) => {
      if (seq !== s.inFlight) return; // the lost piece of an earlier incarnation of the block actor
      s.inFlight = 0;
      issue(s, paused, fx);
    })
    .with({ type: 'unpaused' }, () => issue(s, false, fx))
    .with({ type: 'chain-restarted' }, ({ paused }) => {
      s.inFlight = 0;
      issue(s, paused, fx);
    })
    .exhaustive();
  if (!wasIdle && requestsIdle(s)) fx.push(IDLE);
  return fx;
}
