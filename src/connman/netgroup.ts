import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/** The network an IP address belongs to, as Core's eviction logic distinguishes them. */
export type NetKind = 'ipv4' | 'ipv6' | 'onion' | 'i2p' | 'cjdns' | 'unroutable';

/** Expands an IPv6 text address to its 16 bytes (throws on malformed input). */
export function ipv6Bytes(ip: string): Buffer {
  let text = ip;
  const out = Buffer.alloc(16);
  // Trailing dotted IPv4 (::ffff:1.2.3.4).
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (v4) {
    tail = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + '0:0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest !== undefined ? (rest ? rest.split(':') : []) : [];
  const groups = rest !== undefined ? [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r] : h;
  if (groups.length !== 8) throw new TypeError(`bad IPv6 address ${ip}`);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  if (v4) Buffer.from(tail).copy(out, 12);
  return out;
}

/** Strips an IPv4-mapped IPv6 prefix (::ffff:a.b.c.d → a.b.c.d) and brackets. */
export function normalizeIp(ip: string): string {
  const s = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  return m ? m[1] : s;
}

export function isLocalIp(ip: string): boolean {
  const s = normalizeIp(ip);
  if (isIPv4(s)) return s.startsWith('127.') || s.startsWith('0.');
  if (isIPv6(s)) return ipv6Bytes(s).equals(Buffer.from('00000000000000000000000000000001', 'hex'));
  return false;
}

export function netKind(ip: string): NetKind {
  const s = normalizeIp(ip);
  if (isIPv4(s)) return 'ipv4';
  if (isIPv6(s)) return ipv6Bytes(s)[0] === 0xfc ? 'cjdns' : 'ipv6';
  if (s.endsWith('.onion')) return 'onion';
  if (s.endsWith('.i2p')) return 'i2p';
  return 'unroutable';
}

/**
 * The network group of an address, as Core's NetGroupManager::GetGroup without asmap: IPv4
 * by /16, IPv6 by /32, all local addresses one group, onion/I2P by their first 4 bits.
 * Two automatic outbound peers never share a group; eviction favours diverse groups.
 */
export function netGroup(ip: string): string {
  const s = normalizeIp(ip);
  if (isLocalIp(s)) return 'local';
  if (isIPv4(s)) {
    const [a, b] = s.split('.');
    return `ipv4:${a}.${b}`;
  }
  if (isIPv6(s)) {
    const bytes = ipv6Bytes(s);
    // 6to4 (2002::/16) and Teredo (2001:0000::/32) embed an IPv4 address: group by it, as Core does.
    if (bytes[0] === 0x20 && bytes[1] === 0x02) return `ipv4:${bytes[2]}.${bytes[3]}`;
    if (bytes.readUInt32BE(0) === 0x20010000) return `ipv4:${bytes[12] ^ 0xff}.${bytes[13] ^ 0xff}`;
    if (bytes[0] === 0xfc) return `cjdns:${(bytes[1] >> 4).toString(16)}`;
    return `ipv6:${bytes.subarray(0, 4).toString('hex')}`;
  }
  if (s.endsWith('.onion') || s.endsWith('.i2p')) return `${netKind(s)}:${s[0]}`;
  return `other:${s}`;
}

/** A keyed hash of the group (48 bits), unpredictable to peers: Core's nKeyedNetGroup. */
export function keyedNetGroup(key: Uint8Array, group: string): number {
  return createHash('sha256').update(key).update(group).digest().readUIntBE(0, 6);
}
