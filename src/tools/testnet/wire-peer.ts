/**
 * A minimal scripted P2P peer for the test network's measurements: dials a node on loopback,
 * does the version handshake as a Core peer (70016, relay off), answers pings, and lets the
 * caller send messages and wait for one by command. It is how a new block is handed to a node
 * ("a miner") and how an address is gossiped to it.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { FrameDecoder } from '../../wire/framing.js';
import { decodeMessage, encodeMessageFrame, type Message, type MessageOf } from '../../wire/messages.js';
import { networkParams, type NetworkName } from '../../wire/network.js';
import type { NetAddress } from '../../wire/address.js';

/** Messages kept for waitFor; older ones are dropped (a long-lived peer hears announcements forever). */
const MAX_KEPT = 1000;
const LOOPBACK: NetAddress = { network: 'ipv4', addr: Buffer.from([127, 0, 0, 1]), port: 0, services: 0n };

export interface WirePeerOptions {
  readonly host?: string;
  readonly port: number;
  readonly network?: NetworkName;
  readonly userAgent?: string;
  /** The start height we announce. */
  readonly startHeight?: number;
  /** Services we announce (default NODE_NETWORK | NODE_WITNESS). */
  readonly services?: bigint;
  readonly timeoutMs?: number;
}

export class WirePeer {
  private readonly received: Message[] = [];
  private waiters: Array<() => void> = [];
  private closedFlag = false;
  private readonly decoder: FrameDecoder;

  private constructor(
    readonly socket: Socket,
    readonly magic: number,
  ) {
    this.decoder = new FrameDecoder({ magic });
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closedFlag = true;
      this.wake();
    });
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      for (let f = this.decoder.next(); f !== null; f = this.decoder.next()) {
        if (f.kind === 'error') {
          socket.destroy();
          break;
        }
        const r = decodeMessage(f.command, Buffer.from(f.payload), { allowTrailing: true });
        if (!r.ok) continue;
        const m = r.value;
        if (m.command === 'ping' && m.nonce !== undefined) this.send({ command: 'pong', nonce: m.nonce });
        else if (this.received.push(m) > MAX_KEPT) this.received.shift();
      }
      this.wake();
    });
  }

  /** Dials and completes the handshake (version, the node's version and verack, our verack). */
  static async connect(o: WirePeerOptions): Promise<WirePeer> {
    const params = networkParams(o.network ?? 'regtest');
    const timeoutMs = o.timeoutMs ?? 10_000;
    const socket = connect({ host: o.host ?? '127.0.0.1', port: o.port });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${o.host ?? '127.0.0.1'}:${o.port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(t);
        reject(err);
      });
    });
    const peer = new WirePeer(socket, params.magic);
    try {
      const services = o.services ?? 0x9n;
      peer.send({
        command: 'version',
        version: 70016,
        services,
        timestamp: BigInt(Math.floor(Date.now() / 1000)),
        addrRecv: LOOPBACK,
        addrFrom: { ...LOOPBACK, services },
        nonce: randomBytes(8).readBigUInt64LE(0),
        userAgent: o.userAgent ?? '/peerd-net:0.1.0/',
        startHeight: o.startHeight ?? 0,
        relay: false,
      });
      await peer.waitFor('version', timeoutMs);
      await peer.waitFor('verack', timeoutMs);
      peer.send({ command: 'sendaddrv2' });
      peer.send({ command: 'verack' });
    } catch (err) {
      peer.close();
      throw err;
    }
    return peer;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  send(m: Message): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(encodeMessageFrame(this.magic, m));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The next message of `command` (optionally matching `pred`) not returned before; rejects on timeout or close. */
  async waitFor<C extends Message['command']>(command: C, timeoutMs = 10_000, pred: (m: MessageOf<C>) => boolean = () => true): Promise<MessageOf<C>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      for (let i = 0; i < this.received.length; i++) {
        const m = this.received[i];
        if (m.command === command && pred(m as MessageOf<C>)) {
          this.received.splice(i, 1);
          return m as MessageOf<C>;
        }
      }
      if (this.closedFlag) throw new Error(`connection closed before "${command}" arrived`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no "${command}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Forgets what was received so far (a long-lived peer would otherwise keep every message). */
  drop(): void {
    this.received.length = 0;
  }

  close(): void {
    this.socket.destroy();
  }
}
