/**
 * Modelled on Bitcoin Core's p2p_addr_relay.py rate_limit_tests, in real time instead of mock
 * time: a token bucket per peer, 0.1 address per second, starting with 1 token, plus 1,000 for a
 * peer we sent getaddr to. A peer flooding 10,000 addresses gets 1,001 processed (plus 0.1/s of
 * the time it has been connected); after waiting W seconds, about 0.1·W more. "Processed" is the
 * address book's counters: received − rate-limited. test/faults/addr-relay.test.ts has the
 * block-relay-only case (no addresses processed at all).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { activePeer, SLOW_SKIP, sync } from '../helpers/faults.js';
import { ask } from '../../supervisors/index.js';
import type { AddressBookMsg, AddrmanInfo } from '../../src/contracts/addressbook.js';
import type { NodeHandle } from '../../src/node.js';
import type { TimedNetAddress } from '../../src/wire/address.js';

const WAIT_S = 20;
let counter = 0;
/** Distinct routable addresses (11-126.x.y.z), fresh. */
function addrs(n: number): TimedNetAddress[] {
  const time = Math.floor(Date.now() / 1000);
  return Array.from({ length: n }, () => {
    const c = counter++;
    return { network: 'ipv4', addr: Buffer.from([11 + (c % 100), (c >> 16) & 0xff, (c >> 8) & 0xff, c & 0xff]), port: 8333, services: 0x9n, time };
  });
}

/** received − rate-limited, once the book has handled everything sent before. */
async function processed(n: NodeHandle): Promise<number> {
  await ask<AddressBookMsg, AddrmanInfo>(n.addressbook(), (replyTo) => ({ type: 'info', replyTo }), 5000);
  const s = n.actors('/root/addressbook')[0]?.summary as { addrReceived: number; addrRateLimited: number };
  return s.addrReceived - s.addrRateLimited;
}

async function flood(n: NodeHandle, p: RawPeer, total: number): Promise<number> {
  const before = await processed(n);
  for (let i = 0; i < total; i += 1000) p.send({ command: 'addr', addresses: addrs(Math.min(1000, total - i)) });
  await sync(p, 30_000);
  return (await processed(n)) - before;
}

test('addr rate limit: 10,000 addresses → 1,001 processed from a peer we asked, 1 from an inbound one; then 0.1 per second', { skip: SLOW_SKIP, timeout: 120_000 }, async () => {
  const feederListener = await RawPeer.listen();
  const t0 = Date.now();
  const node = await testNode({ connect: [`127.0.0.1:${feederListener.port}`] });
  try {
    const f = await feederListener.accept();
    await f.handshake();
    await f.waitFor('getaddr');
    const inbound = await activePeer(node);

    const fromInbound = await flood(node, inbound, 10_000);
    const tIn = Date.now();
    const fromFeeder = await flood(node, f, 10_000);
    const t1 = Date.now();
    const elapsedS = (t1 - t0) / 1000;
    // Tokens accrue from the peer's first sight; at most 0.1/s of the whole run so far.
    assert.ok(fromInbound >= 1 && fromInbound <= Math.floor(1 + 0.1 * elapsedS), `inbound: ${fromInbound} of 10,000 processed in ${elapsedS.toFixed(1)} s`);
    assert.ok(fromFeeder >= 1001 && fromFeeder <= Math.floor(1001 + 0.1 * elapsedS), `asked: ${fromFeeder} of 10,000 processed in ${elapsedS.toFixed(1)} s`);

    // Ten more at once: nothing left (at most one token, if a fraction left over became a whole one).
    assert.ok((await flood(node, f, 10)) <= 1);

    // Wait, then 200 more from each: 0.1 per second of the wait. Each bucket kept less than one
    // token after its flood, and the ten above may have taken one: hence the ±1.
    await new Promise((r) => setTimeout(r, WAIT_S * 1000));
    const t2 = Date.now();
    const laterFeeder = await flood(node, f, 200);
    const laterInbound = await flood(node, inbound, 200);
    const t3 = Date.now();
    const low = Math.floor((0.1 * (t2 - t1)) / 1000) - 1;
    for (const [who, got, since] of [['asked', laterFeeder, t1], ['inbound', laterInbound, tIn]] as const) {
      const high = Math.floor((0.1 * (t3 - since)) / 1000) + 1;
      assert.ok(got >= low && got <= high, `${who}: ${got} processed after a ${((t2 - t1) / 1000).toFixed(1)} s wait (expected ${low}..${high})`);
    }
    assert.equal(f.isClosed || inbound.isClosed, false, 'flooding addresses is not misbehaviour');
    await inbound.destroy();
  } finally {
    await node.cleanup();
    await feederListener.close();
  }
});
