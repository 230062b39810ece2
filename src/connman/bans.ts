/**
 * Bans and discouragement, as plain data over an explicit clock. A ban (operator's `setban`)
 * covers a subnet until a time: no connection in either direction. Discouragement (automatic,
 * for misbehaviour) covers one address for 24 h: never dialled, and let in only while inbound
 * slots are to spare (preferred for eviction). The address-book actor will own and persist this.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ipv6Bytes, normalizeIp } from './netgroup.js';

export const DEFAULT_BAN_MS = 24 * 3600 * 1000;
export const DISCOURAGE_MS = 24 * 3600 * 1000;

export interface Subnet {
  /** 16 bytes (IPv4 as IPv4-mapped IPv6). */
  readonly base: Buffer;
  /** Prefix length over the 128-bit form. */
  readonly bits: number;
  /** As the operator wrote it, normalised: `1.2.3.0/24`, `2001:db8::/32`, `1.2.3.4/32`. */
  readonly text: string;
}

export interface BanEntry {
  readonly subnet: Subnet;
  readonly createdAt: number;
  readonly until: number;
  readonly reason: string;
}

export interface BanList {
  readonly bans: Map<string, BanEntry>;
  /** Discouraged addresses (normalised IP) → until. */
  readonly discouraged: Map<string, number>;
}

export function emptyBans(): BanList {
  return { bans: new Map(), discouraged: new Map() };
}

function toBytes(ip: string): Buffer | null {
  const s = normalizeIp(ip);
  if (isIPv4(s)) return Buffer.concat([Buffer.from('00000000000000000000ffff', 'hex'), Buffer.from(s.split('.').map(Number))]);
  if (isIPv6(s)) return ipv6Bytes(s);
  return null;
}

function mask(b: Buffer, bits: number): Buffer {
  const out = Buffer.from(b);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    out[i] &= keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

/** Parses `IP`, `IP/bits` or `IP/netmask` (IPv4 dotted mask); null when it is not a subnet. */
export function parseSubnet(text: string): Subnet | null {
  const [ipText, suffix] = text.trim().split('/', 2) as [string, string | undefined];
  const ip = normalizeIp(ipText);
  const bytes = toBytes(ip);
  if (!bytes) return null;
  const v4 = isIPv4(ip);
  let bits = 128;
  if (suffix !== undefined) {
    if (/^\d+$/.test(suffix)) {
      const n = Number(suffix);
      if (n > (v4 ? 32 : 128)) return null;
      bits = v4 ? 96 + n : n;
    } else if (v4 && isIPv4(suffix)) {
      const m = suffix.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
      const ones = m.toString(2).replace(/0+$/, '');
      if (/0/.test(ones) || (m !== 0 && m.toString(2).length !== 32)) return null;
      bits = 96 + ones.length;
    } else return null;
  }
  const base = mask(bytes, bits);
  const shown = v4 ? `${[...base.subarray(12)].join('.')}/${bits - 96}` : `${formatV6(base)}/${bits}`;
  return { base, bits, text: shown };
}

function formatV6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

export function subnetContains(s: Subnet, ip: string): boolean {
  const b = toBytes(ip);
  return b !== null && mask(b, s.bits).equals(s.base);
}

export function ban(list: BanList, subnet: Subnet, now: number, until: number, reason = 'manually added'): void {
  list.bans.set(subnet.text, { subnet, createdAt: now, until, reason });
}

export function unban(list: BanList, subnetText: string): boolean {
  const s = parseSubnet(subnetText);
  return s !== null && list.bans.delete(s.text);
}

export function discourage(list: BanList, ip: string, now: number): void {
  list.discouraged.set(normalizeIp(ip), now + DISCOURAGE_MS);
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
