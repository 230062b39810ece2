/**
 * BIP324 key and session id derivation ("Keys and session ID derivation"): HKDF-SHA256
 * (RFC 5869, `node:crypto`'s hkdfSync) with the ECDH shared secret as input key material and
 * "bitcoin_v2_shared_secret" ‖ network magic as salt, so that nodes of different networks end
 * up with different keys and never find each other's garbage terminator.
 */
import { hkdfSync } from 'node:crypto';

/** Length of each garbage terminator. */
export const GARBAGE_TERMINATOR_SIZE = 16;

export interface V2Keys {
  /** Identifies the encrypted channel; both ends see the same 32 bytes. */
  readonly sessionId: Buffer;
  /** Length-cipher (FSChaCha20) key of packets the initiator sends. */
  readonly initiatorL: Buffer;
  /** Contents-cipher (FSChaCha20Poly1305) key of packets the initiator sends. */
  readonly initiatorP: Buffer;
  readonly responderL: Buffer;
  readonly responderP: Buffer;
  /** The first 16 bytes of the "garbage_terminators" output: ends the initiator's garbage. */
  readonly initiatorGarbageTerminator: Buffer;
  /** The next 16 bytes: ends the responder's garbage. */
  readonly responderGarbageTerminator: Buffer;
}

const SALT_PREFIX = Buffer.from('bitcoin_v2_shared_secret', 'latin1');

/** Derives every key of a v2 session from the 32-byte shared secret and the 4-byte network magic (wire order). */
export function deriveV2Keys(sharedSecret: Uint8Array, magic: Uint8Array): V2Keys {
  if (sharedSecret.length !== 32) throw new TypeError(`shared secret must be 32 bytes, not ${sharedSecret.length}`);
  if (magic.length !== 4) throw new TypeError(`network magic must be 4 bytes, not ${magic.length}`);
  const salt = Buffer.concat([SALT_PREFIX, magic]);
  const expand = (info: string): Buffer => Buffer.from(hkdfSync('sha256', sharedSecret, salt, Buffer.from(info, 'latin1'), 32));
  const terminators = expand('garbage_terminators');
  return {
    sessionId: expand('session_id'),
    initiatorL: expand('initiator_L'),
    initiatorP: expand('initiator_P'),
    responderL: expand('responder_L'),
    responderP: expand('responder_P'),
    initiatorGarbageTerminator: terminators.subarray(0, GARBAGE_TERMINATOR_SIZE),
    responderGarbageTerminator: terminators.subarray(GARBAGE_TERMINATOR_SIZE, 2 * GARBAGE_TERMINATOR_SIZE),
  };
}
