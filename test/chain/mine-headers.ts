/**
 * Real mined headers for the header-tree tests, quickly.
 *
 * Main/testnet rules cannot be mined at their real targets in a test, so the tests copy the
 * network's parameters with an easy PoW limit (regtest's, or main's scaled by 2^24) and, where a
 * retarget period must be walked, a short one (powTargetTimespan = 10 × powTargetSpacing, so a
 * period is 10 blocks). Every header is then mined for real: {@link mineHeader} grinds the
 * nonce until the hash meets the target its bits claim (a few hundred tries at most at these
 * targets), so the tree checks true proof of work, not a stub.
 */
import { hash as oneShot } from 'node:crypto';
import { Reader, Writer } from '../../src/wire/buffer.js';
import { HEADER_SIZE, decodeHeader, encodeHeader, makeBlock, makeHeader, type BlockHeader, type HeaderFields } from '../../src/wire/block.js';
import { networkParams, type NetworkParams } from '../../src/wire/network.js';
import { compactToTarget, getNextWorkRequired, type PowHeader, type PowParams } from '../../src/wire/pow.js';
import { fixturePath } from '../helpers/fixtures.js';
import { readBlockFile } from '../../src/tools/chain/blockfile.js';
import { type HeaderEntry, type HeaderTree } from '../../src/chain/headers.js';

export const VERSION = 0x20000000;
export const FIXTURE = 'regtest-2000.blocks';

function sha256d(b: Uint8Array): Buffer {
  return oneShot('sha256', oneShot('sha256', b, 'buffer'), 'buffer');
}

/** A merkle root standing in for real transactions: distinct per salt. */
export function fakeRoot(salt: string): Buffer {
  return oneShot('sha256', salt, 'buffer');
}

export interface MineFields {
  readonly prevBlock: Buffer;
  readonly time: number;
  readonly bits: number;
  readonly version?: number;
  readonly merkleRoot?: Buffer;
}

/** A header whose hash meets the target of its bits (nonce ground from 0). */
export function mineHeader(f: MineFields): BlockHeader {
  const { target, negative, overflow } = compactToTarget(f.bits);
  if (negative || overflow || target === 0n) throw new Error(`cannot mine bits ${f.bits.toString(16)}`);
  const targetBE = Buffer.from(target.toString(16).padStart(64, '0'), 'hex');
  const w = new Writer(HEADER_SIZE);
  const fields = { version: f.version ?? VERSION, prevBlock: f.prevBlock, merkleRoot: f.merkleRoot ?? fakeRoot(`${f.prevBlock.toString('hex')}:${f.time}:${f.bits}`), time: f.time, bits: f.bits, nonce: 0 };
  encodeHeader(w, fields);
  const raw = Buffer.from(w.result());
  for (let nonce = 0; nonce <= 0xffffffff; nonce++) {
    raw.writeUInt32LE(nonce, 76);
    const h = sha256d(raw);
    if (meets(h, targetBE)) return { ...fields, nonce, hash: h };
  }
  throw new Error('nonce space exhausted');
}

/** hash (internal order = little-endian number) ≤ target (big-endian bytes). */
function meets(hash: Buffer, targetBE: Buffer): boolean {
  for (let i = 0; i < 32; i++) {
    const a = hash[31 - i];
    const b = targetBE[i];
    if (a !== b) return a < b;
  }
  return true;
}

/** A header that fails its own proof of work (bits unchanged): nonces tried until the hash is above the target. */
export function unmineHeader(h: BlockHeader): BlockHeader {
  const { target } = compactToTarget(h.bits);
  const targetBE = Buffer.from(target.toString(16).padStart(64, '0'), 'hex');
  for (let nonce = (h.nonce + 1) >>> 0; ; nonce = (nonce + 1) >>> 0) {
    const c = makeHeader({ ...h, nonce });
    if (!meets(c.hash, targetBE)) return c;
  }
}

/** The tip a chain is mined on, and how to look up its ancestors (for the retarget rules). */
export interface MineBase {
  readonly tip: PowHeader & { readonly hash: Buffer };
  readonly lookup: (height: number) => PowHeader | undefined;
}

export function baseOfEntry(tree: HeaderTree, e: HeaderEntry): MineBase {
  return { tip: e, lookup: (h) => (h >= 0 && h <= e.height ? tree.ancestor(e, h) : undefined) };
}

export interface ChainOptions {
  readonly params: PowParams;
  readonly count: number;
  /** Seconds after the parent (default 600), or per height. */
  readonly spacing?: number | ((height: number) => number);
  readonly version?: number;
  readonly salt?: string;
}

/** `count` headers on `base`, each with the bits getNextWorkRequired demands, mined. */
export function mineChain(base: MineBase, opts: ChainOptions): BlockHeader[] {
  const out: BlockHeader[] = [];
  const made: PowHeader[] = [];
  const first = base.tip.height + 1;
  const lookup = (h: number): PowHeader | undefined => (h >= first ? made[h - first] : base.lookup(h));
  let prev: PowHeader = base.tip;
  let prevHash = base.tip.hash;
  for (let i = 0; i < opts.count; i++) {
    const height = first + i;
    const gap = typeof opts.spacing === 'function' ? opts.spacing(height) : (opts.spacing ?? 600);
    const time = prev.time + gap;
    const bits = getNextWorkRequired(prev, time, opts.params, lookup);
    const h = mineHeader({ prevBlock: prevHash, time, bits, version: opts.version, merkleRoot: fakeRoot(`${opts.salt ?? ''}:${height}:${prevHash.toString('hex')}`) });
    out.push(h);
    made.push({ height, time, bits });
    prev = made[made.length - 1];
    prevHash = h.hash;
  }
  return out;
}

/** The headers of the regtest-2000 fixture (heights 1..2000, read with readBlockFile), or null when it is absent. */
export async function fixtureHeaders(): Promise<BlockHeader[] | null> {
  const path = fixturePath(FIXTURE);
  if (!path) return null;
  const out: BlockHeader[] = [];
  for await (const r of readBlockFile(path)) out.push(decodeHeader(new Reader(r.block)));
  return out;
}

/** The 80 bytes of a header. */
export function rawHeader(h: HeaderFields): Buffer {
  const w = new Writer(HEADER_SIZE);
  encodeHeader(w, h);
  return Buffer.from(w.result());
}

/** A header decoded from bytes (hash recomputed). */
export function headerFromRaw(raw: Buffer): BlockHeader {
  return decodeHeader(new Reader(raw));
}

/** The easy limit of the short-period copies: 2^244 − 1 (bits 0x1f0fffff), so limit × 4 × timespan < 2^256. */
export const EASY_LIMIT = (1n << 244n) - 1n;
export const EASY_BITS = 0x1f0fffff;
const regtest = networkParams('regtest');
const easyGenesis = makeBlock({ ...regtest.genesis.header, bits: EASY_BITS }, regtest.genesis.txs);

/**
 * A network's rules, mineable. Main's real limit (2^224) cannot be mined in a test, and a larger
 * one with a two-week timespan overflows Core's 256-bit retarget product (target × timespan),
 * so: spacing 60 s, timespan 600 s (a 10-block period; the min-difficulty rule's "twice the
 * spacing" becomes 2 minutes instead of 20), PoW limit 2^244 − 1 (about 4,000 nonces a header)
 * and a genesis carrying the limit's bits. Everything else (min-difficulty, BIP94, versions) is
 * the network's own.
 */
export function shortPeriod(p: NetworkParams): NetworkParams {
  return { ...p, powLimit: EASY_LIMIT, powTargetSpacing: 60, powTargetTimespan: 600, genesis: easyGenesis, genesisHash: easyGenesis.header.hash };
}
