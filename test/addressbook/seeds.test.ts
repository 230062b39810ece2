/**
 * The shipped fixed seed lists and their generator. Nothing here dials anything: the lists are
 * only parsed (every entry valid and public, counts per network, no duplicates), and the
 * generator runs on files in a temporary directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { formatSeed, loadFixedSeeds, parseSeed, parseSeedList, seedCounts, seedFile, seedProblem, SEEDED_NETWORKS } from '../../src/addressbook/seeds.js';
import { networkParams } from '../../src/wire/network.js';
import { isRoutable } from '../../src/netaddress/netaddress.js';
import type { NetAddress } from '../../src/wire/address.js';

/** The counts the lists were generated with (Core's makeseeds keeps at most 512 a network). */
const EXPECTED: Record<string, Record<string, number>> = {
  main: { ipv4: 512, ipv6: 512, onion: 512, i2p: 512, cjdns: 8 },
  testnet4: { ipv4: 63, ipv6: 70, onion: 78, i2p: 18, cjdns: 1 },
  signet: { ipv4: 46, ipv6: 47, onion: 67, i2p: 9, cjdns: 1 },
  testnet3: { ipv4: 0, ipv6: 0, onion: 0, i2p: 0, cjdns: 0 },
};

test('every shipped list parses whole: valid, publicly routable, the network port (I2P: 0), no duplicates, counts per network', () => {
  for (const net of SEEDED_NETWORKS) {
    const text = readFileSync(seedFile(net), 'utf8');
    const port = networkParams(net).defaultPort;
    const list = parseSeedList(text, port);
    assert.deepEqual(list.problems, [], `${net}: bad entries`);
    assert.equal(list.duplicates, 0, `${net}: duplicates`);
    assert.deepEqual(seedCounts(list.addrs), EXPECTED[net], `${net}: counts`);
    for (const a of list.addrs) {
      assert.equal(seedProblem(a), null, formatSeed(a));
      assert.ok(isRoutable(a), `${net}: ${formatSeed(a)} not routable`);
      assert.equal(a.port, a.network === 'i2p' ? 0 : port, `${net}: ${formatSeed(a)} port`);
    }
    // What the node loads is exactly the list, in order.
    assert.deepEqual(
      loadFixedSeeds(net).map((t) => formatSeed(parseSeed(t, port) as NetAddress)),
      list.addrs.map(formatSeed),
    );
  }
  assert.deepEqual(loadFixedSeeds('regtest'), [], 'regtest has none');
});

test('the main list holds no loopback, private, link-local, documentation or CJDNS-looking IPv6 outside the CJDNS entries', () => {
  const list = parseSeedList(readFileSync(seedFile('main'), 'utf8'), 8333);
  for (const a of list.addrs) {
    if (a.network === 'ipv4') {
      const [b0, b1] = a.addr;
      assert.ok(b0 !== 127 && b0 !== 10 && b0 !== 0 && !(b0 === 192 && b1 === 168) && !(b0 === 172 && b1 >= 16 && b1 <= 31) && !(b0 === 169 && b1 === 254), formatSeed(a));
    }
    if (a.network === 'ipv6') assert.ok(a.addr[0] !== 0xfc && a.addr[0] !== 0xfd && !(a.addr[0] === 0xfe && a.addr[1] === 0x80), formatSeed(a));
  }
});

test('seed entries: fc00::/8 is CJDNS; loopback, private, port 0 and junk are problems; duplicates are dropped', () => {
  assert.equal(parseSeed('[fc32:17ea:e415:c3bf:9808:149d:b5a2:c9aa]:8333', 8333)?.network, 'cjdns');
  assert.equal(parseSeed('[2a01:4f8::1]:8333', 8333)?.network, 'ipv6');
  assert.equal(parseSeed('5.6.7.8', 8333)?.port, 8333, 'default port');
  const text = [
    '# comment',
    '5.6.7.8:8333 # AS1',
    '',
    '127.0.0.1:8333',
    '10.1.2.3:8333',
    '[::1]:8333',
    '[fd00::1]:8333',
    '5.6.7.9:0',
    'not-an-address',
    '5.6.7.8:8333',
    '23zqyu5dxq3gilx5dihlyjh6tbkwombyaks4pbeyg2pqjvv7putq.b32.i2p:0',
    '23zqyu5dxq3gilx5dihlyjh6tbkwombyaks4pbeyg2pqjvv7putq.b32.i2p:8333',
  ].join('\n');
  const l = parseSeedList(text, 8333);
  assert.deepEqual(l.addrs.map(formatSeed), ['5.6.7.8:8333', '23zqyu5dxq3gilx5dihlyjh6tbkwombyaks4pbeyg2pqjvv7putq.b32.i2p:0']);
  assert.deepEqual(
    l.problems.map((p) => p.line),
    [4, 5, 6, 7, 8, 9, 12],
  );
  assert.equal(l.duplicates, 1);
});

test('property: formatSeed and parseSeed round-trip every valid public address', () => {
  const v4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map(([a, b, c, d]) => ({ network: 'ipv4' as const, addr: Buffer.from([a, b, c, d]) }));
  const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => ({ network: 'ipv6' as const, addr: Buffer.concat([Buffer.of(0x2a, 0x01), Buffer.from(b.subarray(2))]) }));
  const cj = fc.uint8Array({ minLength: 15, maxLength: 15 }).map((b) => ({ network: 'cjdns' as const, addr: Buffer.concat([Buffer.of(0xfc), Buffer.from(b)]) }));
  const long = fc.tuple(fc.constantFrom('torv3' as const, 'i2p' as const), fc.uint8Array({ minLength: 32, maxLength: 32 })).map(([network, b]) => ({ network, addr: Buffer.from(b) }));
  fc.assert(
    fc.property(fc.oneof(v4, v6, cj, long), fc.integer({ min: 1, max: 65535 }), (h, port) => {
      const a: NetAddress = { ...h, port: h.network === 'i2p' ? 0 : port, services: 0n };
      if (seedProblem(a) !== null) return;
      const back = parseSeed(formatSeed(a), 8333);
      assert.ok(back, formatSeed(a));
      assert.equal(back.network, a.network);
      assert.deepEqual(Buffer.from(back.addr), Buffer.from(a.addr));
      assert.equal(back.port, a.port);
    }),
    { numRuns: 500 },
  );
});

const SCRIPT = fileURLToPath(new URL('../../../scripts/make-seeds.mjs', import.meta.url));

test('make-seeds: Core nodes_*.txt and a getnodeaddresses dump in, our list out (grouped by network, comments dropped); a bad entry fails unless --skip-invalid', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-seeds-'));
  try {
    const core = join(dir, 'nodes_signet.txt');
    writeFileSync(
      core,
      [
        '[fc1f:22c3:95dc:a3af:4a93:8251:beb9:1858]:38333',
        '25g5trd4qasb2sbpkk5cvl256l6aiwcwjjqq7xso3ajvlgcvkpaq.b32.i2p:0',
        '34.135.189.101:38333 # AS396982',
        '[2001:41d0:2005:100::c7c]:38333 # AS16276',
        '2uqd5pbaxn26o7fl7nqtm2khetqocislppxtxrpqg55wtbcqdrf2y5qd.onion:38333',
        '34.135.189.101:38333 # AS396982',
      ].join('\n'),
    );
    const out = join(dir, 'signet.txt');
    const r = spawnSync(process.execPath, [SCRIPT, '--network', 'signet', '--in', core, '--out', out, '--source', 'a test list'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const body = readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    assert.deepEqual(body, [
      '34.135.189.101:38333',
      '[2001:41d0:2005:100::c7c]:38333',
      '2uqd5pbaxn26o7fl7nqtm2khetqocislppxtxrpqg55wtbcqdrf2y5qd.onion:38333',
      '25g5trd4qasb2sbpkk5cvl256l6aiwcwjjqq7xso3ajvlgcvkpaq.b32.i2p:0',
      '[fc1f:22c3:95dc:a3af:4a93:8251:beb9:1858]:38333',
    ]);
    assert.match(readFileSync(out, 'utf8'), /^# Source: a test list$/m);
    assert.match(r.stderr, /5 seeds .* 1 duplicates dropped, 0 bad/);

    const dump = join(dir, 'dump.json');
    writeFileSync(
      dump,
      JSON.stringify([
        { time: 1, services: 9, address: '5.6.7.8', port: 8333, network: 'ipv4' },
        { time: 1, services: 9, address: '2a01:4f8::1', port: 8333, network: 'ipv6' },
        { time: 1, services: 9, address: '127.0.0.1', port: 8333, network: 'ipv4' },
      ]),
    );
    const bad = spawnSync(process.execPath, [SCRIPT, '--network', 'main', '--in', dump, '--out', '-'], { encoding: 'utf8' });
    assert.equal(bad.status, 1, 'a loopback entry fails the run');
    assert.match(bad.stderr, /127\.0\.0\.1:8333: not publicly routable/);
    const ok = spawnSync(process.execPath, [SCRIPT, '--network', 'main', '--in', dump, '--out', '-', '--skip-invalid'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(
      ok.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#')),
      ['5.6.7.8:8333', '[2a01:4f8::1]:8333'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
