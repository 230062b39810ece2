import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { openStore, STORE_FORMAT, StoreError } from '../src/store/db.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'peerd-store-'));
}

test('a fresh store is created with its format marker and reopens with the same data', async () => {
  const dir = tmp();
  try {
    const a = await openStore(dir);
    assert.equal(a.movedAside, null);
    await a.db.put('k', Buffer.from('v'));
    await a.db.close();
    const b = await openStore(dir);
    assert.equal(b.movedAside, null);
    assert.equal((await b.db.get('k'))?.toString(), 'v');
    assert.equal((await b.db.get('!meta!format'))?.toString(), STORE_FORMAT);
    await b.db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a foreign LevelDB is refused, not moved and not overwritten', async () => {
  const dir = tmp();
  try {
    const foreign = new ClassicLevel<string, string>(join(dir, 'store'));
    await foreign.put('someone-else', 'data');
    await foreign.close();
    await assert.rejects(openStore(dir), (err: unknown) => err instanceof StoreError && /not peerd's/.test(err.message) && err.movedTo === null);
    assert.deepEqual(readdirSync(dir), ['store']);
    const kept = new ClassicLevel<string, string>(join(dir, 'store'));
    assert.equal(await kept.get('someone-else'), 'data');
    await kept.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a store locked by another process is refused with a clear error and nothing moves', async () => {
  const dir = tmp();
  // Another process holds the LevelDB lock (LevelDB's fcntl lock is per process: a second open in this one would be refused by LevelDB's own table, not the kernel).
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', `import { ClassicLevel } from 'classic-level'; const db = new ClassicLevel(${JSON.stringify(join(dir, 'store'))}); await db.open(); await db.put('!meta!format', ${JSON.stringify(STORE_FORMAT)}); await db.put('k', 'v'); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
    });
    await assert.rejects(openStore(dir), (err: unknown) => err instanceof StoreError && /locked by another process/.test(err.message));
    assert.deepEqual(readdirSync(dir), ['store'], 'nothing moved aside');
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit').catch(() => undefined);
  }
  try {
    const s = await openStore(dir);
    assert.equal(s.movedAside, null);
    assert.equal((await s.db.get('k'))?.toString(), 'v', "the holder's data is intact once it is gone");
    await s.db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an I/O error (CURRENT names a missing manifest) is refused: nothing is moved', async () => {
  const dir = tmp();
  try {
    mkdirSync(join(dir, 'store'));
    writeFileSync(join(dir, 'store', 'CURRENT'), 'MANIFEST-999999\n');
    await assert.rejects(openStore(dir), (err: unknown) => err instanceof StoreError && /could not be opened/.test(err.message) && /nothing was changed/.test(err.message));
    assert.deepEqual(readdirSync(dir), ['store']);
    assert.equal(readFileSync(join(dir, 'store', 'CURRENT'), 'utf8'), 'MANIFEST-999999\n', 'the store is as it was (LevelDB adds only its LOCK and LOG)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('corruption LevelDB reports (a damaged manifest) moves the store aside, kept whole', async () => {
  const dir = tmp();
  try {
    const a = await openStore(dir);
    for (let i = 0; i < 50; i++) await a.db.put(`k${i}`, Buffer.from(`v${i}`));
    await a.db.close();
    const manifest = readFileSync(join(dir, 'store', 'CURRENT'), 'utf8').trim();
    writeFileSync(join(dir, 'store', manifest), Buffer.alloc(200, 0x41));
    const before = readdirSync(join(dir, 'store')).filter((n) => !n.startsWith('LOG')).sort();
    const s = await openStore(dir);
    assert.ok(s.movedAside);
    assert.match(s.movedAside.reason, /^corrupt: Corruption/);
    assert.match(s.movedAside.to, /store\.corrupt-/);
    assert.deepEqual(readdirSync(s.movedAside.to).filter((n) => !n.startsWith('LOG')).sort(), before, 'every file of the damaged store kept');
    assert.equal(await s.db.get('k1'), undefined);
    await s.db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
