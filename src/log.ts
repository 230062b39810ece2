import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

let root: Logger = pino({ level: process.env.PEERD_LOG_LEVEL ?? 'info', base: { app: 'peerd' } });

/** The process-wide root logger (JSON lines to stdout unless replaced). */
export function rootLogger(): Logger {
  return root;
}

/** Replaces the root logger (the CLI does this once from its flags; tests silence it). */
export function setRootLogger(logger: Logger): void {
  root = logger;
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export function isLevel(s: string): s is LevelWithSilent {
  return ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(s);
}

/** A parsed `--log-level`: the overall level and per-component ones (`info,peer=debug`). */
export interface LevelSpec {
  readonly base: LevelWithSilent;
  /** Component name (matched against the start of a segment of an actor's path) → level. */
  readonly components: readonly (readonly [string, LevelWithSilent])[];
}

const LEVELS = 'fatal, error, warn, info, debug, trace, silent';

/** Parses `LEVEL[,component=LEVEL…]`; throws an Error naming the bad part. */
export function parseLevelSpec(text: string): LevelSpec {
  let base: LevelWithSilent = 'info';
  const components: [string, LevelWithSilent][] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    const level = eq < 0 ? part : part.slice(eq + 1).trim();
    if (!isLevel(level)) throw new Error(`unknown level "${level}" (${LEVELS})`);
    if (eq < 0) base = level;
    else {
      const comp = part.slice(0, eq).trim();
      if (!/^[A-Za-z0-9_-]+$/.test(comp)) throw new Error(`bad component name "${comp}" in "${text}"`);
      components.push([comp, level]);
    }
  }
  return { base, components };
}

/** The level a logger bound to `actor` (a path such as /root/peers/peer-3) gets under `spec`. */
export function levelFor(spec: LevelSpec, actor: string | undefined): LevelWithSilent {
  if (actor === undefined) return spec.base;
  const segments = actor.split('/').filter((s) => s !== '');
  let level = spec.base;
  for (const [comp, l] of spec.components) if (segments.some((s) => s === comp || s.startsWith(`${comp}-`) || s === `${comp}s`)) level = l;
  return level;
}

/** pino's standard error serializer, without the stack unless `withStack`. */
export function serializeError(e: unknown, withStack: boolean): unknown {
  if (!(e instanceof Error)) return e;
  const out = pino.stdSerializers.err(e) as unknown as Record<string, unknown>;
  if (withStack) return out;
  const { stack: _stack, ...rest } = out;
  return rest;
}

/** pino's number for a level (`silent` is Infinity). */
export function levelValue(level: LevelWithSilent): number {
  return level === 'silent' ? Infinity : pino.levels.values[level];
}

function lowest(levels: readonly LevelWithSilent[]): LevelWithSilent {
  let best: LevelWithSilent = 'silent';
  for (const l of levels) if (levelValue(l) < levelValue(best)) best = l;
  return best;
}

/** One destination of a {@link levelledLogger}: a stream of JSON lines and, optionally, its own levels. */
export interface LogSink {
  /** Receives each log record as one JSON line ending in a newline. */
  readonly stream: DestinationStream;
  /**
   * This destination's own levels (overall and per component). Absent: it takes the logger's
   * spec and follows {@link LevelledLogger.setLevel}.
   */
  readonly spec?: LevelSpec;
}

export interface LevelledLogger {
  readonly logger: Logger;
  /** The spec in force. */
  spec(): LevelSpec;
  /**
   * Changes the level of the root logger and of every child logger already made. Pino children
   * follow a change of their parent's level only while they have no level of their own; the ones
   * a component level was given to are tracked (weakly) and set here explicitly. Sinks with their
   * own spec keep it.
   */
  setLevel(spec: LevelSpec): void;
}

/**
 * A root logger whose level (overall and per component) can change while the node runs. With
 * several sinks, a record goes to each sink whose level (for the record's actor) admits it, and
 * each logger's own level is the lowest of its sinks' levels (so nothing is formatted that no
 * sink wants).
 */
export function levelledLogger(spec: LevelSpec, destination?: NodeJS.WritableStream | readonly LogSink[]): LevelledLogger {
  let current = spec;
  const sinks: readonly LogSink[] | null = Array.isArray(destination) ? destination : null;
  // Only sinks with their own spec need a per-record check; the logger's level filters for the rest.
  const filtering = sinks !== null && sinks.some((k) => k.spec !== undefined);
  const children = new Set<WeakRef<Logger>>();
  let pruneAt = 1024;
  const actorOf = (l: Logger): string | undefined => {
    const a = (l.bindings() as { actor?: unknown }).actor;
    return typeof a === 'string' ? a : undefined;
  };
  const specs = (): LevelSpec[] => (sinks === null ? [current] : sinks.map((k) => k.spec ?? current));
  // Per logger: the least level number each sink takes from it, for the spec generation in force.
  let generation = 0;
  const thresholds = new WeakMap<Logger, { generation: number; min: number[] }>();
  const levelOf = (l: Logger): LevelWithSilent => {
    const actor = actorOf(l);
    const levels = specs().map((s) => levelFor(s, actor));
    if (filtering) thresholds.set(l, { generation, min: levels.map(levelValue) });
    return lowest(levels);
  };
  const opts = {
    level: lowest(specs().map((s) => s.base)),
    base: { app: 'peerd' },
    // An error's stack only when some destination logs at debug or below: at the default level
    // an error is its type, message and code (a failed start is one line, not pages of frames).
    serializers: { err: (e: unknown) => serializeError(e, levelValue(lowest(specs().map((s) => s.base))) <= levelValue('debug')) },
    onChild: (child: Logger) => {
      children.add(new WeakRef(child));
      if (children.size > pruneAt) {
        for (const r of children) if (r.deref() === undefined) children.delete(r);
        pruneAt = Math.max(1024, children.size * 2);
      }
      const own = levelOf(child);
      if (own !== child.level) child.level = own;
    },
  };
  let logger: Logger;
  if (sinks === null) logger = destination ? pino(opts, destination as NodeJS.WritableStream) : pino(opts);
  else if (!filtering) logger = pino(opts, sinks.length === 1 ? sinks[0].stream : fanout(sinks, null));
  else {
    const own = (l: Logger): number[] => {
      const t = thresholds.get(l);
      if (t !== undefined && t.generation === generation) return t.min;
      levelOf(l);
      return thresholds.get(l)?.min ?? [];
    };
    logger = pino(opts, fanout(sinks, own));
  }
  levelOf(logger);
  return {
    logger,
    spec: () => current,
    setLevel(next) {
      current = next;
      generation++;
      logger.level = levelOf(logger);
      for (const r of children) {
        const child = r.deref();
        if (child === undefined) children.delete(r);
        else child.level = levelOf(child);
      }
    },
  };
}

/**
 * A pino destination writing each record to several sinks. With `thresholdsOf`, pino hands it
 * the record's level and the logger that wrote it (its metadata protocol, as pino.multistream
 * uses) and a sink gets the record only when its level for that logger admits it.
 */
function fanout(sinks: readonly LogSink[], thresholdsOf: ((l: Logger) => number[]) | null): DestinationStream {
  const dest = {
    [pino.symbols.needsMetadataGsym]: thresholdsOf !== null,
    lastLevel: 0,
    lastLogger: undefined as Logger | undefined,
    write(line: string): void {
      const min = thresholdsOf !== null && dest.lastLogger !== undefined ? thresholdsOf(dest.lastLogger) : null;
      for (let i = 0; i < sinks.length; i++) if (min === null || dest.lastLevel >= (min[i] ?? 0)) sinks[i].stream.write(line);
    },
  };
  return dest;
}
