/**
 * Hostile peers for issue 16: the session fuzzer's raw sessions and their seeded random actions
 * (valid, malformed and abusive messages), the benchmark's attacks, and the honest peer that
 * measures the node meanwhile. Everything talks raw v1 over TCP to 127.0.0.1 and works against
 * any regtest node (peerd or Bitcoin Core): nothing here reads the node's internals.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { prng } from '../../src/util/prng.js';
import { networkParams } from '../../src/wire/network.js';
import { compactSize, rawFrame } from './faults.js';
import { frame, rawVersion, type RawPeer } from './raw-peer.js';

export const GENESIS = networkParams('regtest').genesisHash;
export const MSG_TX = 1;
export const MSG_BLOCK = 2;
export const MSG_WITNESS_BLOCK = 0x40000002;
/** Core's MAX_INV_SZ and MAX_PROTOCOL_MESSAGE_LENGTH. */
export const MAX_INV = 50_000;
export const MAX_PAYLOAD = 4_000_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A seeded random source with the few draws the fuzzer needs (mulberry32 underneath). */
export class Rng {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = prng(seed);
  }
  float(): number {
    return this.next();
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}


/** An inv/getdata/notfound payload of `count` entries, each `(type, hash)` from `entry(i)`. */
export function invPayload(count: number, entry: (i: number) => { type: number; hash: Buffer }): Buffer {
  const head = compactSize(count);
  const b = Buffer.alloc(head.length + count * 36);
  head.copy(b, 0);
  for (let i = 0; i < count; i++) {
    const e = entry(i);
    b.writeUInt32LE(e.type >>> 0, head.length + i * 36);
    e.hash.copy(b, head.length + i * 36 + 4);
  }
  return b;
}

/** A getheaders/getblocks payload: protocol version, the locator (internal order), hash stop zero. */
export function locatorPayload(locator: readonly Buffer[]): Buffer {
  const v = Buffer.alloc(4);
  v.writeUInt32LE(70016, 0);
  return Buffer.concat([v, compactSize(locator.length), ...locator, Buffer.alloc(32)]);
}

/** An addr payload of `count` entries: random IPv4 addresses, port 8333, the time now. */
export function addrPayload(rng: Rng, count: number): Buffer {
  const now = Math.floor(Date.now() / 1000);
  const parts: Buffer[] = [compactSize(count)];
  for (let i = 0; i < count; i++) {
    const e = Buffer.alloc(30);
    e.writeUInt32LE(now - rng.int(3600), 0);
    e.writeBigUInt64LE(0x409n, 4);
    e[24] = 0xff;
    e[25] = 0xff;
    e[26] = rng.range(11, 220);
    e[27] = rng.int(256);
    e[28] = rng.int(256);
    e[29] = rng.range(1, 254);
    const port = Buffer.alloc(2);
    port.writeUInt16BE(8333, 0);
    parts.push(e, port);
  }
  return Buffer.concat(parts);
}

/**
 * A `tx` of about `size` bytes whose one input carries `size − 60` empty witness items: the
 * cheapest payload for the most decoded objects (issue 16, "decode before the gate").
 */
export function witnessHeavyTx(size = MAX_PAYLOAD): Buffer {
  const items = size - 60;
  const head = Buffer.concat([
    Buffer.from([2, 0, 0, 0, 0x00, 0x01, 0x01]), // version 2, segwit marker and flag, 1 input
    Buffer.alloc(32, 0x11),
    Buffer.from([0, 0, 0, 0, 0x00, 0xff, 0xff, 0xff, 0xff]), // vout, empty scriptSig, sequence
    Buffer.from([0x01]), // 1 output
    Buffer.from([0xe8, 0x03, 0, 0, 0, 0, 0, 0, 0x01, 0x51]), // 1000 sat to OP_TRUE
    compactSize(items),
  ]);
  return Buffer.concat([head, Buffer.alloc(items), Buffer.alloc(4)]);
}

/** The version + wtxidrelay + sendaddrv2 + verack a Core peer sends, in one write. */
export function handshakeBytes(): Buffer {
  return Buffer.concat([frame(rawVersion({ relay: false })), frame({ command: 'wtxidrelay' }), frame({ command: 'sendaddrv2' }), frame({ command: 'verack' })]);
}

/**
 * One raw TCP session to the node that reads and discards whatever comes (unless paused) and
 * knows when the node closed it. It never decodes: a flood of replies costs this side little.
 */
export class Session {
  readonly socket: Socket;
  closed = false;
  bytesIn = 0;
  readonly done: Promise<void>;
  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('error', () => {});
    socket.on('data', (c: Buffer) => (this.bytesIn += c.length));
    this.done = new Promise((r) =>
      socket.once('close', () => {
        this.closed = true;
        r();
      }),
    );
  }

  static async open(port: number, host = '127.0.0.1'): Promise<Session> {
    const socket = connect({ host, port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new Session(socket);
  }

  /** Writes unless closed; resolves once the kernel took the bytes or the socket closed (bounded wait). */
  async write(b: Buffer, waitMs = 2000): Promise<void> {
    if (this.closed || this.socket.destroyed) return;
    if (this.socket.write(b)) return;
    await Promise.race([new Promise<void>((r) => this.socket.once('drain', () => r())), this.done, sleep(waitMs)]);
  }

  /** Writes `b` one byte per write, a macrotask apart: a frame split at every byte boundary. */
  async trickle(b: Buffer): Promise<void> {
    for (let i = 0; i < b.length && !this.closed; i++) {
      this.socket.write(b.subarray(i, i + 1));
      await tick();
    }
  }

  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    if (!this.closed) this.socket.resume();
  }
  destroy(): void {
    this.socket.destroy();
  }
}

/** What the attackers know of the node's chain: a block to ask for (the largest) and the tip. */
export interface Target {
  readonly port: number;
  /** Internal byte order. */
  readonly block: Buffer;
  readonly tip: Buffer;
}

// --- the session fuzzer ---------------------------------------------------------------------------

export type ActionKind = 'valid' | 'malformed' | 'abusive';

export interface Action {
  readonly name: string;
  readonly kind: ActionKind;
  /** Only before `version` (a random command before the handshake) or only after it. */
  readonly phase: 'pre' | 'post' | 'any';
  readonly weight: number;
  run(s: Session, rng: Rng, t: Target): Promise<void>;
}

const KNOWN = ['ping', 'pong', 'getaddr', 'addr', 'inv', 'getdata', 'getheaders', 'headers', 'tx', 'block', 'sendcmpct', 'feefilter', 'notfound', 'getblocks', 'version', 'verack'];
const nonce = (rng: Rng): Buffer => rng.bytes(8);

/** A valid message chosen at random (what an honest peer might send). */
function validFrame(rng: Rng, t: Target): Buffer {
  switch (rng.int(10)) {
    case 0:
      return rawFrame('ping', nonce(rng));
    case 1:
      return rawFrame('pong', nonce(rng));
    case 2:
      return rawFrame('getaddr', Buffer.alloc(0));
    case 3:
      return rawFrame('getheaders', locatorPayload([rng.chance(0.5) ? t.tip : GENESIS]));
    case 4:
      return rawFrame('getdata', invPayload(1, () => ({ type: MSG_WITNESS_BLOCK, hash: t.block })));
    case 5:
      return rawFrame('inv', invPayload(rng.range(1, 20), () => ({ type: rng.pick([MSG_TX, MSG_BLOCK]), hash: rng.bytes(32) })));
    case 6:
      return rawFrame('addr', addrPayload(rng, rng.range(1, 10)));
    case 7:
      return rawFrame('sendheaders', Buffer.alloc(0));
    case 8:
      return rawFrame('feefilter', rng.bytes(8));
    default:
      return rawFrame('headers', compactSize(0));
  }
}

/**
 * The fuzzer's actions. Valid ones keep a session plausible; malformed ones break framing or
 * decoding in every way the wire allows; abusive ones are the floods issue 16 names, each bounded
 * so that a run of N sessions for D seconds stays a fixed load on the machine.
 */
export const ACTIONS: readonly Action[] = [
  { name: 'valid', kind: 'valid', phase: 'post', weight: 30, run: (s, rng, t) => s.write(Buffer.concat(Array.from({ length: rng.range(1, 5) }, () => validFrame(rng, t)))) },
  { name: 'bad-checksum', kind: 'malformed', phase: 'any', weight: 2, run: (s, rng) => s.write(rawFrame(rng.pick(KNOWN), rng.bytes(rng.int(64)), { badChecksum: true })) },
  {
    name: 'wrong-length',
    kind: 'malformed',
    phase: 'any',
    weight: 2,
    run: (s, rng) => {
      const p = rng.bytes(rng.range(8, 64));
      return s.write(rawFrame(rng.pick(KNOWN), p, { declaredLength: rng.chance(0.5) ? p.length - rng.range(1, 8) : p.length + rng.range(1, 8) }));
    },
  },
  {
    name: 'truncated-payload',
    kind: 'malformed',
    phase: 'post',
    weight: 4,
    run: (s, rng, t) => {
      const full = rng.pick([locatorPayload([GENESIS, t.tip]), invPayload(3, () => ({ type: MSG_BLOCK, hash: rng.bytes(32) })), addrPayload(rng, 3), nonce(rng)]);
      const cmd = rng.pick(['getheaders', 'inv', 'addr', 'pong']);
      return s.write(rawFrame(cmd, full.subarray(0, rng.int(full.length))));
    },
  },
  {
    name: 'oversize-length',
    kind: 'malformed',
    phase: 'any',
    weight: 1,
    run: (s, rng) => s.write(rawFrame(rng.pick(KNOWN), Buffer.alloc(0), { declaredLength: rng.range(MAX_PAYLOAD + 1, 0xffffffff) }).subarray(0, 24)),
  },
  { name: 'unknown-command', kind: 'malformed', phase: 'any', weight: 5, run: (s, rng) => s.write(rawFrame(rng.bytes(rng.range(1, 12)).toString('latin1').replace(/\0/g, 'x'), rng.bytes(rng.int(2000)))) },
  { name: 'garbage', kind: 'malformed', phase: 'any', weight: 1, run: (s, rng) => s.write(rng.bytes(rng.range(1, 300))) },
  { name: 'before-version', kind: 'malformed', phase: 'pre', weight: 10, run: (s, rng, t) => s.write(rng.chance(0.2) ? rawFrame('tx', witnessHeavyTx(rng.range(1000, 200_000))) : validFrame(rng, t)) },
  { name: 'duplicate-version', kind: 'malformed', phase: 'post', weight: 2, run: (s) => s.write(frame(rawVersion())) },
  { name: 'split-every-byte', kind: 'malformed', phase: 'post', weight: 3, run: (s, rng, t) => s.trickle(validFrame(rng, t)) },
  {
    name: 'getdata-flood',
    kind: 'abusive',
    phase: 'post',
    weight: 2,
    run: async (s, rng, t) => {
      s.pause();
      await s.write(rawFrame('getdata', invPayload(MAX_INV, () => ({ type: MSG_WITNESS_BLOCK, hash: t.block }))));
      await sleep(rng.range(200, 3000));
      if (rng.chance(0.5)) s.resume();
    },
  },
  {
    name: 'getheaders-flood',
    kind: 'abusive',
    phase: 'post',
    weight: 2,
    run: async (s, rng) => {
      s.pause();
      const one = rawFrame('getheaders', locatorPayload([GENESIS]));
      await s.write(Buffer.concat(Array.from({ length: 1000 }, () => one)));
      await sleep(rng.range(200, 3000));
      if (rng.chance(0.5)) s.resume();
    },
  },
  { name: 'addr-flood', kind: 'abusive', phase: 'post', weight: 2, run: (s, rng) => s.write(Buffer.concat(Array.from({ length: 5 }, () => rawFrame('addr', addrPayload(rng, 1000))))) },
  {
    name: 'ping-flood',
    kind: 'abusive',
    phase: 'post',
    weight: 3,
    run: (s, rng) => s.write(Buffer.concat(Array.from({ length: 2000 }, () => rawFrame('ping', nonce(rng))))),
  },
  { name: 'huge-inv', kind: 'abusive', phase: 'post', weight: 2, run: (s, rng) => s.write(rawFrame('inv', invPayload(MAX_INV, () => ({ type: rng.pick([MSG_TX, MSG_BLOCK]), hash: rng.bytes(32) })))) },
];

export interface FuzzStats {
  /** Actions performed, by name. */
  readonly actions: Record<string, number>;
  sessions: number;
  /** Sessions the node closed (its choice) before we did. */
  closedByNode: number;
}

/**
 * One fuzz peer until `deadline`: sessions one after another (a new one when the node closes the
 * last), each a seeded random walk over `actions` — sometimes messages before `version`, then
 * the handshake, then actions with random gaps. Returns once `deadline()` (performance.now() time,
 * read at every step: it may move earlier) has passed.
 */
export async function fuzzPeer(t: Target, rng: Rng, actions: readonly Action[], deadline: () => number, stats: FuzzStats, live: Set<Session>): Promise<void> {
  const pre = actions.filter((a) => a.phase !== 'post');
  const post = actions.filter((a) => a.phase !== 'pre');
  const pick = (from: readonly Action[]): Action => {
    const total = from.reduce((n, a) => n + a.weight, 0);
    let x = rng.float() * total;
    for (const a of from) if ((x -= a.weight) < 0) return a;
    return from[from.length - 1] as Action;
  };
  while (performance.now() < deadline()) {
    let s: Session;
    try {
      s = await Session.open(t.port);
    } catch {
      await sleep(100);
      continue;
    }
    live.add(s);
    stats.sessions++;
    try {
      if (pre.length > 0 && rng.chance(0.3)) {
        for (let i = rng.range(1, 3); i > 0 && !s.closed; i--) {
          const a = pick(pre);
          stats.actions[a.name] = (stats.actions[a.name] ?? 0) + 1;
          await a.run(s, rng, t);
        }
      }
      await s.write(handshakeBytes());
      const steps = rng.range(5, 60);
      for (let i = 0; i < steps && !s.closed && performance.now() < deadline(); i++) {
        const a = pick(post);
        stats.actions[a.name] = (stats.actions[a.name] ?? 0) + 1;
        await a.run(s, rng, t);
        await sleep(rng.int(40));
      }
      await sleep(rng.int(200));
      if (s.closed) stats.closedByNode++;
    } finally {
      s.destroy();
      await s.done;
      live.delete(s);
    }
  }
}

// --- the honest peer --------------------------------------------------------------------------------

export interface HonestReport {
  pings: number;
  pongs: number;
  headersAsked: number;
  headersAnswered: number;
  readonly rtts: number[];
  /** The first ping or getheaders not answered within its timeout, if any. */
  failure: string | null;
}

/**
 * An honest peer (handshaken RawPeer) until `stop()` says so: a ping every `everyMs` awaited
 * with its own nonce (RTT recorded), and, every `headersEvery` pings, a getheaders from genesis
 * awaited for its headers. A reply missing after `timeoutMs` is recorded as the failure and ends
 * the loop; with `countTimeout` a missing pong is also recorded as an RTT of `timeoutMs` (a lower
 * bound), so that a percentile shows it.
 */
export async function honestLoop(p: RawPeer, stop: () => boolean, opts: { everyMs?: number; headersEvery?: number; timeoutMs?: number; countTimeout?: boolean } = {}): Promise<HonestReport> {
  const r: HonestReport = { pings: 0, pongs: 0, headersAsked: 0, headersAnswered: 0, rtts: [], failure: null };
  const every = opts.everyMs ?? 50;
  const headersEvery = opts.headersEvery ?? 20;
  const timeout = opts.timeoutMs ?? 10_000;
  let n = BigInt(Date.now()) << 16n;
  for (let i = 0; !stop(); i++) {
    const mine = ++n;
    const t0 = performance.now();
    r.pings++;
    p.send({ command: 'ping', nonce: mine });
    try {
      try {
        for (;;) if ((await p.waitFor('pong', timeout)).nonce === mine) break;
      } catch (err) {
        if (opts.countTimeout === true) r.rtts.push(timeout);
        throw err;
      }
      r.pongs++;
      r.rtts.push(performance.now() - t0);
      if (headersEvery > 0 && i % headersEvery === 0) {
        r.headersAsked++;
        p.send({ command: 'getheaders', version: 70016, locator: [GENESIS], hashStop: Buffer.alloc(32) });
        await p.waitFor('headers', timeout);
        r.headersAnswered++;
      }
    } catch (err) {
      r.failure = `honest peer: ${(err as Error).message}`;
      return r;
    }
    await sleep(every);
  }
  return r;
}

/** The p-th percentile (nearest rank below) of unsorted samples; NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}
