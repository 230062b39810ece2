/**
 * The v2 transport state machine, both roles, in memory: handshake and session id, messages in
 * both forms, queued messages, garbage and decoys, every split of both byte streams, rekeying,
 * v1 detection and fallback, Core's limits and the errors that end a connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameDecoder, encodeFrame } from '../../../src/wire/framing.js';
import { networkParams } from '../../../src/wire/network.js';
import { EXPANSION, V2PacketCipher } from '../../../src/wire/v2/cipher.js';
import { deriveV2Keys } from '../../../src/wire/v2/keys.js';
import { MAX_GARBAGE_SIZE, V2Transport, type V2Event } from '../../../src/wire/v2/transport.js';
import { V2_MESSAGE_IDS } from '../../../src/wire/v2/message-type.js';
import { MAINNET_MAGIC, REGTEST_MAGIC, converse, feed, manualInitiator, notSends, options, seeded, sendBytes, summary, type Script } from './helpers.js';
import { hex, readVectors } from './vectors.js';

const EMPTY = Buffer.alloc(0);
const SCRIPT: Script = {
  initiatorFirst: [
    ['version', seeded('version payload', 40)],
    ['wtxidrelay', EMPTY],
    ['sendaddrv2', EMPTY],
  ],
  responderThen: [
    ['version', seeded('their version', 40)],
    ['verack', EMPTY],
    ['ping', seeded('nonce', 8)],
    ['headers', seeded('headers', 30)],
  ],
  initiatorThen: [
    ['verack', EMPTY],
    ['pong', seeded('nonce', 8)],
    ['getaddr', EMPTY],
  ],
};
/** Largest bytesBuffered allowed with the default limits: garbage (as AAD) + one packet. */
const BOUND = MAX_GARBAGE_SIZE + 3 + 1 + 13 + 4_000_000 + 16;

test('handshake: both sides establish with the same session id; getpeerinfo says detecting, then v2 with that id', () => {
  const i = new V2Transport(options('initiator', 'i'));
  const r = new V2Transport(options('responder', 'r'));
  assert.deepEqual(i.info(), { type: 'detecting', sessionId: '' });
  assert.deepEqual(r.info(), { type: 'detecting', sessionId: '' });
  const a1 = i.start();
  assert.equal(a1.length, 1);
  assert.equal(sendBytes(a1).length, 64 + 37, 'key and garbage');
  assert.deepEqual(i.start(), [], 'start is idempotent');
  const b1 = r.receive(sendBytes(a1));
  assert.deepEqual(b1.map((e) => e.type), ['send', 'send'], 'key + garbage at the first byte that is not v1, then terminator and version packet at the 64th');
  assert.equal(sendBytes(b1).length, 64 + 37 + 16 + EXPANSION);
  assert.equal(r.info().type, 'detecting', 'keys derived, version packet not yet received');
  const a2 = i.receive(sendBytes(b1));
  const iEst = a2.find((e) => e.type === 'established');
  assert.ok(iEst && iEst.type === 'established');
  const b2 = r.receive(sendBytes(a2));
  const rEst = b2.find((e) => e.type === 'established');
  assert.ok(rEst && rEst.type === 'established');
  assert.ok(iEst.sessionId.equals(rEst.sessionId));
  assert.deepEqual(i.info(), { type: 'v2', sessionId: iEst.sessionId.toString('hex') });
  assert.deepEqual(r.info(), i.info());
  assert.equal(i.bytesBuffered, 0);
  assert.equal(r.bytesBuffered, 0);
});

test('messages both ways: short ids for the table, the 12-byte form otherwise; queued messages follow the version packet in order', () => {
  const c = converse(options('initiator', 'i'), options('responder', 'r'), SCRIPT);
  const got = (events: V2Event[]) => events.flatMap((e) => (e.type === 'message' ? [[e.command, e.payload.toString('hex'), e.wireSize] as const] : []));
  const size = (cmd: string, p: Buffer) => p.length + (V2_MESSAGE_IDS.includes(cmd) ? 1 : 13) + EXPANSION;
  assert.deepEqual(
    got(c.responderEvents),
    [...SCRIPT.initiatorFirst, ...SCRIPT.initiatorThen].map(([cmd, p]) => [cmd, p.toString('hex'), size(cmd, p)]),
  );
  assert.deepEqual(
    got(c.initiatorEvents),
    SCRIPT.responderThen.map(([cmd, p]) => [cmd, p.toString('hex'), size(cmd, p)]),
  );
  // ping (short id 18) costs 1 + 8 + 20 bytes on the wire; v1 would take 24 + 8.
  assert.ok(c.initiatorEvents.some((e) => e.type === 'message' && e.command === 'ping' && e.wireSize === 29));
});

test('every split of both streams (each single cut, byte by byte, random cuts) gives the same events and the same bytes out', () => {
  const io = options('initiator', 'i', { decoys: [seeded('decoy', 5), EMPTY] });
  const ro = options('responder', 'r', { garbage: seeded('long garbage', 45) });
  const ref = converse(io, ro, SCRIPT);
  const wantR = summary(ref.responderEvents);
  const wantI = summary(ref.initiatorEvents);
  assert.equal(wantR.filter((s) => s.startsWith('message')).length, 6);

  const runResponder = (cuts: number[]) => {
    const r = new V2Transport(ro);
    const ev = feed(r, ref.a, cuts, BOUND);
    assert.deepEqual(summary(ev), wantR, `cuts ${cuts.join(',')}`);
    // The responder's own messages were sent after it established; what it sent in reply to the
    // stream alone is the handshake part of its reference output.
    assert.ok(ref.b.subarray(0, sendBytes(ev).length).equals(sendBytes(ev)));
    assert.equal(r.bytesBuffered, 0);
  };
  const runInitiator = (cuts: number[]) => {
    const i = new V2Transport(io);
    const ev = i.start();
    for (const [c, p] of SCRIPT.initiatorFirst) i.send(c, p, ev);
    feed(i, ref.b, cuts, BOUND).forEach((e) => ev.push(e));
    assert.deepEqual(summary(ev), wantI, `cuts ${cuts.join(',')}`);
    assert.ok(ref.a.subarray(0, sendBytes(ev).length).equals(sendBytes(ev)));
  };
  for (let k = 0; k <= ref.a.length; k++) runResponder([k]);
  for (let k = 0; k <= ref.b.length; k++) runInitiator([k]);
  runResponder(Array.from({ length: ref.a.length }, (_, k) => k));
  runInitiator(Array.from({ length: ref.b.length }, (_, k) => k));
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 1, max: ref.a.length - 1 }), { maxLength: 40 }), fc.uniqueArray(fc.integer({ min: 1, max: ref.b.length - 1 }), { maxLength: 40 }), (ca, cb) => {
      runResponder([...ca].sort((x, y) => x - y));
      runInitiator([...cb].sort((x, y) => x - y));
    }),
    { numRuns: 60 },
  );
});

test('garbage of 0 and of 4095 bytes, decoys before the version packet and between messages are dropped (and counted)', () => {
  for (const [gi, gr] of [
    [0, 0],
    [MAX_GARBAGE_SIZE, MAX_GARBAGE_SIZE],
    [0, MAX_GARBAGE_SIZE],
  ]) {
    const io = options('initiator', 'i', { garbage: seeded('gi', gi), decoys: [seeded('d1', 1000), EMPTY, seeded('d3', 3)] });
    const ro = options('responder', 'r', { garbage: seeded('gr', gr), decoys: [EMPTY] });
    const i = new V2Transport(io);
    const r = new V2Transport(ro);
    const b1 = r.receive(sendBytes(i.start()));
    const a2 = i.receive(sendBytes(b1));
    i.sendDecoy(seeded('d4', 77), a2);
    i.send('ping', seeded('p', 8), a2);
    i.sendDecoy(EMPTY, a2);
    i.send('pong', seeded('q', 8), a2);
    const b2 = r.receive(sendBytes(a2));
    assert.deepEqual(summary(b2).map((s) => s.split(' ').slice(0, 2).join(' ')), ['established ' + r.info().sessionId, 'message ping', 'message pong'], `garbage ${gi}/${gr}`);
    assert.equal(r.decoyCount, 5);
    assert.equal(i.decoyCount, 1);
  }
});

test('rekeying: 1,000 messages each way (both ciphers turn over 4 times per direction) all arrive', () => {
  const i = new V2Transport(options('initiator', 'i'));
  const r = new V2Transport(options('responder', 'r'));
  i.receive(sendBytes(r.receive(sendBytes(i.receive(sendBytes(r.receive(sendBytes(i.start()))))))));
  // Both established: i got r's version packet, r got i's.
  assert.equal(i.info().type, 'v2');
  assert.equal(r.info().type, 'v2');
  const n = 1000;
  const ai: V2Event[] = [];
  const br: V2Event[] = [];
  for (let k = 0; k < n; k++) {
    const p = Buffer.alloc(4);
    p.writeUInt32LE(k);
    i.send(k % 2 === 0 ? 'inv' : 'customcmd', p, ai);
    r.send('tx', p, br);
  }
  const atR = r.receive(sendBytes(ai)).filter((e) => e.type === 'message');
  const atI = i.receive(sendBytes(br)).filter((e) => e.type === 'message');
  assert.equal(atR.length, n);
  assert.equal(atI.length, n);
  atR.forEach((e, k) => assert.ok(e.type === 'message' && e.payload.readUInt32LE(0) === k && e.command === (k % 2 === 0 ? 'inv' : 'customcmd')));
  atI.forEach((e, k) => assert.ok(e.type === 'message' && e.payload.readUInt32LE(0) === k));
});

test('the transport reproduces the packet vectors: key exchange from in_priv_ours/in_ellswift_ours, our garbage terminator, the session id', () => {
  for (const row of readVectors('packet_encoding_test_vectors.csv')) {
    const initiating = row.in_initiating === '1';
    const t = new V2Transport({
      role: initiating ? 'initiator' : 'responder',
      magic: MAINNET_MAGIC,
      privateKey: hex(row.in_priv_ours),
      entropy: Buffer.alloc(32),
      ellswift: hex(row.in_ellswift_ours),
      garbage: EMPTY,
    });
    const out = sendBytes(t.receive(hex(row.in_ellswift_theirs)));
    assert.equal(out.subarray(0, 64).toString('hex'), row.in_ellswift_ours);
    assert.equal(out.subarray(64, 80).toString('hex'), row.mid_send_garbage_terminator, `in_idx ${row.in_idx}`);
    assert.equal(out.length, 64 + 16 + EXPANSION, 'key, terminator, empty version packet');
    // The peer's side from the vector's keys: its version packet establishes the vector's session id.
    const peer = new V2PacketCipher(deriveV2Keys(hex(row.mid_shared_secret), MAINNET_MAGIC), !initiating);
    assert.equal(peer.sendGarbageTerminator.toString('hex'), row.mid_recv_garbage_terminator);
    const ev = t.receive(Buffer.concat([peer.sendGarbageTerminator, peer.encrypt(EMPTY)]));
    assert.deepEqual(summary(ev), [`established ${row.out_session_id}`], `in_idx ${row.in_idx}`);
    assert.equal(t.info().sessionId, row.out_session_id);
  }
});

test('v1 detection: the responder hands a v1 version message (its 16-byte prefix and the rest) to the v1 framer, at any split', () => {
  const regtest = networkParams('regtest');
  const frame = encodeFrame(regtest.magic, 'version', seeded('v1 version', 102));
  const more = encodeFrame(regtest.magic, 'verack', EMPTY);
  const stream = Buffer.concat([frame, more]);
  for (const cuts of [[], [1], [15], [16], [17], [24], Array.from({ length: stream.length }, (_, k) => k)]) {
    const r = new V2Transport(options('responder', 'r'));
    r.send('version', seeded('queued', 10));
    assert.equal(r.pendingBytes, 1 + 12 + 10);
    const ev = feed(r, stream, cuts, BOUND);
    assert.ok(ev.every((e) => e.type === 'fallback-v1'), `cuts ${cuts.join(',')}: only fallback events, never a key`);
    assert.deepEqual(r.info(), { type: 'v1', sessionId: '' });
    const first = ev[0];
    assert.ok(first.type === 'fallback-v1');
    assert.deepEqual(first.unsent.map((m) => m.command), ['version']);
    assert.equal(r.pendingBytes, 0);
    const dec = new FrameDecoder({ magic: regtest.magic });
    for (const e of ev) if (e.type === 'fallback-v1') dec.push(e.bytes);
    const frames = [dec.next(), dec.next()];
    assert.deepEqual(frames.map((f) => f && f.kind === 'frame' && f.command), ['version', 'verack']);
    assert.throws(() => r.send('ping', Buffer.alloc(8)), TypeError);
  }
});

test('the responder sends its key at the first byte that is not the v1 prefix, and only then', () => {
  const prefix = Buffer.concat([REGTEST_MAGIC, Buffer.from('version\0\0\0\0\0', 'latin1')]);
  for (let k = 0; k < 16; k++) {
    const r = new V2Transport(options('responder', 'r'));
    assert.deepEqual(r.receive(prefix.subarray(0, k)), [], `${k} matching bytes: still detecting`);
    assert.equal(r.info().type, 'detecting');
    const wrong = Buffer.of(prefix[k] ^ 1);
    const ev = r.receive(wrong);
    assert.deepEqual(ev.map((e) => e.type), ['send']);
    assert.equal(sendBytes(ev).length, 64 + 37);
    assert.equal(r.bytesBuffered, k + 1);
  }
});

test('a v1 version message of another network is refused as Core does ("wrong-network"), after our key went out', () => {
  const main = networkParams('main');
  const r = new V2Transport(options('responder', 'r'));
  const ev = r.receive(encodeFrame(main.magic, 'version', seeded('v', 102)));
  assert.deepEqual(ev.map((e) => e.type), ['send', 'error']);
  assert.equal(r.error?.code, 'wrong-network');
  assert.match(r.error!.message, /f9beb4d9/);
  assert.ok(r.dead);
  assert.deepEqual(r.receive(Buffer.alloc(100)), [], 'dead: input ignored');
  // An initiator does not do this check (Core: responder only).
  const i = new V2Transport(options('initiator', 'i'));
  i.start();
  assert.ok(!i.receive(encodeFrame(main.magic, 'version', seeded('v', 102))).some((e) => e.type === 'error'));
});

test('garbage: the terminator may end at byte 4111 at the latest; without it the 4111th byte is an error', () => {
  const r = new V2Transport(options('responder', 'r'));
  manualInitiator(r);
  const junk = seeded('junk', MAX_GARBAGE_SIZE + 16);
  assert.deepEqual(r.receive(junk.subarray(0, MAX_GARBAGE_SIZE + 15)), []);
  assert.equal(r.bytesBuffered, MAX_GARBAGE_SIZE + 15);
  assert.deepEqual(summary(r.receive(junk.subarray(MAX_GARBAGE_SIZE + 15))), ['error no-garbage-terminator']);

  const ok = new V2Transport(options('responder', 'r'));
  const m2 = manualInitiator(ok);
  const garbage = seeded('max garbage', MAX_GARBAGE_SIZE);
  const ev = ok.receive(Buffer.concat([garbage, m2.cipher.sendGarbageTerminator, m2.cipher.encrypt(EMPTY, garbage)]));
  assert.deepEqual(summary(ev), [`established ${m2.cipher.sessionId.toString('hex')}`]);
});

test('the first packet authenticates the garbage: one changed garbage byte ends the connection', () => {
  const r = new V2Transport(options('responder', 'r'));
  const m = manualInitiator(r);
  const sent = Buffer.from(m.garbage);
  const version = m.cipher.encrypt(EMPTY, m.garbage);
  sent[5] ^= 0x40;
  assert.deepEqual(summary(r.receive(Buffer.concat([sent, m.cipher.sendGarbageTerminator, version]))), ['error bad-packet']);
  assert.equal(r.error?.code, 'bad-packet');
});

test('Core limits: contents of 13 + maxPayload bytes pass, one more is "oversize" at the length, before the body is buffered', () => {
  const maxPayload = 1000;
  const r = new V2Transport(options('responder', 'r', { maxPayload }));
  assert.equal(r.maxContents, 1013);
  const m = manualInitiator(r);
  const at = (contents: Buffer) => m.cipher.encrypt(contents);
  const longForm = Buffer.concat([Buffer.of(0), Buffer.from('bigmsg\0\0\0\0\0\0', 'latin1'), Buffer.alloc(maxPayload)]);
  const ev = r.receive(Buffer.concat([m.garbage, m.cipher.sendGarbageTerminator, m.cipher.encrypt(EMPTY, m.garbage), at(longForm)]));
  assert.deepEqual(summary(ev).map((s) => s.split(' ').slice(0, 2).join(' ')), [`established ${m.cipher.sessionId.toString('hex')}`, 'message bigmsg']);
  const tooBig = at(Buffer.concat([Buffer.of(2), Buffer.alloc(1013)]));
  assert.deepEqual(summary(r.receive(tooBig.subarray(0, 3))), ['error oversize']);
  assert.equal(r.bytesBuffered, 0);
  // The default limit is Core's: 4,000,000 + 13.
  assert.equal(new V2Transport(options('responder', 'x')).maxContents, 4_000_013);
});

test('undecodable message types are rejected one by one and the connection goes on (Core drops them)', () => {
  const r = new V2Transport(options('responder', 'r'));
  const m = manualInitiator(r);
  const long = (name: string) => Buffer.concat([Buffer.of(0), Buffer.from(name.padEnd(12, '\0'), 'latin1')]);
  const packets = [
    Buffer.of(29, 1, 2), // assigned by the BIP's later table, not by Core v30
    Buffer.of(255),
    Buffer.of(0, 0x61), // long form too short
    long(''),
    Buffer.concat([Buffer.of(0), Buffer.from('ab\0c\0\0\0\0\0\0\0\0', 'latin1')]),
    Buffer.concat([Buffer.of(0), Buffer.from('a\x19', 'latin1'), Buffer.alloc(10)]),
    EMPTY,
    Buffer.concat([long('ping'), Buffer.alloc(8, 7)]), // a long-form name with a short id is the same message
    Buffer.concat([long('del\x7f'), Buffer.of(1)]), // Core's long form allows 0x7f
  ];
  const ev = r.receive(Buffer.concat([m.garbage, m.cipher.sendGarbageTerminator, m.cipher.encrypt(EMPTY, m.garbage), ...packets.map((p) => m.cipher.encrypt(p))]));
  assert.deepEqual(
    notSends(ev).map((e) => e.type + (e.type === 'message' ? ` ${e.command}` : '')),
    ['established', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected', 'message ping', 'message del\x7f'],
  );
  assert.ok(!r.dead);
});

test('a peer on another network (other magic) never finds our terminator: no session, nothing established', () => {
  const i = new V2Transport({ ...options('initiator', 'i'), magic: MAINNET_MAGIC });
  const r = new V2Transport(options('responder', 'r'));
  const b = r.receive(sendBytes(i.start()));
  const a = i.receive(sendBytes(b));
  const more = r.receive(sendBytes(a));
  assert.ok(!a.some((e) => e.type === 'established'));
  assert.ok(!more.some((e) => e.type === 'established'));
  assert.equal(r.info().type, 'detecting');
});

test("Core's ShouldReconnectV1: an initiator that wrote a v1 header's worth and received nothing", () => {
  const i = new V2Transport(options('initiator', 'i'));
  i.start();
  assert.equal(i.shouldReconnectV1(0), false);
  assert.equal(i.shouldReconnectV1(23), false);
  assert.equal(i.shouldReconnectV1(24), true);
  assert.equal(i.shouldReconnectV1(101), true);
  i.receive(Buffer.of(1));
  assert.equal(i.shouldReconnectV1(101), false, 'something came back: not a v1-only peer');
  assert.equal(new V2Transport(options('responder', 'r')).shouldReconnectV1(1000), false, 'inbound: never');
});

test('inputs are checked: key, entropy, garbage size, magic; the caller keeps its buffers (the private key copy is wiped, not the original)', () => {
  const o = options('initiator', 'i');
  assert.throws(() => new V2Transport({ ...o, privateKey: Buffer.alloc(32) }), TypeError);
  assert.throws(() => new V2Transport({ ...o, garbage: Buffer.alloc(MAX_GARBAGE_SIZE + 1) }), TypeError);
  assert.throws(() => new V2Transport({ ...o, magic: Buffer.alloc(3) }), TypeError);
  assert.throws(() => new V2Transport({ ...o, ellswift: undefined, entropy: Buffer.alloc(31) }), TypeError);
  const priv = Buffer.from(o.privateKey);
  const i = new V2Transport({ ...o, privateKey: priv });
  const r = new V2Transport(options('responder', 'r'));
  i.receive(sendBytes(r.receive(sendBytes(i.start()))));
  assert.ok(priv.equals(o.privateKey));
  assert.throws(() => i.send('', EMPTY), TypeError);
  assert.throws(() => i.send('thirteen-char', EMPTY), TypeError);
});
