/**
 * Memory and latency under abuse (issue 9), against a peerd child process (so that its RSS is
 * its own): 500 peers flooding pings, 100 peers announcing garbage inventories and one peer
 * dripping a 4 MB message, for a 20 s window. Two claims are checked:
 *
 * - RSS stays bounded: the node's peak RSS (VmRSS sampled every 250 ms, and VmHWM at the end)
 *   stays under RSS_BOUND_MB = 250 MB. Measured on the 2-core machine: ~64 MB idle, ~115 MB
 *   peak (README, "Fault tests"); the bound is ~2.2× that peak. It is crossed by a node that
 *   keeps what the garbage announces (2 M inventory entries in the window, ≥ 64 B each), lets
 *   per-peer receive buffers fill (up to 5 MB each, 601 abusers) or copies partial frames.
 * - An honest peer keeps its ping RTT: its p99 under abuse < 20 × its idle p99 + 50 ms, both
 *   measured in this test. Relative, because absolute times depend on the machine; 20× because
 *   the node now handles ~10,000 extra messages per second in and out and shares two cores with
 *   this process (which runs the 601 abusers and measures the RTT, so its own delay is in the
 *   figure); +50 ms for scheduling on a shared, loaded machine. A node whose honest peers queue
 *   behind the abusers (one event-loop turn per flooded chunk, say) is off by orders of magnitude.
 *
 * The drip: Core's case is one byte per second, which would take 46 days for 4 MB. The shape is
 * kept — one frame declaring 4,000,000 bytes, written in small pieces over the whole window — and
 * the rate raised to 200 kB/s (10 kB every 50 ms) so the message completes in the 20 s window;
 * the node must hold the partial frame without growing past the bound, then ignore the completed
 * unknown message and keep serving that peer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { RawPeer, frame, rawVersion } from '../helpers/raw-peer.js';
import { rawFrame, SLOW_SKIP } from '../helpers/faults.js';
import { childRpcPort, startNodeChild, stopNodeChild, type NodeChild } from '../../src/tools/sim/node.js';
import { procStatus, pct } from '../../src/tools/sim/measure.js';
import { rpcCall } from '../../src/rpc/client.js';
import type { ResourceReport } from '../../src/util/resources.js';

const RSS_BOUND_MB = 250;
const PING_FLOODERS = 500;
const INV_SPAMMERS = 100;
const WINDOW_MS = 20_000;
/** Per ping flooder: 2 pings every 100 ms (10,000 pings/s from all 500, each answered with a pong), staggered over the 100 ms. */
const PINGS_PER_TICK = 2;
/** Per spammer: one inv of 500 random entries (blocks, witness blocks, filtered blocks, unknown types) per second; no transactions (after our relay=false a tx inv disconnects, as Core -blocksonly). */
const INV_ENTRIES = 500;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const HANDSHAKE = Buffer.concat([frame(rawVersion()), frame({ command: 'wtxidrelay' }), frame({ command: 'sendaddrv2' }), frame({ command: 'verack' })]);

interface Abuser {
  readonly socket: Socket;
  bytesIn: number;
  closed: boolean;
}

async function abuser(port: number): Promise<Abuser> {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  const a: Abuser = { socket, bytesIn: 0, closed: false };
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  socket.on('close', () => (a.closed = true));
  // Reads (and discards) what the node sends: this is about flooding, not about not reading.
  socket.on('data', (c: Buffer) => (a.bytesIn += c.length));
  socket.write(HANDSHAKE);
  return a;
}

async function many(port: number, n: number): Promise<Abuser[]> {
  const out: Abuser[] = [];
  for (let i = 0; i < n; i += 50) out.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => abuser(port)))));
  return out;
}

function invPayload(): Buffer {
  const types = [2, 3, 0x40000002, 0x77];
  const b = Buffer.alloc(3 + INV_ENTRIES * 36);
  b[0] = 0xfd;
  b.writeUInt16LE(INV_ENTRIES, 1);
  randomBytes(INV_ENTRIES * 36).copy(b, 3);
  for (let i = 0; i < INV_ENTRIES; i++) b.writeUInt32LE(types[i % types.length] as number, 3 + i * 36);
  return b;
}

/** Ping RTTs (ms) of an honest peer over `ms`, one ping at a time, every `everyMs`. */
async function rtts(p: RawPeer, ms: number, everyMs = 50): Promise<number[]> {
  const out: number[] = [];
  const end = Date.now() + ms;
  let nonce = BigInt(Date.now()) << 8n;
  while (Date.now() < end) {
    const n = ++nonce;
    const t = performance.now();
    p.send({ command: 'ping', nonce: n });
    for (;;) if ((await p.waitFor('pong', 10_000)).nonce === n) break;
    out.push(performance.now() - t);
    await sleep(everyMs);
  }
  return out;
}

const p99 = (xs: number[]): number => pct(Float64Array.from(xs).sort(), 99);

test('memory under abuse: 500 ping flooders, 100 garbage-inv spammers, a 4 MB drip — RSS bounded, the honest peer keeps its RTT', { skip: SLOW_SKIP, timeout: 180_000 }, async (t) => {
  const datadir = mkdtempSync(join(tmpdir(), 'peerd-abuse-'));
  let child: NodeChild | null = null;
  const abusers: Abuser[] = [];
  const timers: NodeJS.Timeout[] = [];
  let honest: RawPeer | null = null;
  try {
    child = await startNodeChild({ datadir, maxconnections: PING_FLOODERS + INV_SPAMMERS + 100, extraArgs: ['--rpcport', '0'] });
    const node = child;
    const rpc = { port: await childRpcPort(node), cookieFile: join(datadir, 'regtest', '.cookie') };
    const rss = (): number => (procStatus(node.pid, 'VmRSS') ?? 0) / 1024;

    honest = await RawPeer.connect(node.port);
    await honest.handshake();
    await rtts(honest, 1000); // warm-up
    const idle = await rtts(honest, 5000, 20);
    const idleP99 = p99(idle);
    const rssIdle = rss();

    // The abusers connect (in batches of 50) and start.
    const floods = await many(node.port, PING_FLOODERS);
    const spam = await many(node.port, INV_SPAMMERS);
    const dripper = await RawPeer.connect(node.port);
    await dripper.handshake();
    abusers.push(...floods, ...spam);
    await sleep(500);
    assert.ok(abusers.every((a) => !a.closed), 'every abuser connected');

    const pings = Buffer.concat(Array.from({ length: PINGS_PER_TICK }, (_, i) => frame({ command: 'ping', nonce: BigInt(i + 1) })));
    // A tenth of the flooders every 10 ms: each sends its 2 pings every 100 ms, the 500 not in lockstep.
    let g = 0;
    timers.push(setInterval(() => {
      for (let i = g++ % 10; i < floods.length; i += 10) if (!floods[i]!.closed) floods[i]!.socket.write(pings);
    }, 10));
    const invs = Array.from({ length: 8 }, () => rawFrame('inv', invPayload()));
    let k = 0;
    timers.push(setInterval(() => {
      // A tenth of the spammers every 100 ms: each sends one inv per second.
      for (let i = k % 10; i < spam.length; i += 10) if (!spam[i]!.closed) spam[i]!.socket.write(invs[(k + i) % invs.length]!);
      k++;
    }, 100));
    const big = rawFrame('badmsg', Buffer.alloc(4_000_000, 0x62));
    let dripped = 0;
    const dripDone = new Promise<void>((resolve) => {
      const d = setInterval(() => {
        if (dripper.isClosed) {
          clearInterval(d);
          return resolve();
        }
        dripper.sendRaw(big.subarray(dripped, dripped + 10_000));
        dripped = Math.min(big.length, dripped + 10_000);
        if (dripped >= big.length) {
          clearInterval(d);
          resolve();
        }
      }, 50);
      timers.push(d);
    });

    await rpcCall(rpc, 'getresources', [true]); // a new event-loop delay window for the abuse
    let rssPeak = rssIdle;
    timers.push(setInterval(() => (rssPeak = Math.max(rssPeak, rss())), 250));
    const under = await rtts(honest, WINDOW_MS);
    await dripDone;
    const res = (await rpcCall(rpc, 'getresources')) as unknown as ResourceReport;
    for (const x of timers.splice(0)) clearInterval(x);
    rssPeak = Math.max(rssPeak, rss());
    const hwm = (procStatus(node.pid, 'VmHWM') ?? 0) / 1024;

    // The drip completed: an unknown 4 MB message, ignored; the dripper is still served.
    const dn = 1n << 50n;
    dripper.send({ command: 'ping', nonce: dn });
    for (;;) if ((await dripper.waitFor('pong', 15_000)).nonce === dn) break;
    const underP99 = p99(under);
    const bound = 20 * idleP99 + 50;
    const inKB = abusers.reduce((n, a) => n + a.bytesIn, 0) / 1024;
    const summary = {
      idleRttP50: pct(Float64Array.from(idle).sort(), 50),
      idleRttP99: idleP99,
      abuseRttP50: pct(Float64Array.from(under).sort(), 50),
      abuseRttP99: underP99,
      abuseRttMax: Math.max(...under),
      rttBoundMs: bound,
      rttSamples: under.length,
      rssIdleMB: rssIdle,
      rssPeakMB: rssPeak,
      vmHwmMB: hwm,
      rssBoundMB: RSS_BOUND_MB,
      nodeLoopDelayP99Ms: res.eventLoopDelay.p99Ms,
      nodeLoopDelayMaxMs: res.eventLoopDelay.maxMs,
      nodeSockets: res.sockets,
      abusersStillConnected: abusers.filter((a) => !a.closed).length,
      kbSentToAbusers: Math.round(inKB),
    };
    t.diagnostic(JSON.stringify(summary));
    const stats = readFileSync(`/proc/${node.pid}/status`, 'utf8').includes('VmRSS');
    assert.ok(stats, 'the node is still running');
    assert.equal(child.exited, false);
    assert.ok(rssPeak < RSS_BOUND_MB && hwm < RSS_BOUND_MB, `RSS peak ${rssPeak.toFixed(1)} MB, VmHWM ${hwm.toFixed(1)} MB, bound ${RSS_BOUND_MB} MB`);
    assert.ok(underP99 < bound, `honest ping RTT p99 under abuse ${underP99.toFixed(1)} ms, bound ${bound.toFixed(1)} ms (idle p99 ${idleP99.toFixed(2)} ms)`);
    assert.equal(honest.isClosed, false);
    assert.equal(dripper.isClosed, false);
    await dripper.destroy();
  } finally {
    for (const x of timers) clearInterval(x);
    for (const a of abusers) a.socket.destroy();
    await honest?.destroy();
    if (child) await stopNodeChild(child);
    rmSync(datadir, { recursive: true, force: true });
  }
});
