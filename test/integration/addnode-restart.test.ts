/** Runtime addnode entries outlive a restart of the connection manager; Core's refusals come from the logic. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { clientOptions, rpcCall, RpcCallError } from '../../src/rpc/client.js';
import { addnodeRefusal, initConnman, DEFAULT_CONNMAN } from '../../src/connman/logic.js';

test('addnodeRefusal: Core’s messages for adding twice and removing what was never added', () => {
  const s = initConnman({ config: { ...DEFAULT_CONNMAN, groupKey: Buffer.alloc(32) }, connect: [], addnode: [{ host: '127.0.0.1', port: 1 }], now: 0, banned: () => false, discouraged: () => false });
  assert.equal(addnodeRefusal(s, { host: '127.0.0.1', port: 1 }, 'add'), 'Error: Node already added');
  assert.equal(addnodeRefusal(s, { host: '127.0.0.1', port: 2 }, 'remove'), 'Error: Node could not be removed. It has not been added previously.');
  assert.equal(addnodeRefusal(s, { host: '127.0.0.1', port: 2 }, 'add'), null);
  assert.equal(addnodeRefusal(s, { host: '127.0.0.1', port: 1 }, 'onetry'), null);
});

test('an addnode made over RPC is still there after the connection manager is killed, and reconnected', async (t) => {
  const listener = await RawPeer.listen();
  t.after(() => listener.close());
  const node = await testNode({ server: true, rpcport: 0 });
  t.after(() => node.cleanup());
  const addr = await node.rpcAddress();
  assert.ok(addr);
  const rpc = clientOptions({ network: 'regtest', datadir: node.settings.datadir, rpcport: addr.port });
  const target = `127.0.0.1:${listener.port}`;
  await rpcCall(rpc, 'addnode', [target, 'add']);
  const first = await listener.accept(10_000);
  t.after(() => first.destroy());
  await first.handshake();

  assert.ok(node.kill('/root/connman', 'kill'));
  await until('manager back', () => (node.actors('/root/connman')[0]?.incarnation ?? 0) >= 2);
  const added = (await rpcCall(rpc, 'getaddednodeinfo')) as { addednode: string }[];
  assert.deepEqual(
    added.map((a) => a.addednode),
    [target],
  );
  await assert.rejects(rpcCall(rpc, 'addnode', [target, 'add']), (e: unknown) => e instanceof RpcCallError && /already added/.test(e.message));
  // The entry is live: drop the connection and the restarted manager dials it again.
  await first.destroy();
  const second = await listener.accept(15_000);
  t.after(() => second.destroy());
  await second.handshake();

  // Removed at runtime: gone after another restart too.
  await rpcCall(rpc, 'addnode', [target, 'remove']);
  assert.ok(node.kill('/root/connman', 'kill'));
  await until('manager back again', () => (node.actors('/root/connman')[0]?.incarnation ?? 0) >= 3);
  assert.deepEqual(await rpcCall(rpc, 'getaddednodeinfo'), []);
});
