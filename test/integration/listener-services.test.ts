import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawPeer } from '../helpers/raw-peer.js';
import { testNode, until } from '../helpers/node.js';
import { clientOptions, rpcCall, RpcCallError } from '../../src/rpc/client.js';
import { NODE_NETWORK, NODE_NETWORK_LIMITED, NODE_P2P_V2, NODE_WITNESS } from '../../src/wire/constants.js';

type ListenerJson = {
  readonly index: number;
  readonly address: string;
  readonly services: string;
  readonly servicesnames: string[];
  readonly accepted: number;
};

test('setlistenerservices over RPC: new inbound peers on that listener get the new bits in version, the other listener and old peers keep theirs', async () => {
  const node = await testNode({ server: true, rpcport: 0, bind: ['127.0.0.1:0', '127.0.0.1:0=services:0x8'] });
  const peers: RawPeer[] = [];
  const connect = async (port: number): Promise<bigint> => {
    const p = await RawPeer.connect(port);
    peers.push(p);
    return (await p.handshake()).services;
  };
  try {
    const addr = await node.rpcAddress();
    assert.ok(addr);
    const rpc = clientOptions({ network: 'regtest', datadir: node.settings.datadir, rpcport: addr.port });
    const [l0, l1] = await node.listening();
    // NODE_P2P_V2 with --v2transport (on by default, as Core v30).
    const stock = NODE_NETWORK | NODE_WITNESS | NODE_P2P_V2;

    const before = (await rpcCall(rpc, 'getlisteners')) as ListenerJson[];
    assert.deepEqual(
      before.map((l) => [l.index, l.address, l.services, l.accepted]),
      [
        [0, `127.0.0.1:${l0.port}`, stock.toString(16).padStart(16, '0'), 0],
        [1, `127.0.0.1:${l1.port}`, '0000000000000008', 0],
      ],
    );
    assert.equal(await connect(l0.port), stock);
    assert.equal(await connect(l1.port), 0x8n);

    // Advertise NODE_NETWORK_LIMITED as well on listener 0, by address and as 0x hex.
    const full = NODE_NETWORK | NODE_WITNESS | NODE_NETWORK_LIMITED;
    const set = (await rpcCall(rpc, 'setlistenerservices', [`127.0.0.1:${l0.port}`, `0x${full.toString(16)}`])) as ListenerJson;
    assert.equal(set.services, full.toString(16).padStart(16, '0'));
    assert.deepEqual(set.servicesnames, ['NETWORK', 'WITNESS', 'NETWORK_LIMITED']);
    assert.equal(await connect(l0.port), full);
    assert.equal(await connect(l1.port), 0x8n, 'the other listener is unchanged');
    // By index, as a decimal number.
    await rpcCall(rpc, 'setlistenerservices', [1, 1]);
    assert.equal(await connect(l1.port), 1n);

    const after = (await rpcCall(rpc, 'getlisteners')) as ListenerJson[];
    assert.deepEqual(
      after.map((l) => [l.services, l.accepted]),
      [
        [full.toString(16).padStart(16, '0'), 2],
        ['0000000000000001', 3],
      ],
    );

    await assert.rejects(rpcCall(rpc, 'setlistenerservices', [7, 1]), (e: unknown) => e instanceof RpcCallError && e.code === -8 && /Listener not found: 7/.test(e.message));
    await assert.rejects(rpcCall(rpc, 'setlistenerservices', [0, 'all']), (e: unknown) => e instanceof RpcCallError && e.code === -8);
    await until('all peers connected', async () => (await node.peers()).length === peers.length);
  } finally {
    for (const p of peers) await p.destroy();
    await node.cleanup();
  }
});
