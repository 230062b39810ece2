/** The header tree: Core's header acceptance rules, chain work, skip pointers, locators, reorgs, invalidation and the active chain. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { ActiveChain, HeaderTree, MAX_FUTURE_BLOCK_TIME, skipHeight, type HeaderEntry } from '../../src/chain/headers.js';
import { generateChain } from '../../src/tools/chain/generate.js';
import { type BlockHeader } from '../../src/wire/block.js';
import { networkParams } from '../../src/wire/network.js';
import { blockProof, difficultyAdjustmentInterval, getNextWorkRequired, targetToCompact } from '../../src/wire/pow.js';
import { sha256d, toDisplayHex } from '../../src/wire/hash.js';
import { missingFixture } from '../helpers/fixtures.js';
import { EASY_BITS, EASY_LIMIT, FIXTURE, VERSION, baseOfEntry, shortPeriod, fixtureHeaders, headerFromRaw, mineChain, mineHeader, rawHeader, unmineHeader } from './mine-headers.js';

const regtest = networkParams('regtest');
const main = networkParams('main');
const testnet3 = networkParams('testnet3');
const testnet4 = networkParams('testnet4');
/** A clock far enough ahead that no fixture or mined header is in the future. */
const NOW = 4_000_000_000;
const TIP_2000 = '358f65d9216cd0f9a9a777d941814de9dd1f85befebd7d521d3e0a89cdc8d01b';
const HASH_1904 = '3edce9dffef271ce05f9c5c15a242d910c4f9958f609f67d0ea6562a74c77941';
const ROOT_1904 = '0fa77e77ca4ed92c452d25a1eafcfa1a487c10a8baec84f9d0896e686c70b801';

const H = await fixtureHeaders();

function fixtureTree(): { tree: HeaderTree; tip: HeaderEntry } {
  const tree = new HeaderTree(regtest);
  const r = tree.addHeaders(H!, NOW);
  assert.equal(r.error, undefined);
  return { tree, tip: r.last! };
}

function describe(e: HeaderEntry | null | undefined): string {
  return e ? `entry ${e.height} ${toDisplayHex(e.hash)}` : String(e);
}

/**
 * Identity of entries. Never hand entries to assert.equal: on failure it prints both values
 * without custom inspection, and an entry reaches the whole tree through parent pointers.
 */
function same(actual: HeaderEntry | null | undefined, expected: HeaderEntry | null | undefined, message?: string): void {
  if (actual !== expected) assert.fail(`${describe(actual)} is not ${describe(expected)}${message ? `: ${message}` : ''}`);
}

/** Walks parent pointers (the slow, obviously right ancestor). */
function naiveAncestor(e: HeaderEntry, height: number): HeaderEntry {
  let p = e;
  while (p.height > height) p = p.parent!;
  return p;
}

test('fixture: the 2000 regtest headers in batches of 2000, 1, 7 and 500 give the same tree and chain work', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  // Regtest bits 0x207fffff: target 0x7fffff·2^232, proof 2^256 / (target + 1) = 2, so height h has work (h + 1)·2.
  assert.equal(blockProof(0x207fffff), 2n);
  for (const size of [2000, 1, 7, 500]) {
    const tree = new HeaderTree(regtest);
    for (let i = 0; i < H.length; i += size) {
      const batch = H.slice(i, i + size);
      const r = tree.addHeaders(batch, NOW);
      assert.equal(r.error, undefined, `batch size ${size} at ${i}: ${r.error?.reason}`);
      assert.equal(r.added.length, batch.length);
      assert.ok(r.last!.hash.equals(batch[batch.length - 1].hash));
      assert.ok(r.added.every((e, k) => e.height === i + k + 1));
    }
    assert.equal(tree.size, 2001);
    const best = tree.best();
    assert.equal(best.height, 2000);
    assert.equal(toDisplayHex(best.hash), TIP_2000);
    assert.equal(best.chainWork, 4002n);
    for (let h = 0; h <= 2000; h++) {
      const e = tree.ancestor(best, h);
      assert.equal(e.height, h);
      assert.equal(e.chainWork, BigInt(h + 1) * 2n);
      assert.ok(e.hash.equals(h === 0 ? regtest.genesisHash : H[h - 1].hash));
      same(tree.get(e.hash), e);
    }
  }
});

test('fixture: entries give back the exact header; re-sent known headers add nothing', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  const { tree, tip } = fixtureTree();
  const e = tree.get(Buffer.from(HASH_1904, 'hex').reverse())!;
  assert.equal(e.height, 1904);
  assert.equal(toDisplayHex(e.header.merkleRoot), ROOT_1904);
  for (const h of [1, 1904, 2000]) assert.ok(rawHeader(tree.ancestor(tip, h).header).equals(rawHeader(H[h - 1])), `header ${h} round-trips`);
  assert.ok(rawHeader(tree.genesis.header).equals(rawHeader(regtest.genesis.header)));
  assert.equal(tree.genesis.haveData, true);
  assert.equal(tip.haveData, false);
  const again = tree.addHeaders(H.slice(0, 100), NOW);
  assert.equal(again.error, undefined);
  assert.equal(again.added.length, 0);
  same(again.last, tree.ancestor(tip, 100));
  assert.equal(tree.size, 2001);
  same(tree.get(Buffer.alloc(32)), undefined);
  same(tree.get(Buffer.alloc(5)), undefined);
  assert.equal([...tree.entries()].length, 2001);
});

test('skip pointers: Core skip heights, and ancestor() agrees with walking parents', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  // Core's GetSkipHeight: even heights clear the lowest set bit, odd ones clear it twice then add one.
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 2000].map(skipHeight), [0, 0, 0, 1, 0, 1, 4, 1, 0, 8, 1, 1984]);
  const { tree, tip } = fixtureTree();
  for (let h = 0; h <= 2000; h += 37) {
    const e = tree.ancestor(tip, h);
    same(e, naiveAncestor(tip, h));
    if (h > 0) assert.equal(e.skip, naiveAncestor(e, skipHeight(h)));
  }
  same(tree.ancestor(tip, 2000), tip);
  assert.throws(() => tree.ancestor(tip, 2001), RangeError);
  assert.throws(() => tree.ancestor(tip, -1), RangeError);
  // Median-time-past: the median of the 11 timestamps ending at the entry.
  const times = Array.from({ length: 11 }, (_, i) => H[1999 - i].time).sort((a, b) => a - b);
  assert.equal(tree.medianTimePast(tip), times[5]);
  assert.equal(tree.medianTimePast(tree.genesis), regtest.genesis.header.time);
});

test('locator: Core shape (12 single steps, then doubling, then genesis); findLocator returns the fork', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  const { tree, tip } = fixtureTree();
  const heights = tree.locator(tip).map((h) => tree.get(h)!.height);
  // Core's LocatorEntries doubles the step after computing the next height once 11 hashes are in,
  // so the 12th entry is still one back: 2000..1989, then 1987, 1983, 1975, … and genesis.
  assert.deepEqual(heights, [2000, 1999, 1998, 1997, 1996, 1995, 1994, 1993, 1992, 1991, 1990, 1989, 1987, 1983, 1975, 1959, 1927, 1863, 1735, 1479, 967, 0]);
  assert.deepEqual(tree.locator(tree.genesis), [regtest.genesisHash]);
  assert.deepEqual(tree.locator(tree.ancestor(tip, 5)).map((h) => tree.get(h)!.height), [5, 4, 3, 2, 1, 0]);

  // A 30-header fork from height 1500; its locator's first entry on the main chain is the answer.
  const e1500 = tree.ancestor(tip, 1500);
  const fork = mineChain(baseOfEntry(tree, e1500), { params: regtest, count: 30, salt: 'locator' });
  const r = tree.addHeaders(fork, NOW);
  assert.equal(r.error, undefined);
  const forkTip = r.last!;
  const chain = new ActiveChain(tree.genesis);
  chain.setTip(tip);
  const loc = tree.locator(forkTip);
  const firstOnMain = loc.map((h) => tree.get(h)!).find((e) => chain.contains(e))!;
  assert.ok(firstOnMain.height <= 1500);
  same(chain.findLocator(tree, loc), firstOnMain);
  same(chain.findLocator(tree, [forkTip.hash, e1500.hash, regtest.genesisHash]), e1500);
  // Unknown hashes are skipped; no match at all means genesis.
  same(chain.findLocator(tree, [Buffer.alloc(32, 7), tree.ancestor(tip, 1234).hash]), tree.ancestor(tip, 1234));
  same(chain.findLocator(tree, []), tree.genesis);
  same(chain.findLocator(tree, [forkTip.hash]), tree.genesis);
  // A locator from a descendant of our tip (peer is ahead of us) gives our tip.
  chain.setTip(tree.ancestor(tip, 1900));
  same(chain.findLocator(tree, tree.locator(tip)), tree.ancestor(tip, 1900));
});

test('reorg: a fork from height 1500 with more work takes best(); the active chain rewinds and extends', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  const { tree, tip: mainTip } = fixtureTree();
  const e1500 = tree.ancestor(mainTip, 1500);
  // Real blocks from the generator, mined on an older parent.
  const forkHeaders = [...generateChain({ blocks: 501, parent: { header: e1500.header, height: 1500 }, seed: 42 })].map((g) => g.block.header);
  const first = tree.addHeaders(forkHeaders.slice(0, 500), NOW);
  assert.equal(first.error, undefined);
  assert.equal(first.added.length, 500);
  const equalTip = first.last!;
  assert.equal(equalTip.height, 2000);
  assert.equal(equalTip.chainWork, mainTip.chainWork);
  same(tree.best(), mainTip, 'equal work: the first seen keeps best');
  const second = tree.addHeaders(forkHeaders.slice(500), NOW);
  const forkTip = second.last!;
  assert.equal(forkTip.height, 2001);
  same(tree.best(), forkTip, 'more work wins');
  assert.equal(forkTip.chainWork, 4004n);

  same(tree.fork(mainTip, forkTip), e1500);
  same(tree.fork(tree.ancestor(mainTip, 1700), forkTip), e1500);
  same(tree.fork(tree.ancestor(mainTip, 1200), forkTip), tree.ancestor(mainTip, 1200));
  same(tree.fork(forkTip, forkTip), forkTip);
  for (let h = 0; h <= 2001; h += 13) same(tree.ancestor(forkTip, h), naiveAncestor(forkTip, h));

  const tips = tree.tips();
  assert.equal(tips.length, 2);
  assert.ok(tips.includes(mainTip) && tips.includes(forkTip));
  const kids = tree.children(e1500);
  assert.equal(kids.length, 2);
  same(kids[0], tree.ancestor(mainTip, 1501));
  same(kids[1], tree.ancestor(forkTip, 1501));
  assert.deepEqual(tree.children(mainTip), []);

  const chain = new ActiveChain(tree.genesis);
  same(chain.tip(), tree.genesis);
  assert.equal(chain.height(), 0);
  chain.setTip(mainTip);
  const main1700 = tree.ancestor(mainTip, 1700);
  const fork1700 = tree.ancestor(forkTip, 1700);
  assert.equal(chain.height(), 2000);
  assert.ok(chain.contains(main1700) && !chain.contains(fork1700));
  chain.setTip(forkTip);
  assert.equal(chain.height(), 2001);
  same(chain.tip(), forkTip);
  assert.ok(!chain.contains(main1700) && chain.contains(fork1700) && chain.contains(e1500));
  same(chain.at(1501), tree.ancestor(forkTip, 1501));
  same(chain.next(e1500), tree.ancestor(forkTip, 1501));
  same(chain.next(main1700), undefined);
  same(chain.next(forkTip), undefined);
  for (let h = 0; h <= 2001; h += 50) same(chain.at(h), tree.ancestor(forkTip, h));
  chain.setTip(mainTip);
  assert.equal(chain.height(), 2000);
  assert.ok(chain.contains(main1700) && !chain.contains(fork1700));
  chain.setTip(tree.ancestor(mainTip, 1000));
  assert.equal(chain.height(), 1000);
  same(chain.at(1001), undefined);
  same(chain.at(-1), undefined);
});

test('rejects with Core reasons: high-hash, bad-diffbits, time-too-old, time-too-new, bad-version', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  const { tree, tip } = fixtureTree();
  const size = tree.size;
  const next = (f: { time?: number; bits?: number; version?: number }): BlockHeader =>
    mineHeader({ prevBlock: tip.hash, time: f.time ?? tip.time + 600, bits: f.bits ?? 0x207fffff, version: f.version ?? VERSION });

  // Proof of work is checked on the whole message first (Core's CheckHeadersPoW): nothing is added.
  const good = mineChain(baseOfEntry(tree, tip), { params: regtest, count: 2, salt: 'pow' });
  let r = tree.addHeaders([good[0], unmineHeader(good[1])], NOW);
  assert.deepEqual({ reason: r.error?.reason, index: r.error?.index, punish: r.error?.punish }, { reason: 'high-hash', index: 1, punish: true });
  assert.equal(r.added.length, 0);
  // Bits above the PoW limit are high-hash too, whatever the hash.
  r = tree.addHeaders([{ ...good[0], bits: 0x2100ffff }], NOW);
  assert.equal(r.error?.reason, 'high-hash');
  assert.equal(tree.size, size);

  // Regtest never retargets: any other bits (even harder, with valid proof) are bad-diffbits.
  r = tree.addHeaders([next({ bits: 0x201fffff })], NOW);
  assert.equal(r.error?.reason, 'bad-diffbits');
  assert.equal(r.error?.punish, true);

  // time must be above the median of the last 11.
  const mtp = tree.medianTimePast(tip);
  r = tree.addHeaders([next({ time: mtp })], NOW);
  assert.equal(r.error?.reason, 'time-too-old');
  assert.equal(r.error?.punish, true);

  // At most two hours ahead of our clock; not punished and not remembered (it may become valid).
  const now = tip.time + 1000;
  const future = next({ time: now + MAX_FUTURE_BLOCK_TIME + 1 });
  r = tree.addHeaders([future], now);
  assert.equal(r.error?.reason, 'time-too-new');
  assert.equal(r.error?.punish, false);
  assert.equal(tree.size, size);
  assert.equal(tree.addHeaders([future], now + 1).error, undefined, 'accepted once the clock catches up');
  const exact = mineHeader({ prevBlock: tip.hash, time: now + MAX_FUTURE_BLOCK_TIME, bits: 0x207fffff, version: 4 });
  assert.equal(tree.addHeaders([exact], now).error, undefined, 'exactly two hours ahead is fine');
  const edge = mineHeader({ prevBlock: tip.hash, time: mtp + 1, bits: 0x207fffff, version: 4 });
  assert.equal(tree.addHeaders([edge], NOW).error, undefined, 'one second past the median is fine');

  // Versions below 2/3/4 once BIP34/66/65 are active (height ≥ 1 on regtest).
  for (const [version, reason] of [
    [1, 'bad-version(0x00000001)'],
    [2, 'bad-version(0x00000002)'],
    [3, 'bad-version(0x00000003)'],
    [-1, 'bad-version(0xffffffff)'],
  ] as const) {
    r = tree.addHeaders([next({ version })], NOW);
    assert.equal(r.error?.reason, reason);
    assert.equal(r.error?.punish, true);
  }
  assert.equal(tree.addHeaders([next({ version: 4 })], NOW).error, undefined);
  assert.equal(tree.size, size + 4);
});

test('rejects: unconnecting, non-continuous, too little work; partial acceptance; bad-prevblk and duplicate-invalid', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  const fresh = new HeaderTree(regtest);
  let r = fresh.addHeaders(H.slice(10, 20), NOW);
  assert.deepEqual(r.error && { reason: r.error.reason, index: r.error.index, punish: r.error.punish }, { reason: 'prev-blk-not-found', index: 0, punish: false });
  same(r.last, undefined);
  r = fresh.addHeaders([H[0], H[1], H[3]], NOW);
  assert.deepEqual(r.error && { reason: r.error.reason, index: r.error.index, punish: r.error.punish }, { reason: 'headers-not-continuous', index: 2, punish: true });
  assert.equal(fresh.size, 1, 'a non-continuous message adds nothing');
  // Core's anti-DoS threshold: refused whole unless the batch reaches it (height 10 has work 22).
  r = fresh.addHeaders(H.slice(0, 10), NOW, { minimumChainWork: 23n });
  assert.deepEqual(r.error && { reason: r.error.reason, punish: r.error.punish }, { reason: 'too-little-chainwork', punish: false });
  assert.equal(fresh.size, 1);
  assert.equal(fresh.addHeaders(H.slice(0, 10), NOW, { minimumChainWork: 22n }).error, undefined);
  same(fresh.addHeaders([], NOW).last, undefined);

  const { tree, tip } = fixtureTree();
  const [m1, m2] = mineChain(baseOfEntry(tree, tip), { params: regtest, count: 2, salt: 'partial' });
  const bad3 = mineHeader({ prevBlock: m2.hash, time: m2.time + 600, bits: 0x207fffff, version: 1 });
  const m4 = mineHeader({ prevBlock: bad3.hash, time: bad3.time + 600, bits: 0x207fffff });
  r = tree.addHeaders([m1, m2, bad3, m4], NOW);
  assert.equal(r.error?.reason, 'bad-version(0x00000001)');
  assert.equal(r.error?.index, 2);
  assert.equal(r.added.length, 2, 'the headers before the bad one stay added');
  assert.ok(r.last!.hash.equals(m2.hash));
  same(tree.best(), r.last);
  // The bad one is remembered: refused again cheaply.
  r = tree.addHeaders([bad3], NOW);
  assert.deepEqual(r.error && { reason: r.error.reason, index: r.error.index, punish: r.error.punish }, { reason: 'duplicate-invalid', index: 0, punish: true });
  assert.equal(tree.isKnownInvalid(bad3.hash), true);
  // m1 known (skipped), m2 known, then the remembered invalid one.
  r = tree.addHeaders([m1, m2, bad3], NOW);
  assert.equal(r.error?.reason, 'duplicate-invalid');
  assert.equal(r.error?.index, 2);
  assert.equal(r.added.length, 0);
  assert.ok(r.last!.hash.equals(m2.hash));

  // A block found bad later: its header is invalid, its children bad-prevblk, re-sends duplicate-invalid.
  const e2 = tree.get(m2.hash)!;
  tree.invalidate(e2);
  assert.equal(tree.status(e2), 'invalid');
  same(tree.best(), tree.get(m1.hash));
  const child = mineHeader({ prevBlock: m2.hash, time: m2.time + 600, bits: 0x207fffff });
  r = tree.addHeaders([child], NOW);
  assert.deepEqual(r.error && { reason: r.error.reason, punish: r.error.punish }, { reason: 'bad-prevblk', punish: true });
  assert.equal(tree.addHeaders([child], NOW).error?.reason, 'duplicate-invalid');
  assert.equal(tree.addHeaders([m2], NOW).error?.reason, 'duplicate-invalid');
  assert.equal(tree.addHeaders([m1, m2], NOW).error?.index, 1);
});

test('invalidate(): a block in the middle marks its descendants; best() falls back to the best valid branch', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  const { tree, tip } = fixtureTree();
  const e1500 = tree.ancestor(tip, 1500);
  const fork = tree.addHeaders(mineChain(baseOfEntry(tree, e1500), { params: regtest, count: 300, salt: 'inv' }), NOW).last!;
  assert.equal(fork.height, 1800);
  same(tree.best(), tip);
  const main1600 = tree.ancestor(tip, 1600);
  tree.invalidate(main1600);
  for (let h = 1600; h <= 2000; h += 20) assert.equal(tree.ancestor(tip, h).invalid, true, `main ${h} invalid`);
  assert.equal(tree.ancestor(tip, 1599).invalid, false);
  assert.equal(fork.invalid, false);
  same(tree.best(), fork, 'the fork (1800) beats the valid part of the main chain (1599)');
  assert.equal(tree.status(tip), 'invalid');
  assert.equal(tree.status(fork), 'valid-header');
  assert.equal(tree.tips().length, 2, 'invalid leaves are still tips');
  tree.invalidate(tree.ancestor(fork, 1501));
  same(tree.best(), tree.ancestor(tip, 1599));
  // Headers extending the valid part still work.
  const ext = tree.addHeaders(mineChain(baseOfEntry(tree, tree.ancestor(tip, 1599)), { params: regtest, count: 3, salt: 'after' }), NOW);
  assert.equal(ext.error, undefined);
  same(tree.best(), ext.last);
  assert.throws(() => tree.invalidate(tree.genesis));
});

test('invalidate(): among equal-work candidates the first seen becomes best', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  const { tree, tip } = fixtureTree();
  const e1500 = tree.ancestor(tip, 1500);
  // B reaches 1900 first; A then reaches 1901, and only after that B reaches 1901.
  const b = mineChain(baseOfEntry(tree, e1500), { params: regtest, count: 401, salt: 'B' });
  const a = mineChain(baseOfEntry(tree, e1500), { params: regtest, count: 401, salt: 'A' });
  assert.equal(tree.addHeaders(b.slice(0, 400), NOW).error, undefined);
  assert.equal(tree.addHeaders(a, NOW).error, undefined);
  assert.equal(tree.addHeaders(b.slice(400), NOW).error, undefined);
  const [a1900, a1901, b1900, b1901] = [a[399], a[400], b[399], b[400]].map((h) => tree.get(h.hash)!);
  assert.ok(b1900.id < a1900.id && a1901.id < b1901.id);
  tree.invalidate(tree.ancestor(tip, 1501));
  same(tree.best(), a1901, 'equal work at 1901: A was first');
  tree.invalidate(a1901);
  same(tree.best(), b1901);
  tree.invalidate(b1901);
  same(tree.best(), b1900, 'equal work at 1900: B was first');
});

// ---- Difficulty rules of the public networks ----
//
// Main's real targets (≤ 2^224) cannot be mined in a test, and scaling them up does not work:
// Core multiplies the 256-bit target by the actual timespan (up to 4 × two weeks ≈ 2^22), and
// the product wraps at 2^256 (it does in Core too; that is why powLimit leaves the room). So:
// - Core's pow_tests vectors run on main's real parameters through the tree's retarget path
//   (nextWorkRequired over entries and skip-pointer ancestors) on a trusted (unmined) chain
//   carrying the vectors' real times and bits;
// - mined headers go through addHeaders on copies of main/testnet3/testnet4 rules with a short
//   period and an easy, overflow-free limit (see shortPeriod): every header there is really
//   mined, accepted or refused by the full checks.

/** Adds `n` trusted headers (no checks) with the given times and bits; returns the last entry. */
function trustedChain(tree: HeaderTree, from: HeaderEntry, n: number, timeAt: (h: number) => number, bitsAt: (h: number) => number): HeaderEntry {
  let e = from;
  for (let i = 0; i < n; i++) {
    const h = e.height + 1;
    e = tree.addTrusted(unminedHeader(e.hash, timeAt(h), bitsAt(h)));
  }
  return e;
}

/** A header with no proof of work (addTrusted checks nothing). */
function unminedHeader(prevBlock: Buffer, time: number, bits: number): BlockHeader {
  return headerFromRaw(rawHeader({ version: 1, prevBlock, merkleRoot: Buffer.alloc(32, 1), time, bits, nonce: 0 }));
}

// Core's pow_tests.cpp vectors (mainnet): period start time, last block time and bits, expected next bits.
const VECTORS = [
  { name: 'get_next_work (32255 → 32256)', first: 1261130161, lastTime: 1262152739, bits: 0x1d00ffff, expected: 0x1d00d86a },
  { name: 'get_next_work_pow_limit (2015 → 2016)', first: 1231006505, lastTime: 1233061996, bits: 0x1d00ffff, expected: 0x1d00ffff },
  { name: 'get_next_work_lower_limit_actual (68543 → 68544)', first: 1279008237, lastTime: 1279297671, bits: 0x1c05a3f4, expected: 0x1c0168fd },
  { name: 'get_next_work_upper_limit_actual (46367 → 46368)', first: 1263163443, lastTime: 1269211443, bits: 0x1c387f6f, expected: 0x1d00e1fd },
];

test('difficulty: Core pow_tests vectors at a retarget boundary, on main parameters, through the tree', () => {
  const interval = difficultyAdjustmentInterval(main);
  assert.equal(interval, 2016);
  for (const v of VECTORS) {
    const tree = new HeaderTree(main);
    const g = tree.genesis;
    // The period before the boundary starts at height 0 (genesis time) for the pow_limit vector, else at 2016.
    const start: number = v.first === g.time ? 0 : interval;
    const lerp = (h: number, h0: number, t0: number, h1: number, t1: number): number => Math.round(t0 + ((t1 - t0) * (h - h0)) / (h1 - h0));
    let last = g;
    if (start > 0) last = trustedChain(tree, g, interval - 1, (h) => lerp(h, 0, g.time, interval, v.first), () => 0x1d00ffff);
    last = trustedChain(
      tree,
      last,
      start === 0 ? interval - 1 : interval,
      (h) => (h === start ? v.first : lerp(h, start, v.first, start + interval - 1, v.lastTime)),
      () => v.bits,
    );
    assert.equal(last.height, start + interval - 1);
    assert.equal(last.time, v.lastTime);
    assert.equal(tree.ancestor(last, start).time, v.first);
    assert.equal(tree.nextWorkRequired(last, v.lastTime + 600), v.expected, v.name);
    // Inside the next period the bits stay.
    const boundary = tree.addTrusted(unminedHeader(last.hash, v.lastTime + 600, v.expected));
    assert.equal(tree.nextWorkRequired(boundary, boundary.time + 600), v.expected);
    // Proof of work comes first: an unmined header with the right bits is high-hash, not accepted.
    assert.equal(tree.addHeaders([unminedHeader(boundary.hash, boundary.time + 600, v.expected)], v.lastTime + 3600).error?.reason, 'high-hash');
  }
});

test("difficulty: testnet3's min-difficulty rule (a block more than twice the spacing late may use the limit) and the walk-back", () => {
  const p = shortPeriod(testnet3);
  assert.equal(targetToCompact(EASY_LIMIT), EASY_BITS);
  const tree = new HeaderTree(p);
  // Heights 1..9 six seconds apart; the walk-back finds the genesis bits (the limit).
  const first = mineChain(baseOfEntry(tree, tree.genesis), { params: p, count: 9, spacing: 6, version: 4, salt: 't3' });
  assert.ok(first.every((h) => h.bits === EASY_BITS));
  let r = tree.addHeaders(first, NOW);
  assert.equal(r.error, undefined);
  const e9 = r.last!;
  // Height 10 retargets: 54 s for a 600 s span, clamped to 150 → limit / 4 = 2^242 − 1 = bits 0x1f03ffff.
  const t10 = e9.time + 6;
  assert.equal(tree.addHeaders([mineHeader({ prevBlock: e9.hash, time: t10, bits: EASY_BITS, version: 4 })], NOW).error?.reason, 'bad-diffbits');
  const h10 = mineHeader({ prevBlock: e9.hash, time: t10, bits: 0x1f03ffff, version: 4 });
  r = tree.addHeaders([h10], NOW);
  assert.equal(r.error, undefined);
  assert.equal(r.last!.height, 10);
  // Exactly twice the spacing later is not enough for the minimum difficulty...
  assert.equal(tree.addHeaders([mineHeader({ prevBlock: h10.hash, time: t10 + 120, bits: EASY_BITS, version: 4 })], NOW).error?.reason, 'bad-diffbits');
  // ...more than that is.
  const h11 = mineHeader({ prevBlock: h10.hash, time: t10 + 121, bits: EASY_BITS, version: 4 });
  r = tree.addHeaders([h11], NOW);
  assert.equal(r.error, undefined);
  // The next block, on time, must return to the last non-exception bits (walk-back to height 10).
  assert.equal(tree.nextWorkRequired(r.last!, h11.time + 6), 0x1f03ffff);
  assert.equal(tree.addHeaders([mineHeader({ prevBlock: h11.hash, time: h11.time + 6, bits: EASY_BITS, version: 4 })], NOW).error?.reason, 'bad-diffbits');
  r = tree.addHeaders([mineHeader({ prevBlock: h11.hash, time: h11.time + 6, bits: 0x1f03ffff, version: 4 })], NOW);
  assert.equal(r.error, undefined);
  assert.equal(r.last!.height, 12);

  // Main's rules (no minimum-difficulty blocks): the late block gets no exception.
  const m = shortPeriod(main);
  const mt = new HeaderTree(m);
  const mc = mineChain(baseOfEntry(mt, mt.genesis), { params: m, count: 10, spacing: 6, salt: 'm' });
  assert.equal(mc[9].bits, 0x1f03ffff);
  const me10 = mt.addHeaders(mc, NOW).last!;
  assert.equal(me10.height, 10);
  assert.equal(mt.addHeaders([mineHeader({ prevBlock: me10.hash, time: me10.time + 121, bits: EASY_BITS, version: 1 })], NOW).error?.reason, 'bad-diffbits');
  assert.equal(mt.addHeaders([mineHeader({ prevBlock: me10.hash, time: me10.time + 121, bits: 0x1f03ffff, version: 1 })], NOW).error, undefined);
});

test('difficulty: several retargets on main rules (short period), header by header; stale bits at a boundary are refused', () => {
  const m = shortPeriod(main);
  const tree = new HeaderTree(m);
  // Alternate fast and slow periods so the target moves both ways.
  const chain = mineChain(baseOfEntry(tree, tree.genesis), { params: m, count: 60, spacing: (h) => (Math.floor(h / 10) % 2 === 0 ? 40 : 80), salt: 'retarget' });
  const distinct = new Set(chain.map((h) => h.bits));
  assert.ok(distinct.size >= 4, `bits change at the boundaries (${distinct.size} values)`);
  for (let i = 0; i < 49; i++) assert.equal(tree.addHeaders([chain[i]], NOW).error, undefined);
  // Height 50 is a boundary whose bits differ from height 49's: keeping the old bits is bad-diffbits.
  assert.notEqual(chain[49].bits, chain[48].bits);
  const stale = mineHeader({ prevBlock: chain[48].hash, time: chain[49].time, bits: chain[48].bits, version: 1 });
  assert.equal(tree.addHeaders([stale], NOW).error?.reason, 'bad-diffbits');
  const rest = tree.addHeaders(chain.slice(49), NOW);
  assert.equal(rest.error, undefined);
  assert.equal(tree.best().height, 60);
  assert.equal(tree.best().chainWork, chain.reduce((w, h) => w + blockProof(h.bits), blockProof(EASY_BITS)));
});

test('difficulty: BIP94 timewarp rule (testnet4): the first block of a period may not be more than 600 s before its parent', () => {
  const spacing = (h: number): number => (h === 9 ? 3000 : 6);
  const p = shortPeriod(testnet4);
  const tree = new HeaderTree(p);
  const e9 = tree.addHeaders(mineChain(baseOfEntry(tree, tree.genesis), { params: p, count: 9, spacing, salt: 'bip94' }), NOW).last!;
  assert.equal(e9.height, 9);
  const at = (time: number): BlockHeader => mineHeader({ prevBlock: e9.hash, time, bits: tree.nextWorkRequired(e9, time), version: VERSION });
  assert.ok(e9.time - 601 > tree.medianTimePast(e9), 'not a time-too-old case');
  const r = tree.addHeaders([at(e9.time - 601)], NOW);
  assert.deepEqual(r.error && { reason: r.error.reason, punish: r.error.punish }, { reason: 'time-timewarp-attack', punish: true });
  assert.equal(tree.addHeaders([at(e9.time - 600)], NOW).error, undefined);
  // Without BIP94 (testnet3 rules) the same timestamp is fine.
  const p3 = shortPeriod(testnet3);
  const t3 = new HeaderTree(p3);
  const f9 = t3.addHeaders(mineChain(baseOfEntry(t3, t3.genesis), { params: p3, count: 9, spacing, salt: 'bip94', version: 4 }), NOW).last!;
  const time = f9.time - 601;
  assert.equal(t3.addHeaders([mineHeader({ prevBlock: f9.hash, time, bits: t3.nextWorkRequired(f9, time), version: 4 })], NOW).error, undefined);
});

// ---- Memory ----

function getGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Heap + array-buffer bytes, after full collections. */
function settledBytes(gc: () => void): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

test('memory: bytes per entry for 100,000 generated headers', (t) => {
  const n = 100_000;
  const gc = getGc();
  {
    // Mined regtest headers through addHeaders (chain work stays a one-word bigint).
    const tree = new HeaderTree(regtest);
    const headers = mineChain(baseOfEntry(tree, tree.genesis), { params: regtest, count: n, spacing: 600, salt: 'mem' });
    const before = settledBytes(gc);
    const started = performance.now();
    for (let i = 0; i < n; i += 2000) assert.equal(tree.addHeaders(headers.slice(i, i + 2000), NOW).error, undefined);
    const ms = performance.now() - started;
    const perEntry = (settledBytes(gc) - before) / n;
    // The input stays referenced until after the measurement, so only the tree is counted.
    assert.equal(headers.length, n);
    assert.equal(tree.size, n + 1);
    assert.equal(tree.best().height, n);
    t.diagnostic(`header tree, regtest: ${perEntry.toFixed(0)} bytes per entry (${n} mined headers via addHeaders in ${ms.toFixed(0)} ms; heap + array buffers)`);
    // Sanity only (not a benchmark): an entry holding a decoded header (three Buffers) would be far larger.
    assert.ok(perEntry > 0 && perEntry < 600, `${perEntry} bytes per entry`);
  }
  {
    // Main-net-sized chain work (two-word bigints, like main's ~2^96): trusted headers with 2024's bits.
    const tree = new HeaderTree(main);
    const headers: BlockHeader[] = [];
    let prev = main.genesisHash;
    for (let i = 0; i < n; i++) {
      const h = unminedHeader(prev, main.genesis.header.time + 600 * (i + 1), 0x17034219);
      headers.push(h);
      prev = h.hash;
    }
    const before = settledBytes(gc);
    for (const h of headers) tree.addTrusted(h);
    const perEntry = (settledBytes(gc) - before) / n;
    assert.equal(headers.length, n);
    assert.ok(tree.best().chainWork > 1n << 64n);
    t.diagnostic(`header tree, main-sized chain work: ${perEntry.toFixed(0)} bytes per entry (${n} headers via addTrusted)`);
    assert.ok(perEntry > 0 && perEntry < 600, `${perEntry} bytes per entry`);
  }
});

// ---- Fuzz ----

test('fuzz: random, shuffled and garbled batches never throw and keep the tree consistent', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  const pool = H.slice(0, 300);
  const op = fc.oneof(
    fc.record({ kind: fc.constant('slice' as const), from: fc.nat(299), len: fc.integer({ min: 0, max: 40 }) }),
    fc.record({ kind: fc.constant('shuffle' as const), picks: fc.array(fc.nat(299), { maxLength: 20 }) }),
    fc.record({ kind: fc.constant('garble' as const), from: fc.nat(299), len: fc.integer({ min: 1, max: 20 }), at: fc.nat(), byte: fc.nat(79), value: fc.nat(255) }),
    fc.record({ kind: fc.constant('invalidate' as const), pick: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), fc.integer({ min: 0, max: 2_000_000_000 }).map((x) => 1_296_688_602 + x), (ops, now) => {
      const tree = new HeaderTree(regtest);
      for (const o of ops) {
        if (o.kind === 'slice') tree.addHeaders(pool.slice(o.from, o.from + o.len), now);
        else if (o.kind === 'shuffle') tree.addHeaders(o.picks.map((i) => pool[i]), now);
        else if (o.kind === 'garble') {
          const batch = pool.slice(o.from, o.from + o.len);
          const i = o.at % batch.length;
          const raw = rawHeader(batch[i]);
          raw[o.byte] = o.value;
          batch[i] = headerFromRaw(raw);
          tree.addHeaders(batch, now);
        } else {
          const all = [...tree.entries()].filter((e) => e !== tree.genesis);
          if (all.length > 0) tree.invalidate(all[o.pick % all.length]);
        }
      }
      let maxValid = tree.genesis;
      for (const e of tree.entries()) {
        same(tree.get(e.hash), e);
        if (e.parent) {
          assert.equal(e.height, e.parent.height + 1);
          assert.equal(e.chainWork, e.parent.chainWork + blockProof(e.bits));
          assert.ok(e.header.prevBlock.equals(e.parent.hash));
          if (e.parent.invalid) assert.equal(e.invalid, true, 'descendants of invalid are invalid');
          assert.ok(tree.children(e.parent).includes(e));
        }
        if (!e.invalid && e.chainWork > maxValid.chainWork) maxValid = e;
      }
      const best = tree.best();
      assert.equal(best.invalid, false);
      assert.equal(best.chainWork, maxValid.chainWork);
      for (const leaf of tree.tips()) assert.equal(tree.children(leaf).length, 0);
    }),
    { numRuns: 60 },
  );
});

test('difficulty: the tree remembers the min-difficulty walk-back, and answers as Core’s GetNextWorkRequired walking every step (property)', () => {
  // testnet3's and regtest's rules with a 10-block period: blocks at the limit (min-difficulty)
  // mixed with "real" bits, so the walk stops at varying depths; queries in any order, with times
  // inside and past the 2 × spacing rule.
  for (const net of [shortPeriod(networkParams('testnet3')), shortPeriod(networkParams('regtest'))]) {
    const limit = targetToCompact(net.powLimit);
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: -60, max: 300 })), { minLength: 1, maxLength: 40 }),
        (atLimit, queries) => {
          const tree = new HeaderTree(net);
          const entries: HeaderEntry[] = [tree.genesis];
          let e = tree.genesis;
          atLimit.forEach((min, i) => {
            e = tree.addTrusted(unminedHeader(e.hash, net.genesis.header.time + 60 * (i + 1), min ? limit : 0x1f00ffff));
            entries.push(e);
          });
          for (const [pick, dt] of queries) {
            const parent = entries[pick % entries.length];
            const time = parent.time + dt;
            const lookup = (h: number): HeaderEntry | undefined => (h >= 0 && h <= parent.height ? tree.ancestor(parent, h) : undefined);
            assert.equal(tree.nextWorkRequired(parent, time), getNextWorkRequired(parent, time, net, lookup), `parent ${parent.height}, +${dt} s`);
          }
        },
      ),
      { numRuns: 300 },
    );
  }
});

test('writeHeader: the 80 bytes the header hashes to, straight from the tree (genesis included)', () => {
  const tree = new HeaderTree(networkParams('regtest'));
  let e = tree.genesis;
  const entries = [e];
  for (const g of generateChain({ blocks: 30, txsPerBlock: 1, seed: 4 })) {
    e = tree.addTrusted(g.block.header);
    entries.push(e);
  }
  const out = Buffer.alloc(90, 0xaa);
  for (const x of entries) {
    x.writeHeader(out, 5);
    assert.ok(sha256d(out.subarray(5, 85)).equals(x.hash), `height ${x.height}`);
    assert.equal(out[4], 0xaa);
    assert.equal(out[85], 0xaa);
  }
});
