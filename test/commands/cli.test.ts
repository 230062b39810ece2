import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { decodeStream } from '../../src/commands/decode.js';
import { encodeMessageFrame } from '../../src/wire/messages.js';
import { networkParams } from '../../src/wire/network.js';
import { projectRoot } from '../helpers/fixtures.js';

const bin = join(projectRoot(), 'bin', 'peerd.js');
const magic = networkParams('regtest').magic;

function run(args: string[], opts: { input?: Buffer; killAfterLine?: RegExp } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!killed && opts.killAfterLine && opts.killAfterLine.test(stdout)) {
        killed = true;
        p.kill('SIGTERM');
      }
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(opts.input ?? Buffer.alloc(0));
  });
}

async function decodeAll(buf: Buffer) {
  const lines: Record<string, unknown>[] = [];
  const r = await decodeStream(Readable.from([buf]), (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  return { ...r, lines };
}

test('decode: a bad checksum is reported at its offset and decoding resumes after that frame', async () => {
  const a = encodeMessageFrame(magic, { command: 'ping', nonce: 1n });
  const b = Buffer.from(encodeMessageFrame(magic, { command: 'ping', nonce: 2n }));
  b[20] ^= 0xff; // checksum byte
  const c = encodeMessageFrame(magic, { command: 'verack' });
  const r = await decodeAll(Buffer.concat([a, b, c]));
  assert.equal(r.messages, 2);
  assert.equal(r.errors, 1);
  assert.deepEqual(r.lines.map((l) => l.error ?? l.command), ['ping', 'bad-checksum', 'verack']);
  assert.equal(r.lines[1].offset, a.length);
});

test('decode: a wrong magic stops with a clear error; a torn tail is reported', async () => {
  const a = encodeMessageFrame(magic, { command: 'verack' });
  const junk = Buffer.from('deadbeef'.repeat(8), 'hex');
  const r = await decodeAll(Buffer.concat([a, junk]));
  assert.equal(r.messages, 1);
  assert.equal(r.lines[1].error, 'bad-magic');
  assert.equal(r.lines[1].offset, a.length);
  assert.equal(r.lines[2].error, 'stopped');
  const torn = await decodeAll(Buffer.concat([a, a.subarray(0, 10)]));
  assert.equal(torn.lines.at(-1)?.error, 'truncated');
});

test('decode: a payload that does not parse is an error with its absolute offset', async () => {
  // An inv declaring 2 entries but carrying one.
  const payload = Buffer.concat([Buffer.from([2]), Buffer.alloc(36)]);
  const { encodeFrame } = await import('../../src/wire/framing.js');
  const r = await decodeAll(encodeFrame(magic, 'inv', payload));
  assert.equal(r.errors, 1);
  assert.equal(r.lines[0].command, 'inv');
  assert.equal(r.lines[0].error, 'truncated');
  assert.equal(r.lines[0].at, 24);
});

test('peerd decode (the command): reads stdin, exits 1 when it saw errors', async () => {
  const ok = await run(['decode', '-'], { input: encodeMessageFrame(magic, { command: 'verack' }) });
  assert.equal(ok.code, 0);
  assert.equal(JSON.parse(ok.stdout.trim()).command, 'verack');
  const bad = await run(['decode'], { input: Buffer.from('not a bitcoin stream at all, no') });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /bad-magic/);
});

test('peerd start: refuses unknown and malformed flags with a clear message and exit 2', async () => {
  const unknown = await run(['start', '--nonsense', '1']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option '--nonsense'/);
  // A misspelt flag: the error, the suggestion and one line pointing at --help, last on screen (no 45 lines of usage).
  const typo = await run(['start', '--netwrk', 'regtest']);
  assert.equal(typo.code, 2);
  assert.equal(typo.stderr, "error: unknown option '--netwrk'\n(Did you mean --network?)\n(add --help to see every option)\n");
  assert.equal(typo.stdout, '');
  const dir = mkdtempSync(join(tmpdir(), 'peerd-cli-'));
  try {
    const bad = await run(['start', '--network', 'regtest', '--datadir', dir, '--maxconnections', 'many']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--maxconnections: maxconnections must be a whole number/);
    writeFileSync(join(dir, 'peerd.conf'), 'listen=1\npingintervall=3\n');
    const conf = await run(['start', '--network', 'regtest', '--datadir', dir]);
    assert.equal(conf.code, 2);
    assert.match(conf.stderr, /peerd\.conf:2: unknown setting "pingintervall"; did you mean "pinginterval"\?/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('peerd start: runs on regtest, logs JSON, and stops cleanly on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-cli-'));
  try {
    const r = await run(['start', '--network', 'regtest', '--datadir', dir, '--bind', '127.0.0.1:0', '--dnsseed', '0', '--rpcport', '0'], { killAfterLine: /peerd started/ });
    assert.equal(r.code, 0, r.stderr);
    const started = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; network?: string });
    assert.ok(started.some((l) => l.msg === 'peerd started' && l.network === 'regtest'));
    assert.ok(started.some((l) => l.msg === 'peerd stopped'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
