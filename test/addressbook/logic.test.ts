import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddrMan, seededRandom } from '../../src/addressbook/addrman.js';
import {
  CACHE_BASE_MS,
  CACHE_JITTER_MS,
  DNS_SEED_DELAY_MS,
  DNS_SEED_THRESHOLD,
  dnsRoundSummary,
  emptyCounters,
  internalSource,
  notePeer,
  onAddr,
  onAttempt,
  onGetaddr,
  onMisbehaving,
  onPeerConnected,
  onPeerDisconnected,
  peerAddrCounts,
  peerOf,
  selectCandidates,
  stepBook,
  type BookEffect,
  type BookState,
  type FixedSeedsPolicy,
} from '../../src/addressbook/logic.js';
import type { BanReply, Candidate } from '../../src/contracts/addressbook.js';
import { emptyBans, ban, isDiscouraged, parseSubnet, MAX_DISCOURAGED } from '../../src/contracts/bans.js';
import { NO_ASMAP } from '../../src/netaddress/netgroup.js';
import type { Ref } from '../../supervisors/index.js';

const netGroup = (host: string): string => NO_ASMAP.hostGroup(host);
import type { PeerMsg } from '../../src/contracts/peer.js';
import type { TimedNetAddress } from '../../src/wire/address.js';

const T0 = 1_700_000_000_000;
const FIRST = [5, 23, 31, 37, 45, 51, 62, 77, 88, 91, 104, 130, 141, 152, 163, 176, 185, 193, 203, 212];

function ip4(i: number, timeSec: number, port = 8333): TimedNetAddress {
  return { network: 'ipv4', addr: Buffer.from([FIRST[i % FIRST.length] as number, (i >> 5) & 0xff, (i >> 13) & 0xff, (i & 0x1f) + 1]), port, services: 0x409n, time: timeSec };
}

/** A stand-in peer ref: only compared by identity in these tests. */
function fakeRef(name: string): Ref<PeerMsg> {
  return { path: `/root/peers/${name}` } as unknown as Ref<PeerMsg>;
}

function state(seed = 1): BookState {
  const random = seededRandom(seed);
  return {
    man: new AddrMan({ key: Buffer.alloc(32, 7), random }),
    bans: emptyBans(),
    peers: new Map(),
    cache: null,
    pendingAnchors: [],
    savedAnchors: '',
    random,
    counters: emptyCounters(),
    dns: null,
  };
}

function fill(s: BookState, n: number, nowMs: number): void {
  const src = ip4(99_999, 0);
  for (let i = 0; i < n; i += 500) {
    const batch: TimedNetAddress[] = [];
    for (let j = i; j < Math.min(n, i + 500); j++) batch.push(ip4(j, Math.floor(nowMs / 1000) - 3600));
    // Many sources so that one source's bucket limit does not cap the table.
    s.man.add(batch, { ...src, addr: Buffer.from([FIRST[(i / 500) % FIRST.length] as number, 77, (i / 500) & 0xff, 1]) }, 0, Math.floor(nowMs / 1000));
  }
}

const sends = (fx: BookEffect[]) => fx.filter((e): e is Extract<BookEffect, { kind: 'send' }> => e.kind === 'send');

test('getaddr: at most 1000 entries and 23% of the table, the same cached answer for every requester until it expires', () => {
  const s = state();
  fill(s, 20_000, T0);
  assert.ok(s.man.size > 4000, `table has ${s.man.size}`);
  const a = notePeer(s, 1, fakeRef('a'), 'inbound', true, T0);
  const b = notePeer(s, 2, fakeRef('b'), 'inbound', false, T0);
  const ra = sends(onGetaddr(s, a, T0));
  const rb = sends(onGetaddr(s, b, T0 + 3600_000));
  assert.equal(ra.length, 1);
  assert.equal(ra[0]?.msg.command, 'addrv2');
  assert.equal(rb[0]?.msg.command, 'addr');
  const la = ra[0]?.msg.command === 'addrv2' ? ra[0].msg.addresses : [];
  const lb = rb[0]?.msg.command === 'addr' ? rb[0].msg.addresses : [];
  assert.ok(la.length <= 1000 && la.length <= Math.floor(s.man.size * 0.23) && la.length > 500, `answer of ${la.length}`);
  assert.deepEqual(lb, la, 'the second requester sees the same cached answer');
  // After the cache period (21 h + up to 6 h), a new sample.
  const c = notePeer(s, 3, fakeRef('c'), 'inbound', true, T0);
  const rc = sends(onGetaddr(s, c, T0 + CACHE_BASE_MS + CACHE_JITTER_MS + 1));
  const lc = rc[0]?.msg.command === 'addrv2' ? rc[0].msg.addresses : [];
  assert.notDeepEqual(lc, la);
  // A small table: 23% of it.
  const small = state(2);
  fill(small, 100, T0);
  const d = notePeer(small, 1, fakeRef('d'), 'inbound', true, T0);
  const rd = sends(onGetaddr(small, d, T0));
  const ld = rd[0]?.msg.command === 'addrv2' ? rd[0].msg.addresses : [];
  assert.equal(ld.length, Math.floor((small.man.size * 23) / 100));
});

test('rate limit: an inbound peer starts with one token (0.1/s); a peer we sent getaddr gets 1000 more; 5,000 in 5 messages are capped', () => {
  const s = state();
  const nowSec = Math.floor(T0 / 1000);
  const inbound = notePeer(s, 1, fakeRef('in'), 'inbound', false, T0);
  let t = T0;
  for (let m = 0; m < 5; m++) {
    const batch = Array.from({ length: 1000 }, (_, i) => ip4(m * 1000 + i, nowSec - 60));
    onAddr(s, inbound, batch, t, false);
    t += 100;
  }
  assert.equal(s.counters.addrReceived, 5000);
  const processedIn = 5000 - s.counters.addrRateLimited;
  assert.ok(processedIn <= 1 + 1, `inbound processed ${processedIn}`);
  assert.ok(s.man.size <= 2);

  const s2 = state(3);
  const out = notePeer(s2, 2, fakeRef('out'), 'outbound-full-relay', true, T0);
  t = T0;
  for (let m = 0; m < 5; m++) {
    const batch = Array.from({ length: 1000 }, (_, i) => ip4(m * 1000 + i, nowSec - 60));
    onAddr(s2, out, batch, t, false);
    t += 1000;
  }
  const processedOut = 5000 - s2.counters.addrRateLimited;
  // 1 + 1000 (getaddr) + 0.1/s × 4 s.
  assert.ok(processedOut >= 1000 && processedOut <= 1001 + 1, `outbound processed ${processedOut}`);
  // 10 minutes later another 60 tokens.
  const before = s2.counters.addrRateLimited;
  onAddr(s2, out, Array.from({ length: 1000 }, (_, i) => ip4(9000 + i, nowSec)), T0 + 4000 + 600_000, false);
  assert.equal(1000 - (s2.counters.addrRateLimited - before), 60);
});

test('per-peer counts (getpeerinfo): processed = past the token bucket and not banned/discouraged (invalid and local ones included, as Core); rate-limited = dropped by the bucket', () => {
  const s = state();
  const nowSec = Math.floor(T0 / 1000);
  const a = notePeer(s, 1, fakeRef('a'), 'inbound', false, T0);
  const b = notePeer(s, 2, fakeRef('b'), 'inbound', false, T0);
  a.bucket.tokens = 10;
  ban(s.bans, parseSubnet('45.0.0.0/8')!, T0, T0 + 3600_000);
  const banned = { ...ip4(3, nowSec - 60), addr: Buffer.from([45, 1, 2, 3]) };
  const local = { ...ip4(4, nowSec - 60), addr: Buffer.from([10, 1, 2, 3]) };
  const zero = { ...ip4(5, nowSec - 60), addr: Buffer.from([0, 0, 0, 0]) };
  // ip4(i) is in 45/8 when i % 20 === 4: those indices are left out.
  const batch = [banned, local, zero, ...[10, 11, 12, 13, 15, 16, 17, 18, 19, 20, 21, 22, 23, 25, 26, 27, 28].map((i) => ip4(i, nowSec - 60))];
  onAddr(s, a, batch, T0, false);
  // 10 tokens for 20 addresses (shuffled): 10 rate-limited; of the 10 taken, the banned one (if it got a token) is not processed.
  assert.equal(a.addrRateLimited, 10);
  assert.ok(a.addrProcessed === 9 || a.addrProcessed === 10, `processed ${a.addrProcessed}`);
  const bannedTaken = a.addrProcessed === 9;
  assert.equal(s.counters.addrRateLimited, 10);
  // Peer b: one token at start, so one processed and the rest rate-limited; a's counts unchanged.
  onAddr(s, b, [ip4(40, nowSec), ip4(41, nowSec), ip4(42, nowSec)], T0, false);
  assert.deepEqual(
    peerAddrCounts(s).sort((x, y) => x.id - y.id),
    [
      { id: 1, addrProcessed: bannedTaken ? 9 : 10, addrRateLimited: 10 },
      { id: 2, addrProcessed: 1, addrRateLimited: 2 },
    ],
  );
  // They accumulate over messages, and leave with the peer.
  b.bucket.tokens = 5;
  onAddr(s, b, [ip4(46, nowSec), ip4(47, nowSec)], T0, false);
  assert.equal(b.addrProcessed, 3);
  onPeerDisconnected(s, 2, T0);
  assert.deepEqual(
    peerAddrCounts(s).map((c) => c.id),
    [1],
  );
});

test('oversized addr (> 1000) is misbehaviour and nothing of it is stored', () => {
  const s = state();
  const p = notePeer(s, 1, fakeRef('x'), 'inbound', false, T0);
  const fx = onAddr(s, p, Array.from({ length: 1001 }, (_, i) => ip4(i, 1)), T0, false);
  assert.deepEqual(
    fx.map((e) => e.kind),
    ['disconnect'],
  );
  assert.equal(s.man.size, 0);
});

test('relay: fresh addresses from a small unsolicited message go to 1–2 other peers, never the source or block-relay-only; banned ones are dropped', () => {
  const s = state();
  const nowSec = Math.floor(T0 / 1000);
  const src = notePeer(s, 1, fakeRef('src'), 'inbound', false, T0);
  src.bucket.tokens = 100;
  const refs = { full: fakeRef('full'), br: fakeRef('br'), in2: fakeRef('in2') };
  onPeerConnected(s, { id: 2, endpoint: { host: '23.1.1.1', port: 8333 }, connType: 'outbound-full-relay', services: 1n, ref: refs.full }, T0);
  onPeerConnected(s, { id: 3, endpoint: { host: '31.1.1.1', port: 8333 }, connType: 'block-relay-only', services: 1n, ref: refs.br }, T0);
  onPeerConnected(s, { id: 4, endpoint: { host: '37.1.1.1', port: 8333 }, connType: 'inbound', services: 1n, ref: refs.in2 }, T0);
  ban(s.bans, parseSubnet('45.0.0.0/8')!, T0, T0 + 3600_000);
  const addrs = [ip4(1, nowSec - 60), ip4(2, nowSec - 60), { ...ip4(3, nowSec - 60), addr: Buffer.from([45, 1, 2, 3]) }];
  const fx = sends(onAddr(s, src, addrs, T0, false));
  assert.ok(fx.length >= 1 && fx.length <= 2, `${fx.length} relays`);
  for (const e of fx) {
    assert.ok(e.to === refs.full || e.to === refs.in2, 'not to the source nor to block-relay-only');
    assert.equal(e.msg.command, 'addr');
    assert.equal(e.msg.command === 'addr' ? e.msg.addresses.length : 0, 2, 'the banned address is not relayed');
  }
  assert.equal(s.man.size, 2, 'the banned address is not stored');
  // Old addresses, and messages of more than 10, are stored but not relayed.
  assert.equal(sends(onAddr(s, src, [ip4(10, nowSec - 3600)], T0, false)).length, 0);
  assert.equal(sends(onAddr(s, src, Array.from({ length: 11 }, (_, i) => ip4(20 + i, nowSec)), T0, false)).length, 0);
  // Solicited (the answer to our getaddr) is not relayed either.
  const out = notePeer(s, 5, fakeRef('out'), 'outbound-full-relay', false, T0);
  assert.equal(sends(onAddr(s, out, [ip4(50, nowSec)], T0, false)).length, 0);
});

test('select: never a connected endpoint or an excluded/used group; anchors first; only reachable networks', () => {
  const s = state();
  fill(s, 3000, T0);
  s.pendingAnchors = [{ host: '203.0.113.9', port: 8333 }];
  onPeerConnected(s, { id: 9, endpoint: { host: '5.0.0.1', port: 8333 }, connType: 'outbound-full-relay', services: 1n, ref: fakeRef('p9') }, T0);
  const list = selectCandidates(s, { purpose: 'outbound', count: 12, excludeGroups: ['ipv4:23.0'], excludeEndpoints: ['31.0.0.2:8333'] }, T0);
  assert.equal(list[0]?.host, '203.0.113.9', 'the anchor comes first');
  assert.equal(list[0]?.anchor, true, 'marked as an anchor, for a block-relay-only slot');
  assert.ok(list.slice(1).every((e) => e.anchor !== true), 'only anchors are marked');
  assert.ok(list.length >= 8, `${list.length} candidates`);
  const groups = list.map((e) => netGroup(e.host));
  assert.equal(new Set(groups).size, groups.length, 'one per group');
  assert.ok(!groups.includes('ipv4:23.0'));
  assert.ok(!list.some((e) => e.host === '5.0.0.1' || e.host === '31.0.0.2'));
  assert.equal(s.pendingAnchors.length, 0, 'anchors are offered once');
  // Feelers draw from the new table only.
  const f = selectCandidates(s, { purpose: 'feeler', count: 1, excludeGroups: [] }, T0);
  assert.equal(f.length, 1);
});

test('addr: what passed the rate limit and filters is journaled (the first effect, with source, penalty, time and how many found a place)', () => {
  const s = state();
  const nowSec = Math.floor(T0 / 1000);
  const p = notePeer(s, 1, fakeRef('out'), 'outbound-full-relay', false, T0);
  onPeerConnected(s, { id: 1, endpoint: { host: '45.6.7.8', port: 8333 }, connType: 'outbound-full-relay', services: 1n, ref: fakeRef('out') }, T0);
  const bad: TimedNetAddress = { network: 'ipv4', addr: Buffer.from([5, 6, 7, 8]), port: 0, services: 1n, time: nowSec };
  const fx = onAddr(s, p, [ip4(1, nowSec - 60), bad, ip4(2, nowSec - 60), ip4(1, nowSec - 60)], T0, false);
  const first = fx[0];
  assert.equal(first?.kind, 'learned');
  if (first?.kind !== 'learned') return;
  assert.equal(first.addrs.length, 3, 'port 0 filtered out; the duplicate kept (addrman merges it)');
  assert.equal(first.added, 2);
  assert.equal(first.penalty, 2 * 3600);
  assert.equal(first.atSec, nowSec);
  assert.deepEqual([...first.source.addr], [45, 6, 7, 8]);
  // Nothing that passes: no journal record.
  assert.ok(!onAddr(s, p, [bad], T0, false).some((e) => e.kind === 'learned'));
});

test('select: a table whose every entry is unusable gives up after 100 draws in a row without a candidate (was 100 + 4 × count)', () => {
  const s = state(3);
  const nowSec = Math.floor(T0 / 1000);
  // 60 addresses of one /16, so one network group: once that group is in use nothing is usable.
  const addrs: TimedNetAddress[] = Array.from({ length: 60 }, (_, i) => ({ network: 'ipv4', addr: Buffer.from([23, 9, i, 1]), port: 8333, services: 0x409n, time: nowSec - 60 }));
  s.man.add(addrs, ip4(99_999, 0), 0, nowSec);
  assert.ok(s.man.size > 20, `${s.man.size} stored (one group from one source: one bucket)`);
  assert.deepEqual(selectCandidates(s, { purpose: 'outbound', count: 40, excludeGroups: [netGroup('23.9.0.1')] }, T0), []);
  assert.equal(s.counters.selectDraws, 100);
  assert.equal(s.counters.selectEmpty, 1);
  // The group free: its first draw is taken, then 100 misses.
  const one = selectCandidates(s, { purpose: 'outbound', count: 40, excludeGroups: [] }, T0);
  assert.equal(one.length, 1);
  assert.equal(s.counters.selectDraws, 100 + 101);
  assert.equal(s.counters.selectRounds, 2);
});

test('attempts: success moves to tried (journal effect once); failure counts; misbehaving local peers are never discouraged', () => {
  const s = state();
  const nowSec = Math.floor(T0 / 1000);
  const p = peerOf(s, 1, T0);
  p.bucket.tokens = 10;
  onAddr(s, p, [ip4(7, nowSec - 60)], T0, false);
  const host = `${FIRST[7]}.0.0.8`;
  const fx = onAttempt(s, { host, port: 8333 }, true, 'outbound-full-relay', T0 + 1000);
  assert.deepEqual(
    fx.map((e) => e.kind),
    ['tried', 'log'],
  );
  const again = onAttempt(s, { host, port: 8333 }, true, 'outbound-full-relay', T0 + 2000);
  assert.deepEqual(again.map((e) => e.kind), ['succeeded'], 'already tried: no second promotion, a success record (not synced) instead');
  onAttempt(s, { host: '1.1.1.1', port: 1 }, false, 'outbound-full-relay', T0);
  assert.equal(onMisbehaving(s, { host: '127.0.0.1', port: 1 }, T0), false);
  assert.equal(onMisbehaving(s, { host: '::ffff:8.8.4.4', port: 1 }, T0), true);
  assert.ok(s.bans.discouraged.has('8.8.4.4'));
});

test('anchors: the block-relay-only peers in use, written on change', () => {
  const s = state();
  const fx1 = onPeerConnected(s, { id: 1, endpoint: { host: '23.1.1.1', port: 8333 }, connType: 'block-relay-only', services: 1n, ref: null }, T0);
  assert.equal(fx1[0]?.kind, 'anchors');
  assert.deepEqual(onPeerConnected(s, { id: 2, endpoint: { host: '31.1.1.1', port: 8333 }, connType: 'outbound-full-relay', services: 1n, ref: null }, T0), []);
  const fx2 = onPeerDisconnected(s, 1, T0);
  assert.deepEqual(fx2[0]?.kind === 'anchors' ? fx2[0].anchors : null, []);
});

test('relay targets: the same peers for an address all day (keyed), spread across peers over many addresses, never back to whoever knows it', () => {
  const nowSec = Math.floor(T0 / 1000);
  const build = (key: number): { s: BookState; src: ReturnType<typeof notePeer>; refs: Ref<PeerMsg>[] } => {
    const s = { ...state(), relayKey: Buffer.alloc(32, key) };
    const src = notePeer(s, 1, fakeRef('src'), 'inbound', false, T0);
    src.bucket.tokens = 10_000;
    const refs: Ref<PeerMsg>[] = [];
    for (let i = 0; i < 8; i++) {
      const ref = fakeRef(`p${i}`);
      refs.push(ref);
      onPeerConnected(s, { id: 10 + i, endpoint: { host: `${23 + i}.1.1.1`, port: 8333 }, connType: 'outbound-full-relay', services: 1n, ref }, T0);
    }
    return { s, src, refs };
  };
  const targetsOf = (key: number, i: number, atMs = T0): string[] => {
    const { s, src } = build(key);
    return sends(onAddr(s, src, [ip4(i, nowSec - 60)], atMs, false))
      .map((e) => (e.to as unknown as { path: string }).path)
      .sort();
  };
  // Deterministic: two nodes with the same key pick the same two peers; later the same day too.
  assert.deepEqual(targetsOf(1, 5), targetsOf(1, 5));
  assert.equal(targetsOf(1, 5).length, 2);
  assert.deepEqual(targetsOf(1, 5), targetsOf(1, 5, T0 + 60_000));
  // Different addresses spread over the peers; another key picks differently.
  const used = new Set<string>();
  for (let i = 0; i < 40; i++) for (const p of targetsOf(1, i)) used.add(p);
  assert.ok(used.size >= 6, `${used.size} of 8 peers used over 40 addresses`);
  let differ = 0;
  for (let i = 0; i < 20; i++) if (targetsOf(1, i).join() !== targetsOf(2, i).join()) differ++;
  assert.ok(differ > 5, `${differ}/20 differ between keys`);
  // Known addresses are not sent again: a second relay of the same address reaches no one new.
  const { s, src } = build(3);
  assert.equal(sends(onAddr(s, src, [ip4(7, nowSec - 60)], T0, false)).length, 2);
  assert.equal(sends(onAddr(s, src, [ip4(7, nowSec - 30)], T0 + 1000, false)).length, 0, 'the targets already know it');
  // An address a peer sent us is never relayed back to it, even when it is a chosen target.
  const { s: s2, src: src2 } = build(4);
  const chosen = targetsOf(4, 9);
  const other = [...s2.peers.values()].find((p) => p.ref && (p.ref as unknown as { path: string }).path === chosen[0]);
  assert.ok(other);
  other.bucket.tokens = 100;
  sends(onAddr(s2, other, [ip4(9, nowSec - 60)], T0, false));
  const again = sends(onAddr(s2, src2, [ip4(9, nowSec - 50)], T0 + 1, false)).map((e) => (e.to as unknown as { path: string }).path);
  assert.ok(!again.includes(chosen[0]), 'not back to the peer that sent it');
});

// --- stepBook: the DNS-seed round and the ban decisions (moved out of the shell) -----------

const kinds = (fx: readonly BookEffect[]): string[] => fx.map((e) => e.kind);
const logs = (fx: readonly BookEffect[]) => fx.filter((e): e is Extract<BookEffect, { kind: 'log' }> => e.kind === 'log');
const NO_FIXED: FixedSeedsPolicy = { enabled: false, dnsseed: true, manualPeers: false, startedAtMs: T0, reachable: ['ipv4', 'ipv6'] };

function banReplyRef(): Ref<BanReply> {
  return { path: '/test/reply' } as unknown as Ref<BanReply>;
}
function pushed(fx: readonly BookEffect[]) {
  const e = fx.find((x): x is Extract<BookEffect, { kind: 'push-ban-list' }> => x.kind === 'push-ban-list');
  assert.ok(e, 'the ban list is pushed');
  return e.bans;
}
function replyOf(fx: readonly BookEffect[]): BanReply | undefined {
  const e = fx.find((x): x is Extract<BookEffect, { kind: 'reply' }> => x.kind === 'reply');
  return e?.reply;
}

test('start: the DNS seeds are looked at after 11 s with --dnsseed and a seed list (or the given delay), never without; fixed seeds at once when enabled; the ban list pushed', () => {
  const s = state();
  assert.deepEqual(stepBook(s, { type: 'start', dnsseed: true, dnsSeeds: ['a', 'b'], fixedSeeds: NO_FIXED }).filter((e) => e.kind === 'timer'), [
    { kind: 'timer', key: 'dns-seed', ms: DNS_SEED_DELAY_MS },
  ]);
  assert.equal(DNS_SEED_DELAY_MS, 11_000);
  assert.deepEqual(stepBook(s, { type: 'start', dnsseed: true, dnsSeeds: ['a'], dnsDelayMs: 5, fixedSeeds: NO_FIXED }).filter((e) => e.kind === 'timer'), [
    { kind: 'timer', key: 'dns-seed', ms: 5 },
  ]);
  assert.deepEqual(kinds(stepBook(s, { type: 'start', dnsseed: false, dnsSeeds: ['a'], fixedSeeds: NO_FIXED })), ['push-ban-list'], '--dnsseed 0: no DNS timer');
  assert.deepEqual(kinds(stepBook(s, { type: 'start', dnsseed: true, dnsSeeds: [], fixedSeeds: NO_FIXED })), ['push-ban-list'], 'no seeds: no DNS timer');
  const withFixed = stepBook(s, { type: 'start', dnsseed: false, dnsSeeds: [], fixedSeeds: { ...NO_FIXED, enabled: true } });
  assert.deepEqual(withFixed[0], { kind: 'timer', key: 'fixed-seeds', ms: 0 });
});

test('DNS seeds: queried only while the book has fewer than 1000 addresses; a round starts with one info line and one query of every seed', () => {
  const s = state();
  fill(s, 50, T0);
  const fx = stepBook(s, { type: 'dns-seed', seeds: ['a.seed', 'b.seed'] });
  assert.deepEqual(kinds(fx), ['log', 'query-dns']);
  assert.equal(logs(fx)[0]?.msg, 'querying DNS seeds');
  assert.equal(logs(fx)[0]?.level, 'info');
  assert.deepEqual(fx[1], { kind: 'query-dns', seeds: ['a.seed', 'b.seed'] });
  assert.deepEqual(s.dns, { pending: 2, answered: 0, added: 0, failed: [] });

  const full = state();
  fill(full, 1500, T0);
  assert.ok(full.man.size >= DNS_SEED_THRESHOLD, `book of ${full.man.size}`);
  const none = stepBook(full, { type: 'dns-seed', seeds: ['a.seed'] });
  assert.deepEqual(kinds(none), ['log'], 'enough addresses: no query');
  assert.equal(logs(none)[0]?.level, 'debug');
  assert.equal(full.dns, null, 'no round');
});

test('DNS seeds: each answer is added (seed as source, 3–7 days old, NODE_NETWORK|NODE_WITNESS) and journaled first; one summary line when the last answer of the round is in', () => {
  const s = state();
  stepBook(s, { type: 'dns-seed', seeds: ['a.seed', 'b.seed', 'c.seed'] });
  const nowSec = Math.floor(T0 / 1000);
  const a = stepBook(s, { type: 'dns-result', seed: 'a.seed', hosts: ['5.6.7.8', '2a01:4f8::1', 'not an ip'], defaultPort: 18444, now: T0 });
  assert.deepEqual(kinds(a), ['learned', 'log'], 'journaled first; no summary before the round is over');
  const learned = a[0];
  assert.ok(learned?.kind === 'learned');
  assert.equal(learned.addrs.length, 2);
  assert.equal(learned.added, 2);
  assert.equal(learned.penalty, 0);
  assert.deepEqual(learned.source, internalSource('a.seed'));
  for (const x of learned.addrs) {
    assert.equal(x.port, 18444);
    assert.equal(x.services, 0x9n);
    assert.ok(x.time <= nowSec - 3 * 86400 && x.time > nowSec - 7 * 86400, `time ${nowSec - x.time} s ago`);
  }
  assert.equal(s.man.size, 2);
  const b = stepBook(s, { type: 'dns-result', seed: 'b.seed', hosts: [], error: 'queryA ECONNREFUSED', defaultPort: 18444, now: T0 });
  assert.deepEqual(kinds(b), ['log'], 'a failure: nothing learned, no summary yet');
  assert.equal(logs(b)[0]?.level, 'debug');
  assert.deepEqual(s.dns, { pending: 1, answered: 1, added: 2, failed: ['b.seed: queryA ECONNREFUSED'] });
  const c = stepBook(s, { type: 'dns-result', seed: 'c.seed', hosts: ['23.4.5.6'], defaultPort: 18444, now: T0 });
  assert.deepEqual(kinds(c), ['learned', 'log', 'log']);
  const summary = logs(c)[1];
  assert.equal(summary?.level, 'info');
  assert.equal(summary?.msg, 'DNS seeds: 2 of 3 answered (b.seed: queryA ECONNREFUSED)');
  assert.deepEqual(summary?.data, { seeds: 3, answered: 2, added: 3, failed: ['b.seed: queryA ECONNREFUSED'] });
  assert.equal(s.dns, null, 'the round is over');
  // An answer with no round (a restarted book) is still learned, and says no summary.
  assert.deepEqual(kinds(stepBook(s, { type: 'dns-result', seed: 'd.seed', hosts: ['31.4.5.6'], defaultPort: 18444, now: T0 })), ['learned', 'log']);
});

test('DNS seeds: the round summary says all answered, or the first failure and how many more, with a hint when none answered', () => {
  assert.equal(dnsRoundSummary({ answered: 2, added: 7, failed: [] }).msg, 'DNS seeds: 2 of 2 answered, 7 new addresses');
  assert.equal(dnsRoundSummary({ answered: 1, added: 1, failed: ['b: x', 'c: y', 'd: z'] }).msg, 'DNS seeds: 1 of 4 answered (b: x, and 2 more)');
  const none = dnsRoundSummary({ answered: 0, added: 0, failed: ['a: offline'] }).msg;
  assert.ok(none.startsWith('DNS seeds: 0 of 1 answered (a: offline); no network or no DNS here?'), none);
  // Every seed failing ends the round too.
  const s = state();
  stepBook(s, { type: 'dns-seed', seeds: ['a', 'b'] });
  stepBook(s, { type: 'dns-result', seed: 'a', hosts: [], error: 'e1', defaultPort: 8333, now: T0 });
  const last = logs(stepBook(s, { type: 'dns-result', seed: 'b', hosts: [], error: 'e2', defaultPort: 8333, now: T0 }));
  assert.ok(last[1]?.msg.startsWith('DNS seeds: 0 of 2 answered (a: e1, and 1 more); no network'), last[1]?.msg);
});

test('ban: persisted first, the ban list (a copy) pushed, the getaddr cache dropped, only the peers it covers disconnected, then the reply', () => {
  const s = state();
  const inside = fakeRef('inside');
  const outside = fakeRef('outside');
  onPeerConnected(s, { id: 1, endpoint: { host: '45.1.2.3', port: 8333 }, connType: 'inbound', services: 1n, ref: inside }, T0);
  onPeerConnected(s, { id: 2, endpoint: { host: '46.1.2.3', port: 8333 }, connType: 'inbound', services: 1n, ref: outside }, T0);
  s.cache = { addrs: [], builtAt: T0, expiresAt: T0 + 1000 };
  const replyTo = banReplyRef();
  const fx = stepBook(s, { type: 'ban', subnet: '45.0.0.0/8', untilMs: T0 + 3600_000, reason: 'manually added', replyTo, now: T0 });
  assert.deepEqual(kinds(fx), ['persist-ban', 'push-ban-list', 'disconnect', 'log', 'reply']);
  assert.deepEqual(fx[0], { kind: 'persist-ban', subnet: '45.0.0.0/8', createdAt: T0, until: T0 + 3600_000, reason: 'manually added' });
  const d = fx[2];
  assert.ok(d?.kind === 'disconnect' && d.to === inside && d.reason === 'banned (45.0.0.0/8)' && !d.misbehaving);
  assert.deepEqual(replyOf(fx), { ok: true });
  assert.equal(s.cache, null);
  const list = pushed(fx);
  assert.ok(list.bans.has('45.0.0.0/8'));
  assert.notEqual(list.bans, s.bans.bans, 'a copy, not the book\'s own map');
  s.bans.bans.clear();
  assert.ok(list.bans.has('45.0.0.0/8'), 'later changes do not reach what was pushed');
});

test('ban: refused (a reply, nothing persisted or pushed) when the subnet does not parse, the end is past, or it is banned already; an expired ban may be renewed', () => {
  const s = state();
  const replyTo = banReplyRef();
  const ban1 = (subnet: string, untilMs: number, now = T0) => stepBook(s, { type: 'ban', subnet, untilMs, reason: 'r', replyTo, now });
  assert.deepEqual(ban1('not a subnet', T0 + 1000), [{ kind: 'reply', to: replyTo, reply: { ok: false, error: 'Error: Invalid IP/Subnet' } }]);
  assert.deepEqual(ban1('1.2.3.4', T0), [{ kind: 'reply', to: replyTo, reply: { ok: false, error: 'Error: ban end time is in the past' } }]);
  assert.deepEqual(replyOf(ban1('1.2.3.4', T0 + 1000)), { ok: true });
  assert.deepEqual(ban1('1.2.3.4', T0 + 5000), [{ kind: 'reply', to: replyTo, reply: { ok: false, error: 'Error: IP/Subnet already banned' } }]);
  assert.equal(s.bans.bans.get('1.2.3.4/32')?.until, T0 + 1000, 'the first ban kept');
  assert.equal(kinds(ban1('1.2.3.4', T0 + 9000, T0 + 2000))[0], 'persist-ban', 'expired: banned again');
});

test('unban and clear-bans: what to delete from the store, the list pushed, the manager told the book changed; unban of an unknown subnet only replies', () => {
  const s = state();
  const replyTo = banReplyRef();
  ban(s.bans, parseSubnet('45.0.0.0/8')!, T0, T0 + 3600_000);
  ban(s.bans, parseSubnet('46.0.0.0/8')!, T0, T0 + 3600_000);
  s.bans.discouraged.set('8.8.8.8', T0 + 1000);
  assert.deepEqual(stepBook(s, { type: 'unban', subnet: '47.0.0.0/8', replyTo }), [{ kind: 'reply', to: replyTo, reply: { ok: false, error: 'Error: Unban failed' } }]);
  assert.deepEqual(stepBook(s, { type: 'unban', subnet: 'junk', replyTo }), [{ kind: 'reply', to: replyTo, reply: { ok: false, error: 'Error: Unban failed' } }]);
  const un = stepBook(s, { type: 'unban', subnet: '45.0.0.0/8', replyTo });
  assert.deepEqual(kinds(un), ['delete-bans', 'push-ban-list', 'book-changed', 'reply']);
  assert.deepEqual(un[0], { kind: 'delete-bans', bans: ['45.0.0.0/8'] });
  assert.deepEqual([...pushed(un).bans.keys()], ['46.0.0.0/8']);
  assert.deepEqual(replyOf(un), { ok: true });
  const clear = stepBook(s, { type: 'clear-bans', replyTo });
  assert.deepEqual(kinds(clear), ['delete-bans', 'push-ban-list', 'book-changed', 'reply']);
  assert.deepEqual(clear[0], { kind: 'delete-bans', bans: ['46.0.0.0/8'] }, 'discouragement is memory only: nothing of it to delete');
  assert.equal(pushed(clear).bans.size + pushed(clear).discouraged.size, 0);
  assert.equal(s.bans.bans.size + s.bans.discouraged.size, 0);
});

test('sweep: only what expired is deleted from the store, then the list pushed and one info line; nothing expired, nothing done', () => {
  const s = state();
  ban(s.bans, parseSubnet('45.0.0.0/8')!, T0, T0 + 1000);
  ban(s.bans, parseSubnet('46.0.0.0/8')!, T0, T0 + 9000);
  s.bans.discouraged.set('8.8.8.8', T0 + 1000);
  s.bans.discouraged.set('8.8.4.4', T0 + 9000);
  assert.deepEqual(stepBook(s, { type: 'sweep', now: T0 + 500 }), []);
  const fx = stepBook(s, { type: 'sweep', now: T0 + 1000 });
  assert.deepEqual(kinds(fx), ['delete-bans', 'push-ban-list', 'book-changed', 'log']);
  assert.deepEqual(fx[0], { kind: 'delete-bans', bans: ['45.0.0.0/8'] });
  assert.deepEqual([...pushed(fx).bans.keys()], ['46.0.0.0/8']);
  assert.deepEqual([...pushed(fx).discouraged.keys()], ['8.8.4.4']);
  assert.deepEqual(logs(fx)[0]?.data, { bans: ['45.0.0.0/8'], discouraged: 1 });
  // Only a discouragement expired: nothing to delete from the store, the list pushed.
  const s2 = state();
  s2.bans.discouraged.set('8.8.8.9', T0 + 20_000);
  s2.bans.discouraged.set('8.8.8.10', T0 + 90_000);
  const only = stepBook(s2, { type: 'sweep', now: T0 + 20_000 });
  assert.deepEqual(kinds(only), ['push-ban-list', 'book-changed', 'log']);
  assert.deepEqual([...pushed(only).discouraged.keys()], ['8.8.8.10']);
});

test('misbehaving: one info line, the discouragement kept in memory only (as Core: nothing written), then the ban list pushed with it; a local address is not discouraged and nothing is said', () => {
  const s = state();
  const fx = stepBook(s, { type: 'misbehaving', endpoint: { host: '::ffff:8.8.4.4', port: 1 }, reason: 'bad headers', now: T0 });
  assert.deepEqual(kinds(fx), ['log', 'push-ban-list'], 'no store write');
  assert.equal(logs(fx)[0]?.msg, 'misbehaving peer discouraged for 24 h');
  assert.equal(pushed(fx).discouraged.get('8.8.4.4'), T0 + 24 * 3600_000);
  assert.deepEqual(stepBook(s, { type: 'misbehaving', endpoint: { host: '127.0.0.1', port: 1 }, reason: 'x', now: T0 }), []);
});

test('stepBook dispatches a peer\'s getaddr, a select and the fixed-seeds timer to the same decisions as before', () => {
  const s = state();
  fill(s, 3000, T0);
  const self = fakeRef('in');
  const fx = stepBook(s, { type: 'from-peer', peer: 1, self, msg: { command: 'getaddr' }, connType: 'inbound', allowLocal: false, now: T0 });
  assert.equal(sends(fx)[0]?.to, self);
  const replyTo = { path: '/test/sel' } as unknown as Ref<readonly Candidate[]>;
  const sel = stepBook(s, { type: 'select', purpose: 'outbound', count: 3, excludeGroups: [], replyTo, now: T0 });
  assert.ok(sel.length === 1 && sel[0]?.kind === 'candidates' && sel[0].to === replyTo && sel[0].list.length === 3);
  // A book with addresses of every reachable network: the fixed seeds wait and look again (a timer).
  s.man.add([{ network: 'ipv6', addr: Buffer.from('2a0100000000000000000000000000ff', 'hex'), port: 8333, services: 1n, time: Math.floor(T0 / 1000) }], internalSource('x'), 0, Math.floor(T0 / 1000));
  const fixed = stepBook(s, { type: 'fixed-seeds', policy: { ...NO_FIXED, enabled: true }, seeds: [], now: T0 });
  assert.deepEqual(fixed, [{ kind: 'timer', key: 'fixed-seeds', ms: 60_000 }]);
});

test('discouragement is bounded as Core’s rolling filter of 50,000: 60,000 misbehaving addresses leave the newest 50,000; a repeat becomes the newest', () => {
  const s = state();
  const host = (i: number): string => `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  for (let i = 0; i < 60_000; i++) onMisbehaving(s, { host: host(i), port: 8333 }, T0 + i);
  assert.equal(s.bans.discouraged.size, MAX_DISCOURAGED);
  assert.equal(isDiscouraged(s.bans, host(9_999), T0 + 60_000), false, 'the oldest forgotten');
  assert.equal(isDiscouraged(s.bans, host(10_000), T0 + 60_000), true);
  assert.equal(isDiscouraged(s.bans, host(59_999), T0 + 60_000), true);
  // Discouraged again: moved to the newest end, so it outlives the 10,000 added after it.
  onMisbehaving(s, { host: host(10_000), port: 8333 }, T0 + 70_000);
  for (let i = 60_000; i < 70_000; i++) onMisbehaving(s, { host: host(i), port: 8333 }, T0 + 70_000);
  assert.equal(s.bans.discouraged.size, MAX_DISCOURAGED);
  assert.equal(isDiscouraged(s.bans, host(10_000), T0 + 80_000), true);
  assert.equal(isDiscouraged(s.bans, host(10_001), T0 + 80_000), false);
});
