/**
 * Core v30's punishment table (src/contracts/punishment.ts) over real TCP on 127.0.0.1: Core's
 * MaybeDiscourageAndDisconnect spares manual connections (`--addnode`, `--connect`, RPC
 * `addnode`) — neither disconnected nor discouraged for misbehaviour, the offending message
 * dropped — while an ordinary inbound peer doing the same is disconnected as misbehaving (and,
 * being local, not discouraged). Rows the table marks `disconnect` (Core's fDisconnect) still
 * close a manual connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { expectDisconnect, infoOf, list, rawFrame, stillServes, sync } from '../helpers/faults.js';
import { chainOf } from '../helpers/chain.js';
import { MAX_INV_SZ, MAX_HEADERS_RESULTS } from '../../src/wire/constants.js';

const INV_TX = Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.alloc(32, 1)]);
const HEADER = Buffer.alloc(81);

test('a manual peer (--addnode) is never disconnected for misbehaviour, an inbound one is; fDisconnect rows apply to both', async (t) => {
  const listener = await RawPeer.listen();
  t.after(() => listener.close());
  const node = await testNode({ addnode: [`127.0.0.1:${listener.port}`] });
  t.after(() => node.cleanup());
  const manual = await listener.accept(10_000);
  t.after(() => manual.destroy());
  await manual.handshake();
  await until('the manual peer is active', async () => (await infoOf(node, manual))?.phase === 'active');
  assert.equal((await infoOf(node, manual))?.connType, 'manual');

  // Misbehaving rows: an inv over 50,000, headers over 2,000, an unrequested block with an unknown parent.
  manual.sendRaw(rawFrame('inv', list(MAX_INV_SZ + 1, INV_TX)));
  manual.sendRaw(rawFrame('headers', list(MAX_HEADERS_RESULTS + 1, HEADER)));
  manual.send({ command: 'block', block: chainOf(2, { txsPerBlock: 0, seed: 71 })[1].block });
  await sync(manual);
  assert.equal(manual.isClosed, false, 'spared (Core: "not punishing manually connected peer")');
  const ign = (await infoOf(node, manual))?.ignored;
  assert.equal(ign?.['list-too-long'], 2, JSON.stringify(ign));
  // The only record is the node's v2 attempt the v1-only listener hung up on (then redialled with v1).
  assert.deepEqual(
    (await node.disconnects()).map((d) => [d.connType, d.misbehaving]),
    Array.from({ length: listener.v2Refused }, () => ['manual', false]),
  );
  assert.equal(listener.v2Refused, 1);

  // The same from an ordinary inbound peer: disconnected as misbehaving.
  const rec = await expectDisconnect(
    node,
    async (p) => {
      await p.handshake();
      p.sendRaw(rawFrame('inv', list(MAX_INV_SZ + 1, INV_TX)));
    },
    /^malformed message: inv: oversize/,
  );
  assert.equal(rec.misbehaving, true);

  // A protocol violation Core answers with fDisconnect closes even the manual connection, without penalty.
  manual.send({ command: 'wtxidrelay' });
  await manual.waitClosed(5000);
  await until('recorded', async () => (await node.disconnects()).some((d) => d.reason === 'wtxidrelay after verack'));
  const d = (await node.disconnects()).find((x) => x.reason === 'wtxidrelay after verack');
  assert.equal(d?.misbehaving, false);
  await stillServes(node);
});
