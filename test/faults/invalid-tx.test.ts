/**
 * After Bitcoin Core's `p2p_invalid_tx.py` and `p2p_blocksonly.py`, for a node that keeps no
 * mempool (README, "Differences"): peerd tells every peer `relay=false` in its version and never
 * asks for a transaction. Core with `-blocksonly` (or on a block-relay-only connection) refuses a
 * `tx` sent anyway: "transaction sent in violation of protocol", the peer disconnected without
 * punishment. peerd does the same, for every `tx`, and without decoding it (the gate before decode).
 *
 * | case | Core -blocksonly | peerd |
 * |---|---|---|
 * | a transaction, valid-looking or failing CheckTransaction / scripts, or an orphan | disconnected, not punished | same, undecoded |
 * | a `tx` that does not parse | disconnected, not punished (refused before it is read) | same |
 * | `inv` of transactions (MSG_TX, MSG_WTX) | v30: disconnected ("inv sent in violation of protocol") | same, never requested |
 * | a `tx` before the handshake is done | ignored (nothing is handled before version/verack) | same, undecoded |
 *
 * Through all of it the node takes an honest peer through the handshake.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { makeTx, type Tx, type TxIn } from '../../src/wire/tx.js';
import { Writer } from '../../src/wire/buffer.js';
import { encodeTx } from '../../src/wire/tx.js';
import { MSG_TX, MSG_WTX, MSG_WITNESS_TX } from '../../src/wire/constants.js';
import { testNode } from '../helpers/node.js';
import { expectDisconnect, infoOf, rawFrame, stillServes, sync } from '../helpers/faults.js';
import { RawPeer } from '../helpers/raw-peer.js';

const OP_TRUE = Buffer.from([0x51]);

function input(script: Buffer = Buffer.alloc(0)): TxIn {
  return { prevTxid: randomBytes(32), prevIndex: 0, script, sequence: 0xffffffff, witness: [] };
}

function tx(inputs: TxIn[], outputs: { value: bigint; script: Buffer }[]): Tx {
  return makeTx({ version: 2, inputs, outputs, locktime: 0 });
}

test('tx messages, valid-looking or invalid, or orphans: the sender is disconnected without punishment (we said relay=false); so is a tx inv, never requested', async (t) => {
  const node = await testNode();
  t.after(() => node.cleanup());
  const dupIn = input(OP_TRUE);
  const parent = tx([input(OP_TRUE)], [{ value: 10_000n, script: OP_TRUE }]);
  const cases: [string, Tx][] = [
    ['script failure (OP_NOTIF ×35)', tx([input(Buffer.alloc(35, 0x64))], [{ value: 50_0000_0000n - 12_000n, script: OP_TRUE }])],
    ['duplicate inputs', tx([dupIn, dupIn], [{ value: 1000n, script: OP_TRUE }])],
    ['no outputs', tx([input(OP_TRUE)], [])],
    ['output above 21 M BTC', tx([input(OP_TRUE)], [{ value: 21_000_001n * 100_000_000n, script: OP_TRUE }])],
    ['an orphan', tx([{ prevTxid: parent.txid, prevIndex: 0, script: OP_TRUE, sequence: 0xffffffff, witness: [] }], [{ value: 9_000n, script: OP_TRUE }])],
  ];
  for (const [name, bad] of cases) {
    const rec = await expectDisconnect(
      node,
      async (p) => {
        const theirVersion = await p.handshake();
        assert.equal(theirVersion.relay, false, 'peerd asks for no transactions (relay=false)');
        await sync(p);
        p.send({ command: 'tx', tx: bad });
      },
      /transaction sent in violation of protocol/,
      false,
    );
    t.diagnostic(`${name}: ${rec.reason}`);
  }
  // Announcements of transactions, by txid and by wtxid (each alone): disconnected without penalty,
  // as Core with -blocksonly ("transaction inv sent in violation of protocol"), never requested.
  for (const type of [MSG_TX, MSG_WTX, MSG_WITNESS_TX]) {
    let announcer: RawPeer | undefined;
    const rec = await expectDisconnect(
      node,
      async (p) => {
        announcer = p;
        await p.handshake();
        await sync(p);
        p.send({ command: 'inv', items: [{ type, hash: randomBytes(32) }] });
      },
      /^transaction inv sent in violation of protocol/,
      false,
    );
    assert.equal(rec.misbehaving, false);
    assert.equal(announcer?.all('getdata').length, 0, 'no transaction is ever requested');
  }
  await stillServes(node);
});

test('a tx message that does not parse is refused undecoded: disconnected as any tx, not as malformed; a tx before verack is ignored', async (t) => {
  const node = await testNode();
  t.after(() => node.cleanup());
  const w = new Writer(256);
  encodeTx(w, tx([input(OP_TRUE)], [{ value: 1000n, script: OP_TRUE }]));
  const whole = Buffer.from(w.result());
  const rec = await expectDisconnect(
    node,
    async (p) => {
      await p.handshake();
      await sync(p);
      p.sendRaw(rawFrame('tx', whole.subarray(0, whole.length - 3)));
    },
    /transaction sent in violation of protocol/,
    false,
  );
  t.diagnostic(`disconnect reason: ${rec.reason}`);
  // Before our verack is answered: ignored (Core: nothing but the handshake before verack).
  const early = await RawPeer.connect(node.port);
  t.after(() => early.destroy());
  await early.handshake({ verack: false });
  early.sendRaw(rawFrame('tx', whole.subarray(0, whole.length - 3)));
  early.send({ command: 'verack' });
  await sync(early);
  assert.equal(early.isClosed, false);
  assert.equal((await infoOf(node, early))?.ignored['message before verack'], 1);
});
