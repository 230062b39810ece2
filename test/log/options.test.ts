/** The log options: defaults, parsing, refusals with clear messages, where the file goes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConf, parseValue, resolveSettings, type RawValues } from '../../src/config/load.js';
import { optionDef, type OptionDef } from '../../src/config/options.js';
import { logFilePath, usePretty } from '../../src/log-output.js';
import { runPeerd } from '../helpers/cli.js';

const def = (name: string): OptionDef => {
  const d = optionDef(name);
  assert.ok(d, `option ${name} exists`);
  return d;
};
const cli = (pairs: [string, string][]): RawValues => new Map(pairs.map(([k, v]) => [k, [{ value: v, where: `--${k}` }]]));

test('log options: defaults are auto, <datadir>/debug.log, 10 MB, 5 files, the file at log-level', () => {
  const { settings } = resolveSettings({ readConfFile: false });
  assert.equal(settings['log-format'], 'auto');
  assert.equal(settings['log-file'], 'debug.log');
  assert.equal(settings['log-file-size'], 10);
  assert.equal(settings['log-file-count'], 5);
  assert.equal(settings['log-file-level'], '');
  const s = resolveSettings({ readConfFile: false, cli: cli([['log-format', 'pretty'], ['log-file', ''], ['log-file-size', '3'], ['log-file-count', '2'], ['log-file-level', 'debug,peer=trace']]) }).settings;
  assert.deepEqual([s['log-format'], s['log-file'], s['log-file-size'], s['log-file-count'], s['log-file-level']], ['pretty', '', 3, 2, 'debug,peer=trace']);
});

test('log options: bad values are refused naming the flag and what is allowed', () => {
  const bad: [string, string, RegExp][] = [
    ['log-format', 'xml', /^--log-format: log-format must be one of auto, json, pretty, got "xml"$/],
    ['log-format', 'JSON', /must be one of auto, json, pretty/],
    ['log-file-size', '0', /^--log-file-size: log-file-size must be at least 1, got 0$/],
    ['log-file-size', '1.5', /^--log-file-size: log-file-size must be a whole number of MB, got "1.5"$/],
    ['log-file-size', '10MB', /whole number of MB/],
    ['log-file-size', '2000000', /must be at most 1048576/],
    ['log-file-count', '0', /^--log-file-count: log-file-count must be at least 1, got 0$/],
    ['log-file-count', '-3', /at least 1/],
    ['log-file-count', 'five', /whole number/],
  ];
  for (const [name, value, re] of bad) {
    assert.throws(
      () => parseValue(def(name), value, `--${name}`),
      (err: unknown) => err instanceof ConfigError && re.test(err.message),
      `${name}=${value}`,
    );
  }
  for (const [name, value] of [
    ['log-format', 'auto'],
    ['log-format', 'json'],
    ['log-format', 'pretty'],
    ['log-file-size', '1'],
    ['log-file-count', '1000'],
  ] as const)
    assert.doesNotThrow(() => parseValue(def(name), value, `--${name}`));
});

test('log options: a bad line in peerd.conf is reported with its file and line', () => {
  assert.throws(
    () => parseConf('log-file=peer.log\n[regtest]\nlog-file-count=many\n', '/d/peerd.conf'),
    (err: unknown) => err instanceof ConfigError && err.message === '/d/peerd.conf:3: log-file-count must be a whole number, got "many"',
  );
  const ok = parseConf('log-format=json\nlog-file=\n', '/d/peerd.conf');
  assert.equal(ok.global.get('log-file')?.[0]?.value, '');
});

test('logFilePath: "" and 0 switch the file off; relative paths are under the network datadir; absolute ones kept', () => {
  assert.equal(logFilePath('', '/d/regtest'), null);
  assert.equal(logFilePath('  ', '/d/regtest'), null);
  assert.equal(logFilePath('0', '/d/regtest'), null);
  assert.equal(logFilePath('debug.log', '/d/regtest'), '/d/regtest/debug.log');
  assert.equal(logFilePath('logs/../logs/p.log', '/d'), '/d/logs/p.log');
  assert.equal(logFilePath('/var/log/peerd.log', '/d/regtest'), '/var/log/peerd.log');
});

test('usePretty: auto follows the terminal, json and pretty are forced either way', () => {
  assert.equal(usePretty('auto', true), true);
  assert.equal(usePretty('auto', false), false);
  assert.equal(usePretty('json', true), false);
  assert.equal(usePretty('json', false), false);
  assert.equal(usePretty('pretty', false), true);
  assert.equal(usePretty('pretty', true), true);
});

test('peerd start refuses bad log flags with exit status 2 before starting anything', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-logopt-'));
  try {
    const base = ['start', '--network', 'regtest', '--datadir', dir, '--bind', '127.0.0.1:0', '--dnsseed', '0', '--rpcport', '0'];
    const cases: [string[], RegExp][] = [
      [['--log-format', 'xml'], /^peerd: --log-format: log-format must be one of auto, json, pretty, got "xml"\n$/],
      [['--log-file-size', '0.5'], /^peerd: --log-file-size: log-file-size must be a whole number of MB, got "0.5"\n$/],
      [['--log-file-count', '0'], /^peerd: --log-file-count: log-file-count must be at least 1, got 0\n$/],
      [['--log-file-level', 'info,peer=loud'], /^peerd: --log-file-level: unknown level "loud" \(fatal, error, warn, info, debug, trace, silent\)\n$/],
      [['--log-file-level', 'info,p/x=debug'], /^peerd: --log-file-level: bad component name "p\/x"/],
    ];
    for (const [flags, re] of cases) {
      const r = await runPeerd([...base, ...flags]);
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stdout, '');
    }
    // Nothing was written for the refused starts: no log file, no store.
    assert.equal(existsSync(join(dir, 'regtest', 'debug.log')), false);

    // In the config file: refused with file and line.
    writeFileSync(join(dir, 'peerd.conf'), '[regtest]\nlog-format=loud\n');
    const conf = await runPeerd(base);
    assert.equal(conf.code, 2);
    assert.match(conf.stderr, /peerd\.conf:2: log-format must be one of auto, json, pretty, got "loud"/);
    rmSync(join(dir, 'peerd.conf'));

    // A log file that cannot be opened (its directory is a file): exit 1 with the path and the reason.
    mkdirSync(join(dir, 'regtest'), { recursive: true });
    writeFileSync(join(dir, 'regtest', 'blocker'), 'x');
    const unopenable = await runPeerd([...base, '--log-file', 'blocker/debug.log']);
    assert.equal(unopenable.code, 1, unopenable.stderr);
    assert.match(unopenable.stderr, new RegExp(`^peerd: cannot open log file ${join(dir, 'regtest', 'blocker', 'debug.log')}: `));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
