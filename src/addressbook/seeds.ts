/**
 * Fixed seeds: the addresses a node falls back on when its address book is empty and the DNS
 * seeds (or -addnode/-seednode) gave nothing, as Core's chainparamsseeds. They ship as text
 * files next to this module (`seeds/<network>.txt`, copied into dist by scripts/copy-static.js),
 * one `host:port` a line: IPv4 `1.2.3.4:8333`, IPv6 `[2001:db8::1]:8333`, Tor v3
 * `….onion:8333`, I2P `….b32.i2p:0`, CJDNS `[fc…]:8333` (an address in fc00::/8 is CJDNS here,
 * as in Core's seed lists, never a private IPv6 one). `#` starts a comment. Regtest has none.
 *
 * scripts/make-seeds.mjs writes the files from Core's contrib/seeds/nodes_*.txt or a
 * `getnodeaddresses` dump, through {@link parseSeedList}.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatAddress, isValidAddress, networkId, parseAddress, type NetAddress } from '../wire/address.js';
import type { NetworkName as ChainName } from '../wire/network.js';
import { isRoutableRaw, networkName } from '../netaddress/netaddress.js';

/** The networks that ship a list (regtest has none). */
export const SEEDED_NETWORKS: readonly ChainName[] = ['main', 'testnet3', 'testnet4', 'signet'];

/** Order of the networks in a written list. */
export const SEED_NETWORK_ORDER = ['ipv4', 'ipv6', 'onion', 'i2p', 'cjdns'] as const;

export interface SeedProblem {
  /** 1-based line number in the text. */
  readonly line: number;
  readonly text: string;
  readonly reason: string;
}

export interface SeedList {
  /** Valid entries, in the order of the text, duplicates dropped. */
  readonly addrs: readonly NetAddress[];
  readonly problems: readonly SeedProblem[];
  /** Entries that repeated an earlier one (dropped). */
  readonly duplicates: number;
}

/**
 * One seed entry: `host:port`, `[ipv6]:port`, `….onion:port`, `….b32.i2p:0`, or a host alone
 * (the default port). IPv6 in fc00::/8 becomes CJDNS. Null when it is not an address.
 */
export function parseSeed(text: string, defaultPort: number): NetAddress | null {
  const a = parseAddress(text.trim(), defaultPort, 0n);
  if (a === null) return null;
  if (a.network === 'ipv6' && a.addr[0] === 0xfc) return { ...a, network: 'cjdns' };
  return a;
}

/** Why a parsed address is not fit to be a seed (null when it is): invalid, not publicly routable, or a port of 0 outside I2P. */
export function seedProblem(a: NetAddress): string | null {
  if (!isValidAddress(a)) return 'not a valid address';
  if (!isRoutableRaw(networkId(a.network), a.addr, 0)) return 'not publicly routable (local, private or reserved)';
  if (a.network === 'i2p' ? a.port !== 0 : a.port === 0) return a.network === 'i2p' ? 'an I2P seed has port 0' : 'port 0';
  return null;
}

/** The text form of a seed, as the lists hold it (CJDNS in brackets like IPv6). */
export function formatSeed(a: NetAddress): string {
  return formatAddress(a);
}

/** Network name of a seed as the address book counts it: ipv4, ipv6, onion, i2p, cjdns. */
export function seedNetwork(a: NetAddress): string {
  return networkName(a);
}

/** Parses a list (comments and blank lines skipped), validating every entry; problems are reported, never thrown. */
export function parseSeedList(text: string, defaultPort: number): SeedList {
  const addrs: NetAddress[] = [];
  const problems: SeedProblem[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const entry = raw.replace(/#.*$/, '').trim();
    if (entry === '') return;
    const a = parseSeed(entry, defaultPort);
    const reason = a === null ? 'not an address' : seedProblem(a);
    if (a === null || reason !== null) {
      problems.push({ line: i + 1, text: entry, reason: reason ?? 'not an address' });
      return;
    }
    const key = formatSeed(a);
    if (seen.has(key)) {
      duplicates++;
      return;
    }
    seen.add(key);
    addrs.push(a);
  });
  return { addrs, problems, duplicates };
}

/** How many entries of each network (ipv4, ipv6, onion, i2p, cjdns). */
export function seedCounts(addrs: readonly NetAddress[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(SEED_NETWORK_ORDER.map((n) => [n, 0]));
  for (const a of addrs) out[seedNetwork(a)] = (out[seedNetwork(a)] ?? 0) + 1;
  return out;
}

/** The shipped list file of a network (whether or not it exists). */
export function seedFile(network: ChainName): string {
  return fileURLToPath(new URL(`./seeds/${network}.txt`, import.meta.url));
}

const loaded = new Map<ChainName, readonly string[]>();

/**
 * The shipped fixed seeds of a network, as `host:port` texts (read once, then cached); empty
 * for regtest. Every entry is valid: a test parses every list. Throws if a list that should ship
 * is missing (a broken install).
 */
export function loadFixedSeeds(network: ChainName): readonly string[] {
  if (!SEEDED_NETWORKS.includes(network)) return [];
  let list = loaded.get(network);
  if (list === undefined) {
    const text = readFileSync(seedFile(network), 'utf8');
    list = Object.freeze(
      text
        .split(/\r?\n/)
        .map((l) => l.replace(/#.*$/, '').trim())
        .filter((l) => l !== ''),
    );
    loaded.set(network, list);
  }
  return list;
}
