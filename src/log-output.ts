/**
 * Where `peerd start` sends its logs: stdout (JSON lines, or human lines through pino-pretty when
 * stdout is a terminal or `--log-format pretty`) and a rotating JSON-lines file in the network
 * datadir (`debug.log`, as Bitcoin Core). The library (`startNode`) takes a logger instead and
 * never opens any of these.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { pino, type DestinationStream } from 'pino';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import type { LevelSpec, LogSink } from './log.js';
import { LOG_FORMATS } from './config/options.js';

export { LOG_FORMATS };
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Core's name for the log file. */
export const DEFAULT_LOG_FILE = 'debug.log';

/**
 * The log file a `log-file` setting names: null when logging to a file is off (`''` or `0`, as
 * Core's `-nodebuglogfile`); a relative path is taken under the network datadir (as Core's
 * `-debuglogfile`).
 */
export function logFilePath(setting: string, networkDatadir: string): string | null {
  const s = setting.trim();
  if (s === '' || s === '0') return null;
  return isAbsolute(s) ? s : resolve(join(networkDatadir, s));
}

/** Whether stdout gets human lines: `auto` means when it is a terminal. */
export function usePretty(format: LogFormat, isTTY: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && isTTY);
}

/**
 * A sink turning each JSON line into one human line (time, level, actor, message, then the other
 * fields as JSON) written synchronously to `out`. Errors keep their stack on the lines after.
 * pino-pretty is loaded only when asked for (the other commands never pay for it).
 */
export async function prettySink(out: DestinationStream, colorize: boolean): Promise<DestinationStream> {
  const { prettyFactory } = await import('pino-pretty');
  const format = prettyFactory({
    colorize,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,app,actor',
    messageFormat: '{if actor}{actor} {end}{msg}',
  });
  return { write: (line: string) => void out.write(format(line)) };
}

/** A log file whose disk cannot keep up drops lines past this many queued bytes rather than grow without bound. */
export const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

export interface LogFileOptions {
  /** Rotate once the file reaches this many bytes. */
  readonly maxBytes: number;
  /** Rotated files kept: `debug.log.1` (newest) … `debug.log.N`; older ones are overwritten. */
  readonly keep: number;
  /** Bytes waiting for the disk past which lines are dropped (default {@link MAX_QUEUED_BYTES}). */
  readonly maxQueuedBytes?: number;
  /** A write or rotation failed after the file was opened (default: one line on stderr). */
  readonly onError?: (err: Error) => void;
}

export interface LogFile {
  readonly path: string;
  /** Takes JSON lines; writes are queued and done asynchronously (never blocking the event loop). */
  readonly stream: DestinationStream;
  /** Number of rotations since it was opened. */
  rotations(): number;
  /** Lines dropped because more than `maxQueuedBytes` were waiting for the disk (the file says so where they are missing). */
  dropped(): number;
  /** Writes what is queued and closes the file. */
  close(): Promise<void>;
}

/**
 * Opens (appending to) a rotating log file, creating its directory; resolves once the file is
 * open and rejects with the reason it cannot be. Rotation is `logrotate`-style, done by
 * rotating-file-stream: the file is renamed `.1`, `.1` becomes `.2`, … up to `.keep`.
 */
export async function openLogFile(path: string, opts: LogFileOptions): Promise<LogFile> {
  if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 1) throw new RangeError(`log file size must be a whole number of bytes ≥ 1, got ${opts.maxBytes}`);
  if (!Number.isSafeInteger(opts.keep) || opts.keep < 1) throw new RangeError(`log file count must be a whole number ≥ 1, got ${opts.keep}`);
  const rfs: RotatingFileStream = createStream(path, { size: `${opts.maxBytes}B`, rotate: opts.keep });
  await new Promise<void>((ok, fail) => {
    const onError = (err: Error): void => {
      rfs.removeListener('open', onOpen);
      fail(new Error(`cannot open log file ${path}: ${err.message}`));
    };
    const onOpen = (): void => {
      rfs.removeListener('error', onError);
      ok();
    };
    rfs.once('error', onError);
    rfs.once('open', onOpen);
  });
  let rotations = 0;
  rfs.on('rotated', () => rotations++);
  let dropped = 0;
  let droppedSaid = 0;
  let failed = false;
  const report = opts.onError ?? ((err: Error) => void process.stderr.write(`peerd: log file ${path}: ${err.message}; no more lines are written to it\n`));
  rfs.on('error', (err: Error) => {
    if (failed) return;
    failed = true;
    report(err);
  });
  // Lines written in one turn of the event loop go to the file as one chunk (one write call, not
  // one per line); a chunk is kept small next to the size limit, so a file overshoots it by little.
  const batchLimit = Math.max(1, Math.min(64 * 1024, Math.floor(opts.maxBytes / 16)));
  let batch: string[] = [];
  let batchBytes = 0;
  let scheduled: NodeJS.Immediate | null = null;
  const flush = (): void => {
    if (scheduled !== null) clearImmediate(scheduled);
    scheduled = null;
    if (batch.length === 0) return;
    const chunk = batch.join('');
    batch = [];
    batchBytes = 0;
    if (failed) return;
    if (rfs.writableLength > (opts.maxQueuedBytes ?? MAX_QUEUED_BYTES)) {
      dropped += chunk.split('\n').length - 1;
      return;
    }
    if (dropped > droppedSaid) {
      // The gap is said in the file itself, where the missing lines would have been.
      rfs.write(`${JSON.stringify({ level: 40, time: Date.now(), app: 'peerd', dropped: dropped - droppedSaid, msg: `log file: ${dropped - droppedSaid} lines dropped (the disk did not keep up)` })}\n`);
      droppedSaid = dropped;
    }
    rfs.write(chunk);
  };
  let closing: Promise<void> | null = null;
  return {
    path,
    stream: {
      write(line: string): void {
        if (failed || closing !== null) return;
        batch.push(line);
        batchBytes += line.length;
        if (batchBytes >= batchLimit) flush();
        else scheduled ??= setImmediate(flush);
      },
    },
    rotations: () => rotations,
    dropped: () => dropped,
    close() {
      if (closing === null) {
        flush();
        closing = rfs.destroyed || rfs.writableFinished ? Promise.resolve() : new Promise<void>((done) => rfs.end(() => done()));
      }
      return closing;
    },
  };
}

export interface LogOutputOptions {
  readonly format: LogFormat;
  /** Where stdout lines go (default: fd 1, written synchronously as pino does) and whether it is a terminal. */
  readonly stdout?: DestinationStream;
  readonly isTTY?: boolean;
  /** The log file, or null for none. */
  readonly file: string | null;
  readonly fileMaxBytes: number;
  readonly fileKeep: number;
  /** The file's own levels; absent: the same as stdout's. */
  readonly fileSpec?: LevelSpec;
}

export interface LogOutputs {
  /** For {@link levelledLogger}: stdout first, then the file if any. */
  readonly sinks: LogSink[];
  readonly pretty: boolean;
  readonly file: LogFile | null;
  /** Flushes and closes the file (stdout is written synchronously). */
  close(): Promise<void>;
}

export async function openLogOutputs(o: LogOutputOptions): Promise<LogOutputs> {
  const out = o.stdout ?? pino.destination({ dest: 1, sync: true });
  const tty = o.isTTY ?? process.stdout.isTTY === true;
  const pretty = usePretty(o.format, tty);
  // Colours only on a terminal: `--log-format pretty` into a pipe or file gives plain text.
  const sinks: LogSink[] = [{ stream: pretty ? await prettySink(out, tty) : out }];
  const file = o.file === null ? null : await openLogFile(o.file, { maxBytes: o.fileMaxBytes, keep: o.fileKeep });
  if (file) sinks.push({ stream: file.stream, ...(o.fileSpec ? { spec: o.fileSpec } : {}) });
  return { sinks, pretty, file, close: async () => void (await file?.close()) };
}
