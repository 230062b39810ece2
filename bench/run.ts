/**
 * `npm run bench`: runs every suite, prints each figure with its baseline from the same run,
 * and writes bench/results/latest.json and bench/results/latest.md.
 * Pass suite names to run only some: `npm run bench -- codec`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import os from 'node:os';
import { figureLine, markdownTable, type SuiteResult } from './report.js';

const SUITES = ['codec', 'supervisors', 'peers', 'throttle', 'addrman', 'sync', 'chaos', 'v2', 'hostile'] as const;

interface SuiteModule {
  run(): Promise<SuiteResult>;
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const results: (SuiteResult & { seconds: number })[] = [];
  const begun = Date.now();
  for (const name of SUITES) {
    if (only.length > 0 && !only.includes(name)) continue;
    process.stdout.write(`\n== ${name} ==\n`);
    const mod = (await import(`./${name}.js`)) as SuiteModule;
    const started = Date.now();
    const result = await mod.run();
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    results.push({ ...result, seconds });
    for (const f of result.figures) process.stdout.write(`  ${figureLine(f)}\n`);
    for (const n of result.notes ?? []) process.stdout.write(`  note: ${n}\n`);
    process.stdout.write(`  (${seconds.toFixed(1)} s)\n`);
  }
  process.stdout.write(`\nall suites: ${((Date.now() - begun) / 1000).toFixed(1)} s\n`);
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const machine = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', memGiB: Math.round(os.totalmem() / 2 ** 30) };
  const at = new Date().toISOString();
  // A partial run (`npm run bench -- codec`) replaces only its suites; the others keep their last figures and dates.
  const file = join(dir, 'latest.json');
  type Stamped = SuiteResult & { at?: string };
  let previous: Stamped[] = [];
  if (only.length > 0 && existsSync(file)) {
    try {
      previous = (JSON.parse(readFileSync(file, 'utf8')) as { results?: Stamped[] }).results ?? [];
    } catch {
      previous = [];
    }
  }
  const merged: Stamped[] = SUITES.flatMap((name) => {
    const fresh = results.find((r) => r.suite === name);
    if (fresh) return [{ ...fresh, at }];
    const old = previous.find((r) => r.suite === name);
    return old ? [old] : [];
  });
  writeFileSync(file, JSON.stringify({ at, machine, results: merged }, null, 2) + '\n');
  writeFileSync(
    join(dir, 'latest.md'),
    `# peerd benchmarks\n\nProduced by \`npm run bench\` on ${machine.cpus} × ${machine.cpu}, Node ${machine.node}; last written ${at}.\n\n${markdownTable(merged)}\n`,
  );
  process.stdout.write(`\nwrote bench/results/latest.json and bench/results/latest.md\n`);
}

await main();
