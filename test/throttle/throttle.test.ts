/**
 * The throttle's arithmetic under a fake clock, driven the way the peer actor drives it: a
 * socket that delivers 64 KiB chunks whenever it is not paused (the worst case: a sender with
 * infinite data and no latency), pauses on debt, and resumes on integer-millisecond timers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TokenBucket } from '../../src/util/token-bucket.js';
import {
  burstFor,
  checkRate,
  MIN_BURST,
  netThrottle,
  netTotals,
  rateBucket,
  recvCharge,
  recvWait,
  sendAllowance,
  sendCharge,
  sendWait,
  setRate,
} from '../../src/throttle/throttle.js';

const CHUNK = 64 * 1024;
const RESUME_LATENCY = 0.1;
const MB = 1_000_000;

/**
 * Receiving flat out from `peers` sockets sharing `net`, from `from` until `end` ms; returns the
 * bytes of each. Events run in time order on one clock, as in the node: a socket that is not
 * paused delivers a chunk; a charge into debt pauses it and arms a timer for recvWait (whole ms);
 * the timer re-arms until the debt is paid. Each socket starts with that check (as the actor
 * re-arms its timer when a limit changes). A resumed socket's data comes from the next I/O
 * poll, after the other timers due at the same time have run: {@link RESUME_LATENCY}.
 */
function simulateRecv(peers: TokenBucket[], net: TokenBucket, from: number, end: number): number[] {
  const got = peers.map(() => 0);
  const next = peers.map(() => from);
  const paused = peers.map(() => true);
  for (;;) {
    let i = 0;
    for (let j = 1; j < peers.length; j++) if (next[j] < next[i]) i = j;
    const now = next[i];
    if (now >= end) break;
    if (paused[i]) {
      const w = recvWait(peers[i], net, now);
      if (w > 0) next[i] = now + w;
      else {
        paused[i] = false;
        next[i] = now + RESUME_LATENCY;
      }
      continue;
    }
    got[i] += CHUNK;
    if (recvCharge(peers[i], net, CHUNK, now)) paused[i] = true;
  }
  return got;
}

/** Sending flat out (an endless queue) under the buckets, flushing on sendWait timers, until `end`. */
function simulateSend(peer: TokenBucket, net: TokenBucket, from: number, end: number): number {
  let sent = 0;
  const queued = 10 * MB;
  for (let now = from; now < end; ) {
    const n = Math.min(queued, sendAllowance(peer, net, now));
    sendCharge(peer, net, n, now);
    sent += n;
    now += Math.max(1, sendWait(peer, net, queued, now));
  }
  return sent;
}

test('burst: max(rate × 100 ms, 64 KiB); 0 for unlimited', () => {
  assert.equal(burstFor(0), 0);
  assert.equal(burstFor(1000), MIN_BURST);
  assert.equal(burstFor(MB), 100_000);
  assert.equal(burstFor(10 * MB), MB);
});

test('rates must be whole non-negative numbers', () => {
  assert.equal(checkRate(0), 0);
  assert.equal(checkRate(1_000_000), 1_000_000);
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => checkRate(bad), RangeError);
});

test('receive throttled to 1 MB/s measures within ±2% over 30 s (fake clock; every byte that arrived is counted)', () => {
  const net = rateBucket(0, 0);
  const peer = rateBucket(MB, 0);
  const [bytes] = simulateRecv([peer], net, 0, 30_000);
  const rate = bytes / 30;
  const err = (rate - MB) / MB;
  assert.ok(Math.abs(err) < 0.02, `measured ${rate.toFixed(0)} B/s, error ${(err * 100).toFixed(3)}%`);
  // The bound, exactly: the rate's bytes, plus the burst it started with, plus one chunk of debt at most.
  assert.ok(bytes <= 30 * MB + burstFor(MB) + CHUNK, `${bytes}`);
  assert.ok(bytes >= 30 * MB, `${bytes}`);
});

test('send throttled to 1 MB/s measures within ±2% over 30 s (fake clock)', () => {
  const sent = simulateSend(rateBucket(MB, 0), rateBucket(0, 0), 0, 30_000);
  const err = (sent / 30 - MB) / MB;
  assert.ok(Math.abs(err) < 0.02, `measured ${(sent / 30).toFixed(0)} B/s, error ${(err * 100).toFixed(3)}%`);
  assert.ok(sent <= 30 * MB + burstFor(MB), `${sent}`);
});

test('a node-wide 1 MB/s receive limit shared by 4 peers: the total within ±2%, each peer near a quarter', () => {
  const net = rateBucket(MB, 0);
  const peers = [0, 1, 2, 3].map(() => rateBucket(0, 0));
  const got = simulateRecv(peers, net, 0, 30_000);
  const total = got.reduce((a, b) => a + b, 0);
  const err = (total / 30 - MB) / MB;
  assert.ok(Math.abs(err) < 0.02, `total ${(total / 30).toFixed(0)} B/s, error ${(err * 100).toFixed(3)}%`);
  for (const g of got) assert.ok(Math.abs(g / total - 0.25) < 0.05, `shares ${got.map((x) => (x / total).toFixed(3)).join(' ')}`);
});

test('per-peer and node-wide limits together: the lower one wins', () => {
  const net = rateBucket(MB, 0);
  const slow = rateBucket(100_000, 0);
  const fast = rateBucket(0, 0);
  const [s, f] = simulateRecv([slow, fast], net, 0, 30_000);
  assert.ok(Math.abs(s / 30 / 100_000 - 1) < 0.03, `slow peer ${(s / 30).toFixed(0)} B/s`);
  assert.ok(Math.abs((s + f) / 30 / MB - 1) < 0.02, `total ${((s + f) / 30).toFixed(0)} B/s`);
});

test('a limit lowered then raised mid-transfer: each 10 s segment follows its rate within burst + one chunk', () => {
  const peer = rateBucket(MB, 0);
  const net = rateBucket(0, 0);
  const marks: number[] = [];
  let total = 0;
  const plan = [
    { at: 0, rate: MB },
    { at: 10_000, rate: 250_000 },
    { at: 20_000, rate: 2 * MB },
  ];
  for (const [i, seg] of plan.entries()) {
    setRate(peer, seg.rate, seg.at);
    const end = plan[i + 1]?.at ?? 30_000;
    // A chunk whose pause runs past the change would still resume on the old schedule; the actor
    // cancels and re-arms its timer on a change, which this models by starting the segment anew.
    const [b] = simulateRecv([peer], net, seg.at, end);
    total += b;
    marks.push(b / ((end - seg.at) / 1000));
  }
  assert.ok(total > 0);
  for (const [i, seg] of plan.entries()) {
    // Each segment starts with at most a burst in hand and ends at most one chunk in debt: that is the whole error.
    const slack = (burstFor(seg.rate) + CHUNK) / 10;
    assert.ok(Math.abs(marks[i] - seg.rate) <= slack, `segment ${i}: ${marks[i].toFixed(0)} B/s for ${seg.rate} (slack ${slack} B/s)`);
    if (seg.rate >= MB) assert.ok(Math.abs(marks[i] / seg.rate - 1) < 0.02, `segment ${i}: within ±2%`);
  }
});

test('setRate keeps a debt, caps a balance at the new burst, starts a formerly unlimited bucket full', () => {
  const b = rateBucket(MB, 0);
  sendCharge(b, rateBucket(0, 0), 300_000, 0);
  assert.equal(b.tokens, -200_000);
  setRate(b, 500_000, 100); // 100 ms at 1 MB/s earned 100 kB
  assert.equal(b.tokens, -100_000);
  assert.equal(b.burst, MIN_BURST);
  setRate(b, 0, 200);
  assert.equal(sendAllowance(b, rateBucket(0, 0), 200), Number.POSITIVE_INFINITY);
  setRate(b, MB, 300);
  assert.equal(b.tokens, burstFor(MB));
  assert.equal(recvWait(b, rateBucket(0, 0), 300), 0);
});

test('netThrottle from the four settings, and its totals', () => {
  const t = netThrottle({ maxRecvRate: 2 * MB, maxSendRate: 0, peerMaxRecvRate: 100_000, peerMaxSendRate: 50_000 }, () => 0);
  t.totalRecv = 10;
  t.totalSent = 20;
  const n = netTotals(t);
  assert.equal(n.totalbytesrecv, 10);
  assert.equal(n.totalbytessent, 20);
  assert.equal(n.maxrecvrate, 2 * MB);
  assert.equal(n.maxsendrate, 0);
  assert.equal(n.peermaxrecvrate, 100_000);
  assert.equal(n.peermaxsendrate, 50_000);
  assert.equal(n.recvburst, 200_000);
  assert.equal(n.sendburst, 0);
  assert.equal(typeof n.timemillis, 'number');
  assert.throws(() => netThrottle({ maxRecvRate: -5 }), /maxrecvrate/);
});
