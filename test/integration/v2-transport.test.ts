import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { dispatch } from '../../src/control/methods.js';
import { networkParams } from '../../src/wire/network.js';
import type { Json } from '../../src/rpc/protocol.js';
import type { NodeHandle } from '../../src/node.js';
import { testNode, until } from '../helpers/node.js';
import { RawPeer, REGTEST_MAGIC, rawVersion } from '../helpers/raw-peer.js';
import { expectDisconnect } from '../helpers/faults.js';
import { V2Peer } from '../helpers/v2-peer.js';

type CorePeer = { id: number; transport_protocol_type: string; session_id: string; inbound: boolean; bytesrecv: number; bytessent: number; bytesrecv_per_msg: Record<string, number> };

async function rpc(node: NodeHandle, method: string, params: Json[] = []): Promise<Json> {
  return dispatch(node, { id: null, version: '2.0', method, params });
}

async function corePeers(node: NodeHandle): Promise<CorePeer[]> {
  return (await rpc(node, 'getpeerinfo')) as unknown as CorePeer[];
}

test('v2transport on (the default): BIP324 inbound, v1 detection, P2P_V2 advertised', async (t) => {
  const node = await testNode();
  try {
    await t.test('getnetworkinfo shows P2P_V2 and the version message carries NODE_P2P_V2', async () => {
      const net = (await rpc(node, 'getnetworkinfo')) as { localservicesnames: string[]; localservices: string };
      assert.ok(net.localservicesnames.includes('P2P_V2'), JSON.stringify(net.localservicesnames));
      assert.equal(BigInt(`0x${net.localservices}`) & 0x800n, 0x800n);
    });

    await t.test('a v2 initiator handshakes, exchanges version/verack and ping/pong, and getpeerinfo shows v2 with its session id', async () => {
      const p = await V2Peer.connect(node.port);
      try {
        await p.handshake();
        assert.ok(p.sessionId !== null && /^[0-9a-f]{64}$/.test(p.sessionId), `session id ${p.sessionId}`);
        const theirs = await p.waitFor('version');
        assert.equal(theirs.services & 0x800n, 0x800n, 'NODE_P2P_V2 in the version message');
        p.send({ command: 'ping', nonce: 0x1234n });
        await p.until('pong 0x1234', () => p.received.some((m) => m.command === 'pong' && m.nonce === 0x1234n));
        let me: CorePeer | undefined;
        await until('the peer is active', async () => {
          me = (await corePeers(node)).find((x) => x.inbound);
          return me !== undefined && me.bytesrecv_per_msg.ping !== undefined;
        });
        assert.equal(me!.transport_protocol_type, 'v2');
        assert.equal(me!.session_id, p.sessionId);
        // v2 bytes are counted as v1 bytes: every byte on the socket, and per message its packet's size.
        assert.ok(me!.bytesrecv >= me!.bytesrecv_per_msg.version + me!.bytesrecv_per_msg.ping + 64);
        assert.equal(me!.bytesrecv_per_msg.ping, 1 + 8 + 20, 'a ping packet: short id, nonce, length, header, tag');
        assert.equal(p.error, null);
        assert.equal(p.closed, false);
      } finally {
        await p.destroy();
      }
    });

    await t.test('a v1 peer is detected and served as before (getpeerinfo: v1, no session id)', async () => {
      const p = await RawPeer.connect(node.port);
      try {
        await p.handshake();
        p.send({ command: 'ping', nonce: 77n });
        const pong = await p.waitFor('pong');
        assert.equal(pong.nonce, 77n);
        const me = (await corePeers(node)).find((x) => x.inbound);
        assert.equal(me?.transport_protocol_type, 'v1');
        assert.equal(me?.session_id, '');
      } finally {
        await p.destroy();
      }
    });

    await t.test('before the opening is decided getpeerinfo says detecting', async () => {
      const p = await RawPeer.connect(node.port);
      try {
        p.sendRaw(Buffer.from(networkParams('regtest').magicBytes));
        let me: CorePeer | undefined;
        await until('the connection is seen', async () => (me = (await corePeers(node)).find((x) => x.inbound && x.bytesrecv === 4)) !== undefined);
        assert.equal(me!.transport_protocol_type, 'detecting');
      } finally {
        await p.destroy();
      }
    });

    await t.test('a v1 version with another network magic → disconnect (wrong network), not misbehaviour', async () => {
      await expectDisconnect(node, (p) => void p.send(rawVersion(), networkParams('main').magic), /wrong-network/, false);
    });

    await t.test('64 random bytes then no garbage terminator → disconnect, not misbehaviour', async () => {
      await expectDisconnect(
        node,
        (p) => {
          const g = randomBytes(64 + 4096 + 16);
          if (g.readUInt32LE(0) === REGTEST_MAGIC) g[0] ^= 1;
          p.sendRaw(g);
        },
        /v2 transport error: no-garbage-terminator/,
        false,
      );
    });
  } finally {
    await node.cleanup();
  }
});

test('--v2transport 0: no P2P_V2, and a v2 opening is disconnected without misbehaviour', async () => {
  const node = await testNode({ v2transport: false });
  try {
    const net = (await rpc(node, 'getnetworkinfo')) as { localservicesnames: string[] };
    assert.ok(!net.localservicesnames.includes('P2P_V2'));
    const p = await V2Peer.connect(node.port);
    const port = p.socket.localPort;
    await p.until('the node closes the connection', () => p.closed);
    assert.equal(p.sessionId, null);
    let rec: { reason: string; misbehaving: boolean } | undefined;
    await until('the disconnect is recorded', async () => (rec = (await node.disconnects()).find((d) => d.address.endsWith(`:${port}`))) !== undefined);
    assert.match(rec!.reason, /bad-magic/);
    assert.equal(rec!.misbehaving, false);
    // A v1 peer still works.
    const v1 = await RawPeer.connect(node.port);
    try {
      await v1.handshake();
    } finally {
      await v1.destroy();
    }
  } finally {
    await node.cleanup();
  }
});
