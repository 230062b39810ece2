/**
 * A block-store writer in a child process, for the `kill -9` test. Started as
 * `PEERD_BLOCKSTORE_CHILD=1 node dist/test/helpers/blockstore-child.js DATADIR BLOCKFILE SEED SYNC MAXFILESIZE WINDOW`:
 * opens the store of DATADIR (regtest magic), lists the blocks of BLOCKFILE (heights 1..N) not
 * stored yet, prints `ready {"recovered":…,"todo":N}`, then puts them in an order shuffled by SEED, with
 * up to WINDOW puts in flight, printing `put <hash hex>` after each put resolved (and a header
 * and a `tip` meta value every tenth block). Prints `done` when all are stored and then idles
 * until killed. Does nothing when imported (the test runner may load it) without the variable.
 */
import { openStore } from '../../src/store/db.js';
import { BlockStore } from '../../src/chain/blockstore.js';
import { readBlockFile } from '../../src/tools/chain/blockfile.js';
import { networkParams } from '../../src/wire/network.js';
import { sha256d } from '../../src/wire/hash.js';
import { prng } from '../../src/util/prng.js';


async function main(): Promise<void> {
  const [dir, file, seedArg, syncArg, maxArg, windowArg] = process.argv.slice(2);
  if (dir === undefined || file === undefined) throw new Error('usage: blockstore-child DATADIR BLOCKFILE SEED SYNC MAXFILESIZE WINDOW');
  const { db } = await openStore(dir);
  const store = await BlockStore.open({ dir, db, magic: networkParams('regtest').magicBytes, sync: syncArg !== '0', maxFileSize: Number(maxArg ?? 1 << 20) });
  const todo: { hash: Buffer; height: number; block: Buffer }[] = [];
  for await (const r of readBlockFile(file)) {
    const hash = sha256d(r.block.subarray(0, 80));
    if (!store.has(hash)) todo.push({ hash, height: r.index + 1, block: r.block });
  }
  const rand = prng(Number(seedArg ?? 1));
  for (let i = todo.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [todo[i], todo[j]] = [todo[j], todo[i]];
  }
  process.stdout.write(`ready ${JSON.stringify({ recovered: store.recovered, todo: todo.length })}\n`);
  const window = Math.max(1, Number(windowArg ?? 4));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const b = todo[next++];
      await store.put(b.hash, b.height, b.block);
      process.stdout.write(`put ${b.hash.toString('hex')}\n`);
      if (b.height % 10 === 0) {
        await store.putHeaders([{ hash: b.hash, raw: b.block.subarray(0, 80), height: b.height }]);
        await store.putMeta('tip', b.hash);
      }
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  process.stdout.write('done\n');
  setInterval(() => undefined, 1 << 30);
}

if (process.env.PEERD_BLOCKSTORE_CHILD === '1') {
  main().catch((err: unknown) => {
    process.stderr.write(`blockstore-child: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
