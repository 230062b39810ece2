/**
 * The block download scheduler (Core's FindNextBlocksToDownload, simplified to one pass per
 * peer): a moving window of 1,024 blocks past each peer's last common block, at most 16 in
 * flight per peer, requested from every peer that has them; a peer holding up the window is
 * marked stalling, and onTick (logic.ts) disconnects it after the stall timeout (2 s, doubling to
 * 64 s, decaying as blocks connect) so that its blocks go to others (Core's stall rule).
 * - Blocks arriving are checked (hash = the requested header, merkle root with the CVE-2012-2459
 *   check, witness commitment, weight, Core's context-free rules) by the shell and fed back as
 *   `block-checked`; good ones are stored, bad ones discourage their sender and are fetched
 *   elsewhere (mutated data) or mark the header invalid (consensus failures).
 * - The active chain follows the most-work header whose blocks are all stored (advanceTip); a
 *   new tip at the end of the best chain is announced (serving.ts).
 */
import type { InvItem } from '../wire/messages.js';
import type { Block, BlockCheck } from '../wire/block.js';
import { MSG_BLOCK, MSG_WITNESS_FLAG } from '../wire/constants.js';
import type { HeaderEntry } from './headers.js';
import { antiDosThreshold, have, headerOffence, hex, type ChainState, type Out, type PeerSync } from './state.js';
import { canFetchFrom, updateBestKnown } from './peers.js';
import { announce } from './serving.js';

/** Blocks an unrequested block may be ahead of the tip and still be processed (Core's MIN_BLOCKS_TO_KEEP). */
export const UNREQUESTED_AHEAD = 288;
/** Received blocks not yet stored (being checked or written) above which a block's arrival asks for no more. */
export const MAX_UNSTORED_BLOCKS = 64;

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
export function fetchBlocks(s: ChainState, now: number, out: Out, only?: PeerSync, direct = false): void {
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

export function onBlock(s: ChainState, p: PeerSync, block: Block, now: number, out: Out): void {
  s.stats.blocksReceived++;
  s.stats.bytesReceived += block.size;
  p.blocksReceived++;
  const hash = block.header.hash;
  let entry = s.tree.get(hash);
  const flight = entry ? s.inFlight.get(entry) : undefined;
  const requested = flight !== undefined && flight.peer === p.id;
  if (!requested) {
    if (entry === undefined) {
      // Core (ProcessMessage BLOCK, AcceptBlockHeader): the header of an unrequested block joins the tree
      // only if its parent is known and its chain claims the anti-DoS threshold (min_pow_checked);
      // an unknown parent is BLOCK_MISSING_PREV, too little work BLOCK_HEADER_LOW_WORK (not stored).
      const r = s.tree.addHeaders([block.header], Math.floor(now / 1000), { minimumChainWork: antiDosThreshold(s) });
      if (r.added.length > 0) out.push({ kind: 'store-headers', entries: r.added });
      if (r.error) {
        s.stats.unrequested++;
        const reason = r.error.reason;
        const offence = reason === 'prev-blk-not-found' ? 'block-missing-prev' : reason === 'too-little-chainwork' ? 'block-low-work' : headerOffence(reason);
        if (offence === 'block-low-work') s.stats.lowWorkHeaders++;
        else if (offence !== 'block-missing-prev') s.stats.badHeaders++;
        out.log('debug', 'unrequested block refused', { peer: p.id, hash: hex(hash), reason });
        out.punish(s, p, offence, `unrequested block ${hex(hash)}: ${reason}`);
        return;
      }
      entry = r.last;
    }
    // Core (AcceptBlock): an unrequested block is processed only with at least our tip's work, at
    // most 288 blocks ahead, and with the minimum chain work.
    const tip = s.chain.tip();
    if (
      entry === undefined ||
      entry.invalid ||
      have(s, entry) ||
      entry.chainWork < tip.chainWork ||
      entry.height > tip.height + UNREQUESTED_AHEAD ||
      entry.chainWork < s.config.minimumChainWork
    ) {
      s.stats.unrequested++;
      if (entry?.invalid === true) {
        out.punish(s, p, 'header-cached-invalid', `block ${hex(hash)} is invalid`);
        return;
      }
      return out.log('debug', 'unrequested block ignored', { peer: p.id, hash: hex(hash) });
    }
    updateBestKnown(p, entry);
  }
  if (entry === undefined) return;
  // Whoever had it in flight, it is here now (Core erases the request on any arrival).
  releaseFlight(s, entry);
  p.stallingSince = 0;
  if (have(s, entry)) return;
  if (entry.invalid) {
    out.punish(s, p, 'header-cached-invalid', `block ${hex(hash)} is invalid`);
    return;
  }
  s.storing.add(entry); // reserved while checked, so that no one fetches it again meanwhile
  out.push({ kind: 'check-block', peer: p.id, entry, block });
  // Its slot is free: ask this peer for the next block now, as Core does, rather than once this
  // one is written. While too many received blocks wait to be checked and written (the disk is
  // slower than the network), more are asked for only as they get stored.
  if (s.storing.size < MAX_UNSTORED_BLOCKS) fetchBlocks(s, now, out, p);
}

/** Rules whose failure says the data is corrupt, not that the header is bad (Core's BLOCK_MUTATED). */
const MUTATED_RULES = new Set(['bad-merkle-root', 'mutated', 'bad-witness-commitment', 'bad-witness-nonce-size', 'no-witness-commitment-but-witness']);

export function onChecked(s: ChainState, peer: number, entry: HeaderEntry, result: BlockCheck, raw: Buffer, now: number, out: Out): void {
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
  const from = s.peers.get(peer);
  if (from) out.punish(s, from, 'block-invalid', `bad block ${hex(entry.hash)}: ${result.reason}`);
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

export function onStored(s: ChainState, entry: HeaderEntry, bytes: number, now: number, out: Out): void {
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
export function advanceTip(s: ChainState, out: Out): void {
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

/** The peer has not the blocks we asked it for: they go back to the pool, for others. */
export function onNotFound(s: ChainState, p: PeerSync, items: readonly InvItem[], now: number, out: Out): void {
  for (const item of items) {
    if ((item.type & ~MSG_WITNESS_FLAG) !== MSG_BLOCK) continue;
    const e = s.tree.get(item.hash);
    if (e && s.inFlight.get(e)?.peer === p.id) releaseFlight(s, e);
  }
  fetchBlocks(s, now, out);
}
