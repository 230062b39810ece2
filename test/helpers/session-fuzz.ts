/**
 * The session fuzzer (issue 16, item 6): many raw peers, each a seeded random walk over the
 * actions of {@link ACTIONS} (valid, malformed and abusive messages), against a live regtest
 * peerd in a child process, while an honest peer pings it and fetches headers and the test asks
 * its RPC. The node runs in a child process so that its RSS is its own: the fuzz peers and the
 * honest peer live in the test process, and process.memoryUsage() would count them too.
 *
 * Asserted after the run: the node process is alive and logged no error; every RPC call during
 * the run was answered; the honest peer is still connected, every one of its pings got its pong
 * and every getheaders its headers; no actor outside /root/peers/ restarted (same incarnation,
 * no restarts) and no peer actor died other than by its own decision (no disconnect reason
 * `error: …`, `killed`, `noproc`, `start failed`); a fresh peer is taken through the handshake and
 * answered; and the node's RSS, sampled every 200 ms, stayed under its RSS before the fuzz peers
 * + `rssBoundMB`. A run that crosses the bound is cut short (the fuzz peers stop) and fails.
 *
 * Reproducible choices: each fuzz peer draws from mulberry32(seed × 1000 + its index); the seed is
 * printed and is part of every failure message (`PEERD_FUZZ_SEED=<seed>` repeats a run's choices;
 * the timing of the node's replies is not reproducible).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TestContext } from 'node:test';
import { rpcCall, type RpcClientOptions } from '../../src/rpc/client.js';
import { procStatus } from '../../src/tools/sim/measure.js';
import { childRpcPort, startNodeChild, stopNodeChild, type NodeChild } from '../../src/tools/sim/node.js';
import type { Json } from '../../src/rpc/protocol.js';
import { chainOf, serveBlocks } from './chain.js';
import { fuzzPeer, honestLoop, percentile, Rng, type Action, type FuzzStats, type Session, type Target } from './hostile.js';
import { RawPeer } from './raw-peer.js';

export interface FuzzOptions {
  readonly seed: number;
  readonly peers: number;
  readonly seconds: number;
  readonly actions: readonly Action[];
  /** RSS growth allowed over the node's RSS before the fuzz peers connect, MB. */
  readonly rssBoundMB: number;
}

/** The seed from PEERD_FUZZ_SEED, else a fresh one (printed by the test either way). */
export function fuzzSeed(): number {
  const v = process.env.PEERD_FUZZ_SEED;
  if (v !== undefined && v !== '') {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`PEERD_FUZZ_SEED must be a non-negative integer, not ${JSON.stringify(v)}`);
    return n;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface ActorRecord {
  readonly path: string;
  readonly incarnation: number;
  readonly restarts: number;
}
interface DisconnectRecordJson {
  readonly id: number;
  readonly address: string;
  readonly reason: string;
  readonly misbehaving: boolean;
}

/** Disconnect reasons that mean a peer actor died rather than chose to close (supervisors' formatReason). */
const DIED = /^(error: |killed$|noproc$|start failed)/;

/** The chain the node syncs before the fuzz: 24 small blocks, then one of 200 transactions (~50 KB) that the getdata floods ask for. */
function fuzzChain(): ReturnType<typeof chainOf> {
  const small = chainOf(24, { txsPerBlock: 1, seed: 16 });
  return chainOf(1, { txsPerBlock: 200, seed: 16, prefix: small });
}

export async function runSessionFuzz(t: TestContext, o: FuzzOptions): Promise<void> {
  const tag = `seed ${o.seed} (PEERD_FUZZ_SEED=${o.seed} repeats its choices)`;
  t.diagnostic(`session fuzzer: ${tag}, ${o.peers} peers, ${o.seconds} s, actions ${o.actions.map((a) => a.name).join(',')}`);
  const blocks = fuzzChain();
  const stub = await serveBlocks(t, blocks, 'fuzz');
  const last = blocks[blocks.length - 1]!;
  const datadir = mkdtempSync(join(tmpdir(), 'peerd-fuzz-'));
  let child: NodeChild | null = null;
  const live = new Set<Session>();
  let honest: RawPeer | null = null;
  try {
    child = await startNodeChild({
      datadir,
      maxconnections: o.peers + 30,
      extraArgs: ['--rpcport', '0', '--connect', `127.0.0.1:${stub.port}`],
    });
    const node = child;
    const rpc: RpcClientOptions = { port: await childRpcPort(node), cookieFile: join(datadir, 'regtest', '.cookie'), timeoutMs: 15_000 };
    const call = (method: string, params: Json[] = []): Promise<Json> => rpcCall(rpc, method, params);
    // Synced: the getdata floods ask for a block it has, the getheaders floods get full batches.
    const synced = performance.now() + 30_000;
    while (((await call('getblockcount')) as number) < last.height) {
      if (performance.now() > synced) throw new Error(`the node did not sync the ${last.height}-block chain within 30 s`);
      await sleep(100);
    }
    const target: Target = { port: node.port, block: last.block.header.hash, tip: last.block.header.hash };
    const actorsBefore = (await call('listactors')) as unknown as ActorRecord[];
    const rssMB = (): number => (procStatus(node.pid, 'VmRSS') ?? 0) / 1024;

    honest = await RawPeer.connect(node.port);
    await honest.handshake();
    const rssStart = rssMB();
    const bound = rssStart + o.rssBoundMB;
    let rssPeak = rssStart;
    let over = false;
    let deadline = performance.now() + o.seconds * 1000;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssMB());
      if (rssPeak >= bound && !over) {
        over = true;
        deadline = performance.now(); // cut the run short: the fuzz peers stop at their next step
      }
    }, 200);

    let rpcCalls = 0;
    const rpcFailures: string[] = [];
    // The node keeps its last 1,000 disconnects: read them every 2 s so that none of a long run is missed.
    const seen = new Map<number, DisconnectRecordJson>();
    const collect = async (): Promise<void> => {
      for (const d of (await call('getdisconnects')) as unknown as DisconnectRecordJson[]) seen.set(d.id, d);
    };
    const rpcLoop = (async () => {
      for (let i = 0; performance.now() < deadline; i++) {
        rpcCalls++;
        await (i % 4 === 3 ? collect() : call('getconnectioncount')).catch((err: unknown) => void rpcFailures.push((err as Error).message));
        await sleep(500);
      }
    })();
    const stats: FuzzStats = { actions: {}, sessions: 0, closedByNode: 0 };
    const honestRun = honestLoop(honest, () => performance.now() >= deadline, { everyMs: 100, headersEvery: 10, timeoutMs: 15_000 });
    await Promise.all(Array.from({ length: o.peers }, (_, i) => fuzzPeer(target, new Rng(o.seed * 1000 + i), o.actions, () => deadline, stats, live)));
    const h = await honestRun;
    await rpcLoop;
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, rssMB());
    for (const s of live) s.destroy();

    await collect();
    const disconnects = [...seen.values()];
    const actorsAfter = (await call('listactors')) as unknown as ActorRecord[];
    const summary = {
      seed: o.seed,
      sessions: stats.sessions,
      closedByNode: stats.closedByNode,
      actions: stats.actions,
      disconnects: disconnects.length,
      reasons: countBy(disconnects.map((d) => /^[^:]*(?::\s*[\w-]+)?/.exec(d.reason)?.[0] ?? d.reason)),
      honest: { pings: h.pings, pongs: h.pongs, headersAsked: h.headersAsked, headersAnswered: h.headersAnswered, rttP50: percentile(h.rtts, 50), rttP99: percentile(h.rtts, 99), rttMax: Math.max(0, ...h.rtts) },
      rpc: { calls: rpcCalls, failures: rpcFailures.length },
      rssStartMB: Math.round(rssStart),
      rssPeakMB: Math.round(rssPeak),
      rssBoundMB: Math.round(bound),
    };
    t.diagnostic(JSON.stringify(summary));

    assert.equal(node.exited, false, `the node process exited; ${tag}`);
    assert.ok(!over, `RSS ${rssPeak.toFixed(0)} MB crossed the bound ${bound.toFixed(0)} MB (start ${rssStart.toFixed(0)} + ${o.rssBoundMB}); the run was cut short; ${tag}`);
    assert.ok(rssPeak < bound, `RSS peak ${rssPeak.toFixed(0)} MB, bound ${bound.toFixed(0)} MB; ${tag}`);
    assert.equal(h.failure, null, `${h.failure ?? ''}; ${tag}`);
    assert.equal(h.pongs, h.pings, `every honest ping answered; ${tag}`);
    assert.equal(h.headersAnswered, h.headersAsked, `every honest getheaders answered; ${tag}`);
    assert.equal(honest.isClosed, false, `the honest peer is still connected; ${tag}`);
    assert.deepEqual(rpcFailures, [], `every RPC call answered; ${tag}`);
    const died = disconnects.filter((d) => DIED.test(d.reason));
    assert.deepEqual(died, [], `no peer actor died other than by its own decision; ${tag}`);
    const changed = actorsAfter
      .filter((a) => !a.path.startsWith('/root/peers/'))
      .filter((a) => {
        const b = actorsBefore.find((x) => x.path === a.path);
        return b === undefined || b.incarnation !== a.incarnation || a.restarts !== b.restarts;
      })
      .map((a) => `${a.path}#${a.incarnation} (${a.restarts} restarts)`);
    assert.deepEqual(changed, [], `no actor outside /root/peers/ exited; ${tag}`);
    const missing = actorsBefore.filter((b) => !b.path.startsWith('/root/peers/') && !actorsAfter.some((a) => a.path === b.path)).map((b) => b.path);
    assert.deepEqual(missing, [], `every actor outside /root/peers/ still there; ${tag}`);
    const errors = node.warnings.filter((l) => /"level":(50|60)/.test(l));
    assert.deepEqual(errors, [], `the node logged no error; ${tag}`);
    assert.ok(stats.sessions >= o.peers, `every fuzz peer opened a session; ${tag}`);
    // A fresh peer is still served.
    const fresh = await RawPeer.connect(node.port);
    try {
      await fresh.handshake({ timeoutMs: 15_000 });
      fresh.send({ command: 'ping', nonce: 7n });
      assert.equal((await fresh.waitFor('pong', 15_000)).nonce, 7n, tag);
    } finally {
      await fresh.destroy();
    }
  } finally {
    for (const s of live) s.destroy();
    await honest?.destroy();
    if (child) await stopNodeChild(child);
    rmSync(datadir, { recursive: true, force: true });
  }
}

function countBy(xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
