import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initFlow, queuedBytes, stepFlow, type FlowEffect, type FlowInit, type FlowState } from '../../src/peer/flow.js';
import { rateBucket, setRate } from '../../src/throttle/throttle.js';

const STALL = 20_000;

/** A flow state with small limits; unlimited buckets (node-wide too) unless told. */
function flow(over: Partial<FlowInit> = {}): FlowState {
  return initFlow({
    maxRecv: 1000,
    maxSend: 100,
    stallMs: STALL,
    recvRate: 0,
    sendRate: 0,
    net: { recv: rateBucket(0, 0), send: rateBucket(0, 0) },
    now: 0,
    ...over,
  });
}

const PAUSE: FlowEffect = { kind: 'pause-socket' };
const RESUME: FlowEffect = { kind: 'resume-socket' };

/** A frame of `bytes` queued and its writes reported, as the shell does: the socket then holds `socketQueued`. */
function send(s: FlowState, bytes: number, socketQueued: number, now = 0): FlowEffect[] {
  const fx = stepFlow(s, { type: 'queued', bytes, now, socketQueued: socketQueued - bytes, timerArmed: false });
  return [...fx, ...stepFlow(s, { type: 'written', socketQueued })];
}

test('receive: reading pauses once mailbox and framer hold more than the limit, and resumes at the limit', () => {
  const s = flow();
  assert.deepEqual(stepFlow(s, { type: 'received', bytes: 600, held: 0, now: 0 }), []);
  assert.deepEqual(stepFlow(s, { type: 'received', bytes: 300, held: 50, now: 0 }), [], '950 held: under the limit');
  assert.deepEqual(stepFlow(s, { type: 'received', bytes: 100, held: 50, now: 0 }), [PAUSE], '1050 held: over');
  assert.equal(s.recvPaused, true);
  assert.deepEqual(stepFlow(s, { type: 'received', bytes: 10, held: 50, now: 0 }), [], 'paused once');
  // The actor takes the chunks from its mailbox: they are in the framer now.
  for (const bytes of [600, 300, 100, 10]) assert.deepEqual(stepFlow(s, { type: 'consumed', bytes }), []);
  assert.equal(s.inMailbox, 0);
  assert.deepEqual(stepFlow(s, { type: 'buffered', held: 1060 }), [], 'the framer still holds too much');
  assert.deepEqual(stepFlow(s, { type: 'buffered', held: 1000 }), [RESUME], 'at the limit: reading resumes');
  assert.equal(s.recvPaused, false);
  assert.deepEqual(stepFlow(s, { type: 'buffered', held: 0 }), [], 'resumed once');
  assert.deepEqual(stepFlow(s, { type: 'buffered', held: 1001 }), [PAUSE], 'held bytes alone count');
});

test('send: straight to the socket when nothing limits and nothing waits, whatever the socket holds', () => {
  const s = flow();
  assert.deepEqual(stepFlow(s, { type: 'queued', bytes: 80, now: 0, socketQueued: 5000, timerArmed: false }), [{ kind: 'write', bytes: 80 }]);
  assert.equal(s.outQueued, 0);
  assert.equal(s.sent, 80);
});

test('send: above the send limit, reading pauses and received frames wait; back under it, both resume', () => {
  const s = flow();
  assert.deepEqual(send(s, 60, 60), [{ kind: 'write', bytes: 60 }]);
  assert.deepEqual(send(s, 40, 100), [{ kind: 'write', bytes: 40 }], 'at the limit: nothing changes');
  assert.deepEqual(send(s, 30, 130), [{ kind: 'write', bytes: 30 }, { kind: 'stop-processing' }, { kind: 'timer', key: 'send-stall', ms: STALL }, PAUSE]);
  assert.equal(s.sendPaused, true);
  assert.deepEqual(send(s, 10, 140), [{ kind: 'write', bytes: 10 }], 'paused once; the reply to a frame being handled still goes');
  // Reading stays paused whatever the receive side holds.
  assert.deepEqual(stepFlow(s, { type: 'buffered', held: 0 }), []);
  assert.equal(s.recvPaused, true);
  // The peer reads part of it: still over.
  assert.deepEqual(stepFlow(s, { type: 'flush', now: 0, socketQueued: 101, timerArmed: false }), []);
  assert.deepEqual(stepFlow(s, { type: 'flushed', socketQueued: 101 }), []);
  assert.equal(s.sendPaused, true);
  // Back at the limit: the stall check is off and the held frames are processed.
  assert.deepEqual(stepFlow(s, { type: 'flushed', socketQueued: 100 }), [{ kind: 'cancel-timer', key: 'send-stall' }, { kind: 'resume-processing' }]);
  assert.equal(s.sendPaused, false);
  assert.deepEqual(stepFlow(s, { type: 'flushed', socketQueued: 0 }), [], 'resumed once');
  // Processing them leaves the framer under its limit: reading resumes.
  assert.deepEqual(stepFlow(s, { type: 'buffered', held: 0 }), [RESUME]);
});

test('send: a queue already over the limit after a send does not end the pause there, only a flush does', () => {
  const s = flow();
  send(s, 200, 200);
  assert.equal(s.sendPaused, true);
  // A small send while the socket has drained (its drain message not yet handled): still paused.
  assert.deepEqual(send(s, 10, 10), [{ kind: 'write', bytes: 10 }]);
  assert.equal(s.sendPaused, true);
  assert.deepEqual(stepFlow(s, { type: 'flushed', socketQueued: 10 }), [{ kind: 'cancel-timer', key: 'send-stall' }, { kind: 'resume-processing' }]);
});

test('send stall: a queue that stays over the limit with nothing read is disconnected when the stall timer fires', () => {
  const s = flow();
  send(s, 150, 150);
  assert.equal(s.stallMark, 0);
  assert.deepEqual(stepFlow(s, { type: 'stall', socketQueued: 150 }), [{ kind: 'disconnect', reason: 'peer is not reading: 150 bytes queued' }]);
});

test('send stall: reading something does not spare a peer when nothing waits for our own throttle', () => {
  const s = flow();
  send(s, 150, 150);
  assert.deepEqual(stepFlow(s, { type: 'stall', socketQueued: 120 }), [{ kind: 'disconnect', reason: 'peer is not reading: 120 bytes queued' }]);
});

test('send stall: nothing happens once the queue came back under the limit (a late timer)', () => {
  const s = flow();
  send(s, 150, 150);
  stepFlow(s, { type: 'flushed', socketQueued: 50 });
  assert.deepEqual(stepFlow(s, { type: 'stall', socketQueued: 150 }), []);
  assert.deepEqual(stepFlow(s, { type: 'stall', socketQueued: 0 }), []);
});

test('send stall: a peer that reads while our send throttle holds the queue full is checked again, then dropped when it stops reading', () => {
  // 1000 B/s: a burst of 64 KiB, then 1 byte per ms.
  const s = flow({ sendRate: 1000, maxSend: 1000 });
  const fx = stepFlow(s, { type: 'queued', bytes: 70_000, now: 0, socketQueued: 0, timerArmed: false });
  assert.deepEqual(fx, [{ kind: 'write', bytes: 65_536 }, { kind: 'timer', key: 'throttle-send', ms: 4464 }]);
  assert.equal(s.outQueued, 70_000 - 65_536);
  assert.deepEqual(stepFlow(s, { type: 'written', socketQueued: 65_536 }), [{ kind: 'stop-processing' }, { kind: 'timer', key: 'send-stall', ms: STALL }, PAUSE]);
  // The peer read 5536 bytes since: checked again later.
  assert.deepEqual(stepFlow(s, { type: 'stall', socketQueued: 60_000 }), [{ kind: 'timer', key: 'send-stall', ms: STALL }]);
  assert.equal(s.stallMark, 5536);
  // Nothing more read since: not reading.
  assert.deepEqual(stepFlow(s, { type: 'stall', socketQueued: 60_000 }), [{ kind: 'disconnect', reason: `peer is not reading: ${60_000 + 4464} bytes queued` }]);
});

test('send throttle: frames wait for tokens and leave split as tokens allow; one timer at a time', () => {
  const s = flow({ sendRate: 1000, maxSend: 1_000_000 });
  assert.deepEqual(stepFlow(s, { type: 'queued', bytes: 60_000, now: 0, socketQueued: 0, timerArmed: false }), [{ kind: 'write', bytes: 60_000 }]);
  // 5536 tokens left: the next frame goes in part, the rest waits for a timer.
  assert.deepEqual(stepFlow(s, { type: 'queued', bytes: 10_000, now: 0, socketQueued: 0, timerArmed: false }), [
    { kind: 'write', bytes: 5536 },
    { kind: 'timer', key: 'throttle-send', ms: 4464 },
  ]);
  // Behind waiting bytes a frame waits too, and the armed timer is not set again.
  assert.deepEqual(stepFlow(s, { type: 'queued', bytes: 100, now: 0, socketQueued: 0, timerArmed: true }), []);
  assert.equal(s.outQueued, 4564);
  assert.equal(queuedBytes(s, 7), 4571);
  // The timer fires 1 s later: 1000 tokens, 1000 bytes go.
  assert.deepEqual(stepFlow(s, { type: 'flush', now: 1000, socketQueued: 0, timerArmed: false }), [
    { kind: 'write', bytes: 1000 },
    { kind: 'timer', key: 'throttle-send', ms: 3564 },
  ]);
  assert.equal(s.sent, 66_536);
});

test('send: nothing more is handed to a socket already holding more than the send limit', () => {
  const s = flow({ sendRate: 1000, maxSend: 100 });
  assert.deepEqual(stepFlow(s, { type: 'queued', bytes: 50, now: 0, socketQueued: 101, timerArmed: false }), []);
  assert.equal(s.outQueued, 50);
  assert.deepEqual(stepFlow(s, { type: 'flush', now: 0, socketQueued: 101, timerArmed: false }), []);
  assert.deepEqual(stepFlow(s, { type: 'flush', now: 0, socketQueued: 100, timerArmed: false }), [{ kind: 'write', bytes: 50 }]);
  assert.equal(s.outQueued, 0);
});

test('send: nothing is written once the connection is closing', () => {
  const s = flow({ sendRate: 1000 });
  stepFlow(s, { type: 'queued', bytes: 50, now: 0, socketQueued: 101, timerArmed: false });
  assert.deepEqual(stepFlow(s, { type: 'closing' }), []);
  assert.deepEqual(stepFlow(s, { type: 'flush', now: 0, socketQueued: 0, timerArmed: false }), []);
  assert.equal(s.outQueued, 50);
});

test('receive throttle: a charge into debt pauses reading; a timer resumes it when the debt is paid', () => {
  const s = flow({ recvRate: 1000, maxRecv: 1_000_000 });
  assert.deepEqual(stepFlow(s, { type: 'received', bytes: 65_536, held: 0, now: 0 }), [], 'the burst is free');
  assert.deepEqual(stepFlow(s, { type: 'received', bytes: 500, held: 0, now: 0 }), [PAUSE], 'into debt: paused below the receive limit');
  assert.equal(s.recvThrottled, true);
  stepFlow(s, { type: 'consumed', bytes: 66_036 });
  assert.deepEqual(stepFlow(s, { type: 'recv-check', held: 0, now: 0, timerArmed: false }), [{ kind: 'timer', key: 'throttle-recv', ms: 500 }]);
  assert.deepEqual(stepFlow(s, { type: 'recv-check', held: 0, now: 100, timerArmed: true }), [], 'the timer is already armed');
  assert.deepEqual(stepFlow(s, { type: 'buffered', held: 0 }), [], 'in debt: stays paused');
  assert.deepEqual(stepFlow(s, { type: 'recv-check', held: 0, now: 300, timerArmed: false }), [{ kind: 'timer', key: 'throttle-recv', ms: 200 }]);
  assert.deepEqual(stepFlow(s, { type: 'recv-check', held: 0, now: 500, timerArmed: false }), [RESUME]);
  assert.equal(s.recvThrottled, false);
  // Paid, but the framer holds too much: the debt no longer holds reading, the receive limit does.
  const t = flow({ recvRate: 1000, maxRecv: 1_000_000 });
  stepFlow(t, { type: 'received', bytes: 70_000, held: 0, now: 0 });
  stepFlow(t, { type: 'consumed', bytes: 70_000 });
  assert.deepEqual(stepFlow(t, { type: 'recv-check', held: 1_000_001, now: 10_000, timerArmed: false }), []);
  assert.equal(t.recvPaused, true);
  assert.deepEqual(stepFlow(t, { type: 'buffered', held: 0 }), [RESUME]);
});

test('receive throttle: the node-wide bucket pauses a peer whose own limit is not reached', () => {
  const net = { recv: rateBucket(1000, 0), send: rateBucket(0, 0) };
  const s = flow({ net, maxRecv: 1_000_000 });
  assert.deepEqual(stepFlow(s, { type: 'received', bytes: 70_000, held: 0, now: 0 }), [PAUSE]);
  assert.equal(s.recvThrottled, true);
});

test('set-limits: a lifted send limit writes what waited and ends the send pause', () => {
  const s = flow({ sendRate: 1000, maxSend: 1000 });
  stepFlow(s, { type: 'queued', bytes: 70_000, now: 0, socketQueued: 0, timerArmed: false });
  stepFlow(s, { type: 'written', socketQueued: 0 });
  assert.equal(s.sendPaused, true);
  assert.deepEqual(stepFlow(s, { type: 'limits', send: 0, now: 10, held: 0, socketQueued: 0 }), [
    { kind: 'cancel-timer', key: 'throttle-recv' },
    { kind: 'cancel-timer', key: 'throttle-send' },
    { kind: 'write', bytes: 4464 },
  ]);
  assert.equal(s.sendBucket.rate, 0);
  assert.equal(s.recvBucket.rate, 0, 'absent: unchanged');
  assert.deepEqual(stepFlow(s, { type: 'flushed', socketQueued: 0 }), [{ kind: 'cancel-timer', key: 'send-stall' }, { kind: 'resume-processing' }]);
});

test('set-limits: a lifted receive limit resumes reading at once; a new one applies to what comes next', () => {
  const s = flow({ recvRate: 1000, maxRecv: 1_000_000 });
  stepFlow(s, { type: 'received', bytes: 70_000, held: 0, now: 0 });
  stepFlow(s, { type: 'consumed', bytes: 70_000 });
  assert.deepEqual(stepFlow(s, { type: 'limits', recv: 0, now: 10, held: 0, socketQueued: 0 }), [
    { kind: 'cancel-timer', key: 'throttle-recv' },
    RESUME,
    { kind: 'cancel-timer', key: 'throttle-send' },
  ]);
  assert.equal(s.recvThrottled, false);
  assert.deepEqual(stepFlow(s, { type: 'limits', recv: 2000, now: 20, held: 0, socketQueued: 0 }), [
    { kind: 'cancel-timer', key: 'throttle-recv' },
    { kind: 'cancel-timer', key: 'throttle-send' },
  ]);
  assert.equal(s.recvBucket.rate, 2000);
  assert.equal(s.recvBucket.burst, 65_536);
  assert.deepEqual(stepFlow(s, { type: 'received', bytes: 70_000, held: 0, now: 20 }), [PAUSE]);
});

test('set-limits with neither limit: the node-wide ones changed, both directions are re-evaluated', () => {
  const net = { recv: rateBucket(0, 0), send: rateBucket(1000, 0) };
  const s = flow({ net, maxSend: 1_000_000 });
  stepFlow(s, { type: 'queued', bytes: 70_000, now: 0, socketQueued: 0, timerArmed: false });
  assert.equal(s.outQueued, 70_000 - 65_536);
  setRate(net.send, 0, 5);
  assert.deepEqual(stepFlow(s, { type: 'limits', now: 5, held: 0, socketQueued: 0 }), [
    { kind: 'cancel-timer', key: 'throttle-recv' },
    { kind: 'cancel-timer', key: 'throttle-send' },
    { kind: 'write', bytes: 4464 },
  ]);
  assert.equal(s.outQueued, 0);
  assert.equal(s.sent, 70_000);
});
