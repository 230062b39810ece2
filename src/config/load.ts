import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  OPTION_DEFS,
  SECTION_NAMES,
  NETWORK_NAMES,
  defaults,
  optionDef,
  optionHelp,
  nearestOption,
  type NetworkChoice,
  type OptionDef,
  type Settings,
} from './options.js';

/** A setting that could not be used, with where it came from (flag, or file and line). */
export class ConfigError extends Error {
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${where}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** Raw values by option name, as strings, in the order given. */
export type RawValues = Map<string, { value: string; where: string }[]>;

function add(raw: RawValues, name: string, value: string, where: string): void {
  const list = raw.get(name);
  if (list) list.push({ value, where });
  else raw.set(name, [{ value, where }]);
}

const BOOL_TRUE = new Set(['1', 'true', 'yes', 'on']);
const BOOL_FALSE = new Set(['0', 'false', 'no', 'off']);

/** Parses one value of an option; throws ConfigError naming the option and the place. */
export function parseValue(def: OptionDef, value: string, where: string): string | number | boolean {
  const v = value.trim();
  switch (def.kind) {
    case 'bool': {
      if (BOOL_TRUE.has(v.toLowerCase()) || v === '') return true;
      if (BOOL_FALSE.has(v.toLowerCase())) return false;
      throw new ConfigError(where, `${def.name} must be 0 or 1, got "${value}"`);
    }
    case 'int':
    case 'bytes': {
      if (!/^-?\d+$/.test(v)) throw new ConfigError(where, `${def.name} must be a whole number${def.unit ? ` of ${def.unit}` : ''}, got "${value}"`);
      const n = Number(v);
      if (!Number.isSafeInteger(n)) throw new ConfigError(where, `${def.name} is too large: ${value}`);
      if (def.min !== undefined && n < def.min) throw new ConfigError(where, `${def.name} must be at least ${def.min}, got ${n}`);
      if (def.max !== undefined && n > def.max) throw new ConfigError(where, `${def.name} must be at most ${def.max}, got ${n}`);
      return n;
    }
    case 'enum': {
      if (!def.choices?.includes(v)) throw new ConfigError(where, `${def.name} must be one of ${def.choices?.join(', ')}, got "${value}"`);
      return v;
    }
    case 'string':
    case 'list':
      return v;
  }
}

export interface ParsedConf {
  readonly global: RawValues;
  readonly sections: ReadonlyMap<NetworkChoice, RawValues>;
}

/**
 * Reads bitcoin.conf-style text: `key=value` lines, `#` comments, `[section]` headers naming a
 * network (main, test, testnet4, signet, regtest), and `network.key=value` shorthand. Every
 * problem is reported with file and line; the first one throws.
 */
export function parseConf(text: string, file: string): ParsedConf {
  const global: RawValues = new Map();
  const sections = new Map<NetworkChoice, RawValues>();
  let current: RawValues = global;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const where = `${file}:${i + 1}`;
    const line = lines[i].replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    const section = /^\[([^\]]*)\]$/.exec(line);
    if (section) {
      const net = SECTION_NAMES[section[1].trim()];
      if (!net) throw new ConfigError(where, `unknown section [${section[1]}]; use one of [main] [test] [testnet4] [signet] [regtest]`);
      current = sections.get(net) ?? new Map();
      sections.set(net, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ConfigError(where, `expected key=value, got "${lines[i].trim()}"`);
    let key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    let target = current;
    const dot = key.indexOf('.');
    if (dot > 0) {
      const net = SECTION_NAMES[key.slice(0, dot)];
      if (!net) throw new ConfigError(where, `unknown network prefix in "${key}"`);
      key = key.slice(dot + 1);
      target = sections.get(net) ?? new Map();
      sections.set(net, target);
    }
    const def = optionDef(key);
    if (!def) throw new ConfigError(where, unknownSetting(key));
    if (def.name === 'conf') throw new ConfigError(where, 'conf cannot be set inside a config file');
    if (def.name === 'network' && target !== global) throw new ConfigError(where, 'network cannot be set inside a network section');
    parseValue(def, value, where); // validate now so the line number is reported
    add(target, key, value, where);
  }
  return { global, sections };
}

function unknownSetting(name: string): string {
  const near = nearestOption(name);
  return `unknown setting "${name}"${near ? `; did you mean "${near}"?` : ' (peerd start --help lists them)'}`;
}

/** Applies raw values onto settings: lists accumulate, scalars take the last value. */
function apply(settings: Settings, raw: RawValues): void {
  const target = settings as unknown as Record<string, unknown>;
  for (const [name, values] of raw) {
    const def = optionDef(name);
    if (!def) throw new ConfigError(values[0]?.where ?? name, unknownSetting(name));
    if (def.kind === 'list') {
      target[name] = values.map((v) => v.value.trim());
    } else {
      const last = values[values.length - 1];
      target[name] = parseValue(def, last.value, last.where);
    }
  }
}

/** The directory of one network's data: the datadir itself for main, a subdirectory otherwise (as Core). */
export function networkDatadir(datadir: string, network: NetworkChoice): string {
  return network === 'main' ? datadir : join(datadir, network);
}

export interface ResolveInput {
  /** Values from the command line (highest precedence). */
  readonly cli?: RawValues;
  /** Values from a library caller, already typed (highest precedence, after cli). */
  readonly overrides?: Partial<Settings>;
  /** Read the config file (default true). */
  readonly readConfFile?: boolean;
}

export interface Resolved {
  readonly settings: Settings;
  /** The config file that was read, if any. */
  readonly confFile: string | null;
}

/**
 * Merges defaults < network defaults < config file (global, then the network's section) <
 * command line < library overrides, and checks the result as a whole.
 */
export function resolveSettings(input: ResolveInput = {}): Resolved {
  const cli = input.cli ?? new Map();
  const pre = defaults();
  apply(pre, cli);
  if (input.overrides) Object.assign(pre, input.overrides);

  const confPath = pre.conf !== '' ? pre.conf : join(pre.datadir, 'peerd.conf');
  let conf: ParsedConf | null = null;
  if (input.readConfFile !== false) {
    if (existsSync(confPath)) conf = parseConf(readFileSync(confPath, 'utf8'), confPath);
    else if (pre.conf !== '') throw new ConfigError('--conf', `config file ${confPath} does not exist`);
  }

  const settings = defaults();
  if (conf) apply(settings, conf.global);
  apply(settings, cli);
  if (input.overrides) Object.assign(settings, input.overrides);
  const network = settings.network;
  if (!(NETWORK_NAMES as readonly string[]).includes(network)) throw new ConfigError('network', `unknown network "${network}"`);
  applyNetworkDefaults(settings);
  const section = conf?.sections.get(network);
  if (section) apply(settings, section);
  apply(settings, cli);
  if (input.overrides) Object.assign(settings, input.overrides);
  check(settings);
  return { settings, confFile: conf ? confPath : null };
}

/** Settings whose default depends on the network, as Core: no DNS seeds on regtest. */
function applyNetworkDefaults(s: Settings): void {
  if (s.network === 'regtest') s.dnsseed = false;
  // Core: -connect implies no DNS seeds and no automatic outbound.
  if (s.connect.length > 0) s.dnsseed = false;
}

function check(s: Settings): void {
  for (const name of ['bind', 'connect', 'addnode', 'seednode'] as const) {
    for (const v of s[name]) {
      const hostPort = name === 'bind' ? v.split('=')[0] : v;
      if (!isHostPort(hostPort)) throw new ConfigError(name, `"${v}" is not HOST:PORT`);
    }
  }
  for (const v of s.bind) {
    const eq = v.indexOf('=');
    if (eq >= 0 && !/^services:(0x[0-9a-fA-F]+|\d+)$/.test(v.slice(eq + 1)))
      throw new ConfigError('bind', `"${v}": expected HOST:PORT=services:N (N decimal or 0x hex)`);
  }
  if (s.addnode.length > 8) throw new ConfigError('addnode', `at most 8 addnode peers, got ${s.addnode.length}`);
}

/** HOST[:PORT] with an IPv4 address, a [bracketed] IPv6 address or a host name; without a port the network's default applies. */
export function isHostPort(v: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(v);
  if (!m) return false;
  if (m[2] === undefined) return true;
  const port = Number(m[2]);
  return port >= 0 && port <= 65535;
}

/** For help output: every option with its description. */
export function describeOptions(): { flag: string; description: string }[] {
  return OPTION_DEFS.map((d: OptionDef) => ({
    flag: `--${d.name}${d.kind === 'bool' ? ' 0|1' : d.arg ? ` ${d.arg}` : ''}`,
    description: optionHelp(d),
  }));
}
