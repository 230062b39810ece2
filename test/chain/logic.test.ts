/** The block actor's logic, driven without sockets, disks or clocks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateChain, mineBlock, type GeneratedBlock } from '../../src/tools/chain/generate.js';
import { checkBlock } from '../../src/wire/block.js';
import { networkParams } from '../../src/wire/network.js';
import { NODE_NETWORK, NODE_NETWORK_LIMITED, NODE_WITNESS, MSG_BLOCK, MSG_WITNESS_BLOCK } from '../../src/wire/constants.js';
import type { Message } from '../../src/wire/messages.js';
import { DEFAULT_CHAIN_CONFIG, MAX_UNSTORED_BLOCKS, initChain, stepChain, type ChainConfig, type ChainEffect, type ChainState } from '../../src/chain/logic.js';

const regtest = networkParams('regtest');
const CONFIG: ChainConfig = { ...DEFAULT_CHAIN_CONFIG, minimumChainWork: 0n, pruned: false };
const FULL = NODE_NETWORK | NODE_WITNESS;
/** A clock reading after the generated chains' timestamps (2011 onwards): the future-time rule compares with it. */
const T0 = 2_000_000_000_000;

const cache = new Map<string, GeneratedBlock[]>();
function chain(n: number, seed = 0): GeneratedBlock[] {
  const k = `${n}/${seed}`;
  let c = cache.get(k);
  if (!c) cache.set(k, (c = [...generateChain({ blocks: n, seed })]));
  return c;
}

function up(s: ChainState, peer: number, now = T0, over: { inbound?: boolean; services?: bigint; preferHeaders?: boolean } = {}): ChainEffect[] {
  return stepChain(s, {
    type: 'peer-connected',
    peer,
    inbound: over.inbound ?? false,
    connType: over.inbound ? 'inbound' : 'outbound-full-relay',
    services: over.services ?? FULL,
    startHeight: 0,
    preferHeaders: over.preferHeaders ?? false,
    now,
  });
}

/** One message, with what the logic defers to a later turn run right after it, as the shell does. */
function msg(s: ChainState, peer: number, m: Message, now = T0): ChainEffect[] {
  const fx = stepChain(s, { type: 'message', peer, msg: m, now });
  for (let i = 0; i < fx.length; i++) {
    const e = fx[i];
    if (e.kind === 'defer') fx.push(...stepChain(s, e.event));
  }
  return fx;
}
const sent = (fx: ChainEffect[], peer?: number): Message[] =>
  fx.flatMap((e) => (e.kind === 'send' && (peer === undefined || e.peer === peer) ? [e.msg] : []));
const getdataHashes = (fx: ChainEffect[], peer: number): string[] =>
  sent(fx, peer).flatMap((m) => (m.command === 'getdata' ? m.items.map((i) => i.hash.toString('hex')) : []));

/** Delivers a block from `peer` and runs the check and store round trips as the shell would. */
function deliver(s: ChainState, peer: number, g: GeneratedBlock, now = T0): ChainEffect[] {
  const out: ChainEffect[] = [];
  const queue = msg(s, peer, { command: 'block', block: g.block }, now);
  while (queue.length > 0) {
    const e = queue.shift() as ChainEffect;
    out.push(e);
    if (e.kind === 'check-block') queue.push(...stepChain(s, { type: 'block-checked', peer: e.peer, entry: e.entry, result: checkBlock(e.block), raw: g.raw, now }));
    if (e.kind === 'store-block') queue.push(...stepChain(s, { type: 'block-stored', entry: e.entry, bytes: e.raw.length, now }));
  }
  return out;
}

function headersOf(c: readonly GeneratedBlock[], from: number, to: number): Message {
  return { command: 'headers', headers: c.slice(from, to).map((g) => g.block.header) };
}

test('headers sync: one outbound peer at a time, continued while replies are full, then every other peer asked', () => {
  const c = chain(2100);
  const s = initChain(regtest, CONFIG);
  const fx1 = up(s, 1);
  assert.ok(sent(fx1, 1).some((m) => m.command === 'sendheaders'), 'BIP130: sendheaders to every peer');
  const gh = sent(fx1, 1).filter((m) => m.command === 'getheaders');
  assert.equal(gh.length, 1);
  assert.equal(gh[0].command, 'getheaders');
  assert.equal(sent(up(s, 2)).filter((m) => m.command === 'getheaders').length, 0, 'second peer waits for the first sync');
  const fx2 = msg(s, 1, headersOf(c, 0, 2000));
  assert.ok(fx2.some((e) => e.kind === 'store-headers' && e.entries.length === 2000));
  const more = sent(fx2, 1).filter((m) => m.command === 'getheaders');
  assert.equal(more.length, 1, 'a full reply asks for more');
  assert.equal(more[0].command === 'getheaders' && more[0].locator[0].toString('hex'), c[1999].block.header.hash.toString('hex'));
  // The next batch is asked for before this one is checked: the request comes first, the check a turn later.
  const fxNow = stepChain(withSyncPeer(), { type: 'message', peer: 1, msg: headersOf(c, 0, 2000), now: T0 });
  assert.deepEqual(fxNow.map((e) => e.kind), ['send', 'defer'], 'getheaders, then the deferred check');
  assert.equal(getdataHashes(fx2, 1).length, 0, 'no blocks from the sync peer while it still has headers');
  const fx3 = msg(s, 1, headersOf(c, 2000, 2100));
  assert.equal(s.tree.best().height, 2100);
  assert.equal(sent(fx3, 2).filter((m) => m.command === 'getheaders').length, 1, 'after the sync peer is done, the others are asked');
  assert.equal(getdataHashes(fx3, 1).length, 16, 'its headers done, 16 blocks in flight from it');
});

/** A fresh chain state with peer 1 as the headers-sync peer. */
function withSyncPeer(): ChainState {
  const s = initChain(regtest, CONFIG);
  up(s, 1);
  return s;
}

test('headers: a full batch that fails unpunished (time too new) drops the answer asked past it, quietly', () => {
  const c = chain(2001);
  const s = initChain(regtest, CONFIG);
  up(s, 1);
  // Checked with a clock two hours before the batch's last timestamps: the later ones are "too new".
  const lastTime = c[1999].block.header.time;
  const early = (lastTime - 3 * 3600) * 1000;
  const fx = msg(s, 1, headersOf(c, 0, 2000), early);
  assert.equal(sent(fx, 1).filter((m) => m.command === 'getheaders').length, 1, 'asked past the batch before checking it');
  assert.ok(!fx.some((e) => e.kind === 'disconnect'), 'time-too-new is not punished');
  assert.ok(s.tree.best().height < 2000, `not all stored (${s.tree.best().height})`);
  const before = s.peers.get(1)!.unconnecting;
  const fx2 = msg(s, 1, headersOf(c, 2000, 2001), early);
  assert.equal(s.peers.get(1)!.unconnecting, before, 'the answer is not counted as unconnecting');
  assert.equal(sent(fx2, 1).length, 0, 'and not answered');
  // A batch that fails punished disconnects its sender (the answer never matters).
  const s2 = initChain(regtest, CONFIG);
  up(s2, 1);
  const bad = headersOf(c, 0, 2000);
  const hs = bad.command === 'headers' ? [...bad.headers] : [];
  hs[1500] = { ...hs[1500], bits: 0x1d00ffff };
  const fxBad = msg(s2, 1, { command: 'headers', headers: hs });
  assert.ok(fxBad.some((e) => e.kind === 'disconnect' && e.peer === 1 && e.discourage));
});

test('download: 16 per peer, blocks spread over peers, nothing requested twice, never past the 1,024-block window', () => {
  const c = chain(2100);
  const s = initChain(regtest, CONFIG);
  up(s, 1);
  up(s, 2);
  msg(s, 1, headersOf(c, 0, 2000));
  msg(s, 1, { command: 'headers', headers: [] }); // the sync peer has no more: its blocks start
  const fx = msg(s, 2, headersOf(c, 0, 2000)); // peer 2 now known to have them too
  const all = [...getdataHashes(fx, 2)];
  assert.equal(s.inFlight.size, 32);
  assert.equal(new Set([...s.inFlight.keys()].map((e) => e.hash.toString('hex'))).size, 32);
  assert.equal(all.length, 16);
  // Deliver everything peer 2 is given, repeatedly: peer 1 keeps its first 16 blocks.
  let delivered = 0;
  for (let round = 0; round < 200; round++) {
    const mine = [...s.peers.get(2)!.inFlight];
    if (mine.length === 0) break;
    for (const e of mine) {
      deliver(s, 2, c[e.height - 1]);
      delivered++;
    }
  }
  const maxRequested = Math.max(...[...s.inFlight.keys()].map((e) => e.height));
  assert.ok(maxRequested <= 1024 + 1, `highest block in flight ${maxRequested} stays within the window`);
  assert.equal(s.chain.height(), 0, 'the tip waits for peer 1’s blocks');
  assert.ok(delivered > 900, `peer 2 filled the window (${delivered})`);
  // Peer 1 holds up the window: it is marked stalling, and dropped once the timeout passes.
  assert.equal(s.peers.get(1)!.stallingSince, T0);
  assert.ok(!stepChain(s, { type: 'tick', now: T0 + 500 }).some((e) => e.kind === 'disconnect'), 'not before the timeout');
  const tLate = stepChain(s, { type: 'tick', now: T0 + 10_000 });
  const drop = tLate.find((e) => e.kind === 'disconnect');
  assert.ok(drop && drop.kind === 'disconnect' && drop.peer === 1 && /stalling/.test(drop.reason), JSON.stringify(tLate.map((e) => e.kind)));
  assert.equal(s.stallTimeoutMs, 4000, 'the stall timeout doubles');
  // Its blocks go to peer 2 at once.
  assert.ok(getdataHashes(tLate, 2).length > 0);
  for (let round = 0; round < 400 && s.chain.height() < 2000; round++) {
    const mine = [...s.peers.get(2)!.inFlight];
    if (mine.length === 0) stepChain(s, { type: 'tick', now: T0 + 10_000 + round });
    for (const e of mine) deliver(s, 2, c[e.height - 1], T0 + 10_000 + round);
  }
  assert.equal(s.chain.height(), 2000);
  assert.ok(s.stallTimeoutMs < 4000, 'connected blocks shorten the stall timeout again');
});

test('blocks: mutated data discourages the sender but keeps the header; a consensus failure marks it invalid', () => {
  const c = chain(5);
  const s = initChain(regtest, CONFIG);
  up(s, 1);
  up(s, 2);
  msg(s, 1, headersOf(c, 0, 5));
  msg(s, 2, headersOf(c, 0, 5));
  const e1 = s.tree.get(c[0].block.header.hash)!;
  const holder = s.inFlight.get(e1)!.peer;
  const other = holder === 1 ? 2 : 1;
  // The holder sends block 1 with its coinbase duplicated after a real one: bad merkle root.
  const bad = { ...c[0].block, txs: [c[0].block.txs[0], c[0].block.txs[0]] };
  const fx = msg(s, holder, { command: 'block', block: bad });
  const check = fx.find((e) => e.kind === 'check-block');
  assert.ok(check && check.kind === 'check-block');
  const verdict = stepChain(s, { type: 'block-checked', peer: holder, entry: check.entry, result: checkBlock(bad), raw: Buffer.alloc(0), now: T0 });
  const d = verdict.find((e) => e.kind === 'disconnect');
  assert.ok(d && d.kind === 'disconnect' && d.peer === holder && d.discourage);
  assert.equal(e1.invalid, false, 'bad data is not a bad header');
  assert.ok(getdataHashes(verdict, other).includes(c[0].block.header.hash.toString('hex')), 'fetched from the other peer');
  deliver(s, other, c[0]);
  assert.equal(s.chain.height(), 1);

  // A block breaking a consensus rule (no coinbase first) under a valid header: invalid for good.
  const broken = mineBlock(c[4].block.header, 6, c[4].block.header.time + 600, []);
  msg(s, other, { command: 'headers', headers: [broken.block.header] });
  const e6 = s.tree.get(broken.block.header.hash)!;
  const result = { ok: false as const, rule: 'first-tx-not-coinbase' as const, reason: 'bad-cb-missing', message: 'first tx is not coinbase' };
  s.storing.add(e6);
  const fx6 = stepChain(s, { type: 'block-checked', peer: other, entry: e6, result, raw: Buffer.alloc(0), now: T0 });
  assert.ok(fx6.some((e) => e.kind === 'invalid'));
  assert.equal(e6.invalid, true);
});

test('serving: getheaders from a locator to hashStop, getblocks with hashContinue, getdata and notfound', () => {
  const c = chain(600);
  const s = initChain(regtest, CONFIG);
  up(s, 1);
  msg(s, 1, headersOf(c, 0, 600));
  for (const g of c) {
    const e = s.tree.get(g.block.header.hash)!;
    s.storing.add(e);
    stepChain(s, { type: 'block-stored', entry: e, bytes: g.raw.length, now: T0 });
  }
  assert.equal(s.chain.height(), 600);
  up(s, 9, 0, { inbound: true });
  const h = sent(msg(s, 9, { command: 'getheaders', version: 70016, locator: [c[99].block.header.hash, regtest.genesisHash], hashStop: c[109].block.header.hash }), 9);
  assert.equal(h[0].command, 'headers');
  assert.deepEqual(
    h[0].command === 'headers' && h[0].headers.map((x) => x.hash.toString('hex')),
    c.slice(100, 110).map((g) => g.block.header.hash.toString('hex')),
  );
  const inv = sent(msg(s, 9, { command: 'getblocks', version: 70016, locator: [regtest.genesisHash], hashStop: Buffer.alloc(32) }), 9);
  assert.equal(inv[0].command === 'inv' && inv[0].items.length, 500);
  const gd = msg(s, 9, { command: 'getdata', items: [{ type: MSG_WITNESS_BLOCK, hash: c[499].block.header.hash }, { type: MSG_BLOCK, hash: Buffer.alloc(32, 7) }] });
  const sb = gd.find((e) => e.kind === 'send-block');
  assert.ok(sb && sb.kind === 'send-block' && sb.witness && sb.entry.height === 500);
  const after = sent(gd, 9);
  assert.ok(after.some((m) => m.command === 'inv' && m.items[0].hash.equals(c[599].block.header.hash)), 'hashContinue: inv of the tip');
  assert.ok(after.some((m) => m.command === 'notfound' && m.items.length === 1));
  // One block per getdata (the peer actor hands them out one at a time): a second block is answered notfound, not read.
  const two = msg(s, 9, { command: 'getdata', items: [{ type: MSG_WITNESS_BLOCK, hash: c[10].block.header.hash }, { type: MSG_WITNESS_BLOCK, hash: c[11].block.header.hash }] });
  assert.equal(two.filter((e) => e.kind === 'send-block').length, 1);
  const nf = sent(two, 9).find((m) => m.command === 'notfound');
  assert.ok(nf && nf.command === 'notfound' && nf.items.length === 1 && nf.items[0].hash.equals(c[11].block.header.hash));
});

test('a pruned node refuses blocks deeper than 288 and disconnects the asker', () => {
  const c = chain(400);
  const s = initChain(regtest, { ...CONFIG, pruned: true });
  up(s, 1);
  msg(s, 1, headersOf(c, 0, 400));
  for (const g of c) {
    const e = s.tree.get(g.block.header.hash)!;
    stepChain(s, { type: 'block-stored', entry: e, bytes: 1, now: T0 });
  }
  up(s, 2, 0, { inbound: true, services: NODE_NETWORK_LIMITED });
  const ok = msg(s, 2, { command: 'getdata', items: [{ type: MSG_WITNESS_BLOCK, hash: c[399].block.header.hash }] });
  assert.ok(ok.some((e) => e.kind === 'send-block'));
  const deep = msg(s, 2, { command: 'getdata', items: [{ type: MSG_WITNESS_BLOCK, hash: c[10].block.header.hash }] });
  assert.ok(deep.some((e) => e.kind === 'disconnect' && e.peer === 2));
});

test('announcements: headers to peers that sent sendheaders, inv to the others; an inv of an unknown block asks for headers', () => {
  const c = chain(12);
  const s = initChain(regtest, CONFIG);
  up(s, 1);
  msg(s, 1, headersOf(c, 0, 10));
  for (const g of c.slice(0, 10)) deliver(s, 1, g);
  assert.equal(s.chain.height(), 10);
  up(s, 2, 0, { inbound: true, preferHeaders: true });
  up(s, 3, 0, { inbound: true });
  // Both inbound peers learn our chain from getheaders, then block 11 arrives from peer 1.
  msg(s, 2, { command: 'getheaders', version: 70016, locator: [regtest.genesisHash], hashStop: Buffer.alloc(32) });
  msg(s, 3, { command: 'getheaders', version: 70016, locator: [regtest.genesisHash], hashStop: Buffer.alloc(32) });
  msg(s, 1, headersOf(c, 10, 11));
  const fx = deliver(s, 1, c[10]);
  const to2 = sent(fx, 2);
  const to3 = sent(fx, 3);
  assert.ok(to2.some((m) => m.command === 'headers' && m.headers.length === 1 && m.headers[0].hash.equals(c[10].block.header.hash)), JSON.stringify(to2.map((m) => m.command)));
  assert.ok(to3.some((m) => m.command === 'inv' && m.items[0].hash.equals(c[10].block.header.hash)));
  assert.equal(sent(fx, 1).filter((m) => m.command === 'inv' || m.command === 'headers').length, 0, 'not announced back to its source');
  const ask = msg(s, 3, { command: 'inv', items: [{ type: MSG_BLOCK, hash: c[11].block.header.hash }] }, T0 + 1);
  assert.ok(sent(ask, 3).some((m) => m.command === 'getheaders'));
});

test('unconnecting headers: asked for what is missing each time, never punished (Core v28+ dropped MAX_NUM_UNCONNECTING_HEADERS_MSGS, PR 29575)', () => {
  const c = chain(30);
  const s = initChain(regtest, CONFIG);
  up(s, 1);
  for (let i = 1; i <= 50; i++) {
    const fx = msg(s, 1, headersOf(c, 20, 21), T0 + i);
    assert.ok(sent(fx, 1).some((m) => m.command === 'getheaders'), `message ${i} answered with getheaders`);
    assert.ok(!fx.some((e) => e.kind === 'disconnect'), `message ${i} not punished`);
  }
  assert.ok(s.peers.has(1));
});

test('an inbound peer with the chain is used when the outbound peers have nothing to give (Core: nothing in flight)', () => {
  const c = chain(40);
  const s = initChain(regtest, CONFIG);
  up(s, 1); // outbound, knows nothing past genesis
  msg(s, 1, { command: 'headers', headers: [] });
  up(s, 2, T0, { inbound: true });
  const fx = msg(s, 2, headersOf(c, 0, 40));
  assert.equal(getdataHashes(fx, 2).length, 16, 'blocks requested from the inbound peer');
  // Once blocks are in flight, the inbound peer is not given more than its own slots; the outbound still gets none (it has none).
  assert.equal(getdataHashes(fx, 1).length, 0);
});

test('download: a block that arrives frees its slot at once (the next is asked for before it is checked or stored), until 64 wait to be stored', () => {
  const c = chain(300);
  const s = initChain(regtest, CONFIG);
  up(s, 1);
  msg(s, 1, headersOf(c, 0, 300));
  assert.equal(s.peers.get(1)!.inFlight.size, 16);
  // Blocks arrive; their checks and writes are still under way (no block-checked, no block-stored yet).
  let asked = 16;
  for (let i = 0; i < MAX_UNSTORED_BLOCKS; i++) {
    const fx = msg(s, 1, { command: 'block', block: c[i].block });
    assert.ok(fx.some((e) => e.kind === 'check-block'), `block ${i + 1} goes to the check`);
    const more = getdataHashes(fx, 1);
    if (i < MAX_UNSTORED_BLOCKS - 1) {
      assert.deepEqual(more, [c[asked].block.header.hash.toString('hex')], `block ${i + 1}'s arrival asks for block ${asked + 1}`);
      asked++;
    } else assert.deepEqual(more, [], `with ${MAX_UNSTORED_BLOCKS} blocks unstored, an arrival asks for nothing more`);
  }
  assert.equal(s.storing.size, MAX_UNSTORED_BLOCKS);
  assert.equal(s.peers.get(1)!.inFlight.size, 15, 'a slot stays free while the writes lag');
  // One of them is checked and stored: the free slot is filled again.
  const first = s.tree.get(c[0].block.header.hash)!;
  const checked = stepChain(s, { type: 'block-checked', peer: 1, entry: first, result: checkBlock(c[0].block), raw: c[0].raw, now: T0 });
  assert.ok(checked.some((e) => e.kind === 'store-block'));
  const stored = stepChain(s, { type: 'block-stored', entry: first, bytes: c[0].raw.length, now: T0 });
  assert.deepEqual(getdataHashes(stored, 1), [c[asked].block.header.hash.toString('hex')]);
  assert.equal(s.chain.height(), 1);
});

test('download: nothing is fetched from a peer whose best chain is below the minimum chain work (Core)', () => {
  const c = chain(20);
  // The tree already holds the 20 headers (e.g. stored before the setting was raised); the peer has exactly them.
  const low = initChain(regtest, { ...CONFIG, minimumChainWork: 1n << 40n });
  low.tree.addHeaders(c.map((g) => g.block.header), Math.floor(T0 / 1000));
  up(low, 1);
  msg(low, 1, { command: 'headers', headers: [] }); // its headers sync is over (it has nothing more)
  const fx = msg(low, 1, { command: 'inv', items: [{ type: MSG_BLOCK, hash: c[19].block.header.hash }] });
  assert.equal(getdataHashes(fx, 1).length, 0, 'below the minimum work: no blocks asked');
  assert.equal(low.inFlight.size, 0);
  // The same with no minimum: the peer's blocks are fetched.
  const ok = initChain(regtest, CONFIG);
  ok.tree.addHeaders(c.map((g) => g.block.header), Math.floor(T0 / 1000));
  up(ok, 1);
  msg(ok, 1, { command: 'headers', headers: [] });
  const fx2 = msg(ok, 1, { command: 'inv', items: [{ type: MSG_BLOCK, hash: c[19].block.header.hash }] });
  assert.equal(getdataHashes(fx2, 1).length, 16);
});

test('serving: the upload target arrives with each getdata; an old block is refused (disconnect) only while it says so', () => {
  // Blocks 10 minutes apart: the first is more than a week older than the 2,000th.
  const c = chain(2100);
  const s = initChain(regtest, CONFIG);
  up(s, 1);
  msg(s, 1, headersOf(c, 0, 2000));
  for (const g of c.slice(0, 3)) {
    const e = s.tree.get(g.block.header.hash)!;
    e.haveData = true;
  }
  up(s, 2, T0, { inbound: true });
  const ask = (serveHistorical: boolean | undefined): ChainEffect[] =>
    stepChain(s, { type: 'message', peer: 2, msg: { command: 'getdata', items: [{ type: MSG_WITNESS_BLOCK, hash: c[0].block.header.hash }] }, now: T0, ...(serveHistorical === undefined ? {} : { serveHistorical }) });
  const served = ask(true);
  assert.ok(served.some((e) => e.kind === 'send-block'), 'allowed: served');
  const refused = ask(false);
  assert.ok(refused.some((e) => e.kind === 'disconnect' && e.peer === 2 && /maxuploadtarget/.test(e.reason)), JSON.stringify(refused.map((e) => e.kind)));
  assert.equal(s.stats.uploadRefused, 1);
});
