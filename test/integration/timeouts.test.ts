import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { RawPeer, rawVersion, tcpHandles } from '../helpers/raw-peer.js';
import { ManualScheduler, advance, advanceUntil, dueWhile } from '../helpers/clock.js';
import type { DisconnectRecord } from '../../src/contracts/connman.js';

async function disconnectOf(node: { disconnects(): Promise<DisconnectRecord[]> }, what: string): Promise<DisconnectRecord> {
  let rec: DisconnectRecord | undefined;
  await until(`disconnect recorded: ${what}`, async () => {
    rec = (await node.disconnects())[0];
    return rec !== undefined;
  });
  return rec!;
}

test('handshake timeout: silent peer, and a peer that sends version but never verack', async () => {
  const before = tcpHandles();
  const node = await testNode({ peertimeout: 1 });
  try {
    const silent = await RawPeer.connect(node.port);
    await silent.waitClosed(8000);
    assert.equal(silent.received.length, 0, 'an inbound node waits for our version');
    const r1 = await disconnectOf(node, 'silent');
    assert.match(r1.reason, /handshake/);
    assert.match(r1.reason, /no version/);
    assert.equal(r1.connType, 'inbound');
    assert.equal(r1.misbehaving, false);

    const noVerack = await RawPeer.connect(node.port);
    await noVerack.handshake({ verack: false });
    await noVerack.waitClosed(8000);
    const recs = await node.disconnects();
    assert.equal(recs.length, 2);
    assert.match(recs[0].reason, /handshake/);
    assert.match(recs[0].reason, /no verack/);
  } finally {
    await node.cleanup();
  }
  await until('no TCP handle left', () => {
    const after = tcpHandles();
    return after.sockets <= before.sockets && after.servers <= before.servers;
  });
});

test('ping timeout at Core\'s 20 min: a peer that talks but never answers pings (manual clock)', async () => {
  // Core's defaults (ping every 2 min, 20 min timeouts), on a manual clock: no shortened settings.
  const clock = new ManualScheduler();
  const node = await testNode({ scheduler: clock });
  const peer = await RawPeer.connect(node.port, { answerPings: false });
  try {
    await peer.handshake();
    await dueWhile(clock, peer.waitFor('ping'));
    // Answer the header sync (nothing to give), or its own 15 min timeout would come first.
    await until('getheaders', () => peer.all('getheaders').length > 0);
    peer.send({ command: 'headers', headers: [] });
    // Keep both directions fresh (our pings, its pongs) so that only the unanswered ping can expire.
    for (let t = 0; t < 19 * 60_000; t += 30_000) {
      peer.send({ command: 'ping', nonce: 7n });
      await advance(clock, 30_000, 1000);
    }
    assert.equal(peer.isClosed, false, 'still connected after 19 min without a pong');
    await advanceUntil(clock, 'the ping timeout', () => peer.isClosed, 2 * 60_000, 1000);
    const [rec] = await node.disconnects();
    assert.match(rec.reason, /^ping timeout/);
    assert.ok(peer.all('pong').length > 0, 'the node answered our pings meanwhile');
  } finally {
    await peer.destroy();
    await node.cleanup();
  }
});

test('inactivity at Core\'s 20 min: a peer that answers the first ping and then goes silent (manual clock)', async () => {
  const clock = new ManualScheduler();
  const node = await testNode({ pinginterval: 3600, scheduler: clock });
  const peer = await RawPeer.connect(node.port);
  try {
    await peer.handshake();
    await dueWhile(clock, peer.waitFor('ping'));
    await until('getheaders', () => peer.all('getheaders').length > 0);
    peer.send({ command: 'headers', headers: [] });
    await until('the pong is measured', async () => (await node.peers())[0]?.pingtime !== null);
    await advance(clock, 20 * 60_000 - 1000, 1000);
    assert.equal(peer.isClosed, false, 'still connected 1 s before the 20 min');
    await advanceUntil(clock, 'the inactivity timeout', () => peer.isClosed, 60_000, 500);
    const [rec] = await node.disconnects();
    assert.match(rec.reason, /^(send|receive) timeout: nothing (sent|received) for 1200s$/);
  } finally {
    await peer.destroy();
    await node.cleanup();
  }
});

test('inactivity before any message: the first-period rule names it (Core: "no message in first")', async () => {
  // The handshake deadline is longer than the inactivity timeout here, so inactivity fires first.
  const node = await testNode({ inactivitytimeout: 1, peertimeout: 30 });
  const peer = await RawPeer.connect(node.port);
  try {
    await peer.waitClosed(8000);
    const [rec] = await node.disconnects();
    assert.match(rec.reason, /no message in the first period/);
  } finally {
    await peer.destroy();
    await node.cleanup();
  }
});

test('outbound to a peer that never speaks: "no message in the first period", not a receive timeout since 1970', async () => {
  const listener = await RawPeer.listen();
  const node = await testNode({ inactivitytimeout: 1, peertimeout: 30 });
  try {
    await node.addnode(`127.0.0.1:${listener.port}`, 'add');
    const peer = await listener.accept();
    await peer.waitFor('version');
    await peer.waitClosed(8000);
    const rec = (await node.disconnects()).find((d) => d.connType === 'manual');
    assert.ok(rec);
    assert.match(rec.reason, /no message in the first period/);
  } finally {
    await node.cleanup();
    await listener.close();
  }
});

test('a version below the minimum protocol version is refused; the node keeps accepting', async () => {
  const node = await testNode();
  try {
    const old = await RawPeer.connect(node.port);
    old.send(rawVersion({ version: 60000 }));
    await old.waitClosed(8000);
    const [rec] = await node.disconnects();
    assert.match(rec.reason, /protocol version 60000 below/);
    const fresh = await RawPeer.connect(node.port);
    await fresh.handshake();
    await fresh.waitFor('ping');
    await fresh.destroy();
  } finally {
    await node.cleanup();
  }
});
