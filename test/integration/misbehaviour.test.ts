import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { testNode, until } from '../helpers/node.js';
import { RawPeer, REGTEST_MAGIC, frame, rawVersion } from '../helpers/raw-peer.js';
import { networkParams } from '../../src/wire/network.js';

type Node = Awaited<ReturnType<typeof testNode>>;

/** The node still takes a fresh, well-behaved peer through the whole handshake and a ping. */
async function stillAccepts(node: Node): Promise<void> {
  const fresh = await RawPeer.connect(node.port);
  try {
    await fresh.handshake();
    await fresh.waitFor('ping');
    await until('the fresh peer is active', async () => (await node.peers()).some((p) => p.phase === 'active'));
  } finally {
    await fresh.destroy();
  }
}

async function expectDisconnectPeer(node: Node, send: (p: RawPeer) => Promise<void> | void, reason: RegExp, misbehaving = true): Promise<RawPeer> {
  const peer = await RawPeer.connect(node.port);
  const before = (await node.disconnects()).length;
  try {
    await send(peer);
    await peer.waitClosed(5000);
    let recs = await node.disconnects();
    await until('the reason is recorded', async () => (recs = await node.disconnects()).length > before);
    assert.match(recs[0].reason, reason);
    assert.equal(recs[0].misbehaving, misbehaving, `misbehaving flag for "${recs[0].reason}"`);
  } finally {
    await peer.destroy();
  }
  await stillAccepts(node);
  return peer;
}

/** Closes a peer that stayed connected and waits until the node has recorded its departure (so the next case reads its own record). */
async function closeAndSettle(node: Node, peer: RawPeer): Promise<void> {
  const port = peer.socket.localPort;
  await peer.destroy();
  await until('the departure is recorded', async () => (await node.disconnects()).some((d) => d.address.endsWith(`:${port}`)));
}

async function expectDisconnect(node: Node, send: (p: RawPeer) => Promise<void> | void, reason: RegExp, misbehaving = true): Promise<void> {
  await expectDisconnectPeer(node, send, reason, misbehaving);
}

test('misbehaving peers are disconnected with a recorded reason and the node keeps serving', async (t) => {
  // v1 only: with v2transport on, an opening other than `version` is taken for BIP324, as Core does
  // (test/integration/v2-transport.test.ts covers those openings then).
  const node = await testNode({ v2transport: false });
  try {
    await t.test('a message before version is ignored (Core ignores it) and the handshake still works', async () => {
      const peer = await RawPeer.connect(node.port);
      try {
        peer.send({ command: 'ping', nonce: 1n });
        peer.send({ command: 'getaddr' });
        assert.ok(await peer.staysOpen(300));
        await peer.handshake();
        await peer.waitFor('ping');
        const [info] = await node.peers();
        assert.equal(info.phase, 'active');
        assert.equal(info.ignored['message before version'], 2);
        assert.equal(peer.all('pong').length, 0, 'the early ping got no answer');
      } finally {
        await peer.destroy();
      }
    });

    await t.test('a duplicate version is ignored', async () => {
      const peer = await RawPeer.connect(node.port);
      try {
        await peer.handshake();
        await peer.waitFor('ping');
        peer.send(rawVersion());
        peer.send({ command: 'ping', nonce: 42n });
        const pong = await peer.waitFor('pong');
        assert.equal(pong.nonce, 42n, 'still answering after the duplicate version');
        const info = (await node.peers()).find((p) => p.phase === 'active');
        assert.equal(info?.ignored['duplicate version'], 1);
      } finally {
        await peer.destroy();
      }
    });

    // Core: "wtxidrelay received after verack": fDisconnect, not Misbehaving (contracts/punishment.ts 'feature-after-verack').
    await t.test('wtxidrelay after verack → disconnect, not misbehaving', () =>
      expectDisconnect(
        node,
        async (p) => {
          await p.handshake();
          p.send({ command: 'wtxidrelay' });
        },
        /^wtxidrelay after verack$/,
        false,
      ),
    );

    await t.test('sendaddrv2 after verack → disconnect, not misbehaving (Core: fDisconnect)', () =>
      expectDisconnect(
        node,
        async (p) => {
          await p.handshake();
          p.send({ command: 'sendaddrv2' });
        },
        /^sendaddrv2 after verack$/,
        false,
      ),
    );

    await t.test('a header declaring 4,000,001 bytes → disconnect before any payload', async () => {
      const peer = await expectDisconnectPeer(
        node,
        (p) => {
          const h = Buffer.alloc(24);
          h.writeUInt32LE(REGTEST_MAGIC, 0);
          h.write('block', 4, 'ascii');
          h.writeUInt32LE(4_000_001, 16);
          p.sendRaw(h);
        },
        /oversize/,
        false, // Core: "Header error: Size too large" disconnects; not Misbehaving
      );
      assert.equal(peer.socket.bytesWritten, 24, 'only the header was ever sent');
    });

    // Core (V1Transport::GetReceivedMessage, reject_message): a bad checksum drops that message and keeps the peer;
    // here it was the version, so the handshake goes on once a good one arrives.
    await t.test('a bad checksum on the version → that message dropped, the peer kept; a good version then handshakes', async () => {
      const peer = await RawPeer.connect(node.port);
      try {
        const f = frame(rawVersion());
        f[20] ^= 0xff;
        peer.sendRaw(f);
        await peer.handshake();
        assert.equal(peer.isClosed, false);
      } finally {
        await closeAndSettle(node, peer);
      }
    });

    await t.test('the mainnet magic on a regtest node → disconnect, not misbehaviour (Core)', () =>
      expectDisconnect(node, (p) => void p.send(rawVersion(), networkParams('main').magic), /bad-magic/, false),
    );

    await t.test('random garbage (a BIP324-like 64-byte opening) → disconnect, never counted as misbehaviour', () =>
      expectDisconnect(
        node,
        (p) => {
          const g = randomBytes(64);
          if (g.readUInt32LE(0) === REGTEST_MAGIC) g[0] ^= 1;
          p.sendRaw(g);
        },
        /bad-magic/,
        false,
      ),
    );

    // Core: a version that does not deserialise throws in ProcessMessage; ProcessMessages catches it and drops the
    // message (the peer stays until its handshake times out). A good version then completes the handshake.
    await t.test('a malformed version payload → dropped, the peer kept; a good version then handshakes (Core: exception caught)', async () => {
      const peer = await RawPeer.connect(node.port);
      try {
        peer.sendRaw(frame({ command: 'unknown-command', name: 'version', payload: Buffer.from([1, 2, 3]) }));
        await peer.handshake();
        assert.equal(peer.isClosed, false);
      } finally {
        await closeAndSettle(node, peer);
      }
    });

    await t.test('a full handshake dripped one byte at a time succeeds', async () => {
      const peer = await RawPeer.connect(node.port);
      try {
        await peer.drip(frame(rawVersion()));
        await peer.waitFor('version');
        await peer.waitFor('verack');
        await peer.drip(Buffer.concat([frame({ command: 'wtxidrelay' }), frame({ command: 'sendaddrv2' }), frame({ command: 'verack' })]));
        await peer.waitFor('ping');
        await until('active', async () => (await node.peers()).some((p) => p.phase === 'active' && p.subver === '/raw-peer:0.1/'));
        assert.equal(peer.isClosed, false);
      } finally {
        await peer.destroy();
      }
    });

    assert.equal(node.actors('/root/connman')[0]?.incarnation, 1, 'the connection manager never restarted');
  } finally {
    await node.cleanup();
  }
});
