/** Chains for sync tests: generated block files, forks, and a scripted chain peer built on RawPeer. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/db.js';
import type { Db } from '../../src/contracts/store.js';
import { BlockStore, type BlockStoreOptions } from '../../src/chain/blockstore.js';
import { BlockFileWriter } from '../../src/tools/chain/blockfile.js';
import { generateChain, type GeneratedBlock } from '../../src/tools/chain/generate.js';
import { startChainServer, type ChainServer } from '../../src/tools/chain/stub-peer.js';
import { networkParams } from '../../src/wire/network.js';
import { encodeBlock, type BlockHeader } from '../../src/wire/block.js';
import { Writer } from '../../src/wire/buffer.js';
import { encodeTx } from '../../src/wire/tx.js';
import type { Message } from '../../src/wire/messages.js';
import { RawPeer } from './raw-peer.js';

export type After = { after: (f: () => void | Promise<void>) => void };

export const regtest = networkParams('regtest');
export const ZERO_HASH = Buffer.alloc(32);

export function tmpDir(t: After, prefix = 'peerd-chain-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Generates `blocks` blocks on genesis (or after `prefix`), in memory. */
export function chainOf(blocks: number, opts: { txsPerBlock?: number; seed?: number; spacing?: number; prefix?: readonly GeneratedBlock[] } = {}): GeneratedBlock[] {
  const prefix = opts.prefix ?? [];
  const last = prefix[prefix.length - 1];
  const gen = generateChain({
    blocks,
    txsPerBlock: opts.txsPerBlock ?? 1,
    seed: opts.seed ?? 0,
    ...(opts.spacing !== undefined ? { spacing: opts.spacing } : {}),
    ...(last ? { parent: { header: last.block.header, height: last.height } } : {}),
  });
  return [...prefix, ...gen];
}

/** Writes blocks (heights 1..N in order) to a block file the stub chain peer serves. */
export async function writeChainFile(path: string, blocks: readonly GeneratedBlock[]): Promise<string> {
  const w = await BlockFileWriter.create(path);
  try {
    for (const b of blocks) await w.write(b.raw);
  } finally {
    await w.close();
  }
  return path;
}

/** A stub chain peer (`serve-chain`) serving `blocks`, closed after the test. */
export async function serveBlocks(t: After, blocks: readonly GeneratedBlock[], name = 'chain'): Promise<ChainServer> {
  const file = await writeChainFile(join(tmpDir(t), `${name}.blocks`), blocks);
  const server = await startChainServer({ blocksFile: file, host: '127.0.0.1', port: 0 });
  t.after(() => server.close());
  return server;
}

export const displayHex = (h: Uint8Array): string => Buffer.from(h).reverse().toString('hex');

/**
 * A scripted chain peer that connected to the node: answers getheaders from `headers`
 * (heights 1..N on genesis) and getdata through `onGetData` (default: never answers — a staller).
 */
export function answerHeaders(peer: RawPeer, headers: readonly BlockHeader[], onGetData?: (hashes: Buffer[]) => void): () => void {
  let stopped = false;
  let seen = 0;
  const byHash = new Map<string, number>();
  headers.forEach((h, i) => byHash.set(h.hash.toString('hex'), i + 1));
  const timer = setInterval(() => {
    if (stopped) return;
    for (; seen < peer.received.length; seen++) {
      const m: Message = peer.received[seen];
      if (m.command === 'getheaders') {
        let from = 0;
        for (const l of m.locator) {
          const h = byHash.get(l.toString('hex'));
          if (h !== undefined) {
            from = h;
            break;
          }
        }
        peer.send({ command: 'headers', headers: headers.slice(from, from + 2000) });
      } else if (m.command === 'getdata' && onGetData) {
        onGetData(m.items.map((i) => i.hash));
      }
    }
  }, 5);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

export interface OpenedBlockStore {
  readonly db: Db;
  readonly store: BlockStore;
  close(): Promise<void>;
}

/** The store of `dir` and its block store (regtest magic unless given), as the block actor opens them; close() closes both. */
export async function openAll(dir: string, opts: Partial<Omit<BlockStoreOptions, 'dir' | 'db'>> = {}): Promise<OpenedBlockStore> {
  const { db } = await openStore(dir);
  try {
    const store = await BlockStore.open({ dir, db, magic: regtest.magicBytes, ...opts });
    return {
      db,
      store,
      close: async () => {
        await store.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

/** A block: a generated block's coinbase, then one transaction with one input carrying `items` empty witness items. */
export function witnessHeavy(items: number): Buffer {
  const base = chainOf(1, { txsPerBlock: 0, seed: 5 })[0]!.block;
  const w = new Writer(items + 1000);
  // The header and a count of 2, then the coinbase's own bytes.
  const head = new Writer(200);
  encodeBlock(head, { header: base.header, txs: [] });
  w.bytes(head.result().subarray(0, 80)).compactSize(2);
  encodeTx(w, base.txs[0]!);
  // version | marker, flag | 1 input | 1 output | witness: `items` empty items | locktime
  w.i32le(2).u8(0).u8(1).compactSize(1).bytes(Buffer.alloc(32, 7)).u32le(0).compactSize(0).u32le(0xffffffff);
  w.compactSize(1).bytes(Buffer.alloc(8)).compactSize(1).u8(0x51);
  w.compactSize(items);
  for (let i = 0; i < items; i++) w.u8(0);
  w.u32le(0);
  return Buffer.from(w.result());
}
