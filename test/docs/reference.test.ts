/**
 * The reference in docs/ stays true to the code: it is checked against the real tables the
 * node runs on (the option table, the RPC method tables), and every relative link of README.md
 * and docs/*.md must reach a file (and, with `#anchor`, a heading of it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { OPTION_DEFS, defaults, type OptionDef, type Settings } from '../../src/config/options.js';
import { METHODS } from '../../src/control/methods.js';
import { CHAIN_RPC_METHODS } from '../../src/contracts/chain.js';
import { projectRoot } from '../helpers/fixtures.js';
import { anchors, isExternal, links, prose, section, tableRows } from '../helpers/markdown.js';

const root = projectRoot();
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
/** README.md and every page of docs/, as paths from the project root. */
const pages = (): string[] => [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((n) => n.endsWith('.md'))
    .sort()
    .map((n) => `docs/${n}`),
];

/** The `--name` flags of configuration.md's option table, with the text of their default cell. */
function documentedOptions(): Map<string, string> {
  const out = new Map<string, string>();
  for (const cells of tableRows(section(read('docs/configuration.md'), 'Every option'))) {
    const m = /^`--([a-z0-9-]+)/.exec(cells[0] ?? '');
    if (m) out.set(m[1], cells[1] ?? '');
  }
  return out;
}

/** How a default is written in the table's default column (null: not checked, e.g. empty or machine-dependent). */
function shownDefault(def: OptionDef, value: Settings[keyof Settings]): string | null {
  if (def.name === 'datadir') return '`~/.peerd`';
  if (def.name === 'rpcport') return null; // -1: the network's port
  if (typeof value === 'boolean') return value ? '`1`' : '`0`';
  if (typeof value === 'number') return `\`${value}\``;
  if (typeof value === 'string') return value === '' ? null : `\`${value}\``;
  return null; // lists: empty by default
}

test('docs/configuration.md: every option of OPTION_DEFS has a row, with its default', () => {
  const documented = documentedOptions();
  const d = defaults();
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const def of OPTION_DEFS as readonly OptionDef[]) {
    const cell = documented.get(def.name);
    if (cell === undefined) {
      missing.push(def.name);
      continue;
    }
    const shown = shownDefault(def, d[def.name as keyof Settings]);
    if (shown !== null && !cell.includes(shown)) wrong.push(`--${def.name}: the table says ${cell}, the code's default is ${shown}`);
  }
  assert.deepEqual(missing, [], `options with no row in docs/configuration.md: ${missing.join(', ')}`);
  assert.deepEqual(wrong, [], wrong.join('\n'));
});

test('docs/configuration.md: every flag in the option table is a real option', () => {
  const names = new Set((OPTION_DEFS as readonly OptionDef[]).map((d) => d.name));
  const stale = [...documentedOptions().keys()].filter((n) => !names.has(n));
  assert.deepEqual(stale, [], `rows for options that do not exist: ${stale.join(', ')}`);
});

test('docs/configuration.md: the options a SIGHUP applies are the runtime ones of OPTION_DEFS, and their rows say so', () => {
  const page = read('docs/configuration.md');
  const runtime = new Set((OPTION_DEFS as readonly OptionDef[]).filter((d) => d.runtime === true).map((d) => d.name));
  const reload = section(page, 'Reload (SIGHUP)');
  for (const name of runtime) assert.ok(reload.includes(`\`${name}\``), `the reload section names ${name}`);
  for (const cells of tableRows(section(page, 'Every option'))) {
    const name = /^`--([a-z0-9-]+)/.exec(cells[0] ?? '')?.[1];
    if (name === undefined) continue;
    const says = /\bruntime\b/.test(cells[2] ?? '');
    assert.equal(says, runtime.has(name), `--${name}: its row ${says ? 'says' : 'does not say'} "runtime", OPTION_DEFS ${runtime.has(name) ? 'marks' : 'does not mark'} it`);
  }
});

/** The method names of docs/rpc.md's method tables (the first word of each row's first cell). */
function documentedMethods(): string[] {
  return tableRows(section(read('docs/rpc.md'), 'Methods'))
    .map((cells) => /^`([a-z]+)\b/.exec(cells[0] ?? '')?.[1])
    .filter((n): n is string => n !== undefined && n !== 'method');
}

test('docs/rpc.md: every method of the RPC method table and of the chain methods has a row', () => {
  const documented = new Set(documentedMethods());
  const all = new Set([...Object.keys(METHODS), ...CHAIN_RPC_METHODS]);
  const missing = [...all].filter((m) => !documented.has(m)).sort();
  assert.deepEqual(missing, [], `RPC methods with no row in docs/rpc.md: ${missing.join(', ')}`);
});

test('docs/rpc.md: every method in its tables exists, once', () => {
  const listed = documentedMethods();
  const stale = listed.filter((m) => !Object.hasOwn(METHODS, m));
  assert.deepEqual(stale, [], `rows for methods the node does not have: ${stale.join(', ')}`);
  const twice = listed.filter((m, i) => listed.indexOf(m) !== i);
  assert.deepEqual(twice, [], `methods listed twice: ${twice.join(', ')}`);
});

test('README.md and docs/*.md: every relative link reaches a file, and its #anchor a heading', () => {
  const broken: string[] = [];
  for (const page of pages()) {
    const md = read(page);
    for (const { target, line } of links(md)) {
      if (isExternal(target)) continue;
      const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
      const file = pathPart === '' ? join(root, page) : resolve(dirname(join(root, page)), decodeURIComponent(pathPart));
      const where = `${page}:${line} → ${target}`;
      if (!file.startsWith(root)) {
        broken.push(`${where}: outside the project`);
        continue;
      }
      if (!existsSync(file)) {
        broken.push(`${where}: no ${relative(root, file)}`);
        continue;
      }
      if (anchor !== undefined && anchor !== '') {
        if (statSync(file).isDirectory() || !file.endsWith('.md')) broken.push(`${where}: an anchor into something that is not a Markdown page`);
        else if (!anchors(readFileSync(file, 'utf8')).has(anchor)) broken.push(`${where}: no heading #${anchor} in ${relative(root, file)}`);
      }
    }
  }
  assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
});

test("README.md's code map names every folder of src/ and of the project", () => {
  const map = section(read('README.md'), 'Code map');
  const srcDirs = readdirSync(join(root, 'src')).filter((n) => statSync(join(root, 'src', n)).isDirectory());
  const missing = srcDirs.filter((n) => !map.includes(`src/${n}/`)).map((n) => `src/${n}/`);
  // The project's own folders: not build output, dependencies, or test leftovers.
  const skip = new Set(['node_modules', 'dist', 'coverage', 'test-artifacts']);
  const top = readdirSync(root).filter((n) => !n.startsWith('.') && !skip.has(n) && statSync(join(root, n)).isDirectory());
  missing.push(...top.filter((n) => !map.includes(`\`${n}/\``)).map((n) => `${n}/`));
  assert.deepEqual(missing, [], `folders missing from README's code map: ${missing.join(', ')}`);
  for (const m of map.matchAll(/\(src\/([a-z0-9-]+)\/\)/g)) assert.ok(srcDirs.includes(m[1]), `the code map names src/${m[1]}/, which does not exist`);
});

test("README.md's actor tree shows every slot of the node's root supervisor", async () => {
  const { NODE_SLOTS } = await import('../../src/tree.js');
  const tree = /## The actor tree[\s\S]*?```\n([\s\S]*?)```/.exec(read('README.md'))?.[1] ?? '';
  for (const slot of NODE_SLOTS) assert.match(tree, new RegExp(`[├└]── ${slot}\\b`), `README's tree has ${slot}`);
});

test('README.md and docs/: one way to write the command, no history', () => {
  const readme = read('README.md');
  const lines = readme.split('\n').length;
  assert.ok(lines <= 250, `README.md is ${lines} lines: keep it a first screen and a map (about 200), the reference belongs in docs/`);
  // `peerd …` everywhere; README says once that `node bin/peerd.js` is the same command.
  assert.ok((readme.match(/node bin\/peerd\.js/g) ?? []).length <= 1, 'README.md writes `node bin/peerd.js` at most once (where it says how to get `peerd`)');
  for (const page of pages()) {
    const text = prose(read(page));
    if (page !== 'README.md') assert.doesNotMatch(read(page), /node bin\/peerd\.js/, `${page} writes \`peerd …\`, not \`node bin/peerd.js …\``);
    assert.doesNotMatch(text, /\b(issue \d+|the issue)\b/i, `${page} refers to an issue: say what is true, not where it came from`);
  }
});
