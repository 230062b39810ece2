/**
 * P2P protocol constants with Bitcoin Core's values (protocol.h, net.h, net_processing.cpp,
 * netaddress.h). Every limit the message codecs enforce is named here.
 */

// --- protocol versions (node/protocol_version.h) ---------------------------------------

/** The version peerd speaks (Core v30 speaks the same). */
export const PROTOCOL_VERSION = 70016;
/** The version Core uses before the handshake has settled one. */
export const INIT_PROTO_VERSION = 209;
/** Core disconnects peers below this (GETHEADERS_VERSION). */
export const MIN_PEER_PROTO_VERSION = 31800;
/** `addr` entries carry a time field from this version on (always true on today's network). */
export const CADDR_TIME_VERSION = 31402;
/** BIP31: `ping` carries a nonce and is answered with `pong` only above this version. */
export const BIP0031_VERSION = 60000;
/** BIP130 `sendheaders`. */
export const SENDHEADERS_VERSION = 70012;
/** BIP133 `feefilter`. */
export const FEEFILTER_VERSION = 70013;
/** BIP152 compact blocks (`sendcmpct`, `cmpctblock`). */
export const SHORT_IDS_BLOCKS_VERSION = 70014;
/** Peers below this are punished for an invalid compact block. */
export const INVALID_CB_NO_BAN_VERSION = 70015;
/** BIP339 `wtxidrelay` (and, in Core, the version from which `sendaddrv2` is sent). */
export const WTXID_RELAY_VERSION = 70016;

// --- service bits (protocol.h ServiceFlags) --------------------------------------------

export const NODE_NONE = 0n;
export const NODE_NETWORK = 1n;
export const NODE_BLOOM = 4n;
export const NODE_WITNESS = 8n;
export const NODE_COMPACT_FILTERS = 64n;
export const NODE_NETWORK_LIMITED = 1024n;
/** BIP324 v2 encrypted transport. */
export const NODE_P2P_V2 = 2048n;

/** Service bit names for display, lowest bit first. */
export const SERVICE_NAMES: ReadonlyArray<readonly [bigint, string]> = Object.freeze([
  [NODE_NETWORK, 'NETWORK'],
  [2n, 'GETUTXO'],
  [NODE_BLOOM, 'BLOOM'],
  [NODE_WITNESS, 'WITNESS'],
  [NODE_COMPACT_FILTERS, 'COMPACT_FILTERS'],
  [NODE_NETWORK_LIMITED, 'NETWORK_LIMITED'],
  [NODE_P2P_V2, 'P2P_V2'],
] as const);

/** The names of the known service bits set in `bits`, in bit order (getpeerinfo's servicesnames; unknown bits are left out). */
export function knownServiceNames(bits: bigint): string[] {
  return SERVICE_NAMES.filter(([b]) => (bits & b) !== 0n).map(([, n]) => n);
}

// --- framing (protocol.h, net.h) -------------------------------------------------------

export const MESSAGE_START_SIZE = 4;
export const COMMAND_SIZE = 12;
export const MESSAGE_SIZE_SIZE = 4;
export const CHECKSUM_SIZE = 4;
/** magic + command + length + checksum. */
export const FRAME_HEADER_SIZE = MESSAGE_START_SIZE + COMMAND_SIZE + MESSAGE_SIZE_SIZE + CHECKSUM_SIZE;
/** Core: a larger declared length disconnects the peer before any payload is read. */
export const MAX_PROTOCOL_MESSAGE_LENGTH = 4_000_000;
/** Core's default -maxreceivebuffer (5,000 × 1,000 bytes) per peer. */
export const DEFAULT_MAX_RECEIVE_BUFFER = 5_000_000;
/** Core's default -maxsendbuffer (1,000 × 1,000 bytes) per peer. */
export const DEFAULT_MAX_SEND_BUFFER = 1_000_000;

// --- per-message limits -----------------------------------------------------------------

/** `inv`, `getdata` (and here `notfound`) entries (net_processing.cpp MAX_INV_SZ). */
export const MAX_INV_SZ = 50_000;
/** Block locator entries in `getheaders` / `getblocks` (MAX_LOCATOR_SZ). */
export const MAX_LOCATOR_SZ = 101;
/** Headers in one `headers` message (MAX_HEADERS_RESULTS). */
export const MAX_HEADERS_RESULTS = 2_000;
/** Entries in one `addr` / `addrv2` message (MAX_ADDR_TO_SEND). */
export const MAX_ADDR_TO_SEND = 1_000;
/** `version` user agent bytes (MAX_SUBVERSION_LENGTH). */
export const MAX_SUBVERSION_LENGTH = 256;
/** BIP155 address bytes (netaddress.h MAX_ADDRV2_SIZE). */
export const MAX_ADDRV2_SIZE = 512;
/** `reject` reason bytes, as Core enforced while it still parsed `reject` (MAX_REJECT_MESSAGE_LENGTH). */
export const MAX_REJECT_MESSAGE_LENGTH = 111;

// --- inventory types (protocol.h GetDataMsg) --------------------------------------------

export const MSG_TX = 1;
export const MSG_BLOCK = 2;
export const MSG_FILTERED_BLOCK = 3;
export const MSG_CMPCT_BLOCK = 4;
export const MSG_WTX = 5;
export const MSG_WITNESS_FLAG = 1 << 30;
export const MSG_WITNESS_BLOCK = MSG_BLOCK | MSG_WITNESS_FLAG;
export const MSG_WITNESS_TX = MSG_TX | MSG_WITNESS_FLAG;
export const MSG_FILTERED_WITNESS_BLOCK = MSG_FILTERED_BLOCK | MSG_WITNESS_FLAG;

/** Display name of an inventory type (Core's CInv::GetMessageType plus the witness prefix). */
export function invTypeName(type: number): string {
  const base = (type & ~MSG_WITNESS_FLAG) >>> 0;
  const name = base === MSG_TX ? 'tx' : base === MSG_BLOCK ? 'block' : base === MSG_FILTERED_BLOCK ? 'merkleblock' : base === MSG_CMPCT_BLOCK ? 'cmpctblock' : base === MSG_WTX ? 'wtx' : `type-${base}`;
  return (type & MSG_WITNESS_FLAG) !== 0 ? `witness-${name}` : name;
}

// --- BIP155 network ids -------------------------------------------------------------------

export const BIP155_IPV4 = 1;
export const BIP155_IPV6 = 2;
export const BIP155_TORV2 = 3;
export const BIP155_TORV3 = 4;
export const BIP155_I2P = 5;
export const BIP155_CJDNS = 6;
