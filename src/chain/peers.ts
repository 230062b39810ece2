/**
 * Per-peer sync state: a peer's record (`PeerSync`, created at `peer-connected` and dropped at
 * `peer-disconnected`), what it can give us (`canServe`, `preferred`, `canFetchFrom`) and the
 * best header we know it has (`updateBestKnown`, Core's UpdateBlockAvailability). What follows a
 * peer's arrival or departure (starting headers sync, refilling the download slots) is the
 * dispatcher's (logic.ts), so that this module sits below sync.ts and download.ts.
 */
import { NODE_NETWORK, NODE_NETWORK_LIMITED } from '../wire/constants.js';
import type { HeaderEntry } from './headers.js';
import { dropPeer, type ChainEvent, type ChainState, type Out, type PeerSync } from './state.js';

export function canServe(p: PeerSync): boolean {
  return (p.services & (NODE_NETWORK | NODE_NETWORK_LIMITED)) !== 0n;
}

/** Core's fPreferredDownload: outbound peers we chose (not feelers or seed fetches). */
export function preferred(p: PeerSync): boolean {
  return !p.inbound && p.connType !== 'feeler' && p.connType !== 'addr-fetch';
}

/**
 * A peer we download blocks from: our outbound peers, or inbound ones when we have no outbound
 * peer (Core's fPreferredDownload). `direct`: the peer just announced a block or two past our
 * tip: fetch from it whatever its direction (Core's direct fetch).
 */
export function canFetchFrom(p: PeerSync, s: ChainState, direct = false): boolean {
  if (!canServe(p) || p.connType === 'feeler' || p.connType === 'addr-fetch') return false;
  if (preferred(p) || direct) return true;
  // Core: other peers are used when there is no preferred peer, or when nothing is in flight
  // (an outbound peer that has nothing must not keep us from an inbound one that has it all).
  if (s.inFlight.size === 0) return true;
  for (const q of s.peers.values()) if (preferred(q) && canServe(q)) return false;
  return true;
}

/** A header the peer has (it sent or announced it, or we sent it): its best known, if more work (Core's UpdateBlockAvailability). */
export function updateBestKnown(p: PeerSync, e: HeaderEntry): void {
  if (e.invalid) return;
  if (p.bestKnown === null || e.chainWork > p.bestKnown.chainWork) p.bestKnown = e;
}

/**
 * A peer that finished its handshake gets its record, and is asked for `sendheaders`; returns the
 * record, or undefined when the peer was known already.
 */
export function addPeer(s: ChainState, e: Extract<ChainEvent, { type: 'peer-connected' }>, out: Out): PeerSync | undefined {
  if (s.peers.has(e.peer)) return undefined;
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
  return p;
}

/** A peer gone: its record and requests are dropped; returns whether it was known (not already dropped by a disconnect). */
export function removePeer(s: ChainState, id: number): boolean {
  const had = s.peers.has(id);
  dropPeer(s, id);
  return had;
}
