/**
 * The real `peerd top` command in a real pseudo-terminal, made by util-linux `script` (no native
 * module needed): it finds the node from its flags, draws on the alternate screen, takes keys
 * from the terminal, and restores the screen on `q`. Skipped where `script` is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { testNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { peerdBin } from '../helpers/cli.js';

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/** Quotes one argument for `sh -c`. */
const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

test('peerd top in a pseudo-terminal: draws the peer, K kicks it, q quits and restores the screen', { skip: hasScript ? false : 'util-linux `script` not installed' }, async () => {
  const node = await testNode({ server: true, rpcport: 0 });
  const raw = await RawPeer.connect(node.port);
  let child: ReturnType<typeof spawn> | undefined;
  try {
    await raw.handshake({ version: { userAgent: '/pty-raw:1/' } });
    await until('peer connected', async () => (await node.peers()).length === 1);
    const [p] = await node.peers();
    const rpc = await node.rpcAddress();
    assert.ok(rpc);
    const datadir = node.settings.datadir;
    const cmd = [process.execPath, peerdBin, 'top', '--network', 'regtest', '--datadir', datadir, '--rpcport', String(rpc.port), '--rpccookiefile', join(datadir, 'regtest', '.cookie'), '--interval', '200']
      .map(sh)
      .join(' ');
    // Ink draws only the last frame when it believes it runs in CI (CI=true): a terminal user never has that set.
    const env = { ...process.env };
    delete env.CI;
    child = spawn('script', ['-qfec', `stty cols 120 rows 30; exec ${cmd}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child?.on('close', (code) => resolve(code)));
    const text = (): string => stripVTControlCharacters(out);

    await until('the peer is drawn', () => new RegExp(`${p.id} 127\\.0\\.0\\.1:\\d+ +in +v1 +/pty-raw:1/`).test(text()), 15_000);
    assert.ok(out.includes('\x1b[?1049h'), 'alternate screen entered');
    assert.match(text(), /peerd top · regtest · \/peerd:0\.1\.0\/ · up \d+s · peers 1 \(in 1 \/ out 0\)/);

    child.stdin?.write('K');
    await until('the node dropped it', async () => (await node.peers()).length === 0);
    await until('the screen says so', () => text().includes(`kicked peer ${p.id}`) && /no peers/.test(text()));

    child.stdin?.write('q');
    assert.equal(await exited, 0);
    assert.ok(out.lastIndexOf('\x1b[?1049l') > out.lastIndexOf('\x1b[?1049h'), 'alternate screen left on quit');
    child = undefined;
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await raw.destroy();
    await node.cleanup();
  }
});
