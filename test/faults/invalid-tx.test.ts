/**
 * After Bitcoin Core's `p2p_invalid_tx.py`, for a node that keeps no mempool (README,
 * "Differences"): peerd tells every peer `relay=false` in its version, never asks for a
 * transaction, and ignores `tx` messages whatever they hold, without a disconnect.
 *
 * | case | Core | peerd |
 * |---|---|---|
 * | a transaction whose script fails (OP_NOTIF ×35 scriptSig) | rejected, the sender disconnected | ignored, the sender kept |
 * | transactions failing CheckTransaction (duplicate inputs, no outputs, output above 21 M BTC) | rejected (`bad-txns-…`), the sender disconnected | ignored, the sender kept |
 * | orphans (spending unknown outputs), hundreds of them | kept in the orphan pool (bounded), no disconnect | ignored, nothing kept |
 * | `inv` of transactions (MSG_TX, MSG_WTX) | requested | not requested |
 * | a `tx` that does not parse | the message dropped, the peer kept | same (the punishment table's `undecodable`) |
 *
 * Core with `-blocksonly` (the closest to peerd) disconnects a peer that sends a transaction
 * anyway ("transaction sent in violation of protocol"); peerd ignores it. Through all of it the
 * node answers the sender's pings and takes an honest peer through the handshake.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { makeTx, type Tx, type TxIn } from '../../src/wire/tx.js';
import { Writer } from '../../src/wire/buffer.js';
import { encodeTx } from '../../src/wire/tx.js';
import { MSG_TX, MSG_WTX, MSG_WITNESS_TX } from '../../src/wire/constants.js';
import { testNode } from '../helpers/node.js';
import { activePeer, infoOf, rawFrame, stillServes, sync } from '../helpers/faults.js';
import { RawPeer } from '../helpers/raw-peer.js';

const OP_TRUE = Buffer.from([0x51]);

function input(script: Buffer = Buffer.alloc(0)): TxIn {
  return { prevTxid: randomBytes(32), prevIndex: 0, script, sequence: 0xffffffff, witness: [] };
}

function tx(inputs: TxIn[], outputs: { value: bigint; script: Buffer }[]): Tx {
  return makeTx({ version: 2, inputs, outputs, locktime: 0 });
}

test('tx messages, valid-looking or invalid, orphans by the hundred: ignored without a disconnect (no mempool); tx invs never requested; the node stays up', async (t) => {
  const node = await testNode();
  t.after(() => node.cleanup());
  const p = await RawPeer.connect(node.port);
  t.after(() => p.destroy());
  const theirVersion = await p.handshake();
  assert.equal(theirVersion.relay, false, 'peerd asks for no transactions (relay=false)');

  const dupIn = input(OP_TRUE);
  const cases: [string, Tx][] = [
    ['script failure (OP_NOTIF ×35)', tx([input(Buffer.alloc(35, 0x64))], [{ value: 50_0000_0000n - 12_000n, script: OP_TRUE }])],
    ['duplicate inputs', tx([dupIn, dupIn], [{ value: 1000n, script: OP_TRUE }])],
    ['no outputs', tx([input(OP_TRUE)], [])],
    ['output above 21 M BTC', tx([input(OP_TRUE)], [{ value: 21_000_001n * 100_000_000n, script: OP_TRUE }])],
  ];
  for (const [, bad] of cases) p.send({ command: 'tx', tx: bad });
  await sync(p);
  // Orphans: 300 chained spends of an output the node never saw.
  let parent = tx([input(OP_TRUE)], [{ value: 10_000n, script: OP_TRUE }]);
  for (let i = 0; i < 300; i++) {
    const child = tx([{ prevTxid: parent.txid, prevIndex: 0, script: OP_TRUE, sequence: 0xffffffff, witness: [] }], [{ value: 10_000n - BigInt(i), script: OP_TRUE }]);
    p.send({ command: 'tx', tx: child });
    parent = child;
  }
  // Announcements of transactions, by txid and by wtxid.
  p.send({ command: 'inv', items: [MSG_TX, MSG_WTX, MSG_WITNESS_TX].map((type) => ({ type, hash: randomBytes(32) })) });
  await sync(p);

  assert.equal(p.isClosed, false, 'the sender is kept');
  assert.equal(p.all('getdata').length, 0, 'no transaction is ever requested');
  const info = await infoOf(node, p);
  assert.ok(info, 'still connected on the node');
  assert.equal(info.ignored.tx, cases.length + 300, `every tx counted as ignored: ${JSON.stringify(info.ignored)}`);
  assert.equal(info.ignored['tx inv'], 1);
  assert.equal((await node.disconnects()).length, 0);
  await stillServes(node);
});

test('a tx message that does not parse is dropped, its sender kept (Core: the deserialiser throws, ProcessMessages catches it); the node keeps serving', async (t) => {
  const node = await testNode();
  t.after(() => node.cleanup());
  const w = new Writer(256);
  encodeTx(w, tx([input(OP_TRUE)], [{ value: 1000n, script: OP_TRUE }]));
  const whole = Buffer.from(w.result());
  const bad = await activePeer(node);
  t.after(() => bad.destroy());
  bad.sendRaw(rawFrame('tx', whole.subarray(0, whole.length - 3)));
  await sync(bad);
  assert.equal((await infoOf(node, bad))?.ignored['undecodable'], 1);
  assert.equal(bad.isClosed, false);
  // A well-formed tx from another peer right after: ignored, that peer kept.
  const other = await activePeer(node);
  t.after(() => other.destroy());
  other.send({ command: 'tx', tx: tx([input(OP_TRUE)], [{ value: 1000n, script: OP_TRUE }]) });
  await sync(other);
  assert.equal(other.isClosed, false);
});
