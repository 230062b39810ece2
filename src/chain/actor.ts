/**
 * The block actor (`/root/chain`): the thin shell around `logic.ts`. It owns the block store
 * (blk files + index in the node's LevelDB), rebuilds the header tree from it at start, feeds
 * peers' messages, arrivals, store completions and a tick to the logic, and performs the
 * effects: messages to peer actors, block checks, writes, serving blocks from disk, progress.
 *
 * It talks to peers only through messages: peers tell it `peer-connected`/`peer-disconnected` and forward the
 * chain messages; it answers through each peer's ref. When it restarts it asks every live peer
 * to say hello again, and resumes from what the store holds (requests in flight are simply
 * made again).
 */
import { match } from 'ts-pattern';
import { defineActor, narrowRef, tell, type ActorContext, type ActorName, type Down, type DynMsg, type Ref } from '../../supervisors/index.js';
import { Reader } from '../wire/buffer.js';
import { decodeHeader, stripWitness, HEADER_SIZE, type BlockCheck } from '../wire/block.js';
import type { NetworkParams } from '../wire/network.js';
import type { Message } from '../wire/messages.js';
import { MAX_INV_SZ } from '../wire/constants.js';
import { STORE, storeDb, type StoreMsg } from '../contracts/store.js';
import { PEERS, peerAt, type PeerArgs, type PeerMsg } from '../contracts/peer.js';
import { BlockStore, BlockStoreError } from './blockstore.js';
import { checkHere, checkInPool, defaultCheckThreads } from './check-pool.js';
import { HeaderTree, type HeaderEntry } from './headers.js';
import { reindexBlockFiles } from './reindex.js';
import {
  activateBestChain,
  chainSummary,
  DEFAULT_CHAIN_CONFIG,
  displayHash,
  initChain,
  LIMITED_MIN_BLOCKS,
  stepChain,
  type ChainConfig,
  type ChainEffect,
  type ChainEvent,
  type ChainState,
  type Progress,
} from './logic.js';
import { chainRpc } from './rpc.js';
import type { ChainMsg, TipUpdate } from '../contracts/chain.js';
import { CONNMAN } from '../contracts/connman.js';

/** What the block actor tells itself: its tick, block writes and checks done, deferred events, the store's monitor (the contract's ChainMsg is what others send it). */
type SelfMsg =
  | { readonly type: 'tick' }
  | { readonly type: 'stored'; readonly entries: readonly { readonly entry: HeaderEntry; readonly bytes: number }[] }
  | { readonly type: 'store-failed'; readonly error: string }
  /** Block checks done off the main thread (the `check-block` effects' answers), as many as finished together. */
  | { readonly type: 'checked'; readonly blocks: readonly CheckedBlock[] }
  /** An event the logic deferred to a later turn (the `defer` effect). */
  | { readonly type: 'continue'; readonly event: ChainEvent }
  | Down;

/** Everything in the block actor's mailbox. */
type Mailbox = ChainMsg | SelfMsg;

export interface ChainArgs {
  readonly params: NetworkParams;
  /** The network data directory (blocks in `<dir>/blocks`). */
  readonly dir: string;
  /** Keep only this many bytes of block files (0 = everything). */
  readonly pruneTarget?: number;
  /** Obfuscate new block files (Core's -blocksxor; default true). */
  readonly blocksXor?: boolean;
  /** Overrides the network's minimum chain work (tests; Core's -minimumchainwork). */
  readonly minimumChainWork?: bigint;
  /** fdatasync block files before indexing (default true). */
  readonly sync?: boolean;
  readonly config?: Partial<Omit<ChainConfig, 'minimumChainWork' | 'pruned'>>;
  /** Tick interval, ms (stall checks, scheduling, progress). */
  readonly tickMs?: number;
  /** Whether the upload target still allows serving historical blocks (default: always). */
  readonly serveHistorical?: () => boolean;
  /** Draw a progress bar on this stream while syncing (a TTY). */
  readonly progressBar?: NodeJS.WriteStream;
  /** Where the store is (default {@link STORE}). */
  readonly store?: ActorName<StoreMsg>;
  /** Where the peers are (default {@link PEERS}): asked to say hello again when this actor restarts. */
  readonly peers?: ActorName<DynMsg<PeerArgs, PeerMsg>>;
  /** Worker threads checking blocks (default: cores − 1, 1..4); 0 checks them on the main thread. */
  readonly checkThreads?: number;
  /**
   * `--reindex`: while `pending`, the next start of the actor rebuilds the index from the block
   * files and clears it (a restart of the actor after that does not wipe the index again; an
   * interrupted reindex is redone at the next start: its index is empty beside block files).
   */
  readonly reindex?: { pending: boolean };
}

export interface CheckedBlock {
  readonly peer: number;
  readonly entry: HeaderEntry;
  readonly result: BlockCheck;
  readonly raw: Buffer;
}

/**
 * Results that arrive together travel to the actor in one message: the first one sends it, the
 * next ones join it until it is handled (one mailbox turn for a whole batch of checks or writes).
 */
export class Gather<T> {
  private open: T[] | null = null;
  add(item: T, send: (items: T[]) => void): void {
    if (this.open !== null) this.open.push(item);
    else send((this.open = [item]));
  }
  /** The message carrying `items` is being handled: later items start a new one. */
  close(items: readonly T[]): void {
    if (this.open === items) this.open = null;
  }
}

export interface ChainShell {
  readonly args: ChainArgs;
  readonly st: ChainState;
  readonly store: BlockStore;
  readonly peers: Map<number, Ref<PeerMsg>>;
  /** Messages for peers queued in this turn (see sendTo). */
  readonly outbox: Map<number, Message[]>;
  /** Block writes under way. */
  writing: number;
  readonly checked: Gather<CheckedBlock>;
  readonly stored: Gather<{ readonly entry: HeaderEntry; readonly bytes: number }>;
  barShown: boolean;
  readonly loaded: Record<string, unknown>;
}

const INVALID_KEY = 'invalid';

async function loadTree(params: NetworkParams, store: BlockStore): Promise<{ tree: HeaderTree; report: Record<string, unknown> }> {
  const tree = new HeaderTree(params);
  const raws = await store.loadHeaders();
  let orphans = 0;
  for (const raw of raws) {
    const h = decodeHeader(new Reader(raw));
    if (tree.get(h.hash)) continue;
    if (!tree.get(h.prevBlock)) {
      orphans++;
      continue;
    }
    const e = tree.addTrusted(h);
    e.haveData = store.has(e.hash);
  }
  const inv = await store.getMeta(INVALID_KEY);
  let invalid = 0;
  if (inv) {
    for (let i = 0; i + 32 <= inv.length; i += 32) {
      const e = tree.get(inv.subarray(i, i + 32));
      if (e && !e.invalid) {
        tree.invalidate(e);
        invalid++;
      }
    }
  }
  return { tree, report: { headers: tree.size - 1, orphans, invalid } };
}

function peerRef(sh: ChainShell, id: number): Ref<PeerMsg> | undefined {
  return sh.peers.get(id);
}

/**
 * Queues a message for a peer: what one turn of this actor sends a peer goes in one mailbox
 * message (and one socket write), told by {@link flushSends} at the end of the turn, or before
 * anything else is told to a peer, so that the order a peer sees never changes.
 */
function sendTo(sh: ChainShell, id: number, msg: Message): void {
  let q = sh.outbox.get(id);
  if (!q) sh.outbox.set(id, (q = []));
  enqueueSend(q, msg);
}

/**
 * Appends a message to a peer's queue for this turn. Block requests of one turn go in one
 * getdata (each block of a socket read frees a slot and asks for one more): a getdata right
 * after another is merged into it, up to the protocol's 50,000 items; order is kept.
 */
export function enqueueSend(q: Message[], msg: Message): void {
  const prev = q.length > 0 ? q[q.length - 1] : undefined;
  if (msg.command === 'getdata' && prev?.command === 'getdata' && prev.items.length + msg.items.length <= MAX_INV_SZ) {
    q[q.length - 1] = { command: 'getdata', items: [...prev.items, ...msg.items] };
    return;
  }
  q.push(msg);
}

function flushSends(sh: ChainShell): void {
  if (sh.outbox.size === 0) return;
  for (const [id, msgs] of sh.outbox) {
    const ref = peerRef(sh, id);
    if (!ref) continue;
    if (msgs.length === 1) tell(ref, { type: 'send', msg: msgs[0] });
    else tell(ref, { type: 'send-many', msgs });
  }
  sh.outbox.clear();
}

async function sendBlock(sh: ChainShell, id: number, entry: HeaderEntry, witness: boolean, ctx: ActorContext<Mailbox>): Promise<void> {
  flushSends(sh);
  const ref = peerRef(sh, id);
  if (!ref) return;
  const raw = await sh.store.get(entry.hash);
  if (raw === null) {
    tell(ref, { type: 'send', msg: { command: 'notfound', items: [{ type: witness ? 0x40000002 : 2, hash: entry.hash }] } });
    return;
  }
  if (witness) return tell(ref, { type: 'send-raw', command: 'block', payload: raw });
  // MSG_BLOCK: the block without witness data, as a peer that does not speak segwit expects
  // (copied out by a scan: no transaction objects, whatever the block holds).
  const stripped = stripWitness(raw);
  if (!stripped.ok) {
    ctx.log.error({ hash: displayHash(entry.hash), error: stripped.error.message }, 'a stored block does not parse');
    return;
  }
  tell(ref, { type: 'send-raw', command: 'block', payload: stripped.value });
}

function drawBar(sh: ChainShell, p: Progress): void {
  const out = sh.args.progressBar;
  if (!out) return;
  const width = 30;
  const done = Math.round(p.progress * width);
  const eta = p.etaSeconds === null ? '?' : p.etaSeconds < 60 ? `${Math.ceil(p.etaSeconds)}s` : `${Math.floor(p.etaSeconds / 60)}m${Math.ceil(p.etaSeconds % 60)}s`;
  out.write(
    `\r[${'#'.repeat(done)}${' '.repeat(width - done)}] ${(p.progress * 100).toFixed(1)}% ${p.height}/${p.headers} blocks ${p.blocksPerSecond.toFixed(0)} blk/s ${p.mbPerSecond.toFixed(2)} MB/s ETA ${eta}   `,
  );
  sh.barShown = p.height < p.headers;
  if (!sh.barShown) out.write('\n');
}

/**
 * Stores a checked block. The store group-commits the puts that queue while a write is in
 * progress (one append burst, one fdatasync, one index batch), so blocks arriving together are
 * written together; each reports back when durable.
 */
function storeBlock(sh: ChainShell, ctx: ActorContext<Mailbox>, entry: HeaderEntry, raw: Buffer): void {
  const self = ctx.self;
  sh.writing++;
  const bytes = raw.length;
  sh.store.put(entry.hash, entry.height, raw).then(
    () => sh.stored.add({ entry, bytes }, (entries) => tell(self, { type: 'stored', entries })),
    (err: unknown) => tell(self, { type: 'store-failed', error: err instanceof Error ? err.message : String(err) }),
  );
}

async function perform(sh: ChainShell, ctx: ActorContext<Mailbox>, fx: ChainEffect[]): Promise<void> {
  // Effects may produce more events (a block checked at once feeds its verdict back).
  for (let i = 0; i < fx.length; i++) {
    const e = fx[i];
    await match(e)
      .with({ kind: 'send' }, ({ peer, msg }) => sendTo(sh, peer, msg))
      .with({ kind: 'check-block' }, ({ peer, entry, block }) => {
        const opts = { powLimit: sh.args.params.powLimit, segwit: entry.height >= sh.args.params.segwitHeight };
        const threads = sh.args.checkThreads ?? defaultCheckThreads();
        if (threads <= 0) {
          const { result, raw } = checkHere(block, opts);
          fx.push(...stepChain(sh.st, { type: 'block-checked', peer, entry, result, raw, now: ctx.now() }));
          return;
        }
        // In a worker thread; the verdict comes back as a message.
        const self = ctx.self;
        void checkInPool(block, opts, threads).then(
          ({ result, raw }) => sh.checked.add({ peer, entry, result, raw }, (blocks) => tell(self, { type: 'checked', blocks })),
          (err: unknown) => tell(self, { type: 'store-failed', error: `block check failed: ${err instanceof Error ? err.message : String(err)}` }),
        );
      })
      .with({ kind: 'store-block' }, ({ entry, raw }) => storeBlock(sh, ctx, entry, raw))
      .with({ kind: 'tip' }, async ({ tip, previous, reorg }) => {
        tellTip(ctx, tip.height);
        if (reorg) ctx.log.warn({ from: displayHash(previous.hash), to: displayHash(tip.hash), height: tip.height }, 'chain tip changed branch');
        else ctx.log.debug({ height: tip.height, hash: displayHash(tip.hash) }, 'new tip');
        if ((sh.args.pruneTarget ?? 0) > 0 && tip.height % 64 === 0) {
          const r = await sh.store.prune(tip.height - LIMITED_MIN_BLOCKS);
          if (r.files.length > 0) ctx.log.info({ files: r.files, blocks: r.blocks, bytes: r.bytes, pruneHeight: sh.store.pruneHeight() }, 'pruned block files');
        }
      })
      .with({ kind: 'send-block' }, ({ peer, entry, witness }) => sendBlock(sh, peer, entry, witness, ctx))
      .with({ kind: 'disconnect' }, ({ peer, reason, discourage }) => {
        flushSends(sh);
        const ref = peerRef(sh, peer);
        if (ref) tell(ref, { type: 'disconnect', reason, misbehaving: discourage });
        sh.peers.delete(peer);
      })
      .with({ kind: 'store-headers' }, ({ entries }) => {
        // Written in the background, two loop turns later: the next getheaders (a later effect,
        // written by the peer actor in the next turn) leaves first. A header not yet written when
        // we stop is simply fetched again after the restart; a failed write crashes us.
        const self = ctx.self;
        const write = (): void => {
          const all = Buffer.allocUnsafe(entries.length * HEADER_SIZE);
          const headers = entries.map((en, i) => {
            en.writeHeader(all, i * HEADER_SIZE);
            return { hash: en.hash, raw: all.subarray(i * HEADER_SIZE, (i + 1) * HEADER_SIZE), height: en.height };
          });
          sh.store.putHeaders(headers).catch((err: unknown) => {
            if (err instanceof BlockStoreError && sh.store.isClosed()) return; // we stopped meanwhile
            tell(self, { type: 'store-failed', error: `headers: ${err instanceof Error ? err.message : String(err)}` });
          });
        };
        setImmediate(() => setImmediate(write));
      })
      .with({ kind: 'invalid' }, async ({ entry, reason }) => {
        const prev = (await sh.store.getMeta(INVALID_KEY)) ?? Buffer.alloc(0);
        await sh.store.putMeta(INVALID_KEY, Buffer.concat([prev, entry.hash]));
        ctx.log.warn({ hash: displayHash(entry.hash), height: entry.height, reason }, 'block marked invalid');
      })
      .with({ kind: 'progress' }, ({ progress: p }) => {
        ctx.log.info(
          {
            height: p.height,
            headers: p.headers,
            progress: Number((p.progress * 100).toFixed(2)),
            blocksPerSecond: Number(p.blocksPerSecond.toFixed(1)),
            mbPerSecond: Number(p.mbPerSecond.toFixed(2)),
            etaSeconds: p.etaSeconds === null ? null : Math.round(p.etaSeconds),
            inFlight: p.inFlight,
            peers: p.peers,
          },
          `sync: height ${p.height}/${p.headers} (${(p.progress * 100).toFixed(1)}%), ${p.blocksPerSecond.toFixed(1)} blocks/s, ${p.mbPerSecond.toFixed(2)} MB/s`,
        );
        drawBar(sh, p);
      })
      .with({ kind: 'log' }, ({ level, msg, data }) => ctx.log[level](data ?? {}, msg))
      .with({ kind: 'defer' }, ({ event }) => {
        // What is queued leaves now; the event comes back after the peers have had their turn.
        flushSends(sh);
        tell(ctx.self, { type: 'continue', event });
      })
      .exhaustive();
  }
}

/** Tells a peer its messages were handled: the bytes they were charged are no longer held here (after our answers to them). */
function consumed(sh: ChainShell, peer: Ref<PeerMsg>, bytes: number | undefined): void {
  if (bytes === undefined || bytes === 0) return;
  flushSends(sh);
  tell(peer, { type: 'consumed', bytes });
}

/** A peer's message as a logic event; a getdata carries whether the upload target still allows old blocks. */
function messageEvent(sh: ChainShell, peer: number, msg: Message, now: number): ChainEvent {
  if (msg.command === 'getdata' && sh.args.serveHistorical) return { type: 'message', peer, msg, now, serveHistorical: sh.args.serveHistorical() };
  return { type: 'message', peer, msg, now };
}

function feed(sh: ChainShell, ctx: ActorContext<Mailbox>, ev: ChainEvent): Promise<void> {
  return perform(sh, ctx, stepChain(sh.st, ev));
}

/** Tells the connection manager the tip height (dropped when it is not running: it asks with `sync-tip` when it starts). */
function tellTip(ctx: ActorContext<Mailbox>, height: number): void {
  const ref = ctx.runtime.lookup(CONNMAN);
  if (ref) tell<TipUpdate>(narrowRef<TipUpdate>(ref), { type: 'tip', height });
}

export const chainActor = defineActor<ChainShell, Mailbox, ChainArgs>({
  name: 'chain',
  async init(args, ctx) {
    const storeName = args.store ?? STORE;
    const db = await storeDb(ctx.runtime, storeName);
    const storeRef = ctx.runtime.lookup(storeName);
    if (storeRef) ctx.monitor(storeRef);
    const store = await BlockStore.open({
      dir: args.dir,
      db,
      magic: args.params.magicBytes,
      pruneTarget: args.pruneTarget ?? 0,
      sync: args.sync ?? true,
      xor: args.blocksXor ?? true,
      reindex: args.reindex?.pending ?? false,
    });
    if (args.reindex) args.reindex.pending = false;
    // A successor (we restart) opening the same directory waits in BlockStore.open for this close.
    ctx.own(() => void store.close().catch(() => undefined));
    const t0 = Date.now();
    const { tree, report } = await loadTree(args.params, store);
    const why = store.recovered.reindex;
    if (why !== null) {
      const files = store.unindexedFiles().length;
      ctx.log.info({ reason: why, files }, `reindexing ${files} block file(s) (${why}): rebuilding the block index and headers from blocks/`);
      let last = Date.now();
      const r = await reindexBlockFiles(store, tree, Math.floor(Date.now() / 1000), (done, of) => {
        if (Date.now() - last < 5000) return;
        last = Date.now();
        ctx.log.info({ done, of }, `reindex: scanned ${done}/${of} block files`);
      });
      report.reindex = { reason: why, ...r };
      ctx.log.info(
        { ...r, reason: why },
        `reindex done: ${r.indexed} blocks indexed from ${r.files} file(s), ${r.headers} headers added` +
          (r.unconnected + r.bad > 0 ? `; ${r.unconnected} unconnected and ${r.bad} unusable records kept in their files, not indexed` : ''),
      );
    }
    const config: ChainConfig = {
      ...DEFAULT_CHAIN_CONFIG,
      ...args.config,
      minimumChainWork: args.minimumChainWork ?? args.params.minimumChainWork,
      pruned: (args.pruneTarget ?? 0) > 0,
    };
    const st = initChain(args.params, config, tree);
    const tip = activateBestChain(st);
    tellTip(ctx, tip.height);
    const sh: ChainShell = { args, st, store, peers: new Map(), outbox: new Map(), writing: 0, checked: new Gather(), stored: new Gather(), barShown: false, loaded: report };
    ctx.log.info({ ...report, height: tip.height, headers: tree.best().height, tip: displayHash(tip.hash), blocks: store.stats().blocks, xorKey: store.stats().xorKey, ms: Date.now() - t0 }, 'chain loaded');
    ctx.timers.interval('tick', args.tickMs ?? 500, { type: 'tick' });
    // Peers that are already connected (we restarted): ask them to say hello again.
    for (const info of ctx.runtime.list(`${(args.peers ?? PEERS).path}/*`)) {
      const ref = ctx.runtime.lookup(peerAt(info.path));
      if (ref) tell(ref, { type: 'chain-hello' });
    }
    return sh;
  },
  async handle(sh, msg, ctx) {
    const now = ctx.now();
    await match(msg)
      .with({ type: 'peer-connected' }, async (m) => {
        sh.peers.set(m.peer, m.self);
        await feed(sh, ctx, {
          type: 'peer-connected',
          peer: m.peer,
          inbound: m.inbound,
          connType: m.connType,
          services: m.services,
          startHeight: m.startHeight,
          preferHeaders: m.sendHeaders,
          noban: m.noban,
          now,
        });
      })
      .with({ type: 'peer-disconnected' }, async ({ peer }) => {
        sh.peers.delete(peer);
        await feed(sh, ctx, { type: 'peer-disconnected', peer, now });
      })
      .with({ type: 'from-peer' }, async (m) => {
        // A peer we did not hear `peer-connected` from (we restarted meanwhile): its hello is on the way.
        if (sh.peers.has(m.peer)) await feed(sh, ctx, messageEvent(sh, m.peer, m.msg, now));
        consumed(sh, m.self, m.bytes);
      })
      .with({ type: 'from-peer-batch' }, async (m) => {
        // As many from-peer messages, in order (stopping if the peer is dropped on the way). What
        // answers anything but a block (the next getheaders) leaves at once; block requests go together.
        for (const msg of m.msgs) {
          if (!sh.peers.has(m.peer)) break;
          await feed(sh, ctx, messageEvent(sh, m.peer, msg, now));
          if (msg.command !== 'block') flushSends(sh);
        }
        consumed(sh, m.self, m.bytes);
      })
      .with({ type: 'peer-request' }, async (m) => {
        // One piece of a peer's request: answered (one block, one headers or one inv at most), then
        // `served`, always, so that the peer hands out the next piece (a peer we do not know gets
        // nothing but that: its hello is on the way, and it asks again).
        if (sh.peers.has(m.peer)) await feed(sh, ctx, messageEvent(sh, m.peer, m.msg, now));
        flushSends(sh);
        tell(m.self, { type: 'served', seq: m.seq });
      })
      .with({ type: 'tick' }, () => feed(sh, ctx, { type: 'tick', now }))
      .with({ type: 'continue' }, ({ event }) => feed(sh, ctx, event))
      .with({ type: 'stored' }, async ({ entries }) => {
        sh.stored.close(entries);
        for (const { entry, bytes } of entries) {
          if (sh.st.tree.get(entry.hash) !== entry) continue; // our predecessor's write
          sh.writing--;
          await feed(sh, ctx, { type: 'block-stored', entry, bytes, now });
        }
      })
      .with({ type: 'checked' }, async ({ blocks }) => {
        sh.checked.close(blocks);
        for (const { peer, entry, result, raw } of blocks) {
          // A verdict asked for by our predecessor (we restarted meanwhile) is about another tree: the block is fetched again.
          if (sh.st.tree.get(entry.hash) !== entry) continue;
          await feed(sh, ctx, { type: 'block-checked', peer, entry, result, raw, now });
        }
      })
      .with({ type: 'store-failed' }, ({ error }) => {
        // Let it crash: the restarted actor reloads from what the store really holds.
        throw new Error(`block store write failed: ${error}`);
      })
      .with({ type: 'rpc' }, async ({ method, args, replyTo }) => tell(replyTo, await chainRpc(sh, method, args, now)))
      .with({ type: 'sync-tip' }, ({ replyTo }) => tell<TipUpdate>(replyTo, { type: 'tip', height: sh.st.chain.height() }))
      .with({ type: 'DOWN' }, (d) => {
        if (d.path === (sh.args.store ?? STORE).path) throw new Error('the store stopped');
      })
      .exhaustive();
    flushSends(sh);
    return sh;
  },
  // A graceful stop waits for queued block writes: the datadir lock is released only after them.
  terminate: (sh) => sh.store.close(),
  summarize: (sh) => ({ ...chainSummary(sh.st), blockFiles: sh.store.stats(), writing: sh.writing, loaded: sh.loaded }),
});
