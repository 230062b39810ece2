/** The address-book and store actors in a small tree (no sockets): persistence, restarts, bans, seeds, anchors. */
import { test } from 'node:test';
import { pino } from 'pino';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { ManualScheduler, Runtime, AskError, ask, tell as send, type Ref, worker, startTree, type TreeHandle } from '../../supervisors/index.js';
import { silentLogger } from '../../src/log.js';
import { storeActor } from '../../src/store/actor.js';
import { addressBookActor, type AddressBookArgs } from '../../src/addressbook/actor.js';
import type { AddressBookMsg, AddrmanInfo, BanEntryJson, BanReply, BookChanged, NodeAddressJson } from '../../src/contracts/addressbook.js';
import { AddrMan } from '../../src/addressbook/addrman.js';
import { SNAPSHOT_KEY, CORRUPT_PREFIX, JOURNAL_PREFIX, journalKey, journalSettled } from '../../src/addressbook/persist.js';
import type { Candidate } from '../../src/contracts/addressbook.js';
import type { Endpoint } from '../../src/contracts/connection.js';
import { storeDb } from '../../src/contracts/store.js';
import type { PeerMsg } from '../../src/contracts/peer.js';
import type { TimedNetAddress } from '../../src/wire/address.js';
import { until } from '../helpers/node.js';

const BASE: AddressBookArgs = { defaultPort: 18444, dnsSeeds: [], dnsseed: false, allowLocal: false, flushMs: 60_000 };

async function tree(dir: string, over: Partial<AddressBookArgs> = {}, scheduler?: ManualScheduler): Promise<TreeHandle> {
  return startTree(
    {
      strategy: 'one_for_one',
      intensity: 20,
      period: 5,
      children: [
        worker(storeActor, { dir }, { id: 'store', shutdown: 5000 }),
        worker(addressBookActor, { ...BASE, ...over }, { id: 'addressbook', shutdown: 5000 }),
      ],
    },
    new Runtime({ logger: silentLogger(), ...(scheduler ? { scheduler } : {}) }),
  );
}

function book(t: TreeHandle): Ref<AddressBookMsg> {
  const r = t.runtime.refOf<AddressBookMsg>('/root/addressbook');
  assert.ok(r, 'the address book runs');
  return r;
}

const info = (t: TreeHandle) => ask<AddressBookMsg, AddrmanInfo>(book(t), (replyTo) => ({ type: 'info', replyTo }), 2000);
const bans = (t: TreeHandle) => ask<AddressBookMsg, BanEntryJson[]>(book(t), (replyTo) => ({ type: 'list-bans', replyTo }), 2000);
const banIt = (t: TreeHandle, subnet: string, untilMs: number) =>
  ask<AddressBookMsg, BanReply>(book(t), (replyTo) => ({ type: 'ban', subnet, untilMs, reason: 'test', replyTo }), 2000);
const select = (t: TreeHandle, count = 8) =>
  ask<AddressBookMsg, readonly Candidate[]>(book(t), (replyTo) => ({ type: 'select', purpose: 'outbound', count, excludeGroups: [], replyTo }), 2000);
const flush = (t: TreeHandle) => ask<AddressBookMsg, BanReply>(book(t), (replyTo) => ({ type: 'flush', replyTo }), 5000);

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'peerd-ab-'));
}

/** Seeds the book through a DNS seed answer (the injectable resolver): the way in without a peer. */
function seeded(hosts: string[]): Partial<AddressBookArgs> {
  return { dnsseed: true, dnsSeeds: ['seed.invalid'], dnsDelayMs: 1, resolver: async () => hosts };
}

test('DNS seeds: queried through the injected resolver when the book is nearly empty; addresses stored with the seed as source', async () => {
  const dir = tmp();
  const asked: string[] = [];
  const t = await tree(dir, { dnsseed: true, dnsSeeds: ['a.seed.invalid', 'b.seed.invalid'], dnsDelayMs: 5, resolver: async (h) => (asked.push(h), h.startsWith('a') ? ['5.6.7.8', '2a01:4f8::1'] : ['23.4.5.6']) });
  try {
    await until('seeded', async () => (await info(t)).all_networks?.total === 3);
    assert.deepEqual(asked.sort(), ['a.seed.invalid', 'b.seed.invalid']);
    const i = await info(t);
    assert.equal(i.ipv4?.new, 2);
    assert.equal(i.ipv6?.new, 1);
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DNS seeds: one line for the round at the default level (how many answered, the first failure), not one per seed', async () => {
  const dir = tmp();
  const lines: { msg: string; level: number }[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as { msg: string; level: number }) });
  const seeds = ['a.seed.invalid', 'b.seed.invalid', 'c.seed.invalid', 'd.seed.invalid'];
  const t = await startTree(
    {
      strategy: 'one_for_one',
      intensity: 20,
      period: 5,
      children: [
        worker(storeActor, { dir }, { id: 'store', shutdown: 5000 }),
        worker(
          addressBookActor,
          { ...BASE, dnsseed: true, dnsSeeds: seeds, dnsDelayMs: 1, resolver: async (h) => (h.startsWith('a') ? ['5.6.7.8'] : Promise.reject(new Error(`queryA ECONNREFUSED ${h}`))) },
          { id: 'addressbook', shutdown: 5000 },
        ),
      ],
    },
    new Runtime({ logger }),
  );
  try {
    await until('the round is over', () => lines.some((l) => l.msg.startsWith('DNS seeds:')));
    const dns = lines.filter((l) => /DNS seed/.test(l.msg)).map((l) => l.msg);
    assert.deepEqual(dns, ['querying DNS seeds', 'DNS seeds: 1 of 4 answered (b.seed.invalid: queryA ECONNREFUSED b.seed.invalid, and 2 more)']);
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('persistence across a restart: new addresses (snapshot), tried promotions and bans (written at once) all come back', async () => {
  const dir = tmp();
  let t = await tree(dir, seeded(['5.6.7.8', '23.4.5.6', '31.2.3.4']));
  try {
    await until('seeded', async () => (await info(t)).all_networks?.total === 3);
    tell(t, { type: 'attempt', endpoint: { host: '23.4.5.6', port: 18444 }, ok: true, connType: 'outbound-full-relay' });
    assert.deepEqual(await banIt(t, '10.0.0.0/8', Date.now() + 3600_000), { ok: true });
    assert.equal((await banIt(t, 'not-an-ip', Date.now() + 1000)).ok, false);
    assert.equal((await info(t)).ipv4?.tried, 1);
    await t.stop();
    t = await tree(dir);
    const i = await info(t);
    assert.equal(i.all_networks?.total, 3);
    assert.equal(i.ipv4?.tried, 1);
    const b = await bans(t);
    assert.equal(b.length, 1);
    assert.equal(b[0]?.address, '10.0.0.0/8');
    assert.ok((b[0]?.time_remaining ?? 0) > 3000);
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bans expire (is-banned, list-bans) and unban/clear-bans remove them from the store', async () => {
  const dir = tmp();
  // The book's clock is a manual one: a ban expires when the node's time passes it, not after a sleep.
  const clock = new ManualScheduler();
  let t = await tree(dir, {}, clock);
  try {
    assert.equal((await banIt(t, '203.0.113.0/24', clock.wallNow() + 300)).ok, true);
    assert.equal((await banIt(t, '198.51.100.7', clock.wallNow() + 3600_000)).ok, true);
    assert.equal((await banIt(t, '198.51.100.7', clock.wallNow() + 3600_000)).error, 'Error: IP/Subnet already banned');
    const isBanned = (ip: string) => ask<AddressBookMsg, { banned: boolean; discouraged: boolean }>(book(t), (replyTo) => ({ type: 'is-banned', ip, replyTo }), 2000);
    assert.equal((await isBanned('203.0.113.77')).banned, true);
    clock.advance(299);
    assert.equal((await isBanned('203.0.113.77')).banned, true, 'not yet: 1 ms to go');
    clock.advance(1);
    assert.equal((await isBanned('203.0.113.77')).banned, false, 'expired');
    assert.deepEqual(
      (await bans(t)).map((b) => b.address),
      ['198.51.100.7/32'],
    );
    assert.equal((await ask<AddressBookMsg, BanReply>(book(t), (replyTo) => ({ type: 'unban', subnet: '198.51.100.7', replyTo }), 2000)).ok, true);
    assert.equal((await ask<AddressBookMsg, BanReply>(book(t), (replyTo) => ({ type: 'unban', subnet: '198.51.100.7', replyTo }), 2000)).ok, false);
    assert.equal((await banIt(t, '2001:db8::/32', clock.wallNow() + 3600_000)).ok, true);
    assert.equal((await ask<AddressBookMsg, BanReply>(book(t), (replyTo) => ({ type: 'clear-bans', replyTo }), 2000)).ok, true);
    await t.stop();
    t = await tree(dir, {}, clock);
    assert.deepEqual(await bans(t), []);
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupt snapshot is reported, moved aside under another key (kept), and the book starts empty but keeps bans', async () => {
  const dir = tmp();
  let t = await tree(dir, seeded(['5.6.7.8']));
  try {
    await until('seeded', async () => (await info(t)).all_networks?.total === 1);
    assert.equal((await banIt(t, '10.0.0.0/8', Date.now() + 3600_000)).ok, true);
    await t.stop();
    const db = new ClassicLevel<string, Buffer>(join(dir, 'store'), { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db.open();
    const garbage = Buffer.from('definitely not an address book');
    await db.put(SNAPSHOT_KEY, garbage);
    await db.close();
    t = await tree(dir);
    assert.equal((await info(t)).all_networks?.total, 0);
    assert.equal((await bans(t)).length, 1);
    await t.stop();
    const db2 = new ClassicLevel<string, Buffer>(join(dir, 'store'), { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db2.open();
    const aside: Buffer[] = [];
    for await (const [, v] of db2.iterator({ gte: CORRUPT_PREFIX, lt: `${CORRUPT_PREFIX}\xff` })) aside.push(v);
    await db2.close();
    assert.equal(aside.length, 1);
    assert.deepEqual(aside[0], garbage, 'the unreadable snapshot is kept byte for byte');
    t = await tree(dir);
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('killed: the address book is restarted, reloads from the store (tried via the journal, new via the snapshot) and answers select', async () => {
  const dir = tmp();
  const t = await tree(dir, seeded(['5.6.7.8', '23.4.5.6', '31.2.3.4']));
  try {
    await until('seeded', async () => (await info(t)).all_networks?.total === 3);
    assert.deepEqual(await flush(t), { ok: true });
    tell(t, { type: 'attempt', endpoint: { host: '31.2.3.4', port: 18444 }, ok: true, connType: 'outbound-full-relay' });
    assert.equal((await info(t)).ipv4?.tried, 1);
    const inc = t.runtime.info('/root/addressbook')?.incarnation;
    const ref = book(t);
    assert.ok(t.kill('/root/addressbook'));
    // While it is down, an ask fails fast (noproc), it does not hang.
    await ask<AddressBookMsg, readonly Endpoint[]>(ref, (replyTo) => ({ type: 'select', purpose: 'outbound', count: 1, excludeGroups: [], replyTo }), 2000).then(
      () => undefined,
      (e: unknown) => assert.ok(e instanceof AskError && e.code !== 'timeout', String(e)),
    );
    await until('restarted', () => (t.runtime.info('/root/addressbook')?.incarnation ?? 0) > (inc ?? 0) && t.runtime.info('/root/addressbook')?.status === 'idle');
    const i = await info(t);
    assert.equal(i.all_networks?.total, 3);
    assert.equal(i.ipv4?.tried, 1);
    const s = await select(t, 3);
    assert.ok(s.length >= 1);
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the store restarts: the address book crashes with it and comes back on the new handle', async () => {
  const dir = tmp();
  const t = await tree(dir);
  try {
    assert.equal((await banIt(t, '10.0.0.0/8', Date.now() + 3600_000)).ok, true);
    const inc = t.runtime.info('/root/addressbook')?.incarnation ?? 0;
    assert.ok(t.kill('/root/store'));
    await until('address book restarted', () => (t.runtime.info('/root/addressbook')?.incarnation ?? 0) > inc && t.runtime.info('/root/addressbook')?.status === 'idle');
    await until('answers', async () => (await bans(t).catch(() => [])).length === 1);
    assert.equal((await banIt(t, '11.0.0.0/8', Date.now() + 3600_000)).ok, true, 'writes go to the new store');
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('anchors: the block-relay-only peers in use at stop are offered first at the next start', async () => {
  const dir = tmp();
  let t = await tree(dir, seeded(['5.6.7.8', '23.4.5.6', '31.2.3.4']));
  try {
    await until('seeded', async () => (await info(t)).all_networks?.total === 3);
    tell(t, { type: 'peer-connected', id: 1, endpoint: { host: '45.1.2.3', port: 8333 }, connType: 'block-relay-only', services: 0x409n });
    tell(t, { type: 'peer-connected', id: 2, endpoint: { host: '51.1.2.3', port: 8333 }, connType: 'block-relay-only', services: 0x409n });
    tell(t, { type: 'peer-connected', id: 3, endpoint: { host: '62.1.2.3', port: 8333 }, connType: 'outbound-full-relay', services: 0x409n });
    await info(t);
    await t.stop();
    t = await tree(dir);
    const s = await select(t, 5);
    assert.deepEqual(
      s.slice(0, 2).map((e) => e.host).sort(),
      ['45.1.2.3', '51.1.2.3'],
    );
    assert.ok(s.slice(0, 2).every((e) => e.anchor === true), 'marked as anchors, for the block-relay-only slots');
    assert.ok(s.slice(2).every((e) => e.anchor !== true));
    assert.ok(!s.some((e) => e.host === '62.1.2.3'));
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

function tell(t: TreeHandle, msg: AddressBookMsg): void {
  send(book(t), msg);
}

const FIRST = [5, 23, 31, 37, 45, 51, 62, 77, 88, 91, 104, 130, 141, 152, 163, 176, 185, 193, 203, 212];
function ip4(i: number): TimedNetAddress {
  return { network: 'ipv4', addr: Buffer.from([FIRST[i % FIRST.length] as number, (i >> 5) & 0xff, (i >> 13) & 0xff, (i & 0x1f) + 1]), port: 8333, services: 0x409n, time: Math.floor(Date.now() / 1000) - 600 };
}
/** A stand-in peer ref: the batches below are solicited (no relay), so nothing is sent to it. */
const nowhere = { path: '/test/nowhere', name: 'nowhere' } as unknown as Ref<PeerMsg>;

/** Gossip as the answer to our getaddr from an outbound peer (1000 tokens): `batches` messages of `size` addresses from peer ids from `peer0`. */
function gossip(t: TreeHandle, from: number, batches: number, size: number, peer0 = 1): void {
  for (let b = 0; b < batches; b++) {
    const addresses = Array.from({ length: size }, (_, i) => ip4(from + b * size + i));
    tell(t, { type: 'from-peer', peer: peer0 + b, self: nowhere, msg: { command: 'addr', addresses }, connType: 'outbound-full-relay' });
  }
}

const addressList = async (t: TreeHandle) =>
  (await ask<AddressBookMsg, NodeAddressJson[]>(book(t), (replyTo) => ({ type: 'node-addresses', count: 0, replyTo }), 5000)).map((a) => `${a.address}:${a.port}`).sort();

async function journalKeys(t: TreeHandle): Promise<string[]> {
  const db = await storeDb(t.runtime);
  // Journal writes are not awaited by the actor: wait for those in flight, as its own load does.
  await journalSettled(db);
  const out: string[] = [];
  for await (const k of db.keys({ gte: JOURNAL_PREFIX, lt: `${JOURNAL_PREFIX}\xff` })) out.push(k);
  return out;
}

test('crash of the actor right after gossip (no snapshot since): the restarted book has every address it had accepted', async () => {
  const dir = tmp();
  const t = await tree(dir, { flushMs: 3_600_000 });
  try {
    assert.deepEqual(await flush(t), { ok: true }, 'an (empty) snapshot first: what follows is only in the journal');
    gossip(t, 0, 6, 150);
    // One of them (a placement may have refused some) moves to tried, between the batches.
    const [host, port] = ((await addressList(t))[0] ?? '').split(':');
    tell(t, { type: 'attempt', endpoint: { host: host ?? '', port: Number(port) }, ok: true, connType: 'outbound-full-relay' });
    gossip(t, 900, 2, 100, 100);
    // Asked after the gossip, answered before the crash (one mailbox, in order).
    const before = addressList(t);
    const inc = t.runtime.info('/root/addressbook')?.incarnation ?? 0;
    assert.ok(t.kill('/root/addressbook', 'crash'));
    const had = await before;
    assert.ok(had.length > 900, `${had.length} accepted`);
    await until('restarted', () => (t.runtime.info('/root/addressbook')?.incarnation ?? 0) > inc && t.runtime.info('/root/addressbook')?.status === 'idle');
    assert.deepEqual(await addressList(t), had, 'the same addresses, none lost');
    assert.equal((await info(t)).ipv4?.tried, 1, 'and the tried promotion between the batches');
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('journal compaction: a snapshot removes the journal it contains; the journal alone brings the addresses back; a large journal is compacted early', async () => {
  const dir = tmp();
  const t = await tree(dir, { flushMs: 3_600_000, journalCompactAddrs: 400 });
  try {
    gossip(t, 0, 3, 100);
    const had = await addressList(t);
    assert.equal((await journalKeys(t)).length, 3, 'one record per batch');
    assert.deepEqual(await flush(t), { ok: true });
    assert.deepEqual(await journalKeys(t), [], 'the snapshot took them in');
    gossip(t, 1000, 2, 100, 10);
    const more = await addressList(t);
    assert.ok(more.length > had.length);
    assert.equal((await journalKeys(t)).length, 2);
    gossip(t, 2000, 3, 100, 20);
    await info(t);
    // The second of these made 400 journaled: a snapshot was written early; the third is the journal now.
    assert.equal((await journalKeys(t)).length, 1);
    assert.equal((t.runtime.info('/root/addressbook')?.summary as { journaled?: number } | undefined)?.journaled, 100);
    const all = await addressList(t);
    // Crashed (no terminate): the early snapshot plus the journal after it.
    const inc = t.runtime.info('/root/addressbook')?.incarnation ?? 0;
    assert.ok(t.kill('/root/addressbook', 'crash'));
    await until('restarted', () => (t.runtime.info('/root/addressbook')?.incarnation ?? 0) > inc && t.runtime.info('/root/addressbook')?.status === 'idle');
    assert.deepEqual(await addressList(t), all);
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupt journal record is skipped and counted at load, never fatal; the records around it are replayed', async () => {
  const dir = tmp();
  const t = await tree(dir, { flushMs: 3_600_000 });
  try {
    gossip(t, 0, 1, 50);
    gossip(t, 500, 1, 50, 2);
    const had = await addressList(t);
    const keys = await journalKeys(t);
    assert.equal(keys.length, 2);
    // Damage the first record, add garbage after the second, then crash the actor (no snapshot).
    const db = await storeDb(t.runtime);
    const first = await db.get(keys[0] as string);
    assert.ok(first);
    first[first.length - 1] ^= 0x5a;
    await db.put(keys[0] as string, first);
    await db.put(journalKey(7), Buffer.from([0x41, 1, 2, 3]));
    const inc = t.runtime.info('/root/addressbook')?.incarnation ?? 0;
    assert.ok(t.kill('/root/addressbook', 'crash'));
    await until('restarted', () => (t.runtime.info('/root/addressbook')?.incarnation ?? 0) > inc && t.runtime.info('/root/addressbook')?.status === 'idle');
    const now = await addressList(t);
    const second = new Set(Array.from({ length: 50 }, (_, i) => `${[...ip4(500 + i).addr].join('.')}:8333`));
    assert.ok(now.length > 0 && now.every((a) => second.has(a)), 'the second batch only (the damaged first record is skipped)');
    // Every address of the second batch it had is back (alone, it may even place one the first batch had crowded out).
    for (const a of had) if (second.has(a)) assert.ok(now.includes(a), a);
    const summary = t.runtime.info('/root/addressbook')?.summary as { journalSkipped?: number } | undefined;
    assert.equal(summary?.journalSkipped, 2);
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('select with notify: the asker is told once at the next change of the book', async () => {
  const dir = tmp();
  const t = await tree(dir);
  try {
    const heard: string[] = [];
    const notify = { path: '/test/notify', name: 'notify', deliver: (m: { type: string }) => heard.push(m.type) } as unknown as Ref<BookChanged>;
    const empty = await ask<AddressBookMsg, readonly Candidate[]>(book(t), (replyTo) => ({ type: 'select', purpose: 'outbound', count: 4, excludeGroups: [], notify, replyTo }), 2000);
    assert.deepEqual(empty, []);
    await info(t);
    assert.deepEqual(heard, [], 'nothing changed yet');
    gossip(t, 0, 1, 20);
    gossip(t, 100, 1, 20, 2);
    await info(t);
    assert.deepEqual(heard, ['book-changed'], 'told once');
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

// Public addresses are only stored here: this tree has no connection manager, nothing is dialled.
const FIXED = ['5.6.7.8:18444', '23.4.5.6:18444', '[2a01:4f8::1]:18444', '2uqd5pbaxn26o7fl7nqtm2khetqocislppxtxrpqg55wtbcqdrf2y5qd.onion:18444'];

test('fixed seeds: added at once with --dnsseed 0 (reachable networks only, Tor left out); not with --fixedseeds 0; with DNS seeds, only once 60 s have passed', async () => {
  const dirs = [tmp(), tmp(), tmp(), tmp()];
  const trees: TreeHandle[] = [];
  try {
    const now = await tree(dirs[0] as string, { fixedSeeds: FIXED });
    trees.push(now);
    await until('fixed seeds added', async () => (await info(now)).all_networks?.total === 3);
    const i = await info(now);
    assert.deepEqual([i.ipv4?.new, i.ipv6?.new, i.onion?.total], [2, 1, 0]);

    const off = await tree(dirs[1] as string, { fixedSeeds: FIXED, fixedseeds: false });
    trees.push(off);
    // With DNS seeds on (none answering) and the start 61 s ago, the 60 s have passed: at once.
    const late = await tree(dirs[2] as string, { fixedSeeds: FIXED, dnsseed: true, startedAtMs: Date.now() - 61_000 });
    trees.push(late);
    const early = await tree(dirs[3] as string, { fixedSeeds: FIXED, dnsseed: true });
    trees.push(early);
    await until('fixed seeds added after the delay', async () => (await info(late)).all_networks?.total === 3);
    // The disabled and the waiting books have had the same time (and more) to add theirs.
    assert.equal((await info(off)).all_networks?.total, 0, '--fixedseeds 0');
    assert.equal((await info(early)).all_networks?.total, 0, 'DNS seeds get 60 s first');
  } finally {
    for (const t of trees) await t.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

/** Crashes the address book, waits for its restart, and reads the book as the new actor has it (its snapshot, through AddrMan). */
async function crashAndRead(t: Awaited<ReturnType<typeof tree>>): Promise<AddrMan> {
  const inc = t.runtime.info('/root/addressbook')?.incarnation ?? 0;
  assert.ok(t.kill('/root/addressbook', 'crash'));
  await until('restarted', () => (t.runtime.info('/root/addressbook')?.incarnation ?? 0) > inc && t.runtime.info('/root/addressbook')?.status === 'idle');
  assert.deepEqual(await flush(t), { ok: true });
  const db = await storeDb(t.runtime);
  const key = await db.get('ab!key');
  const snap = await db.get(SNAPSHOT_KEY);
  assert.ok(key && snap);
  return AddrMan.restore(snap, { key });
}

test('a success of an address already tried is journaled: after a crash its failed attempts are reset and its last success kept', async () => {
  const dir = tmp();
  const t = await tree(dir, { ...seeded(['5.6.7.8']), flushMs: 3_600_000 });
  try {
    await until('seeded', async () => (await info(t)).all_networks?.total === 1);
    const ep = { host: '5.6.7.8', port: 18444 };
    tell(t, { type: 'attempt', endpoint: ep, ok: true, connType: 'outbound-full-relay' }); // promoted to tried
    tell(t, { type: 'attempt', endpoint: ep, ok: false, connType: 'outbound-full-relay' });
    tell(t, { type: 'attempt', endpoint: ep, ok: false, connType: 'outbound-full-relay' });
    await info(t);
    assert.deepEqual(await flush(t), { ok: true }, 'snapshot: tried, 2 attempts');
    const before = Math.floor(Date.now() / 1000);
    tell(t, { type: 'attempt', endpoint: ep, ok: true, connType: 'outbound-full-relay' }); // only in the journal
    await info(t);
    const e = (await crashAndRead(t)).find({ network: 'ipv4', addr: Buffer.from([5, 6, 7, 8]), port: 18444, services: 0n });
    assert.ok(e && e.inTried);
    assert.equal(e.attempts, 0, 'the success after the snapshot reset the attempts');
    assert.ok(e.lastSuccess >= before, `its time survived (${e.lastSuccess} ≥ ${before})`);
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('failed attempts are journaled: after a crash (no snapshot since) the restarted book still has their attempts and last try', async () => {
  const dir = tmp();
  const t = await tree(dir, { ...seeded(['5.6.7.8', '23.4.5.6']), flushMs: 3_600_000 });
  try {
    await until('seeded', async () => (await info(t)).all_networks?.total === 2);
    assert.deepEqual(await flush(t), { ok: true }, 'a snapshot first: the attempts that follow are only in the journal');
    const before = Math.floor(Date.now() / 1000);
    tell(t, { type: 'attempt', endpoint: { host: '5.6.7.8', port: 18444 }, ok: false, connType: 'outbound-full-relay' });
    tell(t, { type: 'attempt', endpoint: { host: '23.4.5.6', port: 18444 }, ok: false, connType: 'manual' });
    await info(t); // both handled (one mailbox, in order)
    const man = await crashAndRead(t);
    const e = (host: string) => man.find({ network: 'ipv4', addr: Buffer.from(host.split('.').map(Number)), port: 18444, services: 0n });
    const auto = e('5.6.7.8');
    const manual = e('23.4.5.6');
    assert.ok(auto && manual);
    assert.equal(auto.attempts, 1, 'an automatic failure counts');
    assert.equal(manual.attempts, 0, 'a manual peer’s failure does not age its entry');
    assert.ok(auto.lastTry >= before && manual.lastTry >= before, 'both last-try times survived');
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('discouragement lives in memory only, as Core: nothing is written, a restart forgets it, and discourage! keys of an older peerd are deleted at load', async () => {
  const dir = tmp();
  let t = await tree(dir);
  try {
    const isBanned = (ip: string) => ask<AddressBookMsg, { banned: boolean; discouraged: boolean }>(book(t), (replyTo) => ({ type: 'is-banned', ip, replyTo }), 2000);
    tell(t, { type: 'misbehaving', endpoint: { host: '198.51.100.9', port: 8333 }, reason: 'test' });
    await until('discouraged', async () => (await isBanned('198.51.100.9')).discouraged);
    await t.stop();
    const db = new ClassicLevel<string, Buffer>(join(dir, 'store'), { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db.open();
    const written: string[] = [];
    for await (const k of db.keys({ gte: 'discourage!', lt: 'discourage!\xff' })) written.push(k);
    assert.deepEqual(written, [], 'no discourage! key written');
    // What an older peerd left behind.
    await db.put('discourage!203.0.113.5', Buffer.from(String(Date.now() + 3600_000)));
    await db.close();
    t = await tree(dir);
    assert.equal((await isBanned('198.51.100.9')).discouraged, false, 'forgotten over a restart');
    assert.equal((await isBanned('203.0.113.5')).discouraged, false, 'an old key is not loaded');
    await t.stop();
    const db2 = new ClassicLevel<string, Buffer>(join(dir, 'store'), { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db2.open();
    const left: string[] = [];
    for await (const k of db2.keys({ gte: 'discourage!', lt: 'discourage!\xff' })) left.push(k);
    await db2.close();
    assert.deepEqual(left, [], 'and it is deleted');
    t = await tree(dir);
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
