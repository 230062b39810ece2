/**
 * `peerd top` against a real regtest node (RPC on, port 0, cookie auth) with two raw peers: the
 * real app (controller + Ink component) drawn by Ink's test renderer, keys written to its stdin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import React from 'react';
import { render } from 'ink-testing-library';
import { testNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { rpcCall } from '../../src/rpc/client.js';
import { App, TopController } from '../../src/top/app.js';

test('top e2e: both peers on screen; K kicks the selected one and the screen follows; T throttles; node down is reported; q quits', async () => {
  const node = await testNode({ server: true, rpcport: 0 });
  const raws: RawPeer[] = [];
  let ui: ReturnType<typeof render> | undefined;
  let controller: TopController | undefined;
  try {
    const rpc = await node.rpcAddress();
    assert.ok(rpc, 'rpc server running');
    const conn = { port: rpc.port, cookieFile: join(node.settings.datadir, 'regtest', '.cookie'), timeoutMs: 2000 };
    for (let i = 0; i < 2; i++) {
      const r = await RawPeer.connect(node.port);
      raws.push(r);
      await r.handshake({ version: { userAgent: `/raw-${i}:0.1/` } });
    }
    await until('node has both peers', async () => (await node.peers()).length === 2);
    const ids = (await node.peers()).map((p) => p.id).sort((a, b) => a - b);

    controller = new TopController((method, params) => rpcCall(conn, method, [...params]), { intervalMs: 150 });
    ui = render(React.createElement(App, { controller, network: 'regtest' }));
    const screen = (): string => stripVTControlCharacters(ui?.lastFrame() ?? '');
    const rowOf = (id: number): RegExp => new RegExp(`^ +${id} 127\\.0\\.0\\.1:\\d+ +in `, 'm');

    await until('both peers on screen', () => ids.every((id) => rowOf(id).test(screen())));
    const s = screen();
    assert.match(s, /\/raw-0:0\.1\//);
    assert.match(s, /\/raw-1:0\.1\//);
    assert.match(s, /peers 2 \(in 2 \/ out 0\)/);
    assert.match(s, /^sync: (no chain data|headers \d+ · blocks \d+ · )/m); // getblockchaininfo may or may not exist yet
    for (const id of ids) assert.match(s, new RegExp(`^/root/peers/peer-${id} +worker +mailbox`, 'm'));
    assert.match(s, /^\/root\/control +worker/m);

    // T on the first row (lowest id): the node applies the limit, the table shows it
    ui.stdin.write('T');
    await until('throttle prompt', () => /^throttle peer \d+: RECV SEND/m.test(screen()));
    ui.stdin.write('5000 7k');
    ui.stdin.write('\r');
    await until('limit applied in the node', async () => (await node.peers()).some((p) => p.id === ids[0] && p.recvLimit === 5000 && p.sendLimit === 7000));
    await until('limit on screen', () => new RegExp(`^ +${ids[0]} .*5\\.0 kB/7\\.0 kB$`, 'm').test(screen()));
    assert.match(screen(), new RegExp(`^peer ${ids[0]}: receive 5000 B/s, send 7000 B/s$`, 'm'));

    // bad throttle input: an error, and the limits stay
    ui.stdin.write('T');
    await until('throttle prompt again', () => /^throttle peer/m.test(screen()));
    ui.stdin.write('lots 1\r');
    await until('error shown', () => /^throttle: "lots" is not a whole number/m.test(screen()));
    assert.ok((await node.peers()).some((p) => p.id === ids[0] && p.recvLimit === 5000));

    // K kicks the selected peer (the first row): the node drops it, the raw peer sees the close, the screen updates
    ui.stdin.write('K');
    await until('node dropped the kicked peer', async () => (await node.peers()).length === 1);
    assert.deepEqual(
      (await node.peers()).map((p) => p.id),
      [ids[1]],
    );
    await raws[0].waitClosed(5000);
    await until('screen shows one peer', () => !rowOf(ids[0]).test(screen()) && rowOf(ids[1]).test(screen()));
    assert.match(screen(), new RegExp(`^kicked peer ${ids[0]} \\(127\\.0\\.0\\.1:\\d+\\)$`, 'm'));
    assert.doesNotMatch(screen(), new RegExp(`^/root/peers/peer-${ids[0]} `, 'm'));
    await until('header count follows', () => /peers 1 \(in 1 \/ out 0\)/.test(screen()));

    // node down: the screen stays, the status line says so
    await node.cleanup();
    await until('node down reported', () => /^cannot reach node \(.*\), retrying/m.test(screen()), 10_000);

    ui.stdin.write('q');
    await until('quit', () => controller?.getState().quit === true);
  } finally {
    controller?.stop();
    ui?.unmount();
    for (const r of raws) await r.destroy();
    await node.cleanup().catch(() => undefined);
  }
});
