/**
 * Supervision benchmark: crash → replacement handling its first message (zero backoff), and
 * message throughput through one actor and through one child of a 2,000-child dynamic
 * supervisor, each against raw nact spawn+dispatch measured in the same run.
 * `npm run bench -- supervisors`, or directly: `node dist/bench/supervisors.js`.
 */
import nact from 'nact';
import { fileURLToPath } from 'node:url';
import { setRootLogger, silentLogger } from '../src/log.js';
import { Runtime, defineActor, startDynamicSupervisor, startChild, startSupervisor, tell, worker, type Ref } from '../supervisors/index.js';
import { fmt, type Figure, type SuiteResult } from './report.js';

type Msg = { type: 'n' } | { type: 'probe'; done: () => void } | { type: 'crash' };

const counterDef = defineActor<number, Msg, void>({
  name: 'c',
  init: () => 0,
  handle: (s, m) => {
    if (m.type === 'n') return s + 1;
    if (m.type === 'probe') {
      m.done();
      return s;
    }
    throw new Error('crash');
  },
});

const N = 200_000;

async function throughputOurs(ref: Ref<Msg>): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    for (let i = 0; i < N; i++) tell(ref, { type: 'n' });
    tell(ref, { type: 'probe', done: resolve });
  });
  return N / ((performance.now() - t0) / 1000);
}

async function throughputNact(): Promise<number> {
  const sys = nact.start();
  const ref = nact.spawn(sys, (s: number, m: Msg) => {
    if (m.type === 'probe') m.done();
    return m.type === 'n' ? s + 1 : s;
  }, 'raw', { initialState: 0 });
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    for (let i = 0; i < N; i++) nact.dispatch(ref, { type: 'n' });
    nact.dispatch(ref, { type: 'probe', done: resolve });
  });
  const rate = N / ((performance.now() - t0) / 1000);
  nact.stop(sys);
  return rate;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function restartLatency(rounds: number): Promise<number[]> {
  const rt = new Runtime();
  await startSupervisor(rt, { intensity: 1_000_000, children: [worker(counterDef, undefined, { id: 'w' })] });
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const before = rt.info('/root/w')!.incarnation;
    const t0 = performance.now();
    rt.kill('/root/w', 'crash');
    // the replacement is at the same path; poll on the microtask/immediate queue until it exists, then message it
    while (rt.info('/root/w')?.incarnation !== before + 1) await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((resolve) => tell(rt.refOf<Msg>('/root/w')!, { type: 'probe', done: resolve }));
    out.push(performance.now() - t0);
  }
  await rt.stop();
  return out;
}

export async function run(): Promise<SuiteResult> {
  setRootLogger(silentLogger());
  const figures: Figure[] = [];

  // warm-up
  await throughputNact();
  const rawRate = await throughputNact();

  const rt1 = new Runtime();
  const one = rt1.spawn(counterDef, undefined, { name: 'one' });
  await throughputOurs(one);
  const oneRate = await throughputOurs(one);
  await rt1.stop();
  figures.push({ name: 'msgs/s through one actor (tell)', value: oneRate, unit: 'msg/s', baseline: { name: 'raw nact dispatch', value: rawRate }, ratio: oneRate / rawRate, target: '≥ 0.8× raw nact', met: oneRate / rawRate >= 0.8 });

  const rt2 = new Runtime();
  const sup = await startDynamicSupervisor(rt2, { def: counterDef, maxChildren: 2000 }, 'peers');
  const kids: Ref<Msg>[] = [];
  for (let i = 0; i < 2000; i++) kids.push(await startChild(sup, undefined));
  const target = kids[1000]!;
  await throughputOurs(target);
  const dynRate = await throughputOurs(target);
  await rt2.stop();
  figures.push({ name: 'msgs/s through 1 child of a 2,000-child dynamic supervisor', value: dynRate, unit: 'msg/s', baseline: { name: 'raw nact dispatch', value: rawRate }, ratio: dynRate / rawRate, target: '≥ 0.8× raw nact', met: dynRate / rawRate >= 0.8 });

  await restartLatency(200);
  const lat = await restartLatency(2000);
  const med = pct(lat, 50);
  figures.push({ name: 'crash → replacement handles 1st msg, median', value: med, unit: 'ms', target: '< 1 ms', met: med < 1 });
  figures.push({ name: 'crash → replacement handles 1st msg, p99', value: pct(lat, 99), unit: 'ms' });

  return {
    suite: 'supervisors',
    figures,
    notes: [`${N} messages per throughput run; 2,000 crash/restart rounds with zero backoff; one_for_one, intensity unbounded`],
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await run();
  const rows = r.figures.map((f) => ({
    figure: f.name,
    value: `${fmt(f.value, 3)} ${f.unit}`,
    baseline: f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.value)}` : '',
    ratio: f.ratio !== undefined ? `${fmt(f.ratio, 2)}×` : '',
    target: f.target ? `${f.target}${f.met === undefined ? '' : f.met ? ' ✓' : ' ✗'}` : '',
  }));
  console.table(rows);
  console.log(JSON.stringify(r));
}
