/**
 * `peerd rpc METHOD [ARGS…]` and the friendly commands over it: `peers`, `tree`, `kick`, `ban`,
 * `kill`. They find the node as bitcoin-cli does: --network/--datadir (and peerd.conf there)
 * give the port and the cookie file; --rpcport, --rpcconnect, --rpcuser/--rpcpassword and
 * --rpccookiefile override.
 */
import type { Command } from 'commander';
import { resolveSettings, type RawValues } from '../config/load.js';
import type { Settings } from '../config/options.js';
import { clientOptions, rpcCall, RpcCallError, type RpcClientOptions } from '../rpc/client.js';
import { METHODS } from '../control/methods.js';
import type { Json, JsonObject } from '../rpc/protocol.js';
import { table } from '../util/table.js';

export interface ConnOpts {
  network?: string;
  datadir?: string;
  conf?: string;
  rpcport?: string;
  rpcconnect?: string;
  rpcuser?: string;
  rpcpassword?: string;
  rpccookiefile?: string;
}

/** Adds the options that say where the node is and how to log in. */
export function addConnOptions(cmd: Command): Command {
  return cmd
    .option('--network <name>', 'main, testnet3, testnet4, signet or regtest (default main)')
    .option('--datadir <dir>', 'data directory of the node (default ~/.peerd)')
    .option('--conf <file>', 'config file to read rpcport etc. from (default <datadir>/peerd.conf)')
    .option('--rpcport <port>', "the node's RPC port (default: its config, else the network's)")
    .option('--rpcconnect <host>', 'RPC host (default 127.0.0.1)')
    .option('--rpcuser <user>', 'RPC user (with --rpcpassword; otherwise the cookie file is read)')
    .option('--rpcpassword <pw>', 'RPC password')
    .option('--rpccookiefile <file>', 'cookie file (default <network datadir>/.cookie)');
}

/** The node's settings as the connection flags and its config file give them (network, port, auth). */
export function connSettings(o: ConnOpts): Settings {
  const raw: RawValues = new Map();
  for (const k of ['network', 'datadir', 'conf', 'rpcport', 'rpcuser', 'rpcpassword', 'rpccookiefile'] as const) {
    const v = o[k];
    if (v !== undefined) raw.set(k, [{ value: v, where: `--${k}` }]);
  }
  return resolveSettings({ cli: raw, readConfFile: true }).settings;
}

/** Where and how to call, from the flags and the node's config file. */
export function connFromOptions(o: ConnOpts): RpcClientOptions {
  return clientOptions({ ...connSettings(o), ...(o.rpcconnect !== undefined ? { rpcconnect: o.rpcconnect } : {}) });
}

/** bitcoin-cli's rule, refined by the method table: a string parameter stays a string; others are JSON if they parse. */
export function convertArgs(method: string, args: readonly string[]): Json[] {
  const def = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
  return args.map((a, i) => {
    if (def?.params[i]?.type === 'string') return a;
    try {
      return JSON.parse(a) as Json;
    } catch {
      return a;
    }
  });
}

/** Prints a result as bitcoin-cli does: strings raw, null as nothing, the rest as indented JSON. */
export function formatResult(r: Json): string | null {
  if (r === null) return null;
  if (typeof r === 'string') return r;
  return JSON.stringify(r, null, 2);
}

async function call(opts: ConnOpts, method: string, params: Json[], setExit: (c: number) => void): Promise<Json | undefined> {
  try {
    return await rpcCall(connFromOptions(opts), method, params);
  } catch (err) {
    if (err instanceof RpcCallError && err.code !== undefined) process.stderr.write(`error code: ${err.code}\nerror message:\n${err.message}\n`);
    else process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    setExit(1);
    return undefined;
  }
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function ago(epochS: number): string {
  const s = Math.max(0, Math.floor(Date.now() / 1000) - epochS);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h`;
}

export function peersTable(peers: readonly JsonObject[]): string {
  if (peers.length === 0) return 'no peers';
  const rows = peers.map((p) => [
    String(p.id),
    String(p.addr),
    String(p.connection_type),
    p.inbound ? 'in' : 'out',
    `${String(p.version)} ${String(p.subver)}`,
    typeof p.pingtime === 'number' ? `${(p.pingtime * 1000).toFixed(1)}` : '-',
    bytes(Number(p.bytessent)),
    bytes(Number(p.bytesrecv)),
    ago(Number(p.conntime)),
  ]);
  return table(['id', 'address', 'type', 'dir', 'version', 'ping ms', 'sent', 'recv', 'up'], rows);
}

export function treeText(nodes: readonly JsonObject[], prefix = '', top = true): string {
  const out: string[] = [];
  nodes.forEach((n, i) => {
    const last = i === nodes.length - 1;
    const branch = top ? '' : last ? '└── ' : '├── ';
    const facts = [
      String(n.kind),
      `mailbox ${String(n.mailbox)} (max ${String(n.mailboxHighWater)})`,
      `restarts ${String(n.restarts)}`,
      `handled ${String(n.handled)}`,
      String(n.status),
    ];
    out.push(`${prefix}${branch}${String(n.name)}  ${facts.join(', ')}`);
    const kids = Array.isArray(n.children) ? (n.children as JsonObject[]) : [];
    if (kids.length > 0) out.push(treeText(kids, top ? '' : prefix + (last ? '    ' : '│   '), false));
  });
  return out.join('\n');
}

function print(text: string | null): void {
  if (text !== null) process.stdout.write(text + '\n');
}

export function installRpc(program: Command, setExit: (code: number) => void): void {
  addConnOptions(
    program
      .command('rpc')
      .description("call a JSON-RPC method of a running node (arguments: JSON if they parse, else strings; 'help' lists the methods)")
      .argument('<method>', 'method name')
      .argument('[args...]', 'parameters'),
  ).action(async (method: string, args: string[], opts: ConnOpts) => {
    const r = await call(opts, method, convertArgs(method, args), setExit);
    if (r !== undefined) print(formatResult(r));
  });

  addConnOptions(program.command('peers').description('the connected peers, as a table')).action(async (opts: ConnOpts) => {
    const r = await call(opts, 'getpeerinfo', [], setExit);
    if (Array.isArray(r)) print(peersTable(r as JsonObject[]));
  });

  addConnOptions(program.command('tree').description('the actor tree, indented, with mailbox, restarts and status')).action(async (opts: ConnOpts) => {
    const r = await call(opts, 'getactortree', [], setExit);
    if (Array.isArray(r)) print(treeText(r as JsonObject[]));
  });

  addConnOptions(
    program.command('kick').description('disconnect a peer, by id or address (host:port)').argument('<peer>', 'peer id or address'),
  ).action(async (peer: string, opts: ConnOpts) => {
    const params: Json[] = /^\d+$/.test(peer) ? ['', Number(peer)] : [peer];
    const r = await call(opts, 'disconnectnode', params, setExit);
    if (r !== undefined) print(`disconnected ${peer}`);
  });

  addConnOptions(
    program
      .command('throttle')
      .description("limit a peer (id, host:port or 'all') or, with 'node', the whole node: bytes per second received and sent, 0 = unlimited")
      .argument('<target>', "peer id, host:port, 'all', or 'node'")
      .argument('<recv>', 'bytes per second received (0 = unlimited)')
      .argument('<send>', 'bytes per second sent (0 = unlimited)'),
  ).action(async (target: string, recv: string, send: string, opts: ConnOpts) => {
    if (!/^\d+$/.test(recv) || !/^\d+$/.test(send)) {
      process.stderr.write('peerd throttle: recv and send must be whole numbers of bytes per second\n');
      return setExit(2);
    }
    const r =
      target === 'node'
        ? await call(opts, 'setnetlimit', [Number(recv), Number(send)], setExit)
        : await call(opts, 'setpeerlimit', [target, Number(recv), Number(send)], setExit);
    if (r !== undefined) print(`${target}: receive ${recv === '0' ? 'unlimited' : `${recv} B/s`}, send ${send === '0' ? 'unlimited' : `${send} B/s`}`);
  });

  addConnOptions(
    program
      .command('ban')
      .description('ban an IP or subnet (and disconnect its peers)')
      .argument('<subnet>', 'IP or IP/bits')
      .argument('[seconds]', 'how long (default 24 h)'),
  ).action(async (subnet: string, seconds: string | undefined, opts: ConnOpts) => {
    if (seconds !== undefined && !/^\d+$/.test(seconds)) {
      process.stderr.write('peerd ban: seconds must be a whole number\n');
      return setExit(2);
    }
    const r = await call(opts, 'setban', [subnet, 'add', ...(seconds !== undefined ? [Number(seconds)] : [])], setExit);
    if (r !== undefined) print(`banned ${subnet}${seconds !== undefined ? ` for ${seconds} s` : ' for 24 h'}`);
  });

  addConnOptions(
    program
      .command('kill')
      .description('kill an actor: kill (stop from outside), crash (throw in its handler), socket (destroy a peer socket), stall')
      .argument('<path>', 'actor path, e.g. /root/peers/peer-3')
      .argument('[mode]', 'kill, crash, socket or stall', 'kill'),
  ).action(async (path: string, mode: string, opts: ConnOpts) => {
    const r = await call(opts, 'killactor', [path, mode], setExit);
    if (r !== undefined) print(`${mode} ${path}`);
  });
}
