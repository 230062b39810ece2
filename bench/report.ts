/** Shared shape of every benchmark suite's result, so `npm run bench` can write one table. */
export interface Figure {
  /** What was measured, e.g. "block parse". */
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The named baseline measured in the same run, when there is one. */
  readonly baseline?: { readonly name: string; readonly value: number };
  /** value / baseline (or baseline / value for lower-is-better figures), as printed. */
  readonly ratio?: number;
  /** The target in words, e.g. "≥ 2× bitcoinjs-lib". */
  readonly target?: string;
  /** Whether the target was met, when it can be judged. */
  readonly met?: boolean;
}

export interface SuiteResult {
  readonly suite: string;
  readonly figures: readonly Figure[];
  readonly notes?: readonly string[];
}

/** A positive integer from the environment (a bench option), or `dflt` when unset; anything else is an error that names the variable. */
export function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, not ${JSON.stringify(v)}`);
  return n;
}

export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e6) return n.toExponential(2);
  if (abs >= 100) return n.toFixed(0);
  return n.toFixed(digits);
}

export function figureLine(f: Figure): string {
  let s = `${f.name}: ${fmt(f.value)} ${f.unit}`;
  if (f.baseline) s += `; ${f.baseline.name} ${fmt(f.baseline.value)} ${f.unit}`;
  if (f.ratio !== undefined) s += `; ratio ${fmt(f.ratio, 2)}×`;
  if (f.target) s += ` (target ${f.target}${f.met === undefined ? '' : f.met ? ': met' : ': NOT met'})`;
  return s;
}

export function markdownTable(results: readonly SuiteResult[]): string {
  const rows = ['| suite | figure | value | baseline | ratio | target |', '|---|---|---|---|---|---|'];
  for (const r of results) {
    for (const f of r.figures) {
      rows.push(
        `| ${r.suite} | ${f.name} | ${fmt(f.value)} ${f.unit} | ${f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.value)} ${f.unit}` : ''} | ${f.ratio !== undefined ? `${fmt(f.ratio, 2)}×` : ''} | ${f.target ? `${f.target}${f.met === undefined ? '' : f.met ? ' ✓' : ' ✗'}` : ''} |`,
      );
    }
  }
  return rows.join('\n');
}
