import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Writer } from '../../src/wire/buffer.js';
import { makeHeader, makeBlock, type BlockHeader } from '../../src/wire/block.js';
import { makeTx } from '../../src/wire/tx.js';
import { FrameDecoder } from '../../src/wire/framing.js';
import { COMMANDS, UNKNOWN_COMMAND, decodeMessage, encodeMessage, encodeMessageFrame, type Message } from '../../src/wire/messages.js';
import { messageSummary } from '../../src/wire/summary.js';
import { MAX_ADDR_TO_SEND, MAX_HEADERS_RESULTS, MAX_INV_SZ, MAX_LOCATOR_SZ, MSG_BLOCK, MSG_TX, MSG_WITNESS_FLAG, MSG_WTX, NODE_NETWORK, NODE_WITNESS } from '../../src/wire/constants.js';
import type { NetAddress, TimedNetAddress } from '../../src/wire/address.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const h32 = (b: number) => Buffer.alloc(32, b);
const MAIN = 0xd9b4bef9;

function decodeOk(command: string, payload: Buffer): Message {
  const d = decodeMessage(command, payload);
  if (!d.ok) assert.fail(`${command}: ${d.error.code} at ${d.error.offset}: ${d.error.message}`);
  return d.value;
}

function decodeErr(command: string, payload: Buffer) {
  const d = decodeMessage(command, payload);
  if (d.ok) assert.fail(`${command} decoded but should not have`);
  assert.equal(d.error.command, command);
  assert.ok(d.error.offset >= 0);
  return d.error;
}

function roundTrip(m: Message): void {
  const bytes = encodeMessage(m);
  const back = decodeOk(m.command === UNKNOWN_COMMAND ? m.name : m.command, bytes);
  assert.deepEqual(back, m);
  assert.ok(encodeMessage(back).equals(bytes), `${m.command} re-encodes to the same bytes`);
  JSON.stringify(messageSummary(back));
}

const ip4 = (a: string, port: number, services = NODE_NETWORK): NetAddress => ({ network: 'ipv4', addr: Buffer.from(a.split('.').map(Number)), port, services });
const timed = (a: NetAddress, time: number): TimedNetAddress => ({ ...a, time });

const HEADER: BlockHeader = makeHeader({ version: 0x20000000, prevBlock: h32(1), merkleRoot: h32(2), time: 1_700_000_000, bits: 0x207fffff, nonce: 7 });

const EXAMPLES: Message[] = [
  {
    command: 'version',
    version: 70016,
    services: NODE_NETWORK | NODE_WITNESS,
    timestamp: 1_700_000_000n,
    addrRecv: ip4('127.0.0.1', 18444, 0n),
    addrFrom: { network: 'ipv6', addr: hex('20010db8000000000000000000000001'), port: 18444, services: 9n },
    nonce: 0xfedcba9876543210n,
    userAgent: '/peerd:0.1.0/',
    startHeight: 123,
    relay: true,
  },
  {
    command: 'version',
    version: 70015,
    services: 0n,
    timestamp: -1n,
    addrRecv: ip4('0.0.0.0', 0, 0n),
    addrFrom: ip4('0.0.0.0', 0, 0n),
    nonce: 0n,
    userAgent: '',
    startHeight: -1,
  },
  { command: 'verack' },
  { command: 'ping', nonce: 0x0807060504030201n },
  { command: 'ping' },
  { command: 'pong', nonce: 2n ** 64n - 1n },
  { command: 'getaddr' },
  { command: 'addr', addresses: [timed(ip4('10.0.0.1', 8333), 0x4d1015e2), timed({ network: 'ipv6', addr: hex('fe800000000000000000000000000001'), port: 1, services: 1n }, 1)] },
  { command: 'addr', addresses: [] },
  {
    command: 'addrv2',
    addresses: [
      timed(ip4('1.2.3.4', 8333, 2n ** 64n - 1n), 5),
      { network: 'torv3', addr: h32(0xab), port: 9050, services: NODE_WITNESS, time: 6 },
      { network: 'i2p', addr: h32(0x12), port: 0, services: 0n, time: 7 },
      { network: 'cjdns', addr: hex('fc000000000000000000000000000001'), port: 8333, services: 1n, time: 8 },
      { network: 'torv2', addr: Buffer.alloc(10, 1), port: 8333, services: 1n, time: 9 },
      { network: 42, addr: Buffer.alloc(3, 9), port: 1, services: 0x1234n, time: 10 },
    ],
  },
  { command: 'sendaddrv2' },
  { command: 'inv', items: [{ type: MSG_TX, hash: h32(1) }, { type: MSG_BLOCK, hash: h32(2) }, { type: MSG_WTX, hash: h32(3) }, { type: 0xdeadbeef, hash: h32(4) }] },
  { command: 'getdata', items: [{ type: MSG_BLOCK | MSG_WITNESS_FLAG, hash: h32(5) }] },
  { command: 'notfound', items: [] },
  { command: 'getheaders', version: 70016, locator: [h32(1), h32(2)], hashStop: h32(0) },
  { command: 'getblocks', version: 70015, locator: [], hashStop: h32(9) },
  { command: 'headers', headers: [HEADER, makeHeader({ ...HEADER, prevBlock: HEADER.hash, nonce: 8 })] },
  { command: 'headers', headers: [] },
  { command: 'sendheaders' },
  { command: 'sendcmpct', announce: true, version: 2n },
  { command: 'sendcmpct', announce: false, version: 1n },
  { command: 'feefilter', feeRate: 1000n },
  { command: 'feefilter', feeRate: -5n },
  { command: 'wtxidrelay' },
  { command: 'mempool' },
  { command: 'reject', message: 'tx', code: 0x10, reason: 'bad-txns', data: h32(7) },
  { command: 'reject', message: 'version', code: 0x11, reason: 'obsolete' },
  { command: UNKNOWN_COMMAND, name: 'cmpctblock', payload: hex('00112233') },
  { command: UNKNOWN_COMMAND, name: 'x', payload: Buffer.alloc(0) },
];

test('every example message round-trips (encode → decode → deep equal → same bytes)', () => {
  for (const m of EXAMPLES) roundTrip(m);
  const covered = new Set(EXAMPLES.map((m) => m.command));
  for (const c of COMMANDS) assert.ok(covered.has(c) || c === 'block' || c === 'tx', `example for ${c}`);
});

test('tx and block round-trip through their codecs', () => {
  const tx = makeTx({
    version: 2,
    inputs: [{ prevTxid: h32(3), prevIndex: 1, script: hex('0151'), sequence: 0xfffffffd, witness: [hex('0102'), Buffer.alloc(0)] }],
    outputs: [{ value: 5000n, script: hex('0014') }],
    locktime: 0,
  });
  const m: Message = { command: 'tx', tx };
  const bytes = encodeMessage(m);
  const back = decodeOk('tx', bytes);
  assert.ok(back.command === 'tx');
  assert.ok(back.tx.txid.equals(tx.txid) && back.tx.wtxid.equals(tx.wtxid));
  assert.ok(encodeMessage(back).equals(bytes));

  const block = makeBlock({ version: 4, prevBlock: h32(0), merkleRoot: tx.txid, time: 1, bits: 0x207fffff, nonce: 0 }, [tx]);
  const bb = encodeMessage({ command: 'block', block });
  const bd = decodeOk('block', bb);
  assert.ok(bd.command === 'block');
  assert.ok(bd.block.header.hash.equals(block.header.hash));
  assert.equal(bd.block.size, bb.length);
  const s = messageSummary(bd);
  assert.equal(s.txCount, 1);
  assert.equal(s.merkleRootValid, true, 'one transaction: the merkle root is its txid');
  const wrong = makeBlock({ ...block.header, merkleRoot: h32(9) }, [tx]);
  assert.equal(messageSummary({ command: 'block', block: wrong }).merkleRootValid, false);
});

test('Core/wiki version vector (protocol 60002, /Satoshi:0.7.2/, no relay byte)', () => {
  const frame = hex(
    'f9beb4d976657273696f6e0000000000640000003b648d5a62ea0000010000000000000011b2d05000000000010000000000000000000000000000000000ffff000000000000010000000000000000000000000000000000ffff0000000000003b2eb35d8ce617650f2f5361746f7368693a302e372e322fc03e0300',
  );
  const dec = new FrameDecoder({ magic: MAIN });
  dec.push(frame);
  const f = dec.next();
  assert.ok(f !== null && f.kind === 'frame');
  const m = decodeOk(f.command, f.payload);
  assert.ok(m.command === 'version');
  assert.equal(m.version, 60002);
  assert.equal(m.services, 1n);
  assert.equal(m.timestamp, 1355854353n);
  assert.equal(m.nonce, 0x6517e68c5db32e3bn);
  assert.equal(m.userAgent, '/Satoshi:0.7.2/');
  assert.equal(m.startHeight, 212672);
  assert.equal(m.relay, undefined);
  assert.equal(m.addrRecv.network, 'ipv4');
  assert.ok(encodeMessageFrame(MAIN, m).equals(frame), 'frames back to the same bytes');
});

test('wiki addr vector: one entry, 10.0.0.1:8333, time 0x4d1015e2', () => {
  const frame = hex('f9beb4d96164647200000000000000001f000000ed52399b01e215104d010000000000000000000000000000000000ffff0a000001208d');
  const dec = new FrameDecoder({ magic: MAIN });
  dec.push(frame);
  const f = dec.next();
  assert.ok(f !== null && f.kind === 'frame');
  const m = decodeOk(f.command, f.payload);
  assert.deepEqual(m, { command: 'addr', addresses: [timed(ip4('10.0.0.1', 8333), 0x4d1015e2)] });
  assert.ok(encodeMessageFrame(MAIN, m).equals(frame));
});

test('version: optional tail fields as Core reads them, trailing bytes ignored', () => {
  const full = encodeMessage(EXAMPLES[0]);
  // 46 bytes: version, services, time, addr_recv only (pre-106 peers).
  const short = decodeOk('version', full.subarray(0, 46));
  assert.ok(short.command === 'version');
  assert.equal(short.nonce, 0n);
  assert.equal(short.userAgent, '');
  assert.equal(short.relay, undefined);
  // Without the relay byte.
  const noRelay = decodeOk('version', full.subarray(0, full.length - 1));
  assert.ok(noRelay.command === 'version' && noRelay.relay === undefined && noRelay.startHeight === 123);
  // Extra bytes after relay are ignored, as Core does.
  const extra = decodeOk('version', Buffer.concat([full, hex('deadbeef')]));
  assert.deepEqual(extra, EXAMPLES[0]);
  // relay = 0
  const r0 = Buffer.from(full);
  r0[r0.length - 1] = 0;
  const m0 = decodeOk('version', r0);
  assert.ok(m0.command === 'version' && m0.relay === false);
  // Truncated inside addr_recv / nonce.
  assert.equal(decodeErr('version', full.subarray(0, 45)).code, 'truncated');
  assert.equal(decodeErr('version', full.subarray(0, 50)).code, 'truncated');
});

test('version: user agent of 256 bytes accepted, 257 rejected as oversize at its length prefix', () => {
  const base = EXAMPLES[0] as Extract<Message, { command: 'version' }>;
  roundTrip({ ...base, userAgent: 'a'.repeat(256) });
  const bad = encodeMessage({ ...base, userAgent: 'a'.repeat(257) });
  const e = decodeErr('version', bad);
  assert.equal(e.code, 'oversize');
  assert.equal(e.offset, 4 + 8 + 8 + 26 + 26 + 8);
});

test('trailing bytes are rejected (with offset) except for version, or with allowTrailing', () => {
  for (const m of EXAMPLES) {
    if (m.command === 'version' || m.command === UNKNOWN_COMMAND || m.command === 'ping') continue;
    const bytes = Buffer.concat([encodeMessage(m), hex('00')]);
    const cmd = m.command;
    const e = decodeErr(cmd, bytes);
    if (cmd === 'reject') continue; // reject's optional data makes a stray byte a different error
    assert.equal(e.code, 'trailing-bytes', cmd);
    assert.equal(e.offset, bytes.length - 1, cmd);
    const lenient = decodeMessage(cmd, bytes, { allowTrailing: true });
    assert.ok(lenient.ok, cmd);
    assert.deepEqual(lenient.value, m);
  }
});

test('ping: empty (pre-BIP31) is accepted without a nonce; 1–7 bytes are truncated', () => {
  assert.deepEqual(decodeOk('ping', Buffer.alloc(0)), { command: 'ping' });
  for (let n = 1; n < 8; n++) assert.equal(decodeErr('ping', Buffer.alloc(n)).code, 'truncated');
  assert.equal(decodeErr('pong', Buffer.alloc(0)).code, 'truncated');
});

function countPrefixed(count: number, body: Buffer): Buffer {
  return Buffer.concat([new Writer(9).compactSize(count).result(), body]);
}

test('inv/getdata/notfound: 50,000 accepted, 50,001 oversize, declared count beyond the bytes is truncated before allocating', () => {
  const items = Array.from({ length: MAX_INV_SZ }, (_, i) => ({ type: MSG_TX, hash: Buffer.alloc(32, i & 0xff) }));
  const big = encodeMessage({ command: 'inv', items });
  const back = decodeOk('inv', big);
  assert.ok(back.command === 'inv' && back.items.length === MAX_INV_SZ);
  assert.equal(back.items[0].hash.buffer, big.buffer, 'hashes are views into the payload');
  for (const cmd of ['inv', 'getdata', 'notfound']) {
    const over = decodeErr(cmd, countPrefixed(MAX_INV_SZ + 1, Buffer.alloc(36 * (MAX_INV_SZ + 1))));
    assert.equal(over.code, 'oversize');
    assert.equal(over.offset, 0);
    const lying = decodeErr(cmd, countPrefixed(MAX_INV_SZ, Buffer.alloc(36 * 10)));
    assert.equal(lying.code, 'truncated');
    assert.equal(lying.offset, 0);
  }
  // A count just one entry short of the bytes: truncated at the count.
  assert.equal(decodeErr('inv', countPrefixed(2, Buffer.alloc(36 + 35))).code, 'truncated');
});

test('getheaders/getblocks: locator of 101 accepted, 102 oversize', () => {
  const locator = Array.from({ length: MAX_LOCATOR_SZ }, (_, i) => h32(i));
  roundTrip({ command: 'getheaders', version: 70016, locator, hashStop: h32(0) });
  const w = new Writer().u32le(70016).compactSize(MAX_LOCATOR_SZ + 1);
  for (let i = 0; i <= MAX_LOCATOR_SZ; i++) w.bytes(h32(i));
  w.bytes(h32(0));
  for (const cmd of ['getheaders', 'getblocks']) {
    const e = decodeErr(cmd, Buffer.from(w.result()));
    assert.equal(e.code, 'oversize');
    assert.equal(e.offset, 4);
  }
  assert.equal(decodeErr('getheaders', new Writer().u32le(1).compactSize(0).result()).code, 'truncated', 'hash_stop missing');
});

test('headers: 2,000 accepted, 2,001 oversize, non-zero tx count ignored as Core does', () => {
  const headers: BlockHeader[] = [];
  let prev: Buffer = h32(0);
  for (let i = 0; i < MAX_HEADERS_RESULTS; i++) {
    const hd = makeHeader({ ...HEADER, prevBlock: prev, nonce: i });
    headers.push(hd);
    prev = hd.hash;
  }
  roundTrip({ command: 'headers', headers });
  const one = encodeMessage({ command: 'headers', headers: [HEADER] });
  const over = Buffer.concat([new Writer().compactSize(MAX_HEADERS_RESULTS + 1).result(), Buffer.alloc(81 * (MAX_HEADERS_RESULTS + 1))]);
  assert.equal(decodeErr('headers', over).code, 'oversize');
  assert.equal(decodeErr('headers', countPrefixed(1000, one.subarray(1))).code, 'truncated');
  const nonZero = Buffer.from(one);
  nonZero[81] = 5;
  const m = decodeOk('headers', nonZero);
  assert.ok(m.command === 'headers' && m.headers[0].hash.equals(HEADER.hash));
  // Non-canonical tx count is still an error (ReadCompactSize checks it).
  const nc = Buffer.concat([one.subarray(0, 81), hex('fd0100')]);
  assert.equal(decodeErr('headers', nc).code, 'non-canonical');
});

test('addr/addrv2: 1,000 accepted, 1,001 oversize, declared count beyond the bytes truncated', () => {
  const addrs = Array.from({ length: MAX_ADDR_TO_SEND }, (_, i) => timed(ip4(`10.0.${i >> 8}.${i & 0xff}`, 8333), i));
  roundTrip({ command: 'addr', addresses: addrs });
  roundTrip({ command: 'addrv2', addresses: addrs });
  const e1 = decodeErr('addr', countPrefixed(MAX_ADDR_TO_SEND + 1, Buffer.alloc(30 * (MAX_ADDR_TO_SEND + 1))));
  assert.equal(e1.code, 'oversize');
  const e2 = decodeErr('addrv2', countPrefixed(MAX_ADDR_TO_SEND + 1, Buffer.alloc(9 * (MAX_ADDR_TO_SEND + 1))));
  assert.equal(e2.code, 'oversize');
  assert.equal(decodeErr('addr', countPrefixed(1000, Buffer.alloc(30 * 5))).code, 'truncated');
  assert.equal(decodeErr('addrv2', countPrefixed(1000, Buffer.alloc(9 * 5))).code, 'truncated');
});

test('addrv2: a known network with the wrong length fails the message; an address over 512 bytes is oversize', () => {
  // time 0, services 1, network 1 (IPv4), length 5
  const bad = countPrefixed(1, hex('00000000 01 01 05 0102030405 208d'));
  const e = decodeErr('addrv2', bad);
  assert.equal(e.code, 'bad-value');
  assert.equal(e.offset, 1 + 4 + 1 + 1);
  const long = countPrefixed(1, Buffer.concat([hex('00000000 01 63 fd0102'), Buffer.alloc(513), hex('0000')]));
  assert.equal(decodeErr('addrv2', long).code, 'oversize');
  const max = countPrefixed(1, Buffer.concat([hex('00000000 01 63 fd0002'), Buffer.alloc(512), hex('0000')]));
  const ok = decodeOk('addrv2', max);
  assert.ok(ok.command === 'addrv2' && ok.addresses[0].network === 0x63);
  // TORv2 of any length is kept (Core skips it as an unknown network).
  const t2 = decodeOk('addrv2', countPrefixed(1, hex('00000000 01 03 03 aabbcc 0000')));
  assert.ok(t2.command === 'addrv2' && t2.addresses[0].network === 'torv2');
});

test('sendcmpct and feefilter field layout', () => {
  assert.deepEqual(decodeOk('sendcmpct', hex('01 0200000000000000')), { command: 'sendcmpct', announce: true, version: 2n });
  assert.deepEqual(decodeOk('feefilter', hex('e803000000000000')), { command: 'feefilter', feeRate: 1000n });
  assert.equal(decodeErr('sendcmpct', hex('01')).code, 'truncated');
});

test('reject: decoded with and without data; limits on its strings', () => {
  const w = new Writer().varString('block').u8(0x10).varString('bad-blk').bytes(h32(3));
  assert.deepEqual(decodeOk('reject', Buffer.from(w.result())), { command: 'reject', message: 'block', code: 0x10, reason: 'bad-blk', data: h32(3) });
  assert.equal(decodeErr('reject', new Writer().varString('a'.repeat(13)).u8(1).varString('').result()).code, 'oversize');
  assert.equal(decodeErr('reject', new Writer().varString('tx').u8(1).varString('r'.repeat(112)).result()).code, 'oversize');
});

test('unknown commands keep their name and payload and cannot collide with a wire command', () => {
  assert.ok(UNKNOWN_COMMAND.length > 12);
  const m = decodeOk('cfilter', hex('0102'));
  assert.deepEqual(m, { command: UNKNOWN_COMMAND, name: 'cfilter', payload: hex('0102') });
  const frame = encodeMessageFrame(MAIN, m);
  assert.equal(frame.toString('latin1', 4, 11), 'cfilter');
});

test('encodeMessageFrame produces what encodeFrame + encodeMessage produce', () => {
  const dec = new FrameDecoder({ magic: MAIN });
  for (const m of EXAMPLES) dec.push(encodeMessageFrame(MAIN, m));
  const back: Message[] = [];
  for (let f = dec.next(); f !== null; f = dec.next()) {
    assert.ok(f.kind === 'frame');
    back.push(decodeOk(f.command, f.payload));
  }
  assert.deepEqual(back, EXAMPLES);
});

// --- properties ------------------------------------------------------------------------------

/** fc.record builds null-prototype objects; the codec builds plain ones. */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model).map((r) => ({ ...r }) as T);
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const i64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const port = fc.integer({ min: 0, max: 0xffff });
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b));
const hash = bytes(32);

/** Addresses a legacy message can carry unchanged: IPv4, or IPv6 outside ::ffff:0:0/96. */
const legacyAddr = fc.oneof(
  rec({ network: fc.constant('ipv4' as const), addr: bytes(4), port, services: u64 }),
  rec({ network: fc.constant('ipv6' as const), addr: bytes(16).filter((b) => !b.subarray(0, 12).equals(hex('00000000000000000000ffff'))), port, services: u64 }),
);
const v2Addr: fc.Arbitrary<TimedNetAddress> = fc.oneof(
  rec({ network: fc.constant('ipv4' as const), addr: bytes(4), port, services: u64, time: u32 }),
  rec({ network: fc.constant('ipv6' as const), addr: bytes(16), port, services: u64, time: u32 }),
  rec({ network: fc.constant('torv3' as const), addr: bytes(32), port, services: u64, time: u32 }),
  rec({ network: fc.constant('i2p' as const), addr: bytes(32), port, services: u64, time: u32 }),
  rec({ network: fc.constant('cjdns' as const), addr: bytes(16), port, services: u64, time: u32 }),
  rec({ network: fc.constant('torv2' as const), addr: fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)), port, services: u64, time: u32 }),
  rec({ network: fc.integer({ min: 7, max: 255 }), addr: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)), port, services: u64, time: u32 }),
);
const headerArb = rec({ version: i32, prevBlock: hash, merkleRoot: hash, time: u32, bits: u32, nonce: u32 }).map(makeHeader);
const invItems = fc.array(rec({ type: u32, hash }), { maxLength: 30 });
const latin1 = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b).toString('latin1'));

const messageArb: fc.Arbitrary<Message> = fc.oneof(
  fc
    .record({ version: i32, services: u64, timestamp: i64, addrRecv: legacyAddr, addrFrom: legacyAddr, nonce: u64, userAgent: latin1(256), startHeight: i32, relay: fc.option(fc.boolean(), { nil: undefined }) })
    .map(({ relay, ...rest }): Message => (relay === undefined ? { command: 'version', ...rest } : { command: 'version', ...rest, relay })),
  fc.constantFrom<Message>({ command: 'verack' }, { command: 'getaddr' }, { command: 'sendaddrv2' }, { command: 'sendheaders' }, { command: 'wtxidrelay' }, { command: 'mempool' }, { command: 'ping' }),
  u64.map((nonce): Message => ({ command: 'ping', nonce })),
  u64.map((nonce): Message => ({ command: 'pong', nonce })),
  fc.array(fc.tuple(legacyAddr, u32), { maxLength: 20 }).map((xs): Message => ({ command: 'addr', addresses: xs.map(([a, t]) => ({ ...a, time: t })) })),
  fc.array(v2Addr, { maxLength: 20 }).map((addresses): Message => ({ command: 'addrv2', addresses })),
  fc.tuple(fc.constantFrom('inv' as const, 'getdata' as const, 'notfound' as const), invItems).map(([command, items]): Message => ({ command, items })),
  rec({ command: fc.constantFrom('getheaders' as const, 'getblocks' as const), version: u32, locator: fc.array(hash, { maxLength: MAX_LOCATOR_SZ }), hashStop: hash }),
  fc.array(headerArb, { maxLength: 10 }).map((headers): Message => ({ command: 'headers', headers })),
  rec({ announce: fc.boolean(), version: u64 }).map((r): Message => ({ command: 'sendcmpct', ...r })),
  i64.map((feeRate): Message => ({ command: 'feefilter', feeRate })),
  rec({ message: latin1(12), code: fc.integer({ min: 0, max: 255 }), reason: latin1(111), data: fc.option(hash, { nil: undefined }) }).map(({ data, ...r }): Message => (data === undefined ? { command: 'reject', ...r } : { command: 'reject', ...r, data })),
  rec({ name: fc.stringMatching(/^[a-z]{1,12}$/).filter((n) => !(COMMANDS as readonly string[]).includes(n)), payload: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) }).map((r): Message => ({ command: UNKNOWN_COMMAND, ...r })),
);

test('property: arbitrary valid messages round-trip and summarise to JSON', () => {
  fc.assert(
    fc.property(messageArb, (m) => {
      roundTrip(m);
    }),
    { numRuns: 500 },
  );
});

test('property: framed arbitrary messages survive any chunking', () => {
  fc.assert(
    fc.property(fc.array(messageArb, { maxLength: 6 }), fc.integer({ min: 1, max: 50 }), (msgs, size) => {
      const stream = Buffer.concat(msgs.map((m) => encodeMessageFrame(MAIN, m)));
      const dec = new FrameDecoder({ magic: MAIN });
      const back: Message[] = [];
      for (let p = 0; p < stream.length; p += size) {
        dec.push(stream.subarray(p, p + size));
        for (let f = dec.next(); f !== null; f = dec.next()) {
          assert.ok(f.kind === 'frame');
          back.push(decodeOk(f.command, f.payload));
        }
      }
      assert.deepEqual(back, msgs);
    }),
    { numRuns: 200 },
  );
});

test('a decode error says its code and offset once: the message is the detail alone', () => {
  const e = decodeErr('ping', Buffer.alloc(3));
  assert.equal(e.code, 'truncated');
  assert.ok(!e.message.includes(`${e.code} at`), `no "code at offset" inside the detail: ${e.message}`);
  assert.ok(e.message.length > 0);
});
