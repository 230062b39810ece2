import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { RawPeer, actAsSeed } from '../helpers/raw-peer.js';

test('--seednode: dial the seed, ask for addresses, leave it, then fill an automatic outbound slot from what it said', async () => {
  const c = await testNode();
  const seed = await RawPeer.listen();
  const a = await testNode({ seednode: [`127.0.0.1:${seed.port}`] });
  try {
    // The second address is a closed port: Core leaves an addr-fetch peer once it has more than one address.
    const closed = await actAsSeed(seed, [c.port, 1]);
    assert.ok(closed);
    try {
      await until(
        'a full-relay outbound peer to the address the seed gave',
        async () => {
          const peers = await a.peers();
          return peers.some((p) => p.connType === 'outbound-full-relay' && p.addr === `127.0.0.1:${c.port}` && p.phase === 'active');
        },
        30_000,
      );
    } catch (err) {
      // Say what the node did instead (this test once timed out under full-suite load).
      const why = { peers: await a.peers(), disconnects: await a.disconnects(), connman: a.actors('/root/connman')[0]?.summary, book: a.actors('/root/addressbook')[0]?.summary };
      throw new Error(`${(err as Error).message}; node state: ${JSON.stringify(why, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
    }
    const d = await a.disconnects();
    assert.ok(d.some((r) => r.connType === 'addr-fetch' && r.reason === 'addr-fetch complete'));
    assert.ok((await c.peers()).some((p) => p.inbound && p.phase === 'active'));
  } finally {
    await a.cleanup();
    await seed.close();
    await c.cleanup();
  }
});
