/** The block actor's per-turn send queue: getdata merging. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enqueueSend } from '../../src/chain/actor.js';
import { MAX_INV_SZ, MSG_WITNESS_BLOCK } from '../../src/wire/constants.js';
import type { Message } from '../../src/wire/messages.js';

const item = (n: number): { type: number; hash: Buffer } => ({ type: MSG_WITNESS_BLOCK, hash: Buffer.alloc(32, n) });
const gd = (...ns: number[]): Message => ({ command: 'getdata', items: ns.map(item) });

test('getdata messages queued one after another in a turn go out as one, in order', () => {
  const q: Message[] = [];
  enqueueSend(q, gd(1));
  enqueueSend(q, gd(2, 3));
  enqueueSend(q, gd(4));
  assert.equal(q.length, 1);
  assert.deepEqual(q[0].command === 'getdata' && q[0].items.map((i) => i.hash[0]), [1, 2, 3, 4]);
});

test('another message between two getdata keeps them apart (the peer sees the same order)', () => {
  const q: Message[] = [];
  enqueueSend(q, gd(1));
  enqueueSend(q, { command: 'getheaders', version: 70016, locator: [Buffer.alloc(32)], hashStop: Buffer.alloc(32) });
  enqueueSend(q, gd(2));
  assert.deepEqual(q.map((m) => m.command), ['getdata', 'getheaders', 'getdata']);
});

test('a merge never passes the protocol limit of 50,000 items', () => {
  const q: Message[] = [];
  enqueueSend(q, { command: 'getdata', items: Array.from({ length: MAX_INV_SZ - 1 }, () => item(0)) });
  enqueueSend(q, gd(1, 2));
  assert.equal(q.length, 2);
  assert.equal(q[0].command === 'getdata' && q[0].items.length, MAX_INV_SZ - 1);
});
