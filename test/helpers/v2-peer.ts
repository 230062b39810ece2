/**
 * A raw BIP324 peer for tests: `V2Transport` as the initiator over a real TCP socket, with
 * in-memory keys. It records every decoded message and answers nothing by itself.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { decodeMessage, encodeMessage, commandOf, type Message } from '../../src/wire/messages.js';
import { networkParams } from '../../src/wire/network.js';
import { V2Transport, isValidPrivateKey, type V2Event } from '../../src/wire/v2/index.js';

export class V2Peer {
  readonly transport: V2Transport;
  readonly received: Message[] = [];
  sessionId: string | null = null;
  closed = false;
  error: string | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    let privateKey = randomBytes(32);
    while (!isValidPrivateKey(privateKey)) privateKey = randomBytes(32);
    this.transport = new V2Transport({
      role: 'initiator',
      magic: networkParams('regtest').magicBytes,
      privateKey,
      entropy: randomBytes(32),
      garbage: randomBytes(randomInt(0, 4096)),
    });
    socket.on('data', (chunk: Buffer) => this.events(this.transport.receive(chunk)));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Connects to 127.0.0.1:`port` and sends the opening (key and garbage). */
  static async connect(port: number): Promise<V2Peer> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const p = new V2Peer(socket);
    p.events(p.transport.start());
    return p;
  }

  send(msg: Message): void {
    this.events(this.transport.send(commandOf(msg), encodeMessage(msg)));
  }

  /** Resolves when `cond` holds (checked on each event), rejects after `ms`. */
  async until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`v2 peer: timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async waitFor<C extends Message['command']>(command: C, ms = 5000): Promise<Extract<Message, { command: C }>> {
    let found: Message | undefined;
    await this.until(command, () => (found = this.received.find((m) => m.command === command)) !== undefined, ms);
    return found as Extract<Message, { command: C }>;
  }

  /** version, verack, wtxidrelay, sendaddrv2 as a Core peer sends them, and waits for the node's version and verack. */
  async handshake(): Promise<void> {
    const lo = { network: 'ipv4' as const, addr: Buffer.from([127, 0, 0, 1]), port: 0, services: 0n };
    this.send({
      command: 'version',
      version: 70016,
      services: 0x809n,
      timestamp: BigInt(Math.floor(Date.now() / 1000)),
      addrRecv: lo,
      addrFrom: { ...lo, services: 0x809n },
      nonce: randomBytes(8).readBigUInt64LE(0),
      userAgent: '/v2-peer:0.1/',
      startHeight: 0,
      relay: true,
    });
    await this.waitFor('version');
    await this.waitFor('verack');
    this.send({ command: 'wtxidrelay' });
    this.send({ command: 'sendaddrv2' });
    this.send({ command: 'verack' });
  }

  async destroy(): Promise<void> {
    if (this.closed) return;
    const done = new Promise<void>((r) => this.socket.once('close', () => r()));
    this.socket.destroy();
    await done;
  }

  private events(evs: readonly V2Event[]): void {
    for (const e of evs) {
      if (e.type === 'send') this.socket.write(e.bytes);
      else if (e.type === 'established') this.sessionId = e.sessionId.toString('hex');
      else if (e.type === 'message') {
        const r = decodeMessage(e.command, e.payload, { allowTrailing: true });
        if (r.ok) this.received.push(r.value);
      } else if (e.type === 'error') {
        this.error = `${e.code}: ${e.message}`;
        this.socket.destroy();
      }
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
