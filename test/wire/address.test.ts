import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader, Writer } from '../../src/wire/buffer.js';
import { attempt } from '../../src/wire/errors.js';
import {
  base32Decode,
  base32Encode,
  decodeNetAddressV1,
  decodeNetAddressV2,
  encodeNetAddressV1,
  encodeNetAddressV2,
  formatAddress,
  formatHost,
  isValidAddress,
  parseAddress,
  parseHost,
  type NetAddress,
} from '../../src/wire/address.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ONION = 'pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion';
const I2P = 'udhdrtrcetjm5sxzskjyr5ztpeszydbh4dpl3pl4utgqqw2v4jna.b32.i2p';

test('legacy address: 26 bytes (version) and 30 bytes (addr), IPv4-mapped becomes ipv4, port big-endian', () => {
  const bytes = hex('0100000000000000 00000000000000000000ffff0a000001 208d');
  const a = decodeNetAddressV1(new Reader(bytes), false);
  assert.deepEqual(a, { network: 'ipv4', addr: hex('0a000001'), port: 8333, services: 1n });
  assert.equal(formatAddress(a), '10.0.0.1:8333');
  const w = new Writer();
  encodeNetAddressV1(w, a, false);
  assert.ok(w.result().equals(bytes));

  const timed = Buffer.concat([hex('e215104d'), bytes]);
  const t = decodeNetAddressV1(new Reader(timed), true);
  assert.equal(t.time, 0x4d1015e2);
  const w2 = new Writer();
  encodeNetAddressV1(w2, t, true);
  assert.ok(w2.result().equals(timed));

  const short = attempt(() => decodeNetAddressV1(new Reader(bytes.subarray(0, 25)), false));
  assert.ok(!short.ok && short.error.code === 'truncated');
});

test('legacy encoding writes networks without a v1 form as zeros, as Core does', () => {
  const w = new Writer();
  encodeNetAddressV1(w, { network: 'torv3', addr: Buffer.alloc(32, 1), port: 9, services: 0n }, false);
  assert.ok(w.result().subarray(8, 24).equals(Buffer.alloc(16)));
});

test('BIP155 entries: layout, CompactSize services up to 2^64-1, every network', () => {
  const e = hex('01000000 ffffffffffffffffff 01 04 7f000001 208d');
  // services 0xff prefix + u64 all ones
  const a = decodeNetAddressV2(new Reader(e));
  assert.deepEqual(a, { network: 'ipv4', addr: hex('7f000001'), port: 8333, services: 2n ** 64n - 1n, time: 1 });
  const cases: NetAddress[] = [
    { network: 'ipv6', addr: hex('20010db8000000000000000000000001'), port: 1, services: 0n, time: 2 },
    { network: 'torv3', addr: Buffer.alloc(32, 7), port: 2, services: 8n, time: 3 },
    { network: 'i2p', addr: Buffer.alloc(32, 9), port: 0, services: 1033n, time: 4 },
    { network: 'cjdns', addr: hex('fc000000000000000000000000000001'), port: 3, services: 253n, time: 5 },
    { network: 'torv2', addr: Buffer.alloc(10, 1), port: 4, services: 65536n, time: 6 },
    { network: 200, addr: hex('abcd'), port: 5, services: 0n, time: 7 },
  ];
  for (const c of cases) {
    const w = new Writer();
    encodeNetAddressV2(w, c);
    const back = decodeNetAddressV2(new Reader(w.result()));
    assert.deepEqual(back, c);
  }
  // Non-canonical services are rejected.
  const nc = attempt(() => decodeNetAddressV2(new Reader(hex('01000000 fd0100 01 04 7f000001 208d'))));
  assert.ok(!nc.ok && nc.error.code === 'non-canonical' && nc.error.offset === 4);
});

test('BIP155: wrong length for a known network is bad-value; > 512 bytes is oversize', () => {
  for (const [id, len] of [
    [1, 16],
    [2, 4],
    [4, 31],
    [5, 33],
    [6, 4],
  ]) {
    const w = new Writer().u32le(0).u8(0).u8(id).varBytes(Buffer.alloc(len)).u16be(0);
    const r = attempt(() => decodeNetAddressV2(new Reader(w.result())));
    assert.ok(!r.ok, `network ${id} length ${len}`);
    assert.equal(r.error.code, 'bad-value');
    assert.equal(r.error.offset, 6);
  }
  const big = new Writer().u32le(0).u8(0).u8(99).varBytes(Buffer.alloc(513)).u16be(0);
  const r = attempt(() => decodeNetAddressV2(new Reader(big.result())));
  assert.ok(!r.ok && r.error.code === 'oversize');
});

test('isValidAddress mirrors Core: unsupported networks, embedded IPv4/TORv2 in v2 IPv6, CJDNS prefix, unspecified', () => {
  const v = (a: Partial<NetAddress> & Pick<NetAddress, 'network' | 'addr'>) => isValidAddress({ port: 8333, services: 0n, ...a });
  assert.equal(v({ network: 'ipv4', addr: hex('01020304') }), true);
  assert.equal(v({ network: 'ipv4', addr: hex('00000000') }), false);
  assert.equal(v({ network: 'ipv4', addr: hex('ffffffff') }), false);
  assert.equal(v({ network: 'ipv6', addr: hex('20010db8000000000000000000000001') }), true);
  assert.equal(v({ network: 'ipv6', addr: Buffer.alloc(16) }), false);
  assert.equal(v({ network: 'ipv6', addr: hex('00000000000000000000ffff01020304') }), false);
  assert.equal(v({ network: 'ipv6', addr: hex('fd87d87eeb430102030405060708090a') }), false);
  assert.equal(v({ network: 'cjdns', addr: hex('fc000000000000000000000000000001') }), true);
  assert.equal(v({ network: 'cjdns', addr: hex('fd000000000000000000000000000001') }), false);
  assert.equal(v({ network: 'torv2', addr: Buffer.alloc(10, 1) }), false);
  assert.equal(v({ network: 77, addr: Buffer.alloc(3) }), false);
  assert.equal(v({ network: 'torv3', addr: Buffer.alloc(32, 1) }), true);
  assert.equal(v({ network: 'torv3', addr: Buffer.alloc(31, 1) }), false);
});

test('text: IPv4 dotted, IPv6 per RFC 5952 and bracketed with a port', () => {
  const six = (h: string) => formatHost({ network: 'ipv6', addr: hex(h) });
  assert.equal(six('20010db8000000000000000000000001'), '2001:db8::1');
  assert.equal(six('00000000000000000000000000000000'), '::');
  assert.equal(six('00000000000000000000000000000001'), '::1');
  assert.equal(six('00010000000000000000000000000000'), '1::');
  assert.equal(six('20010db8000000000001000000000001'), '2001:db8::1:0:0:1');
  assert.equal(six('20010000000000010000000000000001'), '2001:0:0:1::1');
  assert.equal(six('20010db8000100010001000100010001'), '2001:db8:1:1:1:1:1:1');
  assert.equal(six('20010db8000000010001000100010001'), '2001:db8:0:1:1:1:1:1', 'a single zero group is not compressed');
  assert.equal(formatAddress({ network: 'ipv6', addr: hex('20010db8000000000000000000000001'), port: 8333 }), '[2001:db8::1]:8333');
  assert.equal(formatAddress({ network: 'ipv4', addr: hex('7f000001'), port: 18444 }), '127.0.0.1:18444');
  assert.equal(formatAddress({ network: 'cjdns', addr: hex('fc000000000000000000000000000001'), port: 1 }), '[fc00::1]:1');
});

test('text: TORv3 .onion with SHA3 checksum (Core test vector), I2P .b32.i2p, TORv2 shown but not parsed', () => {
  const p = parseHost(ONION);
  assert.ok(p !== null && p.network === 'torv3' && p.addr.length === 32);
  assert.equal(formatHost(p), ONION);
  assert.equal(formatAddress({ ...p, port: 8333 }), `${ONION}:8333`);
  // One changed character breaks the checksum.
  assert.equal(parseHost('ph' + ONION.slice(2)), null);
  assert.equal(parseHost(ONION.toUpperCase())?.network, 'torv3');

  const i = parseHost(I2P);
  assert.ok(i !== null && i.network === 'i2p' && i.addr.length === 32);
  assert.equal(formatHost(i), I2P);

  assert.equal(formatHost({ network: 'torv2', addr: base32Decode('expyuzz4wqqyqhjn')! }), 'expyuzz4wqqyqhjn.onion');
  assert.equal(parseHost('expyuzz4wqqyqhjn.onion'), null);
});

test('parseAddress: host, host:port, [v6]:port, bare v6, IPv4-mapped v6, garbage', () => {
  assert.deepEqual(parseAddress('1.2.3.4', 8333), { network: 'ipv4', addr: hex('01020304'), port: 8333, services: 0n });
  assert.deepEqual(parseAddress('1.2.3.4:18444', 8333, 1n), { network: 'ipv4', addr: hex('01020304'), port: 18444, services: 1n });
  assert.deepEqual(parseAddress('[2001:db8::1]:1', 8333)?.addr, hex('20010db8000000000000000000000001'));
  assert.equal(parseAddress('[2001:db8::1]:1', 8333)?.port, 1);
  assert.equal(parseAddress('2001:db8::1', 8333)?.port, 8333);
  assert.deepEqual(parseAddress('::ffff:10.0.0.1', 1)?.addr, hex('0a000001'));
  assert.equal(parseAddress('::ffff:10.0.0.1', 1)?.network, 'ipv4');
  assert.deepEqual(parseAddress('[::ffff:1.2.3.4]:5', 1)?.network, 'ipv4');
  assert.deepEqual(parseAddress('64:ff9b::1.2.3.4', 1)?.addr, hex('0064ff9b000000000000000001020304'));
  assert.equal(parseAddress(`${ONION}:9050`, 1)?.network, 'torv3');
  for (const bad of ['', 'example.com', '1.2.3', '1.2.3.4:99999', '1.2.3.4:x', '[::1', '1.2.3.256', 'abc.onion']) assert.equal(parseAddress(bad, 1), null, bad);
});

test('property: format → parse round-trips IPv4 and IPv6', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 0xffff }), (b, port) => {
      const addr = Buffer.from(b);
      const mapped = addr.subarray(0, 12).equals(hex('00000000000000000000ffff'));
      const a: NetAddress = mapped ? { network: 'ipv4', addr: Buffer.from(addr.subarray(12)), port, services: 0n } : { network: 'ipv6', addr, port, services: 0n };
      assert.deepEqual(parseAddress(formatAddress(a), 0), a);
      const four: NetAddress = { network: 'ipv4', addr: Buffer.from(addr.subarray(0, 4)), port, services: 0n };
      assert.deepEqual(parseAddress(formatAddress(four), 0), four);
    }),
  );
});

test('property: base32 round-trips; torv3 and i2p text round-trips', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (b, k) => {
      assert.deepEqual(base32Decode(base32Encode(b)), Buffer.from(b));
      const key = Buffer.from(k);
      assert.deepEqual(parseHost(formatHost({ network: 'torv3', addr: key })), { network: 'torv3', addr: key });
      assert.deepEqual(parseHost(formatHost({ network: 'i2p', addr: key })), { network: 'i2p', addr: key });
    }),
  );
});
