/**
 * Every setting peerd takes, in one table: the command line (`peerd start --name value`),
 * the config file (`name=value` in peerd.conf, optionally under a `[network]` section) and
 * the library (`startNode({ name: value })`) all read it. Names follow Bitcoin Core where
 * Core has the setting.
 */

export type OptionKind = 'int' | 'bool' | 'string' | 'list' | 'bytes' | 'enum';

export interface OptionDef {
  readonly name: string;
  readonly kind: OptionKind;
  readonly description: string;
  /** Shown in help; the default itself lives in {@link defaults}. */
  readonly unit?: string;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  /** May be changed on a running node (SIGHUP reload, RPC). */
  readonly runtime?: boolean;
  /** Value placeholder in help text. */
  readonly arg?: string;
}

export const NETWORK_NAMES = ['main', 'testnet3', 'testnet4', 'signet', 'regtest'] as const;
export type NetworkChoice = (typeof NETWORK_NAMES)[number];

/** `--log-format`: pretty on a terminal and JSON otherwise (auto), or either forced. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

/** Core's config-file section names for each network. */
export const SECTION_NAMES: Readonly<Record<string, NetworkChoice>> = {
  main: 'main',
  test: 'testnet3',
  testnet3: 'testnet3',
  testnet4: 'testnet4',
  signet: 'signet',
  regtest: 'regtest',
};

export const OPTION_DEFS = [
  { name: 'network', kind: 'enum', choices: NETWORK_NAMES, arg: 'NAME', description: 'chain to join' },
  { name: 'datadir', kind: 'string', arg: 'DIR', description: 'data directory (a subdirectory per network except main)' },
  { name: 'conf', kind: 'string', arg: 'FILE', description: 'config file (default: <datadir>/peerd.conf)' },
  {
    name: 'bind',
    kind: 'list',
    arg: 'HOST:PORT[=services:N]',
    description: 'listen on this address (repeatable); `=services:N` advertises service bits N on it',
  },
  { name: 'listen', kind: 'bool', description: 'accept inbound connections' },
  { name: 'connect', kind: 'list', arg: 'HOST:PORT', description: 'connect only to these peers (repeatable); no automatic outbound, no DNS seeds' },
  { name: 'addnode', kind: 'list', arg: 'HOST:PORT', description: 'keep a connection to this peer, retried with backoff (repeatable, at most 8)', runtime: true },
  { name: 'seednode', kind: 'list', arg: 'HOST:PORT', description: 'connect, ask for addresses, disconnect (repeatable)' },
  { name: 'maxconnections', kind: 'int', min: 0, max: 100000, arg: 'N', description: 'most connections in total' },
  { name: 'dnsseed', kind: 'bool', description: 'query DNS seeds when the address book is nearly empty' },
  { name: 'log-level', kind: 'string', arg: 'LEVEL|comp=LEVEL,…', description: 'log level, overall or per component (e.g. info,peer=debug)', runtime: true },
  { name: 'timeout', kind: 'int', min: 1, max: 600000, unit: 'ms', arg: 'MS', description: 'connect timeout' },
  { name: 'peertimeout', kind: 'int', min: 1, max: 86400, unit: 's', arg: 'S', description: 'handshake must finish within this time' },
  { name: 'pinginterval', kind: 'int', min: 1, max: 86400, unit: 's', arg: 'S', description: 'send a ping this often' },
  { name: 'inactivitytimeout', kind: 'int', min: 1, max: 86400, unit: 's', arg: 'S', description: 'disconnect after nothing sent or received, or a ping unanswered, for this long' },
  { name: 'maxrecvrate', kind: 'bytes', min: 0, unit: 'bytes/s', arg: 'BYTES', description: 'receive at most this rate from all peers together (0 = unlimited)', runtime: true },
  { name: 'maxsendrate', kind: 'bytes', min: 0, unit: 'bytes/s', arg: 'BYTES', description: 'send at most this rate to all peers together (0 = unlimited)', runtime: true },
  { name: 'peermaxrecvrate', kind: 'bytes', min: 0, unit: 'bytes/s', arg: 'BYTES', description: 'receive at most this rate from each peer (0 = unlimited)', runtime: true },
  { name: 'peermaxsendrate', kind: 'bytes', min: 0, unit: 'bytes/s', arg: 'BYTES', description: 'send at most this rate to each peer (0 = unlimited)', runtime: true },
  { name: 'server', kind: 'bool', description: 'accept JSON-RPC commands (peerd start: on; the library: only when asked)' },
  { name: 'rpcbind', kind: 'list', arg: 'HOST[:PORT]', description: 'bind the RPC server here (repeatable; default 127.0.0.1)' },
  { name: 'rpcport', kind: 'int', min: 0, max: 65535, arg: 'PORT', description: "RPC port (default: the network's, 8332/18332/48332/38332/18443; 0 = any free port)" },
  { name: 'rpcallowip', kind: 'list', arg: 'IP[/MASK]', description: 'also accept RPC clients from this IP or subnet (repeatable; loopback is always allowed)' },
  { name: 'rpcuser', kind: 'string', arg: 'USER', description: 'RPC user name (with rpcpassword; otherwise a cookie file is used)' },
  { name: 'rpcpassword', kind: 'string', arg: 'PW', description: 'RPC password (no cookie file is written when set)' },
  { name: 'rpccookiefile', kind: 'string', arg: 'FILE', description: 'RPC cookie file (default: <network datadir>/.cookie)' },
  { name: 'rest', kind: 'bool', description: "serve Bitcoin Core's REST interface (blocks, headers, block hash by height, chain info) on the RPC port: read-only, no credentials, as Core" },
  { name: 'log-format', kind: 'enum', choices: LOG_FORMATS, arg: 'FORMAT', description: 'stdout log format: auto (pretty on a terminal, JSON lines otherwise), json or pretty' },
  { name: 'log-file', kind: 'string', arg: 'PATH', description: 'JSON-lines log file, relative to the network datadir (default debug.log; "" or 0 = no file)' },
  { name: 'log-file-size', kind: 'int', min: 1, max: 1048576, unit: 'MB', arg: 'MB', description: 'rotate the log file when it reaches this size' },
  { name: 'log-file-count', kind: 'int', min: 1, max: 1000, arg: 'N', description: 'rotated log files kept (debug.log.1 newest … debug.log.N)' },
  { name: 'log-file-level', kind: 'string', arg: 'LEVEL|comp=LEVEL,…', description: "the log file's own level, overall or per component (default: log-level's)" },
  {
    name: 'prune',
    kind: 'int',
    min: 0,
    unit: 'MiB',
    arg: 'MIB',
    description: 'keep only about this many MiB of recent blocks (0 = keep all; at least 550, as Core); advertises NODE_NETWORK_LIMITED instead of NODE_NETWORK',
  },
  {
    name: 'maxuploadtarget',
    kind: 'int',
    min: 0,
    unit: 'MiB',
    arg: 'MIB',
    description: 'try to keep what the node sends under this many MiB per 24 h: once near it, stop serving blocks older than a week to peers without noban (0 = no target)',
  },
  {
    name: 'inspect',
    kind: 'string',
    arg: '[HOST:]PORT',
    description: 'serve the live web inspector and /metrics here (a port alone binds 127.0.0.1; 0 = any free port; empty = off)',
  },
  { name: 'fixedseeds', kind: 'bool', description: 'fall back on the built-in seed addresses when the address book has none of a reachable network (never with --connect)' },
  { name: 'blocksxor', kind: 'bool', description: 'obfuscate new block files with a random key in blocks/xor.dat, as Core v28+ (only for an empty blocks directory; cannot be turned off once a key is stored)' },
  {
    name: 'v2transport',
    kind: 'bool',
    description: 'support the BIP324 v2 encrypted transport (as Core v30): advertise NODE_P2P_V2 and accept v2 on inbound connections (v1 peers are still detected and served)',
  },
  { name: 'reindex', kind: 'bool', description: 'rebuild the block index and header tree from the block files in blocks/ at start (as Core; done by itself when the index is missing or does not cover every file); no block file is removed' },
] as const satisfies readonly OptionDef[];

type Defs = typeof OPTION_DEFS;
export type OptionName = Defs[number]['name'];

type ValueOf<K extends OptionKind> = K extends 'int' | 'bytes'
  ? number
  : K extends 'bool'
    ? boolean
    : K extends 'list'
      ? string[]
      : string;

/** The resolved settings: every option with its typed value. */
export type Settings = {
  -readonly [D in Defs[number] as D['name']]: D['name'] extends 'network' ? NetworkChoice : ValueOf<D['kind']>;
};

/** The defaults, before the network-dependent ones are applied by {@link networkDefaults}. */
export function defaults(): Settings {
  return {
    network: 'main',
    datadir: defaultDatadir(),
    conf: '',
    bind: [],
    listen: true,
    connect: [],
    addnode: [],
    seednode: [],
    maxconnections: 125,
    dnsseed: true,
    'log-level': 'info',
    timeout: 5000,
    peertimeout: 60,
    pinginterval: 120,
    inactivitytimeout: 1200,
    maxrecvrate: 0,
    maxsendrate: 0,
    peermaxrecvrate: 0,
    peermaxsendrate: 0,
    server: true,
    rpcbind: [],
    rpcport: -1,
    rpcallowip: [],
    rpcuser: '',
    rpcpassword: '',
    rpccookiefile: '',
    rest: false,
    'log-format': 'auto',
    'log-file': 'debug.log',
    'log-file-size': 10,
    'log-file-count': 5,
    'log-file-level': '',
    prune: 0,
    maxuploadtarget: 0,
    inspect: '',
    fixedseeds: true,
    blocksxor: true,
    reindex: false,
    v2transport: true,
  };
}

function defaultDatadir(): string {
  const home = process.env.HOME ?? '.';
  return `${home}/.peerd`;
}

/**
 * An option's help text: its description with one parenthesis at the end holding the unit, that
 * it may be repeated, what the description's own trailing parenthesis said, and the default
 * (`(bytes/s, 0 = unlimited; default 0)`, not `(0 = unlimited) (bytes/s)`).
 */
export function optionHelp(d: OptionDef, fallback: Settings = defaults()): string {
  let text = d.description;
  const notes: string[] = [];
  const unit = d.unit;
  if (unit && !new RegExp(`(^|[^A-Za-z])${unit.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}([^A-Za-z]|$)`).test(text)) notes.push(unit);
  const tail = /\s*\(([^()]*)\)$/.exec(text);
  if (tail) {
    text = text.slice(0, tail.index);
    notes.push(tail[1]);
  }
  if (d.kind === 'list' && !notes.some((n) => n.includes('repeatable')) && !text.includes('repeatable')) notes.unshift('repeatable');
  const value = (fallback as unknown as Record<string, unknown>)[d.name];
  const shown =
    typeof value === 'boolean' ? (value ? '1' : '0') : typeof value === 'number' ? (value < 0 ? null : String(value)) : typeof value === 'string' ? (value === '' ? null : value) : null;
  const dflt = shown !== null && !notes.some((n) => n.includes('default')) ? `default ${shown}` : null;
  if (notes.length === 0 && dflt === null) return text;
  return `${text} (${notes.join(', ')}${dflt ? `${notes.length > 0 ? '; ' : ''}${dflt}` : ''})`;
}

/** The known setting nearest to a misspelt `name` (Damerau-Levenshtein, at most a third of its length off), or null. */
export function nearestOption(name: string): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const d of OPTION_DEFS as readonly OptionDef[]) {
    const dist = editDistance(name.toLowerCase(), d.name);
    if (dist < bestD) {
      bestD = dist;
      best = d.name;
    }
  }
  return best !== null && bestD > 0 && bestD <= Math.max(1, Math.floor(best.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

export function optionDef(name: string): OptionDef | undefined {
  return (OPTION_DEFS as readonly OptionDef[]).find((d) => d.name === name);
}
