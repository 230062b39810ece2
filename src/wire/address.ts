/**
 * Network addresses as the P2P protocol carries them (protocol.h CAddress, netaddress.h CNetAddr):
 *
 * - legacy (v1): services u64 LE, 16-byte IPv6 (IPv4 as ::ffff:a.b.c.d), port big-endian;
 *   30 bytes with the u32 time prefix used in `addr`, 26 without (in `version`).
 * - BIP155 (v2, `addrv2`): time u32, services CompactSize, network id u8, length-prefixed
 *   address (≤ 512 bytes), port big-endian.
 *
 * Core's reading rules, followed here: a known network whose address length is wrong fails the
 * whole message; an unknown network id — and TORv2 (id 3), which Core no longer knows — is
 * skipped without failing it; IPv4 or TORv2 embedded in a BIP155 IPv6 address, and a CJDNS
 * address not starting with 0xfc, are read but invalid. This codec keeps every entry (so a
 * message round-trips byte for byte) and {@link isValidAddress} says which ones Core would use.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Reader, Writer } from './buffer.js';
import { BIP155_CJDNS, BIP155_I2P, BIP155_IPV4, BIP155_IPV6, BIP155_TORV2, BIP155_TORV3, MAX_ADDRV2_SIZE } from './constants.js';

export type NetworkTag = 'ipv4' | 'ipv6' | 'torv2' | 'torv3' | 'i2p' | 'cjdns';

/** A network: one of the known tags, or the raw BIP155 id of a network this codec does not know. */
export type AddressNetwork = NetworkTag | number;

export interface NetAddress {
  readonly network: AddressNetwork;
  /** Address bytes: 4 for ipv4, 16 for ipv6/cjdns, 10 torv2, 32 torv3/i2p; anything ≤ 512 for unknown networks. */
  readonly addr: Buffer;
  readonly port: number;
  readonly services: bigint;
  /** Last-seen time (u32 seconds) when the encoding carries one (`addr`, `addrv2`); absent in `version`. */
  readonly time?: number;
}

/** An address with its time, as `addr` and `addrv2` carry them. */
export interface TimedNetAddress extends NetAddress {
  readonly time: number;
}

export const ADDR_V1_SIZE = 26;
export const ADDR_V1_TIMED_SIZE = 30;
/** Smallest BIP155 entry: time 4, services 1, network 1, length 1, port 2. */
export const ADDR_V2_MIN_SIZE = 9;

const NETWORK_IDS: Readonly<Record<NetworkTag, number>> = { ipv4: BIP155_IPV4, ipv6: BIP155_IPV6, torv2: BIP155_TORV2, torv3: BIP155_TORV3, i2p: BIP155_I2P, cjdns: BIP155_CJDNS };
const ADDR_SIZES: Readonly<Record<NetworkTag, number>> = { ipv4: 4, ipv6: 16, torv2: 10, torv3: 32, i2p: 32, cjdns: 16 };

const IPV4_IN_IPV6 = Buffer.from('00000000000000000000ffff', 'hex');
const TORV2_IN_IPV6 = Buffer.from('fd87d87eeb43', 'hex');
const INTERNAL_IN_IPV6 = Buffer.from('fd6b88c08724', 'hex');

/** The BIP155 network id of an address. */
export function networkId(network: AddressNetwork): number {
  return typeof network === 'number' ? network : NETWORK_IDS[network];
}

/** The tag of a BIP155 network id (a number for ids this codec does not know). */
export function networkFromId(id: number): AddressNetwork {
  switch (id) {
    case BIP155_IPV4:
      return 'ipv4';
    case BIP155_IPV6:
      return 'ipv6';
    case BIP155_TORV2:
      return 'torv2';
    case BIP155_TORV3:
      return 'torv3';
    case BIP155_I2P:
      return 'i2p';
    case BIP155_CJDNS:
      return 'cjdns';
    default:
      return id;
  }
}

/** Expected address length of a network, or null when any length ≤ 512 is accepted. */
export function addressSize(network: AddressNetwork): number | null {
  return typeof network === 'number' ? null : ADDR_SIZES[network];
}

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

// --- legacy (v1) encoding -----------------------------------------------------------------

/** Reads a 26-byte (or, with `timed`, 30-byte) legacy address. IPv4-mapped IPv6 becomes 'ipv4'. */
export function decodeNetAddressV1(r: Reader, timed: true): TimedNetAddress;
export function decodeNetAddressV1(r: Reader, timed: false): NetAddress;
export function decodeNetAddressV1(r: Reader, timed: boolean): NetAddress {
  r.need(timed ? ADDR_V1_TIMED_SIZE : ADDR_V1_SIZE, 'network address');
  const time = timed ? r.u32le('address time') : undefined;
  const services = r.u64le('address services');
  const ip = r.bytes(16, 'address ip');
  const port = r.u16be('address port');
  const a = startsWith(ip, IPV4_IN_IPV6) ? { network: 'ipv4' as const, addr: Buffer.from(ip.subarray(12)) } : { network: 'ipv6' as const, addr: Buffer.from(ip) };
  return time === undefined ? { ...a, port, services } : { ...a, port, services, time };
}

/**
 * Writes a legacy address. Networks without a v1 form (TORv3, I2P, CJDNS, unknown) are written
 * as 16 zero bytes, as Core does. `timed` writes the time field (0 when the address has none).
 */
export function encodeNetAddressV1(w: Writer, a: NetAddress, timed: boolean): void {
  if (timed) w.u32le(a.time ?? 0);
  w.u64le(a.services);
  w.bytes(legacyIp(a));
  w.u16be(a.port);
}

function legacyIp(a: NetAddress): Buffer {
  if (a.network === 'ipv4' && a.addr.length === 4) return Buffer.concat([IPV4_IN_IPV6, a.addr]);
  if (a.network === 'ipv6' && a.addr.length === 16) return a.addr;
  return Buffer.alloc(16);
}

// --- BIP155 (v2) encoding -----------------------------------------------------------------

/** CompactSize read as Core's CompactSizeFormatter<false>: canonical, but no MAX_SIZE bound (services use all 64 bits). */
export function readCompactSize64(r: Reader, what: string): bigint {
  const at = r.offset;
  const first = r.u8(what);
  if (first < 0xfd) return BigInt(first);
  if (first === 0xfd) {
    const v = r.u16le(what);
    if (v < 0xfd) r.fail('non-canonical', `${what} ${v} encoded in 3 bytes`, at);
    return BigInt(v);
  }
  if (first === 0xfe) {
    const v = r.u32le(what);
    if (v < 0x10000) r.fail('non-canonical', `${what} ${v} encoded in 5 bytes`, at);
    return BigInt(v);
  }
  const v = r.u64le(what);
  if (v < 0x100000000n) r.fail('non-canonical', `${what} ${v} encoded in 9 bytes`, at);
  return v;
}

export function writeCompactSize64(w: Writer, v: bigint): void {
  if (v < 0xfdn) w.u8(Number(v));
  else if (v <= 0xffffn) w.u8(0xfd).u16le(Number(v));
  else if (v <= 0xffffffffn) w.u8(0xfe).u32le(Number(v));
  else w.u8(0xff).u64le(v);
}

/** Reads one BIP155 entry. A known network with the wrong length is a 'bad-value' error (Core fails the message). */
export function decodeNetAddressV2(r: Reader): TimedNetAddress {
  const time = r.u32le('address time');
  const services = readCompactSize64(r, 'address services');
  const id = r.u8('address network');
  const at = r.offset;
  const len = r.compactSize('address length', MAX_ADDRV2_SIZE);
  const network = networkFromId(id);
  const want = addressSize(network);
  // TORv2 is unknown to Core since v22 and skipped whatever its length; we keep it tagged.
  if (want !== null && network !== 'torv2' && len !== want) r.fail('bad-value', `BIP155 ${String(network)} address with length ${len} (should be ${want})`, at);
  const addr = Buffer.from(r.bytes(len, 'address'));
  const port = r.u16be('address port');
  return { network, addr, port, services, time };
}

export function encodeNetAddressV2(w: Writer, a: NetAddress): void {
  w.u32le(a.time ?? 0);
  writeCompactSize64(w, a.services);
  w.u8(networkId(a.network));
  w.varBytes(a.addr);
  w.u16be(a.port);
}

/**
 * Whether Core would keep and gossip this address (CNetAddr::IsValid plus BIP155 length rules):
 * known, supported network; right length; IPv6 not carrying an embedded IPv4/TORv2/internal
 * address and not all zeros; IPv4 not 0.0.0.0 or 255.255.255.255; CJDNS starting with 0xfc.
 */
export function isValidAddress(a: NetAddress): boolean {
  if (typeof a.network === 'number' || a.network === 'torv2') return false;
  if (a.addr.length !== ADDR_SIZES[a.network]) return false;
  switch (a.network) {
    case 'ipv4': {
      const v = a.addr.readUInt32BE(0);
      return v !== 0 && v !== 0xffffffff;
    }
    case 'ipv6':
      return !startsWith(a.addr, IPV4_IN_IPV6) && !startsWith(a.addr, TORV2_IN_IPV6) && !startsWith(a.addr, INTERNAL_IN_IPV6) && a.addr.some((b) => b !== 0);
    case 'cjdns':
      return a.addr[0] === 0xfc;
    default:
      return true;
  }
}

// --- text forms ---------------------------------------------------------------------------

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32, lower case, no padding (Core's EncodeBase32(…, false)). */
export function base32Encode(data: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of data) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += B32[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  return out;
}

/** Decodes unpadded base32 (case-insensitive); null on a bad character or non-zero leftover bits. */
export function base32Decode(s: string): Buffer | null {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of s.toLowerCase()) {
    const v = B32.indexOf(ch);
    if (v < 0) return null;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
    }
    acc &= (1 << bits) - 1;
  }
  if (acc !== 0) return null;
  return Buffer.from(out);
}

const TORV3_VERSION = 3;

/** Tor v3 checksum: SHA3-256(".onion checksum" || pubkey || version)[0..2] (torcontrol spec, Core's torv3::Checksum). */
function torv3Checksum(pubkey: Uint8Array): Buffer {
  return createHash('sha3-256').update('.onion checksum').update(pubkey).update(Buffer.of(TORV3_VERSION)).digest().subarray(0, 2);
}

function ipv6ToString(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  // RFC 5952: compress the longest run of two or more zero groups (the first on a tie).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** The host part as Core's ToStringAddr prints it (IPv6 without brackets). */
export function formatHost(a: Pick<NetAddress, 'network' | 'addr'>): string {
  const b = a.addr;
  switch (a.network) {
    case 'ipv4':
      return b.length === 4 ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : `ipv4:${b.toString('hex')}`;
    case 'ipv6':
    case 'cjdns':
      return b.length === 16 ? ipv6ToString(b) : `${a.network}:${b.toString('hex')}`;
    case 'torv2':
      return `${base32Encode(b)}.onion`;
    case 'torv3':
      if (b.length !== 32) return `torv3:${b.toString('hex')}`;
      return `${base32Encode(Buffer.concat([b, torv3Checksum(b), Buffer.of(TORV3_VERSION)]))}.onion`;
    case 'i2p':
      return `${base32Encode(b)}.b32.i2p`;
    default:
      return `net${a.network}:${b.toString('hex')}`;
  }
}

/** host:port as Core's ToStringAddrPort prints it: `1.2.3.4:8333`, `[2001:db8::1]:8333`, `….onion:8333`. */
export function formatAddress(a: Pick<NetAddress, 'network' | 'addr' | 'port'>): string {
  const host = formatHost(a);
  return (a.network === 'ipv6' || a.network === 'cjdns') && a.addr.length === 16 ? `[${host}]:${a.port}` : `${host}:${a.port}`;
}

function parseIPv6(s: string): Buffer | null {
  if (!isIPv6(s)) return null;
  let head = s;
  let tailV4: number[] = [];
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    tailV4 = tail.split('.').map(Number);
    head = s.slice(0, lastColon + 1) + '0:0';
  }
  const parts = head.split('::');
  const left = parts[0] === '' ? [] : parts[0].split(':');
  const right = parts.length > 1 && parts[1] !== '' ? parts[1].split(':') : [];
  const groups = parts.length > 1 ? [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  if (groups.length !== 8) return null;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  if (tailV4.length === 4) for (let i = 0; i < 4; i++) out[12 + i] = tailV4[i];
  return out;
}

/** The network and bytes of a host string: IPv4, IPv6 (IPv4-mapped becomes ipv4; fc00::/8 stays ipv6), .onion v3, .b32.i2p. */
export function parseHost(host: string): { network: NetworkTag; addr: Buffer } | null {
  if (isIPv4(host)) return { network: 'ipv4', addr: Buffer.from(host.split('.').map(Number)) };
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const v6 = parseIPv6(h);
  if (v6 !== null) return startsWith(v6, IPV4_IN_IPV6) ? { network: 'ipv4', addr: Buffer.from(v6.subarray(12)) } : { network: 'ipv6', addr: v6 };
  const lower = h.toLowerCase();
  if (lower.endsWith('.onion')) {
    const raw = base32Decode(lower.slice(0, -6));
    if (raw === null) return null;
    if (raw.length === 35) {
      const pub = raw.subarray(0, 32);
      if (raw[34] !== TORV3_VERSION || !torv3Checksum(pub).equals(raw.subarray(32, 34))) return null;
      return { network: 'torv3', addr: Buffer.from(pub) };
    }
    return null; // TORv2 names are no longer accepted (Core ≥ 22).
  }
  if (lower.endsWith('.b32.i2p')) {
    const raw = base32Decode(lower.slice(0, -8));
    return raw !== null && raw.length === 32 && lower.length === 52 + 8 ? { network: 'i2p', addr: raw } : null;
  }
  return null;
}

/**
 * Parses `host`, `host:port`, `[ipv6]:port` (and bare IPv6 without a port) into an address with
 * the given services. Returns null when the text is not an address this module understands.
 */
export function parseAddress(text: string, defaultPort: number, services = 0n): NetAddress | null {
  let host = text;
  let port = defaultPort;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket !== null) {
    host = bracket[1];
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0 && text.indexOf(':') === colon) {
      host = text.slice(0, colon);
      if (!/^\d+$/.test(text.slice(colon + 1))) return null;
      port = Number(text.slice(colon + 1));
    }
  }
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) return null;
  const h = parseHost(host);
  return h === null ? null : { network: h.network, addr: h.addr, port, services };
}
