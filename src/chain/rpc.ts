/**
 * The block actor's answers to the chain RPC methods, in Bitcoin Core's shapes:
 * getblockchaininfo, getblockcount, getbestblockhash, getblockhash, getblockheader,
 * getblock (verbosity 0 and 1), getchaintips. The actor runs them in its mailbox, so each
 * answer is a consistent view of the chain.
 */
import { Reader, Writer } from '../wire/buffer.js';
import { encodeHeader, parseBlock } from '../wire/block.js';
import { compactToTarget } from '../wire/pow.js';
import { RPC, type Json, type JsonObject } from '../rpc/protocol.js';
import type { NetworkParams } from '../wire/network.js';
import type { ChainRpcMethod, ChainRpcReply } from '../contracts/chain.js';
import type { HeaderEntry } from './headers.js';
import { displayHash, type ChainState } from './logic.js';
import { verifyStore, type BlockStore } from './blockstore.js';

/** What the answers read of the block actor: its chain state, its block store, the network and the prune target. */
export interface ChainView {
  readonly st: Pick<ChainState, 'tree' | 'chain' | 'config'>;
  readonly store: BlockStore;
  readonly args: { readonly params: NetworkParams; readonly pruneTarget?: number };
}

/** Core's DEFAULT_MAX_TIP_AGE: a tip older than this means we are still in initial block download. */
export const MAX_TIP_AGE_S = 24 * 3600;

class ChainRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Core's chain names in RPC output. */
export function coreChainName(network: string): string {
  return network === 'testnet3' ? 'test' : network;
}

/** Core's GetDifficulty: the ratio of the genesis-era target to this one, as a double. */
export function difficulty(bits: number): number {
  let shift = (bits >>> 24) & 0xff;
  let diff = 0x0000ffff / (bits & 0x00ffffff);
  while (shift < 29) {
    diff *= 256;
    shift++;
  }
  while (shift > 29) {
    diff /= 256;
    shift--;
  }
  return diff;
}

const hex64 = (v: bigint): string => v.toString(16).padStart(64, '0');
const bitsHex = (bits: number): string => (bits >>> 0).toString(16).padStart(8, '0');

/** Core's ParseHashV. */
export function parseHash(v: Json | undefined, name: string): Buffer {
  if (typeof v !== 'string') throw new ChainRpcError(RPC.TYPE_ERROR, `${name} must be a string`);
  if (v.length !== 64) throw new ChainRpcError(RPC.INVALID_PARAMETER, `${name} must be of length 64 (not ${v.length}, for '${v}')`);
  if (!/^[0-9a-fA-F]{64}$/.test(v)) throw new ChainRpcError(RPC.INVALID_PARAMETER, `${name} must be hexadecimal string (not '${v}')`);
  return Buffer.from(v, 'hex').reverse();
}

function entryOf(sh: ChainView, hash: Buffer): HeaderEntry {
  const e = sh.st.tree.get(hash);
  if (!e) throw new ChainRpcError(RPC.INVALID_ADDRESS_OR_KEY, 'Block not found');
  return e;
}

function confirmations(sh: ChainView, e: HeaderEntry): number {
  return sh.st.chain.contains(e) ? sh.st.chain.height() - e.height + 1 : -1;
}

function headerJson(sh: ChainView, e: HeaderEntry, nTx: number): JsonObject {
  const h = e.header;
  const next = sh.st.chain.contains(e) ? sh.st.chain.next(e) : undefined;
  const out: JsonObject = {
    hash: displayHash(e.hash),
    confirmations: confirmations(sh, e),
    height: e.height,
    version: h.version,
    versionHex: (h.version >>> 0).toString(16).padStart(8, '0'),
    merkleroot: displayHash(h.merkleRoot),
    time: h.time,
    mediantime: sh.st.tree.medianTimePast(e),
    nonce: h.nonce >>> 0,
    bits: bitsHex(h.bits),
    target: hex64(compactToTarget(h.bits).target),
    difficulty: difficulty(h.bits),
    chainwork: hex64(e.chainWork),
    nTx: nTx,
  };
  if (e.parent) out.previousblockhash = displayHash(e.parent.hash);
  if (next) out.nextblockhash = displayHash(next.hash);
  return out;
}

/** Number of transactions of a stored block (its compact size after the header), 0 when absent. */
async function txCount(sh: ChainView, e: HeaderEntry): Promise<number> {
  if (!e.haveData) return 0;
  // The header and the count's CompactSize (at most 9 bytes) are all it takes.
  const raw = await sh.store.head(e.hash, 80 + 9);
  if (raw === null) return 0;
  const r = new Reader(raw);
  r.pos = 80;
  return Number(r.compactSize());
}

function isIbd(sh: ChainView, nowMs: number): boolean {
  const tip = sh.st.chain.tip();
  return tip.chainWork < sh.st.config.minimumChainWork || tip.header.time < nowMs / 1000 - MAX_TIP_AGE_S;
}

function blockchainInfo(sh: ChainView, nowMs: number): JsonObject {
  const tip = sh.st.chain.tip();
  const best = sh.st.tree.best();
  const stats = sh.store.stats();
  const pruned = (sh.args.pruneTarget ?? 0) > 0;
  const out: JsonObject = {
    chain: coreChainName(sh.args.params.name),
    blocks: tip.height,
    headers: best.height,
    bestblockhash: displayHash(tip.hash),
    bits: bitsHex(tip.header.bits),
    target: hex64(compactToTarget(tip.header.bits).target),
    difficulty: difficulty(tip.header.bits),
    time: tip.header.time,
    mediantime: sh.st.tree.medianTimePast(tip),
    verificationprogress: best.chainWork === 0n ? 1 : Number((tip.chainWork * 1_000_000n) / best.chainWork) / 1_000_000,
    initialblockdownload: isIbd(sh, nowMs),
    chainwork: hex64(tip.chainWork),
    size_on_disk: stats.bytes,
    pruned,
  };
  if (pruned) {
    out.pruneheight = sh.store.pruneHeight();
    out.automatic_pruning = true;
    out.prune_target_size = sh.args.pruneTarget ?? 0;
  }
  out.warnings = [];
  return out;
}

function tipStatus(sh: ChainView, tip: HeaderEntry, fork: HeaderEntry): string {
  if (sh.st.chain.contains(tip)) return 'active';
  if (tip.invalid) return 'invalid';
  for (let e: HeaderEntry | null = tip; e && e !== fork; e = e.parent) if (!e.haveData) return 'headers-only';
  return 'valid-fork';
}

function chainTips(sh: ChainView): Json[] {
  const active = sh.st.chain.tip();
  const tips = new Set<HeaderEntry>(sh.st.tree.tips());
  tips.add(active);
  return [...tips]
    .sort((a, b) => b.height - a.height)
    .map((t) => {
      const fork = sh.st.tree.fork(t, active);
      return { height: t.height, hash: displayHash(t.hash), branchlen: t.height - fork.height, status: tipStatus(sh, t, fork) };
    });
}

async function getBlock(sh: ChainView, hashArg: Json | undefined, verbosityArg: Json | undefined): Promise<Json> {
  const e = entryOf(sh, parseHash(hashArg, 'blockhash'));
  const verbosity = verbosityArg === undefined || verbosityArg === null ? 1 : typeof verbosityArg === 'boolean' ? (verbosityArg ? 1 : 0) : Number(verbosityArg);
  if (!Number.isInteger(verbosity) || verbosity < 0) throw new ChainRpcError(RPC.INVALID_PARAMETER, 'Invalid verbosity');
  if (verbosity > 1) throw new ChainRpcError(RPC.INVALID_PARAMETER, 'peerd supports verbosity 0 and 1 (it keeps no transaction details)');
  if (!e.haveData) {
    if (sh.store.stats().pruned && e.height < sh.store.pruneHeight()) throw new ChainRpcError(RPC.MISC_ERROR, 'Block not available (pruned data)');
    throw new ChainRpcError(RPC.MISC_ERROR, 'Block not found on disk');
  }
  const raw = await sh.store.get(e.hash);
  if (raw === null) throw new ChainRpcError(RPC.MISC_ERROR, 'Block not available (pruned data)');
  if (verbosity === 0) return raw.toString('hex');
  const parsed = parseBlock(raw);
  if (!parsed.ok) throw new ChainRpcError(RPC.MISC_ERROR, `Block read failed: ${parsed.error.message}`);
  const b = parsed.value;
  const head = headerJson(sh, e, b.txs.length);
  return {
    hash: head.hash,
    confirmations: head.confirmations,
    size: b.size,
    strippedsize: b.strippedSize,
    weight: b.weight,
    height: e.height,
    version: head.version,
    versionHex: head.versionHex,
    merkleroot: head.merkleroot,
    tx: b.txs.map((t) => displayHash(t.txid)),
    time: head.time,
    mediantime: head.mediantime,
    nonce: head.nonce,
    bits: head.bits,
    target: head.target,
    difficulty: head.difficulty,
    chainwork: head.chainwork,
    nTx: b.txs.length,
    ...(head.previousblockhash !== undefined ? { previousblockhash: head.previousblockhash } : {}),
    ...(head.nextblockhash !== undefined ? { nextblockhash: head.nextblockhash } : {}),
  };
}

/**
 * peerd's getstoreinfo, the block half: what the store's index holds (count, checksum of the
 * sorted hashes, bytes in block files), the tip height, the same digest restricted to blocks
 * stored at heights ≤ `height` (default the tip), and with `verify` every block read back
 * ({@link verifyStore}: slow, it reads all of them). Cheap otherwise: the index is in memory.
 */
async function storeInfo(sh: ChainView, heightArg: Json | undefined, verifyArg: Json | undefined): Promise<Json> {
  const tipHeight = sh.st.chain.height();
  let upTo = tipHeight;
  if (heightArg !== undefined && heightArg !== null) {
    if (typeof heightArg !== 'number' || !Number.isInteger(heightArg) || heightArg < 0) throw new ChainRpcError(RPC.INVALID_PARAMETER, 'height must be a non-negative integer');
    upTo = heightArg;
  }
  const all = sh.store.digest();
  const below = sh.store.digest(upTo);
  const stats = sh.store.stats();
  const out: JsonObject = {
    blocks: all.blocks,
    checksum: all.checksum,
    bytes: stats.bytes,
    files: stats.files,
    height: tipHeight,
    headers: sh.st.tree.best().height,
    pruned: stats.pruned,
    pruneheight: sh.store.pruneHeight(),
    xorkey: stats.xorKey,
    upto: { height: upTo, blocks: below.blocks, checksum: below.checksum },
  };
  if (verifyArg === true) {
    const v = await verifyStore(sh.store);
    out.verified = { blocks: v.blocks, bytes: v.bytes, checksum: v.checksum, bad: v.bad };
  }
  return out;
}

async function run(sh: ChainView, method: ChainRpcMethod, args: readonly (Json | undefined)[], nowMs: number): Promise<Json> {
  switch (method) {
    case 'getblockchaininfo':
      return blockchainInfo(sh, nowMs);
    case 'getblockcount':
      return sh.st.chain.height();
    case 'getbestblockhash':
      return displayHash(sh.st.chain.tip().hash);
    case 'getblockhash': {
      const h = args[0];
      if (typeof h !== 'number' || !Number.isInteger(h)) throw new ChainRpcError(RPC.TYPE_ERROR, 'height must be an integer');
      const e = sh.st.chain.at(h);
      if (h < 0 || !e) throw new ChainRpcError(RPC.INVALID_PARAMETER, 'Block height out of range');
      return displayHash(e.hash);
    }
    case 'getblockheader': {
      const e = entryOf(sh, parseHash(args[0], 'hash'));
      const verbose = args[1] === undefined || args[1] === null ? true : args[1] === true || args[1] === 1;
      if (!verbose) {
        const w = new Writer(80);
        encodeHeader(w, e.header);
        return w.result().toString('hex');
      }
      return headerJson(sh, e, await txCount(sh, e));
    }
    case 'getblock':
      return getBlock(sh, args[0], args[1]);
    case 'getchaintips':
      return chainTips(sh);
    case 'getstoreinfo':
      return storeInfo(sh, args[0], args[1]);
  }
}

/** Runs one chain method; errors come back as Core's code and message. */
export async function chainRpc(sh: ChainView, method: ChainRpcMethod, args: readonly (Json | undefined)[], nowMs: number): Promise<ChainRpcReply> {
  try {
    return { ok: true, result: await run(sh, method, args, nowMs) };
  } catch (err) {
    if (err instanceof ChainRpcError) return { ok: false, code: err.code, message: err.message };
    return { ok: false, code: RPC.MISC_ERROR, message: err instanceof Error ? err.message : String(err) };
  }
}
