/** The address book over real sockets on 127.0.0.1: getaddr cache, rate limits, addrv2 of every network. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ask } from '../../supervisors/index.js';
import { testNode, until, fedNode } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import type { AddressBookMsg, AddrmanInfo, BanEntryJson, NodeAddressJson } from '../../src/contracts/addressbook.js';
import type { Endpoint } from '../../src/contracts/connection.js';
import type { TimedNetAddress } from '../../src/wire/address.js';
import type { NodeHandle } from '../../src/node.js';

const FIRST = [5, 23, 31, 37, 45, 51, 62, 77, 88, 91, 104, 130, 141, 152, 163, 176, 185, 193, 203, 212];
const now = () => Math.floor(Date.now() / 1000);
function ip4(i: number): TimedNetAddress {
  return { network: 'ipv4', addr: Buffer.from([FIRST[i % FIRST.length] as number, (i >> 5) & 0xff, (i >> 13) & 0xff, (i & 0x1f) + 1]), port: 8333, services: 0x409n, time: now() - 3600 };
}
const info = (n: NodeHandle) => ask<AddressBookMsg, AddrmanInfo>(n.addressbook(), (replyTo) => ({ type: 'info', replyTo }), 5000);

/** Every message a peer sent before a ping has reached the book once the pong is back (the book is asked after). */
async function settle(p: RawPeer): Promise<void> {
  const nonce = BigInt(Date.now());
  p.send({ command: 'ping', nonce });
  await p.waitFor('pong');
}

test('getaddr: two inbound peers within the cache period get the same answer, at most 23% of the table', async () => {
  const { node, feeder, f } = await fedNode();
  try {
    f.send({ command: 'addr', addresses: Array.from({ length: 200 }, (_, i) => ip4(i)) });
    await settle(f);
    const total = (await info(node)).all_networks?.total ?? 0;
    assert.ok(total > 150, `${total} stored`);
    const answers: TimedNetAddress[][] = [];
    for (let k = 0; k < 2; k++) {
      const r = await RawPeer.connect(node.port);
      await r.handshake();
      r.send({ command: 'getaddr' });
      const m = await r.waitFor('addrv2');
      answers.push([...m.addresses]);
      // A second getaddr on the same connection is ignored.
      r.send({ command: 'getaddr' });
      await settle(r);
      assert.equal(r.received.filter((x) => x.command === 'addrv2' || x.command === 'addr').length, 1);
      await r.destroy();
    }
    assert.equal(answers[0]?.length, Math.floor((total * 23) / 100));
    assert.deepEqual(
      answers[1]?.map((a) => a.addr.toString('hex')),
      answers[0]?.map((a) => a.addr.toString('hex')),
    );
  } finally {
    await node.cleanup();
    await feeder.close();
  }
});

test('rate limit: 5,000 addresses in 5 messages from an inbound peer are almost all dropped; from a peer we asked, about 1000 are taken', async () => {
  const { node, feeder, f } = await fedNode();
  try {
    const r = await RawPeer.connect(node.port);
    await r.handshake();
    for (let m = 0; m < 5; m++) r.send({ command: 'addr', addresses: Array.from({ length: 1000 }, (_, i) => ip4(m * 1000 + i)) });
    await settle(r);
    const fromInbound = (await info(node)).all_networks?.total ?? 0;
    assert.ok(fromInbound <= 2, `inbound: ${fromInbound} stored`);
    for (let m = 0; m < 5; m++) f.send({ command: 'addr', addresses: Array.from({ length: 1000 }, (_, i) => ip4(10_000 + m * 1000 + i)) });
    await settle(f);
    const total = (await info(node)).all_networks?.total ?? 0;
    assert.ok(total - fromInbound <= 1002 && total - fromInbound > 500, `solicited: ${total - fromInbound} stored`);
    await r.destroy();
  } finally {
    await node.cleanup();
    await feeder.close();
  }
});

test('addrv2: IPv4, IPv6, Tor v3, I2P and CJDNS are all stored; only IPv4/IPv6 are offered for dialling', async () => {
  const { node, feeder, f } = await fedNode();
  try {
    const t = now() - 60;
    const k = (b: number, n: number) => Buffer.alloc(n, b);
    const addrs: TimedNetAddress[] = [
      { network: 'ipv4', addr: Buffer.from([5, 6, 7, 8]), port: 8333, services: 0x409n, time: t },
      { network: 'ipv6', addr: Buffer.from('2a0104f8000000000000000000000001', 'hex'), port: 8333, services: 0x409n, time: t },
      { network: 'torv3', addr: k(0x11, 32), port: 8333, services: 0x409n, time: t },
      { network: 'i2p', addr: k(0x22, 32), port: 0, services: 0x409n, time: t },
      { network: 'cjdns', addr: Buffer.concat([Buffer.from([0xfc]), k(0x33, 15)]), port: 8333, services: 0x409n, time: t },
    ];
    f.send({ command: 'addrv2', addresses: addrs });
    await settle(f);
    const i = await info(node);
    for (const n of ['ipv4', 'ipv6', 'onion', 'i2p', 'cjdns']) assert.equal(i[n]?.total, 1, `${n} stored: ${JSON.stringify(i)}`);
    const list = await ask<AddressBookMsg, NodeAddressJson[]>(node.addressbook(), (replyTo) => ({ type: 'node-addresses', count: 0, replyTo }), 5000);
    assert.deepEqual(list.map((a) => a.network).sort(), ['cjdns', 'i2p', 'ipv4', 'ipv6', 'onion']);
    const onion = list.find((a) => a.network === 'onion');
    assert.ok(onion?.address.endsWith('.onion'));
    const sel = await ask<AddressBookMsg, readonly Endpoint[]>(
      node.addressbook(),
      (replyTo) => ({ type: 'select', purpose: 'outbound', count: 10, excludeGroups: [], replyTo }),
      5000,
    );
    assert.ok(sel.length >= 1 && sel.length <= 2);
    assert.ok(sel.every((e) => e.host === '5.6.7.8' || e.host.startsWith('2a01')), JSON.stringify(sel.map((e) => `${e.host}:${e.port}`)));
  } finally {
    await node.cleanup();
    await feeder.close();
  }
});

test('a banned peer is disconnected and the ban is refused inbound; the book restarts after a kill and the node keeps working', async () => {
  const node = await testNode();
  try {
    const r = await RawPeer.connect(node.port);
    await r.handshake();
    await until('peer active', async () => (await node.peers()).some((p) => p.inbound && p.phase === 'active'));
    const res = await ask<AddressBookMsg, { ok: boolean }>(node.addressbook(), (replyTo) => ({ type: 'ban', subnet: '127.0.0.1', untilMs: Date.now() + 60_000, reason: 't', replyTo }), 5000);
    assert.ok(res.ok);
    await r.waitClosed();
    const again = await RawPeer.connect(node.port);
    await again.waitClosed();
    const inc = node.actors('/root/addressbook')[0]?.incarnation ?? 0;
    assert.ok(node.kill('/root/addressbook'));
    await until('restarted', () => (node.actors('/root/addressbook')[0]?.incarnation ?? 0) > inc);
    const b = await ask<AddressBookMsg, BanEntryJson[]>(node.addressbook(), (replyTo) => ({ type: 'list-bans', replyTo }), 5000);
    assert.equal(b.length, 1);
  } finally {
    await node.cleanup();
  }
});
