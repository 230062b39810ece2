import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode } from '../helpers/node.js';
import { ManualScheduler, advance, advanceUntil } from '../helpers/clock.js';

test('a node told to connect to its own listening port detects it and retries with backoff only', async () => {
  // The node's clock is a manual one: 20 s of its time pass in a few hundred ms of ours, so the
  // backoff is counted over many of its steps, with no sleep.
  const clock = new ManualScheduler();
  const node = await testNode({ scheduler: clock });
  try {
    // The port is known only after binding port 0, so the connect target is added at run time.
    await node.addnode(`127.0.0.1:${node.port}`, 'add');
    await advanceUntil(clock, 'self-connection detected', async () => (await node.disconnects()).some((d) => d.reason === 'connected to self'), 10_000);
    const recs = await node.disconnects();
    const self = recs.find((d) => d.reason === 'connected to self')!;
    assert.equal(self.connType, 'inbound');
    const out = recs.find((d) => d.connType === 'manual');
    assert.ok(out, 'the dialling side is recorded too');
    await advance(clock, 20_000, 50);
    const attempts = (await node.disconnects()).filter((d) => d.reason === 'connected to self').length;
    // Backoff from 1 s doubling (with jitter): attempts near 1, 3, 7 and 15 s after the first, so
    // 4 to 6 in 20 s; a loop would make hundreds, no retry at all would leave 1.
    assert.ok(attempts >= 4 && attempts <= 6, `${attempts} attempts in 20 s of the node's time`);
    assert.equal((await node.peers()).filter((p) => p.phase === 'active').length, 0);
  } finally {
    await node.cleanup();
  }
});
