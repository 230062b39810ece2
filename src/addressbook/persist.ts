/**
 * How the address book lives in the store (one LevelDB, keys under `ab!`, `ban!`, `discourage!`):
 *
 * - `ab!key`            the 32-byte bucket key, created once (sync) and never changed;
 * - `ab!snapshot`       AddrMan.serialize(), rewritten every flush interval and on stop;
 * - `ab!journal!<seq>`  tried promotions since that snapshot, each written with sync before the
 *                        actor goes on; replayed on load; deleted in the same atomic batch that
 *                        writes the next snapshot (so a snapshot and the journal never overlap);
 * - `ab!anchors`        the block-relay-only peers in use (JSON), on change and on stop;
 * - `ab!corrupt!<time>` a snapshot that failed to load, moved aside (never overwritten);
 * - `ban!<subnet>`      one operator ban (JSON), written (sync) before the ban is acknowledged;
 * - `discourage!<ip>`   one discouraged address until a time (sync).
 *
 * A `kill -9` can therefore lose only new-table addresses learned since the last snapshot.
 */
import type { Db } from '../store/db.js';
import type { Endpoint } from '../connman/logic.js';
import { parseSubnet, type BanList } from '../connman/bans.js';
import type { AddressNetwork, NetAddress, TimedNetAddress } from '../wire/address.js';

export const KEY_KEY = 'ab!key';
export const SNAPSHOT_KEY = 'ab!snapshot';
export const JOURNAL_PREFIX = 'ab!journal!';
export const ANCHORS_KEY = 'ab!anchors';
export const CORRUPT_PREFIX = 'ab!corrupt!';
export const BAN_PREFIX = 'ban!';
export const DISCOURAGE_PREFIX = 'discourage!';

const SYNC = { sync: true } as const;

interface AddrJson {
  readonly n: string | number;
  readonly a: string;
  readonly p: number;
  readonly s: string;
  readonly t?: number;
}

export function addrToJson(a: NetAddress): AddrJson {
  return { n: a.network, a: a.addr.toString('hex'), p: a.port, s: a.services.toString(), ...(a.time !== undefined ? { t: a.time } : {}) };
}

export function addrFromJson(j: AddrJson): NetAddress {
  return { network: j.n as AddressNetwork, addr: Buffer.from(j.a, 'hex'), port: j.p, services: BigInt(j.s), ...(j.t !== undefined ? { time: j.t } : {}) };
}

export interface TriedRecord {
  readonly kind: 'tried';
  readonly addr: TimedNetAddress;
  readonly source: NetAddress;
  readonly atSec: number;
}

export function journalKey(seq: number): string {
  return `${JOURNAL_PREFIX}${seq.toString().padStart(16, '0')}`;
}

async function keysWithPrefix(db: Db, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of db.keys({ gte: prefix, lt: `${prefix}\xff` })) out.push(k);
  return out;
}

async function entriesWithPrefix(db: Db, prefix: string): Promise<[string, Buffer][]> {
  const out: [string, Buffer][] = [];
  for await (const [k, v] of db.iterator({ gte: prefix, lt: `${prefix}\xff` })) out.push([k, v]);
  return out;
}

/** The node's secret bucket key: read, or created and written (sync) on the first start. */
export async function loadKey(db: Db, make: () => Buffer): Promise<Buffer> {
  const k = await db.get(KEY_KEY);
  if (k !== undefined && k.length === 32) return k;
  const fresh = make();
  await db.put(KEY_KEY, fresh, SYNC);
  return fresh;
}

export async function loadSnapshot(db: Db): Promise<Buffer | undefined> {
  return db.get(SNAPSHOT_KEY);
}

/** Moves an unreadable snapshot aside under a dated key (atomically), so the next write cannot destroy it. */
export async function moveSnapshotAside(db: Db, buf: Buffer, now: Date): Promise<string> {
  const key = `${CORRUPT_PREFIX}${now.toISOString()}`;
  await db.batch(
    [
      { type: 'put', key, value: buf },
      { type: 'del', key: SNAPSHOT_KEY },
    ],
    SYNC,
  );
  return key;
}

export async function loadJournal(db: Db): Promise<{ records: TriedRecord[]; nextSeq: number; bad: number }> {
  const records: TriedRecord[] = [];
  let nextSeq = 0;
  let bad = 0;
  for (const [k, v] of await entriesWithPrefix(db, JOURNAL_PREFIX)) {
    nextSeq = Math.max(nextSeq, Number(k.slice(JOURNAL_PREFIX.length)) + 1);
    try {
      const j = JSON.parse(v.toString()) as { kind: string; addr: AddrJson; source: AddrJson; atSec: number };
      if (j.kind !== 'tried') throw new Error(`unknown journal record ${j.kind}`);
      records.push({ kind: 'tried', addr: addrFromJson(j.addr) as TimedNetAddress, source: addrFromJson(j.source), atSec: j.atSec });
    } catch {
      bad++;
    }
  }
  return { records, nextSeq, bad };
}

export async function appendTried(db: Db, seq: number, r: TriedRecord): Promise<void> {
  const value = JSON.stringify({ kind: 'tried', addr: addrToJson(r.addr), source: addrToJson(r.source), atSec: r.atSec });
  await db.put(journalKey(seq), Buffer.from(value), SYNC);
}

/** Writes the snapshot and drops the journal records it contains (seq < upTo), in one atomic batch. */
export async function writeSnapshot(db: Db, snapshot: Buffer, upTo: number): Promise<void> {
  const stale = (await keysWithPrefix(db, JOURNAL_PREFIX)).filter((k) => Number(k.slice(JOURNAL_PREFIX.length)) < upTo);
  await db.batch([{ type: 'put', key: SNAPSHOT_KEY, value: snapshot }, ...stale.map((key) => ({ type: 'del' as const, key }))], SYNC);
}

export async function loadAnchors(db: Db): Promise<Endpoint[]> {
  const v = await db.get(ANCHORS_KEY);
  if (v === undefined) return [];
  try {
    const list = JSON.parse(v.toString()) as unknown;
    if (!Array.isArray(list)) return [];
    return list.filter((e): e is Endpoint => typeof e === 'object' && e !== null && typeof (e as Endpoint).host === 'string' && typeof (e as Endpoint).port === 'number');
  } catch {
    return [];
  }
}

export async function saveAnchors(db: Db, anchors: readonly Endpoint[]): Promise<void> {
  await db.put(ANCHORS_KEY, Buffer.from(JSON.stringify(anchors.map((a) => ({ host: a.host, port: a.port })))), SYNC);
}

/** Reads the bans and discouraged addresses into `list`; expired entries are deleted from the store. */
export async function loadBans(db: Db, list: BanList, nowMs: number): Promise<{ loaded: number; expired: number; bad: number }> {
  let loaded = 0;
  let expired = 0;
  let bad = 0;
  const drop: string[] = [];
  for (const [k, v] of await entriesWithPrefix(db, BAN_PREFIX)) {
    try {
      const j = JSON.parse(v.toString()) as { createdAt: number; until: number | null; reason: string };
      const subnet = parseSubnet(k.slice(BAN_PREFIX.length));
      if (subnet === null) throw new Error('bad subnet');
      const until = j.until === null ? Infinity : j.until;
      if (until <= nowMs) {
        drop.push(k);
        expired++;
        continue;
      }
      list.bans.set(subnet.text, { subnet, createdAt: j.createdAt, until, reason: j.reason });
      loaded++;
    } catch {
      bad++;
    }
  }
  for (const [k, v] of await entriesWithPrefix(db, DISCOURAGE_PREFIX)) {
    const until = Number(v.toString());
    if (!Number.isFinite(until) || until <= nowMs) {
      drop.push(k);
      expired++;
      continue;
    }
    list.discouraged.set(k.slice(DISCOURAGE_PREFIX.length), until);
    loaded++;
  }
  if (drop.length > 0) await db.batch(drop.map((key) => ({ type: 'del' as const, key })));
  return { loaded, expired, bad };
}

export async function putBan(db: Db, subnetText: string, createdAt: number, until: number, reason: string): Promise<void> {
  await db.put(`${BAN_PREFIX}${subnetText}`, Buffer.from(JSON.stringify({ createdAt, until: Number.isFinite(until) ? until : null, reason })), SYNC);
}

export async function delBans(db: Db, subnetTexts: readonly string[], ips: readonly string[] = []): Promise<void> {
  if (subnetTexts.length + ips.length === 0) return;
  await db.batch([...subnetTexts.map((s) => ({ type: 'del' as const, key: `${BAN_PREFIX}${s}` })), ...ips.map((ip) => ({ type: 'del' as const, key: `${DISCOURAGE_PREFIX}${ip}` }))], SYNC);
}

export async function putDiscouraged(db: Db, ip: string, until: number): Promise<void> {
  await db.put(`${DISCOURAGE_PREFIX}${ip}`, Buffer.from(String(until)), SYNC);
}
