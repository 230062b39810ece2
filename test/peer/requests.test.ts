import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initRequests, requestBytes, requestsIdle, stepRequests, type Request, type RequestEffect, type RequestState } from '../../src/peer/requests.js';
import { MSG_BLOCK, MSG_TX, MSG_WITNESS_BLOCK, MSG_WTX, MAX_INV_SZ } from '../../src/wire/constants.js';
import type { InvItem } from '../../src/wire/messages.js';

const item = (type: number, n: number): InvItem => ({ type, hash: Buffer.alloc(32, n) });
const pieces = (fx: RequestEffect[]) => fx.flatMap((e) => (e.kind === 'to-chain' ? [e] : []));
const idle = (fx: RequestEffect[]) => fx.some((e) => e.kind === 'idle');

/** Serves every piece as the block actor would, while the send queue has room; returns the pieces in order. */
function drain(s: RequestState, first: RequestEffect[]): Request[] {
  const out: Request[] = [];
  let fx = first;
  for (let guard = 0; guard < 200_000; guard++) {
    const p = pieces(fx);
    if (p.length === 0) break;
    assert.equal(p.length, 1, 'one piece at a time');
    out.push(p[0].msg);
    fx = stepRequests(s, { type: 'served', seq: p[0].seq, paused: false });
  }
  return out;
}

test('a getdata of 2,000 copies of one block goes to the block actor one block at a time, each only after the last is served', () => {
  const s = initRequests();
  const items = Array.from({ length: 2000 }, () => item(MSG_WITNESS_BLOCK, 1));
  const fx = stepRequests(s, { type: 'request', msg: { command: 'getdata', items }, paused: false });
  const first = pieces(fx);
  assert.equal(first.length, 1);
  assert.ok(first[0].msg.command === 'getdata' && first[0].msg.items.length === 1);
  assert.equal(requestsIdle(s), false, 'the peer\'s next messages wait');
  assert.equal(requestBytes(s), 1999 * 36, 'what waits is charged to the peer');
  // Nothing more until the block actor says served.
  assert.deepEqual(stepRequests(s, { type: 'unpaused' }), []);
  const all = [first[0].msg, ...drain(s, stepRequests(s, { type: 'served', seq: first[0].seq, paused: false }))];
  assert.equal(all.length, 2000);
  assert.ok(all.every((m) => m.command === 'getdata' && m.items.length === 1));
  assert.equal(requestsIdle(s), true);
  assert.equal(requestBytes(s), 0);
  assert.equal(s.pieces, 2000);
});

test('while the send queue is over its limit no piece goes; back under it, the next one does (Core: fPauseSend)', () => {
  const s = initRequests();
  const items = [item(MSG_BLOCK, 1), item(MSG_BLOCK, 2), item(MSG_BLOCK, 3)];
  const [p1] = pieces(stepRequests(s, { type: 'request', msg: { command: 'getdata', items }, paused: false }));
  // The block made the send queue go over the limit: served, but paused.
  assert.deepEqual(stepRequests(s, { type: 'served', seq: p1.seq, paused: true }), []);
  assert.equal(s.inFlight, 0);
  const fx = stepRequests(s, { type: 'unpaused' });
  const [p2] = pieces(fx);
  assert.ok(p2 && p2.msg.command === 'getdata' && p2.msg.items[0].hash.equals(items[1].hash));
  // A request that arrives paused waits too.
  const t = initRequests();
  assert.deepEqual(stepRequests(t, { type: 'request', msg: { command: 'getheaders', version: 70016, locator: [], hashStop: Buffer.alloc(32) }, paused: true }), []);
  assert.equal(requestsIdle(t), false);
  assert.equal(pieces(stepRequests(t, { type: 'unpaused' })).length, 1);
});

test('leading items that are not blocks go with the next block in one piece (one notfound), at most one block per piece', () => {
  const s = initRequests();
  const items = [item(MSG_TX, 1), item(MSG_WTX, 2), item(MSG_BLOCK, 3), item(MSG_TX, 4), item(MSG_BLOCK, 5), item(MSG_BLOCK, 6), item(MSG_TX, 7)];
  const got = drain(s, stepRequests(s, { type: 'request', msg: { command: 'getdata', items }, paused: false }));
  assert.deepEqual(
    got.map((m) => (m.command === 'getdata' ? m.items.map((i) => i.hash[0]) : [])),
    [[1, 2, 3], [4, 5], [6], [7]],
  );
  // A getdata of only non-block items is one piece; the largest possible one is bounded by the protocol.
  const t = initRequests();
  const txs = Array.from({ length: MAX_INV_SZ }, (_, i) => item(MSG_TX, i));
  const one = drain(t, stepRequests(t, { type: 'request', msg: { command: 'getdata', items: txs }, paused: false }));
  assert.equal(one.length, 1);
});

test('getheaders and getblocks are one piece each; the idle effect comes when all is served; an empty getdata asks nothing', () => {
  const s = initRequests();
  const gh: Request = { command: 'getheaders', version: 70016, locator: [Buffer.alloc(32)], hashStop: Buffer.alloc(32) };
  const [p] = pieces(stepRequests(s, { type: 'request', msg: gh, paused: false }));
  assert.equal(p.msg, gh);
  const done = stepRequests(s, { type: 'served', seq: p.seq, paused: false });
  assert.ok(idle(done));
  assert.equal(requestsIdle(s), true);
  assert.deepEqual(stepRequests(s, { type: 'request', msg: { command: 'getdata', items: [] }, paused: false }), []);
  assert.equal(requestsIdle(s), true);
});

test('a restart of the block actor loses the piece it served: the rest goes on, and a late served of the lost piece is ignored', () => {
  const s = initRequests();
  const items = [item(MSG_BLOCK, 1), item(MSG_BLOCK, 2), item(MSG_BLOCK, 3)];
  const [p1] = pieces(stepRequests(s, { type: 'request', msg: { command: 'getdata', items }, paused: false }));
  const [p2] = pieces(stepRequests(s, { type: 'chain-restarted', paused: false }));
  assert.ok(p2 && p2.seq !== p1.seq);
  assert.deepEqual(stepRequests(s, { type: 'served', seq: p1.seq, paused: false }), [], 'stale: nothing more goes');
  assert.equal(s.inFlight, p2.seq);
  const [p3] = pieces(stepRequests(s, { type: 'served', seq: p2.seq, paused: false }));
  assert.ok(p3);
  assert.ok(idle(stepRequests(s, { type: 'served', seq: p3.seq, paused: false })));
});
