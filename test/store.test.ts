import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { openStore, STORE_FORMAT } from '../src/store/db.js';

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

test('a foreign LevelDB is moved aside, not overwritten', async () => {
  const dir = tmp();
  try {
    const foreign = new ClassicLevel<string, string>(join(dir, 'store'));
    await foreign.put('someone-else', 'data');
    await foreign.close();
    const s = await openStore(dir);
    assert.ok(s.movedAside);
    assert.match(s.movedAside.to, /store\.foreign-/);
    assert.equal(await s.db.get('someone-else'), undefined);
    await s.db.close();
    const kept = new ClassicLevel<string, string>(s.movedAside.to);
    assert.equal(await kept.get('someone-else'), 'data');
    await kept.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unreadable store is reported and moved aside', async () => {
  const dir = tmp();
  try {
    mkdirSync(join(dir, 'store'));
    writeFileSync(join(dir, 'store', 'CURRENT'), 'MANIFEST-999999\n'); // points at a manifest that is not there
    const s = await openStore(dir);
    assert.ok(s.movedAside);
    assert.match(s.movedAside.reason, /could not open/);
    assert.ok(readdirSync(dir).some((n) => n.startsWith('store.corrupt-')));
    await s.db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
