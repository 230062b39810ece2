/**
 * What the address book's journal of learned addresses costs (part of `npm run bench -- addrman`;
 * alone: `node dist/bench/journal.js`): addresses per second accepted through the address-book
 * actor (store + actor, no sockets: `addr` messages of 1000 and of 10 addresses from outbound
 * peers in many groups, as the peer actors forward them) with the journal on and off, and the
 * time to load a journal of 100,000 addresses (read + decode + replay into addrman; and the
 * whole restart of the actor after a crash).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime, ask, tell, type Ref, worker, startTree, type TreeHandle } from '../supervisors/index.js';
import { silentLogger } from '../src/log.js';
import { storeActor } from '../src/store/actor.js';
import { storeDb } from '../src/contracts/store.js';
import { addressBookActor, type AddressBookArgs } from '../src/addressbook/actor.js';
import type { AddressBookMsg, AddrmanInfo } from '../src/contracts/addressbook.js';
import { AddrMan } from '../src/addressbook/addrman.js';
import { loadJournal, loadKey } from '../src/addressbook/persist.js';
import type { PeerMsg } from '../src/contracts/peer.js';
import type { TimedNetAddress } from '../src/wire/address.js';
import { figureLine, type Figure } from './report.js';

const TOTAL = 100_000;
const nowhere = { path: '/bench/nowhere', name: 'nowhere', deliver: () => undefined } as unknown as Ref<PeerMsg>;

function addrAt(i: number, nowSec: number): TimedNetAddress {
  const n = Math.imul(i + 1, 0x9e3779b1) >>> 0;
  const r = Math.floor(n / 80);
  return { network: 'ipv4', addr: Buffer.from([11 + (n % 80), r & 255, (r >>> 8) & 255, ((r >>> 16) & 253) + 1]), port: 8333, services: 0x409n, time: nowSec - 600 };
}

async function tree(dir: string, over: Partial<AddressBookArgs>): Promise<TreeHandle> {
  const args: AddressBookArgs = { defaultPort: 8333, dnsSeeds: [], dnsseed: false, allowLocal: false, flushMs: 3_600_000, ...over };
  return startTree(
    {
      strategy: 'one_for_one',
      intensity: 20,
      period: 5,
      children: [worker(storeActor, { dir }, { id: 'store', shutdown: 5000 }), worker(addressBookActor, args, { id: 'addressbook', shutdown: 5000 })],
    },
    new Runtime({ logger: silentLogger() }),
  );
}

const info = (ref: Ref<AddressBookMsg>) => ask<AddressBookMsg, AddrmanInfo>(ref, (replyTo) => ({ type: 'info', replyTo }), 120_000);

/** Feeds TOTAL addresses in batches of `batch` from distinct outbound peers; returns addresses/s (until the book has handled all). */
async function feed(t: TreeHandle, batch: number, peer0: number): Promise<{ perS: number; stored: number }> {
  const ref = t.runtime.refOf<AddressBookMsg>('/root/addressbook');
  if (!ref) throw new Error('no address book');
  const nowSec = Math.floor(Date.now() / 1000);
  const msgs: AddressBookMsg[] = [];
  for (let b = 0; b < TOTAL / batch; b++) {
    const id = peer0 + b;
    msgs.push({ type: 'peer-connected', id, endpoint: { host: `${11 + (b % 80)}.${(b >>> 7) & 255}.${b & 127}.1`, port: 8333 }, connType: 'outbound-full-relay', services: 0x409n });
    const addresses = Array.from({ length: batch }, (_, j) => addrAt(b * batch + j, nowSec));
    msgs.push({ type: 'from-peer', peer: id, self: nowhere, msg: { command: 'addr', addresses }, connType: 'outbound-full-relay' });
  }
  await info(ref);
  const t0 = performance.now();
  for (const m of msgs) tell(ref, m);
  const i = await info(ref);
  const s = (performance.now() - t0) / 1000;
  return { perS: TOTAL / s, stored: i.all_networks?.total ?? 0 };
}

export async function journalFigures(): Promise<{ figures: Figure[]; notes: string[] }> {
  const figures: Figure[] = [];
  const notes: string[] = [];
  for (const batch of [1000, 10]) {
    const res: Record<string, { perS: number; stored: number }> = {};
    for (const on of [false, true]) {
      const dir = mkdtempSync(join(tmpdir(), 'peerd-bench-journal-'));
      const t = await tree(dir, { journalAddresses: on });
      try {
        await feed(t, batch, 1); // warm-up, then a fresh table's worth
        res[on ? 'on' : 'off'] = await feed(t, batch, 1_000_000);
      } finally {
        await t.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const on = res.on!;
    const off = res.off!;
    figures.push({ name: `addresses accepted through the actor, addr of ${batch}, journal on`, value: on.perS, unit: 'addr/s', baseline: { name: 'journal off', value: off.perS }, ratio: on.perS / off.perS });
    notes.push(`batches of ${batch}: ${TOTAL} addresses sent after ${TOTAL} warm-up ones; table ${on.stored} (journal on) / ${off.stored} (off); with the journal on, snapshots are written every 50,000 journaled addresses`);
  }

  // Load: a journal of TOTAL addresses (compaction off), then a crash.
  const dir = mkdtempSync(join(tmpdir(), 'peerd-bench-journal-'));
  const t = await tree(dir, { journalCompactAddrs: Infinity });
  try {
    await feed(t, 1000, 1);
    const db = await storeDb(t.runtime);
    const key = await loadKey(db, () => Buffer.alloc(32));
    let t0 = performance.now();
    const j = await loadJournal(db);
    const readMs = performance.now() - t0;
    const man = new AddrMan({ key, allowLocal: false });
    let n = 0;
    t0 = performance.now();
    for (const r of j.records) if (r.kind === 'addrs') n += man.add(r.addrs, r.source, r.penalty, r.atSec) >= 0 ? r.addrs.length : 0;
    const replayMs = performance.now() - t0;
    figures.push({ name: `load a journal of ${n.toLocaleString('en')} addresses (read + decode)`, value: readMs, unit: 'ms' });
    figures.push({ name: 'replay it into addrman', value: replayMs, unit: 'ms' });
    const ref = t.runtime.refOf<AddressBookMsg>('/root/addressbook');
    if (!ref) throw new Error('no address book');
    const before = (await info(ref)).all_networks?.total ?? 0;
    const inc = t.runtime.info('/root/addressbook')?.incarnation ?? 0;
    t0 = performance.now();
    t.kill('/root/addressbook', 'crash');
    for (;;) {
      const a = t.runtime.info('/root/addressbook');
      if (a !== undefined && a.incarnation > inc && a.status === 'idle') break;
      await new Promise((r) => setTimeout(r, 1));
    }
    const after = (await info(t.runtime.refOf<AddressBookMsg>('/root/addressbook')!)).all_networks?.total ?? 0;
    figures.push({ name: 'crash → the actor back with that journal replayed', value: performance.now() - t0, unit: 'ms' });
    notes.push(`${j.records.length} records; table ${before} before the crash, ${after} after`);
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { figures, notes };
}

const direct = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (direct) {
  const r = await journalFigures();
  for (const f of r.figures) process.stdout.write(`  ${figureLine(f)}\n`);
  for (const n of r.notes) process.stdout.write(`  note: ${n}\n`);
}
