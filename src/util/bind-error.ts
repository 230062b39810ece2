/**
 * A listen that failed, said once in words an operator can act on: which server, which
 * address, what the system answered, and which flag changes it. The system's code (`EADDRINUSE`,
 * …) stays on the error for programs.
 */
export class BindError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'BindError';
  }
}

function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string' ? (err as { code: string }).code : undefined;
}

/**
 * `what`: the server ("P2P", "RPC", "the inspector"); `flag`: the setting that chose the address
 * (`--bind`, `--rpcport`, `--inspect`).
 */
export function bindError(what: string, host: string, port: number, flag: string, err: unknown): BindError {
  const code = codeOf(err);
  const at = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const why = ((): string => {
    switch (code) {
      case 'EADDRINUSE':
        return `the port is in use (another peerd, or another program, listens there): stop it, or give ${flag} another port (0 = any free port)`;
      case 'EADDRNOTAVAIL':
        return `${host} is not an address of this computer: check ${flag}`;
      case 'EACCES':
        return `permission denied (ports below 1024 need privileges): give ${flag} a port above 1023`;
      default:
        return `${err instanceof Error ? err.message : String(err)} (check ${flag})`;
    }
  })();
  return new BindError(`Unable to bind ${what} to ${at}: ${why}`, code);
}
