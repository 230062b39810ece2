import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHost, parseAddress, type NetAddress } from '../../src/wire/address.js';
import { CLASS_CJDNS, CLASS_I2P, CLASS_IPV4, CLASS_IPV6, CLASS_ONION, hostAddress, isLocalIp, isRoutable, netKind, networkName, normalizeIp } from '../../src/netaddress/netaddress.js';
import { keyedNetGroup, NetGroupManager, NO_ASMAP, type Asmap } from '../../src/netaddress/netgroup.js';

function host(text: string): NetAddress {
  const a = parseAddress(text, 8333);
  assert.ok(a, text);
  return a;
}

/** Core's GetGroup of a text address, as a byte array (what Core's netbase_tests compare). */
const bytes = (text: string, m: NetGroupManager = NO_ASMAP): number[] => [...m.group(host(text))];
const onion = (first: number): NetAddress => ({ network: 'torv3', addr: Buffer.alloc(32, first), port: 8333, services: 0n });
const i2p = (first: number): NetAddress => ({ network: 'i2p', addr: Buffer.alloc(32, first), port: 0, services: 0n });
const cjdns = (b1: number): NetAddress => ({ network: 'cjdns', addr: Buffer.concat([Buffer.of(0xfc, b1), Buffer.alloc(14, 0x99)]), port: 8333, services: 0n });

test("Core's netbase_getgroup vectors: unroutable {0}, IPv4 /16, embedded IPv4 (SIIT, NAT64, 6to4, Teredo), he.net /36, IPv6 /32", () => {
  assert.deepEqual(bytes('127.0.0.1'), [0], 'local → !Routable');
  assert.deepEqual(bytes('10.0.0.1'), [0], 'RFC1918 → !Routable');
  assert.deepEqual(bytes('169.254.1.1'), [0], 'RFC3927 → !Routable');
  assert.deepEqual(bytes('1.2.3.4'), [CLASS_IPV4, 1, 2]);
  assert.deepEqual(bytes('::FFFF:0:102:304'), [CLASS_IPV4, 1, 2], 'RFC6145 SIIT');
  assert.deepEqual(bytes('64:FF9B::102:304'), [CLASS_IPV4, 1, 2], 'RFC6052 NAT64');
  assert.deepEqual(bytes('2002:102:304:9999:9999:9999:9999:9999'), [CLASS_IPV4, 1, 2], 'RFC3964 6to4');
  assert.deepEqual(bytes('2001:0:9999:9999:9999:9999:FEFD:FCFB'), [CLASS_IPV4, 1, 2], 'RFC4380 Teredo (inverted)');
  assert.deepEqual(bytes('2001:470:abcd:9999:9999:9999:9999:9999'), [CLASS_IPV6, 32, 1, 4, 112, 175], 'he.net /36');
  assert.deepEqual(bytes('2001:2001:9999:9999:9999:9999:9999:9999'), [CLASS_IPV6, 32, 1, 32, 1], 'IPv6 /32');
  assert.notDeepEqual(bytes('2001:2001:9999::1'), bytes('2001:2101:9999::1'), 'one group per /32');
});

test('groups pinned for every network: IPv4-mapped, onion, I2P, CJDNS, local and unroutable', () => {
  assert.deepEqual(bytes('::ffff:1.2.3.4'), [CLASS_IPV4, 1, 2], 'IPv4-mapped IPv6 is IPv4');
  assert.deepEqual(bytes('1.2.200.9'), bytes('1.2.3.4'));
  assert.notDeepEqual(bytes('1.3.3.4'), bytes('1.2.3.4'));
  // Tor v3 and I2P: the first 4 bits of the key, the other 4 set.
  assert.deepEqual([...NO_ASMAP.group(onion(0x10))], [CLASS_ONION, 0x1f]);
  assert.deepEqual([...NO_ASMAP.group(onion(0x1e))], [CLASS_ONION, 0x1f]);
  assert.deepEqual([...NO_ASMAP.group(onion(0x20))], [CLASS_ONION, 0x2f]);
  assert.deepEqual([...NO_ASMAP.group(i2p(0x10))], [CLASS_I2P, 0x1f], 'I2P: same rule, its own class');
  // CJDNS: the constant 0xfc, then the first 4 bits after it (Core: nBits = 12).
  assert.deepEqual([...NO_ASMAP.group(cjdns(0x12))], [CLASS_CJDNS, 0xfc, 0x1f]);
  assert.deepEqual([...NO_ASMAP.group(cjdns(0x1f))], [CLASS_CJDNS, 0xfc, 0x1f]);
  assert.deepEqual([...NO_ASMAP.group(cjdns(0x20))], [CLASS_CJDNS, 0xfc, 0x2f]);
  // Local and every other unroutable or invalid address: one single group, the class byte 0.
  for (const t of ['127.0.0.1', '127.9.9.9', '0.0.0.0', '::1', '255.255.255.255', '::', '10.1.1.1', '172.16.0.1', '192.168.0.1', '100.64.0.1', '198.18.0.1', '192.0.2.1', 'fc00::1', 'fd00::1', 'fe80::1', '2001:db8::1', '2001:10::1'])
    assert.deepEqual(bytes(t), [0], t);
});

test('text hosts: the same group as their bytes; brackets and the mapped form normalised; names are groups of their own', () => {
  assert.equal(NO_ASMAP.hostGroup('1.2.3.4'), '010102');
  assert.equal(NO_ASMAP.hostGroup('::ffff:1.2.9.9'), '010102');
  assert.equal(NO_ASMAP.hostGroup('[2001:2001::1]'), NO_ASMAP.hostGroup('2001:2001:ffff::2'));
  assert.equal(NO_ASMAP.hostGroup('127.0.0.1'), '00');
  assert.equal(NO_ASMAP.hostGroup('::1'), '00');
  assert.equal(NO_ASMAP.hostGroup('10.0.0.1'), '00', 'local and private: one group, as Core');
  assert.equal(NO_ASMAP.hostGroup('fc00::1'), '00', 'an fc00::/8 host is an IPv6 ULA, not CJDNS (no -cjdnsreachable)');
  for (const a of [onion(0x10), onion(0x18), onion(0xa7), i2p(0x31)]) assert.equal(NO_ASMAP.hostGroup(formatHost(a)), NO_ASMAP.groupKey(a), formatHost(a));
  // 0x10 and 0x18 start with different base32 characters ('c…', 'd…') but the same 4 bits.
  assert.notEqual(formatHost(onion(0x10))[0], formatHost(onion(0x18))[0]);
  assert.equal(NO_ASMAP.hostGroup(formatHost(onion(0x10))), NO_ASMAP.hostGroup(formatHost(onion(0x18))));
  assert.equal(NO_ASMAP.hostGroup('pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion'), '037f');
  assert.equal(NO_ASMAP.hostGroup('Seed.Example.org'), 'name:seed.example.org');
  assert.notEqual(NO_ASMAP.hostGroup('a.example'), NO_ASMAP.hostGroup('b.example'));
});

test('asmap hook: IPv4 and IPv6 of one AS share a group, unmapped and non-IP addresses keep Core’s default groups', () => {
  const seen: string[] = [];
  const asmap: Asmap = {
    version: 'test',
    lookup(ip16) {
      seen.push(Buffer.from(ip16).toString('hex'));
      if (ip16[10] === 0xff && ip16[11] === 0xff && ip16[12] === 1) return 64_496; // 1.0.0.0/8
      if (ip16[0] === 0x20 && ip16[1] === 0x01 && ip16[2] === 0x20) return 64_496; // 2001:20xx::/24
      return 0;
    },
  };
  const m = new NetGroupManager(asmap);
  assert.ok(m.usingAsmap && !NO_ASMAP.usingAsmap);
  assert.equal(m.asmapVersion, 'test');
  assert.deepEqual(bytes('1.2.3.4', m), [CLASS_IPV6, 0xf0, 0xfb, 0, 0], 'AS 64496, little-endian, IPv6 class');
  assert.deepEqual(bytes('1.200.3.4', m), bytes('1.2.3.4', m));
  assert.deepEqual(bytes('2001:2001::1', m), bytes('1.2.3.4', m), 'IPv6 in the same AS: same group');
  assert.deepEqual(bytes('2002:102:304::1', m), bytes('1.2.3.4', m), '6to4 is looked up as its IPv4');
  assert.ok(seen.includes('00000000000000000000ffff01020304'));
  assert.deepEqual(bytes('8.8.8.8', m), [CLASS_IPV4, 8, 8], 'unmapped: /16');
  assert.deepEqual(bytes('10.0.0.1', m), [0], 'unroutable: never looked up');
  assert.deepEqual([...m.group(onion(0x10))], [CLASS_ONION, 0x1f], 'Tor: never looked up');
});

test('network classes and names: netKind is getpeerinfo’s network (GetNetClass); isLocalIp is Core’s IsLocal', () => {
  assert.equal(netKind('1.2.3.4'), 'ipv4');
  assert.equal(netKind('::ffff:1.2.3.4'), 'ipv4');
  assert.equal(netKind('2002:102:304::1'), 'ipv4', '6to4 goes through IPv4');
  assert.equal(netKind('2001:2001::1'), 'ipv6');
  assert.equal(netKind('[2001:2001::1]'), 'ipv6');
  assert.equal(netKind(formatHost(onion(1))), 'onion');
  assert.equal(netKind(formatHost(i2p(1))), 'i2p');
  for (const t of ['127.0.0.1', '::1', '10.0.0.1', '100.64.0.1', 'fc00::1', 'fe80::1', 'localhost']) assert.equal(netKind(t), 'not_publicly_routable', t);
  for (const t of ['127.0.0.5', '0.1.2.3', '::1', '::ffff:127.0.0.1', '[::1]']) assert.ok(isLocalIp(t), t);
  for (const t of ['10.0.0.1', '1.2.3.4', '::2', 'localhost']) assert.ok(!isLocalIp(t), t);
  assert.equal(normalizeIp('[::ffff:1.2.3.4]'), '1.2.3.4');
  assert.equal(normalizeIp('[2001:db8::1]'), '2001:db8::1');
  assert.equal(hostAddress('example.com'), null);
  assert.equal(networkName(onion(1)), 'onion');
  for (const t of ['10.1.1.1', '172.16.0.1', '192.168.0.1', '169.254.1.1', '100.64.0.1', '198.18.0.1', '192.0.2.1', '127.0.0.1', 'fc00::1', 'fe80::1', '2001:db8::1', '2001:10::1', '::1'])
    assert.equal(isRoutable(host(t)), false, t);
  for (const t of ['1.2.3.4', '8.8.8.8', '2001:4860::8888']) assert.equal(isRoutable(host(t)), true, t);
});

test('keyed groups depend on the secret key', () => {
  const KEY = Buffer.from('eviction test key');
  const g = NO_ASMAP.hostGroup('1.2.3.4');
  assert.equal(keyedNetGroup(KEY, g), keyedNetGroup(KEY, NO_ASMAP.hostGroup('1.2.200.1')));
  assert.notEqual(keyedNetGroup(KEY, g), keyedNetGroup(Buffer.from('other'), g));
  assert.notEqual(keyedNetGroup(KEY, g), keyedNetGroup(KEY, NO_ASMAP.hostGroup('1.3.0.1')));
});
