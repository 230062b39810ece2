/** The chaos report as text: victims, supervisors, dead letters and each invariant's verdict. */
import { table } from '../../util/table.js';
import type { ChaosReport } from './runner.js';

export function reportText(r: ChaosReport): string {
  const o = r.options;
  const out: string[] = [
    `chaos ${o.mode} ${o.target} at ${o.rate}/s (jitter ${o.jitter}) for ${o.durationS} s, seed ${o.seed}, ${o.where}: ${r.victims.length} victim(s) in ${r.steps} step(s)`,
    '',
  ];
  out.push(
    r.victims.length === 0
      ? 'no victims (nothing matched the target)'
      : table(
          ['#', 'victim', 'kind', 'inc', 'mode', 'at ms', 'mailbox at death', 'recovery', 'recovery ms', 'first msg ms'],
          r.victims.map((v) => [
            String(v.step),
            v.path,
            v.kind,
            String(v.incarnation),
            v.mode,
            String(v.atMs),
            String(v.mailboxAtDeath),
            v.recovery,
            v.recoveryMs === null ? '-' : String(v.recoveryMs),
            v.firstMessageMs === null ? '-' : String(v.firstMessageMs),
          ]),
        ),
  );
  if (r.supervisors.length > 0) {
    out.push('', table(['supervisor', 'limit', 'max restarts in period', 'escalated'], r.supervisors.map((s) => [s.path, s.intensity, String(s.maxRestartsInPeriodSeen), s.escalated ? 'YES' : 'no'])));
  }
  out.push('', `dead letters: ${r.deadLetters.delta} during the run (${r.deadLetters.after} in total)`, '');
  if (r.resources.leaks.length > 0) {
    out.push(
      table(
        ['resource', 'before', 'after settling', 'at most', 'leak'],
        r.resources.leaks.map((l) => [l.resource, String(l.before ?? 'n/a'), String(l.after ?? 'n/a'), l.allowed === null ? '-' : String(l.allowed), l.allowed === null ? '-' : l.pass ? 'no' : 'LEAK']),
      ),
      '',
    );
  } else if (r.resources.before === null) {
    out.push('resources: not measured (the node does not answer getresources)', '');
  }
  out.push(table(['invariant', 'result', 'detail'], r.invariants.map((i) => [i.name, i.pass ? 'pass' : 'FAIL', i.detail])));
  out.push('', r.ok ? 'all invariants held' : 'INVARIANT BROKEN');
  return out.join('\n');
}
