/**
 * `kill -9` of a real node process in the middle of writes: every ban it acknowledged and every
 * tried promotion it made are there after a restart on the same datadir; so are the addresses it
 * learned from gossip just before (journaled, not synced: a process kill does not lose them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { RawPeer, type RawListener } from '../helpers/raw-peer.js';
import type { AddrmanInfo, BanEntryJson, NodeAddressJson } from '../../src/contracts/addressbook.js';
import type { TimedNetAddress } from '../../src/wire/address.js';

const SCRIPT = fileURLToPath(new URL('../helpers/child-node.js', import.meta.url));

interface Child {
  readonly proc: ChildProcess;
  readonly port: number;
  call<R>(op: string, extra?: Record<string, unknown>): Promise<R>;
  readonly exited: Promise<unknown>;
}

async function startChild(datadir: string, addnode: string[] = []): Promise<Child> {
  const proc = spawn(process.execPath, [SCRIPT, datadir, ...addnode], { env: { ...process.env, PEERD_CHILD_NODE: '1' }, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((r) => proc.once('exit', r));
  const waiting = new Map<number, (v: unknown) => void>();
  let ready: (port: number) => void = () => undefined;
  const port = new Promise<number>((r) => (ready = r));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const m = JSON.parse(line) as { ready?: boolean; port?: number; id?: number; result?: unknown };
    if (m.ready) ready(m.port ?? 0);
    else if (m.id !== undefined) waiting.get(m.id)?.(m.result);
  });
  let next = 1;
  const p = await Promise.race([port, exited.then(() => Promise.reject(new Error('child exited before ready')))]);
  return {
    proc,
    port: p,
    exited,
    call<R>(op: string, extra: Record<string, unknown> = {}) {
      const id = next++;
      return new Promise<R>((resolve) => {
        waiting.set(id, resolve as (v: unknown) => void);
        proc.stdin!.write(`${JSON.stringify({ id, op, ...extra })}\n`);
      });
    },
  };
}

/** The node's addnode peer (manual: the node sends it getaddr), accepted and handshaken, once the getaddr has come. */
async function addnodeAsksForAddresses(seed: RawListener): Promise<RawPeer> {
  const s = await seed.accept();
  await s.handshake();
  await s.waitFor('getaddr');
  return s;
}

test('kill -9 of a child process mid-write: acknowledged bans and tried promotions survive; the book loads', async () => {
  const datadir = mkdtempSync(join(tmpdir(), 'peerd-kill-'));
  const seed = await RawPeer.listen();
  const target = await RawPeer.listen();
  let child: Child | undefined;
  try {
    child = await startChild(datadir, [`127.0.0.1:${seed.port}`]);
    // The addnode peer (manual: we send it getaddr) tells of `target`; the node dials it as an automatic outbound peer.
    const s = await addnodeAsksForAddresses(seed);
    const now = Math.floor(Date.now() / 1000);
    s.send({ command: 'addr', addresses: [{ network: 'ipv4', addr: Buffer.from([127, 0, 0, 1]), port: target.port, services: 0x409n, time: now }] });
    const t = await target.accept(10_000);
    await t.handshake();
    const deadline = Date.now() + 10_000;
    while ((await child.call<AddrmanInfo>('info')).ipv4?.tried !== 1) {
      if (Date.now() > deadline) throw new Error('no tried entry');
      await new Promise((r) => setTimeout(r, 50));
    }
    // A stream of bans; the process is killed while some are still being written.
    const acked: string[] = [];
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      const subnet = `10.${i}.0.0/16`;
      pending.push(
        child.call<{ ok?: boolean }>('ban', { subnet }).then((r) => {
          if (r.ok) acked.push(subnet);
        }),
      );
      if (i === 120) {
        while (acked.length < 20) await new Promise((r) => setTimeout(r, 5));
        child.proc.kill('SIGKILL');
        break;
      }
    }
    await child.exited;
    assert.ok(acked.length >= 20);
    child = await startChild(datadir);
    const bans = await child.call<BanEntryJson[]>('bans');
    const have = new Set(bans.map((b) => b.address));
    for (const a of acked) assert.ok(have.has(a), `acknowledged ban ${a} survived`);
    const info = await child.call<AddrmanInfo>('info');
    assert.equal(info.ipv4?.tried, 1, 'the tried promotion survived');
  } finally {
    if (child && child.proc.exitCode === null && child.proc.signalCode === null) {
      child.proc.kill('SIGKILL');
      await child.exited;
    }
    await seed.close();
    await target.close();
    rmSync(datadir, { recursive: true, force: true });
  }
});

test('kill -9 of a child process right after gossip (no snapshot since): the learned addresses are there after the restart', async () => {
  const datadir = mkdtempSync(join(tmpdir(), 'peerd-kill-'));
  const seed = await RawPeer.listen();
  let child: Child | undefined;
  try {
    child = await startChild(datadir, [`127.0.0.1:${seed.port}`]);
    const s = await addnodeAsksForAddresses(seed);
    // The answer to its getaddr: 300 loopback addresses on a closed port (a dial is refused at once, nothing leaves the machine).
    const now = Math.floor(Date.now() / 1000);
    const addresses: TimedNetAddress[] = Array.from({ length: 300 }, (_, i) => ({ network: 'ipv4', addr: Buffer.from([127, 1 + (i >> 8), i & 0xff, 7]), port: 1, services: 0x409n, time: now - 60 }));
    s.send({ command: 'addr', addresses });
    const list = async (c: Child) => (await c.call<NodeAddressJson[]>('addresses')).map((a) => `${a.address}:${a.port}`).sort();
    let had: string[] = [];
    const deadline = Date.now() + 10_000;
    while ((had = await list(child)).length === 0) {
      if (Date.now() > deadline) throw new Error('no address learned');
      await new Promise((r) => setTimeout(r, 20));
    }
    child.proc.kill('SIGKILL');
    await child.exited;
    // Loopback addresses are one network group, from one source: one new bucket, at most 64 of them fit.
    assert.ok(had.length >= 40, `${had.length} learned`);
    child = await startChild(datadir);
    const after = new Set(await list(child));
    const lost = had.filter((a) => !after.has(a));
    assert.deepEqual(lost, [], 'no learned address lost');
  } finally {
    if (child && child.proc.exitCode === null && child.proc.signalCode === null) {
      child.proc.kill('SIGKILL');
      await child.exited;
    }
    await seed.close();
    rmSync(datadir, { recursive: true, force: true });
  }
});
