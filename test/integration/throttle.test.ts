/**
 * Bandwidth throttling over real loopback sockets, on a manual clock: the token buckets, the
 * throttle timers and the send-stall timer all run on the node's scheduler, so a rate is bytes
 * counted over a stretch of the node's time, never of ours, and a loaded machine cannot bend it.
 *
 * Rates are measured in steady state (after the start-up burst is spent), between two readings
 * of a byte counter. At that point a receive bucket's balance is between minus one socket read
 * (≤ 64 KiB: a chunk is charged whole, then reading pauses) and zero, so the bytes counted over
 * a window are rate × window ± 64 KiB. At 1 MB/s over 5 s the bound is 64 KiB / 5 MB = 1.3 %;
 * the assertions allow 3 % (the flood must keep up with the node's time, which moves 20 ms per
 * turn of our event loop). Sending is split to the byte, so its bound is tighter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { ManualScheduler, advance } from '../helpers/clock.js';
import { RawPeer, frame } from '../helpers/raw-peer.js';
import type { PeerMsg } from '../../src/contracts/peer.js';
import { UNKNOWN_COMMAND } from '../../src/wire/messages.js';
import { tell } from '../../supervisors/index.js';

const MB = 1_000_000;
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A 64 KiB message of a command the node does not know: ignored, without penalty. */
const BIG = frame({ command: UNKNOWN_COMMAND, name: 'padding', payload: Buffer.alloc(64 * 1024 - 24, 0xab) });

/** Floods `peer` → node with BIG messages, respecting our own socket's backpressure; returns a stopper. */
function flood(peer: RawPeer): () => Promise<void> {
  let on = true;
  const run = (async () => {
    while (on && !peer.isClosed) {
      if (peer.socket.writableLength > 1024 * 1024) await delay(5);
      else peer.sendRaw(BIG);
    }
  })();
  return async () => {
    on = false;
    await run;
  };
}

/** Bytes/s of a counter over `ms` of the node's time. */
async function rateOf(clock: ManualScheduler, counter: () => number | Promise<number>, ms: number): Promise<number> {
  const b0 = await counter();
  const t0 = clock.now();
  await advance(clock, ms);
  const b1 = await counter();
  return (b1 - b0) / ((clock.now() - t0) / 1000);
}

const pct = (x: number, target: number): string => `${(x / 1000).toFixed(1)} kB/s (${(((x - target) / target) * 100).toFixed(2)} % off ${target / 1000} kB/s)`;

test('receive throttled per peer to 1 MB/s: the node reads at 1 MB/s ±3 % (5 s window), pausing the socket, dropping nothing', async (t) => {
  const clock = new ManualScheduler();
  const node = await testNode({ peermaxrecvrate: MB, pinginterval: 3600, scheduler: clock });
  const peer = await RawPeer.connect(node.port);
  let stop: (() => Promise<void>) | undefined;
  try {
    await peer.handshake();
    const [info0] = await node.peers();
    assert.equal(info0.recvLimit, MB);
    assert.equal(info0.sendLimit, 0);
    stop = flood(peer);
    await advance(clock, 500); // the burst is spent
    const rate = await rateOf(clock, () => node.netTotals().totalbytesrecv, 5000);
    t.diagnostic(`receive: ${pct(rate, MB)}`);
    assert.ok(Math.abs(rate / MB - 1) < 0.03, pct(rate, MB));
    const [info] = await node.peers();
    assert.equal(info.ignored['unknown command'] > 50, true, 'the padding messages arrived whole and were ignored');
    assert.equal((await node.disconnects()).length, 0);
  } finally {
    await stop?.();
    await peer.destroy();
    await node.cleanup();
  }
});

test('send throttled per peer to 1 MB/s: the peer receives at 1 MB/s ±3 % (4 s window), not dropped as "not reading"', async (t) => {
  const clock = new ManualScheduler();
  const node = await testNode({ peermaxsendrate: MB, pinginterval: 3600, sendStallMs: 1000, scheduler: clock });
  const peer = await RawPeer.connect(node.port);
  try {
    await peer.handshake();
    const [info0] = await node.peers();
    const ref = node.runtime.refOf<PeerMsg>(`/root/peers/peer-${info0.id}`);
    assert.ok(ref);
    // 8 MB queued at once: far over the 1 MB send limit, kept full by our own throttle (the peer reads).
    for (let i = 0; i < 125; i++) tell(ref, { type: 'send', msg: { command: UNKNOWN_COMMAND, name: 'padding', payload: Buffer.alloc(64_000 - 24, i) } });
    await advance(clock, 500);
    const rate = await rateOf(clock, () => peer.bytesReceived, 4000);
    t.diagnostic(`send: ${pct(rate, MB)}`);
    assert.ok(Math.abs(rate / MB - 1) < 0.03, pct(rate, MB));
    const [info] = await node.peers();
    assert.ok(info.sendThrottled > 0 && info.sendQueued >= info.sendThrottled, `${info.sendThrottled} / ${info.sendQueued}`);
    assert.equal(peer.isClosed, false, 'the send-stall timer (1 s) did not drop a peer that reads');
    assert.ok(node.netTotals().totalbytessent >= peer.bytesReceived);
  } finally {
    await peer.destroy();
    await node.cleanup();
  }
});

test('limits changed mid-transfer: lowered, then raised, the rate follows, and nobody is reconnected', async (t) => {
  const clock = new ManualScheduler();
  const node = await testNode({ peermaxrecvrate: 2 * MB, pinginterval: 3600, scheduler: clock });
  const peer = await RawPeer.connect(node.port);
  let stop: (() => Promise<void>) | undefined;
  try {
    await peer.handshake();
    const [{ id }] = await node.peers();
    stop = flood(peer);
    await advance(clock, 300);
    const recv = (): number => node.netTotals().totalbytesrecv;
    const r1 = await rateOf(clock, recv, 2000);
    // 2 s at the lowest rate (500 kB/s) is 1 MB: one 64 KiB chunk of slack is 6.5 %; allow 15 %.
    assert.ok(Math.abs(r1 / (2 * MB) - 1) < 0.15, `before: ${pct(r1, 2 * MB)}`);

    await node.setPeerLimit(id, 500_000, 0);
    await advance(clock, 300);
    const r2 = await rateOf(clock, recv, 2000);
    assert.ok(Math.abs(r2 / 500_000 - 1) < 0.15, `lowered: ${pct(r2, 500_000)}`);
    assert.equal((await node.peers())[0].recvLimit, 500_000);

    await node.setPeerLimit(`127.0.0.1:${peer.socket.localPort}`, 2 * MB, 0);
    await advance(clock, 300);
    const r3 = await rateOf(clock, recv, 2000);
    assert.ok(Math.abs(r3 / (2 * MB) - 1) < 0.15, `raised: ${pct(r3, 2 * MB)}`);

    // Node-wide now, below the peer's own: the lower limit governs.
    await node.setNetLimit(1 * MB, 0);
    await advance(clock, 300);
    const r4 = await rateOf(clock, recv, 2000);
    assert.ok(Math.abs(r4 / MB - 1) < 0.15, `node-wide: ${pct(r4, MB)}`);
    t.diagnostic(`before ${pct(r1, 2 * MB)}; lowered ${pct(r2, 500_000)}; raised ${pct(r3, 2 * MB)}; node-wide ${pct(r4, MB)}`);
    const totals = node.netTotals();
    assert.equal(totals.maxrecvrate, MB);
    assert.equal(totals.maxsendrate, 0);
    assert.equal(totals.peermaxrecvrate, 2 * MB);

    const [after] = await node.peers();
    assert.equal(after.id, id, 'the same connection throughout');
    assert.equal(peer.isClosed, false);
    assert.equal((await node.disconnects()).length, 0);
  } finally {
    await stop?.();
    await peer.destroy();
    await node.cleanup();
  }
});

test('a node-wide receive limit shared by two flooding peers: the total holds, both get a share; "all" sets every peer', async (t) => {
  const clock = new ManualScheduler();
  const node = await testNode({ maxrecvrate: 2 * MB, pinginterval: 3600, scheduler: clock });
  const peers = [await RawPeer.connect(node.port), await RawPeer.connect(node.port)];
  const stops: (() => Promise<void>)[] = [];
  try {
    for (const p of peers) await p.handshake();
    await until('both peers connected', async () => (await node.peers()).length === 2);
    for (const p of peers) stops.push(flood(p));
    await advance(clock, 500);
    const before = await node.peers();
    const rate = await rateOf(clock, () => node.netTotals().totalbytesrecv, 3000);
    const after = await node.peers();
    assert.ok(Math.abs(rate / (2 * MB) - 1) < 0.05, pct(rate, 2 * MB));
    const shares = after.map((a, i) => a.bytesrecv - before[i].bytesrecv);
    const total = shares[0] + shares[1];
    t.diagnostic(`shared: ${pct(rate, 2 * MB)}, shares ${shares.map((x) => (x / total).toFixed(3)).join(' / ')}`);
    for (const s of shares) assert.ok(s / total > 0.3, `shares ${shares.map((x) => (x / total).toFixed(2)).join(' / ')}`);

    await node.setPeerLimit('all', 300_000, 123_456);
    for (const i of await node.peers()) {
      assert.equal(i.recvLimit, 300_000);
      assert.equal(i.sendLimit, 123_456);
    }
    assert.equal(node.netTotals().peermaxsendrate, 123_456);
    await assert.rejects(node.setPeerLimit(999, 1, 1), /not found/);
    await assert.rejects(node.setNetLimit(-1, 0), RangeError);
  } finally {
    for (const s of stops) await s();
    for (const p of peers) await p.destroy();
    await node.cleanup();
  }
});
