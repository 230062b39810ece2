/**
 * The gate before decode, after Bitcoin Core's `p2p_leak.py` (a peer that sends everything
 * before `version` is ignored: "non-version message before version handshake"),
 * `p2p_invalid_messages.py` (large messages) and `p2p_blocksonly.py` (a `tx` after we said
 * relay=false: "transaction sent in violation of protocol", disconnected, not punished).
 *
 * | case | Core | peerd |
 * |---|---|---|
 * | a 4 MB `tx` of ~4M empty witness items before `version` | ignored, not deserialised | same: counted under `message before version`, never decoded |
 * | an undecodable frame (a `headers` whose count lies) before `version` | ignored | same (a decode would have found it malformed and disconnected) |
 * | the same 4 MB `tx` after the handshake | disconnected, not punished | same, without decoding it |
 *
 * That nothing was decoded is shown by behaviour (an undecodable frame costs no disconnect) and by
 * the process's peak RSS, which a decode of 4M witness items would grow by hundreds of MB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testNode } from '../helpers/node.js';
import { expectDisconnect, infoOf, rawFrame, stillServes, sync } from '../helpers/faults.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { MAX_PROTOCOL_MESSAGE_LENGTH } from '../../src/wire/constants.js';

/** Peak RSS growth (MB) a decode would far exceed: ~4M witness item objects cost ~400 MB. */
const RSS_BOUND_MB = 128;

/** A segwit tx of one input whose witness is as many empty items as fit in 4,000,000 bytes, built as raw bytes. */
function witnessHeavyTx(): Buffer {
  const head = Buffer.concat([
    Buffer.from([2, 0, 0, 0, 0x00, 0x01, 0x01]), // version 2, marker, flag, one input
    Buffer.alloc(32, 0x11), // prevout hash
    Buffer.from([0, 0, 0, 0, 0x00, 0xff, 0xff, 0xff, 0xff]), // index, empty scriptSig, sequence
    Buffer.from([0x01, 0xe8, 0x03, 0, 0, 0, 0, 0, 0, 0x01, 0x51]), // one output: 1000 sat, OP_TRUE
  ]);
  const items = MAX_PROTOCOL_MESSAGE_LENGTH - head.length - 5 - 4;
  const count = Buffer.alloc(5);
  count[0] = 0xfe;
  count.writeUInt32LE(items, 1);
  return Buffer.concat([head, count, Buffer.alloc(items), Buffer.alloc(4)]);
}

const maxRssMb = (): number => process.resourceUsage().maxRSS / 1024;

test('before version, a 4 MB witness-heavy tx and an undecodable frame are ignored without decoding; the peer goes on to a normal handshake', async (t) => {
  // v1 only: with v2transport on, an opening that is not `version` is taken for BIP324 (as Core does).
  const node = await testNode({ v2transport: false });
  t.after(() => node.cleanup());
  const heavy = rawFrame('tx', witnessHeavyTx());
  // A headers message that claims 2,000 headers and holds none: malformed if it were decoded.
  const lying = rawFrame('headers', Buffer.from([0xfd, 0xd0, 0x07]));
  const rss0 = maxRssMb();
  const p = await RawPeer.connect(node.port);
  t.after(() => p.destroy());
  p.sendRaw(heavy);
  p.sendRaw(lying);
  await p.handshake();
  await sync(p);
  const grown = maxRssMb() - rss0;
  t.diagnostic(`peak RSS +${grown.toFixed(1)} MB for a ${heavy.length}-byte frame before version`);
  assert.equal(p.isClosed, false, 'not disconnected: nothing was decoded, so nothing was malformed');
  const info = await infoOf(node, p);
  assert.equal(info?.ignored['message before version'], 2, `both ignored before version: ${JSON.stringify(info?.ignored)}`);
  assert.equal(info?.phase, 'active');
  assert.ok(grown < RSS_BOUND_MB, `peak RSS grew ${grown.toFixed(1)} MB (a decode costs hundreds)`);
  assert.equal((await node.disconnects()).length, 0);
  await stillServes(node);
});

test('after the handshake, the same 4 MB tx is refused undecoded: disconnected, not punished (we said relay=false)', async (t) => {
  const node = await testNode();
  t.after(() => node.cleanup());
  const heavy = rawFrame('tx', witnessHeavyTx());
  const rss0 = maxRssMb();
  const rec = await expectDisconnect(
    node,
    async (p) => {
      const v = await p.handshake();
      assert.equal(v.relay, false);
      await sync(p);
      p.sendRaw(heavy);
    },
    /transaction sent in violation of protocol/,
    false,
  );
  const grown = maxRssMb() - rss0;
  t.diagnostic(`${rec.reason}; peak RSS +${grown.toFixed(1)} MB`);
  assert.ok(grown < RSS_BOUND_MB, `peak RSS grew ${grown.toFixed(1)} MB`);
});
