/**
 * A scripted raw-socket Bitcoin peer for integration tests: it dials a node (or listens for a
 * node to dial it), sends arbitrary bytes or encoded messages, decodes what the node sends,
 * waits for commands, performs (or withholds) the handshake, answers pings (or not), stops
 * reading on demand and reports when and how the node closed the connection.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { FrameDecoder, type FrameFault } from '../../src/wire/framing.js';
import { decodeMessage, encodeMessageFrame, type Message, type MessageOf, type VersionMessage } from '../../src/wire/messages.js';
import { networkParams } from '../../src/wire/network.js';
import type { NetAddress } from '../../src/wire/address.js';

export const REGTEST_MAGIC = networkParams('regtest').magic;
/** NODE_NETWORK | NODE_WITNESS | NODE_NETWORK_LIMITED, what a Core v30 regtest node advertises. */
export const RAW_SERVICES = 0x409n;

const LOOPBACK: NetAddress = { network: 'ipv4', addr: Buffer.from([127, 0, 0, 1]), port: 0, services: 0n };

export function rawVersion(over: Partial<Omit<VersionMessage, 'command'>> = {}): VersionMessage {
  return {
    command: 'version',
    version: 70016,
    services: RAW_SERVICES,
    timestamp: BigInt(Math.floor(Date.now() / 1000)),
    addrRecv: LOOPBACK,
    addrFrom: { ...LOOPBACK, services: RAW_SERVICES },
    nonce: randomBytes(8).readBigUInt64LE(0),
    userAgent: '/raw-peer:0.1/',
    startHeight: 0,
    relay: true,
    ...over,
  };
}

export function frame(msg: Message, magic = REGTEST_MAGIC): Buffer {
  return encodeMessageFrame(magic, msg);
}

export interface CloseReport {
  /** Milliseconds from connect to close (for information only: never assert on it). */
  readonly afterMs: number;
  readonly hadError: boolean;
}

export interface RawPeerOptions {
  /** Answer every ping with a pong (default true). */
  readonly answerPings?: boolean;
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class RawPeer {
  readonly socket: Socket;
  /** Every message the node sent, in order. */
  readonly received: Message[] = [];
  /** A framing error in what the node sent (a test failure: the node must send valid frames). */
  frameError: FrameFault | null = null;
  answerPings: boolean;
  bytesReceived = 0;
  readonly closed: Promise<CloseReport>;
  private readonly decoder = new FrameDecoder({ magic: REGTEST_MAGIC });
  private readonly startedAt = Date.now();
  private consumed = 0;
  private waiters: Array<() => void> = [];
  private closeReport: CloseReport | null = null;

  /** `first`: bytes already read from the socket (a listener looked at them), handled before any later ones. */
  constructor(socket: Socket, opts: RawPeerOptions = {}, first?: Buffer) {
    this.socket = socket;
    this.answerPings = opts.answerPings ?? true;
    socket.setNoDelay(true);
    socket.on('error', () => {
      /* 'close' follows */
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', (hadError: boolean) => {
        this.closeReport = { afterMs: Date.now() - this.startedAt, hadError };
        resolve(this.closeReport);
        this.wake();
      });
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    if (first !== undefined) this.onData(first);
  }

  /** Dials `port` on 127.0.0.1 (optionally from another loopback source address). */
  static async connect(port: number, opts: RawPeerOptions & { localAddress?: string; host?: string } = {}): Promise<RawPeer> {
    const socket = connect({ host: opts.host ?? '127.0.0.1', port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawPeer(socket, opts);
  }

  /** Listens on 127.0.0.1 port 0 for a node to dial in. */
  static async listen(opts: RawPeerOptions = {}): Promise<RawListener> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, resolve);
    });
    return new RawListener(server, opts);
  }

  get isClosed(): boolean {
    return this.closeReport !== null;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private onData(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    this.decoder.push(chunk);
    for (let f = this.decoder.next(); f !== null; f = this.decoder.next()) {
      if (f.kind === 'error') {
        this.frameError = f;
        break;
      }
      const r = decodeMessage(f.command, Buffer.from(f.payload), { allowTrailing: true });
      if (!r.ok) continue;
      this.received.push(r.value);
      if (r.value.command === 'ping' && this.answerPings && r.value.nonce !== undefined) this.send({ command: 'pong', nonce: r.value.nonce });
    }
    this.wake();
  }

  /** Sends one encoded message (regtest magic unless told otherwise). */
  send(msg: Message, magic = REGTEST_MAGIC): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(frame(msg, magic));
  }

  sendRaw(bytes: Uint8Array): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(bytes);
  }

  /** Writes `bytes` one byte at a time, `gapMs` apart (0 = next macrotask). */
  async drip(bytes: Uint8Array, gapMs = 0): Promise<void> {
    for (const b of bytes) {
      if (this.socket.destroyed) return;
      this.socket.write(Buffer.from([b]));
      await delay(gapMs);
    }
  }

  /** Messages of `command` received so far. */
  all<C extends Message['command']>(command: C): MessageOf<C>[] {
    return this.received.filter((m): m is MessageOf<C> => m.command === command);
  }

  /**
   * Resolves with the next message of `command` not yet returned by an earlier call; rejects
   * after `timeoutMs` or when the connection closes first.
   */
  async waitFor<C extends Message['command']>(command: C, timeoutMs = 5000): Promise<MessageOf<C>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.consumed; i < this.received.length; i++) {
        const m = this.received[i];
        if (m.command === command) {
          this.consumed = i + 1;
          return m as MessageOf<C>;
        }
      }
      if (this.closeReport) throw new Error(`connection closed before "${command}" arrived`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no "${command}" within ${timeoutMs} ms (got: ${this.received.map((m) => m.command).join(',')})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /**
   * The handshake as a Core peer does it: version (70016, services 0x409), wait for the node's
   * version and verack, then wtxidrelay/sendaddrv2 and verack. `verack: false` withholds our verack.
   */
  async handshake(opts: { version?: Partial<Omit<VersionMessage, 'command'>>; verack?: boolean; timeoutMs?: number } = {}): Promise<VersionMessage> {
    const t = opts.timeoutMs ?? 5000;
    this.send(rawVersion(opts.version));
    const theirs = await this.waitFor('version', t);
    await this.waitFor('verack', t);
    if (opts.verack !== false) {
      this.send({ command: 'wtxidrelay' });
      this.send({ command: 'sendaddrv2' });
      this.send({ command: 'verack' });
    }
    return theirs;
  }

  /** Stops reading: the kernel buffers fill and the node's writes back up. */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Resolves with the close report, or rejects if the node has not closed within `timeoutMs`. */
  async waitClosed(timeoutMs = 10_000): Promise<CloseReport> {
    let t: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.closed,
        new Promise<never>((_, reject) => {
          t = setTimeout(() => reject(new Error(`the node did not close the connection within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(t);
    }
  }

  /** True if the connection is still open after `ms` (for "not disconnected" checks). */
  async staysOpen(ms: number): Promise<boolean> {
    await Promise.race([this.closed, delay(ms)]);
    return !this.isClosed;
  }

  /** Closes our side and waits for the socket to be gone. */
  async destroy(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }
}

/**
 * A raw peer's listening socket: `accept()` yields a RawPeer for each connection the node makes.
 * It is a v1-only node: a connection whose first bytes are not the network magic (a BIP324 v2
 * opening) is hung up on at once, as Bitcoin Core with -v2transport=0 does, and not yielded
 * (`v2Refused` counts them; the node then redials with v1).
 */
export class RawListener {
  readonly port: number;
  /** Connections hung up on because they opened with something else than the v1 magic (v2 attempts). */
  v2Refused = 0;
  private readonly pending: RawPeer[] = [];
  private readonly accepted: RawPeer[] = [];
  private readonly undecided = new Set<Socket>();
  private waiters: Array<() => void> = [];

  constructor(
    readonly server: Server,
    opts: RawPeerOptions,
  ) {
    const a = server.address();
    this.port = typeof a === 'object' && a !== null ? a.port : 0;
    const magic = Buffer.alloc(4);
    magic.writeUInt32LE(REGTEST_MAGIC >>> 0);
    server.on('connection', (s: Socket) => {
      // A node always speaks first when it dials (its version, or its v2 key): decide on its first bytes.
      this.undecided.add(s);
      s.on('error', () => undefined);
      s.once('close', () => this.undecided.delete(s));
      s.once('data', (first: Buffer) => {
        this.undecided.delete(s);
        const n = Math.min(4, first.length);
        if (!first.subarray(0, n).equals(magic.subarray(0, n))) {
          this.v2Refused++;
          s.destroy();
          return;
        }
        const p = new RawPeer(s, opts, first);
        this.pending.push(p);
        this.accepted.push(p);
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      });
    });
  }

  get count(): number {
    return this.accepted.length;
  }

  async accept(timeoutMs = 5000): Promise<RawPeer> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const p = this.pending.shift();
      if (p) return p;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no connection within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    for (const s of this.undecided) s.destroy();
    await Promise.all(this.accepted.map((p) => p.destroy()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Counts of live TCP handles in this process (sockets and servers), for leak checks. */
export function tcpHandles(): { sockets: number; servers: number } {
  const r = process.getActiveResourcesInfo();
  return { sockets: r.filter((x) => x === 'TCPSocketWrap').length, servers: r.filter((x) => x === 'TCPServerWrap').length };
}

/**
 * Plays a `--seednode` for a node that dials `seed`: handshake, wait for its getaddr, answer with
 * 127.0.0.1 at each of `ports`, and wait until the node leaves (Core leaves an addr-fetch peer once
 * it has more than one address, so give at least two).
 */
export async function actAsSeed(seed: RawListener, ports: readonly number[]): Promise<CloseReport> {
  const s = await seed.accept();
  await s.handshake();
  await s.waitFor('getaddr');
  const time = Math.floor(Date.now() / 1000);
  const ip = { network: 'ipv4' as const, addr: Buffer.from([127, 0, 0, 1]), services: RAW_SERVICES, time };
  s.send({ command: 'addr', addresses: ports.map((port) => ({ ...ip, port })) });
  return s.waitClosed();
}
