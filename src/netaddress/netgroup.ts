/**
 * Network groups, as Bitcoin Core's NetGroupManager::GetGroup (netgroup.cpp) defines them. A
 * group is what an attacker finds costly to obtain many of: the address book spreads addresses
 * over buckets by group, the connection manager never makes two automatic outbound connections
 * into one group, and inbound eviction protects and evicts by (keyed) group.
 *
 * Without an asmap, the group is a class byte (Core's enum Network, {@link CLASS_IPV4} …) and a
 * prefix of the address:
 *
 * - IPv4 by /16; IPv6 forms that carry an IPv4 address (6to4 2002::/16, Teredo 2001::/32, NAT64
 *   64:ff9b::/96, SIIT ::ffff:0:0:0/96) by that IPv4's /16, in the IPv4 class;
 * - IPv6 by /32, Hurricane Electric's 2001:470::/32 by /36;
 * - Tor v3 and I2P by the first 4 bits of their key; CJDNS by its constant 0xfc byte and the
 *   4 bits after it;
 * - every address that is not publicly routable (local 127/8, 0/8, ::1 and private, reserved
 *   or invalid ones) in one single group: the class byte 0 alone.
 *
 * With an asmap ({@link Asmap}), an IPv4 or IPv6 address whose AS is known is grouped by that AS
 * number instead (the IPv6 class byte, then the AS number in 4 bytes little-endian), as Core does.
 *
 * A group is bytes (at most 6); {@link NetGroupManager.groupKey} and
 * {@link NetGroupManager.hostGroup} give them as text (hex) for sets and messages.
 */
import { createHash } from 'node:crypto';
import { networkId, type NetAddress } from '../wire/address.js';
import { CLASS_CJDNS, CLASS_I2P, CLASS_IPV4, CLASS_IPV6, CLASS_ONION, CLASS_UNROUTABLE, NET_CJDNS, NET_I2P, NET_IPV6, NET_TORV3, hostAddress, isRoutableRaw, linkedIPv4Raw, netClassRaw, storedLength } from './netaddress.js';

/** Longest group in bytes (he.net: class + 4 bytes + 1). */
export const MAX_GROUP_BYTES = 6;

/**
 * An IP-to-AS map (Core's -asmap file, read by util/asmap.cpp's Interpret). peerd ships none;
 * this is where one plugs in.
 */
export interface Asmap {
  /** The AS number of a 16-byte address (IPv4 as ::ffff:a.b.c.d), 0 when the map has none. */
  lookup(ip16: Uint8Array): number;
  /**
   * Identifies the map (Core's GetAsmapVersion). The address book re-buckets a snapshot written
   * under another map, as Core does when peers.dat was written with another asmap.
   */
  readonly version: string;
}

/** Core's NetGroupManager: the network group of an address, with or without an asmap. Immutable; share one per node. */
export class NetGroupManager {
  private readonly ip16 = new Uint8Array(16);

  constructor(private readonly asmap: Asmap | null = null) {}

  /** Whether an asmap is in use (Core's UsingASMap). */
  get usingAsmap(): boolean {
    return this.asmap !== null;
  }

  /** The asmap's version, or null without one (then groups are Core's defaults). */
  get asmapVersion(): string | null {
    return this.asmap?.version ?? null;
  }

  /**
   * The AS number of a routable IPv4/IPv6 address (an address carrying an IPv4 one is looked up
   * as that IPv4), 0 without an asmap, for other networks, or when the map does not know it
   * (Core's GetMappedAS; AS 0 is reserved, RFC 7607).
   */
  mappedAS(netId: number, b: Uint8Array, o: number): number {
    if (this.asmap === null) return 0;
    const c = netClassRaw(netId, b, o);
    if (c !== CLASS_IPV4 && c !== CLASS_IPV6) return 0;
    const ip = this.ip16;
    const v4 = linkedIPv4Raw(netId, b, o);
    if (v4 >= 0) {
      ip.fill(0, 0, 10);
      ip[10] = 0xff;
      ip[11] = 0xff;
      ip[12] = v4 >>> 24;
      ip[13] = (v4 >>> 16) & 0xff;
      ip[14] = (v4 >>> 8) & 0xff;
      ip[15] = v4 & 0xff;
    } else {
      for (let i = 0; i < 16; i++) ip[i] = b[o + i];
    }
    return this.asmap.lookup(ip) >>> 0;
  }

  /**
   * Writes the group of the address of network `netId` in b[o…] into out[at…] and returns its
   * length (≤ {@link MAX_GROUP_BYTES}). Allocates nothing: the address manager calls it for
   * every placement hash. The address must have its network's length ({@link storedLength}).
   */
  groupInto(out: Uint8Array, at: number, netId: number, b: Uint8Array, o: number): number {
    const asn = this.mappedAS(netId, b, o);
    if (asn !== 0) {
      // IPv4 and IPv6 of one AS share a group.
      out[at] = CLASS_IPV6;
      out[at + 1] = asn & 0xff;
      out[at + 2] = (asn >>> 8) & 0xff;
      out[at + 3] = (asn >>> 16) & 0xff;
      out[at + 4] = asn >>> 24;
      return 5;
    }
    if (!isRoutableRaw(netId, b, o)) {
      // Local, private, reserved: one group for all.
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
      case NET_IPV6: {
        out[at] = CLASS_IPV6;
        for (let i = 0; i < 4; i++) out[at + 1 + i] = b[o + i];
        // Hurricane Electric 2001:470::/32 hands out /48s liberally: group by /36.
        if (b[o] === 0x20 && b[o + 1] === 0x01 && b[o + 2] === 0x04 && b[o + 3] === 0x70) {
          out[at + 5] = b[o + 4] | 0x0f;
          return 6;
        }
        return 5;
      }
      default:
        // Not reached: isRoutableRaw is false for networks not stored.
        out[at] = CLASS_UNROUTABLE;
        return 1;
    }
  }

  /**
   * The group of an address as bytes (Core's GetGroup; an invalid address such as 0.0.0.0, ::
   * or 2001:db8::/32 is unroutable). An address of a network the address manager does not
   * store, or of the wrong length, gets a group of its own network id (class byte 0, then the id).
   */
  group(a: NetAddress): Buffer {
    const id = networkId(a.network);
    if (storedLength(id) !== a.addr.length) return Buffer.of(CLASS_UNROUTABLE, id & 0xff);
    const out = Buffer.alloc(MAX_GROUP_BYTES);
    return out.subarray(0, this.groupInto(out, 0, id, a.addr, 0));
  }

  /** The group as text: the hex of {@link group} (e.g. `010102` for 1.2.3.4, `00` for every unroutable address). */
  groupKey(a: NetAddress): string {
    return this.group(a).toString('hex');
  }

  /**
   * The group of a text host, as {@link groupKey}. A host that is not an address (a DNS name
   * given to -addnode) is a group of its own, `name:<host>`: Core would group what it resolves to.
   */
  hostGroup(host: string): string {
    const a = hostAddress(host);
    return a === null ? `name:${host.toLowerCase()}` : this.groupKey(a);
  }
}

/** Core's groups, without an asmap (Core's NetGroupManager::NoAsmap()). */
export const NO_ASMAP = new NetGroupManager(null);

/**
 * A keyed 48-bit hash of a group (Core's CNode::nKeyedNetGroup): eviction sorts and counts by
 * it, and a peer cannot predict it without the node's secret key.
 */
export function keyedNetGroup(key: Uint8Array, group: string): number {
  return createHash('sha256').update(key).update(group).digest().readUIntBE(0, 6);
}
