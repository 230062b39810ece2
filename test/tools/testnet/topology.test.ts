/** The test network's topologies: rings as specified, random graphs connected, simple and seeded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildEdges, dialReach, hopsFrom, neighbours, seededRandom, MAX_DIALS } from '../../../src/tools/testnet/topology.js';

test('ring: i dials i+1, the last dials 0; 2 nodes one link, 1 node none', () => {
  assert.deepEqual(buildEdges({ nodes: 4, topology: 'ring' }), [
    { from: 0, to: 1 },
    { from: 1, to: 2 },
    { from: 2, to: 3 },
    { from: 3, to: 0 },
  ]);
  assert.deepEqual(buildEdges({ nodes: 2, topology: 'ring' }), [{ from: 0, to: 1 }]);
  assert.deepEqual(buildEdges({ nodes: 1, topology: 'ring' }), []);
  assert.deepEqual(neighbours(4, buildEdges({ nodes: 4, topology: 'ring' })), [
    [1, 3],
    [0, 2],
    [1, 3],
    [0, 2],
  ]);
  assert.deepEqual(hopsFrom(5, buildEdges({ nodes: 5, topology: 'ring' }), 0), [0, 1, 2, 2, 1]);
  assert.ok(dialReach(5, buildEdges({ nodes: 5, topology: 'ring' }), 0).every(Boolean));
  assert.deepEqual(dialReach(3, [{ from: 0, to: 1 }, { from: 2, to: 1 }], 0), [true, false, false]);
});

test('random: connected, no self-loops, no pair twice, degree reached, dials capped, same seed same graph', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 40 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.nat(), (nodes, degree, seed, r) => {
      const root = r % nodes;
      const edges = buildEdges({ nodes, topology: 'random', degree, seed, root });
      const pairs = new Set<string>();
      const dials = new Array<number>(nodes).fill(0);
      for (const e of edges) {
        assert.notEqual(e.from, e.to);
        assert.ok(e.from >= 0 && e.from < nodes && e.to >= 0 && e.to < nodes);
        const key = [Math.min(e.from, e.to), Math.max(e.from, e.to)].join('-');
        assert.ok(!pairs.has(key), `pair ${key} twice`);
        pairs.add(key);
        dials[e.from]++;
      }
      assert.ok(hopsFrom(nodes, edges, 0).every((h) => h >= 0), 'connected');
      assert.ok(dialReach(nodes, edges, root).every(Boolean), 'every node dials its way to the root');
      assert.ok(dials.every((d) => d <= MAX_DIALS));
      const want = Math.min(degree, nodes - 1);
      assert.ok(
        neighbours(nodes, edges).every((n) => n.length >= want),
        `every node has ≥ ${want} neighbours`,
      );
      assert.deepEqual(buildEdges({ nodes, topology: 'random', degree, seed, root }), edges);
    }),
    { numRuns: 300 },
  );
  assert.notDeepEqual(buildEdges({ nodes: 12, topology: 'random', degree: 3, seed: 1 }), buildEdges({ nodes: 12, topology: 'random', degree: 3, seed: 2 }));
});

test('random: bad arguments are refused', () => {
  assert.throws(() => buildEdges({ nodes: -1, topology: 'random' }), RangeError);
  assert.throws(() => buildEdges({ nodes: 4, topology: 'random', degree: 0 }), RangeError);
  assert.throws(() => buildEdges({ nodes: 4, topology: 'random', root: 4 }), RangeError);
  assert.deepEqual(buildEdges({ nodes: 1, topology: 'random' }), []);
});

test('seededRandom is deterministic and in [0, 1)', () => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  for (let i = 0; i < 1000; i++) {
    const x = a();
    assert.equal(x, b());
    assert.ok(x >= 0 && x < 1);
  }
});
