/**
 * Every P2P message peerd speaks, as a discriminated union tagged by `command`, with a payload
 * encoder and a decoder that never throws on bad input.
 *
 * Trailing bytes. Core never checks that a message was consumed: it reads what it needs from
 * the payload and ignores the rest (ProcessMessage returns with vRecv non-empty), and for
 * `version` it reads the optional tail fields only while bytes remain. peerd is stricter by
 * default: every decoder except `version` reports 'trailing-bytes' when bytes are left over.
 * `version` follows Core (nonce, user agent, start height and relay are each read only if
 * bytes remain; anything after relay is ignored). Pass `{ allowTrailing: true }` to decode
 * other messages with Core's leniency.
 *
 * Limits (Core): inv/getdata ≤ 50,000 (MAX_INV_SZ; notfound takes the same bound here),
 * locator ≤ 101 (MAX_LOCATOR_SZ), headers ≤ 2,000 (MAX_HEADERS_RESULTS), addr/addrv2 ≤ 1,000
 * (MAX_ADDR_TO_SEND), user agent ≤ 256 bytes (MAX_SUBVERSION_LENGTH). A declared count is
 * checked against the limit and against the bytes that remain (count × smallest entry) before
 * any array is allocated.
 *
 * Zero copy: inventory and locator hashes and an unknown command's payload are views into the
 * payload buffer (which may itself be a view into a socket chunk). Copy what you keep long.
 */
import { Reader, Writer } from './buffer.js';
import { ADDR_V1_TIMED_SIZE, ADDR_V2_MIN_SIZE, decodeNetAddressV1, decodeNetAddressV2, encodeNetAddressV1, encodeNetAddressV2, type NetAddress, type TimedNetAddress } from './address.js';
import { HEADER_SIZE, decodeBlock, decodeHeader, encodeBlock, encodeHeader, type Block, type BlockHeader } from './block.js';
import { COMMAND_SIZE, FRAME_HEADER_SIZE, MAX_ADDR_TO_SEND, MAX_HEADERS_RESULTS, MAX_INV_SZ, MAX_LOCATOR_SZ, MAX_REJECT_MESSAGE_LENGTH, MAX_SUBVERSION_LENGTH } from './constants.js';
import { WireError, type WireFault } from './errors.js';
import { writeFrameHeader } from './framing.js';
import { decodeTx, encodeTx, type Tx } from './tx.js';

/** The tag of a message whose command this codec does not know. Longer than 12 characters, so no wire command can equal it. */
export const UNKNOWN_COMMAND = 'unknown-command';

export interface VersionMessage {
  readonly command: 'version';
  /** Protocol version (Core: int32). */
  readonly version: number;
  readonly services: bigint;
  /** Sender's clock, seconds (Core: int64). */
  readonly timestamp: bigint;
  /** The address the sender sees us at (26-byte legacy form, no time). */
  readonly addrRecv: NetAddress;
  /** The sender's own address (Core ignores it). */
  readonly addrFrom: NetAddress;
  readonly nonce: bigint;
  /** Raw bytes as latin1 (Core reads raw bytes; it sanitises only for display). */
  readonly userAgent: string;
  readonly startHeight: number;
  /** BIP37 relay flag; absent when the peer omitted the byte (Core then assumes true). */
  readonly relay?: boolean;
}

export interface InvItem {
  /** MSG_TX, MSG_BLOCK, … possibly with MSG_WITNESS_FLAG; unknown types are kept. */
  readonly type: number;
  /** Internal byte order (a view into the payload). */
  readonly hash: Buffer;
}

export interface PingMessage {
  readonly command: 'ping';
  /** Absent for a pre-BIP31 ping (empty payload), which Core never answers. */
  readonly nonce?: bigint;
}

export interface LocatorMessage<C extends 'getheaders' | 'getblocks'> {
  readonly command: C;
  /** Core writes its protocol version and ignores the value it reads. */
  readonly version: number;
  /** Hashes, newest first, internal byte order. */
  readonly locator: readonly Buffer[];
  /** All zeros for "as many as you have". */
  readonly hashStop: Buffer;
}

export interface InvMessage<C extends 'inv' | 'getdata' | 'notfound'> {
  readonly command: C;
  readonly items: readonly InvItem[];
}

export interface AddrMessage<C extends 'addr' | 'addrv2'> {
  readonly command: C;
  readonly addresses: readonly TimedNetAddress[];
}

export interface RejectMessage {
  readonly command: 'reject';
  /** The command being rejected. */
  readonly message: string;
  readonly code: number;
  readonly reason: string;
  /** The hash of the rejected tx or block, when present. */
  readonly data?: Buffer;
}

export interface UnknownMessage {
  readonly command: typeof UNKNOWN_COMMAND;
  /** The command as it came in the frame header. */
  readonly name: string;
  readonly payload: Buffer;
}

export type Message =
  | VersionMessage
  | { readonly command: 'verack' }
  | PingMessage
  | { readonly command: 'pong'; readonly nonce: bigint }
  | { readonly command: 'getaddr' }
  | AddrMessage<'addr'>
  | AddrMessage<'addrv2'>
  | { readonly command: 'sendaddrv2' }
  | InvMessage<'inv'>
  | InvMessage<'getdata'>
  | InvMessage<'notfound'>
  | LocatorMessage<'getheaders'>
  | LocatorMessage<'getblocks'>
  | { readonly command: 'headers'; readonly headers: readonly BlockHeader[] }
  | { readonly command: 'block'; readonly block: Block }
  | { readonly command: 'tx'; readonly tx: Tx }
  | { readonly command: 'sendheaders' }
  | { readonly command: 'sendcmpct'; readonly announce: boolean; readonly version: bigint }
  | { readonly command: 'feefilter'; readonly feeRate: bigint }
  | { readonly command: 'wtxidrelay' }
  | { readonly command: 'mempool' }
  | RejectMessage
  | UnknownMessage;

export type Command = Exclude<Message['command'], typeof UNKNOWN_COMMAND>;
export type MessageOf<C extends Message['command']> = Extract<Message, { command: C }>;

/** Every command with a codec here. */
export const COMMANDS: readonly Command[] = Object.freeze([
  'version', 'verack', 'ping', 'pong', 'getaddr', 'addr', 'addrv2', 'sendaddrv2', 'inv', 'getdata', 'notfound', 'getheaders', 'getblocks', 'headers', 'block', 'tx', 'sendheaders', 'sendcmpct', 'feefilter', 'wtxidrelay', 'mempool', 'reject',
] as const);

/** A decoding fault, with the command whose payload it was found in. */
export interface MessageFault extends WireFault {
  readonly command: string;
}

export type DecodedMessage = { readonly ok: true; readonly value: Message } | { readonly ok: false; readonly error: MessageFault };

export interface DecodeOptions {
  /** Ignore bytes left after a message, as Core does (default false: 'trailing-bytes'). `version` always ignores them. */
  readonly allowTrailing?: boolean;
  /**
   * A block's transactions are checked but decoded (and hashed) only on first use: the block
   * check does that, maybe in another thread (see DecodeBlockOptions.lazyTxs).
   */
  readonly lazyBlockTxs?: boolean;
}

const INV_ITEM_SIZE = 36;
const HEADERS_ENTRY_MIN = HEADER_SIZE + 1;

// --- decoding -------------------------------------------------------------------------------

/** Checks a declared count against its limit and against the bytes left, before anything is allocated. */
function count(r: Reader, what: string, max: number, minEntry: number): number {
  const at = r.offset;
  const n = r.compactSize(`${what} count`);
  if (n > max) r.fail('oversize', `${n} ${what} entries, at most ${max}`, at);
  if (n * minEntry > r.remaining) r.fail('truncated', `${n} ${what} entries need at least ${n * minEntry} bytes, ${r.remaining} left`, at);
  return n;
}

function decodeVersion(r: Reader): VersionMessage {
  const version = r.i32le('version');
  const services = r.u64le('services');
  const timestamp = r.i64le('timestamp');
  const addrRecv = decodeNetAddressV1(r, false);
  // Core reads addr_from, nonce, user agent, start height and relay each only if bytes remain
  // (versions before 106 stop after addr_recv); bytes after relay are ignored.
  // Core: `if (!vRecv.empty()) { vRecv.ignore(26); vRecv >> nNonce; }` — addr_from and nonce come together.
  let addrFrom: NetAddress = { network: 'ipv4', addr: Buffer.alloc(4), port: 0, services: 0n };
  let nonce = 0n;
  if (r.remaining > 0) {
    addrFrom = decodeNetAddressV1(r, false);
    nonce = r.u64le('nonce');
  }
  const userAgent = r.remaining > 0 ? r.varString('user agent', MAX_SUBVERSION_LENGTH) : '';
  const startHeight = r.remaining > 0 ? r.i32le('start height') : 0;
  const base = { command: 'version' as const, version, services, timestamp, addrRecv, addrFrom, nonce, userAgent, startHeight };
  return r.remaining > 0 ? { ...base, relay: r.bool('relay') } : base;
}

function decodeInv(r: Reader, what: string): InvItem[] {
  const n = count(r, what, MAX_INV_SZ, INV_ITEM_SIZE);
  const items = new Array<InvItem>(n);
  const buf = r.buf;
  let p = r.pos;
  for (let i = 0; i < n; i++) {
    const type = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16)) + buf[p + 3] * 0x1000000;
    items[i] = { type, hash: buf.subarray(p + 4, p + INV_ITEM_SIZE) };
    p += INV_ITEM_SIZE;
  }
  r.pos = p;
  return items;
}

function decodeLocator<C extends 'getheaders' | 'getblocks'>(r: Reader, command: C): LocatorMessage<C> {
  const version = r.u32le('locator version');
  const n = count(r, 'locator', MAX_LOCATOR_SZ, 32);
  const locator = new Array<Buffer>(n);
  for (let i = 0; i < n; i++) locator[i] = r.bytes(32, 'locator hash');
  const hashStop = r.bytes(32, 'hash stop');
  return { command, version, locator, hashStop };
}

function decodeHeaders(r: Reader): BlockHeader[] {
  const n = count(r, 'headers', MAX_HEADERS_RESULTS, HEADERS_ENTRY_MIN);
  const headers = new Array<BlockHeader>(n);
  for (let i = 0; i < n; i++) {
    headers[i] = decodeHeader(r);
    // Core: "ReadCompactSize(vRecv); // ignore tx count; assume it is 0." — any canonical value is accepted.
    r.compactSize('header tx count');
  }
  return headers;
}

function decodeAddr(r: Reader): TimedNetAddress[] {
  const n = count(r, 'addr', MAX_ADDR_TO_SEND, ADDR_V1_TIMED_SIZE);
  const out = new Array<TimedNetAddress>(n);
  for (let i = 0; i < n; i++) out[i] = decodeNetAddressV1(r, true);
  return out;
}

function decodeAddrV2(r: Reader): TimedNetAddress[] {
  const n = count(r, 'addrv2', MAX_ADDR_TO_SEND, ADDR_V2_MIN_SIZE);
  const out = new Array<TimedNetAddress>(n);
  for (let i = 0; i < n; i++) out[i] = decodeNetAddressV2(r);
  return out;
}

function decodeReject(r: Reader, allowTrailing: boolean): RejectMessage {
  const message = r.varString('rejected command', COMMAND_SIZE);
  const code = r.u8('reject code');
  const reason = r.varString('reject reason', MAX_REJECT_MESSAGE_LENGTH);
  // Core (≤ 0.19) read the 32-byte hash only after a rejected tx or block; we take it when present.
  if (r.remaining === 32 || (allowTrailing && r.remaining > 32)) return { command: 'reject', message, code, reason, data: Buffer.from(r.bytes(32, 'reject data')) };
  return { command: 'reject', message, code, reason };
}

function decodeBody(command: string, r: Reader, allowTrailing: boolean, lazyTxs = false): Message {
  switch (command) {
    case 'version':
      return decodeVersion(r);
    case 'verack':
    case 'getaddr':
    case 'sendaddrv2':
    case 'sendheaders':
    case 'wtxidrelay':
    case 'mempool':
      return { command };
    case 'ping':
      // BIP31: pings from peers at version ≤ 60000 are empty. Core reads a nonce only when the
      // common version is > 60000 (failing on an empty one); this codec does not know the
      // version, so it accepts the empty ping and leaves the decision to the peer.
      return r.remaining === 0 ? { command: 'ping' } : { command: 'ping', nonce: r.u64le('ping nonce') };
    case 'pong':
      return { command: 'pong', nonce: r.u64le('pong nonce') };
    case 'addr':
      return { command: 'addr', addresses: decodeAddr(r) };
    case 'addrv2':
      return { command: 'addrv2', addresses: decodeAddrV2(r) };
    case 'inv':
    case 'getdata':
    case 'notfound':
      return { command, items: decodeInv(r, command) };
    case 'getheaders':
    case 'getblocks':
      return decodeLocator(r, command);
    case 'headers':
      return { command: 'headers', headers: decodeHeaders(r) };
    case 'block':
      return { command: 'block', block: decodeBlock(r, { lazyTxs }) };
    case 'tx':
      return { command: 'tx', tx: decodeTx(r) };
    case 'sendcmpct':
      return { command: 'sendcmpct', announce: r.bool('announce'), version: r.u64le('compact version') };
    case 'feefilter':
      return { command: 'feefilter', feeRate: r.i64le('fee rate') };
    case 'reject':
      return decodeReject(r, allowTrailing);
    default:
      return { command: UNKNOWN_COMMAND, name: command, payload: r.bytes(r.remaining) };
  }
}

/**
 * Decodes a payload received under `command`. Never throws on bad input: a fault says what,
 * where (payload offset) and under which command. Unknown commands decode to {@link UnknownMessage}.
 */
export function decodeMessage(command: string, payload: Buffer, opts?: DecodeOptions): DecodedMessage {
  const r = new Reader(payload);
  const allowTrailing = opts?.allowTrailing === true;
  try {
    const value = decodeBody(command, r, allowTrailing, opts?.lazyBlockTxs === true);
    if (!allowTrailing && command !== 'version') r.expectEnd(command);
    return { ok: true, value };
  } catch (err) {
    if (err instanceof WireError) return { ok: false, error: { code: err.code, offset: err.offset, message: err.detail, command } };
    if (err instanceof RangeError) return { ok: false, error: { code: 'truncated', offset: Math.max(0, r.offset), message: err.message, command } };
    throw err;
  }
}

// --- encoding -------------------------------------------------------------------------------

function encodeBody(w: Writer, m: Message): void {
  switch (m.command) {
    case 'version':
      w.i32le(m.version).u64le(m.services).i64le(m.timestamp);
      encodeNetAddressV1(w, m.addrRecv, false);
      encodeNetAddressV1(w, m.addrFrom, false);
      w.u64le(m.nonce).varString(m.userAgent).i32le(m.startHeight);
      if (m.relay !== undefined) w.bool(m.relay);
      return;
    case 'verack':
    case 'getaddr':
    case 'sendaddrv2':
    case 'sendheaders':
    case 'wtxidrelay':
    case 'mempool':
      return;
    case 'ping':
      if (m.nonce !== undefined) w.u64le(m.nonce);
      return;
    case 'pong':
      w.u64le(m.nonce);
      return;
    case 'addr':
      w.compactSize(m.addresses.length);
      for (const a of m.addresses) encodeNetAddressV1(w, a, true);
      return;
    case 'addrv2':
      w.compactSize(m.addresses.length);
      for (const a of m.addresses) encodeNetAddressV2(w, a);
      return;
    case 'inv':
    case 'getdata':
    case 'notfound':
      w.compactSize(m.items.length);
      for (const it of m.items) w.u32le(it.type).bytes(it.hash);
      return;
    case 'getheaders':
    case 'getblocks':
      w.u32le(m.version).compactSize(m.locator.length);
      for (const h of m.locator) w.bytes(h);
      w.bytes(m.hashStop);
      return;
    case 'headers':
      w.compactSize(m.headers.length);
      for (const h of m.headers) {
        encodeHeader(w, h);
        w.u8(0);
      }
      return;
    case 'block':
      encodeBlock(w, m.block);
      return;
    case 'tx':
      encodeTx(w, m.tx);
      return;
    case 'sendcmpct':
      w.bool(m.announce).u64le(m.version);
      return;
    case 'feefilter':
      w.i64le(m.feeRate);
      return;
    case 'reject':
      w.varString(m.message).u8(m.code).varString(m.reason);
      if (m.data !== undefined) w.bytes(m.data);
      return;
    case UNKNOWN_COMMAND:
      w.bytes(m.payload);
      return;
  }
}

/** The wire command of a message (an unknown message's own name). */
export function commandOf(m: Message): string {
  return m.command === UNKNOWN_COMMAND ? m.name : m.command;
}

function sizeHint(m: Message): number {
  switch (m.command) {
    case 'headers':
      return 3 + m.headers.length * 81;
    case 'inv':
    case 'getdata':
    case 'notfound':
      return 5 + m.items.length * INV_ITEM_SIZE;
    case 'block':
      return m.block.size + 8;
    case 'tx':
      return m.tx.size + 8;
    case UNKNOWN_COMMAND:
      return m.payload.length;
    default:
      return 128;
  }
}

/** The payload bytes of a message. The result may be a view of a larger buffer. */
export function encodeMessage(m: Message): Buffer {
  const w = new Writer(Math.max(16, sizeHint(m)));
  encodeBody(w, m);
  return w.result();
}

/** A complete frame (header + payload) for a message, serialised into a single buffer. */
export function encodeMessageFrame(magic: number, m: Message): Buffer {
  const w = new Writer(FRAME_HEADER_SIZE + Math.max(16, sizeHint(m)));
  w.pos = FRAME_HEADER_SIZE;
  encodeBody(w, m);
  const frame = w.result();
  writeFrameHeader(frame, 0, magic, commandOf(m), frame.subarray(FRAME_HEADER_SIZE));
  return frame;
}
