/**
 * What kind of address an address is, as Bitcoin Core's CNetAddr (netaddress.h) says: its
 * network class (GetNetClass), whether it is local (IsLocal) or publicly routable (IsRoutable),
 * and the IPv4 address an IPv6 one carries (HasLinkedIPv4/GetLinkedIPv4). The network group
 * built on these is in ./netgroup.ts (Core's netgroup.h); both are pure, import no actor, and
 * serve the connection manager, the address book and the RPC alike.
 *
 * Two forms of input: the bytes of a {@link NetAddress} (BIP155 network id + address bytes; the
 * `…Raw` functions read them in place, without allocating, for the address manager's hashing),
 * and the text host of a connection (`1.2.3.4`, `::ffff:1.2.3.4`, `[2001:db8::1]`, `….onion`,
 * `….b32.i2p`), parsed with {@link hostAddress}. An IPv6 host in fc00::/8 is an IPv6 (ULA)
 * address, not CJDNS: Core flips it to CJDNS only with -cjdnsreachable, and peerd cannot dial
 * CJDNS.
 */
import { isValidAddress, networkId, parseHost, type NetAddress } from '../wire/address.js';
import { BIP155_CJDNS, BIP155_I2P, BIP155_IPV4, BIP155_IPV6, BIP155_TORV3 } from '../wire/constants.js';

/** BIP155 network ids of the networks an address book stores. */
export const NET_IPV4 = BIP155_IPV4;
export const NET_IPV6 = BIP155_IPV6;
export const NET_TORV3 = BIP155_TORV3;
export const NET_I2P = BIP155_I2P;
export const NET_CJDNS = BIP155_CJDNS;

/** Core's network classes (enum Network): the first byte of a network group. */
export const CLASS_UNROUTABLE = 0;
export const CLASS_IPV4 = 1;
export const CLASS_IPV6 = 2;
export const CLASS_ONION = 3;
export const CLASS_I2P = 4;
export const CLASS_CJDNS = 5;
export const CLASS_INTERNAL = 6;

/** Names of the network classes as Core's RPCs print them (GetNetworkName), indexed by class. */
export const NETWORK_NAMES = ['not_publicly_routable', 'ipv4', 'ipv6', 'onion', 'i2p', 'cjdns', 'internal'] as const;
export type NetworkName = (typeof NETWORK_NAMES)[number];

/** The address family's class of a BIP155 network id (−1 for networks the address manager does not store). */
export function familyClass(netId: number): number {
  switch (netId) {
    case NET_IPV4:
      return CLASS_IPV4;
    case NET_IPV6:
      return CLASS_IPV6;
    case NET_TORV3:
      return CLASS_ONION;
    case NET_I2P:
      return CLASS_I2P;
    case NET_CJDNS:
      return CLASS_CJDNS;
    default:
      return -1;
  }
}

/** Expected length of an address of a stored network (0 for others). */
export function storedLength(netId: number): number {
  switch (netId) {
    case NET_IPV4:
      return 4;
    case NET_IPV6:
    case NET_CJDNS:
      return 16;
    case NET_TORV3:
    case NET_I2P:
      return 32;
    default:
      return 0;
  }
}

// All raw-byte helpers read the address of network `netId` from b[o…] (storedLength(netId) bytes).

/** 127/8, 0/8 or ::1 (Core's IsLocal). */
export function isLocalRaw(netId: number, b: Uint8Array, o: number): boolean {
  if (netId === NET_IPV4) return b[o] === 127 || b[o] === 0;
  if (netId === NET_IPV6) {
    for (let i = 0; i < 15; i++) if (b[o + i] !== 0) return false;
    return b[o + 15] === 1;
  }
  return false;
}

/**
 * Whether an address is publicly routable (Core's IsRoutable, IsValid included): not local, not
 * invalid (255.255.255.255, ::, an IPv4-mapped address posing as IPv6), and not in the private,
 * link-local, shared, benchmark, documentation, ULA, ORCHID ranges. Tor and I2P addresses are
 * always routable, CJDNS ones when they start with 0xfc.
 */
export function isRoutableRaw(netId: number, b: Uint8Array, o: number): boolean {
  if (isLocalRaw(netId, b, o)) return false;
  if (netId === NET_IPV4) {
    const a0 = b[o];
    const a1 = b[o + 1];
    const a2 = b[o + 2];
    if (u32At(b, o) === 0xffffffff) return false; // INADDR_NONE (invalid)
    if (a0 === 10 || (a0 === 192 && a1 === 168) || (a0 === 172 && a1 >= 16 && a1 <= 31)) return false; // RFC1918
    if (a0 === 198 && (a1 === 18 || a1 === 19)) return false; // RFC2544
    if (a0 === 169 && a1 === 254) return false; // RFC3927
    if (a0 === 100 && a1 >= 64 && a1 <= 127) return false; // RFC6598
    if ((a0 === 192 && a1 === 0 && a2 === 2) || (a0 === 198 && a1 === 51 && a2 === 100) || (a0 === 203 && a1 === 0 && a2 === 113)) return false; // RFC5737
    return true;
  }
  if (netId === NET_IPV6) {
    const a0 = b[o];
    const a1 = b[o + 1];
    const a2 = b[o + 2];
    const a3 = b[o + 3];
    if (u32At(b, o) === 0 && u32At(b, o + 4) === 0 && (u32At(b, o + 8) === 0 || u32At(b, o + 8) === 0xffff)) return false; // :: and ::ffff:0:0/96 (invalid)
    if ((a0 & 0xfe) === 0xfc) return false; // RFC4193 ULA (TORv2 and internal prefixes included)
    if (a0 === 0xfe && a1 === 0x80 && b[o + 2] === 0 && a3 === 0 && b[o + 4] === 0 && b[o + 5] === 0 && b[o + 6] === 0 && b[o + 7] === 0) return false; // RFC4862
    if (a0 === 0x20 && a1 === 0x01 && a2 === 0x00 && ((a3 & 0xf0) === 0x10 || (a3 & 0xf0) === 0x20)) return false; // RFC4843, RFC7343
    if (a0 === 0x20 && a1 === 0x01 && a2 === 0x0d && a3 === 0xb8) return false; // RFC3849 documentation (invalid in Core)
    return true;
  }
  return netId === NET_TORV3 || netId === NET_I2P || (netId === NET_CJDNS && b[o] === 0xfc);
}

/**
 * The IPv4 address (as u32) of an IPv4 address, or of an IPv6 address that carries one (NAT64,
 * SIIT, 6to4, Teredo), else −1. Core's GetLinkedIPv4; Core's HasLinkedIPv4 is this ≥ 0 and routable.
 */
export function linkedIPv4Raw(netId: number, b: Uint8Array, o: number): number {
  // No closure here: this runs for every placement hash, and a closure per call is garbage.
  if (netId === NET_IPV4) return u32At(b, o);
  if (netId !== NET_IPV6) return -1;
  const w0 = u32At(b, o);
  // RFC6052 NAT64 64:ff9b::/96
  if (w0 === 0x0064ff9b && u32At(b, o + 4) === 0 && u32At(b, o + 8) === 0) return u32At(b, o + 12);
  // RFC6145 SIIT ::ffff:0:0:0/96
  if (w0 === 0 && u32At(b, o + 4) === 0 && u32At(b, o + 8) === 0xffff0000) return u32At(b, o + 12);
  // RFC3964 6to4 2002::/16
  if (b[o] === 0x20 && b[o + 1] === 0x02) return u32At(b, o + 2);
  // RFC4380 Teredo 2001:0000::/32, client address inverted
  if (w0 === 0x20010000) return ~u32At(b, o + 12) >>> 0;
  return -1;
}

function u32At(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/**
 * Core's GetNetClass: unroutable (local included) → CLASS_UNROUTABLE; an IPv6 address carrying
 * an IPv4 one → CLASS_IPV4; else the family's class. Unknown networks are unroutable.
 */
export function netClassRaw(netId: number, b: Uint8Array, o: number): number {
  if (!isRoutableRaw(netId, b, o)) return CLASS_UNROUTABLE;
  if (linkedIPv4Raw(netId, b, o) >= 0) return CLASS_IPV4;
  const c = familyClass(netId);
  return c < 0 ? CLASS_UNROUTABLE : c;
}

/** Core's IsRoutable for a NetAddress: valid, stored network, not local/private. */
export function isRoutable(a: NetAddress): boolean {
  const id = networkId(a.network);
  return storedLength(id) === a.addr.length && isValidAddress(a) && isRoutableRaw(id, a.addr, 0);
}

/** Core's IsLocal: 127/8, 0/8, ::1. */
export function isLocal(a: NetAddress): boolean {
  const id = networkId(a.network);
  return storedLength(id) === a.addr.length && isLocalRaw(id, a.addr, 0);
}

/** Core's GetNetClass of a NetAddress (invalid ones, e.g. 0.0.0.0 or 2001:db8::/32, are unroutable). */
export function netClass(a: NetAddress): number {
  const id = networkId(a.network);
  if (storedLength(id) !== a.addr.length || !isValidAddress(a)) return CLASS_UNROUTABLE;
  return netClassRaw(id, a.addr, 0);
}

/**
 * The network name of an address as the address manager counts it (Core's GetNetwork, except
 * that local/private addresses admitted with `allowLocal` count under their family): ipv4,
 * ipv6, onion, i2p, cjdns; `not_publicly_routable` for anything else.
 */
export function networkName(a: NetAddress): NetworkName {
  const c = familyClass(networkId(a.network));
  return c < 0 ? 'not_publicly_routable' : NETWORK_NAMES[c];
}

// --- text hosts ------------------------------------------------------------------------------

/** Strips brackets and an IPv4-mapped IPv6 prefix (`[::ffff:a.b.c.d]` → `a.b.c.d`), as a socket's remoteAddress needs. */
export function normalizeIp(ip: string): string {
  const s = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  return m ? m[1] : s;
}

/**
 * The address of a text host: IPv4, IPv6 (bracketed or not; IPv4-mapped becomes IPv4), Tor v3
 * `.onion`, I2P `.b32.i2p`. Null for anything else (a DNS name, a malformed address). The port
 * and services are 0: only the network and bytes matter here.
 */
export function hostAddress(host: string): NetAddress | null {
  const h = parseHost(host);
  return h === null ? null : { network: h.network, addr: h.addr, port: 0, services: 0n };
}

/** Core's IsLocal of a text host (127/8, 0/8, ::1, IPv4-mapped forms included); false for names. */
export function isLocalIp(host: string): boolean {
  const a = hostAddress(host);
  return a !== null && isLocal(a);
}

/**
 * The network a connection goes through, as Core reports it (getpeerinfo's `network`) and weighs
 * it for eviction: GetNetworkName(GetNetClass()): `ipv4` (6to4, Teredo, NAT64 included), `ipv6`,
 * `onion`, `i2p`, `cjdns`, or `not_publicly_routable` (local, private, reserved, and DNS names).
 */
export function netKind(host: string): NetworkName {
  const a = hostAddress(host);
  return NETWORK_NAMES[a === null ? CLASS_UNROUTABLE : netClass(a)];
}
