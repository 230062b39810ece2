/**
 * What a peer's offence costs it, as data: Bitcoin Core v30's punishment table (net.cpp,
 * net_processing.cpp), one row per condition, each saying what Core does and what peerd does.
 * The peer core (peer/protocol.ts, framing errors in peer/actor.ts), the chain core
 * (chain/sync.ts, chain/download.ts, chain/serving.ts) and the address book read their decisions
 * here instead of deciding them where they stand; docs/differences.md prints the same table and
 * test/contracts/punishment.test.ts checks it row by row, against the docs as well.
 *
 * Three outcomes, as Core's:
 * - `ignore`: the message (or what it asked for) is dropped, the connection stays;
 * - `disconnect`: the connection is closed, nothing is held against the address (Core's
 *   `fDisconnect = true`);
 * - `discourage`: Core's `Misbehaving`: the connection is closed and the address discouraged
 *   (never dialled, let in only while inbound slots are to spare, preferred for eviction).
 *
 * Who is spared, as Core's MaybeDiscourageAndDisconnect: a peer with the `noban` permission and a
 * manual connection (`--addnode`, `--connect`, RPC `addnode`) are neither discouraged nor even
 * disconnected for misbehaviour (the offending message is dropped); a local address (loopback) is
 * disconnected but not discouraged (that would discourage every local peer); the connection
 * manager applies that last rule with {@link discourageAddress}. Only `discourage` rows are
 * softened: a `disconnect` row (a protocol violation Core answers with fDisconnect) applies to
 * every peer.
 */
import type { ConnType } from './connection.js';

export type Punishment = 'ignore' | 'disconnect' | 'discourage';

export interface PunishmentRule {
  /** The condition, as the docs table shows it. */
  readonly condition: string;
  /** What Bitcoin Core v30 does. */
  readonly core: Punishment;
  /** What peerd does (before the exemptions of {@link punishmentFor}). */
  readonly peerd: Punishment;
  /** Where Core decides it. */
  readonly coreRef: string;
  /** Core discourages only outbound peers for it (inbound ones: ignore). */
  readonly outboundOnly?: boolean;
  /** Why peerd differs from Core, when it does. */
  readonly difference?: string;
}

/** The table. Keys are the offences the cores name; the order is the docs' order. */
export const PUNISHMENTS = {
  // --- framing (the transport) ---
  'bad-magic': {
    condition: 'wrong network magic (a BIP324 v2 opening, another network)',
    core: 'disconnect',
    peerd: 'disconnect',
    coreRef: 'net.cpp V1Transport::ProcessReceivedMaybeV2Bytes / ReceivedHeaderBytes',
  },
  'frame-oversize': {
    condition: 'a frame header declares more than 4,000,000 payload bytes',
    core: 'disconnect',
    peerd: 'disconnect',
    coreRef: 'net.cpp V1Transport::ReadHeader ("Header error: Size too large")',
  },
  'v2-transport-error': {
    condition: 'a BIP324 v2 connection attempt or session fails (bad key, garbage terminator, tag)',
    core: 'disconnect',
    peerd: 'disconnect',
    coreRef: 'net.cpp V2Transport: a failed v2 handshake is a transport error, never Misbehaving',
  },
  'bad-checksum': {
    condition: 'a frame whose checksum does not match its payload',
    core: 'ignore',
    peerd: 'ignore',
    coreRef: 'net.cpp V1Transport::GetReceivedMessage (reject_message, "Header error: Wrong checksum"); bytes counted under *other*',
  },
  'bad-command': {
    condition: 'a message type that is not NUL-padded printable ASCII',
    core: 'ignore',
    peerd: 'ignore',
    coreRef: 'net.cpp V1Transport::GetReceivedMessage (reject_message, "Header error: Invalid message type")',
  },
  // --- messages (net_processing) ---
  'unknown-command': {
    condition: 'a message type Core does not know',
    core: 'ignore',
    peerd: 'ignore',
    coreRef: 'net_processing.cpp ProcessMessage ("Unknown message type"), counted under *other*',
  },
  undecodable: {
    condition: 'a payload that does not parse (truncated, non-canonical, an addrv2 address over 512 bytes, a notfound over 50,000 entries, …)',
    core: 'ignore',
    peerd: 'ignore',
    coreRef: 'net_processing.cpp ProcessMessages: the exception is caught and logged, the message dropped, the peer kept',
  },
  'list-too-long': {
    condition: 'inv or getdata over 50,000 entries, headers over 2,000, addr or addrv2 over 1,000',
    core: 'discourage',
    peerd: 'discourage',
    coreRef: 'net_processing.cpp ProcessMessage: Misbehaving("inv message size = N"), "getdata message size", "headers message size", "addr message size"',
  },
  'locator-too-long': {
    condition: 'getheaders or getblocks with a locator over 101 hashes',
    core: 'disconnect',
    peerd: 'disconnect',
    coreRef: 'net_processing.cpp ProcessMessage ("locator size N > 101, disconnect peer")',
  },
  'before-version': {
    condition: 'any message but version before version',
    core: 'ignore',
    peerd: 'ignore',
    coreRef: 'net_processing.cpp ProcessMessage ("non-version message before version handshake")',
  },
  'before-verack': {
    condition: 'a message other than the feature negotiation ones between version and verack',
    core: 'ignore',
    peerd: 'ignore',
    coreRef: 'net_processing.cpp ProcessMessage ("Unsupported message prior to verack")',
  },
  'duplicate-handshake': {
    condition: 'a second version or verack',
    core: 'ignore',
    peerd: 'ignore',
    coreRef: 'net_processing.cpp ProcessMessage ("redundant version message", "ignoring redundant verack message")',
  },
  'feature-after-verack': {
    condition: 'wtxidrelay or sendaddrv2 after verack',
    core: 'disconnect',
    peerd: 'disconnect',
    coreRef: 'net_processing.cpp ProcessMessage ("wtxidrelay received after verack", "sendaddrv2 received after verack": fDisconnect)',
  },
  // --- headers and blocks (the block actor) ---
  'header-bad-pow': {
    condition: 'a header whose hash is above its own target (in a headers message, in presync, or of a block)',
    core: 'discourage',
    peerd: 'discourage',
    coreRef: 'net_processing.cpp CheckHeadersPoW (Misbehaving "header with invalid proof of work"); validation BLOCK_INVALID_HEADER',
  },
  'headers-not-continuous': {
    condition: 'a headers message whose headers do not chain',
    core: 'discourage',
    peerd: 'discourage',
    coreRef: 'net_processing.cpp CheckHeadersPoW (Misbehaving "non-continuous headers sequence")',
  },
  'header-invalid': {
    condition: 'a header that fails a consensus check (bad-diffbits, time-too-old, timewarp, bad-version) or builds on an invalid one (bad-prevblk)',
    core: 'discourage',
    peerd: 'discourage',
    coreRef: 'net_processing.cpp MaybePunishNodeForBlock: BLOCK_INVALID_HEADER, BLOCK_INVALID_PREV',
  },
  'header-cached-invalid': {
    condition: 'a header already known to be invalid (duplicate-invalid)',
    core: 'discourage',
    peerd: 'discourage',
    outboundOnly: true,
    coreRef: 'net_processing.cpp MaybePunishNodeForBlock: BLOCK_CACHED_INVALID discourages outbound peers only',
  },
  'header-time-too-new': {
    condition: 'a header more than 2 hours ahead of our clock (time-too-new)',
    core: 'ignore',
    peerd: 'ignore',
    coreRef: 'net_processing.cpp MaybePunishNodeForBlock: BLOCK_TIME_FUTURE is not punished (the header is not stored)',
  },
  'headers-unconnecting': {
    condition: 'a headers message whose first header has an unknown parent (any number of times)',
    core: 'ignore',
    peerd: 'ignore',
    coreRef: 'net_processing.cpp HandleUnconnectingHeaders: getheaders for the gap; no penalty since v28 (PR 29575 dropped MAX_NUM_UNCONNECTING_HEADERS_MSGS)',
  },
  'headers-low-work': {
    condition: 'a headers chain whose work stays below the anti-DoS threshold (presync ends without reaching it)',
    core: 'ignore',
    peerd: 'ignore',
    coreRef: 'net_processing.cpp TryLowWorkHeadersSync ("Ignoring low-work chain"), nothing stored',
  },
  'presync-failed': {
    condition: 'presync or redownload fails for a reason other than proof of work or continuity (bad-diffbits, time-too-new, a commitment mismatch, …)',
    core: 'ignore',
    peerd: 'ignore',
    coreRef: 'headerssync.cpp ProcessNextHeaders returns success=false: the sync is dropped, the peer is not punished',
  },
  'block-missing-prev': {
    condition: 'an unrequested block whose parent we do not know',
    core: 'discourage',
    peerd: 'discourage',
    coreRef: 'net_processing.cpp MaybePunishNodeForBlock: BLOCK_MISSING_PREV (Misbehaving since v28, PR 29575)',
  },
  'block-low-work': {
    condition: 'an unrequested block whose header chain is below the anti-DoS threshold, or with no more work than our tip, or over 288 blocks ahead',
    core: 'ignore',
    peerd: 'ignore',
    coreRef: 'net_processing.cpp ProcessMessage(BLOCK) min_pow_checked; MaybePunishNodeForBlock: BLOCK_HEADER_LOW_WORK is not punished; validation.cpp AcceptBlock (unrequested, fTooFarAhead)',
  },
  'block-invalid': {
    condition: 'a block that fails a consensus check, or whose data does not match its header (mutated)',
    core: 'discourage',
    peerd: 'discourage',
    coreRef: 'net_processing.cpp MaybePunishNodeForBlock: BLOCK_CONSENSUS, BLOCK_MUTATED',
  },
  'getheaders-low-work': {
    condition: 'getheaders while our active chain is below the minimum chain work (peer without the download/noban permission)',
    core: 'ignore',
    peerd: 'ignore',
    coreRef: 'net_processing.cpp ProcessMessage(GETHEADERS): an empty headers reply ("active chain has too little work")',
  },
  'getdata-below-prune': {
    condition: 'getdata for a block deeper than a pruned node serves',
    core: 'disconnect',
    peerd: 'disconnect',
    coreRef: 'net_processing.cpp ProcessGetBlockData ("Ignore block request below NODE_NETWORK_LIMITED threshold", fDisconnect)',
  },
  'getdata-upload-target': {
    condition: 'getdata for a historical block once the upload target is reached (peer without the download permission)',
    core: 'disconnect',
    peerd: 'disconnect',
    coreRef: 'net_processing.cpp ProcessGetBlockData ("historical block serving limit reached", fDisconnect)',
  },
} as const satisfies Record<string, PunishmentRule>;

export type Offence = keyof typeof PUNISHMENTS;

/** Who committed it: what decides the exemptions. */
export interface Offender {
  readonly connType: ConnType;
  /** The noban permission (a whitelisted bind). */
  readonly noban: boolean;
}

/** The row of an offence. */
export function ruleOf(offence: Offence): PunishmentRule {
  return PUNISHMENTS[offence];
}

/**
 * What peerd does to this peer for this offence: the table's row, then Core's exemptions — a
 * noban or manual peer is never discouraged nor disconnected for misbehaviour (`ignore`), and an
 * outbound-only row spares inbound peers.
 */
export function punishmentFor(offence: Offence, who: Offender): Punishment {
  const rule: PunishmentRule = PUNISHMENTS[offence];
  if (rule.peerd !== 'discourage') return rule.peerd;
  if (rule.outboundOnly === true && who.connType === 'inbound') return 'ignore';
  if (who.noban || who.connType === 'manual') return 'ignore';
  return 'discourage';
}

/**
 * Whether a misbehaving peer's address is discouraged once it is gone (Core's
 * MaybeDiscourageAndDisconnect): never for noban or manual peers, nor for a local address.
 */
export function discourageAddress(who: Offender & { readonly local: boolean }): boolean {
  return !who.noban && who.connType !== 'manual' && !who.local;
}

/** The oversize fault of a list message's count (offset 0: the count comes first) is Core's Misbehaving; the locator's is a disconnect. */
const COUNTED_LISTS: ReadonlySet<string> = new Set(['inv', 'getdata', 'headers', 'addr', 'addrv2']);
const LOCATOR_MESSAGES: ReadonlySet<string> = new Set(['getheaders', 'getblocks']);
/** Where the locator's count starts in getheaders and getblocks (after the 4-byte version). */
const LOCATOR_COUNT_OFFSET = 4;

/**
 * The offence of a payload that did not decode, from its command, the decoder's fault code and
 * the fault's offset in the payload: a list over its limit (Core reads it, then punishes), a
 * locator over 101 hashes, or anything else that Core's deserialiser throws on (dropped).
 */
export function malformedOffence(command: string, code: string, offset: number): Offence {
  if (code === 'oversize' && offset === 0 && COUNTED_LISTS.has(command)) return 'list-too-long';
  if (code === 'oversize' && offset === LOCATOR_COUNT_OFFSET && LOCATOR_MESSAGES.has(command)) return 'locator-too-long';
  return 'undecodable';
}
