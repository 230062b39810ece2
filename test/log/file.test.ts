/** The log file (rotation, flush on close), per-destination levels and the pretty sink, driven directly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { levelledLogger, parseLevelSpec } from '../../src/log.js';
import { openLogFile, openLogOutputs, prettySink } from '../../src/log-output.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'peerd-logfile-'));
}

/** A sink that keeps what it is given. */
function capture(): { lines: string[]; stream: { write(s: string): void } } {
  const lines: string[] = [];
  return { lines, stream: { write: (s: string) => void lines.push(s) } };
}

const records = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('log file: rotates at the size limit, keeps at most N old files, never splits a line, loses nothing it keeps', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'debug.log');
    const f = await openLogFile(path, { maxBytes: 1000, keep: 3 });
    const levels = levelledLogger(parseLevelSpec('info'), [{ stream: f.stream }]);
    const total = 200;
    for (let i = 0; i < total; i++) levels.logger.info({ i, pad: 'x'.repeat(i % 17) }, 'line');
    await f.close();
    const names = readdirSync(dir).sort();
    assert.deepEqual(names, ['debug.log', 'debug.log.1', 'debug.log.2', 'debug.log.3']);
    assert.ok(f.rotations() > 3, `rotated ${f.rotations()} times`);
    // Oldest first: .3, .2, .1, then the current file; each whole JSON lines, none over the limit
    // by more than one write (lines are batched in chunks of at most maxBytes/16 plus a line).
    const seq: number[] = [];
    for (const n of ['debug.log.3', 'debug.log.2', 'debug.log.1', 'debug.log']) {
      const text = readFileSync(join(dir, n), 'utf8');
      assert.ok(text === '' || text.endsWith('\n'), `${n} ends with a whole line`);
      const recs = records(text);
      const lastLen = Buffer.byteLength(JSON.stringify(recs.at(-1) ?? {})) + 1;
      assert.ok(Buffer.byteLength(text) < 1000 + Math.floor(1000 / 16) + lastLen, `${n}: ${Buffer.byteLength(text)} bytes`);
      for (const r of recs) seq.push(r.i as number);
    }
    // The kept lines are the newest ones, consecutive and in order, ending with the last written.
    assert.equal(seq.at(-1), total - 1);
    for (let k = 1; k < seq.length; k++) assert.equal(seq[k], seq[k - 1] + 1);
    assert.ok(seq.length < total, 'older files were dropped');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('log file: any size limit and count keep at most count+1 files and only whole lines (property)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 50, max: 600 }), fc.integer({ min: 1, max: 4 }), fc.array(fc.string({ maxLength: 120 }), { minLength: 1, maxLength: 80 }), async (maxBytes, keep, msgs) => {
      const dir = tempDir();
      try {
        const f = await openLogFile(join(dir, 'p.log'), { maxBytes, keep });
        const levels = levelledLogger(parseLevelSpec('info'), [{ stream: f.stream }]);
        msgs.forEach((m, i) => levels.logger.info({ i }, m));
        await f.close();
        const names = readdirSync(dir);
        assert.ok(names.length <= keep + 1, `${names.join(',')} with keep ${keep}`);
        for (const n of names) assert.ok(n === 'p.log' || /^p\.log\.[1-9]\d*$/.test(n), n);
        for (const n of names) {
          const all = records(readFileSync(join(dir, n), 'utf8'));
          for (const r of all) assert.equal(typeof r.i, 'number');
        }
        const last = records(readFileSync(join(dir, 'p.log'), 'utf8')).at(-1) ?? records(readFileSync(join(dir, 'p.log.1'), 'utf8')).at(-1);
        assert.equal(last?.i, msgs.length - 1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 25 },
  );
});

test('log file: close() writes every queued line before resolving; a restart appends; closing twice is fine', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'nested', 'debug.log');
    writeFileSync(join(dir, 'marker'), '');
    const f = await openLogFile(path, { maxBytes: 100 * 1024 * 1024, keep: 5 });
    const levels = levelledLogger(parseLevelSpec('info'), [{ stream: f.stream }]);
    for (let i = 0; i < 5000; i++) levels.logger.info({ i }, 'burst');
    // Nothing waited for the disk so far: the lines are queued, written asynchronously.
    assert.equal(readFileSync(path, 'utf8'), '');
    await f.close();
    await f.close();
    const first = records(readFileSync(path, 'utf8'));
    assert.equal(first.length, 5000);
    assert.deepEqual(
      first.map((r) => r.i),
      Array.from({ length: 5000 }, (_, i) => i),
    );
    levels.logger.info('after close'); // dropped, not an error
    const again = await openLogFile(path, { maxBytes: 100 * 1024 * 1024, keep: 5 });
    levelledLogger(parseLevelSpec('info'), [{ stream: again.stream }]).logger.info('second run');
    await again.close();
    const all = records(readFileSync(path, 'utf8'));
    assert.equal(all.length, 5001);
    assert.equal(all.at(-1)?.msg, 'second run');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('log file: lines past the queue bound are dropped, counted, and the gap is said in the file', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'debug.log');
    // maxBytes 1600 → lines are handed over in chunks of ≥ 100 bytes, i.e. one per line here.
    const f = await openLogFile(path, { maxBytes: 1600, keep: 1, maxQueuedBytes: 1 });
    const log = levelledLogger(parseLevelSpec('info'), [{ stream: f.stream }]).logger;
    for (let i = 0; i < 10; i++) log.info({ i, pad: 'y'.repeat(100) }, 'burst');
    assert.equal(f.dropped(), 9);
    await new Promise((r) => setTimeout(r, 100));
    log.info({ i: 10 }, 'after');
    await f.close();
    const recs = records(readFileSync(path, 'utf8'));
    assert.deepEqual(
      recs.map((r) => r.i ?? r.dropped),
      [0, 9, 10],
    );
    assert.equal(recs[1].msg, 'log file: 9 lines dropped (the disk did not keep up)');
    assert.equal(recs[1].level, 40);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('log file: a bad size or count is refused; an unopenable path rejects with the path', async () => {
  const dir = tempDir();
  try {
    await assert.rejects(openLogFile(join(dir, 'a.log'), { maxBytes: 0, keep: 1 }), /log file size must be a whole number of bytes ≥ 1, got 0/);
    await assert.rejects(openLogFile(join(dir, 'a.log'), { maxBytes: 10, keep: 0 }), /log file count must be a whole number ≥ 1, got 0/);
    writeFileSync(join(dir, 'file'), '');
    await assert.rejects(openLogFile(join(dir, 'file', 'a.log'), { maxBytes: 10, keep: 1 }), new RegExp(`cannot open log file ${join(dir, 'file', 'a.log')}: `));
    assert.equal(existsSync(join(dir, 'a.log')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('per-destination levels: the file keeps its own spec (per component), stdout follows log-level and its reloads', () => {
  const out = capture();
  const file = capture();
  const l = levelledLogger(parseLevelSpec('warn,connman=info'), [{ stream: out.stream }, { stream: file.stream, spec: parseLevelSpec('info,peer=debug') }]);
  const peer = l.logger.child({ actor: '/root/peers/peer-7' }).child({ peer: 7, addr: '127.0.0.1:1' });
  const connman = l.logger.child({ actor: '/root/connman' });
  const book = l.logger.child({ actor: '/root/addressbook' });
  // The logger levels are the lowest any destination wants.
  assert.equal(peer.level, 'debug');
  assert.equal(connman.level, 'info');
  assert.equal(book.level, 'info');
  peer.debug('peer debug');
  peer.trace('peer trace');
  connman.info('connman info');
  connman.debug('connman debug');
  book.info('book info');
  book.warn('book warn');
  l.logger.info('root info');
  const msgs = (s: { lines: string[] }): unknown[] => s.lines.map((x) => (JSON.parse(x) as { msg: string }).msg);
  assert.deepEqual(msgs(out), ['connman info', 'book warn']);
  assert.deepEqual(msgs(file), ['peer debug', 'connman info', 'book info', 'book warn', 'root info']);
  const rec = JSON.parse(file.lines[0]) as Record<string, unknown>;
  assert.deepEqual([rec.actor, rec.peer, rec.addr, rec.level], ['/root/peers/peer-7', 7, '127.0.0.1:1', 20]);

  // A reload of log-level changes stdout only; the file keeps its own.
  out.lines.length = 0;
  file.lines.length = 0;
  l.setLevel(parseLevelSpec('debug'));
  connman.debug('connman debug 2');
  peer.debug('peer debug 2');
  book.debug('book debug');
  assert.deepEqual(msgs(out), ['connman debug 2', 'peer debug 2', 'book debug']);
  assert.deepEqual(msgs(file), ['peer debug 2']);
  l.setLevel(parseLevelSpec('error'));
  assert.equal(peer.level, 'debug');
  assert.equal(connman.level, 'info');
});

test('per-destination levels: without its own spec the file gets exactly what stdout gets, per component', () => {
  const out = capture();
  const file = capture();
  const l = levelledLogger(parseLevelSpec('info,peer=debug'), [{ stream: out.stream }, { stream: file.stream }]);
  const peer = l.logger.child({ actor: '/root/peers/peer-1' });
  const connman = l.logger.child({ actor: '/root/connman' });
  peer.debug('peer debug');
  connman.debug('connman debug');
  connman.info('connman info');
  assert.deepEqual(out.lines, file.lines);
  assert.deepEqual(
    file.lines.map((x) => (JSON.parse(x) as { msg: string }).msg),
    ['peer debug', 'connman info'],
  );
  l.setLevel(parseLevelSpec('warn'));
  peer.info('hidden');
  assert.equal(file.lines.length, 2);
});

test('pretty sink: one human line per record with time, level, actor and message; not JSON', async () => {
  const out = capture();
  const l = levelledLogger(parseLevelSpec('debug'), [{ stream: await prettySink(out.stream, false) }]);
  l.logger.child({ actor: '/root/peers/peer-2' }).child({ peer: 2, addr: '127.0.0.1:9' }).debug({ reason: 'bye' }, 'disconnecting');
  l.logger.info('peerd started');
  assert.equal(out.lines.length, 2);
  assert.match(out.lines[0], /^\[\d\d:\d\d:\d\d\.\d{3}\] DEBUG: \/root\/peers\/peer-2 disconnecting \{"peer":2,"addr":"127\.0\.0\.1:9","reason":"bye"\}\n$/);
  assert.match(out.lines[1], /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: peerd started\n$/);
  for (const line of out.lines) assert.throws(() => JSON.parse(line) as unknown);
  // No colour codes unless asked for (a terminal).
  assert.equal(out.lines.join('').includes('\u001b['), false);
});

test('openLogOutputs: auto is pretty on a terminal and JSON on a pipe; json and pretty are forced either way', async () => {
  for (const [format, isTTY, pretty] of [
    ['auto', true, true],
    ['auto', false, false],
    ['json', true, false],
    ['pretty', false, true],
  ] as const) {
    const out = capture();
    const o = await openLogOutputs({ format, isTTY, stdout: out.stream, file: null, fileMaxBytes: 1, fileKeep: 1 });
    assert.equal(o.pretty, pretty);
    assert.equal(o.sinks.length, 1);
    levelledLogger(parseLevelSpec('info'), o.sinks).logger.info('hello');
    const line = out.lines[0];
    if (pretty) {
      assert.match(line, /INFO.*: .*hello/);
      assert.equal(line.includes('\u001b['), isTTY, `colour only on a terminal (${format}, ${isTTY})`);
    } else assert.equal((JSON.parse(line) as { msg: string }).msg, 'hello');
    await o.close();
  }
});
