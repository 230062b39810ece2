import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../helpers/node.js';
import { peerdBin } from '../helpers/cli.js';
import { basic, login, request } from '../helpers/inspect.js';

test('peerd start --inspect 0: logs the address, prints the one-time link; the link and the RPC cookie both open the page', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-inspect-cli-'));
  const child = spawn(process.execPath, [peerdBin, 'start', '--network', 'regtest', '--datadir', dir, '--bind', '127.0.0.1:0', '--dnsseed', '0', '--rpcport', '0', '--inspect', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  try {
    await until('the link printed', () => /inspector on /.test(err), 20_000);
    const m = /peerd: inspector on (http:\/\/127\.0\.0\.1:(\d+)\/) \(open (\S+) once/.exec(err);
    assert.ok(m, err);
    const [, base, port, tokenUrl] = m;
    const logged = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; inspect?: string })
      .find((l) => l.msg === 'inspector listening');
    assert.equal(logged?.inspect, base, 'the address is logged (without the token)');
    assert.ok(!out.includes(tokenUrl!.split('token=')[1]!), 'the token is not in the log');
    assert.ok(Number(port) > 0);
    const cookie = await login(tokenUrl!);
    assert.equal((await request(base!, { headers: { Cookie: cookie } })).status, 200);
    const rpcCookie = readFileSync(join(dir, 'regtest', '.cookie'), 'utf8');
    assert.equal((await request(`${base}metrics`, { headers: basic(rpcCookie) })).status, 200);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    rmSync(dir, { recursive: true, force: true });
  }
});
