import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NETWORKS, genesisHashHex, networkByMagic, networkParams, type NetworkName } from '../../src/wire/network.js';
import { Reader, Writer } from '../../src/wire/buffer.js';
import { checkBlock, decodeBlock, encodeBlock } from '../../src/wire/block.js';
import { sha256d, toDisplayHex } from '../../src/wire/hash.js';
import { checkProofOfWork } from '../../src/wire/pow.js';

const GENESIS: Record<NetworkName, string> = {
  main: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
  testnet3: '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943',
  testnet4: '00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043',
  signet: '00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6',
  regtest: '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
};

test('each genesis header hashes to Core’s genesis hash', () => {
  assert.deepEqual([...NETWORKS], ['main', 'testnet3', 'testnet4', 'signet', 'regtest']);
  for (const n of NETWORKS) {
    const p = networkParams(n);
    assert.equal(genesisHashHex(n), GENESIS[n], n);
    const w = new Writer();
    encodeBlock(w, p.genesis);
    const bytes = w.result();
    assert.equal(toDisplayHex(sha256d(bytes.subarray(0, 80))), GENESIS[n], `${n} serialised header`);
    assert.equal(bytes.length, p.genesis.size, `${n} size`);
  }
});

test('genesis merkle roots: the shared coinbase, and testnet4’s own', () => {
  for (const n of ['main', 'testnet3', 'signet', 'regtest'] as const) {
    assert.equal(toDisplayHex(networkParams(n).genesis.header.merkleRoot), '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b');
  }
  assert.equal(toDisplayHex(networkParams('testnet4').genesis.header.merkleRoot), '7aa0a7ae1e223414cb807e40cd57e667b718e42aaf9306db9102fe28912b7b4e');
});

test('mainnet genesis block is the well-known 285 bytes and passes checkBlock with PoW', () => {
  const p = networkParams('main');
  assert.equal(p.genesis.size, 285);
  const w = new Writer();
  encodeBlock(w, p.genesis);
  const again = decodeBlock(new Reader(Buffer.from(w.result())));
  assert.equal(toDisplayHex(again.header.hash), GENESIS.main);
  for (const n of NETWORKS) {
    const q = networkParams(n);
    assert.deepEqual(checkBlock(q.genesis, { powLimit: q.powLimit }), { ok: true }, n);
    assert.ok(checkProofOfWork(q.genesisHash, q.genesis.header.bits, q.powLimit));
  }
});

test('magic bytes, magic numbers and ports', () => {
  const expect: Record<NetworkName, [string, number, number, number]> = {
    main: ['f9beb4d9', 0xd9b4bef9, 8333, 8332],
    testnet3: ['0b110907', 0x0709110b, 18333, 18332],
    testnet4: ['1c163f28', 0x283f161c, 48333, 48332],
    signet: ['0a03cf40', 0x40cf030a, 38333, 38332],
    regtest: ['fabfb5da', 0xdab5bffa, 18444, 18443],
  };
  for (const n of NETWORKS) {
    const p = networkParams(n);
    const [bytes, magic, port, rpc] = expect[n];
    assert.equal(p.magicBytes.toString('hex'), bytes, n);
    assert.equal(p.magic, magic, n);
    assert.equal(p.magicBytes.readUInt32LE(0), p.magic, n);
    assert.equal(p.defaultPort, port, n);
    assert.equal(p.rpcPort, rpc, n);
    assert.equal(networkByMagic(magic)?.name, n);
  }
  assert.equal(networkByMagic(0x12345678), undefined);
});

test('PoW rules and deployment heights per network', () => {
  const main = networkParams('main');
  assert.equal(main.powLimit, (1n << 224n) - 1n);
  assert.equal(main.powTargetTimespan, 1_209_600);
  assert.equal(main.powTargetSpacing, 600);
  assert.deepEqual([main.allowMinDifficultyBlocks, main.noRetargeting, main.enforceBIP94], [false, false, false]);
  assert.deepEqual([main.bip34Height, main.bip66Height, main.bip65Height, main.csvHeight, main.segwitHeight], [227931, 363725, 388381, 419328, 481824]);
  assert.equal(main.minimumChainWork, 0xdee8e2a309ad8a9820433c68n);
  const t3 = networkParams('testnet3');
  assert.deepEqual([t3.allowMinDifficultyBlocks, t3.enforceBIP94], [true, false]);
  assert.equal(t3.segwitHeight, 834624);
  const t4 = networkParams('testnet4');
  assert.deepEqual([t4.allowMinDifficultyBlocks, t4.enforceBIP94, t4.noRetargeting], [true, true, false]);
  assert.equal(t4.minimumChainWork, 0x34a4690fe592dc49c7cn);
  const signet = networkParams('signet');
  assert.equal(signet.powLimit, 0x377aen << 216n);
  assert.equal(signet.allowMinDifficultyBlocks, false);
  const regtest = networkParams('regtest');
  assert.deepEqual([regtest.allowMinDifficultyBlocks, regtest.noRetargeting], [true, true]);
  assert.equal(regtest.minimumChainWork, 0n);
  assert.equal(regtest.segwitHeight, 0);
});

test('DNS seeds: Core’s names, none on regtest', () => {
  assert.ok(networkParams('main').dnsSeeds.includes('seed.bitcoin.sipa.be'));
  assert.equal(networkParams('main').dnsSeeds.length, 8);
  assert.ok(networkParams('testnet3').dnsSeeds.includes('seed.tbtc.petertodd.net'));
  assert.deepEqual(networkParams('testnet4').dnsSeeds, ['seed.testnet4.bitcoin.sprovoost.nl', 'seed.testnet4.wiz.biz']);
  assert.ok(networkParams('signet').dnsSeeds.includes('seed.signet.bitcoin.sprovoost.nl'));
  assert.deepEqual(networkParams('regtest').dnsSeeds, []);
  for (const n of NETWORKS) for (const s of networkParams(n).dnsSeeds) assert.ok(!s.endsWith('.'), s);
});

test('params are built once and frozen', () => {
  assert.equal(networkParams('regtest'), networkParams('regtest'));
  assert.ok(Object.isFrozen(networkParams('main')));
});
