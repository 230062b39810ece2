/** `peerd start [flags]`: runs the node until SIGINT/SIGTERM; every flag of the option table. */
import { Option, type Command } from 'commander';
import { pino } from 'pino';
import { OPTION_DEFS, type OptionDef } from '../config/options.js';
import { ConfigError, type RawValues } from '../config/load.js';
import { startNode } from '../node.js';
import { isLevel, setRootLogger } from '../log.js';

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

function makeLogger(level: string) {
  const base = level.split(',').find((p) => !p.includes('=')) ?? 'info';
  if (!isLevel(base)) throw new ConfigError('--log-level', `unknown level "${base}" (fatal, error, warn, info, debug, trace, silent)`);
  return pino({ level: base, base: { app: 'peerd' } });
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
      let node: Awaited<ReturnType<typeof startNode>>;
      try {
        const levelFlag = cli.get('log-level')?.at(-1)?.value ?? 'info';
        const logger = makeLogger(levelFlag);
        setRootLogger(logger);
        node = await startNode({ cli, readConfFile: true, logger });
      } catch (err) {
        process.stderr.write(`peerd: ${err instanceof Error ? err.message : String(err)}\n`);
        return setExit(err instanceof ConfigError ? 2 : 1);
      }
      onSignal = (signal: string) => {
        process.stderr.write(`peerd: ${signal}, shutting down\n`);
        void node.stop();
      };
      if (signalled !== null) onSignal(signalled);
      await node.exited;
      setExit(0);
    },
  );
}
