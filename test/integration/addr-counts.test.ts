/**
 * getpeerinfo's addr_processed and addr_rate_limited come from the address book, where the
 * per-peer token bucket is: a raw inbound peer that sends more than its bucket holds, and a
 * peer we asked for addresses (1,001 tokens), read back over JSON-RPC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fedNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { rpcCall } from '../../src/rpc/client.js';
import type { TimedNetAddress } from '../../src/wire/address.js';

const FIRST = [5, 23, 31, 37, 45, 51, 62, 77, 88, 91, 104, 130, 141, 152, 163, 176, 185, 193, 203, 212];
function ip4(i: number): TimedNetAddress {
  return { network: 'ipv4', addr: Buffer.from([FIRST[i % FIRST.length] as number, (i >> 5) & 0xff, (i >> 13) & 0xff, (i & 0x1f) + 1]), port: 8333, services: 0x409n, time: Math.floor(Date.now() / 1000) - 3600 };
}

interface PeerRow {
  readonly id: number;
  readonly inbound: boolean;
  readonly addr_processed: number;
  readonly addr_rate_limited: number;
}

test('getpeerinfo: addr_processed and addr_rate_limited per peer, from the token bucket (inbound: 1 token; a peer we sent getaddr: 1,001)', async () => {
  const { node, feeder, f } = await fedNode({ server: true, rpcport: 0 });
  let r: RawPeer | null = null;
  try {
    const rpc = await node.rpcAddress();
    assert.ok(rpc);
    const opts = { port: rpc.port, cookieFile: join(node.settings.datadir, 'regtest', '.cookie') };
    const peers = async (): Promise<PeerRow[]> => (await rpcCall(opts, 'getpeerinfo', [])) as unknown as PeerRow[];

    r = await RawPeer.connect(node.port);
    await r.handshake();
    await until('inbound peer listed', async () => (await peers()).some((p) => p.inbound));
    const before = (await peers()).find((p) => p.inbound);
    assert.deepEqual([before?.addr_processed, before?.addr_rate_limited], [0, 0], 'nothing sent yet');

    r.send({ command: 'addr', addresses: Array.from({ length: 50 }, (_, i) => ip4(i)) });
    await until('inbound counts', async () => {
      const p = (await peers()).find((x) => x.inbound);
      return p !== undefined && p.addr_processed + p.addr_rate_limited === 50;
    });
    const inb = (await peers()).find((p) => p.inbound);
    assert.ok(inb);
    // One token at the start, 0.1 a second after: one or two of 50 go through.
    assert.ok(inb.addr_processed >= 1 && inb.addr_processed <= 2, `inbound processed ${inb.addr_processed}`);
    assert.equal(inb.addr_rate_limited, 50 - inb.addr_processed);

    for (let m = 0; m < 2; m++) f.send({ command: 'addr', addresses: Array.from({ length: 1000 }, (_, i) => ip4(10_000 + m * 1000 + i)) });
    await until('outbound counts', async () => {
      const p = (await peers()).find((x) => !x.inbound);
      return p !== undefined && p.addr_processed + p.addr_rate_limited === 2000;
    });
    const out = (await peers()).find((p) => !p.inbound);
    assert.ok(out);
    assert.ok(out.addr_processed >= 1001 && out.addr_processed <= 1003, `outbound processed ${out.addr_processed}`);
    assert.equal(out.addr_rate_limited, 2000 - out.addr_processed);
    // The inbound peer's counts did not move.
    const again = (await peers()).find((p) => p.inbound);
    assert.deepEqual([again?.addr_processed, again?.addr_rate_limited], [inb.addr_processed, inb.addr_rate_limited]);
  } finally {
    await r?.destroy();
    await node.cleanup();
    await feeder.close();
  }
});
