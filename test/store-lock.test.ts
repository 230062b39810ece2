import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DatadirLockedError, LOCK_FILE, lockDatadir } from '../src/util/datadir-lock.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'peerd-lock-'));
}

test('datadir lock: a second lock on the directory is refused at once, even in the same process; released, it can be taken again', () => {
  const dir = tmp();
  try {
    const a = lockDatadir(dir);
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').trim(), String(process.pid));
    assert.throws(
      () => lockDatadir(dir),
      (err: unknown) => err instanceof DatadirLockedError && err.holderPid === process.pid && err.message.includes(dir) && /probably already running/.test(err.message),
    );
    a.release();
    a.release(); // idempotent
    assert.equal(a.held, false);
    const b = lockDatadir(dir);
    b.release();
    assert.ok(existsSync(join(dir, LOCK_FILE)), 'the lock file stays');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('datadir lock: held by another process it is refused naming that process; a kill -9 of the holder frees it', async () => {
  const dir = tmp();
  const mod = pathToFileURL(join(import.meta.dirname, '../src/util/datadir-lock.js')).href;
  const child = spawn(process.execPath, ['--input-type=module', '-e', `import { lockDatadir } from ${JSON.stringify(mod)}; lockDatadir(${JSON.stringify(dir)}); process.stdout.write('held\\n'); setInterval(() => {}, 1000);`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
      child.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
    });
    assert.throws(
      () => lockDatadir(dir),
      (err: unknown) => err instanceof DatadirLockedError && err.holderPid === child.pid,
    );
    child.kill('SIGKILL');
    await once(child, 'exit');
    const l = lockDatadir(dir);
    assert.equal(l.held, true);
    l.release();
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
