/**
 * The address manager's core: Bitcoin Core's addrman tables as plain data over an explicit
 * clock (times are u32 seconds passed in; nothing here reads a clock, a file or a socket).
 *
 * - A "new" table of 1024 buckets × 64 slots for addresses heard of, and a "tried" table of
 *   256 × 64 for addresses we once connected to. An address is ip + port (Core's multiport V4).
 * - Placement is a keyed hash (SipHash-2-4 under a key derived from the node's secret 32-byte
 *   key): a new address goes to one of 64 buckets chosen by its *source's* network group, so
 *   one source group can fill at most 64 × 64 slots of the 65,536; a tried address goes to one
 *   of 8 buckets chosen by its own group.
 * - An address may sit in up to 8 new buckets (heard from several sources), each further
 *   reference 2× less likely to be taken; promotion to tried (`good`) evicts a colliding tried
 *   entry only after a test (test-before-evict, resolved by `resolveCollisions`).
 * - Entries live in typed arrays indexed by an integer id (struct of arrays), addresses and
 *   sources in byte columns (IPv4 inline in a u32, longer ones in pooled 16- and 32-byte units),
 *   with an open-addressing hash index from (network, bytes, port) to id: 47 bytes of arrays per
 *   IPv4 entry (plus 8 of index), no object and no garbage per entry.
 */
import { createHash } from 'node:crypto';
import { isValidAddress, networkFromId, networkId, type NetAddress, type TimedNetAddress } from '../wire/address.js';
import { SipHasher } from './addrman-hash.js';
import { ByteColumn } from './byte-column.js';
import { NETWORK_NAMES, familyClass, isRoutableRaw, linkedIPv4Raw, storedLength, CLASS_IPV4, type NetworkName } from '../netaddress/netaddress.js';
import { MAX_GROUP_BYTES, NO_ASMAP, type NetGroupManager } from '../netaddress/netgroup.js';
import { prng } from '../util/prng.js';

// --- Core's parameters ---------------------------------------------------------------------

export const NEW_BUCKET_COUNT = 1024;
export const TRIED_BUCKET_COUNT = 256;
export const BUCKET_SIZE = 64;
/** Over how many tried buckets the entries of one group are spread. */
export const TRIED_BUCKETS_PER_GROUP = 8;
/** Over how many new buckets the entries announced by one source group are spread. */
export const NEW_BUCKETS_PER_SOURCE_GROUP = 64;
/** How many new-table references one address may have. */
export const NEW_BUCKETS_PER_ADDRESS = 8;
/** How old (seconds) an address may be before it is terrible. */
export const HORIZON = 30 * 24 * 3600;
/** Failed attempts after which a never-successful address is terrible. */
export const RETRIES = 3;
/** Successive failures … */
export const MAX_FAILURES = 10;
/** … within this many seconds since the last success make an address terrible. */
export const MIN_FAIL = 7 * 24 * 3600;
/** A tried entry that succeeded this recently (s) is not evicted by a collision. */
export const REPLACEMENT = 4 * 3600;
/** How many tried collisions wait for a test. */
export const TRIED_COLLISION_SIZE = 10;
/** After this long (s) an untested collision evicts the old entry anyway. */
export const TEST_WINDOW = 40 * 60;
/** Outbound default `getaddr` answer limits (net_processing). */
export const MAX_ADDR_TO_SEND = 1000;
export const MAX_PCT_ADDR_TO_SEND = 23;

const NEW_SLOTS = NEW_BUCKET_COUNT * BUCKET_SIZE;
const TRIED_SLOTS = TRIED_BUCKET_COUNT * BUCKET_SIZE;
/** At most every slot of both tables holds a distinct entry, plus one being added. */
const MAX_ENTRIES = NEW_SLOTS + TRIED_SLOTS + 1;
/** Longest stored address (Tor v3 and I2P are 32 bytes). */
const AB = 32;
/**
 * Select gives up (returns null) after this many draws of an entry: only reachable when
 * `exclude` rules out what is there (every draw finds an entry, and the chance factor reaches
 * 1 within ~45 draws).
 */
const MAX_SELECT_PROBES = 20_000;
/** Network classes counted per bucket (familyClass gives 1..5; 8 keeps the arithmetic simple). */
const NC = 8;
const ALL_CLASSES = (1 << NC) - 1;

// --- public types --------------------------------------------------------------------------

export interface AddrManOptions {
  /** The node's secret, 32 bytes, persisted with the book: bucket placement depends on it. */
  key: Uint8Array;
  /** Uniform in [0, 1); Math.random by default. Inject a seeded one for deterministic tests. */
  random?: () => number;
  /** Admit local and private addresses (127.0.0.1, 10/8, …): for tests and private networks. Default false. */
  allowLocal?: boolean;
  /** Network groups (bucket placement): Core's, without an asmap, by default. Share the connection manager's. */
  netgroups?: NetGroupManager;
}

/**
 * One stored address with its statistics (Core's AddrInfo). A snapshot: changing its fields
 * does not change the table.
 */
export interface AddrEntry {
  readonly addr: TimedNetAddress;
  /** Who told us (no port, no services). */
  readonly source: NetAddress;
  lastTry: number;
  lastCountAttempt: number;
  lastSuccess: number;
  attempts: number;
  refCount: number;
  inTried: boolean;
  /** Network name as counted ("ipv4", "ipv6", "onion", "i2p", "cjdns"). */
  readonly network: NetworkName;
}

export interface SelectOptions {
  /** Only from the new table (feelers). */
  newOnly?: boolean;
  nowSec: number;
  /** Skip entries for which this is true (already connected, group in use, banned, …). */
  exclude?: (e: AddrEntry) => boolean;
  /** Only these networks (names as {@link AddrEntry.network}). */
  networks?: readonly string[];
}

export interface GetAddrOptions {
  /** At most this many (0 = no limit). */
  max: number;
  /** At most this percentage of the table (0 = no limit). */
  maxPct: number;
  nowSec: number;
  /** Only this network (Core's GetNetClass: 6to4/Teredo count as ipv4). */
  network?: string;
  filter?: (e: AddrEntry) => boolean;
}

export interface AddrManCounts {
  new: Record<string, number>;
  tried: Record<string, number>;
  total: number;
}

/** A snapshot that cannot be loaded. `reason`: foreign, version, truncated, checksum, corrupt. */
export class AddrManFormatError extends Error {
  constructor(
    readonly reason: 'foreign' | 'version' | 'truncated' | 'checksum' | 'corrupt',
    detail: string,
  ) {
    super(`address book snapshot ${reason}: ${detail}`);
    this.name = 'AddrManFormatError';
  }
}

/** Stable identity of an address: BIP155 network id, address bytes (hex), port. */
export function addrKey(a: NetAddress): string {
  return `${networkId(a.network)}/${a.addr.toString('hex')}/${a.port}`;
}

/** A seeded generator of [0, 1) for tests and benchmarks (mulberry32). */
export const seededRandom = prng;

// Hash domains: distinct first bytes so no two uses of the key collide.
const D_TRIED1 = 0x54; // 'T'
const D_TRIED2 = 0x74; // 't'
const D_NEW1 = 0x4e; // 'N'
const D_NEW2 = 0x6e; // 'n'
const D_POS = 0x50; // 'P'

function deriveKey(key: Uint8Array, tag: string): Buffer {
  return createHash('sha256').update(tag).update(key).digest();
}

/**
 * The address manager. Not thread-safe, not async: one actor owns it.
 */
export class AddrMan {
  /** The network groups placement uses; the address book's outbound selection uses them too. */
  readonly netgroups: NetGroupManager;
  private readonly random: () => number;
  private readonly allowLocal: boolean;
  private readonly sip: SipHasher;
  private readonly idxSeed: number;
  private readonly keyFingerprint: Buffer;

  // Entry storage (struct of arrays), capacity grows to MAX_ENTRIES.
  private cap = 0;
  private net: Uint8Array = new Uint8Array(0); // BIP155 id; 0 = free
  private readonly addr = new ByteColumn();
  private port: Uint16Array = new Uint16Array(0);
  /** Service bits 0..31; the rare higher ones in {@link svcHigh}. */
  private svcLo: Uint32Array = new Uint32Array(0);
  /** Service bits 32..63 of the entries that have any, by id. */
  private readonly svcHigh = new Map<number, number>();
  private time: Uint32Array = new Uint32Array(0);
  private lastTry: Uint32Array = new Uint32Array(0);
  private lastCount: Uint32Array = new Uint32Array(0);
  private lastSuccess: Uint32Array = new Uint32Array(0);
  private attempts: Uint16Array = new Uint16Array(0);
  private refCount: Uint8Array = new Uint8Array(0);
  private inTried: Uint8Array = new Uint8Array(0);
  private netClass: Uint8Array = new Uint8Array(0);
  private srcNet: Uint8Array = new Uint8Array(0);
  private readonly src = new ByteColumn();
  private randPos: Int32Array = new Int32Array(0);
  private vRandom: Int32Array = new Int32Array(0);
  private nRandom = 0;
  private nextId = 0;
  private freeIds: number[] = [];

  // Hash index (open addressing, linear probing) from address to id.
  private idx: Int32Array = new Int32Array(0);
  private idxMask = 0;

  private readonly vNew = new Int32Array(NEW_SLOTS).fill(-1);
  private readonly vTried = new Int32Array(TRIED_SLOTS).fill(-1);
  private nNew = 0;
  private nTried = 0;
  private readonly netNew = new Int32Array(NETWORK_NAMES.length);
  private readonly netTried = new Int32Array(NETWORK_NAMES.length);
  /**
   * Occupancy index, per table: entries of each network class per bucket, and per class a
   * Fenwick tree over the buckets holding at least one of that class, so that select draws a
   * uniformly random non-empty bucket at once instead of probing empty ones (a sparse table of
   * 80 entries has ~95 % empty buckets).
   */
  private readonly newCnt = new Uint16Array(NEW_BUCKET_COUNT * NC);
  private readonly triedCnt = new Uint16Array(TRIED_BUCKET_COUNT * NC);
  private readonly newFen = new Int32Array((NEW_BUCKET_COUNT + 1) * NC);
  private readonly triedFen = new Int32Array((TRIED_BUCKET_COUNT + 1) * NC);
  private readonly newNonEmpty = new Int32Array(NC);
  private readonly triedNonEmpty = new Int32Array(NC);
  /** Ids waiting for test-before-evict, in arrival order. */
  private collisions: number[] = [];
  /** Time of the last good() (Core's m_last_good), so failures count once per success epoch. */
  private lastGood = 1;

  // Scratch for hash inputs.
  private readonly sb = new Uint8Array(128);
  private readonly srcGroup = new Uint8Array(MAX_GROUP_BYTES);
  private srcGroupLen = 0;

  constructor(opts: AddrManOptions) {
    if (opts.key.length !== 32) throw new RangeError('address manager key must be 32 bytes');
    this.random = opts.random ?? Math.random;
    this.allowLocal = opts.allowLocal ?? false;
    this.netgroups = opts.netgroups ?? NO_ASMAP;
    const k = deriveKey(opts.key, 'peerd/addrman/bucket');
    this.sip = new SipHasher(k);
    this.idxSeed = k.readUInt32LE(16);
    // Placement depends on the key and on the groups: a snapshot written under another asmap
    // is re-bucketed on load, as one written under another key (Core compares the asmap version).
    const asmap = this.netgroups.asmapVersion;
    this.keyFingerprint = deriveKey(opts.key, asmap === null ? 'peerd/addrman/fingerprint' : `peerd/addrman/fingerprint/asmap/${asmap}`).subarray(0, 8);
    // Full capacity at once: zero-filled typed arrays cost address space, not memory, until
    // written, and growing by copies would leave the old arrays' pages in the C heap.
    this.grow(MAX_ENTRIES);
  }

  // --- storage ---------------------------------------------------------------------------

  private grow(min: number): void {
    let cap = Math.max(this.cap, 256);
    while (cap < min) cap *= 2;
    cap = Math.min(cap, MAX_ENTRIES);
    if (cap <= this.cap) return;
    const g8 = (a: Uint8Array, n: number): Uint8Array => {
      const b = new Uint8Array(n);
      b.set(a);
      return b;
    };
    const g16 = (a: Uint16Array): Uint16Array => {
      const b = new Uint16Array(cap);
      b.set(a);
      return b;
    };
    const g32 = (a: Uint32Array): Uint32Array => {
      const b = new Uint32Array(cap);
      b.set(a);
      return b;
    };
    const gi = (a: Int32Array): Int32Array => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.net = g8(this.net, cap);
    this.addr.grow(cap);
    this.port = g16(this.port);
    this.svcLo = g32(this.svcLo);
    this.time = g32(this.time);
    this.lastTry = g32(this.lastTry);
    this.lastCount = g32(this.lastCount);
    this.lastSuccess = g32(this.lastSuccess);
    this.attempts = g16(this.attempts);
    this.refCount = g8(this.refCount, cap);
    this.inTried = g8(this.inTried, cap);
    this.netClass = g8(this.netClass, cap);
    this.srcNet = g8(this.srcNet, cap);
    this.src.grow(cap);
    this.randPos = gi(this.randPos);
    this.vRandom = gi(this.vRandom);
    this.cap = cap;
    // Index at load ≤ 3/4.
    let size = 16;
    while (size * 3 < cap * 4) size *= 2;
    if (size !== this.idx.length) {
      this.idx = new Int32Array(size).fill(-1);
      this.idxMask = size - 1;
      for (let id = 0; id < this.nextId; id++) if (this.net[id] !== 0) this.idxInsert(id);
    }
  }

  private hashAddr(netId: number, b: Uint8Array, o: number, len: number, port: number): number {
    let h = (this.idxSeed ^ Math.imul(netId + 1, 0x9e3779b1)) >>> 0;
    for (let i = 0; i < len; i++) h = Math.imul(h ^ b[o + i], 0x01000193);
    h = Math.imul(h ^ port, 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    // 30 bits: a small integer (no heap number per call); the index masks far fewer bits.
    return h & 0x3fffffff;
  }

  /** Home slot of entry `id` in the index. */
  private idxHome(id: number): number {
    return this.hashAddr(this.net[id], this.addr.buf(id), this.addr.off(id), this.addr.length(id), this.port[id]) & this.idxMask;
  }

  private idxInsert(id: number): void {
    let i = this.idxHome(id);
    while (this.idx[i] !== -1) i = (i + 1) & this.idxMask;
    this.idx[i] = id;
  }

  private idxFind(netId: number, b: Uint8Array, o: number, len: number, port: number): number {
    let i = this.hashAddr(netId, b, o, len, port) & this.idxMask;
    for (;;) {
      const id = this.idx[i];
      if (id === -1) return -1;
      if (this.net[id] === netId && this.port[id] === port && this.addr.equals(id, b, o, len)) return i;
      i = (i + 1) & this.idxMask;
    }
  }

  /** The index slot holding entry `id` (−1 if none). */
  private idxSlotOf(id: number): number {
    for (let i = this.idxHome(id); this.idx[i] !== -1; i = (i + 1) & this.idxMask) if (this.idx[i] === id) return i;
    return -1;
  }

  private idxRemoveAt(slot: number): void {
    // Backward-shift deletion keeps every probe sequence unbroken.
    const mask = this.idxMask;
    let hole = slot;
    let i = (slot + 1) & mask;
    for (;;) {
      const id = this.idx[i];
      if (id === -1) break;
      const home = this.idxHome(id);
      // Move `id` into the hole when its home is not cyclically within (hole, i].
      const dist = (i - home) & mask;
      const holeDist = (i - hole) & mask;
      if (dist >= holeDist) {
        this.idx[hole] = id;
        hole = i;
      }
      i = (i + 1) & mask;
    }
    this.idx[hole] = -1;
  }

  private setAddrBytes(id: number, b: Uint8Array): void {
    this.addr.set(id, b, 0, b.length);
  }

  /** Stores b[0, len) as entry `id`'s source. */
  private setSrcBytes(id: number, b: Uint8Array, len: number = b.length): void {
    this.src.set(id, b, 0, len);
  }

  private findIdOf(a: NetAddress): number {
    const netId = networkId(a.network);
    if (a.addr.length > AB || storedLength(netId) !== a.addr.length) return -1;
    const slot = this.idxFind(netId, a.addr, 0, a.addr.length, a.port);
    return slot < 0 ? -1 : this.idx[slot];
  }

  /** Creates a new-table entry (refCount 0, caller places it). */
  private create(a: TimedNetAddress, netId: number, source: NetAddress, srcId: number, time: number): number {
    let id: number;
    if (this.freeIds.length > 0) id = this.freeIds.pop()!;
    else {
      if (this.nextId >= this.cap) this.grow(this.nextId + 1);
      id = this.nextId++;
    }
    this.net[id] = netId;
    this.setAddrBytes(id, a.addr);
    this.port[id] = a.port;
    this.setSvc(id, a.services);
    this.time[id] = time;
    this.lastTry[id] = 0;
    this.lastCount[id] = 0;
    this.lastSuccess[id] = 0;
    this.attempts[id] = 0;
    this.refCount[id] = 0;
    this.inTried[id] = 0;
    this.netClass[id] = familyClass(netId);
    this.srcNet[id] = srcId & 0xff;
    this.setSrcBytes(id, source.addr, Math.min(source.addr.length, AB));
    this.idxInsert(id);
    this.randPos[id] = this.nRandom;
    this.vRandom[this.nRandom++] = id;
    this.nNew++;
    this.netNew[this.netClass[id]]++;
    return id;
  }

  private setSvc(id: number, s: bigint): void {
    // Without BigInt arithmetic (and its garbage) for the usual flags below 2^53.
    if (s >= 0n && s <= 0x1fffffffffffffn) {
      const n = Number(s);
      this.setSvcParts(id, n % 4294967296, Math.floor(n / 4294967296));
    } else {
      this.setSvcParts(id, Number(s & 0xffffffffn), Number((s >> 32n) & 0xffffffffn));
    }
  }

  private setSvcParts(id: number, lo: number, hi: number): void {
    this.svcLo[id] = lo;
    if (hi !== 0) this.svcHigh.set(id, hi >>> 0);
    else if (this.svcHigh.size > 0) this.svcHigh.delete(id);
  }

  private svcHi(id: number): number {
    return this.svcHigh.size === 0 ? 0 : (this.svcHigh.get(id) ?? 0);
  }

  private svc(id: number): bigint {
    const hi = this.svcHi(id);
    return hi === 0 ? BigInt(this.svcLo[id]) : (BigInt(hi) << 32n) | BigInt(this.svcLo[id]);
  }

  private swapRandom(p1: number, p2: number): void {
    if (p1 === p2) return;
    const id1 = this.vRandom[p1];
    const id2 = this.vRandom[p2];
    this.randPos[id1] = p2;
    this.randPos[id2] = p1;
    this.vRandom[p1] = id2;
    this.vRandom[p2] = id1;
  }

  /** Removes a new entry with no references (Core's Delete). */
  private remove(id: number): void {
    this.swapRandom(this.randPos[id], this.nRandom - 1);
    this.nRandom--;
    const slot = this.idxSlotOf(id);
    if (slot >= 0) this.idxRemoveAt(slot);
    this.addr.clear(id);
    this.src.clear(id);
    if (this.svcHigh.size > 0) this.svcHigh.delete(id);
    this.nNew--;
    this.netNew[this.netClass[id]]--;
    this.net[id] = 0;
    this.freeIds.push(id);
  }

  private clearNew(slot: number): void {
    const id = this.vNew[slot];
    if (id === -1) return;
    this.refCount[id]--;
    this.setNew(slot, -1);
    if (this.refCount[id] === 0) this.remove(id);
  }

  /** Every write to a new-table slot goes through here (keeps the occupancy index). */
  private setNew(slot: number, id: number): void {
    const cur = this.vNew[slot];
    if (cur === id) return;
    if (cur !== -1) this.occupy(false, slot, cur, -1);
    this.vNew[slot] = id;
    if (id !== -1) this.occupy(false, slot, id, 1);
  }

  /** Every write to a tried-table slot goes through here. */
  private setTried(slot: number, id: number): void {
    const cur = this.vTried[slot];
    if (cur === id) return;
    if (cur !== -1) this.occupy(true, slot, cur, -1);
    this.vTried[slot] = id;
    if (id !== -1) this.occupy(true, slot, id, 1);
  }

  private occupy(tried: boolean, slot: number, id: number, delta: 1 | -1): void {
    const buckets = tried ? TRIED_BUCKET_COUNT : NEW_BUCKET_COUNT;
    const cnt = tried ? this.triedCnt : this.newCnt;
    const b = Math.floor(slot / BUCKET_SIZE);
    const c = this.netClass[id];
    const k = b * NC + c;
    const before = cnt[k];
    cnt[k] = before + delta;
    // Only a bucket that gains its first or loses its last entry of the class changes the tree.
    if (delta === 1 ? before !== 0 : before !== 1) return;
    const fen = tried ? this.triedFen : this.newFen;
    const base = c * (buckets + 1);
    for (let i = b + 1; i <= buckets; i += i & -i) fen[base + i] += delta;
    (tried ? this.triedNonEmpty : this.newNonEmpty)[c] += delta;
  }

  /**
   * A uniformly random bucket of a table among those holding an entry of a class in `mask`
   * (-1 if none): what Core's "random bucket, again while empty" converges to, without the
   * empty draws. A bucket holding m of the wanted classes is found m times as often through the
   * per-class trees, so it is kept with probability 1/m.
   */
  private randomBucket(tried: boolean, mask: number): number {
    const buckets = tried ? TRIED_BUCKET_COUNT : NEW_BUCKET_COUNT;
    const nonEmpty = tried ? this.triedNonEmpty : this.newNonEmpty;
    const cnt = tried ? this.triedCnt : this.newCnt;
    const fen = tried ? this.triedFen : this.newFen;
    let total = 0;
    for (let c = 0; c < NC; c++) if ((mask & (1 << c)) !== 0) total += nonEmpty[c];
    if (total === 0) return -1;
    for (;;) {
      let r = Math.floor(this.random() * total);
      let c = 0;
      for (; c < NC - 1; c++) {
        if ((mask & (1 << c)) === 0) continue;
        if (r < nonEmpty[c]) break;
        r -= nonEmpty[c];
      }
      // The (r+1)-th non-empty bucket of class c: a Fenwick descent (buckets is a power of two).
      const base = c * (buckets + 1);
      let pos = 0;
      let rem = r + 1;
      for (let step = buckets; step > 0; step >>= 1) {
        const next = pos + step;
        if (next <= buckets && fen[base + next] < rem) {
          pos = next;
          rem -= fen[base + next];
        }
      }
      let m = 0;
      for (let k = 0; k < NC; k++) if ((mask & (1 << k)) !== 0 && cnt[pos * NC + k] > 0) m++;
      if (m <= 1 || Math.floor(this.random() * m) === 0) return pos;
    }
  }

  // --- placement ---------------------------------------------------------------------------

  /** Writes (network, length, bytes, port) of entry `id` at sb[at…]; returns the new offset. */
  private putKey(at: number, id: number): number {
    const sb = this.sb;
    const len = this.addr.length(id);
    sb[at] = this.net[id];
    sb[at + 1] = len;
    const src = this.addr.buf(id);
    const o = this.addr.off(id);
    for (let k = 0; k < len; k++) sb[at + 2 + k] = src[o + k]; // no subarray view: no garbage
    at += 2 + len;
    sb[at] = this.port[id] >>> 8;
    sb[at + 1] = this.port[id] & 0xff;
    return at + 2;
  }

  /** Writes the length-prefixed group of entry `id` at sb[at…]; returns the new offset. */
  private putGroup(at: number, id: number): number {
    const n = this.netgroups.groupInto(this.sb, at + 1, this.net[id], this.addr.buf(id), this.addr.off(id));
    this.sb[at] = n;
    return at + 1 + n;
  }

  private putSrcGroup(at: number): number {
    this.sb[at] = this.srcGroupLen;
    for (let k = 0; k < this.srcGroupLen; k++) this.sb[at + 1 + k] = this.srcGroup[k];
    return at + 1 + this.srcGroupLen;
  }

  private setSourceGroup(netId: number, b: Uint8Array, o: number, len: number): void {
    if (storedLength(netId) === len && len > 0) this.srcGroupLen = this.netgroups.groupInto(this.srcGroup, 0, netId, b, o);
    else {
      // A source of a network we do not store (should not happen): one group per network id.
      this.srcGroup[0] = 0;
      this.srcGroup[1] = netId & 0xff;
      this.srcGroupLen = 2;
    }
  }

  private triedBucket(id: number): number {
    const sb = this.sb;
    sb[0] = D_TRIED1;
    let n = this.putKey(1, id);
    const h1 = this.sip.hash30(sb, 0, n) % TRIED_BUCKETS_PER_GROUP;
    sb[0] = D_TRIED2;
    n = this.putGroup(1, id);
    sb[n++] = h1;
    return this.sip.hash30(sb, 0, n) % TRIED_BUCKET_COUNT;
  }

  /** New bucket of entry `id` as announced by the source whose group is in srcGroup. */
  private newBucket(id: number): number {
    const sb = this.sb;
    sb[0] = D_NEW1;
    let n = this.putGroup(1, id);
    n = this.putSrcGroup(n);
    const h1 = this.sip.hash30(sb, 0, n) % NEW_BUCKETS_PER_SOURCE_GROUP;
    sb[0] = D_NEW2;
    n = this.putSrcGroup(1);
    sb[n++] = h1;
    return this.sip.hash30(sb, 0, n) % NEW_BUCKET_COUNT;
  }

  private position(id: number, isNew: boolean, bucket: number): number {
    const sb = this.sb;
    sb[0] = D_POS;
    sb[1] = isNew ? 1 : 0;
    sb[2] = bucket >>> 8;
    sb[3] = bucket & 0xff;
    const n = this.putKey(4, id);
    return this.sip.hash30(sb, 0, n) % BUCKET_SIZE;
  }

  private newSlotOwnSource(id: number): number {
    this.setSourceGroup(this.srcNet[id], this.src.buf(id), this.src.off(id), this.src.length(id));
    const b = this.newBucket(id);
    return b * BUCKET_SIZE + this.position(id, true, b);
  }

  private triedSlot(id: number): number {
    const b = this.triedBucket(id);
    return b * BUCKET_SIZE + this.position(id, false, b);
  }

  // --- quality -----------------------------------------------------------------------------

  private isTerribleId(id: number, now: number): boolean {
    if (now - this.lastTry[id] <= 60) return false; // never remove things tried in the last minute
    const t = this.time[id];
    if (t > now + 600) return true; // from the future
    if (now - t > HORIZON) return true; // not seen in recent history
    if (this.lastSuccess[id] === 0 && this.attempts[id] >= RETRIES) return true; // never a success
    if (now - this.lastSuccess[id] > MIN_FAIL && this.attempts[id] >= MAX_FAILURES) return true; // failing for a week
    return false;
  }

  private chanceId(id: number, now: number): number {
    let c = 1;
    if (now - this.lastTry[id] < 600) c *= 0.01;
    return c * Math.pow(0.66, Math.min(this.attempts[id], 8));
  }

  /** Whether the entry is terrible now (Core's IsTerrible). */
  isTerrible(addr: NetAddress, nowSec: number): boolean {
    const id = this.findIdOf(addr);
    return id >= 0 && this.isTerribleId(id, nowSec);
  }

  /** Selection weight of an entry now (Core's GetChance). */
  chance(addr: NetAddress, nowSec: number): number {
    const id = this.findIdOf(addr);
    return id < 0 ? 0 : this.chanceId(id, nowSec);
  }

  // --- operations --------------------------------------------------------------------------

  /** Whether an address may be stored: a valid address of a stored network, publicly routable (or local/private with `allowLocal`). */
  acceptable(a: NetAddress): boolean {
    const netId = networkId(a.network);
    if (storedLength(netId) !== a.addr.length || !isValidAddress(a)) return false;
    if (isRoutableRaw(netId, a.addr, 0)) return true;
    return this.allowLocal && (netId === 1 || netId === 2);
  }

  /**
   * Adds addresses heard from `source` (Core's Add): new ones go to the new table with their
   * time lowered by `timePenaltySec` (none for a source announcing itself); known ones get
   * their services merged, their time refreshed when it is an hour (a day, if not seen in the
   * last day) newer, and possibly one more new-table reference. Returns how many addresses
   * were placed into a bucket (new entries or new references).
   */
  add(addrs: readonly TimedNetAddress[], source: NetAddress, timePenaltySec: number, nowSec: number): number {
    const srcId = networkId(source.network);
    this.setSourceGroup(srcId, source.addr, 0, source.addr.length);
    let added = 0;
    for (const a of addrs) if (this.addOne(a, source, srcId, timePenaltySec, nowSec)) added++;
    return added;
  }

  private addOne(a: TimedNetAddress, source: NetAddress, srcId: number, penalty: number, now: number): boolean {
    if (!this.acceptable(a)) return false;
    const netId = networkId(a.network);
    const len = a.addr.length;
    const slot = this.idxFind(netId, a.addr, 0, len, a.port);
    let id = slot < 0 ? -1 : this.idx[slot];
    // No penalty for a source announcing itself (ports aside, as Core compares).
    if (srcId === netId && source.addr.equals(a.addr)) penalty = 0;
    const atime = a.time >>> 0;
    if (id >= 0) {
      const onlineRecently = now - atime < 24 * 3600;
      const interval = onlineRecently ? 3600 : 24 * 3600;
      if (this.time[id] < atime - interval - penalty) this.time[id] = Math.max(0, atime - penalty);
      if (a.services !== 0n) {
        const lo = this.svcLo[id];
        const hi = this.svcHi(id);
        this.setSvc(id, a.services);
        this.setSvcParts(id, (this.svcLo[id] | lo) >>> 0, (this.svcHi(id) | hi) >>> 0);
      }
      if (atime <= this.time[id]) return false; // nothing new
      if (this.inTried[id] === 1) return false;
      const rc = this.refCount[id];
      if (rc >= NEW_BUCKETS_PER_ADDRESS) return false;
      // Each further reference is twice as hard to get.
      if (rc > 0 && Math.floor(this.random() * (1 << rc)) !== 0) return false;
    } else {
      id = this.create(a, netId, source, srcId, Math.max(0, atime - penalty));
    }
    const b = this.newBucket(id);
    const s = b * BUCKET_SIZE + this.position(id, true, b);
    const cur = this.vNew[s];
    if (cur === id) return false;
    let insert = cur === -1;
    if (!insert && (this.isTerribleId(cur, now) || (this.refCount[cur] > 1 && this.refCount[id] === 0))) insert = true;
    if (insert) {
      this.clearNew(s);
      this.refCount[id]++;
      this.setNew(s, id);
    } else if (this.refCount[id] === 0) {
      this.remove(id);
    }
    return insert;
  }

  /**
   * A successful connection (Core's Good): statistics reset; a new entry moves to tried,
   * unless that would evict another tried entry, when (with `testBeforeEvict`, the default) it
   * joins the collision set for {@link resolveCollisions}. Returns whether it moved.
   */
  good(addr: NetAddress, nowSec: number, testBeforeEvict = true): boolean {
    this.lastGood = nowSec;
    const id = this.findIdOf(addr);
    if (id < 0) return false;
    return this.goodId(id, nowSec, testBeforeEvict);
  }

  private goodId(id: number, now: number, testBeforeEvict: boolean): boolean {
    this.lastGood = now;
    this.lastSuccess[id] = now;
    this.lastTry[id] = now;
    this.attempts[id] = 0;
    // nTime is not updated, so as not to leak who we are connected to.
    if (this.inTried[id] === 1) return false;
    if (this.refCount[id] === 0) return false;
    const ts = this.triedSlot(id);
    if (testBeforeEvict && this.vTried[ts] !== -1) {
      if (this.collisions.length < TRIED_COLLISION_SIZE && !this.collisions.includes(id)) this.collisions.push(id);
      return false;
    }
    this.makeTried(id, ts);
    return true;
  }

  private makeTried(id: number, ts: number): void {
    // Remove every new-table reference.
    for (let b = 0; b < NEW_BUCKET_COUNT && this.refCount[id] > 0; b++) {
      const s = b * BUCKET_SIZE + this.position(id, true, b);
      if (this.vNew[s] === id) {
        this.setNew(s, -1);
        this.refCount[id]--;
      }
    }
    this.refCount[id] = 0;
    this.nNew--;
    this.netNew[this.netClass[id]]--;
    const old = this.vTried[ts];
    if (old !== -1) {
      // Move the evicted entry back to the new table, where its own source would put it.
      this.inTried[old] = 0;
      this.setTried(ts, -1);
      this.nTried--;
      this.netTried[this.netClass[old]]--;
      const ns = this.newSlotOwnSource(old);
      this.clearNew(ns);
      this.refCount[old] = 1;
      this.setNew(ns, old);
      this.nNew++;
      this.netNew[this.netClass[old]]++;
    }
    this.setTried(ts, id);
    this.nTried++;
    this.inTried[id] = 1;
    this.netTried[this.netClass[id]]++;
  }

  /** A connection attempt (Core's Attempt): failures count at most once between two good() calls. */
  attempt(addr: NetAddress, countFailure: boolean, nowSec: number): void {
    const id = this.findIdOf(addr);
    if (id < 0) return;
    this.lastTry[id] = nowSec;
    if (countFailure && this.lastCount[id] < this.lastGood) {
      this.lastCount[id] = nowSec;
      if (this.attempts[id] < 0xffff) this.attempts[id]++;
    }
  }

  /** A connection ended after being up (Core's Connected): refresh the time if older than 20 min. */
  connected(addr: NetAddress, nowSec: number): void {
    const id = this.findIdOf(addr);
    if (id < 0) return;
    if (nowSec - this.time[id] > 20 * 60) this.time[id] = nowSec;
  }

  /** The services a peer announced in its version. */
  setServices(addr: NetAddress, services: bigint): void {
    const id = this.findIdOf(addr);
    if (id >= 0) this.setSvc(id, services);
  }

  private classIndex(name: string): number {
    return (NETWORK_NAMES as readonly string[]).indexOf(name);
  }

  /**
   * An address to dial (Core's Select): tried or new with even odds when both have entries,
   * then random buckets until an entry passes its chance (recent tries and failures lower it;
   * each miss raises the bar by 1.2×). Null when nothing fits. Like Core, a draw is a random
   * bucket holding a wanted entry and, in it, the first wanted entry from a random position.
   * When fewer than half the buckets hold one, the bucket is drawn from the occupancy index
   * instead of probing (Core's way, kept for dense tables): the same distribution, without
   * thousands of empty probes on a sparse table.
   */
  select(opts: SelectOptions): AddrEntry | null {
    if (this.nRandom === 0) return null;
    const now = opts.nowSec;
    let newCount = this.nNew;
    let triedCount = this.nTried;
    let netMask = 0;
    if (opts.networks !== undefined && opts.networks.length > 0) {
      newCount = 0;
      triedCount = 0;
      for (const n of opts.networks) {
        const c = this.classIndex(n);
        if (c < 0 || (netMask & (1 << c)) !== 0) continue;
        netMask |= 1 << c;
        newCount += this.netNew[c];
        triedCount += this.netTried[c];
      }
      if (netMask === 0) return null;
    }
    if (opts.newOnly === true && newCount === 0) return null;
    if (newCount + triedCount === 0) return null;
    let useTried: boolean;
    if (opts.newOnly === true || triedCount === 0) useTried = false;
    else if (newCount === 0) useTried = true;
    else useTried = this.random() < 0.5;
    const table = useTried ? this.vTried : this.vNew;
    const buckets = useTried ? TRIED_BUCKET_COUNT : NEW_BUCKET_COUNT;
    const mask = netMask === 0 ? ALL_CLASSES : netMask;
    // At least half the buckets hold a wanted entry: Core's probing finds one in ≤ 2 tries on
    // average and is cheaper than the index; below that, the index (same distribution).
    const nonEmpty = useTried ? this.triedNonEmpty : this.newNonEmpty;
    let most = 0;
    for (let c = 0; c < NC; c++) if ((mask & (1 << c)) !== 0 && nonEmpty[c] > most) most = nonEmpty[c];
    const dense = most * 2 >= buckets;
    const exclude = opts.exclude;
    let factor = 1;
    for (let probe = 0; probe < MAX_SELECT_PROBES; probe++) {
      const bucket = dense ? Math.floor(this.random() * buckets) : this.randomBucket(useTried, mask);
      if (bucket < 0) return null;
      const start = Math.floor(this.random() * BUCKET_SIZE);
      let found = -1;
      const base = bucket * BUCKET_SIZE;
      for (let i = 0; i < BUCKET_SIZE; i++) {
        const id = table[base + ((start + i) & (BUCKET_SIZE - 1))];
        if (id !== -1 && (mask & (1 << this.netClass[id])) !== 0) {
          found = id;
          break;
        }
      }
      if (found < 0) continue;
      if (Math.floor(this.random() * 1073741824) < factor * this.chanceId(found, now) * 1073741824) {
        if (exclude === undefined) return this.entry(found);
        const e = this.entry(found);
        if (!exclude(e)) return e;
      }
      factor *= 1.2;
    }
    return null;
  }

  /**
   * Addresses to gossip (Core's GetAddr): a random sample of at most `max` and `maxPct`% of
   * the table, never a terrible one.
   */
  getAddr(opts: GetAddrOptions): TimedNetAddress[] {
    let n = this.nRandom;
    if (opts.maxPct !== 0) n = Math.floor((Math.min(opts.maxPct, 100) * n) / 100);
    if (opts.max !== 0) n = Math.min(n, opts.max);
    const wantClass = opts.network === undefined ? -1 : this.classIndex(opts.network);
    if (opts.network !== undefined && wantClass < 0) return [];
    const out: TimedNetAddress[] = [];
    for (let i = 0; i < this.nRandom && out.length < n; i++) {
      this.swapRandom(i, i + Math.floor(this.random() * (this.nRandom - i)));
      const id = this.vRandom[i];
      if (wantClass >= 0 && this.getNetClass(id) !== wantClass) continue;
      if (this.isTerribleId(id, opts.nowSec)) continue;
      if (opts.filter !== undefined && !opts.filter(this.entry(id))) continue;
      out.push(this.timedAddr(id));
    }
    return out;
  }

  private getNetClass(id: number): number {
    if (this.net[id] !== 2) return this.netClass[id];
    const b = this.addr.buf(id);
    const o = this.addr.off(id);
    return linkedIPv4Raw(2, b, o) >= 0 && isRoutableRaw(2, b, o) ? CLASS_IPV4 : this.netClass[id];
  }

  /** Settles waiting tried collisions (Core's ResolveCollisions); feelers test the old entries meanwhile. */
  resolveCollisions(nowSec: number): void {
    const keep: number[] = [];
    for (const idNew of [...this.collisions]) {
      if (this.net[idNew] === 0) continue; // gone
      const ts = this.triedSlot(idNew);
      const idOld = this.vTried[ts];
      let erase = false;
      if (idOld === -1) {
        this.goodId(idNew, nowSec, false); // no longer a collision
        erase = true;
      } else if (idOld === idNew) {
        erase = true;
      } else if (nowSec - this.lastSuccess[idOld] < REPLACEMENT) {
        erase = true; // the old one works: keep it
      } else if (nowSec - this.lastTry[idOld] < REPLACEMENT) {
        // Tried recently and not successful: after a minute's grace, replace it.
        if (nowSec - this.lastTry[idOld] > 60) {
          this.goodId(idNew, nowSec, false);
          erase = true;
        }
      } else if (nowSec - this.lastSuccess[idNew] > TEST_WINDOW) {
        // Never tested in the window: evict anyway.
        this.goodId(idNew, nowSec, false);
        erase = true;
      }
      if (!erase) keep.push(idNew);
    }
    this.collisions = keep;
  }

  /** The tried entry a waiting collision would evict, for a feeler to test (Core's SelectTriedCollision). */
  selectTriedCollision(_nowSec: number): AddrEntry | null {
    if (this.collisions.length === 0) return null;
    const i = Math.floor(this.random() * this.collisions.length);
    const idNew = this.collisions[i];
    if (this.net[idNew] === 0) {
      this.collisions.splice(i, 1);
      return null;
    }
    const idOld = this.vTried[this.triedSlot(idNew)];
    return idOld === -1 ? null : this.entry(idOld);
  }

  /** How many collisions wait for a test. */
  get collisionCount(): number {
    return this.collisions.length;
  }

  find(addr: NetAddress): AddrEntry | undefined {
    const id = this.findIdOf(addr);
    return id < 0 ? undefined : this.entry(id);
  }

  get size(): number {
    return this.nRandom;
  }

  get newCount(): number {
    return this.nNew;
  }

  get triedCount(): number {
    return this.nTried;
  }

  counts(): AddrManCounts {
    const nw: Record<string, number> = {};
    const tr: Record<string, number> = {};
    for (let c = 1; c < NETWORK_NAMES.length; c++) {
      if (c === 6) continue;
      nw[NETWORK_NAMES[c]] = this.netNew[c];
      tr[NETWORK_NAMES[c]] = this.netTried[c];
    }
    return { new: nw, tried: tr, total: this.nRandom };
  }

  /** Every entry, in no particular order (for introspection and tests). */
  *entries(): IterableIterator<AddrEntry> {
    for (let i = 0; i < this.nRandom; i++) yield this.entry(this.vRandom[i]);
  }

  /** Where an entry sits: its tried slot or new slots as bucket × 64 + position (tests, introspection). */
  placement(addr: NetAddress): { tried: number | null; newSlots: number[] } | undefined {
    const id = this.findIdOf(addr);
    if (id < 0) return undefined;
    if (this.inTried[id] === 1) return { tried: this.triedSlot(id), newSlots: [] };
    const slots: number[] = [];
    for (let b = 0; b < NEW_BUCKET_COUNT; b++) {
      const s = b * BUCKET_SIZE + this.position(id, true, b);
      if (this.vNew[s] === id) slots.push(s);
    }
    return { tried: null, newSlots: slots };
  }

  /** How many distinct new buckets hold at least one entry. */
  usedNewBuckets(): number {
    let n = 0;
    for (let b = 0; b < NEW_BUCKET_COUNT; b++) {
      for (let i = 0; i < BUCKET_SIZE; i++) {
        if (this.vNew[b * BUCKET_SIZE + i] !== -1) {
          n++;
          break;
        }
      }
    }
    return n;
  }

  private timedAddr(id: number): TimedNetAddress {
    return {
      network: networkFromId(this.net[id]),
      addr: this.addr.copy(id),
      port: this.port[id],
      services: this.svc(id),
      time: this.time[id],
    };
  }

  private entry(id: number): AddrEntry {
    return {
      addr: this.timedAddr(id),
      source: { network: networkFromId(this.srcNet[id]), addr: this.src.copy(id), port: 0, services: 0n },
      lastTry: this.lastTry[id],
      lastCountAttempt: this.lastCount[id],
      lastSuccess: this.lastSuccess[id],
      attempts: this.attempts[id],
      refCount: this.refCount[id],
      inTried: this.inTried[id] === 1,
      network: NETWORK_NAMES[this.netClass[id]],
    };
  }

  /** Internal consistency check (Core's CheckAddrman), for tests: returns a description of the first problem, or null. */
  check(): string | null {
    let nNew = 0;
    let nTried = 0;
    const refs = new Map<number, number>();
    for (let s = 0; s < NEW_SLOTS; s++) {
      const id = this.vNew[s];
      if (id === -1) continue;
      if (this.net[id] === 0) return `new slot ${s} holds a free id`;
      if (this.inTried[id] === 1) return `new slot ${s} holds a tried entry`;
      if (s % BUCKET_SIZE !== this.position(id, true, Math.floor(s / BUCKET_SIZE))) return `new slot ${s} at the wrong position`;
      refs.set(id, (refs.get(id) ?? 0) + 1);
    }
    for (let s = 0; s < TRIED_SLOTS; s++) {
      const id = this.vTried[s];
      if (id === -1) continue;
      if (this.inTried[id] !== 1) return `tried slot ${s} holds a new entry`;
      if (this.triedSlot(id) !== s) return `tried slot ${s} is not the entry's slot`;
      nTried++;
    }
    for (let i = 0; i < this.nRandom; i++) {
      const id = this.vRandom[i];
      if (this.randPos[id] !== i) return `random position of ${id}`;
      if (this.inTried[id] === 1) continue;
      nNew++;
      if ((refs.get(id) ?? 0) !== this.refCount[id] || this.refCount[id] === 0) return `refcount of ${id}`;
      if (this.findIdOf(this.timedAddr(id)) !== id) return `index of ${id}`;
    }
    if (nNew !== this.nNew || nTried !== this.nTried) return `counts new ${nNew}/${this.nNew} tried ${nTried}/${this.nTried}`;
    return this.checkIndex(false) ?? this.checkIndex(true);
  }

  /** The occupancy index agrees with the table. */
  private checkIndex(tried: boolean): string | null {
    const buckets = tried ? TRIED_BUCKET_COUNT : NEW_BUCKET_COUNT;
    const table = tried ? this.vTried : this.vNew;
    const cnt = tried ? this.triedCnt : this.newCnt;
    const fen = tried ? this.triedFen : this.newFen;
    const nonEmpty = tried ? this.triedNonEmpty : this.newNonEmpty;
    const want = new Uint16Array(buckets * NC);
    for (let s = 0; s < buckets * BUCKET_SIZE; s++) if (table[s] !== -1) want[Math.floor(s / BUCKET_SIZE) * NC + this.netClass[table[s]]]++;
    const name = tried ? 'tried' : 'new';
    for (let k = 0; k < want.length; k++) if (want[k] !== cnt[k]) return `${name} index count of bucket ${Math.floor(k / NC)} class ${k % NC}`;
    for (let c = 0; c < NC; c++) {
      let n = 0;
      for (let b = 0; b < buckets; b++) {
        if (want[b * NC + c] > 0) n++;
        // prefix sum through the tree
        let sum = 0;
        for (let i = b + 1; i > 0; i -= i & -i) sum += fen[c * (buckets + 1) + i];
        if (sum !== n) return `${name} index tree of class ${c} at bucket ${b}`;
      }
      if (n !== nonEmpty[c]) return `${name} index non-empty count of class ${c}`;
    }
    return null;
  }

  // --- persistence -------------------------------------------------------------------------

  /**
   * A snapshot: magic "PDAM", format version, key fingerprint, then the entries in the order
   * of the random-access list (so getAddr continues identically), each with its new-bucket
   * numbers (positions follow from the key), then the collision set, then the first 8 bytes
   * of SHA-256 over all of it. The key itself is not included.
   */
  serialize(): Buffer {
    return serializeAddrMan(this.exportState());
  }

  static restore(buf: Buffer, opts: AddrManOptions): AddrMan {
    const am = new AddrMan(opts);
    try {
      am.importState(parseSnapshot(buf), buf.length);
    } catch (e) {
      if (e instanceof AddrManFormatError) throw e;
      throw new AddrManFormatError('corrupt', e instanceof Error ? e.message : String(e));
    }
    return am;
  }

  private exportState(): SnapshotState {
    const entries: SnapshotEntry[] = [];
    const order = new Int32Array(this.cap).fill(-1);
    for (let i = 0; i < this.nRandom; i++) order[this.vRandom[i]] = i;
    for (let i = 0; i < this.nRandom; i++) {
      const id = this.vRandom[i];
      const buckets: number[] = [];
      entries.push({
        net: this.net[id],
        addr: this.addr.copy(id),
        port: this.port[id],
        svcLo: this.svcLo[id],
        svcHi: this.svcHi(id),
        time: this.time[id],
        lastTry: this.lastTry[id],
        lastCount: this.lastCount[id],
        lastSuccess: this.lastSuccess[id],
        attempts: this.attempts[id],
        tried: this.inTried[id] === 1,
        srcNet: this.srcNet[id],
        src: this.src.copy(id),
        buckets,
      });
    }
    // New-table references, bucket by bucket.
    for (let s = 0; s < NEW_SLOTS; s++) {
      const id = this.vNew[s];
      if (id !== -1) entries[order[id]].buckets.push(Math.floor(s / BUCKET_SIZE));
    }
    return { fingerprint: this.keyFingerprint, lastGood: this.lastGood, entries, collisions: this.collisions.map((id) => order[id]) };
  }

  private importState(st: SnapshotState, _size: number): void {
    const sameKey = st.fingerprint.equals(this.keyFingerprint);
    if (st.entries.length > MAX_ENTRIES) throw new AddrManFormatError('corrupt', `${st.entries.length} entries`);
    this.grow(st.entries.length);
    const ids: number[] = [];
    for (let i = 0; i < st.entries.length; i++) {
      const e = st.entries[i];
      const network = networkFromId(e.net);
      const probe: NetAddress = { network, addr: Buffer.from(e.addr), port: e.port, services: 0n };
      if (!this.acceptableRaw(e.net, e.addr)) {
        if (!isValidAddress(probe) || storedLength(e.net) !== e.addr.length) throw new AddrManFormatError('corrupt', `entry ${i}: invalid address`);
        ids.push(-1); // local/private without allowLocal: dropped
        continue;
      }
      if (this.findIdOf(probe) >= 0) throw new AddrManFormatError('corrupt', `entry ${i}: duplicate address`);
      if (e.tried && e.buckets.length > 0) throw new AddrManFormatError('corrupt', `entry ${i}: tried with new references`);
      if (!e.tried && e.buckets.length === 0) throw new AddrManFormatError('corrupt', `entry ${i}: new without references`);
      if (e.buckets.length > NEW_BUCKETS_PER_ADDRESS) throw new AddrManFormatError('corrupt', `entry ${i}: ${e.buckets.length} references`);
      const id = this.nextId++;
      this.net[id] = e.net;
      this.setAddrBytes(id, e.addr);
      this.port[id] = e.port;
      this.setSvcParts(id, e.svcLo, e.svcHi);
      this.time[id] = e.time;
      this.lastTry[id] = e.lastTry;
      this.lastCount[id] = e.lastCount;
      this.lastSuccess[id] = e.lastSuccess;
      this.attempts[id] = Math.min(e.attempts, 0xffff);
      this.refCount[id] = 0;
      this.inTried[id] = 0;
      this.netClass[id] = familyClass(e.net);
      this.srcNet[id] = e.srcNet;
      this.setSrcBytes(id, e.src);
      this.idxInsert(id);
      this.randPos[id] = this.nRandom;
      this.vRandom[this.nRandom++] = id;
      ids.push(id);
      if (e.tried) {
        const ts = this.triedSlot(id);
        if (this.vTried[ts] !== -1) {
          if (sameKey) throw new AddrManFormatError('corrupt', `entry ${i}: tried slot taken`);
          // Re-bucketed under another key: keep it as a new entry if its own slot is free.
          const ns = this.newSlotOwnSource(id);
          if (this.vNew[ns] === -1) {
            this.setNew(ns, id);
            this.refCount[id] = 1;
          }
        } else {
          this.setTried(ts, id);
          this.inTried[id] = 1;
        }
      } else {
        const seen = new Set<number>();
        for (const b of e.buckets) {
          if (b >= NEW_BUCKET_COUNT || seen.has(b)) throw new AddrManFormatError('corrupt', `entry ${i}: bucket ${b}`);
          seen.add(b);
          const s = sameKey ? b * BUCKET_SIZE + this.position(id, true, b) : this.newSlotOwnSource(id);
          if (this.vNew[s] !== -1) {
            if (sameKey) throw new AddrManFormatError('corrupt', `entry ${i}: new slot taken`);
            continue;
          }
          this.setNew(s, id);
          this.refCount[id]++;
        }
      }
    }
    // Entries left without a place (re-bucketing only) are dropped, as Core does.
    for (let i = ids.length - 1; i >= 0; i--) {
      const id = ids[i];
      if (id >= 0 && this.inTried[id] === 0 && this.refCount[id] === 0) {
        // counted as new for a moment so remove() balances
        this.nNew++;
        this.netNew[this.netClass[id]]++;
        this.remove(id);
        ids[i] = -1;
      }
    }
    for (let i = 0; i < this.nRandom; i++) {
      const id = this.vRandom[i];
      if (this.inTried[id] === 1) {
        this.nTried++;
        this.netTried[this.netClass[id]]++;
      } else {
        this.nNew++;
        this.netNew[this.netClass[id]]++;
      }
    }
    // Dropped entries may leave holes in the id space: keep them on the free list.
    const seenColl = new Set<number>();
    for (const c of st.collisions) {
      if (c >= ids.length || seenColl.has(c)) throw new AddrManFormatError('corrupt', `collision ${c}`);
      seenColl.add(c);
      if (ids[c] >= 0) this.collisions.push(ids[c]);
    }
    this.lastGood = st.lastGood;
    const problem = this.check();
    if (problem !== null) throw new AddrManFormatError('corrupt', problem);
  }

  private acceptableRaw(netId: number, b: Uint8Array): boolean {
    if (storedLength(netId) !== b.length || b.length === 0) return false;
    const a: NetAddress = { network: networkFromId(netId), addr: Buffer.from(b), port: 0, services: 0n };
    if (!isValidAddress(a)) return false;
    if (isRoutableRaw(netId, b, 0)) return true;
    return this.allowLocal && (netId === 1 || netId === 2);
  }
}

// --- snapshot codec ----------------------------------------------------------------------------

const MAGIC = Buffer.from('PDAM', 'ascii');
const FORMAT_VERSION = 1;
const CHECKSUM_SIZE = 8;

interface SnapshotEntry {
  net: number;
  addr: Uint8Array;
  port: number;
  svcLo: number;
  svcHi: number;
  time: number;
  lastTry: number;
  lastCount: number;
  lastSuccess: number;
  attempts: number;
  tried: boolean;
  srcNet: number;
  src: Uint8Array;
  buckets: number[];
}

interface SnapshotState {
  fingerprint: Buffer;
  lastGood: number;
  entries: SnapshotEntry[];
  collisions: number[];
}

function serializeAddrMan(st: SnapshotState): Buffer {
  let size = 4 + 1 + 8 + 4 + 4 + 1 + 4 * st.collisions.length + CHECKSUM_SIZE;
  for (const e of st.entries) size += 1 + 1 + 1 + e.addr.length + 2 + 8 + 20 + 1 + 1 + e.src.length + 1 + 2 * e.buckets.length;
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  MAGIC.copy(out, o);
  o += 4;
  out[o++] = FORMAT_VERSION;
  st.fingerprint.copy(out, o);
  o += 8;
  out.writeUInt32LE(st.lastGood >>> 0, o);
  o += 4;
  out.writeUInt32LE(st.entries.length, o);
  o += 4;
  for (const e of st.entries) {
    out[o++] = e.tried ? 1 : 0;
    out[o++] = e.net;
    out[o++] = e.addr.length;
    out.set(e.addr, o);
    o += e.addr.length;
    out.writeUInt16BE(e.port, o);
    out.writeUInt32LE(e.svcLo, o + 2);
    out.writeUInt32LE(e.svcHi, o + 6);
    out.writeUInt32LE(e.time, o + 10);
    out.writeUInt32LE(e.lastTry, o + 14);
    out.writeUInt32LE(e.lastCount, o + 18);
    out.writeUInt32LE(e.lastSuccess, o + 22);
    out.writeUInt32LE(e.attempts, o + 26);
    o += 30;
    out[o++] = e.srcNet;
    out[o++] = e.src.length;
    out.set(e.src, o);
    o += e.src.length;
    out[o++] = e.buckets.length;
    for (const b of e.buckets) {
      out.writeUInt16LE(b, o);
      o += 2;
    }
  }
  out[o++] = st.collisions.length;
  for (const c of st.collisions) {
    out.writeUInt32LE(c, o);
    o += 4;
  }
  createHash('sha256').update(out.subarray(0, o)).digest().copy(out, o, 0, CHECKSUM_SIZE);
  o += CHECKSUM_SIZE;
  return out.subarray(0, o);
}

function parseSnapshot(buf: Buffer): SnapshotState {
  if (!Buffer.isBuffer(buf)) throw new AddrManFormatError('foreign', 'not a buffer');
  if (buf.length < 4 || !buf.subarray(0, 4).equals(MAGIC)) throw new AddrManFormatError('foreign', 'no PDAM magic');
  if (buf.length < 5) throw new AddrManFormatError('truncated', `${buf.length} bytes`);
  if (buf[4] !== FORMAT_VERSION) throw new AddrManFormatError('version', `format ${buf[4]}, this build reads ${FORMAT_VERSION}`);
  const min = 4 + 1 + 8 + 4 + 4 + 1 + CHECKSUM_SIZE;
  if (buf.length < min) throw new AddrManFormatError('truncated', `${buf.length} bytes`);
  const body = buf.subarray(0, buf.length - CHECKSUM_SIZE);
  const sum = createHash('sha256').update(body).digest().subarray(0, CHECKSUM_SIZE);
  if (!sum.equals(buf.subarray(buf.length - CHECKSUM_SIZE))) throw new AddrManFormatError('checksum', 'checksum mismatch (truncated or damaged)');
  let o = 5;
  const need = (n: number, what: string): void => {
    if (o + n > body.length) throw new AddrManFormatError('corrupt', `${what} runs past the end`);
  };
  need(16, 'header');
  const fingerprint = Buffer.from(body.subarray(o, o + 8));
  o += 8;
  const lastGood = body.readUInt32LE(o);
  o += 4;
  const n = body.readUInt32LE(o);
  o += 4;
  if (n > MAX_ENTRIES) throw new AddrManFormatError('corrupt', `${n} entries`);
  const entries: SnapshotEntry[] = [];
  for (let i = 0; i < n; i++) {
    need(3, `entry ${i}`);
    const flags = body[o++];
    if (flags > 1) throw new AddrManFormatError('corrupt', `entry ${i}: flags ${flags}`);
    const net = body[o++];
    const alen = body[o++];
    if (alen === 0 || alen > AB || storedLength(net) !== alen) throw new AddrManFormatError('corrupt', `entry ${i}: network ${net} length ${alen}`);
    need(alen + 30 + 2, `entry ${i}`);
    const addr = body.subarray(o, o + alen);
    o += alen;
    const port = body.readUInt16BE(o);
    const svcLo = body.readUInt32LE(o + 2);
    const svcHi = body.readUInt32LE(o + 6);
    const time = body.readUInt32LE(o + 10);
    const lastTry = body.readUInt32LE(o + 14);
    const lastCount = body.readUInt32LE(o + 18);
    const lastSuccess = body.readUInt32LE(o + 22);
    const attempts = body.readUInt32LE(o + 26);
    o += 30;
    const srcNet = body[o++];
    const slen = body[o++];
    if (slen > AB) throw new AddrManFormatError('corrupt', `entry ${i}: source length ${slen}`);
    need(slen + 1, `entry ${i}`);
    const src = body.subarray(o, o + slen);
    o += slen;
    const nb = body[o++];
    if (nb > NEW_BUCKETS_PER_ADDRESS) throw new AddrManFormatError('corrupt', `entry ${i}: ${nb} references`);
    need(2 * nb, `entry ${i}`);
    const buckets: number[] = [];
    for (let k = 0; k < nb; k++) {
      buckets.push(body.readUInt16LE(o));
      o += 2;
    }
    entries.push({ net, addr, port, svcLo, svcHi, time, lastTry, lastCount, lastSuccess, attempts, tried: flags === 1, srcNet, src, buckets });
  }
  need(1, 'collisions');
  const nc = body[o++];
  if (nc > TRIED_COLLISION_SIZE) throw new AddrManFormatError('corrupt', `${nc} collisions`);
  need(4 * nc, 'collisions');
  const collisions: number[] = [];
  for (let k = 0; k < nc; k++) {
    collisions.push(body.readUInt32LE(o));
    o += 4;
  }
  if (o !== body.length) throw new AddrManFormatError('corrupt', `${body.length - o} bytes after the end`);
  return { fingerprint, lastGood, entries, collisions };
}
