/**
 * The chaos runner: follows the seeded schedule against a ChaosTarget, records every victim
 * (mailbox at death from the registry record just before the kill, time until its replacement
 * handled a message), and checks the node's invariants before, during and after.
 */
import { performance } from 'node:perf_hooks';
import type { KillMode } from '../../../supervisors/index.js';
import { almostPlan, killTimes, normalizeTarget, parseIntensity, pickVictim, type ChaosMode, type ScheduleOptions } from './scheduler.js';
import type { ActorRecord, ChaosTarget, StoreInfo } from './target.js';
import { sleep } from '../../util/sleep.js';
import type { ResourceReport } from '../../util/resources.js';
import { leakRows, leaksOk, type LeakRow } from './leaks.js';
import { ADDRESSBOOK } from '../../contracts/addressbook.js';

export interface ChaosOptions extends ScheduleOptions {
  /**
   * Glob over actor paths, as runtime.list: `*` one segment, `**` any. A pattern that does not
   * start with `/` is under `/root/`: `chain` is `/root/chain`, `peers/*` is `/root/peers/*`.
   */
  readonly target: string;
  readonly mode: ChaosMode;
  /** For stall: how long the mailbox is blocked, ms (default 500). */
  readonly stallMs?: number;
  /** Connections must be back to the level before (and replacements up) within this, s (default 10). */
  readonly refillS?: number;
  /** Registry polling interval while waiting for a replacement, ms (default 10 in-process, 25 over RPC). */
  readonly pollMs?: number;
  /** Actors (other than peers) allowed above or below the baseline afterwards (default 0). */
  readonly actorSlack?: number;
  /** Kill mode used on a supervisor's children in `almost` mode (default crash). */
  readonly almostKill?: 'kill' | 'crash';
  /** How often the block height is sampled during the run, ms (default 100 in-process, 250 over RPC). */
  readonly heightEveryMs?: number;
}

/** The block height through the run (getblockcount before, during and after). */
export interface HeightTrace {
  readonly before: number | null;
  readonly after: number | null;
  readonly max: number | null;
  /** Samples answered, and those that were not (the block actor restarting, or a timeout). */
  readonly samples: number;
  readonly unanswered: number;
  /** Every sample below the highest seen before it. */
  readonly drops: readonly { readonly atMs: number; readonly from: number; readonly to: number }[];
}

/**
 * The address book through the run, for "no address lost". A crash (or kill) of the book loses
 * what arrived since its last snapshot (written every flush interval, Core's 15 min, and on a
 * clean stop); bans and tried promotions are written at once. The floor is the count at the last
 * sample that had nothing unsaved (`dirty` false), when one was seen.
 */
export interface AddressTrace {
  readonly before: number | null;
  readonly after: number | null;
  /** How many times the book restarted during the run (its incarnation after − before). */
  readonly restarts: number;
  /** Count at the last sample with nothing unsaved, or null if none was seen. */
  readonly flushedFloor: number | null;
  /** before − after when positive: what the run cost the book (0 once new addresses are journaled too). */
  readonly lost: number;
}

export type Recovery = 'replaced' | 'reconnected' | 'resumed' | 'timeout' | 'n/a';

export interface VictimRecord {
  readonly step: number;
  readonly path: string;
  readonly kind: string;
  readonly restart: string | null;
  readonly incarnation: number;
  readonly mode: KillMode;
  /** ms since the run started. */
  readonly atMs: number;
  readonly mailboxAtDeath: number;
  readonly handledAtDeath: number;
  /** For `almost`: the supervisor being pushed. */
  readonly supervisor?: string;
  recovery: Recovery;
  /** Until the replacement (or reconnection, or the stalled actor) was back, ms. */
  recoveryMs: number | null;
  /** Until the replacement handled its first message, ms (null if none within a second of its start). */
  firstMessageMs: number | null;
  newIncarnation: number | null;
}

export interface InvariantResult {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

export interface SupervisorLimit {
  readonly path: string;
  readonly intensity: string;
  readonly maxRestartsInPeriodSeen: number;
  readonly escalated: boolean;
}

export interface Snapshot {
  readonly actors: number;
  readonly peerActors: number;
  readonly nactActors: number | null;
  readonly connections: number | null;
  readonly deadLetters: number;
  readonly addrmanTotal: number | null;
  readonly banned: number | null;
}

export interface ChaosReport {
  readonly options: {
    readonly seed: number;
    readonly target: string;
    readonly mode: ChaosMode;
    readonly rate: number;
    readonly jitter: number;
    readonly durationS: number;
    readonly refillS: number;
    readonly where: 'in-process' | 'rpc';
  };
  readonly startedAt: string;
  readonly elapsedMs: number;
  readonly steps: number;
  readonly before: Snapshot;
  readonly after: Snapshot;
  readonly victims: VictimRecord[];
  readonly supervisors: SupervisorLimit[];
  readonly deadLetters: { readonly before: number; readonly after: number; readonly delta: number };
  readonly rpcFailures: number;
  /**
   * What the node held before the run and after it settled (null when the target cannot tell:
   * an RPC node without `getresources`), and the leak check of one against the other.
   */
  readonly resources: { readonly before: ResourceReport | null; readonly after: ResourceReport | null; readonly leaks: LeakRow[] };
  /** Block height samples (null when the target cannot tell, e.g. a node without a block actor). */
  readonly height: HeightTrace | null;
  /** What was stored before the run and after it settled (getstoreinfo; null when not available). */
  readonly store: { readonly before: StoreInfo | null; readonly after: StoreInfo | null };
  readonly addresses: AddressTrace;
  readonly invariants: InvariantResult[];
  readonly ok: boolean;
}

const FIRST_MESSAGE_WAIT_MS = 1000;


async function safe<T>(f: () => Promise<T>): Promise<T | null> {
  try {
    return await f();
  } catch {
    return null;
  }
}

/** Live actors matching the pattern, not already on their way out. */
async function live(t: ChaosTarget, pattern: string): Promise<ActorRecord[]> {
  return (await t.list(pattern)).filter((a) => a.status !== 'stopping');
}

async function snapshot(t: ChaosTarget): Promise<Snapshot> {
  const all = await t.list('/**');
  return {
    actors: all.length,
    peerActors: all.filter((a) => /^\/root\/peers\/[^/]+$/.test(a.path)).length,
    nactActors: t.nactActorCount ? t.nactActorCount() : null,
    connections: await safe(() => t.connectionCount()),
    deadLetters: await t.deadLetters(),
    addrmanTotal: await safe(() => t.addrmanTotal()),
    banned: await safe(() => t.bannedCount()),
  };
}

async function pollUntil(cond: () => Promise<boolean>, ms: number, every: number): Promise<boolean> {
  const end = performance.now() + ms;
  for (;;) {
    if (await cond().catch(() => false)) return true;
    if (performance.now() > end) return false;
    await sleep(every);
  }
}

export async function runChaos(t: ChaosTarget, opts: ChaosOptions): Promise<ChaosReport> {
  const o: ChaosOptions = { ...opts, target: normalizeTarget(opts.target) };
  const refillS = o.refillS ?? 10;
  const pollMs = o.pollMs ?? (t.where === 'rpc' ? 25 : 10);
  const stallMs = o.stallMs ?? 500;
  const slack = o.actorSlack ?? 0;
  const invariants: InvariantResult[] = [];
  const startedAt = new Date().toISOString();

  const aliveBefore = await t.alive();
  invariants.push({ name: 'answering before', pass: aliveBefore, detail: aliveBefore ? 'ok' : 'the node did not answer' });
  const before = await snapshot(t);
  const resBefore = t.resources ? await safe(() => t.resources!()) : null;
  const supsBefore = new Map((await t.list('/**')).filter((a) => a.kind !== 'worker').map((a) => [a.path, a]));
  const supSeen = new Map<string, number>();

  // Stored blocks and addresses before; the address book's flush state as it goes.
  const storeBefore = t.storeInfo ? await safe(() => t.storeInfo!()) : null;
  const book = new BookWatch();
  book.note((await safe(() => t.list(BOOK_PATH)))?.[0]);
  if (storeBefore) book.noteInfo(storeBefore);

  // Block height: sampled before, all through the run, and after.
  const heights = new HeightWatch();
  const sampleHeight = async (): Promise<boolean> => {
    if (!t.blockHeight) return false;
    const h = await safe(() => t.blockHeight!());
    if (h === null || !Number.isFinite(h)) {
      heights.miss();
      return false;
    }
    heights.note(h, since());
    return true;
  };

  const victims: VictimRecord[] = [];
  const watchers: Promise<void>[] = [];
  let rpcFailures = 0;
  let running = true;
  const t0 = performance.now();
  const since = (): number => Math.round(performance.now() - t0);
  const hasHeight = await sampleHeight();
  heights.before = heights.last;

  // Heartbeat: the node answers throughout; every 5th beat, the address book's record.
  const heartbeat = (async () => {
    for (let beat = 0; running; beat++) {
      if (!(await t.alive().catch(() => false))) rpcFailures++;
      if (beat % 5 === 4) book.note((await safe(() => t.list(BOOK_PATH)))?.[0]);
      await sleep(100);
    }
  })();
  const heightEvery = o.heightEveryMs ?? (t.where === 'rpc' ? 250 : 100);
  const heightLoop = (async () => {
    while (running && hasHeight) {
      await sampleHeight();
      await sleep(heightEvery);
    }
  })();

  /** Waits for the victim's replacement (or reconnection / resumption) and records how long it took. */
  const watch = (v: VictimRecord, killedAt: number, connsBefore: number | null, siblingsBefore: ReadonlySet<string>): Promise<void> =>
    (async () => {
      const temporary = v.restart === 'temporary';
      if (v.mode === 'stall') {
        const ok = await pollUntil(
          async () => {
            const [r] = await t.list(v.path);
            return r !== undefined && r.incarnation === v.incarnation && r.handled > v.handledAtDeath;
          },
          refillS * 1000,
          pollMs,
        );
        v.recovery = ok ? 'resumed' : 'timeout';
      } else if (temporary || v.mode === 'socket') {
        if (connsBefore === null) {
          v.recovery = 'n/a';
          return;
        }
        // First the victim must be gone (a destroyed socket ends its peer actor), then its slot
        // refilled: the count back, or a connection that was not there at the kill (with kills
        // coming faster than dials, the count may not be back until they stop, though each kill
        // was answered by a new connection).
        const gone = await pollUntil(async () => !(await t.list(v.path)).some((r) => r.incarnation === v.incarnation), refillS * 1000, pollMs);
        const siblings = `${v.path.slice(0, v.path.lastIndexOf('/'))}/*`;
        const ok =
          gone &&
          (await pollUntil(
            async () => (await t.connectionCount()) >= connsBefore || (await t.list(siblings)).some((r) => !siblingsBefore.has(r.path)),
            refillS * 1000,
            pollMs,
          ));
        v.recovery = ok ? 'reconnected' : 'timeout';
      } else {
        // Replaced: a higher incarnation at the same path whose init is done.
        const ok = await pollUntil(
          async () => {
            const [r] = await t.list(v.path);
            if (r === undefined || r.incarnation <= v.incarnation || (r.status !== 'idle' && r.status !== 'busy')) return false;
            v.newIncarnation = r.incarnation;
            return true;
          },
          refillS * 1000,
          pollMs,
        );
        v.recovery = ok ? 'replaced' : 'timeout';
        if (ok) {
          v.recoveryMs = Math.round(performance.now() - killedAt);
          // Then its first message (some actors, e.g. a listener, may get none soon: null then).
          const first = await pollUntil(
            async () => {
              const [r] = await t.list(v.path);
              return r !== undefined && r.incarnation === v.newIncarnation && r.handled >= 1;
            },
            FIRST_MESSAGE_WAIT_MS,
            pollMs,
          );
          if (first) v.firstMessageMs = Math.round(performance.now() - killedAt);
        }
        return;
      }
      if (v.recovery !== 'timeout') v.recoveryMs = Math.round(performance.now() - killedAt);
    })();

  const strike = async (step: number, rec: ActorRecord, mode: KillMode, supervisor?: string): Promise<VictimRecord | null> => {
    const connsBefore = rec.restart === 'temporary' || mode === 'socket' ? await safe(() => t.connectionCount()) : null;
    // The victim's siblings now: a new one later is a new connection (dialled or accepted after the kill).
    const siblingsBefore = new Set(connsBefore === null ? [] : ((await safe(() => t.list(`${rec.path.slice(0, rec.path.lastIndexOf('/'))}/*`))) ?? []).map((r) => r.path));
    const killedAt = performance.now();
    const v: VictimRecord = {
      step,
      path: rec.path,
      kind: rec.kind,
      restart: rec.restart ?? null,
      incarnation: rec.incarnation,
      mode,
      atMs: since(),
      mailboxAtDeath: rec.mailbox,
      handledAtDeath: rec.handled,
      ...(supervisor !== undefined ? { supervisor } : {}),
      recovery: 'n/a',
      recoveryMs: null,
      firstMessageMs: null,
      newIncarnation: null,
    };
    if (rec.path === BOOK_PATH) book.note(rec);
    if (!(await t.kill(rec.path, mode, stallMs).catch(() => false))) return null;
    victims.push(v);
    watchers.push(watch(v, killedAt, connsBefore, siblingsBefore));
    return v;
  };

  const times = killTimes(o);
  for (const [step, at] of times.entries()) {
    await sleep(at - (performance.now() - t0));
    try {
      if (o.mode === 'almost') {
        const sups = (await live(t, o.target)).filter((a) => a.kind !== 'worker');
        const v = pickVictim(o.seed, step, sups.map((s) => s.path));
        if (!v) continue;
        const sup = sups.find((s) => s.path === v.path)!;
        const lim = parseIntensity((sup.summary as { intensity?: unknown } | undefined)?.intensity);
        const inPeriod = Number((sup.summary as { restartsInPeriod?: unknown } | undefined)?.restartsInPeriod ?? 0);
        if (!lim) continue;
        const children = (await live(t, `${sup.path}/*`)).filter((c) => c.restart !== 'temporary');
        for (const path of almostPlan(o.seed, step, lim.intensity, inPeriod, children.map((c) => c.path))) {
          const [rec] = await live(t, path);
          if (rec === undefined) continue;
          const victim = await strike(step, rec, o.almostKill ?? 'crash', sup.path);
          // One at a time: the next only after this one is back, so the supervisor sees each restart.
          if (victim) await watchers[watchers.length - 1];
          const [now] = await t.list(sup.path);
          const seen = Number((now?.summary as { restartsInPeriod?: unknown } | undefined)?.restartsInPeriod ?? 0);
          supSeen.set(sup.path, Math.max(supSeen.get(sup.path) ?? 0, seen));
        }
      } else {
        const cands = await live(t, o.target);
        const v = pickVictim(o.seed, step, cands.map((c) => c.path));
        if (!v) continue;
        await strike(step, cands.find((c) => c.path === v.path)!, o.mode);
      }
    } catch {
      rpcFailures++;
    }
  }
  const alive = await t.alive().catch(() => false);
  invariants.push({ name: 'answering during', pass: alive, detail: alive ? 'ok' : 'the node did not answer after the last kill' });
  await Promise.all(watchers);
  running = false;
  await heartbeat;
  await heightLoop;
  invariants.push({ name: 'answering throughout', pass: rpcFailures === 0, detail: `${rpcFailures} failed heartbeat(s) or calls` });

  // Connections back to the level before.
  if (before.connections !== null) {
    const want = before.connections;
    const ok = await pollUntil(async () => (await t.connectionCount()) >= want, refillS * 1000, 50);
    const now = await safe(() => t.connectionCount());
    invariants.push({ name: 'connections refilled', pass: ok, detail: `${String(now)} of ${want} within ${refillS} s` });
  }
  const lost = victims.filter((v) => v.recovery === 'timeout' && v.mode !== 'stall');
  invariants.push({
    name: 'every victim recovered',
    pass: lost.length === 0,
    detail: lost.length === 0 ? `${victims.length} victim(s)` : `not back within ${refillS} s: ${lost.map((v) => v.path).join(', ')}`,
  });

  // No leaked actors: the non-peer count back to the baseline, nact's tree equal to the registry.
  const nonPeers = (s: Snapshot): number => s.actors - s.peerActors;
  let after = await snapshot(t);
  await pollUntil(
    async () => {
      after = await snapshot(t);
      const nactOk = after.nactActors === null || before.nactActors === null || after.nactActors - after.actors === before.nactActors - before.actors;
      return Math.abs(nonPeers(after) - nonPeers(before)) <= slack && nactOk;
    },
    refillS * 1000,
    50,
  );
  invariants.push({
    name: 'no leaked actors',
    pass: Math.abs(nonPeers(after) - nonPeers(before)) <= slack,
    detail: `${nonPeers(after)} non-peer actors after, ${nonPeers(before)} before (±${slack}); peers ${after.peerActors} (before ${before.peerActors})`,
  });
  if (after.nactActors !== null && before.nactActors !== null) {
    const ok = after.nactActors - after.actors === before.nactActors - before.actors;
    invariants.push({ name: 'nact tree equals the registry', pass: ok, detail: `nact ${after.nactActors}, registry ${after.actors} (before: ${before.nactActors}, ${before.actors})` });
  }

  // No leaked timers, sockets or descriptors: measured once the node has settled (polled up to
  // --refill s, until every count is within its tolerance of the baseline; see leaks.ts).
  let resAfter: ResourceReport | null = null;
  let leaks: LeakRow[] = [];
  if (resBefore !== null && t.resources) {
    const read = t.resources.bind(t);
    await pollUntil(
      async () => {
        resAfter = await read();
        leaks = resAfter === null ? [] : leakRows(resBefore, resAfter, slack);
        return leaksOk(leaks);
      },
      refillS * 1000,
      t.where === 'rpc' ? 250 : 100,
    );
    const bad = leaks.filter((l) => !l.pass);
    invariants.push({
      name: 'no leaked resources',
      pass: resAfter !== null && bad.length === 0,
      detail:
        resAfter === null
          ? 'could not read the resources after the run'
          : bad.length === 0
            ? leaks.filter((l) => l.allowed !== null && l.before !== null).map((l) => `${l.resource} ${l.after}/${l.before}`).join(', ')
            : bad.map((l) => `${l.resource} ${l.after} after, ${l.before} before (at most ${l.allowed})`).join('; '),
    });
  }

  // Block height: one more sample once everything is back (retried while the block actor restarts).
  if (hasHeight) {
    await pollUntil(sampleHeight, refillS * 1000, pollMs);
    heights.after = heights.last;
    const h = heights.trace();
    const drops = h.drops;
    invariants.push({
      name: 'block height never decreased',
      pass: drops.length === 0 && h.after !== null,
      detail:
        h.after === null
          ? `no height after the run (${h.samples} samples, ${h.unanswered} unanswered)`
          : `${String(h.before)} before, ${h.after} after (max ${String(h.max)}); ${h.samples} samples, ${h.unanswered} unanswered while the block actor was down` +
            (drops.length === 0 ? '' : `; DROPS: ${drops.map((d) => `${d.from}→${d.to} at ${d.atMs} ms`).join(', ')}`),
    });
  }

  // No stored block lost: the index's count and checksum, in all and at heights ≤ the tip before.
  const got: { after: StoreInfo | null } = { after: null };
  if (storeBefore !== null && t.storeInfo) {
    const read = t.storeInfo.bind(t);
    await pollUntil(async () => (got.after = await read(storeBefore.upto.height)) !== null, refillS * 1000, t.where === 'rpc' ? 250 : 50);
    invariants.push(blocksInvariant(storeBefore, got.after));
    if (got.after) book.noteInfo(got.after);
  }
  const storeAfter = got.after;

  // Nothing lost.
  const addrAfter = storeAfter?.addresses ?? after.addrmanTotal;
  const addrBefore = storeBefore?.addresses ?? before.addrmanTotal;
  book.note((await safe(() => t.list(BOOK_PATH)))?.[0]);
  const addresses = book.trace(addrBefore, addrAfter);
  if (addrBefore !== null) invariants.push(addressInvariant(addresses));
  if (before.banned !== null) {
    const pass = after.banned !== null && after.banned >= before.banned;
    invariants.push({ name: 'bans not lost', pass, detail: `${String(after.banned)} after, ${before.banned} before` });
  }

  // Supervisors: none escalated (same incarnation, still there) unless it was itself a victim.
  const struck = new Set(victims.map((v) => v.path));
  const supsAfter = new Map((await t.list('/**')).map((a) => [a.path, a]));
  const supervisors: SupervisorLimit[] = [];
  for (const [path, s] of supsBefore) {
    if (struck.has(path) || [...struck].some((p) => path.startsWith(p + '/'))) continue;
    const now = supsAfter.get(path);
    const escalated = now === undefined || now.incarnation !== s.incarnation;
    const intensity = String((s.summary as { intensity?: unknown } | undefined)?.intensity ?? '?');
    const seen = Math.max(supSeen.get(path) ?? 0, Number((now?.summary as { restartsInPeriod?: unknown } | undefined)?.restartsInPeriod ?? 0));
    supervisors.push({ path, intensity, maxRestartsInPeriodSeen: seen, escalated });
  }
  const esc = supervisors.filter((s) => s.escalated);
  invariants.push({ name: 'no escalation', pass: esc.length === 0, detail: esc.length === 0 ? `${supervisors.length} supervisor(s) kept their incarnation` : `restarted or gone: ${esc.map((s) => s.path).join(', ')}` });
  if (o.mode === 'almost') {
    const over = supervisors.filter((s) => {
      const lim = parseIntensity(s.intensity);
      return lim !== null && s.maxRestartsInPeriodSeen >= lim.intensity;
    });
    invariants.push({ name: 'restarts below each limit', pass: over.length === 0, detail: over.length === 0 ? 'ok' : over.map((s) => `${s.path} ${s.maxRestartsInPeriodSeen} vs ${s.intensity}`).join(', ') });
  }
  const aliveAfter = await t.alive().catch(() => false);
  invariants.push({ name: 'answering after', pass: aliveAfter, detail: aliveAfter ? 'ok' : 'the node did not answer' });

  return {
    options: { seed: o.seed, target: o.target, mode: o.mode, rate: o.rate, jitter: o.jitter, durationS: o.durationS, refillS, where: t.where },
    startedAt,
    elapsedMs: since(),
    steps: times.length,
    before,
    after,
    victims,
    supervisors,
    deadLetters: { before: before.deadLetters, after: after.deadLetters, delta: after.deadLetters - before.deadLetters },
    rpcFailures,
    resources: { before: resBefore, after: resAfter, leaks },
    height: hasHeight ? heights.trace() : null,
    store: { before: storeBefore, after: storeAfter },
    addresses,
    invariants,
    ok: invariants.every((i) => i.pass),
  };
}

const BOOK_PATH = ADDRESSBOOK.path;

/** The block height samples, in order; a sample below the highest before it is a drop. */
class HeightWatch {
  before: number | null = null;
  after: number | null = null;
  last: number | null = null;
  private max: number | null = null;
  private samples = 0;
  private unanswered = 0;
  private readonly drops: { atMs: number; from: number; to: number }[] = [];

  note(h: number, atMs: number): void {
    this.samples++;
    if (this.max !== null && h < this.max) this.drops.push({ atMs, from: this.max, to: h });
    this.max = this.max === null ? h : Math.max(this.max, h);
    this.last = h;
  }

  miss(): void {
    this.unanswered++;
  }

  trace(): HeightTrace {
    return { before: this.before, after: this.after, max: this.max, samples: this.samples, unanswered: this.unanswered, drops: [...this.drops] };
  }
}

/** The address book's record as the run goes: incarnations seen, and the count when nothing was unsaved. */
class BookWatch {
  private firstIncarnation: number | null = null;
  private lastIncarnation: number | null = null;
  private floor: number | null = null;

  note(rec: ActorRecord | undefined): void {
    if (rec === undefined) return;
    this.firstIncarnation ??= rec.incarnation;
    this.lastIncarnation = Math.max(this.lastIncarnation ?? 0, rec.incarnation);
    const sum = rec.summary as { addresses?: unknown; dirty?: unknown } | undefined;
    if (sum?.dirty === false && typeof sum.addresses === 'number') this.floor = sum.addresses;
  }

  noteInfo(s: StoreInfo): void {
    if (s.addressesDirty === false) this.floor = s.addresses;
  }

  trace(before: number | null, after: number | null): AddressTrace {
    const restarts = this.firstIncarnation === null || this.lastIncarnation === null ? 0 : this.lastIncarnation - this.firstIncarnation;
    return { before, after, restarts, flushedFloor: this.floor, lost: before !== null && after !== null ? Math.max(0, before - after) : 0 };
  }
}

/**
 * "No stored block lost": the blocks stored at heights ≤ the tip before the run (the active
 * chain, which only grows without a reorganisation) must all be there — same count and checksum,
 * or more (a fork filled in) — and the store as a whole must not hold fewer blocks, nor the same
 * number with a different checksum. Not checked with pruning on (it deletes blocks by design).
 */
export function blocksInvariant(before: StoreInfo, after: StoreInfo | null): InvariantResult {
  const name = 'no stored block lost';
  if (after === null) return { name, pass: false, detail: 'getstoreinfo did not answer after the run' };
  if (before.pruned || after.pruned) return { name, pass: true, detail: `pruning is on: not checked (${before.blocks} before, ${after.blocks} after)` };
  const problems: string[] = [];
  if (after.blocks < before.blocks) problems.push(`${before.blocks - after.blocks} fewer blocks`);
  else if (after.blocks === before.blocks && after.checksum !== before.checksum) problems.push('same count, different checksum');
  const b = before.upto;
  const a = after.upto;
  if (a.height !== b.height) problems.push(`asked for heights ≤ ${b.height}, got ≤ ${a.height}`);
  else if (a.blocks < b.blocks) problems.push(`${b.blocks - a.blocks} fewer blocks at heights ≤ ${b.height}`);
  else if (a.blocks === b.blocks && a.checksum !== b.checksum) problems.push(`blocks at heights ≤ ${b.height} changed (checksum)`);
  const grew = after.blocks - before.blocks;
  return {
    name,
    pass: problems.length === 0,
    detail:
      problems.length === 0
        ? `${before.blocks} before, ${after.blocks} after (+${grew}); the ${b.blocks} at heights ≤ ${b.height} ${a.blocks === b.blocks ? 'unchanged (same checksum)' : `now ${a.blocks}`}`
        : `LOST: ${problems.join('; ')} (${before.blocks} before, ${after.blocks} after)`,
  };
}

/**
 * "No address lost". Without a restart of the address book its count must not drop. With one,
 * what arrived since its last snapshot may go (as Core's peers.dat on a crash): the count must
 * not drop below the last count seen with nothing unsaved; when no such sample was seen the
 * floor is unknown and only the loss is reported. Bans are checked on their own (they are
 * written at once).
 */
export function addressInvariant(a: AddressTrace): InvariantResult {
  const name = 'no address lost';
  if (a.before === null || a.after === null) return { name, pass: false, detail: `address count unknown (${String(a.before)} before, ${String(a.after)} after)` };
  if (a.after >= a.before) return { name, pass: true, detail: `${a.after} after, ${a.before} before${a.restarts > 0 ? `; the book restarted ${a.restarts} time(s)` : ''}` };
  if (a.restarts === 0) return { name, pass: false, detail: `${a.after} after, ${a.before} before: ${a.lost} lost without a restart of the book` };
  const floor = a.flushedFloor;
  const pass = floor === null || a.after >= floor;
  const rule =
    floor === null
      ? 'no sample without unsaved changes was seen, so the flushed count is unknown'
      : `the last count seen with nothing unsaved was ${floor}${pass ? '' : ': BELOW IT'}`;
  return {
    name,
    pass,
    detail: `${a.after} after, ${a.before} before: ${a.lost} lost since the last flush (the book restarted ${a.restarts} time(s); a crash loses what arrived since its last snapshot); ${rule}`,
  };
}
