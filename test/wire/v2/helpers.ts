/** Deterministic v2 transports and conversations for the tests (every input derived from a seed). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ellswiftEncode } from '../../../src/wire/v2/ellswift.js';
import { V2PacketCipher } from '../../../src/wire/v2/cipher.js';
import { V2Transport, type V2Event, type V2Role, type V2TransportOptions } from '../../../src/wire/v2/transport.js';
import { networkParams } from '../../../src/wire/network.js';

export const REGTEST_MAGIC = networkParams('regtest').magicBytes;
export const MAINNET_MAGIC = networkParams('main').magicBytes;

export function seeded(label: string, n = 32): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0, at = 0; at < n; i++) at += createHash('sha256').update(`${label}/${i}`).digest().copy(out, at);
  return out;
}

/** Options of a transport whose key, entropy and garbage come from `seed`; the encoding is computed once per seed. */
const encodings = new Map<string, Buffer>();
export function options(role: V2Role, seed: string, extra: Partial<V2TransportOptions> = {}): V2TransportOptions {
  const privateKey = seeded(`${seed}/priv`);
  const entropy = seeded(`${seed}/entropy`);
  let ellswift = encodings.get(seed);
  if (ellswift === undefined) {
    ellswift = ellswiftEncode(privateKey, entropy);
    encodings.set(seed, ellswift);
  }
  return { role, magic: REGTEST_MAGIC, privateKey, entropy, ellswift, garbage: seeded(`${seed}/garbage`, 37), ...extra };
}

export const sendBytes = (events: readonly V2Event[]): Buffer => Buffer.concat(events.flatMap((e) => (e.type === 'send' ? [e.bytes] : [])));
export const notSends = (events: readonly V2Event[]): V2Event[] => events.filter((e) => e.type !== 'send');

/** A comparable summary of the non-send events. */
export function summary(events: readonly V2Event[]): string[] {
  return events.flatMap((e): string[] => {
    switch (e.type) {
      case 'send':
        return [];
      case 'established':
        return [`established ${e.sessionId.toString('hex')}`];
      case 'message':
        return [`message ${e.command} ${e.payload.toString('hex')} ${e.wireSize}`];
      case 'rejected':
        return [`rejected ${e.reason} ${e.wireSize}`];
      case 'fallback-v1':
        return [`fallback-v1 ${e.bytes.toString('hex')} ${e.unsent.length}`];
      case 'error':
        return [`error ${e.code}`];
    }
  });
}

export interface Script {
  /** Messages the initiator sends before anything is received (queued until the keys). */
  readonly initiatorFirst: readonly (readonly [string, Buffer])[];
  /** Messages the responder sends once established. */
  readonly responderThen: readonly (readonly [string, Buffer])[];
  /** Messages the initiator sends after that. */
  readonly initiatorThen: readonly (readonly [string, Buffer])[];
}

export interface Conversation {
  /** Everything the initiator wrote, in order. */
  readonly a: Buffer;
  /** Everything the responder wrote. */
  readonly b: Buffer;
  readonly initiatorEvents: V2Event[];
  readonly responderEvents: V2Event[];
}

/** Runs a conversation with whole writes delivered at once: the reference the split runs are compared with. */
export function converse(io: V2TransportOptions, ro: V2TransportOptions, script: Script): Conversation {
  const i = new V2Transport(io);
  const r = new V2Transport(ro);
  const iev: V2Event[] = [];
  const rev: V2Event[] = [];
  const a: Buffer[] = [];
  const b: Buffer[] = [];
  const take = (events: V2Event[], into: V2Event[], wire: Buffer[]): Buffer => {
    into.push(...events);
    const bytes = sendBytes(events);
    wire.push(bytes);
    return bytes;
  };
  let toR = take(i.start(), iev, a);
  for (const [c, p] of script.initiatorFirst) toR = Buffer.concat([toR, take(i.send(c, p), iev, a)]);
  let toI = take(r.receive(toR), rev, b);
  toR = take(i.receive(toI), iev, a);
  take(r.receive(toR), rev, b);
  assert.equal(r.info().type, 'v2');
  toI = Buffer.alloc(0);
  for (const [c, p] of script.responderThen) toI = Buffer.concat([toI, take(r.send(c, p), rev, b)]);
  take(i.receive(toI), iev, a);
  toR = Buffer.alloc(0);
  for (const [c, p] of script.initiatorThen) toR = Buffer.concat([toR, take(i.send(c, p), iev, a)]);
  take(r.receive(toR), rev, b);
  return { a: Buffer.concat(a), b: Buffer.concat(b), initiatorEvents: iev, responderEvents: rev };
}

/** Feeds `stream` to `t` in chunks ending at `cuts` (sorted, deduplicated, within the stream); checks the buffer bound after every chunk. */
export function feed(t: V2Transport, stream: Buffer, cuts: readonly number[], bound: number): V2Event[] {
  const out: V2Event[] = [];
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    if (cut <= from) continue;
    t.receive(stream.subarray(from, cut), out);
    assert.ok(t.bytesBuffered <= bound, `bytesBuffered ${t.bytesBuffered} > ${bound}`);
    from = cut;
  }
  return out;
}

/**
 * A hand-driven initiator for the responder `r`: feeds it our key (that makes `r` send its key),
 * derives the real keys, and leaves the rest to the test, which encrypts whatever packets it likes
 * (unknown message ids, oversize lengths, tampered bytes) and feeds garbage ‖ terminator ‖ packets.
 */
export function manualInitiator(r: V2Transport, seed = 'manual'): { cipher: V2PacketCipher; garbage: Buffer; events: V2Event[] } {
  const o = options('initiator', seed);
  const events = r.receive(o.ellswift!);
  const theirs = sendBytes(events).subarray(0, 64);
  const cipher = V2PacketCipher.fromHandshake({ privateKey: o.privateKey, ellswiftOurs: o.ellswift!, ellswiftTheirs: theirs, initiating: true, magic: REGTEST_MAGIC });
  return { cipher, garbage: Buffer.from(o.garbage), events };
}
