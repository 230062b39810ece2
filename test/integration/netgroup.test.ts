import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { RawPeer, actAsSeed } from '../helpers/raw-peer.js';

test('network-group diversity: two reachable nodes in one group (loopback) give one automatic outbound peer, not two', async () => {
  const b = await testNode();
  const c = await testNode();
  const seed = await RawPeer.listen();
  const a = await testNode({ seednode: [`127.0.0.1:${seed.port}`] });
  try {
    await actAsSeed(seed, [b.port, c.port]);
    const automatic = async () => (await a.peers()).filter((p) => p.connType === 'outbound-full-relay' || p.connType === 'block-relay-only');
    await until('one automatic outbound peer', async () => (await automatic()).length === 1, 30_000);
    // Ten slot checks later (tickMs 100) there is still only one, although 9 slots are free and both addresses are known.
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await automatic()).length, 1);
    }
    const [only] = await automatic();
    assert.ok(only.addr === `127.0.0.1:${b.port}` || only.addr === `127.0.0.1:${c.port}`);
  } finally {
    await a.cleanup();
    await seed.close();
    await b.cleanup();
    await c.cleanup();
  }
});
