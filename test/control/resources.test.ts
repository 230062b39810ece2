/** `getresources` over real HTTP: actors and timers as the registry has them, handles, fds, loop delay. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { testNode } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { rpcCall } from '../../src/rpc/client.js';
import type { ResourceReport } from '../../src/util/resources.js';
import { actorResources } from '../../src/util/resources.js';

test('getresources: actors, runtime timers, sockets, fds, RSS and event-loop delay; reset starts a new window', async () => {
  const node = await testNode({ server: true, rpcport: 0 });
  const peer = await RawPeer.connect(node.port);
  try {
    await peer.handshake();
    await peer.waitFor('ping');
    const addr = await node.rpcAddress();
    assert.ok(addr);
    const opts = { port: addr.port, cookieFile: join(node.settings.datadir, 'regtest', '.cookie') };
    const r = (await rpcCall(opts, 'getresources')) as unknown as ResourceReport;
    const list = node.actors();
    assert.equal(r.actors, list.length);
    assert.equal(r.peerActors, 1);
    assert.equal(r.timers, list.reduce((n, a) => n + a.timers.length, 0));
    assert.ok(r.timersByActor['/root/peers/*']! >= 1, 'the peer has its ping/inactivity timers');
    // P2P listener + RPC listener, the peer's two ends, the RPC connection itself.
    assert.ok((r.handles.TCPServerWrap ?? 0) >= 2, JSON.stringify(r.handles));
    assert.ok(r.sockets >= 4);
    if (process.platform === 'linux') assert.ok(r.fds !== null && r.fds >= r.sockets, `fds ${r.fds}`);
    assert.ok(r.rssBytes > 10 << 20);
    for (const k of ['p50Ms', 'p99Ms', 'maxMs', 'meanMs'] as const) assert.ok(r.eventLoopDelay[k] >= 0);
    assert.ok(r.eventLoopDelay.p99Ms <= r.eventLoopDelay.maxMs);
    assert.ok(r.eventLoopDelay.samples > 0, 'the histogram started with the node');

    // Block the loop for 120 ms: the max sees it; after a reset the window starts again.
    const t = Date.now();
    while (Date.now() - t < 120);
    const blocked = (await rpcCall(opts, 'getresources', [true])) as unknown as ResourceReport;
    assert.ok(blocked.eventLoopDelay.maxMs >= 80, `max ${blocked.eventLoopDelay.maxMs} ms`);
    const fresh = (await rpcCall(opts, 'getresources')) as unknown as ResourceReport;
    assert.ok(fresh.eventLoopDelay.maxMs < 80, `after reset: max ${fresh.eventLoopDelay.maxMs} ms`);
    assert.ok(fresh.eventLoopDelay.windowMs < blocked.eventLoopDelay.windowMs);
    await assert.rejects(rpcCall(opts, 'getresources', ['yes']), /Wrong type/);
  } finally {
    await peer.destroy();
    await node.cleanup();
  }
});

test('actorResources: peers folded into one line, non-peer timers counted apart', () => {
  const r = actorResources([
    { path: '/root', timers: [] },
    { path: '/root/connman', timers: ['tick'] },
    { path: '/root/peers', timers: [] },
    { path: '/root/peers/peer-1', timers: ['ping', 'inactivity'] },
    { path: '/root/peers/peer-2', timers: ['handshake', 'inactivity'] },
  ], '/root/peers');
  assert.deepEqual(r, { actors: 5, peerActors: 2, timers: 5, nonPeerTimers: 1, timersByActor: { '/root/connman': 1, '/root/peers/*': 4 } });
});
