/**
 * Network classes and network groups of {@link NetAddress}es, as Core's CNetAddr and
 * NetGroupManager::GetGroup (without asmap) define them, for every BIP155 network:
 *
 * - IPv4 by /16; IPv6 by /32 (Hurricane Electric's 2001:470::/32 by /36); IPv6 forms that embed
 *   an IPv4 address (6to4, Teredo, NAT64 64:ff9b::/96, SIIT ::ffff:0:0:0/96) by that IPv4's /16;
 * - Tor v3 and I2P by the first 4 bits of their (random) key; CJDNS by the 4 bits after its
 *   constant 0xfc byte;
 * - all local addresses (127/8, 0/8, ::1) one group; all other unroutable ones another.
 *
 * The group is a short byte string: a class byte, then the prefix bytes. The address manager
 * hashes it (keyed) into bucket numbers; {@link netGroupKey} gives it as text for the
 * connection manager's "one outbound per group" rule.
 */
import { isValidAddress, networkId, type NetAddress } from '../wire/address.js';

/** BIP155 network ids. */
export const NET_IPV4 = 1;
export const NET_IPV6 = 2;
export const NET_TORV3 = 4;
export const NET_I2P = 5;
export const NET_CJDNS = 6;

/** Core's network classes (enum Network), used as the first byte of a group. */
export const CLASS_UNROUTABLE = 0;
export const CLASS_IPV4 = 1;
export const CLASS_IPV6 = 2;
export const CLASS_ONION = 3;
export const CLASS_I2P = 4;
export const CLASS_CJDNS = 5;
export const CLASS_INTERNAL = 6;
export const CLASS_LOCAL = 255;

/** Names of the networks as Core's RPCs print them (GetNetworkName), indexed by class. */
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

// All raw-byte helpers read `len` bytes of `b` from `o`.

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
 * Whether a valid address is publicly routable (Core's IsRoutable): not local and not in the
 * private, link-local, shared, benchmark, documentation, ULA, ORCHID ranges. Tor, I2P and CJDNS
 * addresses are always routable.
 */
export function isRoutableRaw(netId: number, b: Uint8Array, o: number): boolean {
  if (isLocalRaw(netId, b, o)) return false;
  if (netId === NET_IPV4) {
    const a0 = b[o];
    const a1 = b[o + 1];
    const a2 = b[o + 2];
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
    if ((a0 & 0xfe) === 0xfc) return false; // RFC4193 ULA
    if (a0 === 0xfe && a1 === 0x80 && b[o + 2] === 0 && a3 === 0 && b[o + 4] === 0 && b[o + 5] === 0 && b[o + 6] === 0 && b[o + 7] === 0) return false; // RFC4862
    if (a0 === 0x20 && a1 === 0x01 && a2 === 0x00 && ((a3 & 0xf0) === 0x10 || (a3 & 0xf0) === 0x20)) return false; // RFC4843, RFC7343
    if (a0 === 0x20 && a1 === 0x01 && a2 === 0x0d && a3 === 0xb8) return false; // RFC3849 documentation (invalid in Core)
    return true;
  }
  return netId === NET_TORV3 || netId === NET_I2P || (netId === NET_CJDNS && b[o] === 0xfc);
}

/** The embedded IPv4 address (as u32) of an IPv6 address that carries one, else −1. */
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
 * Writes the network group of an address into out[at…] and returns its length (≤ 6 bytes).
 * `routable` says whether local/private addresses are treated as such (they are always grouped
 * as Core groups them: all local in one group, all other unroutable in another).
 */
export function groupInto(out: Uint8Array, at: number, netId: number, b: Uint8Array, o: number): number {
  if (isLocalRaw(netId, b, o)) {
    out[at] = CLASS_LOCAL;
    return 1;
  }
  if (!isRoutableRaw(netId, b, o)) {
    out[at] = CLASS_UNROUTABLE;
    return 1;
  }
  const v4 = linkedIPv4Raw(netId, b, o);
  if (v4 >= 0) {
    out[at] = CLASS_IPV4;
    out[at + 1] = v4 >>> 24;
    out[at + 2] = (v4 >>> 16) & 0xff;
    return 3;
  }
  switch (netId) {
    case NET_TORV3:
    case NET_I2P:
      out[at] = netId === NET_TORV3 ? CLASS_ONION : CLASS_I2P;
      out[at + 1] = b[o] | 0x0f;
      return 2;
    case NET_CJDNS:
      out[at] = CLASS_CJDNS;
      out[at + 1] = b[o];
      out[at + 2] = b[o + 1] | 0x0f;
      return 3;
    default: {
      out[at] = CLASS_IPV6;
      for (let i = 0; i < 4; i++) out[at + 1 + i] = b[o + i];
      // Hurricane Electric 2001:470::/32 hands out /48s liberally: group by /36.
      if (b[o] === 0x20 && b[o + 1] === 0x01 && b[o + 2] === 0x04 && b[o + 3] === 0x70) {
        out[at + 5] = b[o + 4] | 0x0f;
        return 6;
      }
      return 5;
    }
  }
}

const scratch = new Uint8Array(8);

/** The network group of an address as bytes (class byte, then prefix). Unknown networks form one group each by id. */
export function netGroupBytes(a: NetAddress): Buffer {
  const id = networkId(a.network);
  if (storedLength(id) !== a.addr.length) return Buffer.of(CLASS_UNROUTABLE, id & 0xff);
  const n = groupInto(scratch, 0, id, a.addr, 0);
  return Buffer.from(scratch.subarray(0, n));
}

/** The network group as a short text key (hex of the group bytes), e.g. `0101020` prefixed per class. */
export function netGroupKey(a: NetAddress): string {
  return netGroupBytes(a).toString('hex');
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

/**
 * The network name of an address as the address manager counts it (Core's GetNetwork, except
 * that local/private addresses admitted with `allowLocal` count under their family): ipv4,
 * ipv6, onion, i2p, cjdns; `not_publicly_routable` for anything else.
 */
export function networkName(a: NetAddress): NetworkName {
  const c = familyClass(networkId(a.network));
  return c < 0 ? 'not_publicly_routable' : NETWORK_NAMES[c];
}
