/**
 * After Bitcoin Core's `p2p_getdata.py` and the request floods of issue 16: a peer's requests are
 * served from its own queue, one block or one headers batch at a time, and only while its send
 * queue is below the send limit (Core's `ProcessGetData`, one block per call, stopped by
 * `fPauseSend`; no other message of that peer is processed while its getdata waits). A peer that
 * asks and never reads holds at most the send limit plus one answer, and is disconnected as not
 * reading after the send-stall time; honest peers are answered meanwhile.
 *
 * | case | Core | peerd |
 * |---|---|---|
 * | a getdata of 2,000 copies of one 89 KB block from a peer that never reads | one block per call while not fPauseSend; the rest waits in m_getdata_requests; dropped when the send stalls | same: send queue ≤ limit + one block, the rest never read from disk, dropped as not reading |
 * | 1,000 getheaders (93 KB on the wire) from a peer that never reads | not processed while fPauseSend (they wait in the receive buffer) | one headers batch at a time, only below the limit; the rest wait undecoded |
 * | an honest peer during either | answered | answered: getheaders, getdata, ping |
 *
 * Queued bytes are read from the node's getpeerinfo (`sendQueued`, `heldBytes`, `requestsServed`),
 * never inferred from time. Peak RSS growth is printed (`t.diagnostic`) for the record.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MSG_BLOCK, MSG_WITNESS_BLOCK } from '../../src/wire/constants.js';
import type { PeerInfo } from '../../src/contracts/peer.js';
import type { GeneratedBlock } from '../../src/tools/chain/generate.js';
import { startChainServer, type ChainServer } from '../../src/tools/chain/stub-peer.js';
import { testNode, until } from '../helpers/node.js';
import { sync, type FaultNode } from '../helpers/faults.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { chainOf, writeChainFile } from '../helpers/chain.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MAX_SEND = 64 * 1024;
const MAX_RECV = 5_000_000;
/** Small messages the node may add beside the answers (a ping, a notfound). */
const SLACK = 2048;
/** A headers message of 2,000 headers: 24-byte frame header, 3-byte count, 81 bytes each. */
const HEADERS_REPLY = 24 + 3 + 2000 * 81;

let node: FaultNode;
let server: ChainServer;
let blocks: GeneratedBlock[];
let big: GeneratedBlock;
let dir: string;

before(async () => {
  // 2,000 small blocks and an 89 KB one on top (400 transactions).
  blocks = chainOf(1, { txsPerBlock: 400, prefix: chainOf(2000, { txsPerBlock: 1 }) });
  big = blocks[blocks.length - 1];
  dir = mkdtempSync(join(tmpdir(), 'peerd-serving-'));
  server = await startChainServer({ blocksFile: await writeChainFile(join(dir, 'chain.blocks'), blocks), host: '127.0.0.1', port: 0 });
  node = await testNode({ connect: [`127.0.0.1:${server.port}`], maxSendBuffer: MAX_SEND, sendStallMs: 2000, pinginterval: 3600 });
  await until('synced from the stub peer', async () => Number(await node.chainCall('getblockcount')) === blocks.length, 60_000);
});

after(async () => {
  await node?.cleanup();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const maxRssMb = (): number => process.resourceUsage().maxRSS / 1024;

/** What the poller saw of the abuser on the node: the highest figures and its last record. */
interface Seen {
  maxQueued: number;
  maxHeld: number;
  last: PeerInfo | undefined;
  /** Resolves when the node no longer lists the peer. */
  gone: Promise<void>;
}

/** Polls the abuser's record on the node every 20 ms until the node drops it, keeping the highest figures. */
function watch(p: RawPeer): Seen {
  const port = p.socket.localPort;
  const seen: Seen = { maxQueued: 0, maxHeld: 0, last: undefined, gone: Promise.resolve() };
  seen.gone = until('the node drops the peer that does not read', async () => {
    const info = (await node.peers()).find((i) => i.endpoint.port === port);
    if (info) {
      seen.last = info;
      seen.maxQueued = Math.max(seen.maxQueued, info.sendQueued);
      seen.maxHeld = Math.max(seen.maxHeld, info.heldBytes);
    }
    return info === undefined;
  }, 30_000);
  return seen;
}

/** An honest peer is answered while the abuser is paused: headers from genesis, the big block, a pong. */
async function honestServed(): Promise<void> {
  const h = await RawPeer.connect(node.port);
  try {
    await h.handshake();
    h.send({ command: 'getheaders', version: 70016, locator: [blocks[0].block.header.prevBlock], hashStop: Buffer.alloc(32) });
    const hs = await h.waitFor('headers', 10_000);
    assert.equal(hs.headers.length, 2000, 'a full batch of headers');
    h.send({ command: 'getdata', items: [{ type: MSG_WITNESS_BLOCK, hash: big.block.header.hash }] });
    const b = await h.waitFor('block', 10_000);
    assert.ok(b.block.header.hash.equals(big.block.header.hash), 'the block asked for');
    // Without witness (MSG_BLOCK): the stored block stripped by a scan.
    h.send({ command: 'getdata', items: [{ type: MSG_BLOCK, hash: big.block.header.hash }] });
    const s = await h.waitFor('block', 10_000);
    assert.ok(s.block.header.hash.equals(big.block.header.hash));
    assert.equal(s.block.hasWitness, false);
    assert.equal(s.block.size, big.block.strippedSize);
    await sync(h);
  } finally {
    await h.destroy();
  }
}

async function disconnectReason(p: RawPeer): Promise<{ reason: string; misbehaving: boolean }> {
  const port = p.socket.localPort;
  let rec: { reason: string; misbehaving: boolean } | undefined;
  await until('the disconnect is recorded', async () => (rec = (await node.disconnects()).find((d) => d.address.endsWith(`:${port}`))) !== undefined);
  return rec!;
}

test('getdata of 2,000 copies of one block from a peer that never reads: its queue stays within the send limit plus one block, the rest is never read; honest peers are served; it is dropped as not reading', async (t) => {
  const rss0 = maxRssMb();
  const p = await RawPeer.connect(node.port);
  try {
    await p.handshake();
    await sync(p);
    p.pauseReading();
    p.send({ command: 'getdata', items: Array.from({ length: 2000 }, () => ({ type: MSG_WITNESS_BLOCK, hash: big.block.header.hash })) });
    const seen = watch(p);
    await until('the send queue reaches its limit', () => seen.maxQueued > MAX_SEND, 20_000);
    await honestServed();
    await seen.gone;
    const { maxQueued, maxHeld, last } = seen;
    t.diagnostic(`block ${big.raw.length} B; max sendQueued ${maxQueued} B, max heldBytes ${maxHeld} B, pieces served ${last?.requestsServed}; peak RSS +${(maxRssMb() - rss0).toFixed(1)} MB`);
    assert.ok(maxQueued <= MAX_SEND + big.raw.length + SLACK, `send queue ${maxQueued} within the limit plus one block`);
    assert.ok(maxHeld <= MAX_RECV + MAX_SEND + big.raw.length + SLACK, `held ${maxHeld} within the receive and send limits plus one block`);
    assert.ok(last && last.requestsServed < 2000, `most copies never read from disk (${last?.requestsServed} served)`);
    const rec = await disconnectReason(p);
    assert.match(rec.reason, /not reading/);
    assert.equal(rec.misbehaving, false);
  } finally {
    await p.destroy();
  }
});

test('1,000 getheaders from a peer that never reads: one headers batch at a time, the queue within the limit plus one batch; honest peers are served; it is dropped as not reading', async (t) => {
  const rss0 = maxRssMb();
  const p = await RawPeer.connect(node.port);
  try {
    await p.handshake();
    await sync(p);
    p.pauseReading();
    const gh = { command: 'getheaders' as const, version: 70016, locator: [blocks[0].block.header.prevBlock], hashStop: Buffer.alloc(32) };
    for (let i = 0; i < 1000; i++) p.send(gh);
    const seen = watch(p);
    await until('the send queue reaches its limit', () => seen.maxQueued > MAX_SEND, 20_000);
    await honestServed();
    await seen.gone;
    const { maxQueued, maxHeld, last } = seen;
    t.diagnostic(`max sendQueued ${maxQueued} B, max heldBytes ${maxHeld} B, pieces served ${last?.requestsServed}; peak RSS +${(maxRssMb() - rss0).toFixed(1)} MB`);
    assert.ok(maxQueued <= MAX_SEND + HEADERS_REPLY + SLACK, `send queue ${maxQueued} within the limit plus one headers batch`);
    assert.ok(maxHeld <= MAX_RECV + MAX_SEND + HEADERS_REPLY + SLACK, `held ${maxHeld} within the receive and send limits plus one batch`);
    assert.ok(last && last.requestsServed < 1000, `most getheaders never answered (${last?.requestsServed} served)`);
    const rec = await disconnectReason(p);
    assert.match(rec.reason, /not reading/);
    assert.equal(rec.misbehaving, false);
  } finally {
    await p.destroy();
  }
});
