/** `peerd start [flags]`: runs the node until SIGINT/SIGTERM; every flag of the option table. */
import { Option, type Command } from 'commander';
import { OPTION_DEFS, optionHelp, type OptionDef } from '../config/options.js';
import { ConfigError, networkDatadir, resolveSettings, type RawValues } from '../config/load.js';
import { startNode, type NodeHandle } from '../node.js';
import { describeChange } from '../config/reload.js';
import { levelledLogger, parseLevelSpec, setRootLogger, type LevelledLogger, type LevelSpec, type Logger } from '../log.js';
import { logFilePath, openLogOutputs, type LogFormat, type LogOutputs } from '../log-output.js';
import type { Settings } from '../config/options.js';
import { lockDatadir, type DatadirLock } from '../util/datadir-lock.js';

/** Adds every setting of the option table as `--name VALUE` (lists repeatable). */
export function addSettingOptions(cmd: Command): Command {
  for (const d of OPTION_DEFS as readonly OptionDef[]) {
    const arg = d.kind === 'bool' ? '<0|1>' : `<${(d.arg ?? 'value').toLowerCase()}>`;
    const o = new Option(`--${d.name} ${arg}`, optionHelp(d));
    o.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    cmd.addOption(o);
  }
  return cmd;
}

/** Commander's parsed options back into raw values with the flag each came from. */
export function rawFromOptions(opts: Record<string, unknown>): RawValues {
  const raw: RawValues = new Map();
  for (const d of OPTION_DEFS as readonly OptionDef[]) {
    const key = d.name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    const v = opts[key];
    if (Array.isArray(v)) raw.set(d.name, v.map((value: unknown) => ({ value: String(value), where: `--${d.name}` })));
  }
  return raw;
}

function levelSpec(level: string, where: string): LevelSpec {
  try {
    return parseLevelSpec(level);
  } catch (err) {
    throw new ConfigError(where, err instanceof Error ? err.message : String(err));
  }
}

/** Where a setting came from, for messages: its flag when given on the command line. */
function whereOf(cli: RawValues, name: string): string {
  return cli.get(name)?.at(-1)?.where ?? name;
}

/**
 * The logger `peerd start` runs with, from the resolved settings: stdout (JSON, or pretty on a
 * terminal or when forced) and the rotating log file, each filtered by its levels.
 */
export async function startLogging(settings: Settings, cli: RawValues): Promise<{ levels: LevelledLogger; outputs: LogOutputs }> {
  const spec = levelSpec(settings['log-level'], whereOf(cli, 'log-level'));
  const fileLevel = settings['log-file-level'].trim();
  const fileSpec = fileLevel === '' ? undefined : levelSpec(fileLevel, whereOf(cli, 'log-file-level'));
  const file = logFilePath(settings['log-file'], networkDatadir(settings.datadir, settings.network));
  const outputs = await openLogOutputs({
    format: settings['log-format'] as LogFormat,
    file,
    fileMaxBytes: settings['log-file-size'] * 1024 * 1024,
    fileKeep: settings['log-file-count'],
    ...(fileSpec ? { fileSpec } : {}),
  });
  const levels = levelledLogger(spec, outputs.sinks);
  if (file !== null)
    levels.logger.info(
      { logFile: file, maxMB: settings['log-file-size'], keep: settings['log-file-count'], fileLevel: fileLevel === '' ? settings['log-level'] : fileLevel },
      `log file: ${file} (JSON lines, rotated at ${settings['log-file-size']} MB, ${settings['log-file-count']} old files kept)`,
    );
  else levels.logger.info({ logFile: null }, 'no log file (log-file is off)');
  return { levels, outputs };
}

/**
 * SIGHUP: re-reads the config file (command-line values still win), applies what can change at
 * runtime and says exactly what it applied and what needs a restart. A bad file changes nothing.
 */
export async function reloadOnSighup(node: NodeHandle, log: Logger): Promise<void> {
  try {
    const r = await node.reload();
    const file = r.confFile ?? '(no config file)';
    const applied = r.apply.map(describeChange);
    const restart = r.needRestart.map(describeChange);
    log.info(
      { conf: file, applied: r.apply.map((c) => c.name), needRestart: r.needRestart.map((c) => c.name) },
      `SIGHUP: reloaded ${file}; applied: ${applied.length > 0 ? applied.join(', ') : 'nothing'}`,
    );
    if (restart.length > 0) log.warn({ needRestart: r.needRestart.map((c) => c.name) }, `SIGHUP: changed but need a restart (not applied): ${restart.join(', ')}`);
    for (const e of r.errors) log.error({ error: e }, `SIGHUP: could not apply ${e}`);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    log.error({ error: msg }, `SIGHUP: config not reloaded, nothing changed: ${msg}`);
  }
}

export function installStart(program: Command, setExit: (code: number) => void): void {
  addSettingOptions(program.command('start').description('run the node (on main by default: see README for a safe way to try it)')).action(
    async (opts: Record<string, unknown>) => {
      const cli = rawFromOptions(opts);
      // Signals are caught before the node starts, so one that arrives during start-up still stops it cleanly.
      let signalled: string | null = null;
      let onSignal = (signal: string): void => {
        signalled = signal;
      };
      process.once('SIGINT', () => onSignal('SIGINT'));
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      // Caught from the start too (its default is to end the process); a reload needs the running node.
      let onHup = (): void => undefined;
      const hup = (): void => onHup();
      process.on('SIGHUP', hup);
      let node: NodeHandle;
      let levels: LevelledLogger;
      let outputs: LogOutputs | null = null;
      let log: Logger | null = null;
      let lock: DatadirLock | null = null;
      try {
        // Settings first (the config file may set the network, datadir and log settings), then the
        // datadir lock (before the log file there is opened: a second node on it stops here), then
        // the logger, then the node, which owns the lock from then on.
        const { settings } = resolveSettings({ cli, readConfFile: true });
        lock = lockDatadir(networkDatadir(settings.datadir, settings.network));
        ({ levels, outputs } = await startLogging(settings, cli));
        log = levels.logger;
        setRootLogger(levels.logger);
        node = await startNode({
          cli,
          readConfFile: true,
          logger: levels.logger,
          setLogLevel: (spec) => levels.setLevel(spec),
          // On a terminal, initial sync draws a progress bar on stderr (stdout carries the logs).
          ...(process.stderr.isTTY ? { chain: { progressBar: process.stderr } } : {}),
          datadirLock: lock,
        });
      } catch (err) {
        lock?.release();
        process.removeListener('SIGHUP', hup);
        const msg = err instanceof Error ? err.message : String(err);
        process.stderr.write(`peerd: ${msg}\n`);
        // Also in the log file, when it is open (and only there: the terminal has the line above): why this start failed.
        outputs?.file?.stream.write(`${JSON.stringify({ level: 60, time: Date.now(), app: 'peerd', error: msg, msg: `start failed: ${msg}` })}\n`);
        log?.debug({ err }, 'start failed');
        await outputs?.close();
        return setExit(err instanceof ConfigError ? 2 : 1);
      }
      const inspect = await node.inspectAddress().catch(() => null);
      if (inspect) process.stderr.write(`peerd: inspector on ${inspect.url} (open ${inspect.tokenUrl} once, or log in with the RPC credentials)\n`);
      onSignal = (signal: string) => {
        process.stderr.write(`peerd: ${signal}, shutting down\n`);
        levels.logger.info({ signal }, `${signal}: shutting down`);
        void node.stop();
      };
      if (signalled !== null) onSignal(signalled);
      onHup = () => void reloadOnSighup(node, levels.logger);
      await node.exited;
      process.removeListener('SIGHUP', hup);
      // Every line queued for the log file (the "peerd stopped" one included) is on disk before we exit.
      await outputs.close();
      setExit(0);
    },
  );
}
