/**
 * The HTTP side of the JSON-RPC server: one `http.Server` per bind address, Core's order of
 * checks (allowed IP → POST → credentials → body → JSON-RPC), and the limits that keep a
 * client from holding or crashing the node: body size (413), header/request/idle timeouts,
 * a connection cap and a cap on requests in progress (503, as Core's work queue).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { handleBody, type Dispatch } from '../rpc/protocol.js';
import { isLoopback, subnetHas, type IpSubnet } from '../util/subnet.js';
import { bindError } from '../util/bind-error.js';
import type { RpcStats } from '../contracts/control.js';
import type { RestReply } from './rest.js';

export interface RpcServerOptions {
  readonly binds: readonly { host: string; port: number }[];
  /** Besides loopback, which clients may connect (`--rpcallowip`). */
  readonly allow: readonly IpSubnet[];
  readonly checkAuth: (header: string | undefined) => boolean;
  readonly dispatch: Dispatch;
  readonly log: Logger;
  /** Largest request body, bytes (default 1 MB). */
  readonly maxBody?: number;
  /** Delay before answering bad credentials, ms (Core: 250). */
  readonly authFailDelayMs?: number;
  readonly headersTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this (Core: rpcservertimeout 30 s). */
  readonly keepAliveMs?: number;
  readonly maxConnections?: number;
  /** Requests being executed at once; beyond: 503 (Core: rpcworkqueue). */
  readonly maxInFlight?: number;
  /** Core's REST interface (`--rest`): GETs under /rest/, no credentials; absent, they are refused as any GET. */
  readonly rest?: (url: string) => Promise<RestReply>;
}

export interface RpcServer {
  readonly stats: RpcStats;
  addresses(): { host: string; port: number }[];
  /** Stops accepting, lets replies in progress finish for up to `graceMs`, then closes every connection. */
  close(graceMs?: number): Promise<void>;
  /** Closes everything at once. */
  destroy(): void;
}

export const DEFAULT_MAX_BODY = 1024 * 1024;
const WWW_AUTH = 'Basic realm="jsonrpc"';
/** A connection idle this long (nothing read or written, no call running) is closed. */
const IDLE_SOCKET_MS = 60_000;

function plain(res: ServerResponse, status: number, text = '', headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': 'text/html; charset=ISO-8859-1', 'Content-Length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

export async function startRpcServer(o: RpcServerOptions): Promise<RpcServer> {
  const maxBody = o.maxBody ?? DEFAULT_MAX_BODY;
  const authDelay = o.authFailDelayMs ?? 250;
  const maxInFlight = o.maxInFlight ?? 64;
  const stats: RpcStats = { requests: 0, authFailures: 0, refused: 0, tooLarge: 0, inFlight: 0 };
  const timers = new Set<NodeJS.Timeout>();

  const allowed = (ip: string | undefined): boolean => ip !== undefined && (isLoopback(ip) || o.allow.some((s) => subnetHas(s, ip)));

  /**
   * A place in the work queue (Core's rpcworkqueue), RPC call or REST GET alike: 503 and null when
   * it is full; else the request counts as in flight until its response closes, and its socket's
   * idle timeout waits for the reply (a call such as waitfornewblock may run long).
   */
  const admit = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (stats.inFlight >= maxInFlight) {
      res.shouldKeepAlive = false;
      plain(res, 503, 'Work queue depth exceeded');
      return false;
    }
    stats.inFlight++;
    res.once('close', () => {
      stats.inFlight--;
      if (!req.socket.destroyed) req.socket.setTimeout(IDLE_SOCKET_MS);
    });
    req.once('end', () => req.socket.setTimeout(0));
    return true;
  };

  const onRest = (rest: (url: string) => Promise<RestReply>, req: IncomingMessage, res: ServerResponse): void => {
    req.resume();
    if (!admit(req, res)) return;
    rest(req.url ?? '/').then(
      (r) => {
        if (res.headersSent || res.destroyed) return;
        res.writeHead(r.status, { 'Content-Type': r.type, 'Content-Length': String(Buffer.byteLength(r.body)) });
        res.end(r.body);
      },
      (err: unknown) => {
        o.log.warn({ err, url: req.url }, 'REST request failed');
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end('Internal error\r\n');
        }
      },
    );
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    stats.requests++;
    res.on('error', () => res.destroy());
    req.on('error', () => req.destroy());
    if (!allowed(req.socket.remoteAddress)) {
      stats.refused++;
      o.log.warn({ from: req.socket.remoteAddress }, 'RPC connection refused: not in rpcallowip');
      res.shouldKeepAlive = false;
      return plain(res, 403);
    }
    if (o.rest !== undefined && req.method === 'GET' && (req.url ?? '').startsWith('/rest/')) return onRest(o.rest, req, res);
    if (req.method !== 'POST') return plain(res, 405, 'JSONRPC server handles only POST requests');
    const auth = req.headers.authorization;
    if (auth === undefined) {
      res.shouldKeepAlive = false;
      return plain(res, 401, '', { 'WWW-Authenticate': WWW_AUTH });
    }
    if (!o.checkAuth(auth)) {
      stats.authFailures++;
      o.log.warn({ from: req.socket.remoteAddress }, 'RPC incorrect password attempt');
      res.shouldKeepAlive = false;
      req.resume(); // drain, do not buffer
      const t = setTimeout(() => {
        timers.delete(t);
        plain(res, 401, '', { 'WWW-Authenticate': WWW_AUTH });
      }, authDelay);
      timers.add(t);
      return;
    }
    const declared = Number(req.headers['content-length'] ?? '0');
    const tooLarge = (): void => {
      stats.tooLarge++;
      res.shouldKeepAlive = false;
      plain(res, 413, 'Request body too large');
      req.destroy();
    };
    if (Number.isFinite(declared) && declared > maxBody) return tooLarge();
    if (!admit(req, res)) return;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) {
        chunks.length = 0;
        if (!res.headersSent) tooLarge();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size > maxBody || res.destroyed) return;
      const body = Buffer.concat(chunks).toString('utf8');
      handleBody(body, o.dispatch).then(
        (r) => {
          if (res.headersSent || res.destroyed) return;
          if (r.body === null) {
            res.writeHead(r.status);
            res.end();
          } else {
            res.writeHead(r.status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(r.body)) });
            res.end(r.body);
          }
        },
        (err: unknown) => {
          o.log.error({ err }, 'RPC reply failed');
          plain(res, 500, 'Internal error');
        },
      );
    });
  };

  const servers: Server[] = [];
  const close = (all: boolean): void => {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    for (const s of servers) {
      s.close();
      if (all) s.closeAllConnections();
      else s.closeIdleConnections();
    }
  };
  try {
    for (const b of o.binds) {
      // The timeouts are checked every second (Node's default is every 30 s, which let a slow
      // client hold a connection slot three times longer than the header timeout).
      const s = createServer(
        { headersTimeout: o.headersTimeoutMs ?? 10_000, requestTimeout: o.requestTimeoutMs ?? 30_000, keepAliveTimeout: o.keepAliveMs ?? 30_000, connectionsCheckingInterval: 1000 },
        (req, res) => {
        try {
          onRequest(req, res);
        } catch (err) {
          o.log.error({ err }, 'RPC request handler threw');
          plain(res, 500, 'Internal error');
        }
      });
      s.maxConnections = o.maxConnections ?? 128;
      s.maxHeadersCount = 100;
      s.setTimeout(IDLE_SOCKET_MS, (socket) => socket.destroy());
      s.on('clientError', (_err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
        socket.destroy();
      });
      s.on('connection', (socket) => socket.on('error', () => socket.destroy()));
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', (err) => reject(bindError('the RPC server', b.host, b.port, '--rpcport/--rpcbind', err)));
        s.listen(b.port, b.host, () => {
          s.removeAllListeners('error');
          s.on('error', (err) => o.log.error({ err }, 'RPC server error'));
          resolve();
        });
      });
    }
  } catch (err) {
    close(true);
    throw err;
  }

  return {
    stats,
    addresses: () =>
      servers.flatMap((s) => {
        const a = s.address();
        return a !== null && typeof a === 'object' ? [{ host: a.address, port: a.port }] : [];
      }),
    async close(graceMs = 1000) {
      const closed = Promise.all(servers.map((s) => new Promise<void>((r) => (s.listening ? s.once('close', () => r()) : r()))));
      close(false);
      const t = setTimeout(() => close(true), graceMs);
      await closed;
      clearTimeout(t);
    },
    destroy: () => close(true),
  };
}
