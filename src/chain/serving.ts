/**
 * Answering peers: `getheaders`, `getblocks` (with Core's hashContinue), `getdata` for blocks and
 * witness blocks (within the pruned depth and the upload target), and announcing new tips: with
 * `headers` to peers that sent `sendheaders`, with `inv` to the others.
 *
 * Every answer is bounded: one headers message (2,000 at most), one inv (500), or for a getdata one
 * block and one notfound. The peer actor hands its requests out one such piece at a time, and only
 * while its send queue is below the limit (peer/requests.ts; Core's ProcessGetData, one block per
 * call): a getdata carries at most one block item here, and a second one is answered notfound.
 */
import type { InvItem } from '../wire/messages.js';
import type { BlockHeader } from '../wire/block.js';
import { MSG_BLOCK, MSG_WITNESS_FLAG, MSG_CMPCT_BLOCK } from '../wire/constants.js';
import type { HeaderEntry } from './headers.js';
import { HISTORICAL_BLOCK_AGE_S } from '../throttle/upload-target.js';
import { have, MAX_HEADERS, type ChainState, type Out, type PeerSync } from './state.js';
import { updateBestKnown } from './peers.js';

/** Core's MAX_BLOCKS_TO_ANNOUNCE: more new blocks than this are announced with an inv of the tip. */
export const MAX_BLOCKS_TO_ANNOUNCE = 8;
/** Core's NODE_NETWORK_LIMITED_MIN_BLOCKS: what a pruned (limited) node serves past its tip. */
export const LIMITED_MIN_BLOCKS = 288;
/** getblocks answers at most this many hashes (Core). */
export const MAX_GETBLOCKS = 500;

/** New tip at the end of the best chain: tell peers (headers to those that asked, inv to the rest). */
export function announce(s: ChainState, fork: HeaderEntry, out: Out): void {
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

export function onGetHeaders(s: ChainState, p: PeerSync, locator: readonly Buffer[], hashStop: Buffer, out: Out): void {
  // Core: while our active chain is below the minimum chain work, a peer without the download (noban)
  // permission gets an empty headers message (the table's 'getheaders-low-work'): we could be on a
  // bogus chain, and an empty answer tells it to look elsewhere without making us look unresponsive.
  if (s.chain.tip().chainWork < s.config.minimumChainWork && !p.noban) {
    out.punish(s, p, 'getheaders-low-work', 'getheaders while our chain has too little work');
    out.send(p.id, { command: 'headers', headers: [] });
    return;
  }
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

export function onGetBlocks(s: ChainState, p: PeerSync, locator: readonly Buffer[], hashStop: Buffer, out: Out): void {
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

export function onGetData(s: ChainState, p: PeerSync, items: readonly InvItem[], out: Out): void {
  const missing: InvItem[] = [];
  const tip = s.chain.tip();
  let served = false;
  for (const item of items) {
    const type = item.type & ~MSG_WITNESS_FLAG;
    if (type !== MSG_BLOCK && type !== MSG_CMPCT_BLOCK) {
      missing.push(item);
      continue;
    }
    if (served) {
      // One block per piece (the peer actor's queue never sends more): nothing more is read from disk.
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
      if (out.punish(s, p, 'getdata-below-prune', `getdata for block ${e.height} below the pruned node's limit`) !== 'ignore') return;
      missing.push(item);
      continue;
    }
    // --maxuploadtarget: near the day's budget, blocks more than a week older than our best header
    // are not served to peers without the download permission; Core disconnects them.
    if (!s.serveHistorical && !p.noban && s.tree.best().time - e.time > HISTORICAL_BLOCK_AGE_S) {
      s.stats.uploadRefused++;
      if (out.punish(s, p, 'getdata-upload-target', 'historical block serving limit reached (maxuploadtarget)') !== 'ignore') return;
      missing.push(item);
      continue;
    }
    served = true;
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
