/**
 * A generator of valid regtest blocks for tests, benchmarks and demos: each block extends the
 * previous one (the first extends the regtest genesis, or a given tip), carries a coinbase with
 * the BIP34 height in its scriptSig and a P2WPKH-shaped output of the block subsidy, optional
 * synthetic segwit transactions, the correct merkle root, a witness commitment when any
 * transaction has witness data, bits = the regtest PoW limit (0x207fffff) and a nonce ground
 * until the hash meets that target (about two tries a block). Timestamps increase strictly,
 * so every block is past its median-time-past.
 *
 * The synthetic transactions spend made-up outpoints (peerd checks no scripts and keeps no
 * UTXO set), but they are structurally valid: Core's CheckTransaction passes, and so does
 * CheckBlock plus the witness-commitment rules ({@link checkBlock}). Everything is
 * deterministic for a given `seed`.
 */
import { hash as oneShot } from 'node:crypto';
import { Writer } from '../../wire/buffer.js';
import { HEADER_SIZE, blockMerkleRoot, encodeBlock, makeBlock, witnessMerkleRoot, type Block, type BlockHeader } from '../../wire/block.js';
import { checkProofOfWork, compactToTarget, hashToBigInt } from '../../wire/pow.js';
import { networkParams, type NetworkParams } from '../../wire/network.js';
import { NULL_INDEX, SEQUENCE_FINAL, makeTx, type Tx, type TxIn, type TxOut } from '../../wire/tx.js';
import { BlockFileWriter } from './blockfile.js';

export const REGTEST_BITS = 0x207fffff;
/** versionbits top bits, as Core's miner sets them. */
export const BLOCK_VERSION = 0x20000000;
const COIN = 100_000_000n;

export interface GenerateOptions {
  /** Number of blocks to generate. */
  readonly blocks: number;
  /** Synthetic (non-coinbase) transactions per block (default 0). */
  readonly txsPerBlock?: number;
  /** Network whose genesis and PoW limit are used (default regtest; only regtest-like limits are practical). */
  readonly network?: NetworkParams;
  /** Extend this block instead of the genesis (its header and height). */
  readonly parent?: { readonly header: BlockHeader; readonly height: number };
  /** Seconds between blocks (default 600; at least 1). */
  readonly spacing?: number;
  /** Bytes mixed into every coinbase and fake outpoint, so two runs with different seeds build different chains (default 0). */
  readonly seed?: number;
}

export interface GeneratedBlock {
  readonly height: number;
  readonly block: Block;
  /** The serialised block, with witness. */
  readonly raw: Buffer;
}

/** Core's `CScript() << n` for a non-negative height: OP_0, OP_1..OP_16, or a minimal CScriptNum push. */
export function scriptNumPush(n: number): Buffer {
  if (n === 0) return Buffer.from([0x00]);
  if (n >= 1 && n <= 16) return Buffer.from([0x50 + n]);
  const bytes: number[] = [];
  let v = n;
  while (v > 0) {
    bytes.push(v & 0xff);
    v = Math.floor(v / 256);
  }
  if (bytes[bytes.length - 1] & 0x80) bytes.push(0);
  return Buffer.from([bytes.length, ...bytes]);
}

/** Block subsidy: 50 BTC halved every `interval` blocks. */
export function blockSubsidy(height: number, interval: number): bigint {
  const halvings = Math.floor(height / interval);
  return halvings >= 64 ? 0n : (50n * COIN) >> BigInt(halvings);
}

function det(seed: number, ...parts: number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * (parts.length + 1));
  b.writeUInt32LE(seed >>> 0, 0);
  parts.forEach((p, i) => b.writeUInt32LE(p >>> 0, 4 * (i + 1)));
  return oneShot('sha256', b, 'buffer');
}

function p2wpkh(hash20: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x00, 0x14]), hash20.subarray(0, 20)]);
}

/** A segwit-shaped spend of a made-up outpoint: empty scriptSig, witness [72-byte "signature", 33-byte "pubkey"], two P2WPKH outputs. */
function syntheticTx(seed: number, height: number, i: number): Tx {
  const h = det(seed, height, i, 1);
  const sig = Buffer.concat([Buffer.from([0x30, 0x45]), det(seed, height, i, 2), det(seed, height, i, 3), Buffer.from([0x02, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01])]).subarray(0, 72);
  const pub = Buffer.concat([Buffer.from([0x02]), det(seed, height, i, 4)]);
  const input: TxIn = { prevTxid: h, prevIndex: i & 3, script: Buffer.alloc(0), sequence: 0xfffffffd, witness: [sig, pub] };
  const outputs: TxOut[] = [
    { value: 100_000n + BigInt(i), script: p2wpkh(det(seed, height, i, 5)) },
    { value: 4_899_000n, script: p2wpkh(det(seed, height, i, 6)) },
  ];
  return makeTx({ version: 2, inputs: [input], outputs, locktime: height - 1 });
}

function coinbaseTx(height: number, seed: number, subsidy: bigint, commitment: Buffer | null): Tx {
  // Core: scriptSig = CScript() << nHeight << OP_0; we add the seed to tell chains apart.
  const tag = Buffer.allocUnsafe(4);
  tag.writeUInt32LE(seed >>> 0, 0);
  const script = Buffer.concat([scriptNumPush(height), Buffer.from([0x04]), tag]);
  const outputs: TxOut[] = [{ value: subsidy, script: p2wpkh(det(seed, height, 0xffffffff)) }];
  if (commitment) outputs.push({ value: 0n, script: Buffer.concat([Buffer.from('6a24aa21a9ed', 'hex'), commitment]) });
  const input: TxIn = { prevTxid: Buffer.alloc(32), prevIndex: NULL_INDEX, script, sequence: SEQUENCE_FINAL, witness: commitment ? [Buffer.alloc(32)] : [] };
  return makeTx({ version: 2, inputs: [input], outputs, locktime: 0 });
}

function sha256d(b: Uint8Array): Buffer {
  return oneShot('sha256', oneShot('sha256', b, 'buffer'), 'buffer');
}

/** Builds one block on `parent` at `height` with the given time, grinding the nonce. */
export function mineBlock(parent: BlockHeader, height: number, time: number, txs: readonly Tx[], opts: { seed?: number; network?: NetworkParams } = {}): GeneratedBlock {
  const net = opts.network ?? networkParams('regtest');
  const seed = opts.seed ?? 0;
  const anyWitness = txs.some((t) => t.hasWitness);
  let commitment: Buffer | null = null;
  if (anyWitness) {
    // The coinbase's wtxid counts as zero, so the root does not depend on the coinbase itself.
    const root = witnessMerkleRoot({ txs: [coinbaseTx(height, seed, 0n, null), ...txs] }).root;
    commitment = sha256d(Buffer.concat([root, Buffer.alloc(32)]));
  }
  const coinbase = coinbaseTx(height, seed, blockSubsidy(height, net.subsidyHalvingInterval), commitment);
  const all = [coinbase, ...txs];
  const merkleRoot = blockMerkleRoot({ txs: all }).root;
  const bits = REGTEST_BITS;
  const { target } = compactToTarget(bits);
  const hw = new Writer(HEADER_SIZE);
  hw.i32le(BLOCK_VERSION).bytes(parent.hash).bytes(merkleRoot).u32le(time).u32le(bits).u32le(0);
  const head = Buffer.from(hw.result());
  let nonce = 0;
  for (;;) {
    head.writeUInt32LE(nonce, 76);
    if (hashToBigInt(sha256d(head)) <= target) break;
    nonce = (nonce + 1) >>> 0;
    if (nonce === 0) throw new Error('nonce space exhausted');
  }
  const block = makeBlock({ version: BLOCK_VERSION, prevBlock: parent.hash, merkleRoot, time, bits, nonce }, all);
  if (!checkProofOfWork(block.header.hash, bits, net.powLimit)) throw new Error('generated block fails proof of work');
  const w = new Writer(block.size);
  encodeBlock(w, block);
  return { height, block, raw: Buffer.from(w.result()) };
}

/** Yields `opts.blocks` blocks, each on the previous one. */
export function* generateChain(opts: GenerateOptions): Generator<GeneratedBlock> {
  const net = opts.network ?? networkParams('regtest');
  const seed = opts.seed ?? 0;
  const spacing = Math.max(1, Math.floor(opts.spacing ?? 600));
  const perBlock = Math.max(0, Math.floor(opts.txsPerBlock ?? 0));
  let parent = opts.parent?.header ?? net.genesis.header;
  let height = opts.parent?.height ?? 0;
  for (let n = 0; n < opts.blocks; n++) {
    height++;
    const txs: Tx[] = [];
    for (let i = 0; i < perBlock; i++) txs.push(syntheticTx(seed, height, i));
    const g = mineBlock(parent, height, parent.time + spacing, txs, { seed, network: net });
    yield g;
    parent = g.block.header;
  }
}

export interface GenerateFileReport {
  readonly blocks: number;
  readonly bytes: number;
  readonly txs: number;
  /** Display hex of the last block's hash. */
  readonly tip: string;
  readonly height: number;
  readonly ms: number;
}

/** Generates a chain straight into a block file (streaming: memory stays flat). */
export async function generateChainFile(path: string, opts: GenerateOptions): Promise<GenerateFileReport> {
  const started = performance.now();
  const w = await BlockFileWriter.create(path);
  let txs = 0;
  let last: GeneratedBlock | null = null;
  try {
    for (const g of generateChain(opts)) {
      await w.write(g.raw);
      txs += g.block.txs.length;
      last = g;
    }
  } finally {
    await w.close();
  }
  return {
    blocks: w.count,
    bytes: w.offset,
    txs,
    tip: last ? Buffer.from(last.block.header.hash).reverse().toString('hex') : Buffer.from((opts.parent?.header ?? (opts.network ?? networkParams('regtest')).genesis.header).hash).reverse().toString('hex'),
    height: last ? last.height : (opts.parent?.height ?? 0),
    ms: Math.round(performance.now() - started),
  };
}
