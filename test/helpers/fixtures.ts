/**
 * Locates the shared fixtures (`<project root>/../shared/fixtures/`), which are not part of
 * the repository. Every function returns null when they are absent so a test can skip with
 * a clear message: `if (!buf) return t.skip(missingFixture('regtest-2000.blocks'))`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the nearest directory above this file holding peerd's package.json. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const json = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown };
        if (json.name === 'peerd') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('peerd project root not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The fixtures directory, or null when it does not exist. `PEERD_FIXTURES` overrides the location. */
export function fixturesDir(): string | null {
  const dir = process.env.PEERD_FIXTURES ?? join(projectRoot(), '..', 'shared', 'fixtures');
  return existsSync(dir) ? dir : null;
}

/** The path of a fixture file, or null when it is absent. */
export function fixturePath(name: string): string | null {
  const dir = fixturesDir();
  if (!dir) return null;
  const p = join(dir, name);
  return existsSync(p) ? p : null;
}

/** The bytes of a fixture file, or null when it is absent. */
export function readFixture(name: string): Buffer | null {
  const p = fixturePath(name);
  return p ? readFileSync(p) : null;
}

/** The skip message for a missing fixture. */
export function missingFixture(name: string): string {
  return `fixture ${name} not found: the fixtures (real bytes from Bitcoin Core v30 and the main network) are not in the repository; put them in <project root>/../shared/fixtures/ or point $PEERD_FIXTURES at them (docs/testing.md)`;
}

/** Splits `regtest-2000.blocks` (records of u32 LE length + raw block) into views of each block. */
export function splitLengthPrefixed(file: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let p = 0;
  while (p < file.length) {
    if (p + 4 > file.length) throw new Error(`truncated record header at ${p}`);
    const n = file.readUInt32LE(p);
    p += 4;
    if (p + n > file.length) throw new Error(`truncated record at ${p}: ${n} bytes declared`);
    out.push(file.subarray(p, p + n));
    p += n;
  }
  return out;
}
