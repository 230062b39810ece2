/**
 * A stub chain peer (`peerd serve-chain`): not the node, just enough of a Bitcoin Core peer to
 * sync a chain from. It listens, handshakes like Core (version 70016, NODE_NETWORK |
 * NODE_WITNESS, start height = chain height, wtxidrelay, sendaddrv2, verack), answers pings,
 * and serves a block file (the format of `regtest-2000.blocks`, heights 1..N on the network's
 * genesis): `getheaders` (first known locator hash, up to 2,000 headers after it, stopping at
 * hashStop inclusive), `getblocks` (inv of up to 500, stopping before hashStop as Core does),
 * `getdata` for MSG_BLOCK (stripped of witness, as Core sends it) and MSG_WITNESS_BLOCK (the
 * file's bytes), `notfound` for anything else. Everything else is ignored.
 *
 * Index: the file is read once at start (streaming); every header is kept (80 bytes + hash)
 * with each block's file offset and length. Blocks are kept in memory when the file is at
 * most {@link IN_MEMORY_LIMIT} bytes, else read on demand from one open file handle.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { match, P } from 'ts-pattern';
import { Reader, Writer } from '../../wire/buffer.js';
import { decodeHeader, encodeBlock, parseBlock, type BlockHeader } from '../../wire/block.js';
import { encodeFrame, FrameDecoder } from '../../wire/framing.js';
import { decodeMessage, encodeMessageFrame, type InvItem, type Message, type VersionMessage } from '../../wire/messages.js';
import { networkParams, type NetworkName, type NetworkParams } from '../../wire/network.js';
import { toDisplayHex } from '../../wire/hash.js';
import { readBlockFile } from './blockfile.js';

export const IN_MEMORY_LIMIT = 256 * 1024 * 1024;
export const SERVE_PROTOCOL_VERSION = 70016;
/** NODE_NETWORK | NODE_WITNESS. */
export const SERVE_SERVICES = 0x9n;
export const MSG_BLOCK = 2;
export const MSG_WITNESS_FLAG = 0x40000000;
export const MSG_WITNESS_BLOCK = MSG_BLOCK | MSG_WITNESS_FLAG;
const MAX_HEADERS = 2000;
const MAX_BLOCKS_INV = 500;

export interface ChainIndex {
  readonly network: NetworkParams;
  /** headers[h] is the header at height h; headers[0] is the genesis. */
  readonly headers: readonly BlockHeader[];
  /** File offset of block h's bytes (after its length prefix); -1 for the genesis. */
  readonly offsets: readonly number[];
  readonly lengths: readonly number[];
  /** hash (latin1 key of the 32 bytes) → height. */
  readonly byHash: ReadonlyMap<string, number>;
  /** Block bytes by height when held in memory (genesis always). */
  readonly blocks: readonly (Buffer | undefined)[];
  readonly fileBytes: number;
  readonly inMemory: boolean;
}

const key = (h: Uint8Array): string => Buffer.from(h.buffer, h.byteOffset, h.length).toString('latin1');

/** Reads a block file and indexes it; throws if a block does not extend the previous one. */
export async function indexBlockFile(path: string, network: NetworkParams = networkParams('regtest'), limit = IN_MEMORY_LIMIT): Promise<ChainIndex> {
  const fileBytes = (await stat(path)).size;
  const inMemory = fileBytes <= limit;
  const g = network.genesis;
  const gw = new Writer(g.size);
  encodeBlock(gw, g);
  const headers: BlockHeader[] = [g.header];
  const offsets: number[] = [-1];
  const lengths: number[] = [g.size];
  const blocks: (Buffer | undefined)[] = [Buffer.from(gw.result())];
  const byHash = new Map<string, number>([[key(g.header.hash), 0]]);
  for await (const rec of readBlockFile(path)) {
    if (rec.block.length < 80) throw new Error(`record ${rec.index} at offset ${rec.offset}: ${rec.block.length} bytes is not a block`);
    const h = decodeHeader(new Reader(rec.block.subarray(0, 80)));
    const height = headers.length;
    if (!h.prevBlock.equals(headers[height - 1].hash)) throw new Error(`record ${rec.index} (height ${height}) does not extend ${toDisplayHex(headers[height - 1].hash)}`);
    headers.push(h);
    offsets.push(rec.offset + 4);
    lengths.push(rec.block.length);
    blocks.push(inMemory ? rec.block : undefined);
    byHash.set(key(h.hash), height);
  }
  return { network, headers, offsets, lengths, byHash, blocks, fileBytes, inMemory };
}

export interface ChainServerOptions {
  readonly blocksFile: string;
  readonly host?: string;
  readonly port?: number;
  readonly network?: NetworkName;
  /** Keep blocks in memory up to this file size (default 256 MB). */
  readonly inMemoryLimit?: number;
  /** Called with one JSON-able object per notable event (connections, errors). */
  readonly log?: (event: Record<string, unknown>) => void;
}

export interface ChainServer {
  readonly host: string;
  readonly port: number;
  readonly height: number;
  /** Display hex of the tip. */
  readonly tip: string;
  readonly index: ChainIndex;
  /** Messages answered so far: headers, inv, block, notfound counts and block bytes sent. */
  readonly stats: { headers: number; blocks: number; blockBytes: number; notfound: number; connections: number; getdata: number };
  close(): Promise<void>;
}

/** Starts the stub chain peer; resolves once it is listening. */
export async function startChainServer(opts: ChainServerOptions): Promise<ChainServer> {
  const network = networkParams(opts.network ?? 'regtest');
  const index = await indexBlockFile(opts.blocksFile, network, opts.inMemoryLimit ?? IN_MEMORY_LIMIT);
  const fh: FileHandle | null = index.inMemory ? null : await open(opts.blocksFile, 'r');
  const log = opts.log ?? ((): void => undefined);
  const stats = { headers: 0, blocks: 0, blockBytes: 0, notfound: 0, connections: 0, getdata: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer({ noDelay: true }, (s) => {
    sockets.add(s);
    stats.connections++;
    s.once('close', () => sockets.delete(s));
    serveConnection(s, index, fh, stats, log);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  const host = typeof a === 'object' && a !== null ? a.address : (opts.host ?? '127.0.0.1');
  const height = index.headers.length - 1;
  let closing: Promise<void> | null = null;
  return {
    host,
    port,
    height,
    tip: toDisplayHex(index.headers[height].hash),
    index,
    stats,
    close(): Promise<void> {
      closing ??= (async () => {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await done;
        await fh?.close();
      })();
      return closing;
    },
  };
}

/** Core's FindForkInGlobalIndex over our single chain: the height of the first locator hash we know, else 0 (genesis). */
export function locate(index: ChainIndex, locator: readonly Buffer[]): number {
  for (const h of locator) {
    const height = index.byHash.get(key(h));
    if (height !== undefined) return height;
  }
  return 0;
}

/** The headers Core's getheaders answer would hold: after the fork point, at most 2,000, through hashStop. */
export function headersAfter(index: ChainIndex, locator: readonly Buffer[], hashStop: Buffer): BlockHeader[] {
  if (locator.length === 0) {
    const h = index.byHash.get(key(hashStop));
    return h === undefined ? [] : [index.headers[h]];
  }
  const out: BlockHeader[] = [];
  for (let h = locate(index, locator) + 1; h < index.headers.length; h++) {
    out.push(index.headers[h]);
    if (out.length >= MAX_HEADERS || index.headers[h].hash.equals(hashStop)) break;
  }
  return out;
}

function blocksAfter(index: ChainIndex, locator: readonly Buffer[], hashStop: Buffer): InvItem[] {
  const out: InvItem[] = [];
  for (let h = locate(index, locator) + 1; h < index.headers.length; h++) {
    if (index.headers[h].hash.equals(hashStop)) break;
    out.push({ type: MSG_BLOCK, hash: index.headers[h].hash });
    if (out.length >= MAX_BLOCKS_INV) break;
  }
  return out;
}

async function blockBytes(index: ChainIndex, fh: FileHandle | null, height: number): Promise<Buffer> {
  const mem = index.blocks[height];
  if (mem) return mem;
  if (!fh) throw new Error(`block ${height} is neither in memory nor on disk`);
  const buf = Buffer.allocUnsafe(index.lengths[height]);
  const { bytesRead } = await fh.read(buf, 0, buf.length, index.offsets[height]);
  if (bytesRead !== buf.length) throw new Error(`short read of block ${height}`);
  return buf;
}

/** The block without witness data, as Core sends it for a plain MSG_BLOCK request. */
function stripWitness(raw: Buffer): Buffer {
  const r = parseBlock(raw);
  if (!r.ok) return raw;
  if (!r.value.hasWitness) return raw;
  const w = new Writer(r.value.strippedSize);
  encodeBlock(w, r.value, false);
  return Buffer.from(w.result());
}

function serveConnection(s: Socket, index: ChainIndex, fh: FileHandle | null, stats: ChainServer['stats'], log: (e: Record<string, unknown>) => void): void {
  const magic = index.network.magic;
  const decoder = new FrameDecoder({ magic });
  const height = index.headers.length - 1;
  let queue: Promise<void> = Promise.resolve();
  let queued = 0;
  let sentVersion = false;
  s.setNoDelay(true);
  s.on('error', () => undefined);

  const send = (m: Message): boolean => (s.destroyed ? false : s.write(encodeMessageFrame(magic, m)));
  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      if (s.destroyed || !s.writableNeedDrain) return resolve();
      const done = (): void => {
        s.off('drain', done);
        s.off('close', done);
        resolve();
      };
      s.once('drain', done);
      s.once('close', done);
    });

  const sendVersion = (theirs: VersionMessage): void => {
    if (sentVersion) return;
    sentVersion = true;
    send({
      command: 'version',
      version: SERVE_PROTOCOL_VERSION,
      services: SERVE_SERVICES,
      timestamp: BigInt(Math.floor(Date.now() / 1000)),
      addrRecv: { ...theirs.addrFrom, services: 0n },
      addrFrom: { network: 'ipv4', addr: Buffer.alloc(4), port: 0, services: SERVE_SERVICES },
      nonce: BigInt.asUintN(64, BigInt(Math.floor(Math.random() * 2 ** 32)) * 0x100000000n + BigInt(Math.floor(Math.random() * 2 ** 32))),
      userAgent: '/peerd-serve-chain:0.1/',
      startHeight: height,
      relay: false,
    });
    if (theirs.version >= 70016) {
      send({ command: 'wtxidrelay' });
      send({ command: 'sendaddrv2' });
    }
    send({ command: 'verack' });
  };

  const getdata = async (items: readonly InvItem[]): Promise<void> => {
    stats.getdata++;
    const missing: InvItem[] = [];
    for (const it of items) {
      const base = (it.type & ~MSG_WITNESS_FLAG) >>> 0;
      const h = base === MSG_BLOCK ? index.byHash.get(key(it.hash)) : undefined;
      if (h === undefined) {
        missing.push({ type: it.type, hash: Buffer.from(it.hash) });
        continue;
      }
      const raw = await blockBytes(index, fh, h);
      const payload = it.type === MSG_WITNESS_BLOCK ? raw : stripWitness(raw);
      if (s.destroyed) return;
      s.write(encodeFrame(magic, 'block', payload));
      stats.blocks++;
      stats.blockBytes += payload.length;
      await drained();
    }
    if (missing.length > 0) {
      stats.notfound += missing.length;
      send({ command: 'notfound', items: missing });
    }
  };

  const handle = async (m: Message): Promise<void> =>
    match<Message, void | Promise<void>>(m)
      .with({ command: 'version' }, (v) => sendVersion(v))
      .with({ command: 'ping' }, (p) => {
        if (p.nonce !== undefined) send({ command: 'pong', nonce: p.nonce });
      })
      .with({ command: 'getheaders' }, (g) => {
        const headers = headersAfter(index, g.locator, g.hashStop);
        stats.headers += headers.length;
        send({ command: 'headers', headers });
      })
      .with({ command: 'getblocks' }, (g) => {
        const items = blocksAfter(index, g.locator, g.hashStop);
        if (items.length > 0) send({ command: 'inv', items });
      })
      .with({ command: 'getdata' }, (g) => getdata(g.items))
      .with(
        {
          command: P.union(
            'verack', 'pong', 'getaddr', 'addr', 'addrv2', 'sendaddrv2', 'inv', 'notfound', 'headers', 'block', 'tx',
            'sendheaders', 'sendcmpct', 'feefilter', 'wtxidrelay', 'mempool', 'reject', 'unknown-command',
          ),
        },
        () => undefined,
      )
      .exhaustive();

  s.on('data', (chunk: Buffer) => {
    decoder.push(chunk);
    for (let f = decoder.next(); f !== null; f = decoder.next()) {
      if (f.kind === 'error') {
        log({ event: 'frame-error', code: f.code, remote: s.remoteAddress });
        s.destroy();
        return;
      }
      const r = decodeMessage(f.command, Buffer.from(f.payload), { allowTrailing: true });
      if (!r.ok) {
        log({ event: 'decode-error', command: f.command, code: r.error.code, remote: s.remoteAddress });
        s.destroy();
        return;
      }
      if (++queued > 10_000) {
        log({ event: 'flood', remote: s.remoteAddress });
        s.destroy();
        return;
      }
      const msg = r.value;
      queue = queue
        .then(() => handle(msg))
        .catch((e: unknown) => {
          log({ event: 'error', message: e instanceof Error ? e.message : String(e) });
          s.destroy();
        })
        .finally(() => void queued--);
    }
  });
}
