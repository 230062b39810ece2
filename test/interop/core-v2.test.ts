/**
 * Optional interop: Bitcoin Core v30 dials peerd with BIP324 (v2, its default) and, with
 * `-v2transport=0`, with v1. Needs `bitcoind` (../shared/bin/ or PATH); skips when it is missing.
 * Core runs on regtest with `-connect` to peerd only, no listener, its RPC on 127.0.0.1 at a port
 * the system gave, no DNS or fixed seeds; it is stopped and its datadir removed at the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dispatch } from '../../src/control/methods.js';
import { rpcCall } from '../../src/rpc/client.js';
import type { Json } from '../../src/rpc/protocol.js';
import { testNode, until } from '../helpers/node.js';
import { tmpDir } from '../helpers/chain.js';
import { coreBin, missingCore, runCore } from '../helpers/core.js';

type Peer = { subver: string; inbound: boolean; transport_protocol_type: string; session_id: string; version: number };

for (const v2 of [true, false]) {
  test(`interop: Bitcoin Core ${v2 ? '(v2transport, its default)' : 'with -v2transport=0'} dials peerd: transport ${v2 ? 'v2, the same session id on both sides' : 'v1'}`, { timeout: 90_000 }, async (t) => {
    const bitcoind = coreBin('bitcoind');
    if (!bitcoind) return t.skip(missingCore('bitcoind'));
    const node = await testNode();
    t.after(() => node.cleanup());
    const coreDir = tmpDir(t, 'peerd-core-');
    const { proc: core, rpc, lastLines } = await runCore(t, bitcoind, coreDir, [`-connect=127.0.0.1:${node.port}`, `-v2transport=${v2 ? 1 : 0}`, '-listen=0']);

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
      throw new Error(`${(err as Error).message}; Core's last lines:\n${lastLines()}`);
    }
    assert.equal(core.exitCode, null, `Core exited: ${lastLines(10)}`);
    assert.equal(ours!.transport_protocol_type, v2 ? 'v2' : 'v1');
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
