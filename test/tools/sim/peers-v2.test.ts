import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode } from '../../../src/node.js';
import { silentLogger } from '../../../src/log.js';
import { PeerSwarm, grow } from '../../../src/tools/sim/peers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const v2 of [false, true]) {
  test(`scripted ${v2 ? 'v2 (BIP324 initiator)' : 'v1'} peers: handshake, the node sees them as ${v2 ? 'v2' : 'v1'}, pings answered`, async () => {
    const datadir = mkdtempSync(join(tmpdir(), 'peerd-simv2-'));
    const node = await startNode({ network: 'regtest', datadir, dnsseed: false, bind: ['127.0.0.1:0'], server: false, logger: silentLogger(), tickMs: 100 });
    const w = new PeerSwarm({ port: (await node.listening())[0]?.port ?? 0, pingRate: 10, getheadersRate: 5, v2 });
    try {
      w.startScheduler();
      w.recording = true;
      await grow(w, 5);
      assert.equal(w.active(), 5);
      assert.equal(w.c.failed, 0);
      await sleep(700);
      assert.ok(w.c.pongs > 0 && w.rtt.length > 0, JSON.stringify(w.c));
      assert.ok(w.c.headersReceived > 0, JSON.stringify(w.c));
      assert.equal(w.c.badFrames, 0);
      const peers = (await node.peers()).filter((p) => p.inbound);
      assert.equal(peers.length, 5);
      for (const p of peers) assert.equal(p.transportType, v2 ? 'v2' : 'v1');
    } finally {
      w.stop();
      await node.stop();
      rmSync(datadir, { recursive: true, force: true });
    }
  });
}
