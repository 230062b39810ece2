import { pino, type Logger, type LevelWithSilent } from 'pino';

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

export interface LevelledLogger {
  readonly logger: Logger;
  /** The spec in force. */
  spec(): LevelSpec;
  /**
   * Changes the level of the root logger and of every child logger already made. Pino children
   * follow a change of their parent's level only while they have no level of their own; the ones
   * a component level was given to are tracked (weakly) and set here explicitly.
   */
  setLevel(spec: LevelSpec): void;
}

/** A root logger whose level (overall and per component) can change while the node runs. */
export function levelledLogger(spec: LevelSpec, destination?: NodeJS.WritableStream): LevelledLogger {
  let current = spec;
  const children = new Set<WeakRef<Logger>>();
  let pruneAt = 1024;
  const actorOf = (l: Logger): string | undefined => {
    const a = (l.bindings() as { actor?: unknown }).actor;
    return typeof a === 'string' ? a : undefined;
  };
  const opts = {
    level: spec.base,
    base: { app: 'peerd' },
    onChild: (child: Logger) => {
      children.add(new WeakRef(child));
      if (children.size > pruneAt) {
        for (const r of children) if (r.deref() === undefined) children.delete(r);
        pruneAt = Math.max(1024, children.size * 2);
      }
      const own = levelFor(current, actorOf(child));
      if (own !== child.level) child.level = own;
    },
  };
  const logger = destination ? pino(opts, destination) : pino(opts);
  return {
    logger,
    spec: () => current,
    setLevel(next) {
      current = next;
      logger.level = next.base;
      for (const r of children) {
        const child = r.deref();
        if (child === undefined) children.delete(r);
        else child.level = levelFor(next, actorOf(child));
      }
    },
  };
}
