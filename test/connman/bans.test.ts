import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ban, discourage, emptyBans, isBanned, isDiscouraged, parseSubnet, subnetContains, sweep, unban, DISCOURAGE_MS } from '../../src/contracts/bans.js';

test('subnets: single addresses, prefixes and IPv4 netmasks, normalised', () => {
  assert.equal(parseSubnet('1.2.3.4')?.text, '1.2.3.4/32');
  assert.equal(parseSubnet('1.2.3.4/24')?.text, '1.2.3.0/24');
  assert.equal(parseSubnet('1.2.3.4/255.255.0.0')?.text, '1.2.0.0/16');
  assert.equal(parseSubnet('2001:db8::1/32')?.text, '2001:db8::/32');
  assert.equal(parseSubnet('1.2.3.4/33'), null);
  assert.equal(parseSubnet('1.2.3.4/255.0.255.0'), null);
  assert.equal(parseSubnet('example.com'), null);
  const s = parseSubnet('10.1.0.0/16')!;
  assert.ok(subnetContains(s, '10.1.200.3'));
  assert.ok(subnetContains(s, '::ffff:10.1.0.9'));
  assert.ok(!subnetContains(s, '10.2.0.1'));
  assert.ok(!subnetContains(s, '2001:db8::1'));
});

test('bans expire; unban removes; discouragement lasts 24 h', () => {
  const l = emptyBans();
  ban(l, parseSubnet('127.0.0.0/8')!, 0, 1000);
  assert.ok(isBanned(l, '127.3.4.5', 999));
  assert.ok(!isBanned(l, '127.3.4.5', 1000));
  assert.equal(sweep(l, 1000), 1);
  ban(l, parseSubnet('10.0.0.1')!, 0, Infinity);
  assert.ok(unban(l, '10.0.0.1/32'));
  assert.ok(!isBanned(l, '10.0.0.1', 5));
  discourage(l, '::ffff:192.0.2.1', 0);
  assert.ok(isDiscouraged(l, '192.0.2.1', DISCOURAGE_MS - 1));
  assert.ok(!isDiscouraged(l, '192.0.2.1', DISCOURAGE_MS));
});
