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
