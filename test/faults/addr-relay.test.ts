/**
 * Modelled on Bitcoin Core's p2p_addr_relay.py (relay_tests, getaddr_tests, the block-relay-only
 * cases) and p2p_invalid_messages.py's addrv2 with an unknown network, over real TCP against
 * in-process regtest nodes. The rate limit over time (0.1 address/s) takes real seconds and is in
 * test/faults-slow/addr-rate.test.ts. test/integration/addressbook.test.ts has the getaddr cache,
 * the 5,000-address flood and addrv2 of every network.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testNode, until, fedNode } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { activePeer, infoOf, rawFrame, sync, type FaultNode } from '../helpers/faults.js';
import { openStore } from '../../src/store/db.js';
import { saveAnchors } from '../../src/addressbook/persist.js';
import type { TimedNetAddress } from '../../src/wire/address.js';
import type { NodeHandle } from '../../src/node.js';
import { ask } from '../../supervisors/index.js';
import type { AddressBookMsg, AddrmanInfo } from '../../src/contracts/addressbook.js';

const now = (): number => Math.floor(Date.now() / 1000);
let counter = 0;
/** Fresh, distinct, routable addresses, as Core's setup_addr_msg (123.123.x.y, ports 8333+). */
function addrs(n: number): TimedNetAddress[] {
  return Array.from({ length: n }, (_, i) => {
    const c = counter++;
    return { network: 'ipv4', addr: Buffer.from([123, 123, (c >> 8) & 0xff, c & 0xff]), port: 8333 + i, services: 0x9n, time: now() };
  });
}

/** Addresses a raw peer has been sent so far (addr and addrv2). */
const received = (p: RawPeer): TimedNetAddress[] => p.received.flatMap((m) => (m.command === 'addr' || m.command === 'addrv2' ? [...m.addresses] : []));

interface BookCounters {
  readonly addresses: number;
  readonly addrReceived: number;
  readonly addrRateLimited: number;
  readonly relayed: number;
  readonly peers: number;
}
const book = (n: NodeHandle): BookCounters => n.actors('/root/addressbook')[0]?.summary as BookCounters;
/** The book's counters once it has handled everything sent to it so far (a question queues behind them). */
async function bookNow(n: NodeHandle): Promise<BookCounters> {
  await ask<AddressBookMsg, AddrmanInfo>(n.addressbook(), (replyTo) => ({ type: 'info', replyTo }), 5000);
  return book(n);
}

test('relay: the answer to our getaddr is not relayed; later each of ≤ 10 fresh addresses goes to exactly two peers; 11 go nowhere', async () => {
  const { node, feeder, f } = await fedNode();
  const receivers: RawPeer[] = [];
  try {
    for (let i = 0; i < 7; i++) receivers.push(await activePeer(node));
    await until('the book knows all eight peers', () => book(node).peers >= 8);
    const total = (): number => receivers.reduce((n, r) => n + received(r).length, 0);

    // The first message from an outbound peer answers our getaddr: stored, not relayed.
    f.send({ command: 'addr', addresses: addrs(2) });
    await sync(f);
    await bookNow(node);
    for (const r of receivers) await sync(r);
    assert.equal(total(), 0, 'the getaddr answer is not relayed');

    const ten = addrs(10);
    f.send({ command: 'addr', addresses: ten });
    await sync(f);
    await until('relayed', () => total() === 20);
    for (const r of receivers) await sync(r);
    assert.equal(total(), 20, 'each of the 10 addresses went to exactly 2 peers (Core: ipv4 branching factor 2)');
    // Core picks the two peers per address (keyed, stable for a day), so different addresses go to different pairs.
    const perAddress = new Map<string, number>();
    for (const r of receivers) for (const a of received(r)) perAddress.set(`${a.addr.join('.')}:${a.port}`, (perAddress.get(`${a.addr.join('.')}:${a.port}`) ?? 0) + 1);
    assert.deepEqual([...perAddress.values()], Array(10).fill(2), 'every address to exactly two peers');
    const got = new Set(receivers.flatMap((r) => received(r).map((a) => `${a.addr.join('.')}:${a.port}`)));
    assert.deepEqual(got, new Set(ten.map((a) => `${a.addr.join('.')}:${a.port}`)));
    assert.ok(received(f).length === 0, 'never back to the source');

    f.send({ command: 'addr', addresses: addrs(11) });
    await sync(f);
    assert.equal((await bookNow(node)).addrReceived, 2 + 10 + 11);
    for (const r of receivers) await sync(r);
    assert.equal(total(), 20, 'an addr of more than 10 entries is stored but not relayed');
  } finally {
    await Promise.all(receivers.map((r) => r.destroy()));
    await node.cleanup();
    await feeder.close();
  }
});

test('addrv2 with an unknown network id before an IPv4 entry: the unknown one is skipped, the IPv4 stored (Core: test_addrv2_unrecognized_network)', async () => {
  const { node, feeder, f } = await fedNode();
  try {
    const t = Buffer.alloc(4);
    t.writeUInt32LE(now());
    const payload = Buffer.concat([Buffer.from([2]), t, Buffer.from('0199' + '02abab' + '208d', 'hex'), t, Buffer.from('0101' + '0409090909' + '208d', 'hex')]);
    f.sendRaw(rawFrame('addrv2', payload));
    await sync(f);
    const c = await bookNow(node);
    assert.equal(c.addrReceived, 2);
    assert.equal(c.addresses, 1);
    assert.equal(f.isClosed, false);
  } finally {
    await node.cleanup();
    await feeder.close();
  }
});

test('block-relay-only (an anchor): no getaddr sent to it, its addr ignored, its getaddr unanswered, nothing relayed to it', async () => {
  const brpListener = await RawPeer.listen();
  const dir = mkdtempSync(join(tmpdir(), 'peerd-faults-'));
  // Core's anchors.dat: the block-relay-only peers of the last run, dialled first as block-relay-only.
  const store = await openStore(join(dir, 'regtest'));
  await saveAnchors(store.db, [{ host: '127.0.0.1', port: brpListener.port }]);
  await store.db.close();
  const node: FaultNode = await testNode({ datadir: dir });
  const others: RawPeer[] = [];
  try {
    const brp = await brpListener.accept(10_000);
    await brp.handshake();
    await until('the anchor is active', async () => (await node.peers()).some((p) => p.connType === 'block-relay-only' && p.phase === 'active'));
    await sync(brp);
    assert.equal(brp.all('getaddr').length, 0, 'no getaddr to a block-relay-only peer');

    const before = await bookNow(node);
    brp.send({ command: 'addr', addresses: addrs(5) });
    brp.send({ command: 'getaddr' });
    await sync(brp);
    const after = await bookNow(node);
    assert.equal(after.addrReceived, before.addrReceived, 'the addr never reached the book');
    assert.equal(after.addresses, before.addresses);
    const info = (await node.peers()).find((p) => p.connType === 'block-relay-only');
    assert.equal(info?.ignored['addr on block-relay-only'], 1);
    assert.equal(info?.ignored['getaddr from outbound'], 1);
    assert.equal(received(brp).length, 0);

    // An inbound source (one token: one address processed) and an inbound receiver: the address
    // is relayed to the receiver, never to the block-relay-only peer.
    const source = await activePeer(node);
    const receiver = await activePeer(node);
    others.push(source, receiver);
    await until('the book knows the peers', () => book(node).peers >= 3);
    source.send({ command: 'addr', addresses: addrs(1) });
    await sync(source);
    await until('relayed to the inbound receiver', () => received(receiver).length === 1);
    await bookNow(node);
    await sync(brp);
    assert.equal(received(brp).length, 0, 'nothing relayed to the block-relay-only peer');
    assert.equal((await infoOf(node, source))?.phase, 'active');
  } finally {
    await Promise.all(others.map((p) => p.destroy()));
    await node.stop();
    await brpListener.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
