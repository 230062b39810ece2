/**
 * The block actor's logic, without sockets, disks or clocks: `stepChain(state, event) → effects`.
 *
 * - Headers-first sync: one peer at a time at first (an outbound one when there is one), with
 *   Core's block locators and 2,000 headers per reply, continued until the peer has no more;
 *   then every other peer is asked once, and announcements (`headers`, `inv`) keep us current.
 *   Low-work header chains go through presync ({@link HeadersSyncState}) and are stored only
 *   once they prove `minimumChainWork`.
 * - Block download: a moving window of 1,024 blocks past each peer's last common block, at most
 *   16 in flight per peer, requested from every peer that has them; a peer holding up the window
 *   for the stall timeout (2 s, doubling to 64 s, decaying as blocks connect) is disconnected and
 *   its blocks go to others (Core's FindNextBlocksToDownload and stall rule).
 * - Blocks arriving are checked (hash = the requested header, merkle root with the CVE-2012-2459
 *   check, witness commitment, weight, Core's context-free rules) by the shell and fed back as
 *   `block-checked`; good ones are stored, bad ones discourage their sender and are fetched
 *   elsewhere (mutated data) or mark the header invalid (consensus failures).
 * - The active chain follows the most-work header whose blocks are all stored.
 * - Serving: `getheaders`, `getblocks` (with Core's hashContinue), `getdata` for blocks and
 *   witness blocks; new tips are announced with `headers` to peers that sent `sendheaders`,
 *   with `inv` to the others.
 */
import { match, P } from 'ts-pattern';
import type { Message, InvItem } from '../wire/messages.js';
import type { Block, BlockHeader, BlockCheck } from '../wire/block.js';
import { blockProof } from '../wire/pow.js';
import { NODE_NETWORK, NODE_NETWORK_LIMITED, MSG_BLOCK, MSG_WITNESS_FLAG, MSG_CMPCT_BLOCK, PROTOCOL_VERSION } from '../wire/constants.js';
import type { NetworkParams } from '../wire/network.js';
import type { ConnType } from '../contracts/connection.js';
import { HeaderTree, ActiveChain, type HeaderEntry } from './headers.js';
import { HeadersSyncState } from './presync.js';
import { HISTORICAL_BLOCK_AGE_S } from '../throttle/upload-target.js';

/** Core's MAX_HEADERS_RESULTS. */
export const MAX_HEADERS = 2000;
/** Core's MAX_BLOCKS_TO_ANNOUNCE: more new blocks than this are announced with an inv of the tip. */
export const MAX_BLOCKS_TO_ANNOUNCE = 8;
/** Core's MAX_NUM_UNCONNECTING_HEADERS_MSGS. */
export const MAX_UNCONNECTING_HEADERS = 10;
/** Core's NODE_NETWORK_LIMITED_MIN_BLOCKS: what a pruned (limited) node serves past its tip. */
export const LIMITED_MIN_BLOCKS = 288;
/** getblocks answers at most this many hashes (Core). */
export const MAX_GETBLOCKS = 500;
/** Blocks an unrequested block may be ahead of the tip and still be processed (Core's MIN_BLOCKS_TO_KEEP). */
export const UNREQUESTED_AHEAD = 288;
/** Received blocks not yet stored (being checked or written) above which a block's arrival asks for no more. */
export const MAX_UNSTORED_BLOCKS = 64;

export interface ChainConfig {
  /** Blocks past a peer's last common block that may be requested (Core's BLOCK_DOWNLOAD_WINDOW). */
  readonly windowSize: number;
  /** Core's MAX_BLOCKS_IN_TRANSIT_PER_PEER. */
  readonly maxInFlightPerPeer: number;
  /** Core's BLOCK_STALLING_TIMEOUT_DEFAULT and _MAX, ms. */
  readonly stallMinMs: number;
  readonly stallMaxMs: number;
  /** A headers request unanswered this long → the sync peer is dropped (Core: 15 min + per header). */
  readonly headersTimeoutMs: number;
  /** A block in flight this long → its peer is dropped (Core: 10 min, more with more peers). */
  readonly blockTimeoutMs: number;
  /** Progress reports while syncing, ms. */
  readonly progressMs: number;
  /** Work a header chain must prove before it is stored (network default unless overridden). */
  readonly minimumChainWork: bigint;
  /** We keep only recent blocks (--prune): serve at most LIMITED_MIN_BLOCKS deep. */
  readonly pruned: boolean;
}

export const DEFAULT_CHAIN_CONFIG: Omit<ChainConfig, 'minimumChainWork' | 'pruned'> = {
  windowSize: 1024,
  maxInFlightPerPeer: 16,
  stallMinMs: 2000,
  stallMaxMs: 64_000,
  headersTimeoutMs: 15 * 60_000,
  blockTimeoutMs: 10 * 60_000,
  progressMs: 5000,
};

export interface Flight {
  readonly peer: number;
  readonly at: number;
}

export interface PeerSync {
  readonly id: number;
  readonly inbound: boolean;
  readonly connType: ConnType;
  readonly services: bigint;
  readonly startHeight: number;
  /** noban/download permission: exempt from the upload target. */
  readonly noban: boolean;
  /** The peer sent `sendheaders`: announce new blocks to it with `headers`. */
  preferHeaders: boolean;
  /** The most-work header we know the peer has (Core's pindexBestKnownBlock). */
  bestKnown: HeaderEntry | null;
  /** A block the peer announced that we could not place yet (Core's hashLastUnknownBlock). */
  lastUnknown: Buffer | null;
  /** Last block we have in common along its best chain (Core's pindexLastCommonBlock). */
  lastCommon: HeaderEntry | null;
  /** We asked it for headers at this time and await the reply (0 = none outstanding). */
  headersAskedAt: number;
  /** It answered with fewer than 2,000 headers: it has no more for now. */
  headersDone: boolean;
  /** We started headers sync with it (Core's fSyncStarted). */
  syncStarted: boolean;
  unconnecting: number;
  /**
   * The last hash of a full headers batch we asked past before checking it (see onHeaders):
   * if the batch then fails without punishment, the reply that follows it is dropped quietly.
   */
  askedPast: Buffer | null;
  presync: HeadersSyncState | null;
  readonly inFlight: Set<HeaderEntry>;
  /** When it started holding up the download window (0 = not stalling). */
  stallingSince: number;
  /** The best block we announced to it, or it announced to us. */
  lastAnnounced: HeaderEntry | null;
  /** getblocks: the hash at which we send an inv of our tip when asked for it (Core's hashContinue). */
  continueHash: Buffer | null;
  blocksReceived: number;
  blocksServed: number;
}

export interface ChainStats {
  blocksReceived: number;
  bytesReceived: number;
  blocksServed: number;
  bytesStored: number;
  badBlocks: number;
  badHeaders: number;
  unrequested: number;
  stalls: number;
  reorgs: number;
  uploadRefused: number;
}

export interface ChainState {
  readonly params: NetworkParams;
  readonly config: ChainConfig;
  readonly tree: HeaderTree;
  readonly chain: ActiveChain;
  readonly peers: Map<number, PeerSync>;
  /** Blocks requested, by header entry. */
  readonly inFlight: Map<HeaderEntry, Flight>;
  /** Checked and being written: counted as present by the scheduler, not served yet. */
  readonly storing: Set<HeaderEntry>;
  stallTimeoutMs: number;
  /** Peers we are doing initial headers sync with (Core's nSyncStarted). */
  syncStarted: number;
  /** A peer has answered with its whole chain: from now on every peer is asked directly. */
  headersSynced: boolean;
  /** Sequence of data arrival (HeaderEntry.seq). */
  seq: number;
  readonly stats: ChainStats;
  lastProgress: { at: number; height: number; bytes: number };
  /** The upload target still allows serving historical blocks (as the last getdata event said). */
  serveHistorical: boolean;
}

export interface Progress {
  readonly height: number;
  readonly headers: number;
  /** Share of the best header's chain work that our tip has, 0..1. */
  readonly progress: number;
  readonly blocksPerSecond: number;
  readonly mbPerSecond: number;
  /** Seconds to reach the best header at the current rate; null when unknown. */
  readonly etaSeconds: number | null;
  readonly inFlight: number;
  readonly peers: number;
}

/** What the shell feeds in. */
export type ChainEvent =
  | {
      readonly type: 'peer-connected';
      readonly peer: number;
      readonly inbound: boolean;
      readonly connType: ConnType;
      readonly services: bigint;
      readonly startHeight: number;
      readonly preferHeaders: boolean;
      readonly noban?: boolean;
      readonly now: number;
    }
  | { readonly type: 'peer-disconnected'; readonly peer: number; readonly now: number }
  /** `serveHistorical` (with a getdata): whether the upload target still allows blocks over a week old. */
  | { readonly type: 'message'; readonly peer: number; readonly msg: Message; readonly now: number; readonly serveHistorical?: boolean }
  /** A full headers batch whose continuation was already requested (see the `defer` effect). */
  | { readonly type: 'headers-checked-later'; readonly peer: number; readonly headers: readonly BlockHeader[]; readonly now: number }
  /** The shell's verdict on a block the logic asked it to check. */
  | { readonly type: 'block-checked'; readonly peer: number; readonly entry: HeaderEntry; readonly result: BlockCheck; readonly raw: Buffer; readonly now: number }
  /** A block is durably stored. */
  | { readonly type: 'block-stored'; readonly entry: HeaderEntry; readonly bytes: number; readonly now: number }
  | { readonly type: 'tick'; readonly now: number };

export type ChainEffect =
  | { readonly kind: 'send'; readonly peer: number; readonly msg: Message }
  /** Read the block from the store and send it (witness or stripped); notfound if it is gone. */
  | { readonly kind: 'send-block'; readonly peer: number; readonly entry: HeaderEntry; readonly witness: boolean }
  | { readonly kind: 'disconnect'; readonly peer: number; readonly reason: string; readonly discourage: boolean }
  /** Check a block that arrived (the shell answers with `block-checked`). */
  | { readonly kind: 'check-block'; readonly peer: number; readonly entry: HeaderEntry; readonly block: Block }
  | { readonly kind: 'store-block'; readonly entry: HeaderEntry; readonly raw: Buffer }
  | { readonly kind: 'store-headers'; readonly entries: readonly HeaderEntry[] }
  /** A header (and its descendants) became invalid: persist it. */
  | { readonly kind: 'invalid'; readonly entry: HeaderEntry; readonly reason: string }
  | { readonly kind: 'tip'; readonly tip: HeaderEntry; readonly previous: HeaderEntry; readonly reorg: boolean }
  | { readonly kind: 'progress'; readonly progress: Progress }
  | { readonly kind: 'log'; readonly level: 'debug' | 'info' | 'warn'; readonly msg: string; readonly data?: Record<string, unknown> }
  /**
   * Send what is queued now, let the peers run, then feed `event` back (a later turn of this
   * actor, ahead of anything a peer can answer to what was just sent).
   */
  | { readonly kind: 'defer'; readonly event: ChainEvent };

export function initChain(params: NetworkParams, config: ChainConfig, tree: HeaderTree = new HeaderTree(params)): ChainState {
  const chain = new ActiveChain(tree.genesis);
  tree.genesis.haveData = true;
  return {
    params,
    config,
    tree,
    chain,
    peers: new Map(),
    inFlight: new Map(),
    storing: new Set(),
    stallTimeoutMs: config.stallMinMs,
    syncStarted: 0,
    headersSynced: false,
    seq: 0,
    stats: { blocksReceived: 0, bytesReceived: 0, blocksServed: 0, bytesStored: 0, badBlocks: 0, badHeaders: 0, unrequested: 0, stalls: 0, reorgs: 0, uploadRefused: 0 },
    lastProgress: { at: 0, height: 0, bytes: 0 },
    serveHistorical: true,
  };
}

/**
 * After the tree was rebuilt from the store: the active chain becomes the most-work chain of
 * stored blocks reachable from genesis. Returns the new tip.
 */
export function activateBestChain(s: ChainState): HeaderEntry {
  const out = new Out();
  advanceTip(s, out);
  return s.chain.tip();
}

const ZERO_HASH = Buffer.alloc(32);

class Out {
  readonly fx: ChainEffect[] = [];
  send(peer: number, msg: Message): void {
    this.fx.push({ kind: 'send', peer, msg });
  }
  push(e: ChainEffect): void {
    this.fx.push(e);
  }
  disconnect(s: ChainState, peer: number, reason: string, discourage: boolean): void {
    this.fx.push({ kind: 'disconnect', peer, reason, discourage });
    // Forget it now: its blocks go to others at once (the peer-disconnected that follows is then a no-op).
    dropPeer(s, peer);
  }
  log(level: 'debug' | 'info' | 'warn', msg: string, data?: Record<string, unknown>): void {
    this.fx.push(data === undefined ? { kind: 'log', level, msg } : { kind: 'log', level, msg, data });
  }
}

const hex = (h: Uint8Array): string => Buffer.from(h).reverse().toString('hex');

function canServe(p: PeerSync): boolean {
  return (p.services & (NODE_NETWORK | NODE_NETWORK_LIMITED)) !== 0n;
}

/** Core's fPreferredDownload: outbound peers we chose (not feelers or seed fetches). */
function preferred(p: PeerSync): boolean {
  return !p.inbound && p.connType !== 'feeler' && p.connType !== 'addr-fetch';
}

/**
 * A peer we download blocks from: our outbound peers, or inbound ones when we have no outbound
 * peer (Core's fPreferredDownload). `direct`: the peer just announced a block or two past our
 * tip: fetch from it whatever its direction (Core's direct fetch).
 */
function canFetchFrom(p: PeerSync, s: ChainState, direct = false): boolean {
  if (!canServe(p) || p.connType === 'feeler' || p.connType === 'addr-fetch') return false;
  if (preferred(p) || direct) return true;
  // Core: other peers are used when there is no preferred peer, or when nothing is in flight
  // (an outbound peer that has nothing must not keep us from an inbound one that has it all).
  if (s.inFlight.size === 0) return true;
  for (const q of s.peers.values()) if (preferred(q) && canServe(q)) return false;
  return true;
}

function getheaders(s: ChainState, p: PeerSync, from: HeaderEntry, now: number, out: Out): void {
  p.headersAskedAt = now;
  out.send(p.id, { command: 'getheaders', version: PROTOCOL_VERSION, locator: s.tree.locator(from), hashStop: ZERO_HASH });
}

function startSync(s: ChainState, p: PeerSync, now: number, out: Out): void {
  if (p.syncStarted || p.headersAskedAt !== 0 || p.headersDone || !canServe(p) || p.connType === 'feeler' || p.connType === 'addr-fetch') return;
  // Core starts one block back, so that the reply is never empty and tells us where the peer is.
  const best = s.tree.best();
  const from = best.parent ?? best;
  // Once one peer has given us its whole chain, every peer is asked where it is at once.
  if (s.headersSynced) return getheaders(s, p, from, now, out);
  // Before that, one peer at a time (Core's nSyncStarted), preferring outbound ones.
  if (s.syncStarted > 0 || !canFetchFrom(p, s)) return;
  p.syncStarted = true;
  s.syncStarted++;
  getheaders(s, p, from, now, out);
}

/** A peer has no more headers for us; after the first one, ask every other peer once (learns forks and better chains). */
function afterHeadersDone(s: ChainState, p: PeerSync, now: number, out: Out): void {
  if (p.syncStarted) {
    p.syncStarted = false;
    s.syncStarted = Math.max(0, s.syncStarted - 1);
  }
  if (s.headersSynced) return;
  s.headersSynced = true;
  out.log('info', 'headers synced', { peer: p.id, headers: s.tree.best().height });
  for (const q of s.peers.values()) if (q !== p) startSync(s, q, now, out);
}

function updateBestKnown(p: PeerSync, e: HeaderEntry): void {
  if (e.invalid) return;
  if (p.bestKnown === null || e.chainWork > p.bestKnown.chainWork) p.bestKnown = e;
}

/** Core's ProcessBlockAvailability: an announced hash we now know becomes the peer's best known. */
function resolveUnknown(s: ChainState, p: PeerSync): void {
  if (p.lastUnknown === null) return;
  const e = s.tree.get(p.lastUnknown);
  if (e && e.chainWork > 0n) {
    updateBestKnown(p, e);
    p.lastUnknown = null;
  }
}

function sumWork(headers: readonly BlockHeader[]): bigint {
  let w = 0n;
  for (const h of headers) w += blockProof(h.bits);
  return w;
}

function onHeaders(s: ChainState, p: PeerSync, headers: readonly BlockHeader[], now: number, out: Out): void {
  const wasAsked = p.headersAskedAt !== 0;
  p.headersAskedAt = 0;
  if (headers.length === 0) {
    // No more headers: a presync that was waiting for them is over (nothing of it is stored).
    p.presync = null;
    if (wasAsked) {
      p.headersDone = true;
      afterHeadersDone(s, p, now, out);
      fetchBlocks(s, now, out, p); // the sync peer's blocks wait for its last headers
    }
    return;
  }
  if (p.presync) return onPresyncHeaders(s, p, headers, now, out);
  const parent = s.tree.get(headers[0].prevBlock);
  if (p.askedPast !== null) {
    const past = p.askedPast;
    p.askedPast = null;
    // The answer to a request made past a batch that then failed (not punished): drop it.
    if (!parent && headers[0].prevBlock.equals(past)) return;
  }
  if (!parent) {
    // Core: ask for the headers in between (a locator from our best), punish only repeated failures.
    p.unconnecting++;
    if (p.unconnecting > MAX_UNCONNECTING_HEADERS) return out.disconnect(s, p.id, `${p.unconnecting} non-connecting headers messages`, true);
    p.lastUnknown = Buffer.from(headers[headers.length - 1].hash);
    getheaders(s, p, s.tree.best(), now, out);
    return;
  }
  p.unconnecting = 0;
  const full = headers.length === MAX_HEADERS;
  const minWork = s.config.minimumChainWork;
  if (minWork > 0n && s.tree.best().chainWork < minWork && parent.chainWork + sumWork(headers) < minWork && s.tree.get(headers[headers.length - 1].hash) === undefined) {
    if (!full) {
      // A short chain below the minimum work: not worth storing (Core: "ignoring low-work chain").
      out.log('debug', 'ignoring low-work headers', { peer: p.id, count: headers.length, from: parent.height });
      p.headersDone = true;
      afterHeadersDone(s, p, now, out);
      return;
    }
    p.presync = new HeadersSyncState(s.tree, parent, minWork, { nowSeconds: () => Math.floor(now / 1000) });
    out.log('info', 'headers presync started', { peer: p.id, from: parent.height });
    return onPresyncHeaders(s, p, headers, now, out);
  }
  if (full && !parent.invalid) {
    // Ask for the next batch before checking this one, so that the peer prepares and sends it
    // while we check (a header sync is a chain of round trips). The locator starts at the
    // batch's last hash, which the peer knows; the check follows in the next turn, before
    // anything the peer can answer. A batch that fails gets its sender disconnected, or, when
    // the failure is not punished, the answer dropped (askedPast). Messages of this peer already
    // queued behind this one run before the check: an announcement among them that builds on
    // this batch is taken for that answer and dropped (the sync's next answer brings it anyway).
    // While the batch is unchecked none of its blocks is requested: fetchBlocks sees only the tree.
    const last = Buffer.from(headers[headers.length - 1].hash);
    p.headersAskedAt = now;
    p.askedPast = last;
    out.send(p.id, { command: 'getheaders', version: PROTOCOL_VERSION, locator: [last, ...s.tree.locator(parent)], hashStop: ZERO_HASH });
    out.push({ kind: 'defer', event: { type: 'headers-checked-later', peer: p.id, headers, now } });
    return;
  }
  addHeaders(s, p, headers, full, now, out);
}

/** The check of a full batch whose successor was already asked for (see onHeaders). */
function onHeadersLater(s: ChainState, p: PeerSync, headers: readonly BlockHeader[], now: number, out: Out): void {
  addHeaders(s, p, headers, true, now, out, true);
}

function addHeaders(s: ChainState, p: PeerSync, headers: readonly BlockHeader[], full: boolean, now: number, out: Out, asked = false): void {
  const r = s.tree.addHeaders(headers, Math.floor(now / 1000));
  if (r.added.length > 0) out.push({ kind: 'store-headers', entries: r.added });
  if (r.last) updateBestKnown(p, r.last);
  resolveUnknown(s, p);
  if (r.error) {
    s.stats.badHeaders++;
    out.log('info', 'invalid header', { peer: p.id, reason: r.error.reason, index: r.error.index, message: r.error.message });
    if (r.error.punish) return out.disconnect(s, p.id, `invalid header: ${r.error.reason}`, true);
  }
  if (full && !r.error && r.last) {
    if (asked) p.askedPast = null;
    else getheaders(s, p, r.last, now, out);
  } else {
    // (asked: the answer to what was asked past this batch is dropped, as askedPast says.)
    p.headersDone = true;
    afterHeadersDone(s, p, now, out);
  }
  // An announcement of a few new blocks: fetch them from the announcer directly (Core's direct fetch).
  const tip = s.chain.tip();
  const direct = r.last !== undefined && r.last.chainWork > tip.chainWork && r.last.height - tip.height <= s.config.maxInFlightPerPeer;
  fetchBlocks(s, now, out, p, direct);
}

function onPresyncHeaders(s: ChainState, p: PeerSync, headers: readonly BlockHeader[], now: number, out: Out): void {
  const sync = p.presync as HeadersSyncState;
  const r = sync.process(headers, headers.length === MAX_HEADERS);
  if (!r.success) {
    p.presync = null;
    return out.disconnect(s, p.id, `headers presync failed: ${r.reason ?? 'invalid headers'}`, true);
  }
  if (r.toStore.length > 0) {
    const added = s.tree.addHeaders(r.toStore, Math.floor(now / 1000));
    if (added.added.length > 0) out.push({ kind: 'store-headers', entries: added.added });
    if (added.last) updateBestKnown(p, added.last);
    if (added.error) {
      p.presync = null;
      return out.disconnect(s, p.id, `invalid header: ${added.error.reason}`, added.error.punish);
    }
  }
  if (r.requestMore) {
    p.headersAskedAt = now;
    out.send(p.id, { command: 'getheaders', version: PROTOCOL_VERSION, locator: r.locator, hashStop: ZERO_HASH });
  } else {
    p.presync = null;
    p.headersDone = true;
    afterHeadersDone(s, p, now, out);
  }
  fetchBlocks(s, now, out, p);
}

// ---------------------------------------------------------------------------------------------
// Block download (Core's FindNextBlocksToDownload, simplified to one pass per peer)

const have = (s: ChainState, e: HeaderEntry): boolean => e.haveData || s.storing.has(e);

/** The blocks this peer should be asked for now, and the peer holding up its window, if any. */
function nextBlocks(s: ChainState, p: PeerSync, count: number): { blocks: HeaderEntry[]; staller: number | null } {
  const blocks: HeaderEntry[] = [];
  const best = p.bestKnown;
  const tip = s.chain.tip();
  // Core: a peer whose best chain is below the minimum chain work has nothing worth fetching.
  if (best === null || best.invalid || best.chainWork < tip.chainWork || best.chainWork < s.config.minimumChainWork || count <= 0) return { blocks, staller: null };
  // Where the peer's chain and ours meet, moved forward over blocks we have.
  if (p.lastCommon === null || p.lastCommon.invalid) p.lastCommon = s.chain.at(Math.min(best.height, tip.height)) ?? s.tree.genesis;
  p.lastCommon = s.tree.fork(p.lastCommon, best);
  if (p.lastCommon === best) return { blocks, staller: null };
  const windowEnd = p.lastCommon.height + s.config.windowSize;
  const maxHeight = Math.min(best.height, windowEnd + 1);
  let waitingFor: number | null = null;
  let walk = p.lastCommon;
  let contiguous = true;
  while (walk.height < maxHeight) {
    // Entries in the next stretch of the peer's chain, in height order.
    const upTo = Math.min(walk.height + 128, maxHeight);
    const stretch: HeaderEntry[] = new Array<HeaderEntry>(upTo - walk.height);
    let e: HeaderEntry | null = s.tree.ancestor(best, upTo);
    for (let i = stretch.length - 1; i >= 0 && e; i--, e = e.parent) stretch[i] = e;
    for (const c of stretch) {
      walk = c;
      if (c.invalid) return { blocks, staller: null };
      if (have(s, c) || s.chain.contains(c)) {
        if (contiguous) p.lastCommon = c;
        continue;
      }
      contiguous = false;
      const flight = s.inFlight.get(c);
      if (flight) {
        if (waitingFor === null) waitingFor = flight.peer;
        continue;
      }
      if (c.height > windowEnd) {
        // The window is full and its first missing block is held by someone else.
        return { blocks, staller: blocks.length === 0 && waitingFor !== p.id ? waitingFor : null };
      }
      blocks.push(c);
      if (blocks.length === count) return { blocks, staller: null };
    }
  }
  return { blocks, staller: null };
}

function request(s: ChainState, p: PeerSync, blocks: readonly HeaderEntry[], now: number, out: Out): void {
  if (blocks.length === 0) return;
  for (const b of blocks) {
    s.inFlight.set(b, { peer: p.id, at: now });
    p.inFlight.add(b);
  }
  out.send(p.id, { command: 'getdata', items: blocks.map((b) => ({ type: MSG_BLOCK | MSG_WITNESS_FLAG, hash: b.hash })) });
}

/** Fills the in-flight slots of one peer (or of every peer), noting stallers. */
function fetchBlocks(s: ChainState, now: number, out: Out, only?: PeerSync, direct = false): void {
  const peers = only ? [only] : [...s.peers.values()];
  for (const p of peers) {
    if (!s.peers.has(p.id) || !canFetchFrom(p, s, direct)) continue;
    // Our first headers-sync peer gives us headers before blocks: a getheaders waits at the peer
    // behind every block asked before it (a node answers in order), and headers sync is a chain
    // of round trips; the other peers download meanwhile. (Its blocks follow its last headers.)
    if (p.syncStarted && !p.headersDone && !direct) continue;
    // While a presync is running for this peer its chain is not stored yet: nothing to fetch.
    const free = s.config.maxInFlightPerPeer - p.inFlight.size;
    if (free <= 0) continue;
    const { blocks, staller } = nextBlocks(s, p, free);
    request(s, p, blocks, now, out);
    if (staller !== null) {
      const st = s.peers.get(staller);
      if (st && st.stallingSince === 0) {
        st.stallingSince = now;
        out.log('debug', 'peer is stalling the download window', { staller, waiting: p.id });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Blocks arriving

function onBlock(s: ChainState, p: PeerSync, block: Block, now: number, out: Out): void {
  s.stats.blocksReceived++;
  s.stats.bytesReceived += block.size;
  p.blocksReceived++;
  const hash = block.header.hash;
  let entry = s.tree.get(hash);
  const flight = entry ? s.inFlight.get(entry) : undefined;
  const requested = flight !== undefined && flight.peer === p.id;
  if (!requested) {
    // Core processes an unrequested block only if it has at least our tip's work and is not too far ahead.
    if (entry === undefined) {
      const r = s.tree.addHeaders([block.header], Math.floor(now / 1000));
      if (r.added.length > 0) out.push({ kind: 'store-headers', entries: r.added });
      if (r.error) {
        s.stats.badHeaders++;
        if (r.error.punish) return out.disconnect(s, p.id, `invalid block header: ${r.error.reason}`, true);
        s.stats.unrequested++;
        return out.log('debug', 'unrequested block does not connect', { peer: p.id, hash: hex(hash) });
      }
      entry = r.last;
    }
    const tip = s.chain.tip();
    if (
      entry === undefined ||
      entry.invalid ||
      have(s, entry) ||
      entry.chainWork <= tip.chainWork ||
      entry.height > tip.height + UNREQUESTED_AHEAD ||
      tip.chainWork < s.config.minimumChainWork
    ) {
      s.stats.unrequested++;
      return out.log('debug', 'unrequested block ignored', { peer: p.id, hash: hex(hash) });
    }
    updateBestKnown(p, entry);
  }
  if (entry === undefined) return;
  // Whoever had it in flight, it is here now (Core erases the request on any arrival).
  releaseFlight(s, entry);
  p.stallingSince = 0;
  if (have(s, entry)) return;
  if (entry.invalid) return out.disconnect(s, p.id, `block ${hex(hash)} is invalid`, true);
  s.storing.add(entry); // reserved while checked, so that no one fetches it again meanwhile
  out.push({ kind: 'check-block', peer: p.id, entry, block });
  // Its slot is free: ask this peer for the next block now, as Core does, rather than once this
  // one is written. While too many received blocks wait to be checked and written (the disk is
  // slower than the network), more are asked for only as they get stored.
  if (s.storing.size < MAX_UNSTORED_BLOCKS) fetchBlocks(s, now, out, p);
}

/** Rules whose failure says the data is corrupt, not that the header is bad (Core's BLOCK_MUTATED). */
const MUTATED_RULES = new Set(['bad-merkle-root', 'mutated', 'bad-witness-commitment', 'bad-witness-nonce-size', 'no-witness-commitment-but-witness']);

function onChecked(s: ChainState, peer: number, entry: HeaderEntry, result: BlockCheck, raw: Buffer, now: number, out: Out): void {
  if (result.ok) {
    out.push({ kind: 'store-block', entry, raw });
    return;
  }
  s.storing.delete(entry);
  s.stats.badBlocks++;
  out.log('info', 'bad block', { peer, hash: hex(entry.hash), height: entry.height, reason: result.reason, message: result.message });
  if (!MUTATED_RULES.has(result.rule)) {
    s.tree.invalidate(entry);
    out.push({ kind: 'invalid', entry, reason: result.reason });
    forgetInvalid(s);
  }
  if (s.peers.has(peer)) out.disconnect(s, peer, `bad block ${hex(entry.hash)}: ${result.reason}`, true);
  fetchBlocks(s, now, out);
}

/** Drops requests and peer bests that point into an invalidated branch. */
function forgetInvalid(s: ChainState): void {
  for (const [e, f] of [...s.inFlight]) {
    if (!e.invalid) continue;
    s.inFlight.delete(e);
    s.peers.get(f.peer)?.inFlight.delete(e);
  }
  for (const p of s.peers.values()) {
    if (p.bestKnown?.invalid) {
      let e: HeaderEntry | null = p.bestKnown;
      while (e && e.invalid) e = e.parent;
      p.bestKnown = e;
    }
    if (p.lastCommon?.invalid) p.lastCommon = null;
  }
}

function onStored(s: ChainState, entry: HeaderEntry, bytes: number, now: number, out: Out): void {
  s.storing.delete(entry);
  if (entry.haveData) return;
  entry.haveData = true;
  entry.seq = ++s.seq;
  s.stats.bytesStored += bytes;
  advanceTip(s, out);
  fetchBlocks(s, now, out);
}

function releaseFlight(s: ChainState, entry: HeaderEntry): void {
  const f = s.inFlight.get(entry);
  if (!f) return;
  s.inFlight.delete(entry);
  s.peers.get(f.peer)?.inFlight.delete(entry);
}

/**
 * Moves the active chain to the most-work chain whose blocks are all stored: along the best
 * header's chain from where it leaves ours, as far as data goes.
 */
function advanceTip(s: ChainState, out: Out): void {
  const previous = s.chain.tip();
  const best = s.tree.best();
  if (best === previous) return;
  const fork = s.tree.fork(previous, best);
  let candidate = fork;
  // Walk up the best chain while blocks are present (ancestor() is O(log n); the walk is short in steady state).
  while (candidate.height < best.height) {
    const next = s.tree.ancestor(best, candidate.height + 1);
    if (!next.haveData || next.invalid) break;
    candidate = next;
  }
  if (candidate === previous || candidate.chainWork <= previous.chainWork) return;
  const reorg = fork !== previous;
  s.chain.setTip(candidate);
  if (reorg) {
    s.stats.reorgs++;
    out.log('info', 'reorganisation', { from: previous.height, to: candidate.height, fork: fork.height, depth: previous.height - fork.height });
  }
  // A connected block shortens the stall timeout again (Core decays it by 15 %).
  s.stallTimeoutMs = Math.max(s.config.stallMinMs, Math.floor(s.stallTimeoutMs * 0.85));
  out.push({ kind: 'tip', tip: candidate, previous, reorg });
  if (candidate === best) announce(s, fork, out);
}

/** New tip at the end of the best chain: tell peers (headers to those that asked, inv to the rest). */
function announce(s: ChainState, fork: HeaderEntry, out: Out): void {
  const tip = s.chain.tip();
  for (const p of s.peers.values()) {
    if (p.bestKnown && s.tree.fork(p.bestKnown, tip) === tip) continue; // it has it already
    const from = p.lastAnnounced && s.chain.contains(p.lastAnnounced) ? p.lastAnnounced : p.bestKnown && s.chain.contains(p.bestKnown) ? p.bestKnown : fork;
    const n = tip.height - from.height;
    if (p.preferHeaders && n > 0 && n <= MAX_BLOCKS_TO_ANNOUNCE) {
      const headers: BlockHeader[] = [];
      for (let e: HeaderEntry | null = tip; e && e !== from; e = e.parent) headers.push(e.header);
      out.send(p.id, { command: 'headers', headers: headers.reverse() });
    } else {
      out.send(p.id, { command: 'inv', items: [{ type: MSG_BLOCK, hash: tip.hash }] });
    }
    p.lastAnnounced = tip;
  }
}

// ---------------------------------------------------------------------------------------------
// Serving

function onGetHeaders(s: ChainState, p: PeerSync, locator: readonly Buffer[], hashStop: Buffer, out: Out): void {
  const headers: BlockHeader[] = [];
  let e: HeaderEntry | undefined;
  if (locator.length === 0) {
    // Core: an empty locator asks for the one header hashStop, if we know it.
    const h = s.tree.get(hashStop);
    if (!h || !have(s, h)) return;
    headers.push(h.header);
  } else {
    e = s.chain.next(s.chain.findLocator(s.tree, locator));
    for (; e && headers.length < MAX_HEADERS; e = s.chain.next(e)) {
      headers.push(e.header);
      if (e.hash.equals(hashStop)) break;
    }
  }
  // What we send is what the peer now knows (Core: pindexBestHeaderSent).
  const last = headers.length > 0 ? s.tree.get(headers[headers.length - 1].hash) : undefined;
  if (last) {
    updateBestKnown(p, last);
    p.lastAnnounced = last;
  }
  out.send(p.id, { command: 'headers', headers });
}

function onGetBlocks(s: ChainState, p: PeerSync, locator: readonly Buffer[], hashStop: Buffer, out: Out): void {
  const items: InvItem[] = [];
  let e = s.chain.next(s.chain.findLocator(s.tree, locator));
  for (; e; e = s.chain.next(e)) {
    if (e.hash.equals(hashStop)) break;
    items.push({ type: MSG_BLOCK, hash: e.hash });
    if (items.length === MAX_GETBLOCKS) {
      // Core: when the peer asks for this one, send it an inv of our tip so it asks for more.
      p.continueHash = e.hash;
      break;
    }
  }
  if (items.length > 0) out.send(p.id, { command: 'inv', items });
}

function onGetData(s: ChainState, p: PeerSync, items: readonly InvItem[], out: Out): void {
  const missing: InvItem[] = [];
  const tip = s.chain.tip();
  for (const item of items) {
    const type = item.type & ~MSG_WITNESS_FLAG;
    if (type !== MSG_BLOCK && type !== MSG_CMPCT_BLOCK) {
      missing.push(item);
      continue;
    }
    const e = s.tree.get(item.hash);
    if (!e || !e.haveData || e.invalid) {
      missing.push(item);
      continue;
    }
    if (s.config.pruned && s.chain.contains(e) && tip.height - e.height >= LIMITED_MIN_BLOCKS) {
      // Core: a limited node disconnects a peer asking below its serving depth.
      return out.disconnect(s, p.id, `getdata for block ${e.height} below the pruned node's limit`, false);
    }
    // --maxuploadtarget: near the day's budget, blocks more than a week older than our best header
    // are not served to peers without the download permission; Core disconnects them.
    if (!s.serveHistorical && !p.noban && s.tree.best().time - e.time > HISTORICAL_BLOCK_AGE_S) {
      s.stats.uploadRefused++;
      return out.disconnect(s, p.id, 'historical block serving limit reached (maxuploadtarget)', false);
    }
    p.blocksServed++;
    s.stats.blocksServed++;
    // A compact block request for a block we have is answered with the full block (Core, for old blocks).
    out.push({ kind: 'send-block', peer: p.id, entry: e, witness: (item.type & MSG_WITNESS_FLAG) !== 0 || type === MSG_CMPCT_BLOCK });
    if (p.continueHash && p.continueHash.equals(item.hash)) {
      p.continueHash = null;
      out.send(p.id, { command: 'inv', items: [{ type: MSG_BLOCK, hash: tip.hash }] });
    }
  }
  if (missing.length > 0) out.send(p.id, { command: 'notfound', items: missing });
}

function onInv(s: ChainState, p: PeerSync, items: readonly InvItem[], now: number, out: Out): void {
  let unknown: Buffer | null = null;
  for (const item of items) {
    if ((item.type & ~MSG_WITNESS_FLAG) !== MSG_BLOCK) continue;
    const e = s.tree.get(item.hash);
    if (e) updateBestKnown(p, e);
    else unknown = Buffer.from(item.hash);
  }
  if (unknown) {
    p.lastUnknown = unknown;
    // Core: ask for headers from our best header up to the announced block.
    if (p.headersAskedAt === 0 || now - p.headersAskedAt > 2 * 60_000) getheaders(s, p, s.tree.best(), now, out);
  }
  fetchBlocks(s, now, out, p);
}

function onNotFound(s: ChainState, p: PeerSync, items: readonly InvItem[], now: number, out: Out): void {
  for (const item of items) {
    if ((item.type & ~MSG_WITNESS_FLAG) !== MSG_BLOCK) continue;
    const e = s.tree.get(item.hash);
    if (e && s.inFlight.get(e)?.peer === p.id) releaseFlight(s, e);
  }
  fetchBlocks(s, now, out);
}

// ---------------------------------------------------------------------------------------------
// Peers, timers

function dropPeer(s: ChainState, id: number): void {
  const p = s.peers.get(id);
  if (!p) return;
  s.peers.delete(id);
  for (const e of p.inFlight) s.inFlight.delete(e);
  p.inFlight.clear();
  if (p.syncStarted) s.syncStarted = Math.max(0, s.syncStarted - 1);
}

function onPeerConnected(s: ChainState, e: Extract<ChainEvent, { type: 'peer-connected' }>, out: Out): void {
  if (s.peers.has(e.peer)) return;
  const p: PeerSync = {
    id: e.peer,
    inbound: e.inbound,
    connType: e.connType,
    services: e.services,
    startHeight: e.startHeight,
    noban: e.noban ?? false,
    preferHeaders: e.preferHeaders,
    bestKnown: null,
    lastUnknown: null,
    lastCommon: null,
    headersAskedAt: 0,
    headersDone: false,
    syncStarted: false,
    unconnecting: 0,
    askedPast: null,
    presync: null,
    inFlight: new Set(),
    stallingSince: 0,
    lastAnnounced: null,
    continueHash: null,
    blocksReceived: 0,
    blocksServed: 0,
  };
  s.peers.set(e.peer, p);
  // Ask to be told of new blocks with headers rather than inv (BIP130), as Core does.
  if (p.connType !== 'feeler' && p.connType !== 'addr-fetch') out.send(p.id, { command: 'sendheaders' });
  startSync(s, p, e.now, out);
}

function onTick(s: ChainState, now: number, out: Out): void {
  // Stalling: the peer that holds up a window for longer than the timeout goes; the timeout doubles.
  for (const p of [...s.peers.values()]) {
    if (p.stallingSince !== 0 && now - p.stallingSince > s.stallTimeoutMs) {
      s.stats.stalls++;
      out.log('info', 'peer is stalling block download, disconnecting', { peer: p.id, timeoutMs: s.stallTimeoutMs });
      s.stallTimeoutMs = Math.min(s.config.stallMaxMs, s.stallTimeoutMs * 2);
      out.disconnect(s, p.id, `stalling block download (${(now - p.stallingSince) / 1000}s)`, false);
      continue;
    }
    if (p.headersAskedAt !== 0 && p.syncStarted && now - p.headersAskedAt > s.config.headersTimeoutMs) {
      out.disconnect(s, p.id, 'headers sync timeout', false);
      continue;
    }
    for (const b of p.inFlight) {
      const f = s.inFlight.get(b);
      if (f && now - f.at > s.config.blockTimeoutMs) {
        out.disconnect(s, p.id, `block download timeout: ${hex(b.hash)}`, false);
        break;
      }
    }
  }
  // A sync peer gone: start with another.
  if (s.syncStarted === 0 && !s.headersSynced) for (const p of s.peers.values()) startSync(s, p, now, out);
  fetchBlocks(s, now, out);
  if (now - s.lastProgress.at >= s.config.progressMs) progress(s, now, out);
}

function progress(s: ChainState, now: number, out: Out): void {
  const tip = s.chain.tip();
  const best = s.tree.best();
  const last = s.lastProgress;
  const dt = last.at === 0 ? 0 : (now - last.at) / 1000;
  const syncing = tip !== best || s.inFlight.size > 0;
  const blocks = tip.height - last.height;
  const bytes = s.stats.bytesStored - last.bytes;
  s.lastProgress = { at: now, height: tip.height, bytes: s.stats.bytesStored };
  if (!syncing && blocks === 0) return;
  const bps = dt > 0 ? blocks / dt : 0;
  const remaining = best.height - tip.height;
  out.push({
    kind: 'progress',
    progress: {
      height: tip.height,
      headers: best.height,
      progress: best.chainWork === 0n ? 1 : Number((tip.chainWork * 1_000_000n) / best.chainWork) / 1_000_000,
      blocksPerSecond: bps,
      mbPerSecond: dt > 0 ? bytes / dt / 1e6 : 0,
      etaSeconds: bps > 0 ? remaining / bps : remaining === 0 ? 0 : null,
      inFlight: s.inFlight.size,
      peers: s.peers.size,
    },
  });
}

function onMessage(s: ChainState, p: PeerSync, msg: Message, now: number, out: Out): void {
  match(msg)
    .with({ command: 'block' }, (m) => onBlock(s, p, m.block, now, out))
    .with({ command: 'headers' }, (m) => onHeaders(s, p, m.headers, now, out))
    .with({ command: 'inv' }, (m) => onInv(s, p, m.items, now, out))
    .with({ command: 'getheaders' }, (m) => onGetHeaders(s, p, m.locator, m.hashStop, out))
    .with({ command: 'getblocks' }, (m) => onGetBlocks(s, p, m.locator, m.hashStop, out))
    .with({ command: 'getdata' }, (m) => onGetData(s, p, m.items, out))
    .with({ command: 'notfound' }, (m) => onNotFound(s, p, m.items, now, out))
    .with({ command: 'sendheaders' }, () => {
      p.preferHeaders = true;
    })
    .with(
      {
        command: P.union(
          'version',
          'verack',
          'ping',
          'pong',
          'getaddr',
          'addr',
          'addrv2',
          'sendaddrv2',
          'tx',
          'sendcmpct',
          'feefilter',
          'wtxidrelay',
          'mempool',
          'reject',
          'unknown-command',
        ),
      },
      () => undefined,
    )
    .exhaustive();
}

/** Feeds one event to the block logic; returns the effects to perform, in order. */
export function stepChain(s: ChainState, e: ChainEvent): ChainEffect[] {
  const out = new Out();
  match(e)
    // The events of every block first (patterns are tried in order).
    .with({ type: 'message' }, ({ peer, msg, now, serveHistorical }) => {
      if (serveHistorical !== undefined) s.serveHistorical = serveHistorical;
      const p = s.peers.get(peer);
      if (p) onMessage(s, p, msg, now, out);
    })
    .with({ type: 'block-checked' }, ({ peer, entry, result, raw, now }) => onChecked(s, peer, entry, result, raw, now, out))
    .with({ type: 'block-stored' }, ({ entry, bytes, now }) => onStored(s, entry, bytes, now, out))
    .with({ type: 'peer-connected' }, (ev) => onPeerConnected(s, ev, out))
    .with({ type: 'peer-disconnected' }, ({ peer, now }) => {
      const had = s.peers.has(peer);
      dropPeer(s, peer);
      if (had) {
        if (s.syncStarted === 0 && !s.headersSynced) for (const p of s.peers.values()) startSync(s, p, now, out);
        fetchBlocks(s, now, out);
      }
    })
    .with({ type: 'headers-checked-later' }, ({ peer, headers, now }) => {
      // A peer gone meanwhile: its headers go with it (another peer gives them again).
      const p = s.peers.get(peer);
      if (p) onHeadersLater(s, p, headers, now, out);
    })
    .with({ type: 'tick' }, ({ now }) => onTick(s, now, out))
    .exhaustive();
  return out.fx;
}

/** The introspection record: heights, peers, downloads. */
export function chainSummary(s: ChainState): Record<string, unknown> {
  const tip = s.chain.tip();
  return {
    height: tip.height,
    tip: hex(tip.hash),
    headers: s.tree.best().height,
    headerCount: s.tree.size,
    peers: s.peers.size,
    inFlight: s.inFlight.size,
    storing: s.storing.size,
    stallTimeoutMs: s.stallTimeoutMs,
    syncing: [...s.peers.values()].filter((p) => p.syncStarted).map((p) => p.id),
    // Headers presyncs under way: what each holds is what memory is proportional to (never the chain).
    presync: [...s.peers.values()].filter((p) => p.presync !== null).map((p) => ({ peer: p.id, ...presyncSummary(p.presync as HeadersSyncState) })),
    ...s.stats,
  };
}

function presyncSummary(h: HeadersSyncState): { phase: string; height: number; retained: number } {
  const p = h.progress();
  return { phase: p.phase, height: p.height, retained: h.retained() };
}

export { hex as displayHash };
