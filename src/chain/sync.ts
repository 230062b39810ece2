/**
 * Headers-first sync: one peer at a time at first (an outbound one when there is one), with
 * Core's block locators and 2,000 headers per reply, continued until the peer has no more; then
 * every other peer is asked once, and announcements (`headers`, `inv`) keep us current. A full
 * batch's successor is asked for before the batch is checked (`headers-checked-later`). A header
 * chain whose claimed work is below Core's anti-DoS threshold (max(minimum chain work, tip work −
 * 144 blocks' work), {@link antiDosThreshold}) is never stored as it comes: a full batch starts a
 * presync ({@link HeadersSyncState}), which stores the chain only once it has proved the threshold;
 * a short one is ignored. What a peer's headers cost it is the punishment table's
 * (contracts/punishment.ts).
 */
import type { InvItem } from '../wire/messages.js';
import type { BlockHeader } from '../wire/block.js';
import { blockProof } from '../wire/pow.js';
import { MSG_BLOCK, MSG_WITNESS_FLAG, PROTOCOL_VERSION } from '../wire/constants.js';
import type { HeaderEntry } from './headers.js';
import { HeadersSyncState } from './presync.js';
import { antiDosThreshold, headerOffence, MAX_HEADERS, type ChainState, type Out, type PeerSync } from './state.js';
import { canFetchFrom, canServe, updateBestKnown } from './peers.js';
import { fetchBlocks } from './download.js';


const ZERO_HASH = Buffer.alloc(32);

export function getheaders(s: ChainState, p: PeerSync, from: HeaderEntry, now: number, out: Out): void {
  p.headersAskedAt = now;
  out.send(p.id, { command: 'getheaders', version: PROTOCOL_VERSION, locator: s.tree.locator(from), hashStop: ZERO_HASH });
}

export function startSync(s: ChainState, p: PeerSync, now: number, out: Out): void {
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

/** A sync peer gone (disconnected, timed out): start with another, until headers are synced. */
export function restartSync(s: ChainState, now: number, out: Out): void {
  if (s.syncStarted === 0 && !s.headersSynced) for (const p of s.peers.values()) startSync(s, p, now, out);
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

/** Core's ProcessBlockAvailability: an announced hash we now know becomes the peer's best known. */
function resolveUnknown(s: ChainState, p: PeerSync): void {
  if (p.lastUnknown === null) return;
  const e = s.tree.get(p.lastUnknown);
  if (e && e.chainWork > 0n) {
    updateBestKnown(p, e);
    p.lastUnknown = null;
  }
}

/** Core's IsAncestorOfBestHeaderOrTip: the header is in our tree on the path to our best header or to our tip. */
function knownOnBestPath(s: ChainState, hash: Buffer): boolean {
  const e = s.tree.get(hash);
  if (e === undefined) return false;
  const onPath = (top: HeaderEntry): boolean => e.height <= top.height && s.tree.ancestor(top, e.height) === e;
  return onPath(s.tree.best()) || onPath(s.chain.tip());
}

function sumWork(headers: readonly BlockHeader[]): bigint {
  let w = 0n;
  for (const h of headers) w += blockProof(h.bits);
  return w;
}

export function onHeaders(s: ChainState, p: PeerSync, headers: readonly BlockHeader[], now: number, out: Out): void {
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
    // Core (HandleUnconnectingHeaders): ask for the headers in between (a locator from our best) and
    // never punish (the table's 'headers-unconnecting'): one getheaders per such message, as Core,
    // which clears its getheaders-in-flight time on every headers message.
    p.unconnecting++;
    p.lastUnknown = Buffer.from(headers[headers.length - 1].hash);
    if (out.punish(s, p, 'headers-unconnecting', 'unconnecting headers') !== 'ignore') return;
    getheaders(s, p, s.tree.best(), now, out);
    return;
  }
  p.unconnecting = 0;
  const full = headers.length === MAX_HEADERS;
  // Core's anti-DoS threshold, skipped (as Core) for a noban peer and for headers we have already on
  // the path to our best header or tip (they cost no memory).
  const threshold = antiDosThreshold(s);
  if (!p.noban && !knownOnBestPath(s, headers[headers.length - 1].hash) && parent.chainWork + sumWork(headers) < threshold) {
    if (!full) {
      // A short chain below the threshold: nothing of it is stored (Core: "Ignoring low-work chain").
      out.log('debug', 'ignoring low-work headers', { peer: p.id, count: headers.length, from: parent.height });
      s.stats.lowWorkHeaders += headers.length;
      if (wasAsked) {
        p.headersDone = true;
        afterHeadersDone(s, p, now, out);
      }
      return;
    }
    p.presync = new HeadersSyncState(s.tree, parent, threshold, { nowSeconds: () => Math.floor(now / 1000) });
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
export function onHeadersLater(s: ChainState, p: PeerSync, headers: readonly BlockHeader[], now: number, out: Out): void {
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
    if (out.punish(s, p, headerOffence(r.error.reason), `invalid header: ${r.error.reason}`) !== 'ignore') return;
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
    // Core (HeadersSyncState): a failed sync is dropped; only a bad proof of work or broken continuity is punished.
    p.presync = null;
    out.log('info', 'headers presync failed', { peer: p.id, reason: r.reason });
    out.punish(s, p, r.offence ?? 'presync-failed', `headers presync failed: ${r.reason ?? 'invalid headers'}`);
    return;
  }
  if (r.toStore.length > 0) {
    const added = s.tree.addHeaders(r.toStore, Math.floor(now / 1000));
    if (added.added.length > 0) out.push({ kind: 'store-headers', entries: added.added });
    if (added.last) updateBestKnown(p, added.last);
    if (added.error) {
      p.presync = null;
      out.punish(s, p, headerOffence(added.error.reason), `invalid header: ${added.error.reason}`);
      return;
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

/** Block announcements by inv: known ones update the peer's best, an unknown one asks for the headers up to it. */
export function onInv(s: ChainState, p: PeerSync, items: readonly InvItem[], now: number, out: Out): void {
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
