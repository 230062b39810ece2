/**
 * Parameters of the five networks, with Bitcoin Core v30's values (kernel/chainparams.cpp,
 * chainparamsbase.cpp): message start, ports, genesis block, DNS seeds, PoW rules, minimum
 * chain work and buried deployment heights. The genesis blocks are built here, not stored, and
 * a test checks every one hashes to Core's hash.
 */
import { hash as oneShot } from 'node:crypto';
import { Writer } from './buffer.js';
import { type Block, type BlockHeader, makeBlock } from './block.js';
import { type PowParams } from './pow.js';
import { NULL_INDEX, SEQUENCE_FINAL, type Tx, makeTx } from './tx.js';

export type NetworkName = 'main' | 'testnet3' | 'testnet4' | 'signet' | 'regtest';
export const NETWORKS: readonly NetworkName[] = Object.freeze(['main', 'testnet3', 'testnet4', 'signet', 'regtest'] as const);

export interface NetworkParams extends PowParams {
  readonly name: NetworkName;
  /** The first four wire bytes read as a little-endian u32 (regtest fa bf b5 da → 0xdab5bffa). */
  readonly magic: number;
  readonly magicBytes: Buffer;
  readonly defaultPort: number;
  readonly rpcPort: number;
  /** The genesis block, coinbase included (servable and hashable). */
  readonly genesis: Block;
  /** Genesis header hash, internal byte order. */
  readonly genesisHash: Buffer;
  /** DNS seed host names (Core's list, without the trailing dot). Empty on regtest. */
  readonly dnsSeeds: readonly string[];
  /** Fixed seeds overriding the list shipped in src/addressbook/seeds/<name>.txt (none is set here: the node reads the shipped one). */
  readonly fixedSeeds?: readonly string[];
  readonly minimumChainWork: bigint;
  /** Assumed-valid block (Core's defaultAssumeValid), display hex; empty when none. */
  readonly defaultAssumeValid: string;
  readonly bip34Height: number;
  readonly bip65Height: number;
  readonly bip66Height: number;
  readonly csvHeight: number;
  readonly segwitHeight: number;
  readonly subsidyHalvingInterval: number;
  readonly bech32Hrp: string;
  /** Signet block challenge script (BIP325); absent elsewhere. */
  readonly signetChallenge?: Buffer;
}

const COIN = 100_000_000n;
const GENESIS_MSG = 'The Times 03/Jan/2009 Chancellor on brink of second bailout for banks';
const GENESIS_PUBKEY = '04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f';
const TESTNET4_MSG = '03/May/2024 000000000000000000001ebd58c244970b3aa9d783bb001011fbe8ea8e98e00e';
const TESTNET4_PUBKEY = '00'.repeat(33);
const SIGNET_CHALLENGE = Buffer.from(
  '512103ad5e0edad18cb1f0fc0d28a3d4f1f3e445640337489abb10404f2d1e086be430210359ef5021964fe22d6f8e05b2463c9540ce96883fe3b278760f048f5189f2e6c452ae',
  'hex',
);

/** A minimal script push of `data` (direct push up to 75 bytes, then OP_PUSHDATA1/2). */
function push(w: Writer, data: Buffer): void {
  if (data.length < 0x4c) w.u8(data.length);
  else if (data.length <= 0xff) w.u8(0x4c).u8(data.length);
  else w.u8(0x4d).u16le(data.length);
  w.bytes(data);
}

/** The genesis coinbase as Core's CreateGenesisBlock builds it: scriptSig = 486604799, 4, message; one output of 50 BTC to <pubkey> OP_CHECKSIG. */
export function genesisCoinbase(message = GENESIS_MSG, pubkeyHex = GENESIS_PUBKEY): Tx {
  const sig = new Writer(128);
  push(sig, Buffer.from('ffff001d', 'hex')); // CScriptNum(486604799)
  push(sig, Buffer.from([4])); // CScriptNum(4)
  push(sig, Buffer.from(message, 'latin1'));
  const out = new Writer(80);
  push(out, Buffer.from(pubkeyHex, 'hex'));
  out.u8(0xac); // OP_CHECKSIG
  return makeTx({
    version: 1,
    inputs: [{ prevTxid: Buffer.alloc(32), prevIndex: NULL_INDEX, script: Buffer.from(sig.result()), sequence: SEQUENCE_FINAL, witness: [] }],
    outputs: [{ value: 50n * COIN, script: Buffer.from(out.result()) }],
    locktime: 0,
  });
}

function genesisBlock(time: number, nonce: number, bits: number, coinbase: Tx = genesisCoinbase()): Block {
  return makeBlock({ version: 1, prevBlock: Buffer.alloc(32), merkleRoot: coinbase.txid, time, bits, nonce }, [coinbase]);
}

function magicOf(bytes: Buffer): number {
  return bytes.readUInt32LE(0);
}

/** Signet's message start: the first four bytes of sha256d of the challenge serialised as a script (length-prefixed). */
export function signetMagic(challenge: Buffer): Buffer {
  const w = new Writer(challenge.length + 9).varBytes(challenge).result();
  return Buffer.from(oneShot('sha256', oneShot('sha256', w, 'buffer'), 'buffer').subarray(0, 4));
}

const target = (hex: string): bigint => BigInt('0x' + hex);
const TWO_WEEKS = 14 * 24 * 60 * 60;

interface Spec extends Omit<NetworkParams, 'magic' | 'genesisHash'> {
  readonly expectedGenesis: string;
}

function finish(spec: Spec): NetworkParams {
  const { expectedGenesis, ...rest } = spec;
  const p: NetworkParams = { ...rest, magic: magicOf(spec.magicBytes), genesisHash: spec.genesis.header.hash };
  const shown = Buffer.from(p.genesisHash).reverse().toString('hex');
  // Same guard as Core's assert in chainparams: a wrong constant must never go unnoticed.
  if (shown !== expectedGenesis) throw new Error(`${spec.name}: genesis hashes to ${shown}, expected ${expectedGenesis}`);
  return Object.freeze(p);
}

function build(name: NetworkName): NetworkParams {
  switch (name) {
    case 'main':
      return finish({
        name,
        magicBytes: Buffer.from('f9beb4d9', 'hex'),
        defaultPort: 8333,
        rpcPort: 8332,
        genesis: genesisBlock(1231006505, 2083236893, 0x1d00ffff),
        expectedGenesis: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
        dnsSeeds: [
          'seed.bitcoin.sipa.be',
          'dnsseed.bluematt.me',
          'seed.bitcoin.jonasschnelli.ch',
          'seed.btc.petertodd.net',
          'seed.bitcoin.sprovoost.nl',
          'dnsseed.emzy.de',
          'seed.bitcoin.wiz.biz',
          'seed.mainnet.achownodes.xyz',
        ],
        powLimit: target('00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff'),
        powTargetSpacing: 600,
        powTargetTimespan: TWO_WEEKS,
        allowMinDifficultyBlocks: false,
        noRetargeting: false,
        enforceBIP94: false,
        minimumChainWork: target('0000000000000000000000000000000000000000dee8e2a309ad8a9820433c68'),
        defaultAssumeValid: '00000000000000000000611fd22f2df7c8fbd0688745c3a6c3bb5109cc2a12cb',
        bip34Height: 227931,
        bip65Height: 388381,
        bip66Height: 363725,
        csvHeight: 419328,
        segwitHeight: 481824,
        subsidyHalvingInterval: 210000,
        bech32Hrp: 'bc',
      });
    case 'testnet3':
      return finish({
        name,
        magicBytes: Buffer.from('0b110907', 'hex'),
        defaultPort: 18333,
        rpcPort: 18332,
        genesis: genesisBlock(1296688602, 414098458, 0x1d00ffff),
        expectedGenesis: '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943',
        dnsSeeds: ['testnet-seed.bitcoin.jonasschnelli.ch', 'seed.tbtc.petertodd.net', 'seed.testnet.bitcoin.sprovoost.nl', 'testnet-seed.bluematt.me', 'seed.testnet.achownodes.xyz'],
        powLimit: target('00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff'),
        powTargetSpacing: 600,
        powTargetTimespan: TWO_WEEKS,
        allowMinDifficultyBlocks: true,
        noRetargeting: false,
        enforceBIP94: false,
        minimumChainWork: target('0000000000000000000000000000000000000000000016dd270dd94fac1d7632'),
        defaultAssumeValid: '0000000000000065c6c38258e201971a3fdfcc2ceee0dd6e85a6c022d45dee34',
        bip34Height: 21111,
        bip65Height: 581885,
        bip66Height: 330776,
        csvHeight: 770112,
        segwitHeight: 834624,
        subsidyHalvingInterval: 210000,
        bech32Hrp: 'tb',
      });
    case 'testnet4':
      return finish({
        name,
        magicBytes: Buffer.from('1c163f28', 'hex'),
        defaultPort: 48333,
        rpcPort: 48332,
        genesis: genesisBlock(1714777860, 393743547, 0x1d00ffff, genesisCoinbase(TESTNET4_MSG, TESTNET4_PUBKEY)),
        expectedGenesis: '00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043',
        dnsSeeds: ['seed.testnet4.bitcoin.sprovoost.nl', 'seed.testnet4.wiz.biz'],
        powLimit: target('00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff'),
        powTargetSpacing: 600,
        powTargetTimespan: TWO_WEEKS,
        allowMinDifficultyBlocks: true,
        noRetargeting: false,
        enforceBIP94: true,
        minimumChainWork: target('00000000000000000000000000000000000000000000034a4690fe592dc49c7c'),
        defaultAssumeValid: '000000000000000180a58e7fa3b0db84b5ea76377524894f53660d93ac839d9b',
        bip34Height: 1,
        bip65Height: 1,
        bip66Height: 1,
        csvHeight: 1,
        segwitHeight: 1,
        subsidyHalvingInterval: 210000,
        bech32Hrp: 'tb',
      });
    case 'signet':
      return finish({
        name,
        magicBytes: signetMagic(SIGNET_CHALLENGE),
        defaultPort: 38333,
        rpcPort: 38332,
        genesis: genesisBlock(1598918400, 52613770, 0x1e0377ae),
        expectedGenesis: '00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6',
        dnsSeeds: ['seed.signet.bitcoin.sprovoost.nl', 'seed.signet.achownodes.xyz'],
        powLimit: target('00000377ae000000000000000000000000000000000000000000000000000000'),
        powTargetSpacing: 600,
        powTargetTimespan: TWO_WEEKS,
        allowMinDifficultyBlocks: false,
        noRetargeting: false,
        enforceBIP94: false,
        minimumChainWork: target('0000000000000000000000000000000000000000000000000000067d328e681a'),
        defaultAssumeValid: '000000128586e26813922680309f04e1de713c7542fee86ed908f56368aefe2e',
        bip34Height: 1,
        bip65Height: 1,
        bip66Height: 1,
        csvHeight: 1,
        segwitHeight: 1,
        subsidyHalvingInterval: 210000,
        bech32Hrp: 'tb',
        signetChallenge: SIGNET_CHALLENGE,
      });
    case 'regtest':
      return finish({
        name,
        magicBytes: Buffer.from('fabfb5da', 'hex'),
        defaultPort: 18444,
        rpcPort: 18443,
        genesis: genesisBlock(1296688602, 2, 0x207fffff),
        expectedGenesis: '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
        dnsSeeds: [],
        powLimit: target('7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'),
        powTargetSpacing: 600,
        powTargetTimespan: 24 * 60 * 60,
        allowMinDifficultyBlocks: true,
        noRetargeting: true,
        enforceBIP94: false,
        minimumChainWork: 0n,
        defaultAssumeValid: '',
        bip34Height: 1,
        bip65Height: 1,
        bip66Height: 1,
        csvHeight: 1,
        segwitHeight: 0,
        subsidyHalvingInterval: 150,
        bech32Hrp: 'bcrt',
      });
  }
}

const cache = new Map<NetworkName, NetworkParams>();

/** The parameters of a network (built once, then shared and frozen). */
export function networkParams(name: NetworkName): NetworkParams {
  let p = cache.get(name);
  if (!p) {
    p = build(name);
    cache.set(name, p);
  }
  return p;
}

/** The network whose magic (as a little-endian u32) this is, if any. */
export function networkByMagic(magic: number): NetworkParams | undefined {
  for (const n of NETWORKS) {
    const p = networkParams(n);
    if (p.magic === magic) return p;
  }
  return undefined;
}

/** The genesis header of a network (a convenience for header-chain code). */
export function genesisHeader(name: NetworkName): BlockHeader {
  return networkParams(name).genesis.header;
}

/** Display-hex genesis hash of a network (as Core prints it). */
export function genesisHashHex(name: NetworkName): string {
  return Buffer.from(networkParams(name).genesisHash).reverse().toString('hex');
}
