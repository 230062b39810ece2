/** When the fixed seeds are added (Core's ThreadOpenConnections rule), pure: no clock, no sockets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddrMan, seededRandom } from '../../src/addressbook/addrman.js';
import {
  emptyCounters,
  emptyReachableNetworks,
  fixedSeedsDecision,
  FIXED_SEEDS_DELAY_MS,
  FIXED_SEEDS_RECHECK_MS,
  FIXED_SEEDS_SOURCE,
  internalSource,
  onFixedSeedsTimer,
  REACHABLE_NETWORKS,
  type BookState,
  type FixedSeedsPolicy,
} from '../../src/addressbook/logic.js';
import { parseSeed } from '../../src/addressbook/seeds.js';
import { emptyBans } from '../../src/contracts/bans.js';
import type { NetAddress } from '../../src/wire/address.js';

const T0 = 1_700_000_000_000;
const ONION = '2uqd5pbaxn26o7fl7nqtm2khetqocislppxtxrpqg55wtbcqdrf2y5qd.onion:8333';
const SEEDS: NetAddress[] = ['5.6.7.8:8333', '23.4.5.6:8333', '[2a01:4f8::1]:8333', ONION, '[fc1f:22c3:95dc:a3af:4a93:8251:beb9:1858]:8333'].map((t) => {
  const a = parseSeed(t, 8333);
  assert.ok(a, t);
  return a;
});

function policy(over: Partial<FixedSeedsPolicy> = {}): FixedSeedsPolicy {
  return { enabled: true, dnsseed: true, manualPeers: false, startedAtMs: T0, reachable: REACHABLE_NETWORKS, ...over };
}

function state(): BookState {
  const random = seededRandom(4);
  return { man: new AddrMan({ key: Buffer.alloc(32, 3), random }), bans: emptyBans(), peers: new Map(), cache: null, pendingAnchors: [], savedAnchors: '', random, counters: emptyCounters(), dns: null };
}

test('decision: --dnsseed 0 and nothing manual adds at once; with DNS seeds (or -addnode/-seednode) only once 60 s have passed', () => {
  const empty = ['ipv4', 'ipv6'];
  assert.deepEqual(fixedSeedsDecision(policy({ dnsseed: false }), T0, empty), { kind: 'add', networks: empty, reason: 'no-dnsseed' });
  assert.deepEqual(fixedSeedsDecision(policy(), T0, empty), { kind: 'wait', ms: FIXED_SEEDS_DELAY_MS });
  assert.deepEqual(fixedSeedsDecision(policy(), T0 + 20_000, empty), { kind: 'wait', ms: 40_000 });
  assert.deepEqual(fixedSeedsDecision(policy({ dnsseed: false, manualPeers: true }), T0 + 1000, empty), { kind: 'wait', ms: 59_000 });
  assert.deepEqual(fixedSeedsDecision(policy(), T0 + FIXED_SEEDS_DELAY_MS - 1, empty), { kind: 'wait', ms: 1 });
  assert.deepEqual(fixedSeedsDecision(policy(), T0 + FIXED_SEEDS_DELAY_MS, empty), { kind: 'add', networks: empty, reason: 'timeout' });
  assert.deepEqual(fixedSeedsDecision(policy({ manualPeers: true }), T0 + 90_000, ['ipv6']), { kind: 'add', networks: ['ipv6'], reason: 'timeout' });
});

test('decision: a book with addresses of every reachable network waits (and looks again after 60 s); disabled (--fixedseeds 0, --connect) is off', () => {
  assert.deepEqual(fixedSeedsDecision(policy({ dnsseed: false }), T0, []), { kind: 'wait', ms: FIXED_SEEDS_DELAY_MS });
  assert.deepEqual(fixedSeedsDecision(policy(), T0 + 70_000, []), { kind: 'wait', ms: FIXED_SEEDS_RECHECK_MS });
  assert.deepEqual(fixedSeedsDecision(policy({ enabled: false, dnsseed: false }), T0, ['ipv4']), { kind: 'off' });
  assert.deepEqual(fixedSeedsDecision(policy({ enabled: false }), T0 + 120_000, ['ipv4']), { kind: 'off' });
});

test('empty reachable networks: counted from the book, new and tried', () => {
  const s = state();
  assert.deepEqual(emptyReachableNetworks(s.man, REACHABLE_NETWORKS), ['ipv4', 'ipv6']);
  s.man.add([{ ...(SEEDS[0] as NetAddress), time: T0 / 1000 - 60 }], internalSource('x'), 0, T0 / 1000);
  assert.deepEqual(emptyReachableNetworks(s.man, REACHABLE_NETWORKS), ['ipv6']);
  assert.deepEqual(emptyReachableNetworks(s.man, ['ipv4']), []);
});

test('timer: an empty book with --dnsseed 0 gets the seeds of reachable networks only (not Tor, not CJDNS), 1–2 weeks old, from the "fixedseeds" source, journaled', () => {
  const s = state();
  const { fx, nextMs } = onFixedSeedsTimer(s, policy({ dnsseed: false }), SEEDS, T0);
  assert.equal(nextMs, null, 'once');
  const learned = fx.find((e) => e.kind === 'learned');
  assert.ok(learned && learned.kind === 'learned');
  assert.deepEqual(learned.addrs.map((a) => a.network).sort(), ['ipv4', 'ipv4', 'ipv6']);
  assert.equal(learned.added, 3);
  assert.deepEqual(learned.source, FIXED_SEEDS_SOURCE);
  assert.deepEqual(FIXED_SEEDS_SOURCE, internalSource('fixedseeds'));
  const nowSec = T0 / 1000;
  for (const a of learned.addrs) {
    assert.ok(a.time <= nowSec - 7 * 86400 && a.time > nowSec - 14 * 86400, `time ${nowSec - a.time} s ago`);
    assert.equal(a.services, 9n, 'NODE_NETWORK | NODE_WITNESS');
  }
  assert.equal(s.man.size, 3);
  assert.deepEqual(
    fx.map((e) => e.kind),
    ['learned', 'log'],
  );
});

test('timer: with DNS seeds it waits while the book fills, then adds only what is still empty at 60 s', () => {
  const s = state();
  const p = policy();
  let r = onFixedSeedsTimer(s, p, SEEDS, T0);
  assert.deepEqual(r, { fx: [], nextMs: FIXED_SEEDS_DELAY_MS });
  // The DNS seeds gave IPv4 addresses meanwhile.
  s.man.add([{ network: 'ipv4', addr: Buffer.from([31, 1, 2, 3]), port: 8333, services: 9n, time: T0 / 1000 - 60 }], internalSource('dns'), 0, T0 / 1000);
  r = onFixedSeedsTimer(s, p, SEEDS, T0 + FIXED_SEEDS_DELAY_MS);
  assert.equal(r.nextMs, null);
  const learned = r.fx.find((e) => e.kind === 'learned');
  assert.ok(learned && learned.kind === 'learned');
  assert.deepEqual(
    learned.addrs.map((a) => a.network),
    ['ipv6'],
    'only the empty network',
  );
  // A full book at 60 s: nothing added, looked at again later.
  const full = state();
  full.man.add([{ network: 'ipv4', addr: Buffer.from([31, 1, 2, 3]), port: 8333, services: 9n, time: T0 / 1000 }], internalSource('dns'), 0, T0 / 1000);
  full.man.add([{ network: 'ipv6', addr: Buffer.from('2a0100000000000000000000000000aa', 'hex'), port: 8333, services: 9n, time: T0 / 1000 }], internalSource('dns'), 0, T0 / 1000);
  assert.deepEqual(onFixedSeedsTimer(full, p, SEEDS, T0 + FIXED_SEEDS_DELAY_MS), { fx: [], nextMs: FIXED_SEEDS_RECHECK_MS });
  assert.equal(full.man.size, 2);
});

test('timer: disabled (--fixedseeds 0 or --connect) adds nothing and stops', () => {
  const s = state();
  assert.deepEqual(onFixedSeedsTimer(s, policy({ enabled: false, dnsseed: false }), SEEDS, T0 + 120_000), { fx: [], nextMs: null });
  assert.equal(s.man.size, 0);
});
