/**
 * The chaos monkey on the block actor (`--target chain`) while the node syncs from a stub chain
 * peer, in-process: `/root/chain` killed and crashed again and again (under the root's limit of
 * 3 restarts in 5 s). The height never goes down, nothing stored is lost, the sync completes, and
 * the store's index checksum equals a fresh read-back of every block after the node stopped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { testNode, until } from '../../helpers/node.js';
import { chainOf, serveBlocks, tmpDir, regtest } from '../../helpers/chain.js';
import { handleTarget, runChaos, reportText, normalizeTarget, blocksInvariant, addressInvariant, type ChaosReport, type StoreInfo } from '../../../src/tools/chaos/index.js';
import { openStore } from '../../../src/store/db.js';
import { BlockStore, indexChecksum, verifyStore } from '../../../src/chain/blockstore.js';

function held(r: ChaosReport): void {
  assert.deepEqual(
    r.invariants.filter((i) => !i.pass),
    [],
    reportText(r),
  );
  assert.ok(r.ok);
}

const height = async (node: { chainCall(m: 'getblockcount'): Promise<unknown> }): Promise<number> => Number(await node.chainCall('getblockcount'));

test('chaos --target chain during a sync: kill then crash the block actor; height never decreases, nothing stored lost, the sync completes, checksum = fresh verifyStore', async (t) => {
  const N = 700;
  const blocks = chainOf(N, { txsPerBlock: 3 });
  const stub = await serveBlocks(t, blocks);
  const datadir = tmpDir(t, 'peerd-chaos-chain-');
  // ~650 kB of blocks at 60 kB/s: still syncing through both runs.
  const node = await testNode({ datadir, connect: [`127.0.0.1:${stub.port}`], listen: false, maxrecvrate: 60_000 });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await node.stop();
  });
  await until('the sync is under way', async () => (await height(node)) > 20, 30_000);

  // One kill (at 1 s), then two crashes (1 s apart): 3 root restarts within 5 s, its limit, not over it.
  const kill = await runChaos(handleTarget(node), { target: 'chain', mode: 'kill', rate: 1, jitter: 0, durationS: 1.5, seed: 1, refillS: 15 });
  held(kill);
  const crash = await runChaos(handleTarget(node), { target: 'chain', mode: 'crash', rate: 1, jitter: 0, durationS: 2.5, seed: 2, refillS: 15 });
  held(crash);
  const runs = [kill, crash];
  assert.deepEqual(
    runs.map((r) => r.victims.length),
    [1, 2],
  );
  for (const r of runs) {
    assert.equal(r.options.target, '/root/chain');
    for (const v of r.victims) {
      assert.equal(v.path, '/root/chain');
      assert.equal(v.recovery, 'replaced');
      assert.ok(v.newIncarnation! > v.incarnation);
    }
    const h = r.height!;
    assert.ok(h !== null && h.samples > 5, 'heights sampled through the run');
    assert.equal(r.supervisors.find((x) => x.path === '/root')?.escalated, false);
    assert.deepEqual(h.drops, []);
    assert.ok(h.after! >= h.before!, `${h.after} ≥ ${h.before}`);
    const inv = (name: string) => r.invariants.find((i) => i.name === name);
    assert.equal(inv('block height never decreased')?.pass, true);
    assert.equal(inv('no stored block lost')?.pass, true);
    assert.equal(inv('no address lost')?.pass, true);
    assert.ok(r.store.before && r.store.after);
    assert.ok(r.store.after.blocks >= r.store.before.blocks);
    // The blocks of the chain before the run are the same blocks after it.
    assert.equal(r.store.after.upto.height, r.store.before.height);
    assert.equal(r.store.after.upto.checksum, r.store.before.upto.checksum);
    t.diagnostic(`${r.options.mode}: height ${h.before} → ${h.after}, ${h.samples} samples (${h.unanswered} unanswered), stored ${r.store.before.blocks} → ${r.store.after.blocks}`);
  }
  assert.ok(crash.store.before!.height < N, 'the crashes landed mid-sync');

  // Unthrottled, the sync completes.
  await node.setNetLimit(0, 0);
  await until(`synced to ${N}`, async () => (await height(node)) === N, 60_000);
  assert.equal(await node.chainCall('getbestblockhash'), stub.tip);
  const info = (await node.chainCall('getstoreinfo', [null, true])) as { blocks: number; checksum: string; verified: { blocks: number; checksum: string; bad: string[] } };
  assert.equal(info.blocks, N);
  assert.deepEqual(info.verified.bad, []);
  assert.equal(info.verified.checksum, info.checksum, 'the index digest equals the read-back');
  const expected = indexChecksum(blocks.map((b) => Buffer.from(b.block.header.hash).toString('hex')));
  assert.equal(info.checksum, expected, 'exactly the stub chain');
  await node.stop();
  stopped = true;

  // A fresh open of the store the node left: every block reads back, same checksum.
  const netDir = join(datadir, regtest.name);
  const { db } = await openStore(netDir);
  try {
    const store = await BlockStore.open({ dir: netDir, db, magic: regtest.magicBytes });
    try {
      const v = await verifyStore(store);
      assert.deepEqual(v.bad, []);
      assert.equal(v.blocks, N);
      assert.equal(v.checksum, info.checksum);
    } finally {
      await store.close();
    }
  } finally {
    await db.close();
  }
});

test('normalizeTarget: a bare name is under /root', () => {
  assert.equal(normalizeTarget('chain'), '/root/chain');
  assert.equal(normalizeTarget('peers/*'), '/root/peers/*');
  assert.equal(normalizeTarget('/root/addressbook'), '/root/addressbook');
  assert.equal(normalizeTarget('/**'), '/**');
});

const info = (o: Partial<StoreInfo> & { upto?: StoreInfo['upto'] }): StoreInfo => ({
  blocks: 10,
  checksum: 'a',
  height: 10,
  pruned: false,
  upto: { height: 10, blocks: 10, checksum: 'a' },
  addresses: 5,
  bans: 0,
  addressesDirty: false,
  lastFlushAgoS: 0,
  ...o,
});

test('blocksInvariant: fewer blocks, or the same number with another checksum, or changed blocks below the old tip, are losses', () => {
  const before = info({});
  assert.equal(blocksInvariant(before, info({ blocks: 12, checksum: 'b', height: 12, upto: { height: 10, blocks: 10, checksum: 'a' } })).pass, true);
  assert.equal(blocksInvariant(before, info({ blocks: 9, checksum: 'c' })).pass, false);
  assert.equal(blocksInvariant(before, info({ blocks: 10, checksum: 'c' })).pass, false, 'one lost, one gained');
  assert.equal(blocksInvariant(before, info({ blocks: 12, checksum: 'b', upto: { height: 10, blocks: 10, checksum: 'x' } })).pass, false, 'a block of the old chain replaced');
  assert.equal(blocksInvariant(before, info({ blocks: 12, checksum: 'b', upto: { height: 10, blocks: 9, checksum: 'x' } })).pass, false);
  assert.equal(blocksInvariant(before, info({ blocks: 12, checksum: 'b', upto: { height: 10, blocks: 11, checksum: 'y' } })).pass, true, 'a fork block filled in below the old tip');
  assert.equal(blocksInvariant(before, null).pass, false);
  assert.match(blocksInvariant(info({ pruned: true }), info({ blocks: 3, pruned: true })).detail, /pruning/);
});

test('addressInvariant: no drop without a restart; after a restart, not below the last flushed count (unknown: reported only)', () => {
  const base = { before: 100, after: 100, restarts: 0, flushedFloor: null, lost: 0 };
  assert.equal(addressInvariant(base).pass, true);
  assert.equal(addressInvariant({ ...base, after: 90, lost: 10 }).pass, false, 'no restart: nothing may go');
  assert.equal(addressInvariant({ ...base, after: 90, lost: 10, restarts: 1, flushedFloor: 80 }).pass, true);
  const below = addressInvariant({ ...base, after: 70, lost: 30, restarts: 1, flushedFloor: 80 });
  assert.equal(below.pass, false);
  assert.match(below.detail, /BELOW/);
  const unknown = addressInvariant({ ...base, after: 0, lost: 100, restarts: 1, flushedFloor: null });
  assert.equal(unknown.pass, true);
  assert.match(unknown.detail, /100 lost since the last flush/);
  assert.equal(addressInvariant({ ...base, before: null }).pass, false);
});

test('chaos invariants fail when they should: a height that goes down, a stored block that disappears, addresses lost without a restart', async () => {
  const node = await testNode();
  try {
    const inner = handleTarget(node);
    let kills = 0;
    // A target that lies after its first kill: the height drops, a block and addresses vanish.
    const lying = {
      ...inner,
      kill: async (path: string, mode: Parameters<typeof inner.kill>[1], ms: number) => {
        kills++;
        return inner.kill(path, mode, ms);
      },
      blockHeight: () => Promise.resolve(kills === 0 ? 10 : 7),
      storeInfo: (h?: number) =>
        Promise.resolve(kills === 0 ? info({ addresses: 50, addressesDirty: true }) : info({ blocks: 9, checksum: 'z', height: 7, upto: { height: h ?? 7, blocks: 9, checksum: 'z' }, addresses: 40, addressesDirty: true })),
    };
    const r = await runChaos(lying, { target: 'listeners/*', mode: 'crash', rate: 2, jitter: 0, durationS: 0.6, seed: 2, refillS: 2 });
    assert.equal(r.ok, false);
    const failed = r.invariants.filter((i) => !i.pass).map((i) => i.name);
    assert.deepEqual(failed, ['block height never decreased', 'no stored block lost', 'no address lost'], reportText(r));
    assert.ok(r.height!.drops.length > 0);
    assert.equal(r.height!.drops[0].from, 10);
    assert.equal(r.height!.drops[0].to, 7);
    assert.match(reportText(r), /block height never decreased +FAIL +10 before, 7 after .*DROPS: 10→7/);
    assert.match(reportText(r), /no stored block lost +FAIL +LOST: 1 fewer blocks; 1 fewer blocks at heights ≤ 10/);
    assert.match(reportText(r), /no address lost +FAIL +40 after, 50 before: 10 lost without a restart of the book/);
  } finally {
    await node.cleanup();
  }
});
