import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { selectPeerToEvict, type EvictionCandidate } from '../../src/connman/eviction.js';

function cand(id: number, over: Partial<EvictionCandidate> = {}): EvictionCandidate {
  return {
    id,
    connectedAt: 1_000_000 + id * 1000,
    minPingMs: Infinity,
    lastBlockAt: 0,
    lastTxAt: 0,
    relevantServices: false,
    relayTxs: false,
    bloomFilter: false,
    keyedNetGroup: id,
    preferEvict: false,
    isLocal: false,
    network: 'ipv4',
    noban: false,
    inbound: true,
    ...over,
  };
}

test('a small set of peers is fully protected: the newcomer is refused', () => {
  const peers = Array.from({ length: 20 }, (_, i) => cand(i));
  assert.equal(selectPeerToEvict(peers), null);
});

test('outbound and noban peers are never candidates', () => {
  const peers = Array.from({ length: 60 }, (_, i) => cand(i, { inbound: false }));
  assert.equal(selectPeerToEvict(peers), null);
  const noban = Array.from({ length: 60 }, (_, i) => cand(i, { noban: true }));
  assert.equal(selectPeerToEvict(noban), null);
});

test('the youngest peer of the most-connected network group is evicted', () => {
  // Honest peers: diverse groups, fast, connected first. Attackers: one group, slower, arrived later.
  const honest = Array.from({ length: 30 }, (_, i) => cand(i, { keyedNetGroup: 1000 + i, connectedAt: 100 + i, minPingMs: 10 }));
  const attacker = Array.from({ length: 30 }, (_, i) => cand(100 + i, { keyedNetGroup: 7, connectedAt: 10_000 + i, minPingMs: 500 }));
  const victim = selectPeerToEvict([...honest, ...attacker]);
  assert.equal(victim, 129, 'youngest attacker');
});

test('discouraged peers are evicted before anyone else that is unprotected', () => {
  const peers = Array.from({ length: 60 }, (_, i) => cand(i, { keyedNetGroup: i % 3 }));
  const victim = selectPeerToEvict(peers.map((p) => (p.id === 45 ? { ...p, preferEvict: true } : p)));
  assert.equal(victim, 45);
  // Without the discouragement the same set evicts someone else.
  assert.notEqual(selectPeerToEvict(peers), 45);
});

const arbCandidate = (id: number) =>
  fc.record({
    connectedAt: fc.integer({ min: 0, max: 1e6 }),
    minPingMs: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 5000 })),
    lastBlockAt: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1e6 })),
    lastTxAt: fc.constant(0),
    relevantServices: fc.boolean(),
    relayTxs: fc.boolean(),
    keyedNetGroup: fc.integer({ min: 0, max: 12 }),
    preferEvict: fc.boolean(),
    isLocal: fc.boolean(),
    network: fc.constantFrom('ipv4' as const, 'ipv6' as const, 'onion' as const),
    noban: fc.boolean(),
    inbound: fc.boolean(),
  }).map((r) => cand(id, r));

test('property: the evicted peer is an unprotected inbound peer, never one of the 8 lowest pings or 4 most recent block senders', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 120 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => arbCandidate(i)))), (peers) => {
      const victim = selectPeerToEvict(peers);
      if (victim === null) return;
      const v = peers.find((p) => p.id === victim)!;
      assert.ok(v.inbound && !v.noban);
      const eligible = peers.filter((p) => p.inbound && !p.noban);
      // Any peer with a strictly lower ping than the victim's that is among the 8 best survives;
      // so the victim cannot be strictly better than the 8th-best ping of the eligible set after netgroup protection.
      const pings = eligible.map((p) => p.minPingMs).sort((a, b) => a - b);
      if (eligible.length > 12 && Number.isFinite(v.minPingMs)) assert.ok(v.minPingMs >= pings[Math.min(7, pings.length - 1)]);
      assert.equal(selectPeerToEvict([...peers].reverse()), victim, 'order of input does not matter');
    }),
    { numRuns: 300 },
  );
});
