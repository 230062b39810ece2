/**
 * How the address book lives in the store (one LevelDB, keys under `ab!` and `ban!`):
 *
 * - `ab!key`            the 32-byte bucket key, created once (sync) and never changed;
 * - `ab!snapshot`       AddrMan.serialize(), rewritten every flush interval, on stop, and when the
 *                        journal holds 50,000 addresses;
 * - `ab!journal!<seq>`  what changed since that snapshot, in order: tried promotions (JSON, each
 *                        written with sync before the actor goes on), batches of learned
 *                        addresses (binary, one per accepted `addr`/`addrv2` or seed answer)
 *                        and failed connection attempts (JSON), both written without sync and
 *                        issued before the actor does anything else;
 *                        replayed on load after the snapshot (a record that does not decode is
 *                        skipped and counted); deleted in the same atomic batch that writes the
 *                        next snapshot (so a snapshot and the journal never overlap);
 * - `ab!anchors`        the block-relay-only peers in use (JSON), on change and on stop;
 * - `ab!corrupt!<time>` a snapshot that failed to load, moved aside (never overwritten);
 * - `ban!<subnet>`      one operator ban (JSON), written (sync) before the ban is acknowledged.
 *
 * Discouraged addresses are not stored (as Core: memory only, bounded); `discourage!<ip>` keys an
 * older peerd wrote are deleted at load.
 *
 * A crash of the actor loses nothing (every write was issued before it went on). A `kill -9` of
 * the process loses nothing either once LevelDB has handed a write to the OS (its log is written
 * with write(2) before the put completes): at most a batch whose put was still queued. Only a
 * power loss or OS crash can drop unsynced log records — learned addresses and failed attempts
 * since the last synced write — never a ban or a tried promotion (synced).
 */
import type { Db } from '../contracts/store.js';
import type { Endpoint } from '../contracts/connection.js';
import { parseSubnet, type BanList } from '../contracts/bans.js';
import { createHash } from 'node:crypto';
import { networkFromId, networkId, type AddressNetwork, type NetAddress, type TimedNetAddress } from '../wire/address.js';
import { storedLength } from '../netaddress/netaddress.js';

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

/** A batch of learned addresses, as given to AddrMan.add (source, time penalty, time). */
export interface AddrsRecord {
  readonly kind: 'addrs';
  readonly addrs: readonly TimedNetAddress[];
  readonly source: NetAddress;
  readonly penalty: number;
  readonly atSec: number;
}

/** A failed connection attempt (AddrMan.attempt): last-try time, and a failure counted unless manual. */
export interface AttemptRecord {
  readonly kind: 'attempt';
  readonly addr: NetAddress;
  readonly countFailure: boolean;
  readonly atSec: number;
}

export type JournalRecord = TriedRecord | AddrsRecord | AttemptRecord;

/** First byte of a binary batch record (JSON records start with `{`). */
const ADDRS_TAG = 0x41; // 'A'
const ADDRS_VERSION = 1;
const ADDRS_CHECK = 4;
/** Most entries in one record (an `addr` carries ≤ 1000). */
export const MAX_RECORD_ADDRS = 0xffff;

/**
 * A batch record: tag 'A', version, atSec u32, penalty u32, source (BIP155 id, length, bytes),
 * count u16, then per entry BIP155 id, length, bytes, port u16 BE, services u64, time u32, and
 * the first 4 bytes of SHA-256 over all of it. Entries of networks the address manager does not
 * store are left out (it would refuse them anyway).
 */
export function encodeAddrsRecord(r: Omit<AddrsRecord, 'kind'>): Buffer {
  const src = r.source.addr.length <= 32 ? r.source : { ...r.source, addr: r.source.addr.subarray(0, 32) };
  const list: TimedNetAddress[] = [];
  for (const a of r.addrs) if (storedLength(networkId(a.network)) === a.addr.length && list.length < MAX_RECORD_ADDRS) list.push(a);
  let size = 1 + 1 + 4 + 4 + 2 + src.addr.length + 2 + ADDRS_CHECK;
  for (const a of list) size += 2 + a.addr.length + 2 + 8 + 4;
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  out[o++] = ADDRS_TAG;
  out[o++] = ADDRS_VERSION;
  o = out.writeUInt32LE(r.atSec >>> 0, o);
  o = out.writeUInt32LE(r.penalty >>> 0, o);
  out[o++] = networkId(src.network) & 0xff;
  out[o++] = src.addr.length;
  o += src.addr.copy(out, o);
  o = out.writeUInt16LE(list.length, o);
  for (const a of list) {
    out[o++] = networkId(a.network);
    out[o++] = a.addr.length;
    o += a.addr.copy(out, o);
    o = out.writeUInt16BE(a.port & 0xffff, o);
    o = out.writeBigUInt64LE(BigInt.asUintN(64, a.services), o);
    o = out.writeUInt32LE(a.time >>> 0, o);
  }
  createHash('sha256').update(out.subarray(0, o)).digest().copy(out, o, 0, ADDRS_CHECK);
  return out;
}

/** Decodes a batch record; null for anything that is not exactly one well-formed, intact record. */
export function decodeAddrsRecord(buf: Uint8Array): AddrsRecord | null {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 1 + 1 + 4 + 4 + 2 + 2 + ADDRS_CHECK || b[0] !== ADDRS_TAG || b[1] !== ADDRS_VERSION) return null;
  const end = b.length - ADDRS_CHECK;
  if (!createHash('sha256').update(b.subarray(0, end)).digest().subarray(0, ADDRS_CHECK).equals(b.subarray(end))) return null;
  let o = 2;
  const atSec = b.readUInt32LE(o);
  const penalty = b.readUInt32LE(o + 4);
  o += 8;
  const srcNet = b[o];
  const srcLen = b[o + 1];
  o += 2;
  if (srcLen > 32 || o + srcLen + 2 > end) return null;
  const source: NetAddress = { network: networkFromId(srcNet), addr: Buffer.from(b.subarray(o, o + srcLen)), port: 0, services: 0n };
  o += srcLen;
  const n = b.readUInt16LE(o);
  o += 2;
  const addrs: TimedNetAddress[] = [];
  for (let i = 0; i < n; i++) {
    if (o + 2 > end) return null;
    const net = b[o];
    const len = b[o + 1];
    o += 2;
    if (len === 0 || storedLength(net) !== len || o + len + 14 > end) return null;
    const addr = Buffer.from(b.subarray(o, o + len));
    o += len;
    addrs.push({ network: networkFromId(net), addr, port: b.readUInt16BE(o), services: b.readBigUInt64LE(o + 2), time: b.readUInt32LE(o + 10) });
    o += 14;
  }
  if (o !== end) return null;
  return { kind: 'addrs', addrs, source, penalty, atSec };
}

/** A JSON record: a tried promotion or a failed attempt; null for anything else. */
function decodeJson(v: Buffer): TriedRecord | AttemptRecord | null {
  try {
    const j = JSON.parse(v.toString()) as { kind?: unknown; addr?: AddrJson; source?: AddrJson; atSec?: unknown; count?: unknown };
    if (j === null || typeof j !== 'object' || typeof j.atSec !== 'number' || j.addr === null || typeof j.addr !== 'object') return null;
    if (j.kind === 'attempt' && typeof j.count === 'boolean') return { kind: 'attempt', addr: addrFromJson(j.addr), countFailure: j.count, atSec: j.atSec };
    if (j.kind !== 'tried' || j.source === null || typeof j.source !== 'object') return null;
    return { kind: 'tried', addr: addrFromJson(j.addr) as TimedNetAddress, source: addrFromJson(j.source), atSec: j.atSec };
  } catch {
    return null;
  }
}

/** One journal value: a tried promotion or failed attempt (JSON), or a batch of learned addresses (binary); null when it does not decode. */
export function decodeJournalRecord(v: Buffer): JournalRecord | null {
  if (v.length > 0 && v[0] === ADDRS_TAG) return decodeAddrsRecord(v);
  if (v.length > 0 && v[0] === 0x7b) return decodeJson(v);
  return null;
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

/**
 * Journal writes issued and not yet done, per database handle. The store's handle outlives an
 * incarnation of the address book, so a restarted actor waits here for the writes its crashed
 * predecessor issued before it reads the journal (and a snapshot waits before it deletes it).
 */
const inFlight = new WeakMap<Db, Set<Promise<unknown>>>();

function track<T>(db: Db, p: Promise<T>): Promise<T> {
  let set = inFlight.get(db);
  if (set === undefined) inFlight.set(db, (set = new Set()));
  const s = set;
  const done = p.then(
    () => void s.delete(done),
    () => void s.delete(done),
  );
  s.add(done);
  return p;
}

/** Resolves once every journal write issued so far on `db` has landed (or failed). */
export async function journalSettled(db: Db): Promise<void> {
  const set = inFlight.get(db);
  if (set !== undefined && set.size > 0) await Promise.all([...set]);
}

/** The journal in order (keys sort by sequence); records that do not decode are counted in `bad`, never fatal. */
export async function loadJournal(db: Db): Promise<{ records: JournalRecord[]; nextSeq: number; bad: number }> {
  await journalSettled(db);
  const records: JournalRecord[] = [];
  let nextSeq = 0;
  let bad = 0;
  for (const [k, v] of await entriesWithPrefix(db, JOURNAL_PREFIX)) {
    const seq = Number(k.slice(JOURNAL_PREFIX.length));
    if (Number.isSafeInteger(seq)) nextSeq = Math.max(nextSeq, seq + 1);
    let r: JournalRecord | null = null;
    try {
      r = decodeJournalRecord(v);
    } catch {
      r = null;
    }
    if (r === null) bad++;
    else records.push(r);
  }
  return { records, nextSeq, bad };
}

/**
 * Appends a batch of learned addresses, not synced: the put is handed to LevelDB before this
 * returns its promise (so a crash of the caller right after cannot lose it) and lands in
 * LevelDB's log, which survives a process crash; only a power loss can drop it.
 */
export async function appendAddrs(db: Db, seq: number, r: Omit<AddrsRecord, 'kind'>): Promise<void> {
  await track(db, db.put(journalKey(seq), encodeAddrsRecord(r)));
}

export async function appendTried(db: Db, seq: number, r: TriedRecord, sync = true): Promise<void> {
  const value = JSON.stringify({ kind: 'tried', addr: addrToJson(r.addr), source: addrToJson(r.source), atSec: r.atSec });
  await track(db, sync ? db.put(journalKey(seq), Buffer.from(value), SYNC) : db.put(journalKey(seq), Buffer.from(value)));
}

/** Appends a failed attempt, not synced (as learned addresses: a kill -9 keeps it, a power loss may not). */
export async function appendAttempt(db: Db, seq: number, r: Omit<AttemptRecord, 'kind'>): Promise<void> {
  const value = JSON.stringify({ kind: 'attempt', addr: addrToJson({ ...r.addr, services: 0n }), count: r.countFailure, atSec: r.atSec });
  await track(db, db.put(journalKey(seq), Buffer.from(value)));
}

/** Writes the snapshot and drops the journal records it contains (seq < upTo), in one atomic batch. */
export async function writeSnapshot(db: Db, snapshot: Buffer, upTo: number): Promise<void> {
  await journalSettled(db);
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

/** Reads the bans into `list`; expired ones are deleted from the store, and so is every `discourage!` key of an older peerd. */
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
  for (const [k] of await entriesWithPrefix(db, DISCOURAGE_PREFIX)) drop.push(k);
  if (drop.length > 0) await db.batch(drop.map((key) => ({ type: 'del' as const, key })));
  return { loaded, expired, bad };
}

export async function putBan(db: Db, subnetText: string, createdAt: number, until: number, reason: string): Promise<void> {
  await db.put(`${BAN_PREFIX}${subnetText}`, Buffer.from(JSON.stringify({ createdAt, until: Number.isFinite(until) ? until : null, reason })), SYNC);
}

export async function delBans(db: Db, subnetTexts: readonly string[]): Promise<void> {
  if (subnetTexts.length === 0) return;
  await db.batch(
    subnetTexts.map((s) => ({ type: 'del' as const, key: `${BAN_PREFIX}${s}` })),
    SYNC,
  );
}
