import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { installDecode } from './commands/decode.js';
import { installStart } from './commands/start.js';
import { installRpc } from './commands/rpc.js';
import { installChaos } from './commands/chaos.js';
import { installSim } from './commands/sim.js';
import { installGenChain, installServeChain } from './commands/chain.js';
import { installTop } from './commands/top.js';
import { installNet, installDemo } from './commands/net.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** A subcommand registers itself on the program; its action sets the exit code it wants. */
export type CommandInstaller = (program: Command, setExit: (code: number) => void) => void;

const installers: CommandInstaller[] = [installStart, installDecode, installRpc, installChaos, installSim, installGenChain, installServeChain, installTop, installNet, installDemo];

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('peerd')
    .description('A Bitcoin P2P node built from supervised actors')
    .version(pkg.version)
    // The error (and commander's "Did you mean …?") stays the last thing on screen, not 45 lines of usage.
    .showHelpAfterError('(add --help to see every option)')
    .exitOverride();
  for (const install of installers) install(program, setExit);
  return program;
}

/** Runs the CLI with the given arguments (without `node peerd`) and resolves to an exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`peerd: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  return code;
}
