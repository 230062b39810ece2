/** The block-file reader and writer: the shared fixture round-trips byte for byte; errors are reported with offsets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockFileError, readBlockFile, writeBlockFile } from '../../../src/tools/chain/blockfile.js';
import { fixturePath, missingFixture } from '../../helpers/fixtures.js';

const REGTEST = 'regtest-2000.blocks';

function tmp(t: { after: (f: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-blockfile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('regtest-2000.blocks round-trips through the streaming reader and the writer byte-identically', async (t) => {
  const src = fixturePath(REGTEST);
  if (!src) return t.skip(missingFixture(REGTEST));
  const out = join(tmp(t), 'copy.blocks');
  let n = 0;
  let lastOffset = -1;
  // A small read size so records straddle chunk boundaries.
  async function* blocks(): AsyncGenerator<Buffer> {
    for await (const rec of readBlockFile(src!, { highWaterMark: 4093 })) {
      assert.equal(rec.index, n);
      assert.ok(rec.offset > lastOffset);
      lastOffset = rec.offset;
      n++;
      yield rec.block;
    }
  }
  const r = await writeBlockFile(out, blocks());
  assert.equal(n, 2000);
  assert.equal(r.count, 2000);
  const a = readFileSync(src);
  const b = readFileSync(out);
  assert.equal(r.bytes, a.length);
  assert.ok(a.equals(b), 'copy is byte-identical');
});

test('a truncated record and an absurd length are reported with their offsets', async (t) => {
  const dir = tmp(t);
  const p = join(dir, 'bad.blocks');
  const rec = Buffer.alloc(4 + 100, 7);
  rec.writeUInt32LE(100, 0);
  writeFileSync(p, Buffer.concat([rec, rec.subarray(0, 50)]));
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const r of readBlockFile(p)) seen.push(r.offset);
    })(),
    (e: unknown) => e instanceof BlockFileError && e.offset === 104 && /truncated record 1/.test(e.message),
  );
  assert.deepEqual(seen, [0]);
  const huge = Buffer.alloc(8);
  huge.writeUInt32LE(0xffffffff, 0);
  writeFileSync(p, huge);
  await assert.rejects(
    (async () => {
      for await (const _ of readBlockFile(p)) assert.fail('no record expected');
    })(),
    (e: unknown) => e instanceof BlockFileError && e.offset === 0,
  );
});

test('an empty file has no records; the writer produces an empty file for no blocks', async (t) => {
  const p = join(tmp(t), 'empty.blocks');
  const r = await writeBlockFile(p, []);
  assert.deepEqual(r, { count: 0, bytes: 0 });
  for await (const _ of readBlockFile(p)) assert.fail('no record expected');
});
