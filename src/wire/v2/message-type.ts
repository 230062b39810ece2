/**
 * BIP324's application layer: the contents of a v2 packet are a message type followed by the
 * payload. The type is one byte 1..255 (a short id from the BIP's table) or 0x00 followed by the
 * 12-byte NUL-padded ASCII type of v1.
 *
 * {@link V2_MESSAGE_IDS} is Bitcoin Core v30's table (net.cpp): ids 1..28 as in the BIP, 29..32
 * assigned by the BIP's later table but not implemented (Core hands them on as an empty type that
 * nothing handles), 33..255 unknown (Core rejects the message). Either way the message is dropped
 * and the connection kept. A long-form type is valid as Core checks it (bytes 0x20..0x7f up to the
 * first NUL, only NULs after); peerd also refuses the empty type, as its v1 framer does.
 */
import { COMMAND_SIZE } from '../constants.js';

/** Index = short id; '' at 0 (the 12-byte form follows) and at the ids Core leaves unimplemented. */
export const V2_MESSAGE_IDS: readonly string[] = Object.freeze([
  '',
  'addr',
  'block',
  'blocktxn',
  'cmpctblock',
  'feefilter',
  'filteradd',
  'filterclear',
  'filterload',
  'getblocks',
  'getblocktxn',
  'getdata',
  'getheaders',
  'headers',
  'inv',
  'mempool',
  'merkleblock',
  'notfound',
  'ping',
  'pong',
  'sendcmpct',
  'tx',
  'getcfilters',
  'cfilter',
  'getcfheaders',
  'cfheaders',
  'getcfcheckpt',
  'cfcheckpt',
  'addrv2',
  // Assigned in BIP324's message type table (29..32), not implemented by Core v30:
  '',
  '',
  '',
  '',
]);

const SHORT_ID = new Map<string, number>();
V2_MESSAGE_IDS.forEach((name, id) => {
  if (name !== '') SHORT_ID.set(name, id);
});

/** The one-byte id of a message type, or undefined when it is sent in the 12-byte form. */
export function shortMessageId(command: string): number | undefined {
  return SHORT_ID.get(command);
}

/** Bytes the type takes in a packet's contents: 1 for a short id, 13 otherwise. */
export function messageTypeSize(command: string): number {
  return SHORT_ID.has(command) ? 1 : 1 + COMMAND_SIZE;
}

/**
 * Writes the type of `command` at `out[at]` (1 or 13 bytes) and returns the bytes written.
 * Throws TypeError on a command that is not 1..12 printable ASCII characters (a programming error).
 */
export function writeMessageType(out: Buffer, at: number, command: string): number {
  const id = SHORT_ID.get(command);
  if (id !== undefined) {
    out[at] = id;
    return 1;
  }
  if (command.length === 0 || command.length > COMMAND_SIZE) throw new TypeError(`command must be 1 to ${COMMAND_SIZE} characters: ${JSON.stringify(command)}`);
  for (let i = 0; i < command.length; i++) {
    const c = command.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new TypeError(`command must be printable ASCII: ${JSON.stringify(command)}`);
  }
  out.fill(0, at, at + 1 + COMMAND_SIZE);
  out.write(command, at + 1, 'latin1');
  return 1 + COMMAND_SIZE;
}

export type DecodedContents =
  | { readonly ok: true; readonly command: string; readonly payload: Buffer }
  | { readonly ok: false; readonly reason: string };

/** Splits a packet's contents into message type and payload (a view of `contents`). */
export function decodeContents(contents: Buffer): DecodedContents {
  if (contents.length === 0) return { ok: false, reason: 'empty contents' };
  const first = contents[0];
  if (first !== 0) {
    const name = first < V2_MESSAGE_IDS.length ? V2_MESSAGE_IDS[first] : '';
    if (name === '') return { ok: false, reason: `unknown short message id ${first}` };
    return { ok: true, command: name, payload: contents.subarray(1) };
  }
  if (contents.length < 1 + COMMAND_SIZE) return { ok: false, reason: `long message type needs ${COMMAND_SIZE} bytes, contents have ${contents.length - 1}` };
  let n = 0;
  while (n < COMMAND_SIZE && contents[1 + n] !== 0) {
    const c = contents[1 + n];
    if (c < 0x20 || c > 0x7f) return { ok: false, reason: `message type byte 0x${c.toString(16).padStart(2, '0')} is not ASCII` };
    n++;
  }
  for (let i = n; i < COMMAND_SIZE; i++) if (contents[1 + i] !== 0) return { ok: false, reason: 'message type has bytes after its NUL padding' };
  if (n === 0) return { ok: false, reason: 'empty message type' };
  const raw = contents.toString('latin1', 1, 1 + n);
  // A long-form name that also has a short id is the same message (BIP324 1.0.1); intern it.
  const id = SHORT_ID.get(raw);
  return { ok: true, command: id !== undefined ? V2_MESSAGE_IDS[id] : raw, payload: contents.subarray(1 + COMMAND_SIZE) };
}
