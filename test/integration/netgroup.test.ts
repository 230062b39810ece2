import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode } from '../helpers/node.js';
import { ManualScheduler, advance, advanceUntil } from '../helpers/clock.js';
import { RawPeer, actAsSeed } from '../helpers/raw-peer.js';

test('network-group diversity: two reachable nodes in one group (loopback) give one automatic outbound peer, not two', async () => {
  const b = await testNode();
  const c = await testNode();
  const seed = await RawPeer.listen();
  // a runs on a manual clock: its slot checks (every 100 ms of its time) move only with it.
  const clock = new ManualScheduler();
  const a = await testNode({ seednode: [`127.0.0.1:${seed.port}`], scheduler: clock });
  try {
    const seeding = actAsSeed(seed, [b.port, c.port]);
    const automatic = async () => (await a.peers()).filter((p) => p.connType === 'outbound-full-relay' || p.connType === 'block-relay-only');
    await advanceUntil(clock, 'one automatic outbound peer', async () => (await automatic()).length === 1, 60_000);
    // 100 slot checks later (tickMs 100, 10 s of a's time) there is still only one, although 9 slots are free and both addresses are known.
    for (let i = 0; i < 10; i++) {
      await advance(clock, 1000);
      assert.equal((await automatic()).length, 1);
    }
    await seeding; // the seed connection was closed by a once it had the addresses
    const [only] = await automatic();
    assert.ok(only.addr === `127.0.0.1:${b.port}` || only.addr === `127.0.0.1:${c.port}`);
  } finally {
    await a.cleanup();
    await seed.close();
    await b.cleanup();
    await c.cleanup();
  }
});
