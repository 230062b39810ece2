/**
 * The block logic's shared ground: its state (`ChainState`, one `PeerSync` per peer), the events
 * the shell feeds in (`ChainEvent`), the effects it asks for (`ChainEffect`), its configuration,
 * and `Out`, the collector every step writes its effects to. Everything the concerns share sits
 * here so that they import this module and not each other in a circle: sync.ts (headers),
 * download.ts (blocks), serving.ts (answering peers), peers.ts (who a peer is and what we may
 * ask of it); logic.ts is the entry (`stepChain`) that dispatches to them.
 */
import type { Message } from '../wire/messages.js';
import type { Block, BlockHeader, BlockCheck } from '../wire/block.js';
import type { ConnType } from '../contracts/connection.js';
import type { ActiveChain, HeaderEntry, HeaderTree } from './headers.js';
import type { HeadersSyncState } from './presync.js';
import type { NetworkParams } from '../wire/network.js';
import { blockProof } from '../wire/pow.js';
import { punishmentFor, type Offence, type Punishment } from '../contracts/punishment.js';

/** Core's MAX_HEADERS_RESULTS. */
export const MAX_HEADERS = 2000;

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
  /** Headers refused for too little work (below the anti-DoS threshold): never stored. */
  lowWorkHeaders: number;
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

/** Core's anti-DoS buffer: headers forking within this many blocks' work of our tip are stored at once. */
export const ANTI_DOS_BUFFER_BLOCKS = 144n;

/**
 * Core's GetAntiDoSWorkThreshold: the work a header chain must claim before any of it is stored,
 * max(minimum chain work, tip work − 144 × the tip's block proof). Below it a chain goes through
 * presync (sync.ts) and an unrequested block's header is not stored (download.ts).
 */
export function antiDosThreshold(s: ChainState): bigint {
  const tip = s.chain.tip();
  const buffer = ANTI_DOS_BUFFER_BLOCKS * blockProof(tip.bits);
  const nearTip = tip.chainWork > buffer ? tip.chainWork - buffer : 0n;
  return nearTip > s.config.minimumChainWork ? nearTip : s.config.minimumChainWork;
}

/** The table's row for a header the tree refused (HeaderReject.reason, Core's reject reasons). */
export function headerOffence(reason: string): Offence {
  switch (reason) {
    case 'high-hash':
      return 'header-bad-pow';
    case 'headers-not-continuous':
      return 'headers-not-continuous';
    case 'duplicate-invalid':
      return 'header-cached-invalid';
    case 'time-too-new':
      return 'header-time-too-new';
    case 'prev-blk-not-found':
      return 'headers-unconnecting';
    case 'too-little-chainwork':
      return 'headers-low-work';
    default:
      // bad-diffbits, time-too-old, time-timewarp-attack, bad-version(…), bad-prevblk
      return 'header-invalid';
  }
}

/** A block we have, or have checked and are writing (the scheduler counts it as present). */
export const have = (s: ChainState, e: HeaderEntry): boolean => e.haveData || s.storing.has(e);

export const hex = (h: Uint8Array): string => Buffer.from(h).reverse().toString('hex');

/**
 * Forgets a peer: its requests go back to the pool at once. Here rather than in peers.ts because
 * `Out.disconnect` forgets the peer it disconnects.
 */
export function dropPeer(s: ChainState, id: number): void {
  const p = s.peers.get(id);
  if (!p) return;
  s.peers.delete(id);
  for (const e of p.inFlight) s.inFlight.delete(e);
  p.inFlight.clear();
  if (p.syncStarted) s.syncStarted = Math.max(0, s.syncStarted - 1);
}

/** The effects of one step, in order. */
export class Out {
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
  /**
   * An offence of peer `p`, punished as the table says (contracts/punishment.ts): ignored (a noban or
   * manual peer is never disconnected for misbehaviour), disconnected, or disconnected and discouraged.
   * Returns what was done; the caller stops handling the peer's message unless it was `ignore`.
   */
  punish(s: ChainState, p: PeerSync, offence: Offence, reason: string): Punishment {
    const what = punishmentFor(offence, p);
    if (what === 'ignore') this.log('debug', 'offence ignored', { peer: p.id, offence, reason });
    else this.disconnect(s, p.id, reason, what === 'discourage');
    return what;
  }
  log(level: 'debug' | 'info' | 'warn', msg: string, data?: Record<string, unknown>): void {
    this.fx.push(data === undefined ? { kind: 'log', level, msg } : { kind: 'log', level, msg, data });
  }
}
