/** Reads the BIP324 test vector CSVs committed under test/fixtures/bip324/ (README.md there says where they come from). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../helpers/fixtures.js';

export type Row = Readonly<Record<string, string>>;

/** The rows of test/fixtures/bip324/<name> keyed by the header's column names (the files hold no quoted fields). */
export function readVectors(name: string): Row[] {
  const text = readFileSync(join(projectRoot(), 'test', 'fixtures', 'bip324', name), 'utf8');
  const lines = text.split(/\r?\n/).filter((l) => l !== '');
  const header = lines[0].split(',');
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    if (cells.length !== header.length) throw new Error(`${name} row ${i + 1}: ${cells.length} cells, header has ${header.length}`);
    return Object.fromEntries(header.map((h, j) => [h, cells[j]]));
  });
}

export const hex = (s: string): Buffer => Buffer.from(s, 'hex');
