/**
 * Optional interop: Bitcoin Core v30 dials peerd with BIP324 (v2, its default) and, with
 * `-v2transport=0`, with v1. Needs `bitcoind` (../shared/bin/ or PATH); skips when it is missing.
 * Core runs on regtest with `-connect` to peerd only, no listener, its RPC on 127.0.0.1 at a port
 * the system gave, no DNS or fixed seeds; it is stopped and its datadir removed at the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { dispatch } from '../../src/control/methods.js';
import { rpcCall } from '../../src/rpc/client.js';
import type { Json } from '../../src/rpc/protocol.js';
import { testNode, until } from '../helpers/node.js';
import { tmpDir } from '../helpers/chain.js';
import { coreBin, missingCore } from '../helpers/core.js';

type Peer = { subver: string; inbound: boolean; transport_protocol_type: string; session_id: string; version: number };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

for (const v2 of [true, false]) {
  test(`interop: Bitcoin Core ${v2 ? '(v2transport, its default)' : 'with -v2transport=0'} dials peerd: transport ${v2 ? 'v2, the same session id on both sides' : 'v1'}`, { timeout: 90_000 }, async (t) => {
    const bitcoind = coreBin('bitcoind');
    if (!bitcoind) return t.skip(missingCore('bitcoind'));
    const node = await testNode();
    t.after(() => node.cleanup());
    const coreDir = tmpDir(t, 'peerd-core-');
    const rpcport = await freePort();
    const core = spawn(
      bitcoind,
      [
        '-regtest',
        `-datadir=${coreDir}`,
        `-connect=127.0.0.1:${node.port}`,
        `-v2transport=${v2 ? 1 : 0}`,
        '-listen=0',
        '-server=1',
        '-rpcbind=127.0.0.1',
        '-rpcallowip=127.0.0.1',
        `-rpcport=${rpcport}`,
        '-rpcuser=peerd',
        '-rpcpassword=interop',
        '-dnsseed=0',
        '-fixedseeds=0',
        '-printtoconsole=1',
        '-debug=net',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<void>((resolve) => core.once('exit', () => resolve()));
    t.after(async () => {
      if (core.exitCode === null) core.kill('SIGTERM');
      await exited;
    });
    const log: string[] = [];
    createInterface({ input: core.stdout }).on('line', (line) => {
      log.push(line);
      if (log.length > 200) log.shift();
    });
    core.stderr.on('data', (d: Buffer) => log.push(d.toString()));

    let ours: Peer | undefined;
    try {
      await until(
        'Core is an active inbound peer of peerd',
        async () => {
          const peers = (await dispatch(node, { id: null, version: '2.0', method: 'getpeerinfo', params: [] as Json[] })) as unknown as Peer[];
          ours = peers.find((p) => p.inbound && /Satoshi/.test(p.subver));
          return ours !== undefined || core.exitCode !== null;
        },
        60_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; Core's last lines:\n${log.slice(-30).join('\n')}`);
    }
    assert.equal(core.exitCode, null, `Core exited: ${log.slice(-10).join('\n')}`);
    assert.equal(ours!.transport_protocol_type, v2 ? 'v2' : 'v1');
    const rpc = { host: '127.0.0.1', port: rpcport, credentials: 'peerd:interop' };
    let theirs: Peer | undefined;
    await until(
      "Core's getpeerinfo shows peerd",
      async () => {
        const peers = (await rpcCall(rpc, 'getpeerinfo', []).catch(() => [])) as unknown as Peer[];
        theirs = peers.find((p) => !p.inbound && p.version > 0);
        return theirs !== undefined;
      },
      30_000,
    );
    assert.equal(theirs!.transport_protocol_type, v2 ? 'v2' : 'v1');
    if (v2) {
      assert.match(ours!.session_id, /^[0-9a-f]{64}$/);
      assert.equal(ours!.session_id, theirs!.session_id, 'the same session id on both sides');
    } else assert.equal(ours!.session_id, '');
    // No disconnect of Core was ever recorded (in particular none as misbehaviour).
    assert.deepEqual(await node.disconnects(), []);
  });
}
