/**
 * One peer connection's flow control, without sockets or clocks: `stepFlow(state, event) → effects`.
 *
 * - Receive backpressure: bytes the socket read wait in the actor's mailbox, then in the framer
 *   (or the v2 transport); above the receive limit (Core: 5 MB) reading pauses, below it resumes.
 * - Receive throttle: every chunk that arrived is charged to the peer's and the node's receive
 *   buckets; a charge into debt pauses reading until a timer finds both balances paid.
 * - Send queue: frames wait for send tokens and leave, split if need be, as the send buckets allow
 *   (straight to the socket when nothing limits and nothing waits). Above the send limit (Core:
 *   1 MB, counting the socket's buffer and the frames waiting for tokens) reading pauses *and*
 *   already-received frames are no longer processed (Core's fPauseSend); back under it, both resume.
 * - Send stall: a queue that stays over the limit for the stall time (the inactivity timeout by
 *   default) without the peer reading what we wrote disconnects it as "not reading"; a peer that
 *   reads while our own throttle holds the queue full is spared.
 *
 * The shell (actor.ts) owns the socket, the queued buffers and the timers. It measures what only
 * it can see and passes it in: the bytes its framer holds (`held`), the bytes in the socket's
 * buffer (`socketQueued`), the throttle clock (`now`) and whether a throttle timer is armed. It
 * performs the effects in order. Where a decision needs the socket's buffer *after* writes (the
 * kernel may take bytes synchronously), the shell performs the writes of one event and then
 * reports the result in a second one: `queued` then `written`, `flush` (or `limits`) then `flushed`.
 */
import { match } from 'ts-pattern';
import type { TokenBucket } from '../util/token-bucket.js';
import { rateBucket, recvCharge, recvWait, sendAllowance, sendCharge, sendWait, setRate } from '../throttle/throttle.js';

/** The flow core's timers: the send-stall check, and the waits of the receive and send throttles. */
export type FlowTimer = 'send-stall' | 'throttle-recv' | 'throttle-send';

export interface FlowState {
  /** Received bytes held for the peer (mailbox, framer, v2 transport) above which reading pauses. */
  readonly maxRecv: number;
  /** Bytes queued to the peer (socket buffer plus waiting for tokens) above which the send pause begins. */
  readonly maxSend: number;
  /** How long the send queue may stay over the limit with no byte delivered before the peer is dropped. */
  readonly stallMs: number;
  /** This peer's buckets, bytes/s (their rate 0 = unlimited). */
  readonly recvBucket: TokenBucket;
  readonly sendBucket: TokenBucket;
  /** The node-wide buckets, shared with every other peer (the NetThrottle's). */
  readonly netRecv: TokenBucket;
  readonly netSend: TokenBucket;
  /** Bytes the socket read that wait in the actor's mailbox. */
  inMailbox: number;
  /** Bytes waiting for send tokens: the first `outQueued` bytes of the shell's queue, in order. */
  outQueued: number;
  /** Bytes handed to the socket since the connection opened. */
  sent: number;
  /** Reading from the socket is paused (receive limit, send pause or receive debt). */
  recvPaused: boolean;
  /** A receive bucket is in debt: reading stays paused until a timer finds it paid. */
  recvThrottled: boolean;
  /** The send queue went over the limit: received frames are not processed until it is back under. */
  sendPaused: boolean;
  /** Bytes the socket had delivered when the send-stall timer was armed (the progress check). */
  stallMark: number;
  /** The connection is closing: nothing more is written. */
  closed: boolean;
}

export interface FlowInit {
  readonly maxRecv: number;
  readonly maxSend: number;
  readonly stallMs: number;
  /** This peer's limits, bytes/s, 0 = unlimited. */
  readonly recvRate: number;
  readonly sendRate: number;
  /** The node-wide buckets. */
  readonly net: { readonly recv: TokenBucket; readonly send: TokenBucket };
  /** The throttle clock, ms. */
  readonly now: number;
}

/** What the shell tells the flow core. `now` is the throttle clock (ms). */
export type FlowEvent =
  /** The socket read a chunk (it waits in the mailbox); the framer holds `held` bytes. */
  | { readonly type: 'received'; readonly bytes: number; readonly held: number; readonly now: number }
  /** The actor took a chunk from its mailbox (its bytes go to the framer). */
  | { readonly type: 'consumed'; readonly bytes: number }
  /** The framer now holds `held` bytes (frames were processed, or could not be): pause or resume reading. */
  | { readonly type: 'buffered'; readonly held: number }
  /** Is the receive debt paid? (after a chunk was handled, and when the `throttle-recv` timer fires) */
  | { readonly type: 'recv-check'; readonly held: number; readonly now: number; readonly timerArmed: boolean }
  /** A frame of `bytes` joined the end of the send queue. */
  | { readonly type: 'queued'; readonly bytes: number; readonly now: number; readonly socketQueued: number; readonly timerArmed: boolean }
  /** The writes `queued` asked for are done: is the queue over the send limit? */
  | { readonly type: 'written'; readonly socketQueued: number }
  /** Room or tokens may be there (the socket drained, the `throttle-send` timer fired): write what may go. */
  | { readonly type: 'flush'; readonly now: number; readonly socketQueued: number; readonly timerArmed: boolean }
  /** The writes of `flush` or `limits` are done: is the queue back under the send limit? */
  | { readonly type: 'flushed'; readonly socketQueued: number }
  /** The `send-stall` timer fired. */
  | { readonly type: 'stall'; readonly socketQueued: number }
  /** This peer's limits changed (absent = unchanged; neither: the node's changed): re-evaluate both directions. */
  | { readonly type: 'limits'; readonly recv?: number; readonly send?: number; readonly now: number; readonly held: number; readonly socketQueued: number }
  /** The connection is closing. */
  | { readonly type: 'closing' };

export type FlowEffect =
  | { readonly kind: 'pause-socket' }
  | { readonly kind: 'resume-socket' }
  /** Hand the first `bytes` bytes of the send queue to the socket (the last frame split if need be: TCP is a byte stream). */
  | { readonly kind: 'write'; readonly bytes: number }
  | { readonly kind: 'timer'; readonly key: FlowTimer; readonly ms: number }
  | { readonly kind: 'cancel-timer'; readonly key: FlowTimer }
  /** Handle no more received frames (they wait in the framer and count against the receive limit). */
  | { readonly kind: 'stop-processing' }
  /** Handle the received frames again, starting with those held meanwhile. */
  | { readonly kind: 'resume-processing' }
  /** Close the connection (not misbehaviour). */
  | { readonly kind: 'disconnect'; readonly reason: string };

const PAUSE: FlowEffect = { kind: 'pause-socket' };
const RESUME: FlowEffect = { kind: 'resume-socket' };
const STOP_PROCESSING: FlowEffect = { kind: 'stop-processing' };
const RESUME_PROCESSING: FlowEffect = { kind: 'resume-processing' };

export function initFlow(i: FlowInit): FlowState {
  return {
    maxRecv: i.maxRecv,
    maxSend: i.maxSend,
    stallMs: i.stallMs,
    recvBucket: rateBucket(i.recvRate, i.now),
    sendBucket: rateBucket(i.sendRate, i.now),
    netRecv: i.net.recv,
    netSend: i.net.send,
    inMailbox: 0,
    outQueued: 0,
    sent: 0,
    recvPaused: false,
    recvThrottled: false,
    sendPaused: false,
    stallMark: 0,
    closed: false,
  };
}

/** Bytes queued to the peer: in the socket's buffer plus waiting for send tokens. */
export function queuedBytes(s: FlowState, socketQueued: number): number {
  return socketQueued + s.outQueued;
}

/** Pauses or resumes reading as `over` says, if that changes anything. */
function setRecvPaused(s: FlowState, over: boolean, fx: FlowEffect[]): void {
  if (over && !s.recvPaused) {
    s.recvPaused = true;
    fx.push(PAUSE);
  } else if (!over && s.recvPaused) {
    s.recvPaused = false;
    fx.push(RESUME);
  }
}

/** Reading pauses while too much is held, the send queue is over its limit, or a receive bucket is in debt. */
function updatePause(s: FlowState, held: number, fx: FlowEffect[]): void {
  setRecvPaused(s, s.inMailbox + held > s.maxRecv || s.sendPaused || s.recvThrottled, fx);
}

/** While a receive bucket is in debt, reading stays paused; a timer checks again when the debt should be paid. */
function recvCheck(s: FlowState, held: number, now: number, timerArmed: boolean, fx: FlowEffect[]): void {
  if (!s.recvThrottled || timerArmed) return;
  const wait = recvWait(s.recvBucket, s.netRecv, now);
  if (wait > 0) {
    fx.push({ kind: 'timer', key: 'throttle-recv', ms: wait });
    return;
  }
  s.recvThrottled = false;
  updatePause(s, held, fx);
}

/**
 * Writes what the send buckets allow from the queue and, if anything is left, sets a timer for
 * when a useful amount may go. Nothing is handed to a socket already holding more than the send
 * limit (its drain flushes again).
 */
function flush(s: FlowState, now: number, socketQueued: number, timerArmed: boolean, fx: FlowEffect[]): void {
  if (s.outQueued === 0 || s.closed || socketQueued > s.maxSend) return;
  const allowance = sendAllowance(s.sendBucket, s.netSend, now);
  const written = allowance > 0 ? Math.min(s.outQueued, allowance) : 0;
  if (written > 0) {
    fx.push({ kind: 'write', bytes: written });
    s.outQueued -= written;
    s.sent += written;
  }
  sendCharge(s.sendBucket, s.netSend, written, now);
  if (s.outQueued > 0 && !timerArmed) fx.push({ kind: 'timer', key: 'throttle-send', ms: Math.max(1, sendWait(s.sendBucket, s.netSend, s.outQueued, now)) });
}

/** Arms the send-stall check, remembering how much the socket had delivered. */
function armStall(s: FlowState, socketQueued: number, fx: FlowEffect[]): void {
  s.stallMark = s.sent - socketQueued;
  fx.push({ kind: 'timer', key: 'send-stall', ms: s.stallMs });
}

/** Feeds one event to the flow logic; returns the effects to perform, in order. */
export function stepFlow(s: FlowState, e: FlowEvent): FlowEffect[] {
  const fx: FlowEffect[] = [];
  match(e)
    .with({ type: 'received' }, ({ bytes, held, now }) => {
      s.inMailbox += bytes;
      // The bytes are here: they are paid for, and reading waits until the debt is repaid.
      if (recvCharge(s.recvBucket, s.netRecv, bytes, now)) s.recvThrottled = true;
      if (!s.recvPaused && (s.recvThrottled || s.inMailbox + held > s.maxRecv)) {
        s.recvPaused = true;
        fx.push(PAUSE);
      }
    })
    .with({ type: 'consumed' }, ({ bytes }) => {
      s.inMailbox -= bytes;
    })
    .with({ type: 'buffered' }, ({ held }) => updatePause(s, held, fx))
    .with({ type: 'recv-check' }, ({ held, now, timerArmed }) => recvCheck(s, held, now, timerArmed, fx))
    .with({ type: 'queued' }, ({ bytes, now, socketQueued, timerArmed }) => {
      if (s.outQueued === 0 && s.sendBucket.rate === 0 && s.netSend.rate === 0) {
        // Nothing limits and nothing waits: straight to the socket, whatever it holds.
        fx.push({ kind: 'write', bytes });
        s.sent += bytes;
      } else {
        s.outQueued += bytes;
        flush(s, now, socketQueued, timerArmed, fx);
      }
    })
    .with({ type: 'written' }, ({ socketQueued }) => {
      if (!s.sendPaused && queuedBytes(s, socketQueued) > s.maxSend) {
        s.sendPaused = true;
        fx.push(STOP_PROCESSING);
        armStall(s, socketQueued, fx);
        setRecvPaused(s, true, fx);
      }
    })
    .with({ type: 'flush' }, ({ now, socketQueued, timerArmed }) => flush(s, now, socketQueued, timerArmed, fx))
    .with({ type: 'flushed' }, ({ socketQueued }) => {
      if (s.sendPaused && queuedBytes(s, socketQueued) <= s.maxSend) {
        s.sendPaused = false;
        fx.push({ kind: 'cancel-timer', key: 'send-stall' });
        fx.push(RESUME_PROCESSING);
      }
    })
    .with({ type: 'stall' }, ({ socketQueued }) => {
      if (!s.sendPaused) return;
      // Our own send throttle holding the queue full is not the peer's fault, as long as it reads what we write.
      const delivered = s.sent - socketQueued;
      if (s.outQueued > 0 && delivered > s.stallMark) armStall(s, socketQueued, fx);
      else fx.push({ kind: 'disconnect', reason: `peer is not reading: ${queuedBytes(s, socketQueued)} bytes queued` });
    })
    .with({ type: 'limits' }, ({ recv, send, now, held, socketQueued }) => {
      if (recv !== undefined) setRate(s.recvBucket, recv, now);
      if (send !== undefined) setRate(s.sendBucket, send, now);
      fx.push({ kind: 'cancel-timer', key: 'throttle-recv' });
      recvCheck(s, held, now, false, fx);
      fx.push({ kind: 'cancel-timer', key: 'throttle-send' });
      flush(s, now, socketQueued, false, fx);
    })
    .with({ type: 'closing' }, () => {
      s.closed = true;
    })
    .exhaustive();
  return fx;
}
