/**
 * Block headers and blocks (primitives/block.h), block size and weight, merkle and witness
 * commitment checks, and a context-free block check in the spirit of Core's CheckBlock plus
 * the witness part of ContextualCheckBlock. No script validation.
 */
import { hash as oneShot } from 'node:crypto';
import { Reader, Writer, compactSizeLength } from './buffer.js';
import { attempt, type Decoded } from './errors.js';
import { computeMerkleRootPacked, type MerkleResult } from './merkle.js';
import { checkProofOfWork } from './pow.js';
import { MIN_TX_SIZE, WITNESS_SCALE_FACTOR, decodeTx, encodeTx, isCoinbase, isNullOutpoint, scanTx, type Tx } from './tx.js';

export const HEADER_SIZE = 80;
export const MAX_BLOCK_WEIGHT = 4_000_000;
export const MAX_BLOCK_SIGOPS_COST = 80_000;
export const MAX_MONEY = 21_000_000n * 100_000_000n;
/** Coinbase output script prefix of a witness commitment: OP_RETURN, push 36, 0xaa21a9ed. */
export const WITNESS_COMMITMENT_HEADER = Buffer.from('6a24aa21a9ed', 'hex');
export const MINIMUM_WITNESS_COMMITMENT = 38;

export interface BlockHeader {
  readonly version: number;
  /** Internal byte order. */
  readonly prevBlock: Buffer;
  /** Internal byte order. */
  readonly merkleRoot: Buffer;
  readonly time: number;
  readonly bits: number;
  readonly nonce: number;
  /** sha256d of the 80 header bytes, internal byte order. */
  readonly hash: Buffer;
}

/** Header fields without the hash (to build a header and let {@link makeHeader} hash it). */
export type HeaderFields = Omit<BlockHeader, 'hash'>;

export interface Block {
  readonly header: BlockHeader;
  readonly txs: readonly Tx[];
  /** Serialised size with witness data. */
  readonly size: number;
  /** Serialised size without witness data. */
  readonly strippedSize: number;
  /** strippedSize × 3 + size (BIP141). */
  readonly weight: number;
  /** Whether any transaction carries witness data. */
  readonly hasWitness: boolean;
  /** The bytes this block was decoded from (a view), when it was decoded. */
  readonly raw?: Buffer;
}

/** Reads an 80-byte header and hashes it. prevBlock and merkleRoot are copies (headers outlive their messages). */
export function decodeHeader(r: Reader): BlockHeader {
  r.need(HEADER_SIZE, 'block header');
  const start = r.pos;
  const version = r.i32le();
  const prevBlock = r.hash();
  const merkleRoot = r.hash();
  const time = r.u32le();
  const bits = r.u32le();
  const nonce = r.u32le();
  const hash = oneShot('sha256', oneShot('sha256', r.buf.subarray(start, start + HEADER_SIZE), 'buffer'), 'buffer');
  return { version, prevBlock, merkleRoot, time, bits, nonce, hash };
}

export function encodeHeader(w: Writer, h: HeaderFields): void {
  w.i32le(h.version).bytes(h.prevBlock).bytes(h.merkleRoot).u32le(h.time).u32le(h.bits).u32le(h.nonce);
}

/** A header with its hash computed from the fields. */
export function makeHeader(fields: HeaderFields): BlockHeader {
  const w = new Writer(HEADER_SIZE);
  encodeHeader(w, fields);
  return { ...fields, prevBlock: Buffer.from(fields.prevBlock), merkleRoot: Buffer.from(fields.merkleRoot), hash: sha256d(w.result()) };
}

export interface DecodeBlockOptions {
  /** Transaction ids are computed on first use (see decodeTx). */
  readonly deferTxHashes?: boolean;
  /**
   * The transactions are checked as they would be decoded (same bytes accepted, same errors)
   * but decoded only when `txs` is first read, with deferred hashes: a block on its way to a
   * check in another thread costs this thread a scan and no objects.
   */
  readonly lazyTxs?: boolean;
  /**
   * 'coinbase': the witness items of every transaction but the coinbase are read and not kept
   * ({@link WITNESS_NOT_KEPT}): what a block check needs (the coinbase's witness reserved value,
   * sizes, weight, wtxids from the bytes), at a cost bounded by the bytes and not by the item count.
   */
  readonly witnessItems?: 'all' | 'coinbase';
}

/**
 * A block whose transactions were scanned, not decoded: `txs` decodes them from `raw` on first
 * use (hashes deferred) and keeps them.
 */
class LazyBlock implements Block {
  #txs: Tx[] | null = null;
  readonly #count: number;
  readonly #txsAt: number;

  constructor(
    readonly header: BlockHeader,
    readonly size: number,
    readonly strippedSize: number,
    readonly weight: number,
    readonly hasWitness: boolean,
    readonly raw: Buffer,
    count: number,
    txsAt: number,
  ) {
    this.#count = count;
    this.#txsAt = txsAt;
  }

  get txs(): readonly Tx[] {
    if (this.#txs === null) {
      const r = new Reader(this.raw, this.#txsAt, this.raw.length, 0);
      const txs = new Array<Tx>(this.#count);
      for (let i = 0; i < txs.length; i++) txs[i] = decodeTx(r, true);
      this.#txs = txs;
    }
    return this.#txs;
  }
}

/**
 * Reads a block: header, CompactSize count (bounded by the bytes left), transactions with
 * witness. See {@link DecodeBlockOptions} for deferred hashes and lazy transactions.
 */
export function decodeBlock(r: Reader, opts: DecodeBlockOptions = {}): Block {
  const defer = opts.deferTxHashes === true;
  const start = r.pos;
  const header = decodeHeader(r);
  const at = r.offset;
  const n = r.compactSize('transaction count');
  if (n * MIN_TX_SIZE > r.remaining) r.fail('truncated', `transaction count ${n} needs at least ${n * MIN_TX_SIZE} bytes, ${r.remaining} left`, at);
  if (opts.lazyTxs === true) {
    const txsAt = r.pos - start;
    let witnessBytes = 0;
    let hasWitness = false;
    for (let i = 0; i < n; i++) {
      const t = scanTx(r);
      if (t.hasWitness) {
        hasWitness = true;
        witnessBytes += t.size - t.strippedSize;
      }
    }
    const size = r.pos - start;
    const strippedSize = size - witnessBytes;
    return new LazyBlock(header, size, strippedSize, strippedSize * (WITNESS_SCALE_FACTOR - 1) + size, hasWitness, r.buf.subarray(start, r.pos), n, txsAt);
  }
  const txs: Tx[] = new Array<Tx>(n);
  let witnessBytes = 0;
  let hasWitness = false;
  const keepAll = opts.witnessItems !== 'coinbase';
  for (let i = 0; i < n; i++) {
    const tx = decodeTx(r, defer, keepAll || i === 0);
    txs[i] = tx;
    if (tx.hasWitness) {
      hasWitness = true;
      witnessBytes += tx.size - tx.strippedSize;
    }
  }
  const size = r.pos - start;
  const strippedSize = size - witnessBytes;
  return { header, txs, size, strippedSize, weight: strippedSize * (WITNESS_SCALE_FACTOR - 1) + size, hasWitness, raw: r.buf.subarray(start, r.pos) };
}

/**
 * A serialised block without its witness data (what MSG_BLOCK asks of a peer that does not speak
 * segwit), made by a scan and copies: no transaction is built, so the cost is bounded by the size.
 * The block must parse as {@link parseBlock} would, every byte belonging to it.
 */
export function stripWitness(raw: Buffer): Decoded<Buffer> {
  return attempt(() => {
    const r = new Reader(raw);
    r.skip(HEADER_SIZE, 'block header');
    const at = r.offset;
    const n = r.compactSize('transaction count');
    if (n * MIN_TX_SIZE > r.remaining) r.fail('truncated', `transaction count ${n} needs at least ${n * MIN_TX_SIZE} bytes, ${r.remaining} left`, at);
    // Ranges of bytes to keep, as [from, to) pairs: the header and count, then per transaction
    // either all of it or its version, inputs and outputs, and locktime.
    const keep: number[] = [0, r.pos];
    let size = r.pos;
    for (let i = 0; i < n; i++) {
      const start = r.pos;
      const t = scanTx(r);
      if (!t.hasWitness) keep.push(start, r.pos);
      else keep.push(start, start + 4, t.bodyStart, t.bodyEnd, r.pos - 4, r.pos);
      size += t.strippedSize;
    }
    r.expectEnd('block');
    const out = Buffer.allocUnsafe(size);
    let o = 0;
    for (let i = 0; i < keep.length; i += 2) o += raw.copy(out, o, keep[i], keep[i + 1]);
    return out;
  });
}

/** Decodes a whole buffer as one block (every byte must belong to it) into a value. */
export function parseBlock(bytes: Buffer, opts: DecodeBlockOptions = {}): Decoded<Block> {
  return attempt(() => {
    const r = new Reader(bytes);
    const b = decodeBlock(r, opts);
    r.expectEnd('block');
    return b;
  });
}

export function encodeBlock(w: Writer, b: Pick<Block, 'header' | 'txs'>, withWitness = true): void {
  encodeHeader(w, b.header);
  w.compactSize(b.txs.length);
  for (const tx of b.txs) encodeTx(w, tx, withWitness);
}

/** Builds a complete {@link Block} (sizes, weight) from a header and transactions; the header's merkle root is taken as given. */
export function makeBlock(header: HeaderFields, txs: readonly Tx[]): Block {
  let size = HEADER_SIZE + compactSizeLength(txs.length);
  let strippedSize = size;
  let hasWitness = false;
  for (const tx of txs) {
    size += tx.size;
    strippedSize += tx.strippedSize;
    if (tx.hasWitness) hasWitness = true;
  }
  return { header: makeHeader(header), txs, size, strippedSize, weight: strippedSize * (WITNESS_SCALE_FACTOR - 1) + size, hasWitness };
}

function sha256d(b: Uint8Array): Buffer {
  return oneShot('sha256', oneShot('sha256', b, 'buffer'), 'buffer');
}

/**
 * Scratch space for the merkle leaves (the root is copied out, so it can be reused): a block
 * check allocates no fresh memory for them.
 */
let leaves = Buffer.allocUnsafeSlow(64 * 1024);

function leafSpace(n: number): Buffer {
  const need = (n + 1) * 32;
  if (leaves.length < need) leaves = Buffer.allocUnsafeSlow(Math.max(need, leaves.length * 2));
  return leaves;
}

/** Core's BlockMerkleRoot: the merkle root of the txids, with the mutation flag. */
export function blockMerkleRoot(block: Pick<Block, 'txs'>): MerkleResult {
  const n = block.txs.length;
  const packed = leafSpace(n);
  for (let i = 0; i < n; i++) block.txs[i].txid.copy(packed, i * 32);
  return computeMerkleRootPacked(packed, n);
}

/** Core's BlockWitnessMerkleRoot: the merkle root of the wtxids with the coinbase's taken as zero. */
export function witnessMerkleRoot(block: Pick<Block, 'txs'>): MerkleResult {
  const n = block.txs.length;
  const packed = leafSpace(n);
  if (n > 0) packed.fill(0, 0, 32);
  for (let i = 1; i < n; i++) block.txs[i].wtxid.copy(packed, i * 32);
  return computeMerkleRootPacked(packed, n);
}

/** Core's GetWitnessCommitmentIndex: the LAST coinbase output whose script starts with the commitment header, or -1. */
export function witnessCommitmentIndex(block: Pick<Block, 'txs'>): number {
  if (block.txs.length === 0) return -1;
  const outs = block.txs[0].outputs;
  let found = -1;
  for (let i = 0; i < outs.length; i++) {
    const s = outs[i].script;
    if (s.length >= MINIMUM_WITNESS_COMMITMENT && s[0] === 0x6a && s[1] === 0x24 && s[2] === 0xaa && s[3] === 0x21 && s[4] === 0xa9 && s[5] === 0xed) found = i;
  }
  return found;
}

/** The rule a block broke; Core's reject reason is given alongside in {@link BlockCheckFailure.reason}. */
export type BlockRule =
  | 'high-hash' // header hash above the target its bits claim (or bits out of range)
  | 'bad-merkle-root' // bad-txnmrklroot
  | 'mutated' // bad-txns-duplicate (CVE-2012-2459)
  | 'no-transactions' // bad-blk-length
  | 'size-limits' // bad-blk-length: tx count or stripped size × 4 above MAX_BLOCK_WEIGHT
  | 'first-tx-not-coinbase' // bad-cb-missing
  | 'multiple-coinbase' // bad-cb-multiple
  | 'tx-vin-empty'
  | 'tx-vout-empty'
  | 'tx-oversize'
  | 'tx-vout-negative'
  | 'tx-vout-toolarge'
  | 'tx-txouttotal-toolarge'
  | 'tx-inputs-duplicate'
  | 'coinbase-script-size' // bad-cb-length: scriptSig not 2..100 bytes
  | 'tx-prevout-null'
  | 'sigops' // bad-blk-sigops (legacy count × 4 above 80,000)
  | 'bad-witness-nonce-size' // commitment present, coinbase witness not one 32-byte item
  | 'bad-witness-commitment' // bad-witness-merkle-match
  | 'no-witness-commitment-but-witness' // unexpected-witness
  | 'weight'; // bad-blk-weight

export interface BlockCheckFailure {
  readonly ok: false;
  readonly rule: BlockRule;
  /** Bitcoin Core's reject reason string for the same failure. */
  readonly reason: string;
  /** Index of the offending transaction, when one is to blame. */
  readonly txIndex?: number;
  readonly message: string;
}

export type BlockCheck = { readonly ok: true } | BlockCheckFailure;

export interface CheckBlockOptions {
  /** Check the header's proof of work against this limit (Core's CheckBlockHeader). Skipped when absent. */
  readonly powLimit?: bigint;
  /** Whether segwit is active (default true); when false, any witness data is unexpected. */
  readonly segwit?: boolean;
}

const BAD: Record<BlockRule, string> = {
  'high-hash': 'high-hash',
  'bad-merkle-root': 'bad-txnmrklroot',
  mutated: 'bad-txns-duplicate',
  'no-transactions': 'bad-blk-length',
  'size-limits': 'bad-blk-length',
  'first-tx-not-coinbase': 'bad-cb-missing',
  'multiple-coinbase': 'bad-cb-multiple',
  'tx-vin-empty': 'bad-txns-vin-empty',
  'tx-vout-empty': 'bad-txns-vout-empty',
  'tx-oversize': 'bad-txns-oversize',
  'tx-vout-negative': 'bad-txns-vout-negative',
  'tx-vout-toolarge': 'bad-txns-vout-toolarge',
  'tx-txouttotal-toolarge': 'bad-txns-txouttotal-toolarge',
  'tx-inputs-duplicate': 'bad-txns-inputs-duplicate',
  'coinbase-script-size': 'bad-cb-length',
  'tx-prevout-null': 'bad-txns-prevout-null',
  sigops: 'bad-blk-sigops',
  'bad-witness-nonce-size': 'bad-witness-nonce-size',
  'bad-witness-commitment': 'bad-witness-merkle-match',
  'no-witness-commitment-but-witness': 'unexpected-witness',
  weight: 'bad-blk-weight',
};

function fail(rule: BlockRule, message: string, txIndex?: number): BlockCheckFailure {
  return txIndex === undefined ? { ok: false, rule, reason: BAD[rule], message } : { ok: false, rule, reason: BAD[rule], txIndex, message };
}

/**
 * Context-free block validity as Core's CheckBlock (PoW when a limit is given, merkle root and
 * mutation, size limits, coinbase placement, CheckTransaction, legacy sigops) followed by the
 * witness commitment and weight rules of ContextualCheckBlock (segwit assumed active).
 */
export function checkBlock(block: Block, opts: CheckBlockOptions = {}): BlockCheck {
  const { header, txs } = block;
  if (opts.powLimit !== undefined && !checkProofOfWork(header.hash, header.bits, opts.powLimit)) {
    return fail('high-hash', 'proof of work failed');
  }
  const merkle = blockMerkleRoot(block);
  if (!merkle.root.equals(header.merkleRoot)) return fail('bad-merkle-root', 'hashMerkleRoot mismatch');
  if (merkle.mutated) return fail('mutated', 'duplicate transaction');
  if (txs.length === 0) return fail('no-transactions', 'block has no transactions');
  if (txs.length * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT || block.strippedSize * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT) {
    return fail('size-limits', 'size limits failed');
  }
  if (!isCoinbase(txs[0])) return fail('first-tx-not-coinbase', 'first tx is not coinbase');
  for (let i = 1; i < txs.length; i++) if (isCoinbase(txs[i])) return fail('multiple-coinbase', 'more than one coinbase', i);
  let sigops = 0;
  for (let i = 0; i < txs.length; i++) {
    const bad = checkTransaction(txs[i], i);
    if (bad) return bad;
    sigops += legacySigOpCount(txs[i]);
  }
  if (sigops * WITNESS_SCALE_FACTOR > MAX_BLOCK_SIGOPS_COST) return fail('sigops', `out-of-bounds SigOpCount ${sigops}`);

  // Witness rules (Core's CheckWitnessMalleation): before segwit, any witness is unexpected.
  const commitPos = opts.segwit === false ? -1 : witnessCommitmentIndex(block);
  if (commitPos !== -1) {
    const wit = txs[0].inputs[0].witness;
    if (wit.length !== 1 || wit[0].length !== 32) return fail('bad-witness-nonce-size', 'invalid witness reserved value size', 0);
    const root = witnessMerkleRoot(block).root;
    const preimage = leafSpace(1);
    root.copy(preimage, 0);
    wit[0].copy(preimage, 32);
    const commitment = sha256d(preimage.subarray(0, 64));
    if (!commitment.equals(txs[0].outputs[commitPos].script.subarray(6, 38))) return fail('bad-witness-commitment', 'witness merkle commitment mismatch', 0);
  } else {
    for (let i = 0; i < txs.length; i++) {
      if (txs[i].hasWitness) return fail('no-witness-commitment-but-witness', 'unexpected witness data found', i);
    }
  }
  if (block.weight > MAX_BLOCK_WEIGHT) return fail('weight', `weight limit failed (${block.weight})`);
  return { ok: true };
}

/** Core's CheckTransaction (context-free transaction rules). */
export function checkTransaction(tx: Tx, txIndex?: number): BlockCheckFailure | null {
  if (tx.inputs.length === 0) return fail('tx-vin-empty', 'transaction has no inputs', txIndex);
  if (tx.outputs.length === 0) return fail('tx-vout-empty', 'transaction has no outputs', txIndex);
  if (tx.strippedSize * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT) return fail('tx-oversize', 'transaction too large', txIndex);
  let total = 0n;
  for (const o of tx.outputs) {
    if (o.value < 0n) return fail('tx-vout-negative', 'negative output value', txIndex);
    if (o.value > MAX_MONEY) return fail('tx-vout-toolarge', 'output value too large', txIndex);
    total += o.value;
    if (total > MAX_MONEY) return fail('tx-txouttotal-toolarge', 'output total too large', txIndex);
  }
  if (tx.inputs.length > 1) {
    const seen = new Set<string>();
    for (const i of tx.inputs) {
      const key = i.prevTxid.toString('latin1') + i.prevIndex;
      if (seen.has(key)) return fail('tx-inputs-duplicate', 'duplicate input', txIndex);
      seen.add(key);
    }
  }
  if (isCoinbase(tx)) {
    const n = tx.inputs[0].script.length;
    if (n < 2 || n > 100) return fail('coinbase-script-size', `coinbase scriptSig of ${n} bytes`, txIndex);
  } else {
    for (const i of tx.inputs) if (isNullOutpoint(i)) return fail('tx-prevout-null', 'input spends a null outpoint', txIndex);
  }
  return null;
}

/** Core's GetLegacySigOpCount: CHECKSIG(VERIFY) count 1, CHECKMULTISIG(VERIFY) count 20, in scriptSigs and scriptPubKeys. */
export function legacySigOpCount(tx: Tx): number {
  let n = 0;
  for (const i of tx.inputs) n += scriptSigOps(i.script);
  for (const o of tx.outputs) n += scriptSigOps(o.script);
  return n;
}

function scriptSigOps(s: Buffer): number {
  let n = 0;
  let p = 0;
  const end = s.length;
  while (p < end) {
    const op = s[p++];
    if (op < 0x4c) p += op;
    else if (op === 0x4c) {
      if (p + 1 > end) break;
      p += 1 + s[p];
    } else if (op === 0x4d) {
      if (p + 2 > end) break;
      p += 2 + s.readUInt16LE(p);
    } else if (op === 0x4e) {
      if (p + 4 > end) break;
      p += 4 + s.readUInt32LE(p);
    } else if (op === 0xac || op === 0xad) n += 1;
    else if (op === 0xae || op === 0xaf) n += 20;
  }
  return n;
}
