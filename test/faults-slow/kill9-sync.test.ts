/**
 * `kill -9` of the node process at random points during a sync, 10 times (issue 9): a `peerd
 * start` child process syncs a generated chain (3,000 blocks with 8 transactions each, ~5.8 MB)
 * from a stub chain peer in this process, throttled with `--maxrecvrate` so that every run is
 * killed mid-sync; SIGKILL at a random moment (seeded, printed), restart on the same datadir,
 * again. Checked at every restart:
 *
 * - it loads: the RPC server answers and getblockcount with it;
 * - it resumes: the height is at least the height read just before the kill, and the blocks
 *   stored at heights ≤ that height are exactly the ones there before the kill (getstoreinfo's
 *   count and checksum restricted to those heights: acknowledged blocks are never lost);
 * - bans survive: a ban set over RPC before the first kill is in listbanned;
 * - addresses: the book's count does not drop below the count it had flushed (a clean stop
 *   after 40 addresses arrived writes its snapshot; what arrives later and is not yet flushed may
 *   go with a kill, and the drop is reported).
 *
 * The last run, unthrottled, ends with the full chain: bestblockhash = the stub's tip, every
 * block read back (getstoreinfo verify), the store's checksum that of the stub's chain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SLOW_SKIP, sync } from '../helpers/faults.js';
import { chainOf, serveBlocks } from '../helpers/chain.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { childRpcPort, startNodeChild, stopNodeChild, type NodeChild } from '../../src/tools/sim/node.js';
import { clientOptions, rpcCall } from '../../src/rpc/client.js';
import type { Json } from '../../src/rpc/protocol.js';
import { storeInfoOf, type StoreInfo } from '../../src/tools/chaos/target.js';
import { indexChecksum } from '../../src/chain/blockstore.js';
import { prng } from '../../src/util/prng.js';

const BLOCKS = 3000;
const TXS_PER_BLOCK = 8;
const KILLS = 10;
/** bytes/s: the whole chain needs ~30 s at this rate, the ten runs together get ~15 s of it. */
const THROTTLE = 200_000;
const BAN = '10.9.8.0/24';
const ADDRESSES = 40;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Run {
  readonly child: NodeChild;
  call(method: string, params?: Json[]): Promise<Json>;
}

test('kill -9 at random points during a sync, 10 times: every restart loads and resumes, nothing acknowledged is lost, bans and flushed addresses survive, the last run has the whole chain', { skip: SLOW_SKIP, timeout: 300_000 }, async (t) => {
  const chain = chainOf(BLOCKS, { txsPerBlock: TXS_PER_BLOCK, seed: 9 });
  const bytes = chain.reduce((n, b) => n + b.raw.length, 0);
  const stub = await serveBlocks(t, chain);
  const datadir = mkdtempSync(join(tmpdir(), 'peerd-kill9-sync-'));
  const children: NodeChild[] = [];
  t.after(async () => {
    for (const c of children) if (!c.exited) c.proc.kill('SIGKILL');
    await sleep(100);
    rmSync(datadir, { recursive: true, force: true });
  });
  const seed = Number(process.env.PEERD_KILL9_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const rnd = prng(seed);
  t.diagnostic(`seed ${seed} (PEERD_KILL9_SEED=${seed} repeats the kill times); chain ${BLOCKS} blocks, ${(bytes / 1e6).toFixed(1)} MB; --maxrecvrate ${THROTTLE}`);

  const start = async (throttled: boolean): Promise<Run> => {
    const child = await startNodeChild({
      datadir,
      maxconnections: 20,
      extraArgs: ['--rpcport', '0', '--connect', `127.0.0.1:${stub.port}`, ...(throttled ? ['--maxrecvrate', String(THROTTLE)] : [])],
    });
    children.push(child);
    const rpcport = await childRpcPort(child);
    const opts = { ...clientOptions({ network: 'regtest', datadir, rpcport }), timeoutMs: 10_000 };
    return { child, call: (method, params = []) => rpcCall(opts, method, params) };
  };
  const storeInfo = async (r: Run, height?: number): Promise<StoreInfo> => storeInfoOf(await r.call('getstoreinfo', height === undefined ? [] : [height]));
  const kill9 = async (r: Run): Promise<void> => {
    const gone = new Promise<void>((res) => (r.child.exited ? res() : r.child.proc.once('exit', () => res())));
    r.child.proc.kill('SIGKILL');
    await gone;
  };

  const gossip = await RawPeer.listen();
  t.after(() => gossip.close());
  /** A manual peer the node asks for addresses (getaddr) tells it `count` new ones (routable, never dialled: --connect). */
  let gossiped = 0;
  const gossipTo = async (r: Run, count: number): Promise<void> => {
    const had = (await storeInfo(r)).addresses;
    await r.call('addnode', [`127.0.0.1:${gossip.port}`, 'onetry']);
    const g = await gossip.accept(10_000);
    await g.handshake();
    await g.waitFor('getaddr', 10_000);
    const now = Math.floor(Date.now() / 1000);
    const addresses = Array.from({ length: count }, (_, i) => ({ network: 'ipv4' as const, addr: Buffer.from([20 + ((gossiped + i) % 200), 7, 7, 1 + Math.floor((gossiped + i) / 200)]), port: 8333, services: 0x409n, time: now - 60 }));
    gossiped += count;
    g.send({ command: 'addr', addresses });
    await sync(g);
    // Most go in; one whose slot in the new table is taken by an earlier one does not (as Core's
    // addrman): wait until the count has grown and holds still.
    const deadline = Date.now() + 10_000;
    let last = -1;
    for (;;) {
      const n = (await storeInfo(r)).addresses;
      if (n > had && n === last) break;
      assert.ok(Date.now() < deadline, 'the gossiped addresses reached the book');
      last = n;
      await sleep(200);
    }
    await g.destroy();
  };

  // Run 0: a ban, and addresses from a manual peer; then a clean stop, which writes the address
  // book's snapshot: that count is the floor from then on.
  let run = await start(true);
  await run.call('setban', [BAN, 'add', 86400]);
  await gossipTo(run, ADDRESSES);
  const beforeStop = await storeInfo(run);
  await stopNodeChild(run.child);
  let floor = beforeStop.addresses;
  t.diagnostic(`run 0: ban ${BAN}, ${floor} of the ${ADDRESSES} addresses told kept, clean stop at height ${beforeStop.height} (the address book flushed: floor ${floor})`);

  /** What the previous run had acknowledged just before its kill. */
  let prev: StoreInfo = beforeStop;
  const rows: string[] = [];
  const checkRestart = async (r: Run, label: string): Promise<StoreInfo> => {
    // Loads: the RPC answers, and the block actor with it.
    const h = Number(await r.call('getblockcount'));
    assert.ok(h >= prev.height, `${label}: resumed at ${h} ≥ ${prev.height}, the height read before the kill`);
    const s = await storeInfo(r, prev.height);
    assert.equal(s.upto.height, prev.height);
    assert.equal(s.upto.blocks, prev.upto.blocks, `${label}: the ${prev.upto.blocks} blocks at heights ≤ ${prev.height} are all there`);
    assert.equal(s.upto.checksum, prev.upto.checksum, `${label}: and they are the same blocks`);
    assert.ok(s.blocks >= prev.blocks, `${label}: ${s.blocks} blocks stored ≥ ${prev.blocks} acknowledged before the kill`);
    const bans = (await r.call('listbanned')) as { address: string }[];
    assert.ok(
      bans.some((b) => b.address === BAN),
      `${label}: the ban survived (${JSON.stringify(bans)})`,
    );
    assert.ok(s.addresses >= floor, `${label}: ${s.addresses} addresses ≥ the flushed ${floor}`);
    if (s.addressesDirty === false) floor = Math.max(floor, s.addresses);
    return s;
  };

  for (let k = 1; k <= KILLS; k++) {
    run = await start(true);
    const loaded = await checkRestart(run, `restart ${k}`);
    // Every third run, addresses that arrive after the last flush: a kill may take them (reported).
    if (k % 3 === 0) await gossipTo(run, 10);
    const waitMs = 200 + Math.floor(rnd() * 2000);
    await sleep(waitMs);
    const atKill = await storeInfo(run);
    await kill9(run);
    rows.push(
      `kill ${k}: loaded at height ${loaded.height} (${prev.height} before the kill; addresses ${loaded.addresses}, ${prev.addresses - loaded.addresses} lost by the kill), killed ${waitMs} ms after the RPC answered at height ${atKill.height} with ${atKill.blocks} blocks stored and ${atKill.addresses} addresses${atKill.addressesDirty ? ' (some not flushed)' : ''}`,
    );
    assert.ok(atKill.height < BLOCKS, `kill ${k} landed mid-sync (height ${atKill.height} of ${BLOCKS})`);
    prev = { ...atKill, upto: { height: atKill.height, blocks: atKill.upto.blocks, checksum: atKill.upto.checksum } };
  }
  for (const r of rows) t.diagnostic(r);
  const progressed = prev.height;

  // The last run, unthrottled, completes the chain.
  run = await start(false);
  const last = await checkRestart(run, 'final restart');
  t.diagnostic(`final run: loaded at height ${last.height} (${prev.height} before the last kill; addresses ${last.addresses}, ${prev.addresses - last.addresses} lost by the kill)`);
  const end = Date.now() + 120_000;
  while (Number(await run.call('getblockcount')) < BLOCKS) {
    assert.ok(Date.now() < end, 'the last run synced the whole chain');
    await sleep(200);
  }
  assert.equal(await run.call('getbestblockhash'), stub.tip);
  const full = (await run.call('getstoreinfo', [null, true])) as { blocks: number; checksum: string; verified: { blocks: number; checksum: string; bad: string[] } };
  assert.equal(full.blocks, BLOCKS);
  assert.deepEqual(full.verified.bad, []);
  assert.equal(full.verified.checksum, full.checksum);
  assert.equal(full.checksum, indexChecksum(chain.map((b) => Buffer.from(b.block.header.hash).toString('hex'))));
  const bans = (await run.call('listbanned')) as { address: string }[];
  assert.ok(bans.some((b) => b.address === BAN));
  t.diagnostic(`final: ${full.blocks} blocks, all read back; ${progressed} of them synced across the ${KILLS} killed runs; addresses ${last.addresses} (floor ${floor})`);
  await stopNodeChild(run.child);
  assert.ok(progressed > 0, 'the killed runs made progress');
});
