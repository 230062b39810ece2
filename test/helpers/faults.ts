/**
 * Helpers for the fault tests (test/faults, test/faults-slow): find a raw peer's record on the
 * node, check that the node still serves an honest peer, expect a disconnect with its recorded
 * reason, and raw frames with arbitrary commands and payloads.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Writer } from '../../src/wire/buffer.js';
import { until } from './node.js';
import { RawPeer, REGTEST_MAGIC } from './raw-peer.js';
import type { NodeHandle } from '../../src/node.js';
import type { PeerInfo } from '../../src/contracts/peer.js';
import type { DisconnectRecord } from '../../src/contracts/connman.js';

export type FaultNode = NodeHandle & { port: number; cleanup(): Promise<void> };

/** Whether the fault tests that take long should run (`npm run test:faults` sets it). */
export const SLOW = process.env.PEERD_FAULTS === '1';
export const SLOW_SKIP = SLOW ? false : 'slow fault test: runs with `npm run test:faults` (PEERD_FAULTS=1)';

/** A frame with any command (up to 12 ASCII bytes, or raw bytes) and payload; checksum right unless told. */
export function rawFrame(command: string | Buffer, payload: Buffer, opts: { magic?: number; badChecksum?: boolean; declaredLength?: number } = {}): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(opts.magic ?? REGTEST_MAGIC, 0);
  (typeof command === 'string' ? Buffer.from(command, 'ascii') : command).copy(h, 4, 0, 12);
  h.writeUInt32LE(opts.declaredLength ?? payload.length, 16);
  const sum = createHash('sha256').update(createHash('sha256').update(payload).digest()).digest();
  sum.copy(h, 20, 0, 4);
  if (opts.badChecksum) h[20] ^= 0xff;
  return Buffer.concat([h, payload]);
}

/** The node's record of a raw peer (matched by the peer's local port). */
export async function infoOf(node: NodeHandle, peer: RawPeer): Promise<PeerInfo | undefined> {
  const port = peer.socket.localPort;
  return (await node.peers()).find((p) => p.endpoint.port === port);
}

/** Handshakes a raw peer and waits until the node has it active. */
export async function activePeer(node: FaultNode, opts: { answerPings?: boolean; localAddress?: string } = {}): Promise<RawPeer> {
  const p = await RawPeer.connect(node.port, opts);
  await p.handshake();
  await until('the raw peer is active on the node', async () => (await infoOf(node, p))?.phase === 'active');
  return p;
}

/** Sends a ping and waits for its pong: everything sent before has been handled. */
export async function sync(p: RawPeer, timeoutMs = 5000): Promise<void> {
  const nonce = BigInt(Date.now()) * 1000n + BigInt(Math.floor(Math.random() * 1000));
  p.send({ command: 'ping', nonce });
  for (;;) {
    const m = await p.waitFor('pong', timeoutMs);
    if (m.nonce === nonce) return;
  }
}

/** The node takes a fresh, honest peer through the handshake and answers its ping. */
export async function stillServes(node: FaultNode): Promise<void> {
  const fresh = await RawPeer.connect(node.port);
  try {
    await fresh.handshake();
    await sync(fresh);
  } finally {
    await fresh.destroy();
  }
}

/**
 * Connects a raw peer, lets `act` misbehave with it, waits for the node to close the
 * connection, and returns the node's disconnect record for it; then checks the node still serves.
 */
export async function expectDisconnect(node: FaultNode, act: (p: RawPeer) => Promise<void> | void, reason: RegExp, misbehaving = true): Promise<DisconnectRecord> {
  const p = await RawPeer.connect(node.port);
  const port = p.socket.localPort;
  let rec: DisconnectRecord | undefined;
  try {
    await act(p);
    await p.waitClosed(5000);
    await until('the disconnect is recorded', async () => (rec = (await node.disconnects()).find((d) => d.address.endsWith(`:${port}`))) !== undefined);
  } finally {
    await p.destroy();
  }
  assert.match(rec!.reason, reason);
  assert.equal(rec!.misbehaving, misbehaving, `misbehaving flag for "${rec!.reason}"`);
  await stillServes(node);
  return rec!;
}

/** A canonical CompactSize, as the codec writes it (a test's raw payloads are built with it). */
export function compactSize(n: number): Buffer {
  return Buffer.from(new Writer(9).compactSize(n).result());
}

/** `count` entries of `entry` bytes each, after the CompactSize count (an inv, headers, addr list of one repeated entry). */
export function list(count: number, entry: Buffer): Buffer {
  return Buffer.concat([compactSize(count), Buffer.alloc(count * entry.length).fill(entry)]);
}
