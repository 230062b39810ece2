/**
 * `npm run bench`: runs every suite, prints each figure with its baseline from the same run,
 * and writes bench/results/latest.json and bench/results/latest.md.
 * Pass suite names to run only some: `npm run bench -- codec`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import os from 'node:os';
import { figureLine, markdownTable, type SuiteResult } from './report.js';

const SUITES = ['codec', 'supervisors', 'peers', 'throttle', 'addrman'] as const;

interface SuiteModule {
  run(): Promise<SuiteResult>;
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const results: SuiteResult[] = [];
  for (const name of SUITES) {
    if (only.length > 0 && !only.includes(name)) continue;
    process.stdout.write(`\n== ${name} ==\n`);
    const mod = (await import(`./${name}.js`)) as SuiteModule;
    const started = Date.now();
    const result = await mod.run();
    results.push(result);
    for (const f of result.figures) process.stdout.write(`  ${figureLine(f)}\n`);
    for (const n of result.notes ?? []) process.stdout.write(`  note: ${n}\n`);
    process.stdout.write(`  (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  }
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const machine = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', memGiB: Math.round(os.totalmem() / 2 ** 30) };
  const at = new Date().toISOString();
  writeFileSync(join(dir, 'latest.json'), JSON.stringify({ at, machine, results }, null, 2) + '\n');
  writeFileSync(
    join(dir, 'latest.md'),
    `# peerd benchmarks\n\nMeasured ${at} on ${machine.cpus} × ${machine.cpu}, Node ${machine.node}. Produced by \`npm run bench\`.\n\n${markdownTable(results)}\n`,
  );
  process.stdout.write(`\nwrote bench/results/latest.json and bench/results/latest.md\n`);
}

await main();
