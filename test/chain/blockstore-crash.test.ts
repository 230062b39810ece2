/**
 * The block store under `kill -9`: a child process puts regtest blocks in a loop (several in
 * flight, small files so it rotates often), printing each hash once its put resolved; the test
 * kills it with SIGKILL at random moments, again and again on the same directory. After each
 * kill, a fresh open must hold every printed block, each reading back bytes whose header hashes
 * to it, with nothing in the index pointing at a torn write. Finally a last child completes the
 * chain: all 2000 blocks are there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/db.js';
import { BlockStore, verifyStore } from '../../src/chain/blockstore.js';
import { readBlockFile } from '../../src/tools/chain/blockfile.js';
import { networkParams } from '../../src/wire/network.js';
import { sha256, sha256d } from '../../src/wire/hash.js';
import { fixturePath, missingFixture } from '../helpers/fixtures.js';

const REGTEST = 'regtest-2000.blocks';
const SCRIPT = fileURLToPath(new URL('../helpers/blockstore-child.js', import.meta.url));
const MAX_FILE = 200_000;

interface Run {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first line starting with `prefix` (rejects if the child exits first). */
  waitFor(prefix: string, timeoutMs: number): Promise<string>;
  readonly exited: Promise<void>;
}

function startChild(dir: string, file: string, seed: number, sync: boolean): Run {
  const child = spawn(process.execPath, [SCRIPT, dir, file, String(seed), sync ? '1' : '0', String(MAX_FILE), '4'], {
    env: { ...process.env, PEERD_BLOCKSTORE_CHILD: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  const waiters: { prefix: string; resolve: (l: string) => void }[] = [];
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!; // a line cut by the kill is not counted
    for (const l of parts) {
      lines.push(l);
      for (const w of waiters.filter((x) => l.startsWith(x.prefix))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => (stderr += c));
  // Both the exit and the end of stdout: every line printed before the kill has been read.
  const exited = Promise.all([new Promise<void>((res) => child.once('exit', () => res())), new Promise<void>((res) => child.stdout!.once('close', () => res()))]).then(() => undefined);
  return {
    child,
    lines,
    exited,
    waitFor(prefix, timeoutMs) {
      const seen = lines.find((l) => l.startsWith(prefix));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${prefix}" from the child in ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`child exited (${child.exitCode ?? child.signalCode}) before "${prefix}"; stderr: ${stderr}`));
        });
        waiters.push({
          prefix,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

async function kill9(run: Run): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  await run.exited;
}

test('kill -9 at random moments never loses a resolved put nor leaves the index on a torn write', async (t) => {
  const file = fixturePath(REGTEST);
  if (!file) return t.skip(missingFixture(REGTEST));
  const all = new Map<string, Buffer>();
  for await (const r of readBlockFile(file)) all.set(sha256d(r.block.subarray(0, 80)).toString('hex'), r.block);
  const dir = mkdtempSync(join(tmpdir(), 'peerd-blockstore-kill-'));
  const runs: Run[] = [];
  t.after(async () => {
    for (const r of runs) await kill9(r);
    rmSync(dir, { recursive: true, force: true });
  });
  const seed = Math.floor(Math.random() * 2 ** 31);
  t.diagnostic(`seed ${seed}`);
  let rand = seed;
  const next = (): number => ((rand = (Math.imul(rand, 1103515245) + 12345) >>> 0), rand / 2 ** 32);

  const acknowledged = new Set<string>();
  const recoveries: string[] = [];
  let cutMidStream = 0;
  /** Opens the store as the node would after the crash and checks every acknowledged block. */
  const check = async (label: string): Promise<BlockStore['recovered']> => {
    const { db } = await openStore(dir);
    try {
      const store = await BlockStore.open({ dir, db, magic: networkParams('regtest').magicBytes, maxFileSize: MAX_FILE });
      try {
        for (const hex of acknowledged) {
          const hash = Buffer.from(hex, 'hex');
          assert.ok(store.has(hash), `${label}: acknowledged block ${hex} is indexed`);
          const bytes = await store.get(hash);
          assert.ok(bytes, `${label}: acknowledged block ${hex} reads back`);
          assert.ok(sha256d(bytes.subarray(0, 80)).equals(hash), `${label}: block ${hex} has its own header`);
          assert.ok(bytes.equals(all.get(hex)!), `${label}: block ${hex} is byte-identical`);
        }
        const v = await verifyStore(store);
        assert.deepEqual(v.bad, [], `${label}: no bad block`);
        assert.ok(v.blocks >= acknowledged.size);
        // Headers and the tip were written after their block's put resolved: their blocks are stored.
        for (const raw of await store.loadHeaders()) assert.ok(store.has(sha256d(raw)), `${label}: stored header's block is stored`);
        const tip = await store.getMeta('tip');
        if (tip) assert.ok(store.has(tip), `${label}: tip block stored`);
        return store.recovered;
      } finally {
        await store.close();
      }
    } finally {
      await db.close();
    }
  };

  const ROUNDS = 8;
  for (let round = 0; round < ROUNDS; round++) {
    const sync = round % 2 === 0;
    const run = startChild(dir, file, seed + round, sync);
    runs.push(run);
    const ready = JSON.parse((await run.waitFor('ready ', 20_000)).slice(6)) as { todo: number };
    // Kill a few to a few hundred puts in (~2.5 puts/ms with sync, ~8 without, on a dev machine),
    // so that every round is cut mid-stream and the chain is not complete before the last.
    const delay = 2 + Math.floor(next() * (sync ? 80 : 30));
    await new Promise((res) => setTimeout(res, delay));
    await kill9(run);
    const puts = run.lines.filter((l) => l.startsWith('put ')).map((l) => l.slice(4));
    for (const h of puts) acknowledged.add(h);
    if (puts.length < ready.todo) cutMidStream++;
    const rec = await check(`round ${round}`);
    recoveries.push(`round ${round} (sync ${sync ? 'on' : 'off'}, killed after ${delay} ms, ${puts.length} of ${ready.todo} acknowledged): truncated ${rec.truncatedBytes} B in ${rec.files} files, dropped ${rec.droppedEntries}`);
    assert.equal(rec.droppedEntries, 0, 'no index entry pointed past its file (the files were not lost, only the process)');
  }
  for (const r of recoveries) t.diagnostic(r);
  assert.ok(acknowledged.size > 0, 'the children acknowledged puts before being killed');
  assert.ok(cutMidStream > 0, 'some kill landed while the child still had blocks to put');

  // A last child completes the chain on the same directory.
  const last = startChild(dir, file, seed + ROUNDS, true);
  runs.push(last);
  await last.waitFor('done', 60_000);
  await kill9(last);
  for (const l of last.lines) if (l.startsWith('put ')) acknowledged.add(l.slice(4));
  await check('final');
  const { db } = await openStore(dir);
  const store = await BlockStore.open({ dir, db, magic: networkParams('regtest').magicBytes, maxFileSize: MAX_FILE });
  const v = await verifyStore(store);
  await store.close();
  await db.close();
  assert.equal(v.blocks, 2000);
  assert.equal(v.checksum, sha256(Buffer.from([...all.keys()].sort().join('\n'))).toString('hex'));
});
