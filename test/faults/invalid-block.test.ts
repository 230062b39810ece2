/**
 * After Bitcoin Core's `p2p_invalid_block.py` (and the coinbase cases of `feature_block.py`),
 * against an in-process node synced from a stub chain peer; blocks are announced with `headers`
 * by a raw peer, fetched (getdata) and delivered.
 *
 * | case | Core | peerd |
 * |---|---|---|
 * | a valid block | becomes the tip | same |
 * | the same block with its last transaction duplicated (CVE-2012-2459: same merkle root, same hash) | `bad-txns-duplicate`, a mutated block: the sender punished, the hash not marked invalid, the original accepted afterwards | same |
 * | a transaction spending the same outpoint twice (CVE-2018-17144) | `bad-txns-inputs-duplicate`: invalid, the sender punished | same; the header marked invalid (announcing it again: `duplicate-invalid`, punished for outbound peers only, as Core's BLOCK_CACHED_INVALID) |
 * | coinbase not first / a second coinbase (feature_block.py) | `bad-cb-missing` / `bad-cb-multiple` | same |
 * | a coinbase paying more than subsidy + fees | `bad-cb-amount` | **accepted**: peerd keeps no UTXO set and cannot know the fees (README, "Differences") |
 * | a block whose time is more than 2 h ahead | `time-too-new`, not punished, not remembered: accepted once the time is valid | same (real time: the block is made 3 s too new and offered again 3 s later) |
 *
 * Core's test whitelists its peer (noban), so it is not disconnected there; without noban Core
 * disconnects for the punished cases, as peerd does. After every case the node still takes an
 * honest peer through the handshake, and the stub chain peer is still connected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mineBlock, blockSubsidy } from '../../src/tools/chain/generate.js';
import { blockMerkleRoot, makeBlock, type Block, type BlockHeader } from '../../src/wire/block.js';
import { checkProofOfWork } from '../../src/wire/pow.js';
import { makeTx, type Tx } from '../../src/wire/tx.js';
import { MAX_FUTURE_BLOCK_TIME } from '../../src/chain/headers.js';
import { testNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { activePeer, stillServes, sync } from '../helpers/faults.js';
import { chainOf, displayHex, serveBlocks } from '../helpers/chain.js';

/** A spend of a made-up outpoint without witness data (peerd checks no scripts or UTXOs). */
function spend(outputs = 1): Tx {
  return makeTx({
    version: 2,
    inputs: [{ prevTxid: randomBytes(32), prevIndex: 0, script: Buffer.from([0x51]), sequence: 0xffffffff, witness: [] }],
    outputs: Array.from({ length: outputs }, () => ({ value: 1000n, script: Buffer.from([0x51]) })),
    locktime: 0,
  });
}

/** A block on `parent` with exactly these transactions (coinbase included or not), nonce ground. */
function blockWith(parent: BlockHeader, time: number, txs: readonly Tx[]): Block {
  const merkleRoot = blockMerkleRoot({ txs }).root;
  for (let nonce = 0; ; nonce++) {
    const b = makeBlock({ version: 0x20000000, prevBlock: parent.hash, merkleRoot, time, bits: 0x207fffff, nonce }, txs);
    if (checkProofOfWork(b.header.hash, b.header.bits, 2n ** 255n)) return b;
  }
}

/** The coinbase mineBlock would make at `height`, with its first output's value changed. */
function coinbaseAt(parent: BlockHeader, height: number, time: number, value?: bigint): Tx {
  const cb = mineBlock(parent, height, time, []).block.txs[0];
  if (value === undefined) return cb;
  return makeTx({ version: cb.version, inputs: cb.inputs, outputs: [{ value, script: cb.outputs[0].script }, ...cb.outputs.slice(1)], locktime: cb.locktime });
}

test('invalid blocks as in p2p_invalid_block.py: mutated (re-requested, original accepted), duplicate inputs, coinbase placement, coinbase amount (a difference), future time (accepted later)', async (t) => {
  const base = chainOf(10, { txsPerBlock: 2, seed: 51 });
  const stub = await serveBlocks(t, base);
  const node = await testNode({ connect: [`127.0.0.1:${stub.port}`] });
  t.after(() => node.cleanup());
  const height = async (): Promise<number> => Number(await node.chainCall('getblockcount'));
  await until('synced', async () => (await height()) === 10, 20_000);
  let tip = base[9].block.header;
  let h = 10;
  let time = tip.time;
  const stubConnected = async (): Promise<boolean> => (await node.peers()).some((p) => p.endpoint.port === stub.port && p.phase === 'active');
  const peers: RawPeer[] = [];
  t.after(async () => {
    for (const p of peers) await p.destroy();
  });
  /** Local ports, read while connected (a closed socket forgets it). */
  const ports = new Map<RawPeer, number>();
  const fresh = async (): Promise<RawPeer> => {
    const p = await activePeer(node);
    peers.push(p);
    ports.set(p, p.socket.localPort ?? 0);
    return p;
  };
  /** Announces `block` with headers, answers the getdata with `deliver` (default the block itself). */
  const offer = async (p: RawPeer, block: Block, deliver: Block = block): Promise<void> => {
    p.send({ command: 'headers', headers: [block.header] });
    const gd = await p.waitFor('getdata', 10_000);
    assert.ok(gd.items.some((i) => i.hash.equals(block.header.hash)), 'the announced block is requested');
    p.send({ command: 'block', block: deliver });
  };
  const reasonFor = async (p: RawPeer): Promise<string> => {
    const port = ports.get(p);
    let reason = '';
    await until('the disconnect is recorded', async () => {
      const d = (await node.disconnects()).find((x) => x.address.endsWith(`:${port}`));
      reason = d ? `${d.reason}${d.misbehaving ? ' (misbehaving)' : ''}` : '';
      return d !== undefined;
    });
    return reason;
  };
  const honest = async (): Promise<void> => {
    await stillServes(node);
    assert.ok(await stubConnected(), 'the stub chain peer is still connected');
  };

  // 1. A valid block (coinbase and two spends) becomes the tip.
  const miner = await fresh();
  const b1 = mineBlock(tip, ++h, (time += 600), [spend(), spend()]).block;
  await offer(miner, b1);
  await until('b1 is the tip', async () => (await height()) === h);
  tip = b1.header;

  // 2. CVE-2012-2459: the last transaction duplicated keeps the merkle root and the hash.
  const [tx1, tx2] = [spend(), spend()];
  const b2 = mineBlock(tip, h + 1, (time += 600), [tx1, tx2]).block;
  const b2Mutated: Block = { ...b2, txs: [...b2.txs, tx2] };
  assert.ok(blockMerkleRoot(b2Mutated).root.equals(b2.header.merkleRoot), 'same merkle root');
  const m = await fresh();
  await offer(m, b2, b2Mutated);
  await m.waitClosed(10_000);
  assert.match(await reasonFor(m), /bad-txns-duplicate.*\(misbehaving\)/);
  assert.equal(await height(), h, 'the mutated block was not taken');
  const tipsAfterMutation = (await node.chainCall('getchaintips')) as { hash: string; status: string }[];
  assert.ok(!tipsAfterMutation.some((x) => x.hash === displayHex(b2.header.hash) && x.status === 'invalid'), 'the hash is not marked invalid');
  await honest();
  // The original block, same hash, from another peer: accepted.
  const o = await fresh();
  await offer(o, b2);
  await until('the original b2 is the tip', async () => (await height()) === h + 1);
  tip = b2.header;
  h++;

  // 3. CVE-2018-17144: a transaction spending one outpoint twice.
  const dup = spend();
  const dupTx = makeTx({ version: 2, inputs: [dup.inputs[0], dup.inputs[0]], outputs: dup.outputs, locktime: 0 });
  const b3 = mineBlock(tip, h + 1, (time += 600), [dupTx]).block;
  const d = await fresh();
  await offer(d, b3);
  await d.waitClosed(10_000);
  assert.match(await reasonFor(d), /bad-txns-inputs-duplicate.*\(misbehaving\)/);
  assert.equal(await height(), h);
  const tips3 = (await node.chainCall('getchaintips')) as { hash: string; status: string }[];
  assert.ok(tips3.some((x) => x.hash === displayHex(b3.header.hash) && x.status === 'invalid'), `b3 marked invalid: ${JSON.stringify(tips3)}`);
  // Announcing it again is announcing a known-invalid header: Core's BLOCK_CACHED_INVALID discourages outbound peers
  // only (MaybePunishNodeForBlock); this raw peer is inbound, so it is kept, and the header stays invalid.
  const again = await fresh();
  again.send({ command: 'headers', headers: [b3.header] });
  await sync(again);
  assert.equal(again.isClosed, false, 'an inbound peer is not punished for a known-invalid header');
  const tipsAgain = (await node.chainCall('getchaintips')) as { hash: string; status: string }[];
  assert.ok(tipsAgain.some((x) => x.hash === displayHex(b3.header.hash) && x.status === 'invalid'));
  await again.destroy();
  await honest();

  // 4. Coinbase placement (feature_block.py): not first, and a second one.
  for (const [name, txs, reason] of [
    ['coinbase not first', (cb: Tx) => [spend(), cb], /bad-cb-missing/],
    ['two coinbases', (cb: Tx) => [cb, coinbaseAt(tip, h + 1, time + 1, 1n)], /bad-cb-multiple/],
  ] as const) {
    const cb = coinbaseAt(tip, h + 1, time + 700);
    const bad = blockWith(tip, time + 700 + name.length, txs(cb));
    const p = await fresh();
    await offer(p, bad);
    await p.waitClosed(10_000);
    assert.match(await reasonFor(p), reason, name);
    assert.equal(await height(), h, `${name}: the tip did not move`);
    await honest();
  }

  // 5. A coinbase paying twice the subsidy (Core: bad-cb-amount). peerd cannot tell fees from
  // an overpaying coinbase without the UTXO set: accepted, as README's Differences say.
  time += 600;
  const greedy = blockWith(tip, time, [coinbaseAt(tip, h + 1, time, 2n * blockSubsidy(h + 1, node.params.subsidyHalvingInterval))]);
  const g = await fresh();
  await offer(g, greedy);
  await until('the overpaying block is the tip (no UTXO set: a documented difference)', async () => (await height()) === h + 1);
  assert.equal(await node.chainCall('getbestblockhash'), displayHex(greedy.header.hash));
  assert.equal(g.isClosed, false);
  tip = greedy.header;
  h++;

  // 6. time-too-new: 3 s past the 2 h limit. Not punished, not requested, not remembered as
  // invalid; offered again once the time is valid, it is accepted.
  const futureTime = Math.floor(Date.now() / 1000) + MAX_FUTURE_BLOCK_TIME + 3;
  const future = mineBlock(tip, h + 1, futureTime, [spend()]).block;
  const f = await fresh();
  const tipsBefore = (await node.chainCall('getchaintips')) as { hash: string }[];
  f.send({ command: 'headers', headers: [future.header] });
  await sync(f);
  f.send({ command: 'headers', headers: [future.header] });
  await sync(f);
  assert.equal(f.all('getdata').length, 0, 'a too-new header is not fetched');
  const tipsNow = (await node.chainCall('getchaintips')) as { hash: string }[];
  assert.deepEqual(tipsNow, tipsBefore, 'nor stored');
  assert.equal(f.isClosed, false, 'nor punished, twice (not remembered as invalid)');
  await until('the time is valid', () => Math.floor(Date.now() / 1000) + MAX_FUTURE_BLOCK_TIME >= futureTime, 10_000);
  await offer(f, future);
  await until('the once too new block is the tip', async () => (await height()) === h + 1);
  assert.equal(f.isClosed, false);
  await honest();
});
