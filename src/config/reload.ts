/**
 * What a config reload (SIGHUP) changes: a pure diff of the settings in force against the
 * settings just read. Options marked `runtime` in the option table are applied on the running
 * node; every other changed option is reported as needing a restart and left as it is.
 */
import { OPTION_DEFS, type OptionDef, type OptionName, type Settings } from './options.js';

export type SettingValue = Settings[OptionName];

export interface SettingChange {
  readonly name: OptionName;
  readonly from: SettingValue;
  readonly to: SettingValue;
}

export interface ReloadPlan {
  /** Changed settings that can change on a running node, in option-table order. */
  readonly apply: readonly SettingChange[];
  /** Changed settings that only take effect after a restart. */
  readonly needRestart: readonly SettingChange[];
}

/** Lists whose order means nothing (addnode, rpcallowip…) compare as sets; bind order names the listeners, so it counts. */
const ORDERED_LISTS: ReadonlySet<string> = new Set(['bind', 'rpcbind']);

function same(name: string, a: SettingValue, b: SettingValue): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (ORDERED_LISTS.has(name)) return a.length === b.length && a.every((v, i) => v === b[i]);
    const sa = new Set(a);
    const sb = new Set(b);
    return sa.size === sb.size && [...sa].every((v) => sb.has(v));
  }
  return a === b;
}

/** The reload plan from the settings in force (`old`) to the ones just read (`next`). */
export function diffSettings(old: Settings, next: Settings): ReloadPlan {
  const apply: SettingChange[] = [];
  const needRestart: SettingChange[] = [];
  for (const d of OPTION_DEFS as readonly OptionDef[]) {
    const name = d.name as OptionName;
    const from = old[name];
    const to = next[name];
    if (same(name, from, to)) continue;
    (d.runtime === true ? apply : needRestart).push({ name, from, to });
  }
  return { apply, needRestart };
}

/** The addnode peers to add and to remove to go from `from` to `to`. */
export function addnodeDelta(from: readonly string[], to: readonly string[]): { add: string[]; remove: string[] } {
  const f = new Set(from);
  const t = new Set(to);
  return { add: [...t].filter((e) => !f.has(e)), remove: [...f].filter((e) => !t.has(e)) };
}

/** `name (from → to)` for logs. */
export function describeChange(c: SettingChange): string {
  const show = (v: SettingValue): string => (Array.isArray(v) ? `[${v.join(', ')}]` : typeof v === 'string' ? JSON.stringify(v) : String(v));
  return `${c.name} (${show(c.from)} → ${show(c.to)})`;
}
