/**
 * Bans and discouragement, as plain data over an explicit clock. A ban (operator's `setban`)
 * covers a subnet until a time: no connection in either direction. Discouragement (automatic,
 * for misbehaviour) covers one address for 24 h: never dialled, and let in only while inbound
 * slots are to spare (preferred for eviction). The address book owns the list and persists the
 * bans; discouragement lives in memory only and is bounded, as Core's (a rolling bloom filter of
 * 50,000 addresses, CRollingBloomFilter(50000, 0.000001), never written to disk): at most
 * {@link MAX_DISCOURAGED} addresses, the oldest forgotten first. The connection manager receives
 * a copy (`ban-list`, contracts/addressbook.ts) and reads it with `isBanned`/`isDiscouraged`, so
 * both share this one definition.
 */
import { normalizeIp } from '../netaddress/netaddress.js';
import { parseIpSubnet, subnetHas, type IpSubnet } from '../util/subnet.js';

export const DEFAULT_BAN_MS = 24 * 3600 * 1000;
export const DISCOURAGE_MS = 24 * 3600 * 1000;
/** Discouraged addresses remembered at most (Core's filter holds 50,000); past it the oldest are forgotten. */
export const MAX_DISCOURAGED = 50_000;

/** A subnet as the operator wrote it, normalised (`1.2.3.0/24`, `2001:db8::/32`); see util/subnet.ts. */
export type Subnet = IpSubnet;

export interface BanEntry {
  readonly subnet: Subnet;
  readonly createdAt: number;
  readonly until: number;
  readonly reason: string;
}

export interface BanList {
  readonly bans: Map<string, BanEntry>;
  /** Discouraged addresses (normalised IP) → until, oldest first; at most {@link MAX_DISCOURAGED}. */
  readonly discouraged: Map<string, number>;
}

export function emptyBans(): BanList {
  return { bans: new Map(), discouraged: new Map() };
}

/** Parses `IP`, `IP/bits` or `IP/netmask` (IPv4 dotted mask); null when it is not a subnet. */
export const parseSubnet = parseIpSubnet;
export const subnetContains = subnetHas;

export function ban(list: BanList, subnet: Subnet, now: number, until: number, reason = 'manually added'): void {
  list.bans.set(subnet.text, { subnet, createdAt: now, until, reason });
}

export function unban(list: BanList, subnetText: string): boolean {
  const s = parseSubnet(subnetText);
  return s !== null && list.bans.delete(s.text);
}

/** Discourages `ip` for 24 h from `now` (again: it becomes the newest); past {@link MAX_DISCOURAGED} the oldest is forgotten. */
export function discourage(list: BanList, ip: string, now: number, max = MAX_DISCOURAGED): void {
  const key = normalizeIp(ip);
  list.discouraged.delete(key);
  list.discouraged.set(key, now + DISCOURAGE_MS);
  for (const oldest of list.discouraged.keys()) {
    if (list.discouraged.size <= max) break;
    list.discouraged.delete(oldest);
  }
}

export function isBanned(list: BanList, ip: string, now: number): boolean {
  for (const e of list.bans.values()) if (e.until > now && subnetContains(e.subnet, ip)) return true;
  return false;
}

export function isDiscouraged(list: BanList, ip: string, now: number): boolean {
  const until = list.discouraged.get(normalizeIp(ip));
  return until !== undefined && until > now;
}

/** Drops expired entries; returns how many. */
export function sweep(list: BanList, now: number): number {
  let n = 0;
  for (const [k, e] of list.bans) if (e.until <= now) n += Number(list.bans.delete(k));
  for (const [k, until] of list.discouraged) if (until <= now) n += Number(list.discouraged.delete(k));
  return n;
}
