/**
 * IP subnets for `--rpcallowip` and `setban` validation: `IP`, `IP/bits`, `IP/netmask` (IPv4).
 * Addresses are compared in their 16-byte form (IPv4 as IPv4-mapped IPv6).
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface IpSubnet {
  readonly base: Buffer;
  readonly bits: number;
  /** Core's text: `1.2.3.0/24`, `1.2.3.4/32`, `2001:db8::/32`. */
  readonly text: string;
}

function v6Bytes(ip: string): Buffer | null {
  let s = ip;
  // Embedded IPv4 tail (::ffff:1.2.3.4).
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m) {
    const b = m[2].split('.').map(Number);
    s = `${m[1]}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0) return null;
  const groups = [...head, ...Array<string>(fill).fill('0'), ...tail];
  if (groups.length !== 8) return null;
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(groups[i])) return null;
    out.writeUInt16BE(parseInt(groups[i], 16), i * 2);
  }
  return out;
}

export function ipBytes(ip: string): Buffer | null {
  const s = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  if (isIPv4(s)) return Buffer.concat([Buffer.from('00000000000000000000ffff', 'hex'), Buffer.from(s.split('.').map(Number))]);
  if (isIPv6(s)) return v6Bytes(s.replace(/%.*$/, ''));
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

function isMapped(b: Buffer): boolean {
  return b.subarray(0, 12).equals(Buffer.from('00000000000000000000ffff', 'hex'));
}

function formatV6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Parses a subnet; null when it is not one. */
export function parseIpSubnet(text: string): IpSubnet | null {
  const t = text.trim();
  const slash = t.indexOf('/');
  const ipText = slash < 0 ? t : t.slice(0, slash);
  const suffix = slash < 0 ? undefined : t.slice(slash + 1);
  const bytes = ipBytes(ipText);
  if (!bytes) return null;
  const v4 = isMapped(bytes);
  let bits = 128;
  if (suffix !== undefined) {
    if (/^\d{1,3}$/.test(suffix)) {
      const n = Number(suffix);
      if (n > (v4 ? 32 : 128)) return null;
      bits = v4 ? 96 + n : n;
    } else if (v4 && isIPv4(suffix)) {
      const m = suffix.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
      const bin = m.toString(2).padStart(32, '0');
      if (!/^1*0*$/.test(bin)) return null;
      bits = 96 + (bin.includes('0') ? bin.indexOf('0') : 32);
    } else return null;
  }
  const base = mask(bytes, bits);
  const text2 = v4 ? `${[...base.subarray(12)].join('.')}/${bits - 96}` : `${formatV6(base)}/${bits}`;
  return { base, bits, text: text2 };
}

export function subnetHas(s: IpSubnet, ip: string): boolean {
  const b = ipBytes(ip);
  return b !== null && mask(b, s.bits).equals(s.base);
}

export function isLoopback(ip: string): boolean {
  const b = ipBytes(ip);
  if (!b) return false;
  if (isMapped(b)) return b[12] === 127;
  return b.equals(Buffer.from('00000000000000000000000000000001', 'hex'));
}
