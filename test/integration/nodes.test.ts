import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';

test('two peerd nodes connect, handshake and exchange pings on 127.0.0.1', async () => {
  const a = await testNode();
  const b = await testNode({ connect: [`127.0.0.1:${a.port}`], pinginterval: 1 });
  try {
    await until('both see an active peer', async () => {
      const [pa, pb] = await Promise.all([a.peers(), b.peers()]);
      return pa.length === 1 && pb.length === 1 && pa[0].phase === 'active' && pb[0].phase === 'active';
    });
    const [pb] = await b.peers();
    assert.equal(pb.connType, 'manual');
    assert.equal(pb.version, 70016);
    assert.match(pb.subver ?? '', /^\/peerd:/);
    const [pa] = await a.peers();
    assert.equal(pa.inbound, true);
    await until('a pong measured', async () => (await b.peers())[0]?.pingtime !== null);
    assert.ok((await b.peers())[0].bytesrecvPerMsg['pong'] > 0);
  } finally {
    await b.cleanup();
    await a.cleanup();
  }
});
