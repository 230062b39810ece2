import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConf, resolveSettings, ConfigError, networkDatadir, type RawValues } from '../../src/config/load.js';
import { OPTION_DEFS, optionDef, optionHelp, type OptionDef } from '../../src/config/options.js';

function cli(pairs: [string, string][]): RawValues {
  const m: RawValues = new Map();
  for (const [k, v] of pairs) {
    const list = m.get(k) ?? [];
    list.push({ value: v, where: `--${k}` });
    m.set(k, list);
  }
  return m;
}

function withDatadir(conf: string | null, fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-conf-'));
  try {
    if (conf !== null) writeFileSync(join(dir, 'peerd.conf'), conf);
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('defaults follow Core: 125 connections, 5 s connect, 60 s handshake, 2 min ping, 20 min inactivity', () => {
  const { settings } = resolveSettings({ readConfFile: false });
  assert.equal(settings.network, 'main');
  assert.equal(settings.maxconnections, 125);
  assert.equal(settings.timeout, 5000);
  assert.equal(settings.peertimeout, 60);
  assert.equal(settings.pinginterval, 120);
  assert.equal(settings.inactivitytimeout, 1200);
  assert.equal(settings.dnsseed, true);
});

test('regtest and --connect turn DNS seeding off by default', () => {
  assert.equal(resolveSettings({ cli: cli([['network', 'regtest']]), readConfFile: false }).settings.dnsseed, false);
  assert.equal(resolveSettings({ cli: cli([['connect', '127.0.0.1:18444']]), readConfFile: false }).settings.dnsseed, false);
});

test('config file: global lines, network sections, network.key shorthand, and the command line wins', () => {
  const text = ['# comment', 'maxconnections=40', 'addnode=127.0.0.1:1', '[regtest]', 'maxconnections=12', 'addnode=127.0.0.1:2', 'addnode=127.0.0.1:3', '[main]', 'maxconnections=99', 'regtest.pinginterval=7'].join('\n');
  withDatadir(text, (dir) => {
    const r = resolveSettings({ cli: cli([['datadir', dir], ['network', 'regtest']]) });
    assert.equal(r.confFile, join(dir, 'peerd.conf'));
    assert.equal(r.settings.maxconnections, 12);
    assert.deepEqual(r.settings.addnode, ['127.0.0.1:2', '127.0.0.1:3']);
    assert.equal(r.settings.pinginterval, 7);
    const over = resolveSettings({ cli: cli([['datadir', dir], ['network', 'regtest'], ['maxconnections', '3']]) });
    assert.equal(over.settings.maxconnections, 3);
    const main = resolveSettings({ cli: cli([['datadir', dir]]) });
    assert.equal(main.settings.maxconnections, 99);
    assert.deepEqual(main.settings.addnode, ['127.0.0.1:1']);
  });
});

test('bad config lines are reported with file and line number', () => {
  const cases: [string, RegExp][] = [
    ['maxconnections=12\nmaxconections=3', /peerd\.conf:2: unknown setting "maxconections"; did you mean "maxconnections"\?/],
    ['rpcprot=1', /peerd\.conf:1: unknown setting "rpcprot"; did you mean "rpcport"\?/],
    ['colour=blue', /peerd\.conf:1: unknown setting "colour" \(peerd start --help lists them\)$/],
    ['\n\nmaxconnections=lots', /peerd\.conf:3: maxconnections must be a whole number/],
    ['listen=maybe', /peerd\.conf:1: listen must be 0 or 1/],
    ['[moon]', /peerd\.conf:1: unknown section \[moon\]/],
    ['just words', /peerd\.conf:1: expected key=value/],
    ['timeout=0', /timeout must be at least 1/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseConf(text, '/x/peerd.conf'), (e: unknown) => e instanceof ConfigError && re.test(e.message));
  }
});

test('bad flags are refused with the flag named', () => {
  assert.throws(() => resolveSettings({ cli: cli([['network', 'moon']]), readConfFile: false }), /network must be one of main, testnet3/);
  assert.throws(() => resolveSettings({ cli: cli([['connect', 'not a host']]), readConfFile: false }), /connect: "not a host" is not HOST:PORT/);
  assert.throws(() => resolveSettings({ cli: cli([['bind', '127.0.0.1:1=services:x']]), readConfFile: false }), /services:N/);
  assert.throws(() => resolveSettings({ cli: cli([['conf', '/nonexistent/peerd.conf']]) }), /does not exist/);
});

test('each network but main keeps its data in a subdirectory, as Core', () => {
  assert.equal(networkDatadir('/d', 'main'), '/d');
  assert.equal(networkDatadir('/d', 'regtest'), join('/d', 'regtest'));
});

test('help text: one parenthesis per option (unit, repeatable, the description note, the default), never two', () => {
  for (const d of OPTION_DEFS as readonly OptionDef[]) {
    const h = optionHelp(d);
    assert.doesNotMatch(h, /\) \(/, `${d.name}: ${h}`);
    assert.ok((h.match(/repeatable/g) ?? []).length <= 1, `${d.name}: ${h}`);
  }
  const def = (name: string): OptionDef => optionDef(name)!;
  assert.equal(optionHelp(def('maxrecvrate')), 'receive at most this rate from all peers together (bytes/s, 0 = unlimited; default 0)');
  assert.equal(optionHelp(def('peertimeout')), 'handshake must finish within this time (s; default 60)');
  assert.match(optionHelp(def('seednode')), /\(repeatable\)$/);
  assert.match(optionHelp(def('listen')), /\(default 1\)$/);
});
