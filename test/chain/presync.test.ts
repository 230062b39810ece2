/** Headers presync (Core's HeadersSyncState): nothing stored until a peer's chain has proven enough work; redownload checked against commitments; bounded memory. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderTree } from '../../src/chain/headers.js';
import { HeadersSyncState } from '../../src/chain/presync.js';
import { generateChain } from '../../src/tools/chain/generate.js';
import { type BlockHeader } from '../../src/wire/block.js';
import { networkParams } from '../../src/wire/network.js';
import { blockProof, difficultyAdjustmentInterval } from '../../src/wire/pow.js';
import { missingFixture } from '../helpers/fixtures.js';
import { FIXTURE, baseOfEntry, fixtureHeaders, mineChain, mineHeader, shortPeriod, unmineHeader } from './mine-headers.js';

const regtest = networkParams('regtest');
const main = networkParams('main');
const NOW = 4_000_000_000;
const now = (): number => NOW;
/** Chain work at height 1200 of the regtest fixture: (1200 + 1) × 2. */
const WORK_1200 = 2402n;

const H = await fixtureHeaders();

function sameHeaders(a: readonly BlockHeader[], b: readonly BlockHeader[]): boolean {
  return a.length === b.length && a.every((h, i) => h.hash.equals(b[i].hash));
}

test('presync: 2000 headers stored nowhere until the redownload proves the minimum work, then released in order', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  assert.equal(blockProof(0x207fffff) * 1201n, WORK_1200);
  const tree = new HeaderTree(regtest);
  const s = new HeadersSyncState(tree, tree.genesis, WORK_1200, { nowSeconds: now });
  assert.equal(s.phase, 'presync');
  // One full message of 2000 headers: enough work, so the state asks for them again from the start.
  let r = s.process(H, true);
  assert.deepEqual({ success: r.success, requestMore: r.requestMore, stored: r.toStore.length }, { success: true, requestMore: true, stored: 0 });
  assert.deepEqual(r.locator, [regtest.genesisHash]);
  assert.equal(s.phase, 'redownload');
  assert.equal(tree.size, 1, 'presync stores nothing');
  assert.deepEqual(s.progress(), { phase: 'redownload', height: 0, chainWork: 2n });

  // Redownload in messages of 500: nothing until the work at height 1200 is reached.
  const released: BlockHeader[] = [];
  const seen: number[] = [];
  for (let i = 0; i < 2000; i += 500) {
    r = s.process(H.slice(i, i + 500), i + 500 < 2000);
    assert.equal(r.success, true, r.reason);
    seen.push(r.toStore.length);
    released.push(...r.toStore);
    if (i + 500 < 2000) {
      assert.equal(r.requestMore, true);
      assert.ok(r.locator[0].equals(H[i + 499].hash), 'next getheaders continues from the last header received');
      assert.ok(r.locator[r.locator.length - 1].equals(regtest.genesisHash));
    }
  }
  assert.deepEqual(seen, [0, 0, 1500, 500], 'released once height 1200 is in, then each batch at once');
  assert.equal(r.requestMore, false);
  assert.equal(s.phase, 'final');
  assert.ok(sameHeaders(released, H), 'every header, once, in order');
  assert.equal(tree.size, 1);
  const stored = tree.addHeaders(released, NOW);
  assert.equal(stored.error, undefined);
  assert.equal(tree.best().height, 2000);
  // A finished state refuses more input.
  assert.equal(s.process(H.slice(0, 1), true).success, false);
});

test('presync: memory holds the ring and the commitments, not the chain', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  const tree = new HeaderTree(regtest);
  const ring = Math.max(difficultyAdjustmentInterval(regtest), 11);
  assert.equal(ring, 144);
  // Unreachable minimum: the whole chain stays in presync.
  const s = new HeadersSyncState(tree, tree.genesis, 1n << 200n, { nowSeconds: now, commitPeriod: 100 });
  assert.equal(s.retained(), 1);
  for (let i = 0; i < 2000; i += 500) {
    const r = s.process(H.slice(i, i + 500), true);
    assert.equal(r.success, true);
    assert.equal(r.requestMore, true);
    assert.ok(s.retained() <= ring + (i + 500) / 100, `retained ${s.retained()} after ${i + 500}`);
  }
  // 144 ring slots + 20 commitments (heights 100..2000), for a 2000-header chain; ≤ 2016 + commitments.
  assert.equal(s.retained(), ring + 20);
  assert.ok(s.retained() <= 2016 + 20);
  assert.deepEqual(s.progress(), { phase: 'presync', height: 2000, chainWork: 4002n });
  const end = s.process([], false);
  assert.deepEqual({ success: end.success, requestMore: end.requestMore, stored: end.toStore.length }, { success: true, requestMore: false, stored: 0 });
  assert.equal(s.retained(), 0, 'everything released once finished');
});

test('presync: a peer whose chain ends below the minimum work yields nothing to store', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  const tree = new HeaderTree(regtest);
  const s = new HeadersSyncState(tree, tree.genesis, WORK_1200, { nowSeconds: now });
  const r = s.process(H.slice(0, 1000), false);
  assert.deepEqual({ success: r.success, requestMore: r.requestMore, stored: r.toStore.length }, { success: true, requestMore: false, stored: 0 });
  assert.match(r.reason ?? '', /too little work/);
  assert.equal(s.phase, 'final');
  assert.equal(tree.size, 1);
  // The same with a full message first and then an empty one.
  const s2 = new HeadersSyncState(tree, tree.genesis, WORK_1200, { nowSeconds: now });
  const a = s2.process(H.slice(0, 1000), true);
  assert.equal(a.requestMore, true);
  assert.ok(a.locator[0].equals(H[999].hash));
  assert.deepEqual(a.locator.slice(1), [regtest.genesisHash]);
  const b = s2.process([], false);
  assert.deepEqual({ success: b.success, requestMore: b.requestMore, stored: b.toStore.length }, { success: true, requestMore: false, stored: 0 });
});

test('presync: a peer that serves a different chain in redownload fails at the commitment', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  const tree = new HeaderTree(regtest);
  const s = new HeadersSyncState(tree, tree.genesis, WORK_1200, { nowSeconds: now, commitPeriod: 100 });
  assert.equal(s.process(H, true).success, true);
  assert.equal(s.phase, 'redownload');
  // Same chain up to 850, then a different (valid) branch: heights 851.. differ, caught at 900.
  const fork = [...generateChain({ blocks: 200, parent: { header: H[849], height: 850 }, seed: 3 })].map((g) => g.block.header);
  let r = s.process(H.slice(0, 850), true);
  assert.equal(r.success, true);
  assert.deepEqual(r.toStore, []);
  r = s.process(fork, true);
  assert.equal(r.success, false);
  assert.match(r.reason ?? '', /height 900: header does not match the presync commitment/);
  assert.deepEqual(r.toStore, []);
  assert.equal(s.phase, 'final');
  assert.equal(tree.size, 1);
});

test('presync: invalid or unconnected headers fail it in either phase', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  const tree = new HeaderTree(regtest);
  const fresh = (): HeadersSyncState => new HeadersSyncState(tree, tree.genesis, WORK_1200, { nowSeconds: now });
  const cases: [string, BlockHeader[], RegExp][] = [
    ['bad proof of work', [...H.slice(0, 10), unmineHeader(H[10])], /height 11: high-hash/],
    ['gap', [...H.slice(0, 10), H[11]], /height 11: headers-not-continuous/],
    ['old version', [...H.slice(0, 10), mineHeader({ prevBlock: H[9].hash, time: H[9].time + 1, bits: 0x207fffff, version: 1 })], /height 11: bad-version\(0x00000001\)/],
    ['wrong bits', [...H.slice(0, 10), mineHeader({ prevBlock: H[9].hash, time: H[9].time + 1, bits: 0x201fffff })], /height 11: bad-diffbits/],
    ['too old', [...H.slice(0, 10), mineHeader({ prevBlock: H[9].hash, time: H[0].time, bits: 0x207fffff })], /height 11: time-too-old/],
    ['not from the start', H.slice(1, 10), /height 1: headers-not-continuous/],
  ];
  for (const [name, headers, reason] of cases) {
    const r = fresh().process(headers, true);
    assert.equal(r.success, false, name);
    assert.match(r.reason ?? '', reason, name);
  }
  // In the future (checked against the given clock).
  const late = new HeadersSyncState(tree, tree.genesis, WORK_1200, { nowSeconds: () => H[500].time - 7200 });
  assert.match(late.process(H.slice(0, 1000), true).reason ?? '', /time-too-new/);
  // Without a clock the future-time check is left to the tree.
  assert.equal(new HeadersSyncState(tree, tree.genesis, WORK_1200).process(H.slice(0, 1000), true).success, true);
  // The same checks in redownload.
  const s = fresh();
  s.process(H, true);
  const r = s.process([...H.slice(0, 10), unmineHeader(H[10])], true);
  assert.equal(r.success, false);
  assert.match(r.reason ?? '', /redownload height 11: high-hash/);
});

test('presync: pass-through when the start already has the minimum work (regtest: 0)', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  const tree = new HeaderTree(regtest);
  const s = new HeadersSyncState(tree, tree.genesis, regtest.minimumChainWork, { nowSeconds: now });
  assert.equal(s.phase, 'redownload');
  let r = s.process(H.slice(0, 500), true);
  assert.ok(sameHeaders(r.toStore, H.slice(0, 500)));
  assert.equal(r.requestMore, true);
  assert.ok(r.locator[0].equals(H[499].hash));
  // From a later start in the tree.
  const e1000 = tree.addHeaders(H.slice(0, 1000), NOW).last!;
  const s2 = new HeadersSyncState(tree, e1000, WORK_1200 - 1000n, { nowSeconds: now });
  r = s2.process(H.slice(1000), false);
  assert.equal(r.success, true);
  assert.equal(r.requestMore, false);
  assert.ok(sameHeaders(r.toStore, H.slice(1000)));
  assert.equal(tree.addHeaders(r.toStore, NOW).error, undefined);
});

test('presync: the redownload buffer is capped, releasing only headers at or below a matched commitment', (t) => {
  if (!H) return t.skip(missingFixture(FIXTURE));
  const tree = new HeaderTree(regtest);
  const s = new HeadersSyncState(tree, tree.genesis, WORK_1200, { nowSeconds: now, commitPeriod: 100, bufferSize: 300 });
  s.process(H, true);
  const released: BlockHeader[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < 2000; i += 200) {
    const r = s.process(H.slice(i, i + 200), i + 200 < 2000);
    assert.equal(r.success, true, r.reason);
    sizes.push(r.toStore.length);
    released.push(...r.toStore);
    // Before the minimum work (height 1200), a release always ends on a commitment height.
    if (i + 200 < 1200 && r.toStore.length > 0) assert.equal(released.length % 100, 0);
    assert.ok(s.retained() <= 144 + 20 + 300 + 200);
  }
  assert.deepEqual(sizes, [0, 400, 0, 400, 0, 400, 200, 200, 200, 200]);
  assert.ok(sameHeaders(released, H));
});

test('presync: a chain with retargets (main rules, short period), starting from a header in the tree', () => {
  const p = shortPeriod(main);
  const tree = new HeaderTree(p);
  const chain = mineChain(baseOfEntry(tree, tree.genesis), { params: p, count: 45, spacing: (h) => (Math.floor(h / 10) % 2 === 0 ? 40 : 80), salt: 'presync' });
  assert.ok(new Set(chain.map((h) => h.bits)).size >= 3);
  // The tree has 1..25; presync continues from 25 across the boundaries at 30 and 40 using ancestors from the tree.
  const start = tree.addHeaders(chain.slice(0, 25), NOW).last!;
  const rest = chain.slice(25);
  let work = start.chainWork;
  for (const h of rest.slice(0, 12)) work += blockProof(h.bits);
  const s = new HeadersSyncState(tree, start, work, { nowSeconds: now, commitPeriod: 5 });
  let r = s.process(rest, true);
  assert.equal(r.success, true, r.reason);
  assert.equal(s.phase, 'redownload');
  r = s.process(rest, false);
  assert.equal(r.success, true, r.reason);
  assert.ok(sameHeaders(r.toStore, rest));
  assert.equal(tree.addHeaders(r.toStore, NOW).error, undefined);
  assert.equal(tree.best().height, 45);

  // Stale bits at the boundary (height 30): refused in presync as addHeaders would.
  const e29 = tree.ancestor(tree.best(), 29);
  const stale = mineHeader({ prevBlock: e29.hash, time: chain[29].time, bits: e29.bits, version: 1 });
  assert.notEqual(stale.bits, chain[29].bits);
  const s2 = new HeadersSyncState(tree, start, work, { nowSeconds: now });
  const bad = s2.process([...rest.slice(0, 4), stale], true);
  assert.equal(bad.success, false);
  assert.match(bad.reason ?? '', /height 30: bad-diffbits/);
});
