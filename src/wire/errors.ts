/**
 * Typed decoding faults. The codec never throws strings at its callers: every public
 * decode function returns a {@link Decoded} value whose error says what went wrong and
 * at which byte offset. Internally the {@link Reader} throws {@link WireError} for speed;
 * the public entry points catch it and turn it into a value.
 */
export type WireErrorCode =
  | 'truncated' // fewer bytes than the structure needs
  | 'non-canonical' // a CompactSize encoded in more bytes than needed
  | 'oversize' // a length or count above a protocol limit
  | 'bad-magic' // the frame does not start with this network's magic
  | 'bad-command' // command bytes not NUL-padded printable ASCII
  | 'bad-checksum' // SHA256d(payload) does not match the header
  | 'trailing-bytes' // bytes left over after a message payload was parsed
  | 'bad-value'; // a field holds a value the protocol forbids

export interface WireFault {
  readonly code: WireErrorCode;
  /** Byte offset of the fault: within the stream for framing, within the payload for messages. */
  readonly offset: number;
  readonly message: string;
}

export class WireError extends Error implements WireFault {
  constructor(
    readonly code: WireErrorCode,
    readonly offset: number,
    /** What is wrong, without the code and offset (which `message` starts with). */
    readonly detail: string,
  ) {
    super(`${code} at ${offset}: ${detail}`);
    this.name = 'WireError';
  }

  toFault(): WireFault {
    return { code: this.code, offset: this.offset, message: this.detail };
  }
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WireFault };

export function ok<T>(value: T): Decoded<T> {
  return { ok: true, value };
}

export function fault<T>(code: WireErrorCode, offset: number, message: string): Decoded<T> {
  return { ok: false, error: { code, offset, message } };
}

/** Runs a parser that may throw WireError and returns its result as a value. Other errors propagate (they are bugs). */
export function attempt<T>(parse: () => T): Decoded<T> {
  try {
    return { ok: true, value: parse() };
  } catch (err) {
    if (err instanceof WireError) return { ok: false, error: err.toFault() };
    if (err instanceof RangeError) return { ok: false, error: { code: 'truncated', offset: -1, message: err.message } };
    throw err;
  }
}
