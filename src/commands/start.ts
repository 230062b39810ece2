/** `peerd start [flags]`: runs the node until SIGINT/SIGTERM; every flag of the option table. */
import { Option, type Command } from 'commander';
import { OPTION_DEFS, type OptionDef } from '../config/options.js';
import { ConfigError, type RawValues } from '../config/load.js';
import { startNode, type NodeHandle } from '../node.js';
import { describeChange } from '../config/reload.js';
import { levelledLogger, parseLevelSpec, setRootLogger, type LevelledLogger, type LevelSpec, type Logger } from '../log.js';

/** Adds every setting of the option table as `--name VALUE` (lists repeatable). */
export function addSettingOptions(cmd: Command): Command {
  for (const d of OPTION_DEFS as readonly OptionDef[]) {
    const arg = d.kind === 'bool' ? '<0|1>' : `<${(d.arg ?? 'value').toLowerCase()}>`;
    const o = new Option(`--${d.name} ${arg}`, d.description + (d.unit ? ` (${d.unit})` : '') + (d.kind === 'list' ? ' (repeatable)' : ''));
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
      try {
        const flag = cli.get('log-level')?.at(-1);
        levels = levelledLogger(levelSpec(flag?.value ?? 'info', flag?.where ?? '--log-level'));
        setRootLogger(levels.logger);
        node = await startNode({ cli, readConfFile: true, logger: levels.logger, setLogLevel: (spec) => levels.setLevel(spec) });
        // The config file may set log-level too (the flag, read above, wins there as well).
        levels.setLevel(levelSpec(node.settings['log-level'], 'log-level'));
      } catch (err) {
        process.removeListener('SIGHUP', hup);
        process.stderr.write(`peerd: ${err instanceof Error ? err.message : String(err)}\n`);
        return setExit(err instanceof ConfigError ? 2 : 1);
      }
      const inspect = await node.inspectAddress().catch(() => null);
      if (inspect) process.stderr.write(`peerd: inspector on ${inspect.url} (open ${inspect.tokenUrl} once, or log in with the RPC credentials)\n`);
      onSignal = (signal: string) => {
        process.stderr.write(`peerd: ${signal}, shutting down\n`);
        void node.stop();
      };
      if (signalled !== null) onSignal(signalled);
      onHup = () => void reloadOnSighup(node, levels.logger);
      await node.exited;
      process.removeListener('SIGHUP', hup);
      setExit(0);
    },
  );
}
