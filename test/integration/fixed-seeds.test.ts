/**
 * Fixed seeds end to end on loopback: a regtest node given an override list of 127.0.0.1 ports
 * (never a public address) dials the listener on it when its book is empty and --dnsseed is 0;
 * with --fixedseeds 0, or with --connect, it does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ask } from '../../supervisors/index.js';
import { testNode } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { ManualScheduler, advance } from '../helpers/clock.js';
import { FIXED_SEEDS_DELAY_MS } from '../../src/addressbook/logic.js';
import type { AddressBookMsg, AddrmanInfo } from '../../src/contracts/addressbook.js';
import type { NodeHandle } from '../../src/node.js';

const info = (n: NodeHandle) => ask<AddressBookMsg, AddrmanInfo>(n.addressbook(), (replyTo) => ({ type: 'info', replyTo }), 5000);

test('fixed seeds: an empty regtest node with --dnsseed 0 dials the 127.0.0.1 seed of its override list', async () => {
  const seed = await RawPeer.listen();
  const node = await testNode({ fixedSeedsOverride: [`127.0.0.1:${seed.port}`] });
  try {
    const p = await seed.accept(15_000);
    const v = await p.handshake();
    assert.equal(v.command, 'version');
    assert.equal((await info(node)).all_networks?.total, 1, 'the seed is in the book');
    await p.destroy();
  } finally {
    await node.cleanup();
    await seed.close();
  }
});

test('fixed seeds: --fixedseeds 0 and --connect leave the override list alone', async () => {
  const seed = await RawPeer.listen();
  const other = await RawPeer.listen();
  // Both nodes run on a manual clock: two minutes of their time pass in a few ms of ours, past the
  // 60 s after which Core adds the fixed seeds to a book that is still empty.
  const clock = new ManualScheduler();
  const off = await testNode({ fixedSeedsOverride: [`127.0.0.1:${seed.port}`], fixedseeds: false, scheduler: clock });
  const connect = await testNode({ fixedSeedsOverride: [`127.0.0.1:${seed.port}`], connect: [`127.0.0.1:${other.port}`], scheduler: clock });
  try {
    // The --connect node dials its peer (its first tick), and is up.
    const accepted = other.accept(15_000);
    await advance(clock, 1000);
    const o = await accepted;
    await o.handshake();
    await advance(clock, FIXED_SEEDS_DELAY_MS * 2, 500);
    assert.equal(seed.count, 0, 'nobody dialled the seed');
    assert.equal((await info(off)).all_networks?.total, 0);
    assert.equal((await info(connect)).all_networks?.total ?? 0, 0);
    await o.destroy();
  } finally {
    await off.cleanup();
    await connect.cleanup();
    await seed.close();
    await other.close();
  }
});
