import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from './supervisors/helpers.js';
import { probe, type ProbeMsg } from './supervisors/fixtures.js';
import { Exit, startChild, startTree, worker, type DynMsg } from '../supervisors/index.js';
import { NODE_SLOTS, nodeTreeSpec, peersSupervisor } from '../src/tree.js';

test('node tree: slots in canonical order, peers as a dynamic supervisor, absent slots omitted', async () => {
  assert.deepEqual([...NODE_SLOTS], ['store', 'addressbook', 'chain', 'peers', 'connman', 'listeners', 'control', 'inspector']);
  const spec = nodeTreeSpec({
    children: { control: worker(probe, { id: 'control' }, { id: 'control' }), store: worker(probe, { id: 'store' }, { id: 'store' }) },
    peers: peersSupervisor(probe, { maxChildren: 3 }),
  });
  assert.deepEqual(spec.children.map((c) => c.id), ['store', 'peers', 'control']);
  assert.equal(spec.strategy, 'one_for_one');
  assert.throws(() => nodeTreeSpec({ children: { chain: worker(probe, { id: 'x' }, { id: 'x' }) } }), /slot chain/);

  const h = await startTree(spec);
  const peers = h.runtime.refOf<DynMsg<{ id: string }, ProbeMsg>>('/root/peers')!;
  await startChild(peers, { id: 'p1' });
  await settle(h.runtime);
  const [root] = h.tree();
  assert.deepEqual(root!.children.map((c) => c.name), ['store', 'peers', 'control']);
  assert.equal(root!.children[1]!.kind, 'dynamic_supervisor');
  assert.equal(h.list('/root/peers/*').length, 1);
  await h.stop();
  assert.deepEqual(await h.exited, Exit.shutdown);
  assert.equal(h.runtime.cells.size, 0);
});
