// The build: an incremental TypeScript compile (only what changed is rebuilt; the state is in
// dist/.tsbuildinfo), then every compiled file whose source is gone is removed, so a deleted
// test never runs from a stale dist/, then the static files are copied.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

// tsc --incremental trusts its build info: an output deleted or edited since is not re-emitted.
// When any source lacks its .js, or any .js is newer than the build info, start from scratch.
const INFO = 'dist/.tsbuildinfo';
function outputsIntact() {
  if (!existsSync(INFO)) return true; // a full build follows anyway
  const infoAt = statSync(INFO).mtimeMs;
  const roots = ['src', 'supervisors', 'test', 'bench'];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        if (!walk(path)) return false;
        continue;
      }
      if (!/\.ts$/.test(name) || name.endsWith('.d.ts')) continue;
      const out = join('dist', path.replace(/\.ts$/, '.js'));
      if (!existsSync(out) || statSync(out).mtimeMs > infoAt + 1000) return false;
    }
    return true;
  };
  return roots.every((r) => !existsSync(r) || walk(r));
}
if (!outputsIntact()) {
  process.stdout.write('build: an output is missing or was changed by hand: full rebuild\n');
  rmSync(INFO, { force: true });
}

try {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--incremental', '--tsBuildInfoFile', 'dist/.tsbuildinfo'], { stdio: 'inherit' });
} catch {
  process.exit(1);
}

// dist/<path>.{js,js.map,d.ts,d.ts.map} belongs to <path>.ts (or .tsx); static copies are refreshed below.
const OUT = /\.(?:js|js\.map|d\.ts|d\.ts\.map)$/;
const STATIC = ['src/inspect/static', 'src/addressbook/seeds'];
let removed = 0;
function prune(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const rel = relative('dist', path);
    if (STATIC.some((s) => rel === s || rel.startsWith(`${s}/`))) continue;
    if (statSync(path).isDirectory()) {
      prune(path);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
      continue;
    }
    if (!OUT.test(name)) continue;
    const base = rel.replace(OUT, '');
    if (!existsSync(`${base}.ts`) && !existsSync(`${base}.tsx`) && !existsSync(`${base}.mts`)) {
      rmSync(path);
      removed++;
    }
  }
}
if (existsSync('dist')) prune('dist');
if (removed > 0) process.stdout.write(`build: removed ${removed} stale compiled file(s)\n`);
await import('./copy-static.js');
