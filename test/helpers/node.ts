import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { startNode, type NodeHandle, type NodeOptions } from '../../src/node.js';
import { RawPeer, type RawListener } from './raw-peer.js';

/** Throwaway datadirs made here: removed when the test process exits, whether or not the test called cleanup(). */
const throwaway = new Set<string>();
process.once('exit', () => {
  for (const dir of throwaway) rmSync(dir, { recursive: true, force: true });
});

/** A regtest node on 127.0.0.1 (port 0), no DNS seeds, a throwaway datadir, silent logs. */
export async function testNode(over: NodeOptions = {}): Promise<NodeHandle & { port: number; cleanup(): Promise<void> }> {
  // A throwaway datadir unless the test brings its own (then the test removes it).
  const own = over.datadir === undefined;
  const datadir = over.datadir ?? mkdtempSync(join(tmpdir(), 'peerd-test-'));
  if (own) throwaway.add(datadir);
  const node = await startNode({
    network: 'regtest',
    datadir,
    dnsseed: false,
    bind: ['127.0.0.1:0'],
    logger: silentLogger(),
    tickMs: 100,
    ...over,
  });
  const [addr] = await node.listening();
  return Object.assign(node, {
    port: addr?.port ?? 0,
    async cleanup() {
      await node.stop();
      if (own) rmSync(datadir, { recursive: true, force: true });
    },
  });
}

/** Polls `cond` every 20 ms until it holds or `ms` pass; throws with `what` on timeout. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A test node with `--connect` to a raw listener that has done the handshake: a manual outbound
 * peer the node sent `getaddr` to (its answer earns 1,001 address tokens), nothing else dialled.
 */
export async function fedNode(over: NodeOptions = {}): Promise<{ node: Awaited<ReturnType<typeof testNode>>; feeder: RawListener; f: RawPeer }> {
  const feeder = await RawPeer.listen();
  const node = await testNode({ connect: [`127.0.0.1:${feeder.port}`], ...over });
  const f = await feeder.accept();
  await f.handshake();
  await f.waitFor('getaddr');
  return { node, feeder, f };
}
