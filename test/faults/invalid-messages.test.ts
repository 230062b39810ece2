/**
 * Modelled on Bitcoin Core's functional test p2p_invalid_messages.py (and the handshake-order
 * cases of its net_processing): real TCP raw peers against an in-process regtest node. Each case
 * behaves as Core does (the punishment table, src/contracts/punishment.ts: a bad checksum, an
 * invalid message type and a payload that does not parse are dropped and the peer kept); after each,
 * the node still takes an honest peer through the handshake and answers its ping. Cases that
 * test/integration/misbehaviour.test.ts already covers (message before version, duplicate
 * version, oversize header, bad checksum and bad magic on a version, a dripped handshake) are not
 * repeated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { RawPeer, frame, rawVersion } from '../helpers/raw-peer.js';
import { activePeer, expectDisconnect as expectDisconnectRecord, infoOf, list, rawFrame, stillServes, sync, type FaultNode } from '../helpers/faults.js';
import { MAX_ADDR_TO_SEND, MAX_HEADERS_RESULTS, MAX_INV_SZ, MAX_LOCATOR_SZ, MAX_PROTOCOL_MESSAGE_LENGTH } from '../../src/wire/constants.js';

const expectDisconnect = async (...a: Parameters<typeof expectDisconnectRecord>): Promise<void> => {
  await expectDisconnectRecord(...a);
};



const INV_TX = Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.alloc(32, 1)]);
/** A v1 addr entry: time, services, ::ffff:9.9.9.9, port 8333. */
const ADDR_V1 = Buffer.concat([Buffer.from([0, 0, 0, 0x60]), Buffer.alloc(8), Buffer.from('00000000000000000000ffff09090909', 'hex'), Buffer.from([0x20, 0x8d])]);
/** An addrv2 entry: time, services 1, IPv4 9.9.9.9, port 8333. */
const ADDR_V2 = Buffer.from('0000006001010409090909208d', 'hex');
const HEADER = Buffer.alloc(81);

test('p2p_invalid_messages: framing, oversized counts, malformed addrv2, huge unknown messages', async (t) => {
  const node: FaultNode = await testNode();
  try {
    await t.test('a message split across two writes inside its header is received (Core: test_buffer)', async () => {
      // This peer's own counter, and no pong of ours to the node's ping in between (its 32 bytes made this flaky).
      const p = await activePeer(node, { answerPings: false });
      try {
        const msg = frame({ command: 'ping', nonce: 12345n });
        const recv = async (): Promise<number> => (await infoOf(node, p))?.bytesrecv ?? -1;
        const before = await recv();
        p.sendRaw(msg.subarray(0, 12));
        await until('the first 12 bytes are counted', async () => (await recv()) !== before);
        assert.equal(await recv(), before + 12);
        p.sendRaw(msg.subarray(12));
        const pong = await p.waitFor('pong');
        assert.equal(pong.nonce, 12345n);
      } finally {
        await p.destroy();
      }
    });

    await t.test('5,000 distinct unknown commands (with __proto__ and constructor) are counted under one *other* key; Object.prototype untouched', async () => {
      const p = await activePeer(node, { answerPings: false });
      try {
        const names = ['__proto__', 'constructor', 'toString', ...Array.from({ length: 4997 }, (_, i) => `zz${i}`)];
        p.sendRaw(Buffer.concat(names.map((n) => rawFrame(n, Buffer.alloc(1)))));
        await sync(p);
        const info = await infoOf(node, p);
        assert.ok(info, 'still connected');
        const keys = Object.keys(info.bytesrecvPerMsg);
        assert.ok(keys.every((k) => k === '*other*' || /^[a-z0-9]+$/.test(k)), keys.join(','));
        assert.equal(info.bytesrecvPerMsg['*other*'], names.length * 25, 'every unknown message counted (24-byte header + 1)');
        assert.ok(keys.length < 20, `a bounded table: ${keys.length} keys`);
        assert.equal(({} as Record<string, unknown>).msgs, undefined, 'Object.prototype not written');
      } finally {
        await p.destroy();
      }
    });

    await t.test('wrong magic (ffffffff) after the handshake → disconnect (Core: test_magic_bytes)', () =>
      expectDisconnect(
        node,
        async (p) => {
          await p.handshake();
          p.sendRaw(rawFrame('badmsg\x01', Buffer.from([1, 0x64]), { magic: 0xffffffff }));
        },
        /framing error: bad-magic/,
        false,
      ),
    );

    // Core (net.cpp V1Transport::GetReceivedMessage, reject_message): the message is dropped, the peer kept, and its
    // 26 bytes (24 of header, 2 of payload) counted under *other* (p2p_invalid_messages.py test_checksum).
    await t.test('bad checksum on an unknown message → dropped, peer kept, 26 bytes under *other* (Core: test_checksum)', async () => {
      const p = await activePeer(node);
      try {
        const before = (await infoOf(node, p))?.bytesrecvPerMsg['*other*'] ?? 0;
        p.sendRaw(rawFrame('badmsg', Buffer.from([1, 0x64]), { badChecksum: true }));
        await sync(p);
        const info = await infoOf(node, p);
        assert.equal(info?.bytesrecvPerMsg['*other*'], before + 26);
        assert.equal(info?.ignored['bad-checksum'], 1);
        assert.equal(p.isClosed, false);
      } finally {
        await p.destroy();
      }
    });

    // Core ("Header error: Invalid message type"): dropped, peer kept.
    await t.test('a NUL inside the message type → dropped, peer kept (Core: reject_message)', async () => {
      const p = await activePeer(node);
      try {
        p.sendRaw(rawFrame(Buffer.from('bad\0msg', 'latin1'), Buffer.from([1, 0x64])));
        await sync(p);
        assert.equal((await infoOf(node, p))?.ignored['bad-command'], 1);
        assert.equal(p.isClosed, false);
      } finally {
        await p.destroy();
      }
    });

    await t.test('a payload one byte over 4,000,000 actually sent → disconnect at its header (Core: test_size)', async () => {
      const rec = await expectDisconnectRecord(
        node,
        async (p) => {
          await p.handshake();
          p.sendRaw(rawFrame('badmsg', Buffer.alloc(MAX_PROTOCOL_MESSAGE_LENGTH + 1, 0x62)));
        },
        /framing error: oversize/,
        false, // Core: "Header error: Size too large" closes the connection; not Misbehaving
      );
      assert.ok(rec.connectedMs >= 0);
    });

    // Core reads these lists whole, then: Misbehaving("<type> message size = N") for inv, getdata, headers, addr and
    // addrv2 (discouraged; a local peer like this one is disconnected, not discouraged); a locator over 101 hashes is
    // fDisconnect (no Misbehaving); a notfound over the bound is simply not looked at (ignored).
    const oversized: [string, Buffer, boolean][] = [
      ['inv', list(MAX_INV_SZ + 1, INV_TX), true],
      ['getdata', list(MAX_INV_SZ + 1, INV_TX), true],
      ['headers', list(MAX_HEADERS_RESULTS + 1, HEADER), true],
      ['addr', list(MAX_ADDR_TO_SEND + 1, ADDR_V1), true],
      ['addrv2', list(MAX_ADDR_TO_SEND + 1, ADDR_V2), true],
      ['getheaders', Buffer.concat([Buffer.from([0x80, 0x11, 1, 0]), list(MAX_LOCATOR_SZ + 1, Buffer.alloc(32, 7)), Buffer.alloc(32)]), false],
    ];
    for (const [command, payload, misbehaving] of oversized) {
      await t.test(`${command} with one entry over the limit → disconnect, ${misbehaving ? 'misbehaving (Core: Misbehaving "message size")' : 'not misbehaving (Core: fDisconnect)'}`, () =>
        expectDisconnect(
          node,
          async (p) => {
            await p.handshake();
            p.sendRaw(rawFrame(command, payload));
          },
          new RegExp(`^malformed message: ${command}: oversize at \\d+: .*\\d+ \\w+ entries, at most \\d+`),
          misbehaving,
        ),
      );
    }

    await t.test('notfound with one entry over the limit → dropped, peer kept (Core reads it and ignores a notfound that long)', async () => {
      const p = await activePeer(node);
      try {
        p.sendRaw(rawFrame('notfound', list(MAX_INV_SZ + 1, INV_TX)));
        await sync(p);
        assert.equal((await infoOf(node, p))?.ignored['undecodable'], 1);
      } finally {
        await p.destroy();
      }
    });

    await t.test('inv of exactly 50,000 transaction entries is not too long, but announces transactions after relay=false: disconnected, not punished (Core -blocksonly)', async () => {
      const rec = await expectDisconnectRecord(
        node,
        async (p) => {
          await p.handshake();
          await sync(p);
          p.sendRaw(rawFrame('inv', list(MAX_INV_SZ, INV_TX)));
        },
        /^transaction inv sent in violation of protocol/,
        false,
      );
      assert.equal(rec.misbehaving, false);
    });

    // Core: deserialising throws ("end of data"); ProcessMessages catches it, drops the message and keeps the peer.
    await t.test('addrv2 with no payload at all → dropped, peer kept (Core: exception caught)', async () => {
      const p = await activePeer(node);
      try {
        p.sendRaw(rawFrame('addrv2', Buffer.alloc(0)));
        await sync(p);
        assert.equal((await infoOf(node, p))?.ignored['undecodable'], 1);
      } finally {
        await p.destroy();
      }
    });

    await t.test('addrv2 with zero entries is fine (Core: test_addrv2_no_addresses)', async () => {
      const p = await activePeer(node);
      try {
        p.sendRaw(rawFrame('addrv2', Buffer.from([0])));
        await sync(p);
        assert.equal(p.isClosed, false);
      } finally {
        await p.destroy();
      }
    });

    // Core: "Address too long: 513 > 512" is an exception in the deserialiser: caught, the message dropped, the peer kept.
    await t.test('addrv2 with a 513-byte address → dropped, peer kept (Core: "Address too long: 513 > 512", exception caught)', async () => {
      const p = await activePeer(node);
      try {
        p.sendRaw(rawFrame('addrv2', Buffer.concat([Buffer.from('0161bc66490001fd0102', 'hex'), Buffer.alloc(513, 0xab), Buffer.from('208d', 'hex')])));
        await sync(p);
        assert.equal((await infoOf(node, p))?.ignored['undecodable'], 1);
        assert.equal(p.isClosed, false);
      } finally {
        await p.destroy();
      }
    });

    await t.test('ten 4 MB unknown messages from one peer: ignored, it stays connected; an honest peer is answered meanwhile (Core: test_resource_exhaustion, scaled 80 → 10)', async () => {
      const junk = await activePeer(node);
      const honest = await activePeer(node);
      try {
        const big = rawFrame('badmsg', Buffer.alloc(MAX_PROTOCOL_MESSAGE_LENGTH, 0x62));
        for (let i = 0; i < 10; i++) junk.sendRaw(big);
        for (let i = 0; i < 20; i++) await sync(honest, 2000);
        await sync(junk, 30_000);
        assert.equal(junk.isClosed, false);
        assert.equal(honest.isClosed, false);
        assert.equal((await infoOf(node, junk))?.ignored['unknown command'], 10);
      } finally {
        await junk.destroy();
        await honest.destroy();
      }
    });

    assert.equal(node.actors('/root/connman')[0]?.incarnation, 1, 'the connection manager never restarted');
  } finally {
    await node.cleanup();
  }
});

test('handshake order: early feature messages, verack before version, messages before verack, duplicate verack (as Core: ignored)', async () => {
  // v1 only: with v2transport on, an opening that is not `version` is taken for BIP324 (as Core does).
  const node: FaultNode = await testNode({ v2transport: false });
  const p = await RawPeer.connect(node.port);
  try {
    // Before version: everything is ignored (Core: "non-version message before version handshake").
    p.send({ command: 'verack' });
    p.send({ command: 'wtxidrelay' });
    p.send({ command: 'sendaddrv2' });
    p.send(rawVersion());
    await p.waitFor('version');
    await p.waitFor('verack');
    // After version, before verack: only the feature messages count (Core: "unsupported message prior to verack").
    p.send({ command: 'ping', nonce: 5n });
    p.send({ command: 'sendheaders' });
    p.send({ command: 'wtxidrelay' });
    p.send({ command: 'verack' });
    await p.waitFor('ping');
    p.send({ command: 'verack' });
    await sync(p);
    const info = await infoOf(node, p);
    assert.equal(info?.phase, 'active');
    assert.equal(info?.ignored['message before version'], 3);
    assert.equal(info?.ignored['message before verack'], 2);
    assert.equal(info?.ignored['duplicate verack'], 1);
    assert.ok(!p.all('pong').some((m) => m.nonce === 5n), 'the ping before verack got no pong');
    await stillServes(node);
  } finally {
    await p.destroy();
    await node.cleanup();
  }
});
