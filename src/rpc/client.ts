/**
 * A small JSON-RPC client for peerd's own commands (`peerd rpc`, `peerd peers`, `peerd throttle`…):
 * `rpcCall(opts, method, params)`. Credentials come from the cookie file of the network's
 * datadir unless a user/password is given, as bitcoin-cli.
 */
import { request } from 'node:http';
import { networkDatadir } from '../config/load.js';
import type { NetworkChoice } from '../config/options.js';
import { networkParams } from '../wire/network.js';
import { cookiePath, readCookie, readRpcAddress } from './auth.js';
import type { Json } from './protocol.js';

export interface RpcClientOptions {
  readonly host?: string;
  readonly port: number;
  /** `user:password`; when absent the cookie file is read. */
  readonly credentials?: string;
  readonly cookieFile?: string;
  readonly timeoutMs?: number;
}

/** An error reply from the server (`code` is Core's), or a transport failure (`code` undefined). */
export class RpcCallError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'RpcCallError';
  }
}

export interface ClientSettings {
  readonly network: NetworkChoice;
  readonly datadir: string;
  readonly rpcport?: number;
  readonly rpcconnect?: string;
  readonly rpcuser?: string;
  readonly rpcpassword?: string;
  readonly rpccookiefile?: string;
}

/**
 * Client options from the same settings the node takes. Port: --rpcport; else the address the
 * node running on this datadir wrote (`.rpcaddress`, when --rpcconnect is not given); else the
 * network's.
 */
export function clientOptions(s: ClientSettings): RpcClientOptions {
  const given = s.rpcport !== undefined && s.rpcport > 0;
  const hostGiven = s.rpcconnect !== undefined && s.rpcconnect !== '';
  const written = given || hostGiven ? null : readRpcAddress(networkDatadir(s.datadir, s.network));
  const port = given ? s.rpcport! : (written?.port ?? networkParams(s.network).rpcPort);
  const host = hostGiven ? s.rpcconnect! : (written?.host ?? '127.0.0.1');
  if (s.rpcpassword !== undefined && s.rpcpassword !== '') return { host, port, credentials: `${s.rpcuser ?? ''}:${s.rpcpassword}` };
  return { host, port, cookieFile: cookiePath(networkDatadir(s.datadir, s.network), s.rpccookiefile ?? '') };
}

/** Calls one method; resolves with its result, rejects with RpcCallError. */
export function rpcCall(opts: RpcClientOptions, method: string, params: readonly Json[] | Record<string, Json> = []): Promise<Json> {
  let credentials = opts.credentials;
  if (credentials === undefined) {
    const c = opts.cookieFile ? readCookie(opts.cookieFile) : null;
    if (c === null) return Promise.reject(new RpcCallError(`Could not locate RPC credentials. No authentication cookie could be found (${opts.cookieFile ?? 'no cookie file'}), and no rpcpassword is set.`));
    credentials = c;
  }
  const host = opts.host ?? '127.0.0.1';
  const body = JSON.stringify({ jsonrpc: '1.0', id: 1, method, params });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port: opts.port,
        method: 'POST',
        path: '/',
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          Authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
        },
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new RpcCallError(err.message)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 401) {
            // With a cookie, the likely cause is another node's server on that port (each node writes its own cookie).
            const which = opts.credentials === undefined && opts.cookieFile ? ` (the cookie ${opts.cookieFile} is not the one of the node at ${host}:${opts.port}: is that another node? give its --rpcport, or the --datadir of the node you mean)` : '';
            return reject(new RpcCallError(`Authorization failed: Incorrect rpcuser or rpcpassword${which}`));
          }
          let reply: { result?: Json; error?: { code: number; message: string } | null };
          try {
            reply = JSON.parse(text) as typeof reply;
          } catch {
            return reject(new RpcCallError(`server returned HTTP error ${res.statusCode ?? '?'}${text ? `: ${text.trim()}` : ''}`));
          }
          if (reply.error) return reject(new RpcCallError(reply.error.message, reply.error.code));
          resolve(reply.result ?? null);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => reject(new RpcCallError(`Could not connect to the server ${host}:${opts.port} (${err.message})\n\nMake sure the peerd server is running and that you are connecting to the correct RPC port.`)));
    req.end(body);
  });
}
