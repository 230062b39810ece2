import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';

test('a node told to connect to its own listening port detects it and retries with backoff only', async () => {
  const node = await testNode();
  try {
    // The port is known only after binding port 0, so the connect target is added at run time.
    await node.addnode(`127.0.0.1:${node.port}`, 'add');
    await until('self-connection detected', async () => (await node.disconnects()).some((d) => d.reason === 'connected to self'));
    const recs = await node.disconnects();
    const self = recs.find((d) => d.reason === 'connected to self')!;
    assert.equal(self.connType, 'inbound');
    const out = recs.find((d) => d.connType === 'manual');
    assert.ok(out, 'the dialling side is recorded too');
    await new Promise((r) => setTimeout(r, 2500));
    const attempts = (await node.disconnects()).filter((d) => d.reason === 'connected to self').length;
    // Backoff from 1 s doubling: about 3 attempts in 2.5 s; a loop would make hundreds.
    assert.ok(attempts >= 1 && attempts <= 5, `${attempts} attempts`);
    assert.equal((await node.peers()).filter((p) => p.phase === 'active').length, 0);
  } finally {
    await node.cleanup();
  }
});
