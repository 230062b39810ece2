/**
 * Scripted lightweight peers (not full nodes) for the simulation (`peerd sim`) and the peers
 * benchmark. Each opens a TCP socket to one node, sends `version` (70016, services 0x409, relay
 * false), answers the node's `version` with `verack` and its pings with pongs, and once both
 * veracks are through does, at per-peer rates: `ping` with a unique nonce (RTT measured from just
 * before the write to the decoded `pong` with that nonce), `addr` with a few loopback addresses,
 * and `getheaders` with the genesis locator. One 10 ms timer drives every peer: each activity has
 * a period split into 10 ms slots, and a peer sits in slot `id % slots`, so the peers are
 * staggered over the period.
 *
 * With `v2` each peer is a BIP324 initiator instead (a fresh ephemeral key, 0–4095 bytes of
 * garbage): it sends its key and garbage on connect, sends `version` once the transport is
 * established, and every message after that is a v2 packet. The v1 peers never touch the v2 code.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { FrameDecoder, encodeFrame } from '../../wire/framing.js';
import { commandOf, encodeMessage, encodeMessageFrame, type Message } from '../../wire/messages.js';
import { V2Transport, MAX_GARBAGE_SIZE, isValidPrivateKey, type V2Event } from '../../wire/v2/index.js';
import type { TimedNetAddress } from '../../wire/address.js';
import { networkParams, type NetworkName } from '../../wire/network.js';
import { Samples } from './measure.js';

export const TICK_MS = 10;
/** Highest per-peer rate of one activity: one message per 10 ms tick. */
export const MAX_RATE = 1000 / TICK_MS;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const EMPTY = Buffer.alloc(0);
function noop(): void {}

export enum PeerState {
  Connecting,
  Handshaking,
  Active,
  Closed,
}

export interface Counters {
  handshakes: number;
  failed: number;
  /** Closed by the other side (or errored) after the handshake. */
  dropped: number;
  pingsSent: number;
  pongs: number;
  /** A ping slot came while the previous ping was still unanswered. */
  late: number;
  nodePingsAnswered: number;
  badFrames: number;
  addrSent: number;
  getheadersSent: number;
  headersReceived: number;
  /** Every frame written / read by the peers. */
  msgsSent: number;
  msgsRecv: number;
}

export interface SwarmOptions {
  readonly host?: string;
  readonly port: number;
  readonly network?: NetworkName;
  /** Per-peer rates, messages per second; 0 = never. Ping defaults to 1, the others to 0. */
  readonly pingRate?: number;
  readonly addrRate?: number;
  readonly getheadersRate?: number;
  readonly userAgent?: string;
  /** Speak BIP324 (each peer the initiator) instead of v1. */
  readonly v2?: boolean;
}

/** One activity's schedule: a period of `slots` 10 ms slots, each with the peers due in it. */
class Schedule {
  readonly slots: ScriptPeer[][];
  private slot = 0;
  constructor(
    periodMs: number,
    readonly run: (p: ScriptPeer) => void,
  ) {
    this.slots = Array.from({ length: Math.max(1, Math.round(periodMs / TICK_MS)) }, () => []);
  }
  add(p: ScriptPeer): void {
    this.slots[p.id % this.slots.length].push(p);
  }
  step(): void {
    const list = this.slots[this.slot];
    this.slot = (this.slot + 1) % this.slots.length;
    for (let i = 0; i < list.length; i++) this.run(list[i]);
  }
}

export const zeroCounters = (): Counters => ({
  handshakes: 0, failed: 0, dropped: 0, pingsSent: 0, pongs: 0, late: 0, nodePingsAnswered: 0, badFrames: 0,
  addrSent: 0, getheadersSent: 0, headersReceived: 0, msgsSent: 0, msgsRecv: 0,
});

/** The peers, their shared timer and counters. */
export class PeerSwarm {
  readonly peers: ScriptPeer[] = [];
  readonly rtt = new Samples();
  readonly handshakeMs = new Samples();
  /** RTTs are kept only while recording. */
  recording = false;
  readonly c: Counters = zeroCounters();
  /** Counters as they were when the window opened. */
  windowStart: Counters = { ...this.c };
  readonly host: string;
  readonly port: number;
  readonly magic: number;
  readonly genesisHash: Buffer;
  readonly userAgent: string;
  readonly magicBytes: Buffer;
  readonly v2: boolean;
  private readonly schedules: Schedule[] = [];
  private timer: NodeJS.Timeout | null = null;
  private last = 0;
  private nonceSeq = 1;
  private rand = 0x9e3779b9;

  constructor(o: SwarmOptions) {
    const params = networkParams(o.network ?? 'regtest');
    this.host = o.host ?? '127.0.0.1';
    this.port = o.port;
    this.magic = params.magic;
    this.genesisHash = params.genesisHash;
    this.userAgent = o.userAgent ?? '/peerd-sim:0.1.0/';
    this.magicBytes = params.magicBytes;
    this.v2 = o.v2 ?? false;
    const ping = o.pingRate ?? 1;
    const addr = o.addrRate ?? 0;
    const gh = o.getheadersRate ?? 0;
    if (ping > 0) this.schedules.push(new Schedule(1000 / ping, (p) => p.pingIfDue()));
    if (addr > 0) this.schedules.push(new Schedule(1000 / addr, (p) => p.sendAddr()));
    if (gh > 0) this.schedules.push(new Schedule(1000 / gh, (p) => p.sendGetheaders()));
  }

  nextNonce(id: number): bigint {
    return (BigInt(id) << 32n) | BigInt(this.nonceSeq++ >>> 0);
  }

  /** A xorshift32 step: deterministic, random-looking bytes for gossiped addresses. */
  nextRandom(): number {
    let x = this.rand;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rand = x >>> 0;
    return this.rand;
  }

  /** Called by a peer when its handshake completes. */
  activated(p: ScriptPeer): void {
    for (const s of this.schedules) s.add(p);
  }

  /** One timer for all peers: every 10 ms each schedule runs the peers of its next slot. */
  startScheduler(): void {
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      let due = Math.floor((now - this.last) / TICK_MS);
      if (due <= 0) return;
      if (due > 100) due = 100;
      this.last += due * TICK_MS;
      for (let k = 0; k < due; k++) for (const s of this.schedules) s.step();
    }, TICK_MS);
  }

  /** Peers in the Active state. */
  active(): number {
    let n = 0;
    for (const p of this.peers) if (p.state === PeerState.Active) n++;
    return n;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const p of this.peers) p.destroy();
  }
}

export class ScriptPeer {
  state = PeerState.Connecting;
  private readonly dec: FrameDecoder;
  /** The BIP324 transport of a v2 peer; null for a v1 peer. */
  private readonly v2: V2Transport | null;
  private readonly v2out: V2Event[] = [];
  private readonly socket: Socket;
  private readonly started = performance.now();
  private gotVerack = false;
  private pingNonce = 0n;
  private pingAt = 0;
  private handshakeTimer: NodeJS.Timeout | null;
  /** Resolves once the peer is active or has failed. */
  readonly ready: Promise<void>;
  private settle!: () => void;

  constructor(
    private readonly w: PeerSwarm,
    readonly id: number,
  ) {
    this.dec = new FrameDecoder({ magic: w.magic });
    this.v2 = w.v2 ? v2Initiator(w.magicBytes) : null;
    this.ready = new Promise<void>((r) => (this.settle = r));
    this.socket = connect({ host: w.host, port: w.port, noDelay: true });
    this.socket.on('connect', this.v2 ? this.onConnectV2 : this.onConnect);
    this.socket.on('data', this.v2 ? this.onDataV2 : this.onData);
    this.socket.on('error', noop);
    this.socket.on('close', this.onClose);
    this.handshakeTimer = setTimeout(this.onHandshakeTimeout, HANDSHAKE_TIMEOUT_MS);
  }

  private write(frame: Buffer): void {
    this.socket.write(frame);
    this.w.c.msgsSent++;
  }

  /** A message: a v1 frame, or a v2 packet for a v2 peer. */
  private send(m: Message): void {
    if (this.v2 === null) this.write(encodeMessageFrame(this.w.magic, m));
    else this.sendV2(commandOf(m), encodeMessage(m));
  }

  private sendV2(command: string, payload: Buffer): void {
    const v2 = this.v2;
    if (v2 === null) return;
    const out = this.v2out;
    out.length = 0;
    v2.send(command, payload, out);
    for (const e of out) if (e.type === 'send') this.socket.write(e.bytes);
    this.w.c.msgsSent++;
  }

  private readonly onConnect = (): void => {
    this.state = PeerState.Handshaking;
    this.write(encodeMessageFrame(this.w.magic, this.versionMessage()));
  };

  private versionMessage(): Message {
    return {
      command: 'version',
      version: 70016,
      services: 0x409n,
      timestamp: BigInt(Math.floor(Date.now() / 1000)),
      addrRecv: { network: 'ipv4', addr: Buffer.from([127, 0, 0, 1]), port: this.w.port, services: 0n },
      addrFrom: { network: 'ipv4', addr: Buffer.alloc(4), port: 0, services: 0x409n },
      nonce: (BigInt(this.id) << 20n) | 0xbe7c4n,
      userAgent: this.w.userAgent,
      startHeight: 0,
      relay: false,
    };
  }

  /** v2: our key and garbage now; `version` once the transport is established. */
  private readonly onConnectV2 = (): void => {
    this.state = PeerState.Handshaking;
    const v2 = this.v2;
    if (v2 === null) return;
    const out = this.v2out;
    out.length = 0;
    v2.start(out);
    for (const e of out) if (e.type === 'send') this.socket.write(e.bytes);
  };

  private readonly onDataV2 = (chunk: Buffer): void => {
    const v2 = this.v2;
    if (v2 === null) return;
    const c = this.w.c;
    const events = v2.receive(chunk);
    for (const e of events) {
      switch (e.type) {
        case 'send':
          this.socket.write(e.bytes);
          break;
        case 'established':
          this.sendV2('version', encodeMessage(this.versionMessage()));
          break;
        case 'message':
          c.msgsRecv++;
          this.onMessage(e.command, e.payload);
          break;
        case 'rejected':
          break;
        case 'fallback-v1':
        case 'error':
          c.badFrames++;
          this.socket.destroy();
          return;
      }
    }
  };

  /** A whole message from the node, over either transport; replies go back over the same one. */
  private onMessage(command: string, payload: Buffer): void {
    const c = this.w.c;
    switch (command) {
      case 'pong': {
        if (payload.length !== 8 || this.pingNonce === 0n) break;
        if (payload.readBigUInt64LE(0) !== this.pingNonce) break;
        const rtt = performance.now() - this.pingAt;
        this.pingNonce = 0n;
        c.pongs++;
        if (this.w.recording) this.w.rtt.add(rtt);
        break;
      }
      case 'ping':
        // Answer with the same 8 bytes.
        if (payload.length === 8) {
          this.reply('pong', payload);
          c.nodePingsAnswered++;
        }
        break;
      case 'version':
        this.reply('verack', EMPTY);
        break;
      case 'verack':
        if (!this.gotVerack) {
          this.gotVerack = true;
          this.activate();
        }
        break;
      case 'headers':
        c.headersReceived++;
        break;
      default:
        break;
    }
  }

  private reply(command: string, payload: Buffer): void {
    if (this.v2 === null) this.write(encodeFrame(this.w.magic, command, payload));
    else this.sendV2(command, payload);
  }

  private readonly onData = (chunk: Buffer): void => {
    const d = this.dec;
    const c = this.w.c;
    d.push(chunk);
    for (let f = d.next(); f !== null; f = d.next()) {
      if (f.kind === 'error') {
        c.badFrames++;
        this.socket.destroy();
        return;
      }
      c.msgsRecv++;
      this.onMessage(f.command, f.payload);
    }
  };

  private activate(): void {
    if (this.state !== PeerState.Handshaking) return;
    this.state = PeerState.Active;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.w.c.handshakes++;
    this.w.handshakeMs.add(performance.now() - this.started);
    this.w.activated(this);
    this.settle();
  }

  pingIfDue(): void {
    if (this.state !== PeerState.Active) return;
    if (this.pingNonce !== 0n) {
      this.w.c.late++;
      return;
    }
    this.pingNonce = this.w.nextNonce(this.id);
    if (this.v2 !== null) {
      const payload = encodeMessage({ command: 'ping', nonce: this.pingNonce });
      this.pingAt = performance.now();
      this.sendV2('ping', payload);
      this.w.c.pingsSent++;
      return;
    }
    const frame = encodeMessageFrame(this.w.magic, { command: 'ping', nonce: this.pingNonce });
    this.pingAt = performance.now();
    this.write(frame);
    this.w.c.pingsSent++;
  }

  /**
   * `addr` with three random-looking 127.x.y.z addresses on port 1. A node may dial gossiped
   * addresses; these stay on loopback and the port is closed, so a dial is refused at once.
   */
  sendAddr(): void {
    if (this.state !== PeerState.Active) return;
    const time = Math.floor(Date.now() / 1000) - 60;
    const addresses: TimedNetAddress[] = [];
    for (let i = 0; i < 3; i++) {
      const r = this.w.nextRandom();
      addresses.push({ network: 'ipv4', addr: Buffer.from([127, (r >>> 16) & 0xff || 1, (r >>> 8) & 0xff, r & 0xff || 1]), port: 1, services: 0x409n, time });
    }
    this.send({ command: 'addr', addresses });
    this.w.c.addrSent++;
  }

  /** `getheaders` with the genesis block as the only locator entry and no stop hash. */
  sendGetheaders(): void {
    if (this.state !== PeerState.Active) return;
    this.send({ command: 'getheaders', version: 70016, locator: [this.w.genesisHash], hashStop: Buffer.alloc(32) });
    this.w.c.getheadersSent++;
  }

  private readonly onHandshakeTimeout = (): void => {
    this.handshakeTimer = null;
    if (this.state === PeerState.Active) return;
    this.w.c.failed++;
    this.state = PeerState.Closed;
    this.socket.destroy();
    this.settle();
  };

  private readonly onClose = (): void => {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    if (this.state === PeerState.Active) this.w.c.dropped++;
    else if (this.state !== PeerState.Closed) this.w.c.failed++;
    this.state = PeerState.Closed;
    this.settle();
  };

  destroy(): void {
    this.state = PeerState.Closed;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.socket.destroy();
  }
}

/** A BIP324 initiator as peerd's actor builds one: a fresh key, 32 bytes of entropy, 0–4095 bytes of garbage. */
function v2Initiator(magicBytes: Buffer): V2Transport {
  let privateKey = randomBytes(32);
  while (!isValidPrivateKey(privateKey)) privateKey = randomBytes(32);
  return new V2Transport({ role: 'initiator', magic: magicBytes, privateKey, entropy: randomBytes(32), garbage: randomBytes(randomInt(0, MAX_GARBAGE_SIZE + 1)) });
}

/** How many peers handshake at once while growing. */
export const CONNECT_CONCURRENCY = 64;

/** Opens peers up to `total`, at most CONNECT_CONCURRENCY handshaking at once. */
export async function grow(w: PeerSwarm, total: number, concurrency = CONNECT_CONCURRENCY): Promise<void> {
  let next = w.peers.length;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const p = new ScriptPeer(w, next++);
      w.peers.push(p);
      await p.ready;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
