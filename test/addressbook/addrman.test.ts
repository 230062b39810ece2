import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import {
  AddrMan,
  AddrManFormatError,
  addrKey,
  seededRandom,
  BUCKET_SIZE,
  NEW_BUCKETS_PER_SOURCE_GROUP,
  TRIED_BUCKETS_PER_GROUP,
  type AddrEntry,
  type AddrManOptions,
} from '../../src/addressbook/addrman.js';
import { SipHasher } from '../../src/addressbook/addrman-hash.js';
import { NetGroupManager } from '../../src/netaddress/netgroup.js';
import { parseAddress, type NetAddress, type TimedNetAddress } from '../../src/wire/address.js';

const NOW = 1_700_000_000;
const KEY = createHash('sha256').update('test key').digest();

function opts(seed = 1, extra: Partial<AddrManOptions> = {}): AddrManOptions {
  return { key: KEY, random: seededRandom(seed), ...extra };
}

function v4(a: number, b: number, c: number, d: number, port = 8333, time = NOW - 600, services = 1n): TimedNetAddress {
  return { network: 'ipv4', addr: Buffer.from([a, b, c, d]), port, services, time };
}

function host(text: string, port = 8333, time = NOW - 600): TimedNetAddress {
  const a = parseAddress(text, port, 1n);
  assert.ok(a, text);
  return { ...a, time };
}

/** A public IPv4 address from an integer, consecutive integers in different /16s (11..90.x.x.x). */
function addrOf(i: number, port = 8333, time = NOW - 600): TimedNetAddress {
  const n = i >>> 0;
  const r = Math.floor(n / 80);
  return v4(11 + (n % 80), r & 255, (r >>> 8) & 255, (r >>> 16) & 255, port, time);
}

const SRC_A = v4(50, 1, 2, 3);

function fill(am: AddrMan, n: number, src: (i: number) => NetAddress, mk: (i: number) => TimedNetAddress = addrOf): void {
  for (let i = 0; i < n; i++) am.add([mk(i)], src(i), 0, NOW);
}

// --- hash and groups ---------------------------------------------------------------------------

test('SipHash-2-4 reference vectors (key 00..0f, message 00..n-1)', () => {
  const s = new SipHasher(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
  const m = Buffer.from([...Array(64).keys()]);
  const h = (n: number): string => s.hashHigh32(m, 0, n).toString(16).padStart(8, '0') + s.hash32(m, 0, n).toString(16).padStart(8, '0');
  assert.equal(h(0), '726fdb47dd0e0e31');
  assert.equal(h(1), '74f839c593dc67fd');
  assert.equal(h(8), '93f5f5799a932462');
  assert.equal(h(15), 'a129ca6149be45e5');
});

test('property: hash30 is the low 30 bits of hash32 (so every reduction modulo 2^k ≤ 2^30 is the same)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 80 }), (key, msg) => {
      const s = new SipHasher(key);
      const h30 = s.hash30(msg, 0, msg.length);
      assert.equal(h30, s.hash32(msg, 0, msg.length) & 0x3fffffff);
      assert.equal(h30 % 1024, s.hash32(msg, 0, msg.length) % 1024);
    }),
    { numRuns: 300 },
  );
});

// --- add ---------------------------------------------------------------------------------------

test('add stores routable addresses only (local ones with allowLocal), deduplicates ip+port', () => {
  const am = new AddrMan(opts());
  assert.equal(am.add([host('127.0.0.1'), host('10.0.0.1'), host('0.0.0.0'), host('1.2.3.4')], SRC_A, 0, NOW), 1);
  assert.equal(am.size, 1);
  assert.equal(am.add([host('1.2.3.4')], SRC_A, 0, NOW), 0, 'same address again is not new');
  assert.equal(am.add([host('1.2.3.4', 18333)], SRC_A, 0, NOW), 1, 'another port is another address (multiport)');
  assert.equal(am.size, 2);
  const local = new AddrMan(opts(1, { allowLocal: true }));
  assert.equal(local.add([host('127.0.0.1', 18444), host('127.0.0.1', 18445)], host('127.0.0.1', 1), 0, NOW), 2);
  assert.equal(local.find(host('127.0.0.1', 18444))?.network, 'ipv4');
  assert.equal(local.select({ nowSec: NOW, networks: ['ipv4'] })?.addr.network, 'ipv4');
  assert.equal(addrKey(host('1.2.3.4')), '1/01020304/8333');
});

test('time penalty for gossiped addresses, none for a self-announcement; services merged; time refreshed per Core', () => {
  const am = new AddrMan(opts());
  am.add([v4(1, 2, 3, 4, 8333, NOW - 100)], SRC_A, 7200, NOW);
  assert.equal(am.find(v4(1, 2, 3, 4))!.addr.time, NOW - 100 - 7200);
  am.add([v4(50, 1, 2, 3, 8333, NOW - 100)], SRC_A, 7200, NOW);
  assert.equal(am.find(v4(50, 1, 2, 3))!.addr.time, NOW - 100, 'self-announcement');
  // Known entry: services OR-ed in; time only moves when more than an hour (plus penalty) newer.
  am.add([v4(1, 2, 3, 4, 8333, NOW - 100, 8n)], SRC_A, 0, NOW);
  const e = am.find(v4(1, 2, 3, 4))!;
  assert.equal(e.addr.services, 9n);
  assert.equal(e.addr.time, NOW - 100, 'moved: 2 h old entry, fresh announcement');
  am.add([v4(1, 2, 3, 4, 8333, NOW - 50)], SRC_A, 0, NOW);
  assert.equal(am.find(v4(1, 2, 3, 4))!.addr.time, NOW - 100, 'not moved by a few seconds');
});

test('an address gets at most 8 new-table references, each harder to get', () => {
  const am = new AddrMan(opts(3));
  const a = v4(1, 2, 3, 4);
  const refs: number[] = [];
  for (let i = 0; i < 3000; i++) {
    // Slightly newer each time, by less than Core's update interval: a candidate for another reference.
    am.add([{ ...a, time: NOW - 100 + i }], v4(20 + (i % 60), i % 251, 1, 1), 7200, NOW + i);
    refs.push(am.find(a)!.refCount);
  }
  assert.ok(Math.max(...refs) <= 8);
  assert.ok(refs[refs.length - 1] >= 4, `refcount ${refs[refs.length - 1]}`);
  assert.ok(refs[10] <= 4);
  assert.equal(am.placement(a)!.newSlots.length, am.find(a)!.refCount);
  assert.equal(am.check(), null);
});

// --- placement and the eclipse property --------------------------------------------------------

test('bucket placement is deterministic for a key and differs between keys', () => {
  const a = new AddrMan(opts(1));
  const b = new AddrMan(opts(2));
  const c = new AddrMan({ key: Buffer.alloc(32, 9), random: seededRandom(1) });
  fill(a, 500, (i) => v4(60, i % 7, 0, 1));
  fill(b, 500, (i) => v4(60, i % 7, 0, 1));
  fill(c, 500, (i) => v4(60, i % 7, 0, 1));
  let differ = 0;
  for (let i = 0; i < 500; i++) {
    const pa = a.placement(addrOf(i));
    const pb = b.placement(addrOf(i));
    assert.deepEqual(pa, pb);
    const pc = c.placement(addrOf(i));
    if (pa && pc && pa.newSlots[0] !== pc.newSlots[0]) differ++;
  }
  assert.ok(differ > 450, `only ${differ} of 500 moved with another key`);
});

test('eclipse: 100,000 addresses from one source /16 fit in ≤ 64 new buckets (≤ 4096 entries); many sources spread', () => {
  const one = new AddrMan(opts(5));
  // Sources all in 66.77.0.0/16; addresses from everywhere.
  for (let i = 0; i < 100_000; i += 10) {
    const batch: TimedNetAddress[] = [];
    for (let j = 0; j < 10; j++) batch.push(addrOf(Math.imul(i + j, 0x9e3779b1)));
    one.add(batch, v4(66, 77, (i >>> 8) & 255, i & 255), 7200, NOW);
  }
  assert.ok(one.usedNewBuckets() <= NEW_BUCKETS_PER_SOURCE_GROUP, `${one.usedNewBuckets()} buckets`);
  assert.ok(one.size <= NEW_BUCKETS_PER_SOURCE_GROUP * BUCKET_SIZE, `${one.size} entries`);
  assert.ok(one.size / (1024 * 64) <= 1 / 16, 'at most 1/16 of the new table');
  assert.ok(one.size > 2000, `${one.size}: the buckets it may use do fill`);

  const many = new AddrMan(opts(5));
  for (let i = 0; i < 100_000; i += 10) {
    const batch: TimedNetAddress[] = [];
    for (let j = 0; j < 10; j++) batch.push(addrOf(Math.imul(i + j, 0x9e3779b1)));
    many.add(batch, v4(11 + ((i / 10) % 80), (i >>> 4) & 255, 1, 1), 7200, NOW);
  }
  assert.ok(many.usedNewBuckets() > 1000, `${many.usedNewBuckets()} buckets`);
  assert.ok(many.size > 40_000, `${many.size} entries`);
  assert.equal(one.check(), null);
  assert.equal(many.check(), null);
});

test('tried placement: one /16 spreads over at most 8 tried buckets', () => {
  const am = new AddrMan(opts(7));
  const buckets = new Set<number>();
  for (let i = 0; i < 600; i++) {
    const a = v4(80, 9, i >>> 8, i & 255);
    am.add([a], v4(20 + (i % 50), 1, 1, 1), 0, NOW);
    am.good(a, NOW, false);
    const p = am.placement(a);
    if (p?.tried != null) buckets.add(Math.floor(p.tried / BUCKET_SIZE));
  }
  assert.ok(buckets.size <= TRIED_BUCKETS_PER_GROUP, `${buckets.size} buckets`);
  assert.ok(am.triedCount <= TRIED_BUCKETS_PER_GROUP * BUCKET_SIZE);
  assert.equal(am.check(), null);
});

// --- quality -----------------------------------------------------------------------------------

test('terrible: too old, from the future, 3 tries never successful, 10 failures in a week; never if tried in the last minute', () => {
  const am = new AddrMan(opts());
  const old = v4(1, 1, 1, 1, 8333, NOW - 31 * 86400);
  const future = v4(2, 2, 2, 2, 8333, NOW + 3600);
  const fresh = v4(3, 3, 3, 3, 8333, NOW - 60);
  const failing = v4(4, 4, 4, 4, 8333, NOW - 60);
  am.add([old, future, fresh, failing], SRC_A, 0, NOW);
  assert.equal(am.isTerrible(old, NOW), true);
  assert.equal(am.isTerrible(future, NOW), true);
  assert.equal(am.isTerrible(fresh, NOW), false);
  for (let k = 0; k < 3; k++) {
    am.good(v4(9, 9, 9, 9), NOW + k); // a success elsewhere starts a new failure epoch
    am.attempt(failing, true, NOW + k);
  }
  assert.equal(am.find(failing)!.attempts, 3);
  assert.equal(am.isTerrible(failing, NOW + 30), false, 'tried in the last minute');
  assert.equal(am.isTerrible(failing, NOW + 120), true, '3 failures, never a success');
  const got = am.getAddr({ max: 0, maxPct: 0, nowSec: NOW + 120 });
  assert.deepEqual(
    got.map((a) => addrKey(a)),
    [addrKey(fresh)],
  );
  // 10 failures more than a week after the last success.
  const b = new AddrMan(opts());
  const x = v4(5, 5, 5, 5, 8333, NOW - 60);
  b.add([x], SRC_A, 0, NOW);
  b.good(x, NOW - 8 * 86400);
  for (let k = 0; k < 10; k++) {
    b.good(v4(9, 9, 9, 9), NOW - 1000 + k);
    b.attempt(x, true, NOW - 1000 + k);
  }
  assert.equal(b.isTerrible(x, NOW), true);
  assert.equal(b.isTerrible(x, NOW - 1000 + 30), false);
});

test('failures count once between two successes anywhere (Core m_last_good)', () => {
  const am = new AddrMan(opts());
  const a = v4(1, 2, 3, 4);
  am.add([a], SRC_A, 0, NOW);
  am.attempt(a, true, NOW);
  am.attempt(a, true, NOW + 10);
  am.attempt(a, true, NOW + 20);
  assert.equal(am.find(a)!.attempts, 1);
  am.attempt(a, false, NOW + 30);
  assert.equal(am.find(a)!.lastTry, NOW + 30);
  am.good(v4(7, 7, 7, 7), NOW + 40);
  am.attempt(a, true, NOW + 50);
  assert.equal(am.find(a)!.attempts, 2);
  assert.equal(am.chance(a, NOW + 100), 0.01 * 0.66 ** 2);
  assert.equal(am.chance(a, NOW + 1000), 0.66 ** 2);
});

test('connected refreshes time only when older than 20 min; setServices replaces', () => {
  const am = new AddrMan(opts());
  const a = v4(1, 2, 3, 4, 8333, NOW - 600);
  am.add([a], SRC_A, 0, NOW);
  am.connected(a, NOW);
  assert.equal(am.find(a)!.addr.time, NOW - 600);
  am.connected(a, NOW + 3600);
  assert.equal(am.find(a)!.addr.time, NOW + 3600);
  am.setServices(a, 0x409n);
  assert.equal(am.find(a)!.addr.services, 0x409n);
  am.setServices(a, 1n << 40n);
  assert.equal(am.find(a)!.addr.services, 1n << 40n);
});

// --- getAddr -----------------------------------------------------------------------------------

test('getAddr: at most 1000 and 23% of the table, network filter, caller filter', () => {
  const am = new AddrMan(opts(11));
  fill(am, 20_000, (i) => v4(11 + (i % 80), (i >>> 7) & 255, 1, 1));
  const n = am.size;
  assert.ok(n > 5000);
  assert.equal(am.getAddr({ max: 1000, maxPct: 23, nowSec: NOW }).length, 1000);
  const small = new AddrMan(opts(11));
  fill(small, 2000, (i) => v4(11 + (i % 80), (i >>> 7) & 255, 1, 1));
  assert.equal(small.getAddr({ max: 1000, maxPct: 23, nowSec: NOW }).length, Math.floor((small.size * 23) / 100));
  const got = am.getAddr({ max: 1000, maxPct: 23, nowSec: NOW });
  assert.equal(new Set(got.map(addrKey)).size, got.length, 'no duplicates');
  assert.equal(am.getAddr({ max: 10, maxPct: 0, nowSec: NOW, network: 'ipv6' }).length, 0);
  assert.equal(am.getAddr({ max: 0, maxPct: 0, nowSec: NOW, filter: (e) => e.addr.addr[0] === 11 }).length > 0, true);
  assert.ok(am.getAddr({ max: 0, maxPct: 0, nowSec: NOW, filter: (e) => e.addr.addr[0] === 11 }).every((a) => a.addr[0] === 11));
  const mixed = new AddrMan(opts());
  mixed.add([host('2001:4860::1'), host('2002:0102:0304::1'), host('1.2.3.4')], SRC_A, 0, NOW);
  assert.deepEqual(
    mixed
      .getAddr({ max: 0, maxPct: 0, nowSec: NOW, network: 'ipv4' })
      .map(addrKey)
      .sort(),
    [addrKey(host('1.2.3.4')), addrKey(host('2002:0102:0304::1'))].sort(),
    '6to4 counts as ipv4 for getAddr (GetNetClass)',
  );
});

// --- select ------------------------------------------------------------------------------------

test('select: tried and new about 50/50 when both are populated; newOnly never tried', () => {
  const am = new AddrMan(opts(13));
  fill(am, 5000, (i) => v4(11 + (i % 80), i & 255, 1, 1));
  let promoted = 0;
  for (const e of [...am.entries()].slice(0, 300)) if (am.good(e.addr, NOW - 7200, false)) promoted++;
  assert.ok(promoted > 200);
  let tried = 0;
  const N = 10_000;
  for (let i = 0; i < N; i++) if (am.select({ nowSec: NOW })!.inTried) tried++;
  assert.ok(Math.abs(tried / N - 0.5) < 0.03, `tried share ${tried / N}`);
  for (let i = 0; i < 500; i++) assert.equal(am.select({ nowSec: NOW, newOnly: true })!.inTried, false);
  assert.equal(am.select({ nowSec: NOW, networks: ['onion'] }), null);
  assert.equal(new AddrMan(opts()).select({ nowSec: NOW }), null);
});

test('select: recently tried and failing addresses are chosen less often', () => {
  const am = new AddrMan(opts(17));
  const fresh = v4(1, 2, 3, 4);
  const recent = v4(5, 6, 7, 8);
  const failing = v4(9, 10, 11, 12);
  am.add([fresh, recent, failing], SRC_A, 0, NOW);
  am.attempt(recent, false, NOW - 60); // tried a minute ago: ×0.01
  for (let k = 0; k < 4; k++) {
    am.good(v4(99, 1, 1, 1), NOW - 100_000 + k);
    am.attempt(failing, true, NOW - 100_000 + k); // 4 failures long ago: ×0.66^4 ≈ 0.19
  }
  const hits = new Map<string, number>();
  for (let i = 0; i < 6000; i++) {
    const e = am.select({ nowSec: NOW })!;
    hits.set(addrKey(e.addr), (hits.get(addrKey(e.addr)) ?? 0) + 1);
  }
  const f = hits.get(addrKey(fresh)) ?? 0;
  const r = hits.get(addrKey(recent)) ?? 0;
  const x = hits.get(addrKey(failing)) ?? 0;
  assert.ok(f > x && x > r, `fresh ${f}, failing ${x}, recent ${r}`);
  assert.ok(r < 600, `recent ${r}`);
});

test('select: exclude and networks filters; gives up (null) when everything is excluded', () => {
  const am = new AddrMan(opts(19));
  am.add([host('1.2.3.4'), host('2001:4860::1')], SRC_A, 0, NOW);
  for (let i = 0; i < 200; i++) assert.equal(am.select({ nowSec: NOW, networks: ['ipv6'] })!.network, 'ipv6');
  for (let i = 0; i < 200; i++) assert.equal(am.select({ nowSec: NOW, exclude: (e) => e.network === 'ipv4' })!.network, 'ipv6');
  assert.equal(am.select({ nowSec: NOW, exclude: () => true }), null);
});

/**
 * Core's Select, written out over the table as `placement` reports it: a random bucket of the
 * chosen table (again while it holds no wanted entry), the first wanted entry from a random
 * position, kept with chance × factor, the factor raised 1.2× per refusal.
 */
function coreSelect(am: AddrMan, nowSec: number, rnd: () => number, networks?: readonly string[]): string {
  const entries = [...am.entries()].filter((e) => networks === undefined || networks.includes(e.network));
  const newTable = new Map<number, AddrEntry>();
  const triedTable = new Map<number, AddrEntry>();
  for (const e of entries) {
    const p = am.placement(e.addr)!;
    if (p.tried !== null) triedTable.set(p.tried, e);
    for (const s of p.newSlots) newTable.set(s, e);
  }
  const useTried = newTable.size === 0 ? true : triedTable.size === 0 ? false : rnd() < 0.5;
  const table = useTried ? triedTable : newTable;
  const buckets = useTried ? 256 : 1024;
  let factor = 1;
  for (;;) {
    const b = Math.floor(rnd() * buckets);
    const start = Math.floor(rnd() * BUCKET_SIZE);
    let found: AddrEntry | undefined;
    for (let i = 0; i < BUCKET_SIZE && found === undefined; i++) found = table.get(b * BUCKET_SIZE + ((start + i) % BUCKET_SIZE));
    if (found === undefined) continue;
    if (rnd() < factor * am.chance(found.addr, nowSec)) return addrKey(found.addr);
    factor *= 1.2;
  }
}

test('select draws from the occupied buckets only, with the distribution of Core’s probing of every bucket (sparse table, chances, tried, network filter)', () => {
  const am = new AddrMan(opts(23));
  // A sparse table as gossip from one source group leaves it: 40 IPv4 and 8 IPv6 addresses.
  for (let i = 0; i < 40; i++) am.add([v4(11 + (i % 5), 20 + i, 1, 1)], SRC_A, 0, NOW);
  for (let i = 0; i < 8; i++) am.add([host(`2001:4860:${i + 1}::1`)], SRC_A, 0, NOW);
  // Different chances: some recently tried, some failing, a few in tried.
  const all = [...am.entries()];
  for (let i = 0; i < all.length; i += 4) am.attempt(all[i].addr, false, NOW - 30);
  am.good(v4(99, 1, 1, 1), NOW - 50_000);
  for (let i = 1; i < all.length; i += 5) am.attempt(all[i].addr, true, NOW - 40_000);
  for (let i = 2; i < all.length; i += 9) am.good(all[i].addr, NOW - 100_000, false);
  assert.ok(am.triedCount > 0 && am.newCount > 0);
  assert.equal(am.check(), null);
  // Core's reference probes ~1,400 empty positions per draw on this table: 500 draws keep `npm test` quick (a coarse check);
  // PEERD_FAULTS=1 (npm run test:faults sets it) takes 20,000 for a sharper comparison.
  const N = process.env.PEERD_FAULTS === '1' ? 20_000 : 500;
  for (const networks of [undefined, ['ipv6']] as const) {
    const ours = new Map<string, number>();
    const core = new Map<string, number>();
    const rnd = seededRandom(77);
    for (let i = 0; i < N; i++) {
      const e = am.select({ nowSec: NOW, ...(networks ? { networks } : {}) })!;
      ours.set(addrKey(e.addr), (ours.get(addrKey(e.addr)) ?? 0) + 1);
      const k = coreSelect(am, NOW, rnd, networks);
      core.set(k, (core.get(k) ?? 0) + 1);
    }
    for (const k of new Set([...ours.keys(), ...core.keys()])) {
      const p = (core.get(k) ?? 0) / N;
      const q = (ours.get(k) ?? 0) / N;
      // Two samples of N: 5 standard deviations of their difference.
      const sd = Math.sqrt((2 * Math.max(p, 1 / N) * (1 - p)) / N);
      assert.ok(Math.abs(p - q) < 5 * sd + 1e-3, `${k}: Core's algorithm ${p.toFixed(4)}, ours ${q.toFixed(4)} (networks ${networks ?? 'all'})`);
    }
  }
});

test('select on a sparse table of hopeless entries stays cheap: no probing of empty buckets', () => {
  let draws = 0;
  const am = new AddrMan({ key: KEY, random: () => (draws++, Math.random()) });
  // 80 entries from one source group (≤ 64 of the 1024 new buckets), all recently tried and failed.
  for (let i = 0; i < 80; i++) am.add([v4(11 + (i % 40), 30 + i, 1, 1)], SRC_A, 0, NOW);
  am.good(v4(99, 1, 1, 1), NOW - 1000);
  for (const e of [...am.entries()]) am.attempt(e.addr, true, NOW - 10);
  assert.equal(am.triedCount, 0);
  assert.ok(am.usedNewBuckets() <= 64);
  draws = 0;
  for (let i = 0; i < 1000; i++) assert.ok(am.select({ nowSec: NOW }) !== null);
  // chance 0.01 × 0.66: the factor needs ~29 refusals; Core's probing would use ~16 empty buckets for each.
  assert.ok(draws / 1000 < 150, `${(draws / 1000).toFixed(1)} random numbers per select`);
});

// --- good and collisions -----------------------------------------------------------------------

/** Two new addresses whose tried slots coincide, with the first already in tried. */
function collidingPair(am: AddrMan): { old: TimedNetAddress; fresh: TimedNetAddress } {
  const bySlot = new Map<number, TimedNetAddress>();
  for (let i = 0; i < 5000; i++) {
    const a = v4(80, 9, i >>> 8, i & 255);
    am.add([a], v4(20 + (i % 50), 1, 1, 1), 0, NOW);
    if (am.good(a, NOW - 86400)) {
      bySlot.set(am.placement(a)!.tried!, a);
    } else if (am.collisionCount > 0) {
      const e = am.find(a)!;
      assert.equal(e.inTried, false);
      const old = am.selectTriedCollision(NOW)!;
      return { old: old.addr, fresh: a };
    }
  }
  throw new Error('no collision found');
}

test('good: promotes to tried, removes every new reference; a collision waits for a test', () => {
  const am = new AddrMan(opts(23));
  const a = v4(1, 2, 3, 4);
  am.add([a], SRC_A, 0, NOW);
  am.add([{ ...a, time: NOW }], v4(60, 1, 1, 1), 0, NOW);
  assert.equal(am.good(a, NOW), true);
  const e = am.find(a)!;
  assert.equal(e.inTried, true);
  assert.equal(e.refCount, 0);
  assert.equal(e.lastSuccess, NOW);
  assert.deepEqual(am.counts(), { new: { ipv4: 0, ipv6: 0, onion: 0, i2p: 0, cjdns: 0 }, tried: { ipv4: 1, ipv6: 0, onion: 0, i2p: 0, cjdns: 0 }, total: 1 });
  assert.equal(am.good(a, NOW), false, 'already tried');
  assert.equal(am.good(v4(9, 9, 9, 9), NOW), false, 'unknown');

  const b = new AddrMan(opts(29));
  const { old, fresh } = collidingPair(b);
  assert.equal(b.find(old)!.inTried, true);
  assert.equal(b.find(fresh)!.inTried, false);
  assert.equal(b.find(fresh)!.lastSuccess, NOW - 86400, 'statistics updated even when the move waits');
  assert.equal(b.collisionCount, 1);
  assert.equal(b.check(), null);
});

test('resolveCollisions: keep an old entry good within 4 h; replace one that failed after 60 s grace; evict after the 40 min window', () => {
  // Old entry succeeded recently (its good() was 1 day ago in collidingPair; refresh it).
  {
    const am = new AddrMan(opts(31));
    const { old, fresh } = collidingPair(am);
    am.good(old, NOW - 3600); // feeler succeeded an hour ago
    am.resolveCollisions(NOW);
    assert.equal(am.collisionCount, 0);
    assert.equal(am.find(old)!.inTried, true);
    assert.equal(am.find(fresh)!.inTried, false);
    assert.equal(am.check(), null);
  }
  // Old entry tried (feeler) and failed: after 60 s the new one replaces it; the old goes back to new.
  {
    const am = new AddrMan(opts(31));
    const { old, fresh } = collidingPair(am);
    am.attempt(old, true, NOW);
    am.resolveCollisions(NOW + 30);
    assert.equal(am.collisionCount, 1, 'within the minute of grace');
    am.resolveCollisions(NOW + 61);
    assert.equal(am.collisionCount, 0);
    assert.equal(am.find(fresh)!.inTried, true);
    const o = am.find(old);
    if (o) assert.equal(o.inTried, false);
    assert.equal(am.check(), null);
  }
  // Nobody tested: after 40 min from the new entry's success, evict anyway.
  {
    const am = new AddrMan(opts(31));
    const { old, fresh } = collidingPair(am);
    am.good(fresh, NOW); // its success time
    am.resolveCollisions(NOW + 39 * 60);
    assert.equal(am.collisionCount, 1);
    am.resolveCollisions(NOW + 41 * 60);
    assert.equal(am.collisionCount, 0);
    assert.equal(am.find(fresh)!.inTried, true);
    assert.equal(am.find(old)?.inTried ?? false, false);
    assert.equal(am.check(), null);
  }
});

test('collision set holds at most 10', () => {
  const am = new AddrMan(opts(37));
  for (let i = 0; i < 20_000 && am.collisionCount < 10; i++) {
    const a = v4(80, 9, i >>> 8, i & 255);
    am.add([a], v4(20 + (i % 50), 1, 1, 1), 0, NOW);
    am.good(a, NOW);
  }
  assert.equal(am.collisionCount, 10);
  for (let i = 20_000; i < 21_000; i++) {
    const a = v4(80, 9, i >>> 8, i & 255);
    am.add([a], v4(20 + (i % 50), 1, 1, 1), 0, NOW);
    am.good(a, NOW);
  }
  assert.equal(am.collisionCount, 10);
});

// --- persistence -------------------------------------------------------------------------------

type Op =
  | { k: 'add'; i: number; src: number; penalty: number; dt: number }
  | { k: 'good'; i: number; dt: number }
  | { k: 'attempt'; i: number; fail: boolean; dt: number }
  | { k: 'connected'; i: number; dt: number }
  | { k: 'resolve'; dt: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('add' as const), i: fc.integer({ min: 0, max: 400 }), src: fc.integer({ min: 0, max: 30 }), penalty: fc.constantFrom(0, 7200), dt: fc.integer({ min: 0, max: 4000 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('good' as const), i: fc.integer({ min: 0, max: 400 }), dt: fc.integer({ min: 0, max: 4000 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('attempt' as const), i: fc.integer({ min: 0, max: 400 }), fail: fc.boolean(), dt: fc.integer({ min: 0, max: 4000 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('connected' as const), i: fc.integer({ min: 0, max: 400 }), dt: fc.integer({ min: 0, max: 4000 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('resolve' as const), dt: fc.integer({ min: 0, max: 4000 }) }) },
);

/** Few /16s so that tried collisions happen. */
const pa = (i: number): TimedNetAddress => v4(80 + (i % 3), 9, (i * 7) & 255, i & 255, 8333 + (i % 2));

function apply(am: AddrMan, ops: readonly Op[]): number {
  let t = NOW;
  for (const op of ops) {
    t += op.dt;
    switch (op.k) {
      case 'add':
        am.add([{ ...pa(op.i), time: t - 100 }], v4(20 + op.src, op.src, 1, 1), op.penalty, t);
        break;
      case 'good':
        am.good(pa(op.i), t);
        break;
      case 'attempt':
        am.attempt(pa(op.i), op.fail, t);
        break;
      case 'connected':
        am.connected(pa(op.i), t);
        break;
      case 'resolve':
        am.resolveCollisions(t);
        break;
    }
  }
  return t;
}

function behaviour(am: AddrMan, t: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < 40; i++) {
    const e = am.select({ nowSec: t, newOnly: i % 5 === 0 });
    out.push(e === null ? '-' : `${addrKey(e.addr)}:${e.inTried}:${e.attempts}:${e.lastTry}:${e.addr.time}:${e.addr.services}`);
  }
  out.push(am.getAddr({ max: 50, maxPct: 0, nowSec: t }).map(addrKey).join(','));
  const c = am.selectTriedCollision(t);
  out.push(c === null ? '-' : addrKey(c.addr));
  out.push(JSON.stringify(am.counts()));
  return out;
}

test('property: restore(serialize(a)) behaves as a for later selects with the same random source', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 250 }), fc.integer(), (ops, seed) => {
      const a = new AddrMan(opts(seed));
      const t = apply(a, ops);
      assert.equal(a.check(), null);
      const buf = a.serialize();
      const b = AddrMan.restore(buf, opts(seed));
      assert.equal(b.check(), null);
      assert.deepEqual(b.serialize(), buf, 'byte-identical re-serialization');
      // Same random source from here on.
      const ra = seededRandom(seed ^ 0x5a5a);
      const rb = seededRandom(seed ^ 0x5a5a);
      const a2 = AddrMan.restore(buf, { key: KEY, random: ra });
      const b2 = AddrMan.restore(b.serialize(), { key: KEY, random: rb });
      assert.deepEqual(behaviour(a2, t), behaviour(b2, t));
      for (const e of a.entries()) {
        const f = b.find(e.addr)!;
        assert.deepEqual({ ...f, addr: addrKey(f.addr), source: addrKey(f.source) }, { ...e, addr: addrKey(e.addr), source: addrKey(e.source) });
        assert.deepEqual(b.placement(e.addr), a.placement(e.addr));
      }
    }),
    { numRuns: 60 },
  );
});

/** Addresses of every stored network (IPv4, IPv6, CJDNS, Tor v3, I2P), with services up to bit 62. */
const anyNetArb: fc.Arbitrary<TimedNetAddress> = fc
  .record({
    kind: fc.constantFrom('ipv4', 'ipv6', 'cjdns', 'torv3', 'i2p'),
    n: fc.nat({ max: 40 }),
    port: fc.constantFrom(8333, 18333, 0),
    services: fc.constantFrom(0n, 1n, 0x409n, (1n << 40n) | 9n, 1n << 62n),
  })
  .map(({ kind, n, port, services }) => {
    const net = kind as TimedNetAddress['network'];
    let addr: Buffer;
    if (kind === 'ipv4') addr = Buffer.from([11 + n, 1, 2, n]);
    else if (kind === 'ipv6') addr = Buffer.concat([Buffer.from([0x2a, 0x01, 0x4f, n]), Buffer.alloc(11), Buffer.of(n + 1)]);
    else if (kind === 'cjdns') addr = Buffer.concat([Buffer.of(0xfc, n), Buffer.alloc(13), Buffer.of(n + 1)]);
    else addr = Buffer.concat([Buffer.of(n), Buffer.alloc(31, kind === 'i2p' ? 0x22 : 0x33)]);
    return { network: net, addr, port: kind === 'i2p' ? 0 : port === 0 ? 8333 : port, services, time: NOW - 600 };
  });

test('property: entries of every network keep their address, first source and merged services through adds, evictions, snapshot and restore', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(anyNetArb, anyNetArb), { maxLength: 200 }), fc.integer(), (adds, seed) => {
      const am = new AddrMan(opts(seed));
      const model = new Map<string, { source: string; services: bigint }>();
      let t = NOW;
      for (const [a, src] of adds) {
        t += 10;
        const k = addrKey(a);
        const before = model.get(k);
        am.add([{ ...a, time: t - 100 }], src, 0, t);
        const e = am.find(a);
        if (e === undefined) model.delete(k);
        else model.set(k, { source: before?.source ?? addrKey({ ...src, port: 0 }), services: (before?.services ?? 0n) | a.services });
        // An add may evict another new entry from its slot.
        const stored = new Set([...am.entries()].map((x) => addrKey(x.addr)));
        for (const key of [...model.keys()]) if (!stored.has(key)) model.delete(key);
      }
      assert.equal(am.check(), null);
      assert.equal(am.size, model.size);
      for (const e of am.entries()) {
        const m = model.get(addrKey(e.addr));
        assert.ok(m, addrKey(e.addr));
        assert.equal(addrKey({ ...e.source, port: 0 }), m.source);
        assert.equal(e.addr.services, m.services);
      }
      const b = AddrMan.restore(am.serialize(), opts(seed));
      assert.equal(b.check(), null);
      assert.deepEqual(b.serialize(), am.serialize());
      for (const e of am.entries()) assert.deepEqual(b.find(e.addr), e);
    }),
    { numRuns: 80 },
  );
});

test('restore under another key re-buckets and stays consistent', () => {
  const a = new AddrMan(opts(41));
  fill(a, 3000, (i) => v4(11 + (i % 80), i & 255, 1, 1));
  for (const e of [...a.entries()].slice(0, 200)) a.good(e.addr, NOW);
  const b = AddrMan.restore(a.serialize(), { key: Buffer.alloc(32, 1), random: seededRandom(1) });
  assert.equal(b.check(), null);
  assert.ok(b.size > a.size * 0.9, `${b.size} of ${a.size} kept`);
});

test('an asmap places by AS (one AS: ≤ 8 tried buckets); a snapshot written without it is re-bucketed, not corrupt', () => {
  const oneAs = new NetGroupManager({ version: 'all-in-AS-64496', lookup: () => 64_496 });
  const a = new AddrMan(opts(45));
  const b = new AddrMan(opts(45, { netgroups: oneAs }));
  assert.equal(b.netgroups, oneAs);
  const tried = (am: AddrMan): Set<number> => {
    const s = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const p = am.placement(addrOf(i));
      if (p?.tried != null) s.add(Math.floor(p.tried / BUCKET_SIZE));
    }
    return s;
  };
  for (const am of [a, b]) {
    fill(am, 300, (i) => v4(11 + (i % 80), i & 255, 1, 1));
    for (let i = 0; i < 300; i++) am.good(addrOf(i), NOW, false);
  }
  assert.ok(tried(a).size > 100, `${tried(a).size} tried buckets without an asmap (300 addresses in 300 /16s)`);
  assert.ok(tried(b).size <= TRIED_BUCKETS_PER_GROUP, `${tried(b).size} tried buckets with every address in one AS`);
  const c = AddrMan.restore(a.serialize(), opts(1, { netgroups: oneAs }));
  assert.equal(c.check(), null);
  assert.ok(tried(c).size <= TRIED_BUCKETS_PER_GROUP);
  // 300 tried entries squeezed into one group's 8 × 64 slots collide; those whose new slot is taken too are dropped.
  assert.ok(c.size > a.size * 0.8, `${c.size} of ${a.size} kept`);
});

test('corrupt, truncated, foreign and future-version snapshots raise AddrManFormatError', () => {
  const a = new AddrMan(opts(43));
  fill(a, 300, (i) => v4(11 + (i % 80), i & 255, 1, 1));
  for (const e of [...a.entries()].slice(0, 30)) a.good(e.addr, NOW);
  const buf = a.serialize();
  const reason = (b: Buffer): string => {
    try {
      AddrMan.restore(b, opts());
      return 'ok';
    } catch (e) {
      assert.ok(e instanceof AddrManFormatError, String(e));
      return e.reason;
    }
  };
  assert.equal(reason(buf), 'ok');
  assert.equal(reason(Buffer.alloc(0)), 'foreign');
  assert.equal(reason(Buffer.from('SQLite format 3\0')), 'foreign');
  assert.equal(reason(buf.subarray(0, buf.length - 1)), 'checksum');
  assert.equal(reason(buf.subarray(0, 10)), 'truncated');
  const v = Buffer.from(buf);
  v[4] = 99;
  assert.equal(reason(v), 'version');
  const flipped: Buffer = Buffer.from(buf);
  flipped[100] ^= 1;
  assert.equal(reason(flipped), 'checksum');
  // Structural damage with a valid checksum.
  const resum = (b: Buffer): Buffer => {
    const body = b.subarray(0, b.length - 8);
    return Buffer.concat([body, createHash('sha256').update(body).digest().subarray(0, 8)]);
  };
  const dup = Buffer.from(buf);
  dup.writeUInt32LE(a.size + 1, 17);
  assert.equal(reason(resum(dup)), 'corrupt');
});

test('property: mutated or truncated snapshots never throw anything but AddrManFormatError', () => {
  const a = new AddrMan(opts(47));
  apply(a, fc.sample(fc.array(opArb, { minLength: 100, maxLength: 100 }), { numRuns: 1, seed: 3 })[0]);
  const buf = a.serialize();
  const resum = (b: Buffer): Buffer => {
    if (b.length < 8) return b;
    const body = b.subarray(0, b.length - 8);
    return Buffer.concat([body, createHash('sha256').update(body).digest().subarray(0, 8)]);
  };
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      fc.boolean(),
      fc.boolean(),
      (muts, cut, truncate, fixSum) => {
        let b: Buffer = Buffer.from(buf);
        for (const [at, val] of muts) b[at % b.length] = val;
        if (truncate) b = b.subarray(0, cut % b.length);
        if (fixSum) b = resum(b);
        try {
          const r = AddrMan.restore(b, opts());
          assert.equal(r.check(), null);
        } catch (e) {
          assert.ok(e instanceof AddrManFormatError, `threw ${String(e)}`);
        }
      },
    ),
    { numRuns: 400 },
  );
});
