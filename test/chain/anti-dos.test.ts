/**
 * Core's anti-DoS header work threshold (GetAntiDoSWorkThreshold) and the punishment table's chain
 * rows, in the block logic, driven without sockets, disks or clocks. On regtest a block's proof is
 * 2, and the minimum chain work is 0 unless set: with the tip at height 300 the threshold is
 * 2 × 301 − 144 × 2 = 314.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateChain, type GeneratedBlock } from '../../src/tools/chain/generate.js';
import { networkParams } from '../../src/wire/network.js';
import { NODE_NETWORK, NODE_WITNESS, PROTOCOL_VERSION } from '../../src/wire/constants.js';
import type { Message } from '../../src/wire/messages.js';
import type { ConnType } from '../../src/contracts/connection.js';
import { DEFAULT_CHAIN_CONFIG, activateBestChain, antiDosThreshold, initChain, stepChain, type ChainConfig, type ChainEffect, type ChainState } from '../../src/chain/logic.js';
import { HeadersSyncState } from '../../src/chain/presync.js';

const regtest = networkParams('regtest');
const CONFIG: ChainConfig = { ...DEFAULT_CHAIN_CONFIG, minimumChainWork: 0n, pruned: false };
const T0 = 2_000_000_000_000;
const TIP = 300;

const cache = new Map<string, GeneratedBlock[]>();
function chain(n: number, seed = 0, prefix?: readonly GeneratedBlock[]): GeneratedBlock[] {
  const k = `${n}/${seed}/${prefix?.length ?? 0}`;
  let c = cache.get(k);
  const last = prefix?.[prefix.length - 1];
  if (!c) cache.set(k, (c = [...generateChain({ blocks: n, seed, txsPerBlock: 0, ...(last ? { parent: { header: last.block.header, height: last.height } } : {}) })]));
  return c;
}

/** A chain state whose tip is `c`'s last block (headers added, blocks marked present, tip activated). */
function synced(c: readonly GeneratedBlock[], config: ChainConfig = CONFIG): ChainState {
  const s = initChain(regtest, config);
  const r = s.tree.addHeaders(
    c.map((g) => g.block.header),
    T0 / 1000,
  );
  assert.equal(r.error, undefined);
  for (const e of r.added) e.haveData = true;
  activateBestChain(s);
  assert.equal(s.chain.tip().height, c.length);
  return s;
}

function up(s: ChainState, peer: number, connType: ConnType = 'outbound-full-relay', noban = false): void {
  stepChain(s, { type: 'peer-connected', peer, inbound: connType === 'inbound', connType, services: NODE_NETWORK | NODE_WITNESS, startHeight: 0, preferHeaders: false, noban, now: T0 });
}

function msg(s: ChainState, peer: number, m: Message, now = T0): ChainEffect[] {
  const fx = stepChain(s, { type: 'message', peer, msg: m, now });
  for (let i = 0; i < fx.length; i++) {
    const e = fx[i];
    if (e.kind === 'defer') fx.push(...stepChain(s, e.event));
  }
  return fx;
}
const stored = (fx: ChainEffect[]): number => fx.reduce((n, e) => n + (e.kind === 'store-headers' ? e.entries.length : 0), 0);
const disconnect = (fx: ChainEffect[]) => fx.find((e): e is Extract<ChainEffect, { kind: 'disconnect' }> => e.kind === 'disconnect');
const headers = (c: readonly GeneratedBlock[]): Message => ({ command: 'headers', headers: c.map((g) => g.block.header) });

test('the threshold is max(minimum chain work, tip work − 144 × the tip’s block proof)', () => {
  assert.equal(antiDosThreshold(initChain(regtest, CONFIG)), 0n, 'at genesis: the minimum chain work');
  assert.equal(antiDosThreshold(initChain(regtest, { ...CONFIG, minimumChainWork: 1000n })), 1000n);
  const main = chain(TIP, 1);
  assert.equal(antiDosThreshold(synced(main)), 2n * BigInt(TIP + 1) - 144n * 2n);
  assert.equal(antiDosThreshold(synced(main, { ...CONFIG, minimumChainWork: 10_000n })), 10_000n, 'the minimum chain work when higher');
  assert.equal(antiDosThreshold(synced(chain(100, 1))), 0n, 'never below zero (tip work under the buffer)');
});

test('after sync, a short fork from genesis below the threshold is not stored and its sender not punished (Core: "Ignoring low-work chain")', () => {
  const s = synced(chain(TIP, 1));
  up(s, 1);
  const before = s.tree.size;
  const fx = msg(s, 1, headers(chain(100, 2)));
  assert.equal(stored(fx), 0);
  assert.equal(s.tree.size, before);
  assert.equal(disconnect(fx), undefined);
  assert.equal(s.stats.lowWorkHeaders, 100);
  assert.ok(s.peers.has(1));
});

test('a fork within the 144-block buffer, headers we already have, and a noban peer pass the threshold', () => {
  const main = chain(TIP, 1);
  const s = synced(main);
  up(s, 1);
  // From height 250, 3 headers: work 2 × 254 = 508 ≥ 314.
  const near = chain(3, 3, main.slice(0, 250));
  assert.equal(stored(msg(s, 1, headers(near))), 3);
  // The first 100 headers of our own chain again: already on the path to our tip, no threshold (Core: IsAncestorOfBestHeaderOrTip).
  const again = msg(s, 1, headers(main.slice(0, 100)));
  assert.equal(disconnect(again), undefined);
  assert.equal(s.stats.lowWorkHeaders, 0);
  // Core bypasses the anti-DoS logic for a noban peer: its low-work fork is stored.
  up(s, 2, 'inbound', true);
  assert.equal(stored(msg(s, 2, headers(chain(100, 4)))), 100);
});

test('a full batch below the threshold starts a presync that stores nothing; a presync whose next batch does not continue ends, the peer kept (Core HeadersSyncState)', () => {
  const c = chain(2100, 5);
  const s = initChain(regtest, { ...CONFIG, minimumChainWork: 1_000_000n });
  up(s, 1);
  const fx = msg(s, 1, headers(c.slice(0, 2000)));
  assert.equal(stored(fx), 0);
  assert.ok(s.peers.get(1)?.presync !== null, 'presync under way');
  // The next batch does not start where the last ended: the sync is dropped, nothing punished.
  const bad = msg(s, 1, headers(c.slice(10, 30)));
  assert.equal(disconnect(bad), undefined);
  assert.equal(s.peers.get(1)?.presync, null);
  assert.equal(s.tree.size, 1);
});

test('presync failures: bad proof of work and broken continuity inside a message are punished as Core’s CheckHeadersPoW, anything else only ends the sync', () => {
  const c = chain(30, 6);
  const start = (): HeadersSyncState => {
    const s = initChain(regtest, CONFIG);
    return new HeadersSyncState(s.tree, s.tree.genesis, 1_000_000n);
  };
  const h = c.map((g) => g.block.header);
  assert.equal(start().process(h.slice(5, 10), false).offence, 'presync-failed', 'a first header that does not continue the sync');
  assert.equal(start().process([h[0], h[1], h[3]], false).offence, 'headers-not-continuous');
  const badPow = { ...h[0], hash: Buffer.alloc(32, 0xff) };
  assert.equal(start().process([badPow], false).offence, 'header-bad-pow');
  assert.equal(start().process(h.slice(0, 5), false).success, true);
});

test('unrequested blocks: on genesis (too little work) not stored and not punished; an unknown parent discourages (BLOCK_MISSING_PREV), but not a manual peer', () => {
  const s = synced(chain(TIP, 1));
  up(s, 1, 'inbound');
  const before = s.tree.size;
  const low = msg(s, 1, { command: 'block', block: chain(1, 7)[0].block });
  assert.equal(stored(low), 0);
  assert.equal(s.tree.size, before, 'not even its header');
  assert.equal(disconnect(low), undefined);
  const orphan = chain(2, 8)[1].block;
  const d = disconnect(msg(s, 1, { command: 'block', block: orphan }));
  assert.ok(d?.discourage, 'an inbound peer: discouraged');
  up(s, 2, 'manual');
  assert.equal(disconnect(msg(s, 2, { command: 'block', block: orphan })), undefined, 'a manual peer: never punished');
  assert.ok(s.peers.has(2));
  assert.equal(s.tree.size, before);
});

test('getheaders while our chain is below the minimum chain work: an empty headers reply, unless the peer has noban (download)', () => {
  const main = chain(50, 9);
  const s = synced(main, { ...CONFIG, minimumChainWork: 1_000_000n });
  const ask: Message = { command: 'getheaders', version: PROTOCOL_VERSION, locator: [regtest.genesis.header.hash], hashStop: Buffer.alloc(32) };
  up(s, 1, 'inbound');
  const plain = msg(s, 1, ask).flatMap((e) => (e.kind === 'send' && e.msg.command === 'headers' ? [e.msg] : []));
  assert.deepEqual(
    plain.map((m) => (m.command === 'headers' ? m.headers.length : -1)),
    [0],
  );
  up(s, 2, 'inbound', true);
  const noban = msg(s, 2, ask).flatMap((e) => (e.kind === 'send' && e.msg.command === 'headers' ? [e.msg] : []));
  assert.deepEqual(
    noban.map((m) => (m.command === 'headers' ? m.headers.length : -1)),
    [50],
  );
  // Above the minimum: answered.
  const ok = synced(main);
  up(ok, 1, 'inbound');
  assert.equal(msg(ok, 1, ask).filter((e) => e.kind === 'send' && e.msg.command === 'headers' && e.msg.headers.length === 50).length, 1);
});
