/**
 * The block actor's logic, without sockets, disks or clocks: `stepChain(state, event) → effects`,
 * the single entry, which dispatches each event to the concern that owns it:
 *
 * - state.ts: the state, events, effects, configuration and the effect collector (`Out`);
 * - peers.ts: per-peer sync state, peers arriving and leaving, whom we may fetch from;
 * - sync.ts: headers-first sync, presync of low-work chains, announcements (`headers`, `inv`);
 * - download.ts: the block download window, stalls, blocks arriving, checked and stored, the tip;
 * - serving.ts: `getheaders`, `getblocks`, `getdata`, and announcing new tips.
 *
 * Here: the initial state, the tick (stalls and timeouts, progress reports) and the
 * introspection record. What the shell and the tests import is exported from here.
 */
import { match, P } from 'ts-pattern';
import type { Message } from '../wire/messages.js';
import type { NetworkParams } from '../wire/network.js';
import { HeaderTree, ActiveChain, type HeaderEntry } from './headers.js';
import type { HeadersSyncState } from './presync.js';
import { hex, Out, type ChainConfig, type ChainEffect, type ChainEvent, type ChainState, type PeerSync } from './state.js';
import { addPeer, removePeer } from './peers.js';
import { onHeaders, onHeadersLater, onInv, restartSync, startSync } from './sync.js';
import { advanceTip, fetchBlocks, onBlock, onChecked, onNotFound, onStored } from './download.js';
import { onGetBlocks, onGetData, onGetHeaders } from './serving.js';

export { ANTI_DOS_BUFFER_BLOCKS, MAX_HEADERS, DEFAULT_CHAIN_CONFIG, antiDosThreshold } from './state.js';
export type { ChainConfig, ChainEffect, ChainEvent, ChainState, ChainStats, Flight, PeerSync, Progress } from './state.js';
export { MAX_UNSTORED_BLOCKS, UNREQUESTED_AHEAD } from './download.js';
export { LIMITED_MIN_BLOCKS, MAX_BLOCKS_TO_ANNOUNCE, MAX_GETBLOCKS } from './serving.js';

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
    stats: { blocksReceived: 0, bytesReceived: 0, blocksServed: 0, bytesStored: 0, badBlocks: 0, badHeaders: 0, lowWorkHeaders: 0, unrequested: 0, stalls: 0, reorgs: 0, uploadRefused: 0 },
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

/** The tick: stalling peers and timed-out requests are disconnected, the download refilled, progress reported. */
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
  restartSync(s, now, out);
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
    .with({ type: 'peer-connected' }, (ev) => {
      const p = addPeer(s, ev, out);
      if (p) startSync(s, p, ev.now, out);
    })
    .with({ type: 'peer-disconnected' }, ({ peer, now }) => {
      if (removePeer(s, peer)) {
        restartSync(s, now, out);
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

