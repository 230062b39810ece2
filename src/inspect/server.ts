/**
 * The inspector's HTTP server: the page and its assets, one Server-Sent Events stream per open
 * page, POST actions over the RPC method table, a snapshot for scripts, and `/metrics`.
 *
 * Every route needs credentials: HTTP Basic with the RPC's (cookie or rpcuser/rpcpassword), or
 * the session cookie that the one-time token link sets. POST actions also need a JSON body and,
 * when the browser sends one, an Origin equal to the page's: with the SameSite=Strict cookie,
 * another site cannot drive them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { basicAuthChecker } from '../rpc/auth.js';
import { RPC, RpcError, type Json } from '../rpc/protocol.js';
import { bindError } from '../util/bind-error.js';

/** The page's files, next to this module (`npm run build` copies them into dist). */
export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

/** Methods of the RPC table the page may call (`POST /api/<method>`). */
export const ACTIONS = ['disconnectnode', 'setban', 'setpeerlimit', 'setnetlimit', 'killactor', 'ping'] as const;

/**
 * The session cookie's name: it carries the inspector's port. Browsers send a cookie of
 * 127.0.0.1 to every port of that host (cookies are not port-scoped, RFC 6265 §8.5), so the name
 * keeps two inspectors apart, and a session is honoured only under the Host it was opened for.
 */
export const sessionCookie = (port: number): string => `peerd_inspect_${port}`;
/** How long a session lasts, s (12 h); the token link opens a new one. */
export const SESSION_MAX_AGE_S = 12 * 3600;
const MAX_BODY = 64 * 1024;
const WWW_AUTH = 'Basic realm="peerd inspector", charset="UTF-8"';

/**
 * What outlives one incarnation of the inspector actor: the one-time token, the sessions it
 * opened and the port first bound (a restarted inspector binds it again, so open pages reconnect).
 */
export interface InspectShared {
  readonly token: string;
  tokenUsed: boolean;
  /** Open sessions: id → the Host header it was opened under and when it ends (epoch ms). */
  readonly sessions: Map<string, { readonly host: string; readonly until: number }>;
  port: number | null;
}

export function makeShared(): InspectShared {
  return { token: randomBytes(24).toString('base64url'), tokenUsed: false, sessions: new Map(), port: null };
}

export interface InspectServerOptions {
  readonly host: string;
  readonly port: number;
  readonly shared: InspectShared;
  /** `user:password` accepted with HTTP Basic now (the cookie changes when the RPC server restarts), or null. */
  readonly credentials: () => string | null;
  readonly log: Logger;
  /** The stream's first message (a snapshot with the histories), or null before the first sample. */
  readonly hello: () => unknown;
  /** Runs one method of the RPC table. */
  readonly call: (method: string, params: Json[] | { [k: string]: Json }) => Promise<Json>;
  readonly metrics: () => Promise<{ contentType: string; text: string }>;
  readonly authFailDelayMs?: number;
  readonly maxClients?: number;
  readonly staticDir?: string;
}

export interface InspectServer {
  address(): { host: string; port: number };
  /** Sends an event to every open stream. */
  broadcast(event: string, data: unknown): void;
  /** Counts since start: requests, bad credentials, streams opened, actions run. */
  readonly stats: { requests: number; authFailures: number; streams: number; actions: number };
  /** Streams open now. */
  openStreams(): number;
  /** Stops accepting, ends the streams, closes the connections. */
  close(): Promise<void>;
}

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Loads the page's files once (a handful of small files): served from memory, nothing else is reachable. */
export function loadAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type === undefined) continue;
    out.set(`/${name}`, { type, body: readFileSync(join(dir, name)) });
  }
  const index = out.get('/index.html');
  if (index) out.set('/', index);
  return out;
}

function sameSecret(a: string, b: string): boolean {
  const h = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

function send(res: ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8', headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json');
}

/** HTTP status for an RPC error raised by an action. */
export function actionStatus(code: number): number {
  if (code === RPC.METHOD_NOT_FOUND) return 404;
  if (code === RPC.INTERNAL_ERROR) return 500;
  return 400;
}

export async function startInspectServer(o: InspectServerOptions): Promise<InspectServer> {
  const assets = loadAssets(o.staticDir ?? STATIC_DIR);
  const maxClients = o.maxClients ?? 32;
  const authDelay = o.authFailDelayMs ?? 250;
  const streams = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  const stats = { requests: 0, authFailures: 0, streams: 0, actions: 0 };
  let checker: { creds: string; check: (h: string | undefined) => boolean } | null = null;

  const basicOk = (header: string | undefined): boolean => {
    const creds = o.credentials();
    if (creds === null || header === undefined) return false;
    if (checker === null || checker.creds !== creds) checker = { creds, check: basicAuthChecker(creds) };
    return checker.check(header);
  };
  // The port this server listens on (known once bound; requests come only after that).
  const boundPort = (): number => {
    const a = server.address();
    return a !== null && typeof a === 'object' ? a.port : o.port;
  };
  const sessionOk = (req: IncomingMessage): boolean => {
    const sid = cookieValue(req.headers.cookie, sessionCookie(boundPort()));
    if (sid === null) return false;
    const sess = o.shared.sessions.get(sid);
    if (sess === undefined) return false;
    if (Date.now() >= sess.until) {
      o.shared.sessions.delete(sid);
      return false;
    }
    return sess.host === (req.headers.host ?? '');
  };
  const unauthorized = (req: IncomingMessage, res: ServerResponse, bad: boolean): void => {
    res.shouldKeepAlive = false;
    const body = 'peerd inspector: open the link printed at start (once), or log in with the RPC credentials (cookie file or rpcuser/rpcpassword).\n';
    if (!bad) return send(res, 401, body, undefined, { 'WWW-Authenticate': WWW_AUTH });
    stats.authFailures++;
    o.log.warn({ from: req.socket.remoteAddress }, 'inspector: bad credentials');
    req.resume();
    const t = setTimeout(() => {
      timers.delete(t);
      send(res, 401, body, undefined, { 'WWW-Authenticate': WWW_AUTH });
    }, authDelay);
    timers.add(t);
  };

  const stream = (req: IncomingMessage, res: ServerResponse): void => {
    if (streams.size >= maxClients) return send(res, 503, 'too many inspector streams\n');
    req.socket.setTimeout(0);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write('retry: 2000\n\n');
    streams.add(res);
    stats.streams++;
    res.on('close', () => streams.delete(res));
    const first = o.hello();
    if (first !== null) res.write(`event: hello\ndata: ${JSON.stringify(first)}\n\n`);
    else (res as ServerResponse & { needsHello?: boolean }).needsHello = true;
  };

  const action = (req: IncomingMessage, res: ServerResponse, method: string): void => {
    if (!(ACTIONS as readonly string[]).includes(method)) return sendJson(res, 404, { error: { code: RPC.METHOD_NOT_FOUND, message: `No action ${method}` } });
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) return sendJson(res, 403, { error: { code: RPC.MISC_ERROR, message: 'Cross-origin request refused' } });
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return sendJson(res, 415, { error: { code: RPC.INVALID_REQUEST, message: 'Send the parameters as application/json' } });
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        if (!over) sendJson(res, 413, { error: { code: RPC.INVALID_REQUEST, message: 'Body too large' } });
        over = true;
        chunks.length = 0;
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (over) return;
      const text = Buffer.concat(chunks).toString('utf8').trim();
      let params: unknown;
      try {
        params = text === '' ? [] : JSON.parse(text);
      } catch {
        return sendJson(res, 400, { error: { code: RPC.PARSE_ERROR, message: 'Parse error' } });
      }
      if (params === null || typeof params !== 'object') return sendJson(res, 400, { error: { code: RPC.INVALID_REQUEST, message: 'Parameters must be a JSON array or object' } });
      stats.actions++;
      o.call(method, params as Json[] | { [k: string]: Json }).then(
        (result) => {
          o.log.info({ method, params }, 'inspector action');
          sendJson(res, 200, { result });
        },
        (err: unknown) => {
          if (err instanceof RpcError) return sendJson(res, actionStatus(err.code), { error: { code: err.code, message: err.message } });
          o.log.error({ err, method }, 'inspector action failed');
          sendJson(res, 500, { error: { code: RPC.MISC_ERROR, message: err instanceof Error ? err.message : String(err) } });
        },
      );
    });
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    stats.requests++;
    res.on('error', () => res.destroy());
    req.on('error', () => req.destroy());
    const url = new URL(req.url ?? '/', 'http://inspector');
    const token = url.searchParams.get('token');

    // The one-time link: trade the token for a session cookie, then drop the token from the address bar.
    if (token !== null && url.pathname === '/') {
      if (sessionOk(req)) return send(res, 303, '', undefined, { Location: '/' });
      if (!o.shared.tokenUsed && sameSecret(token, o.shared.token)) {
        o.shared.tokenUsed = true;
        const sid = randomBytes(32).toString('base64url');
        o.shared.sessions.set(sid, { host: req.headers.host ?? '', until: Date.now() + SESSION_MAX_AGE_S * 1000 });
        o.log.info({ from: req.socket.remoteAddress }, 'inspector: one-time token used, session opened');
        return send(res, 303, '', undefined, {
          Location: '/',
          'Set-Cookie': `${sessionCookie(boundPort())}=${sid}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MAX_AGE_S}`,
        });
      }
      return unauthorized(req, res, true);
    }
    const auth = req.headers.authorization;
    if (!sessionOk(req) && !basicOk(auth)) return unauthorized(req, res, auth !== undefined);

    const path = url.pathname;
    if (req.method === 'POST' && path.startsWith('/api/')) return action(req, res, path.slice(5));
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n', undefined, { Allow: 'GET, POST' });
    if (path === '/events') return stream(req, res);
    if (path === '/api/snapshot') return sendJson(res, 200, o.hello());
    if (path === '/metrics') {
      o.metrics().then(
        (m) => send(res, 200, m.text, m.contentType),
        (err: unknown) => {
          o.log.error({ err }, 'metrics failed');
          send(res, 500, 'metrics failed\n');
        },
      );
      return;
    }
    const asset = assets.get(path);
    if (asset) return send(res, 200, asset.body, asset.type);
    send(res, 404, 'not found\n');
  };

  const server: Server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 }, (req, res) => {
    try {
      onRequest(req, res);
    } catch (err) {
      o.log.error({ err }, 'inspector request failed');
      send(res, 500, 'internal error\n');
    }
  });
  server.maxConnections = maxClients + 32;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    socket.destroy();
  });
  server.on('connection', (socket) => socket.on('error', () => socket.destroy()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(bindError('the inspector', o.host, o.port, '--inspect', err)));
    server.listen(o.port, o.host, () => {
      server.removeAllListeners('error');
      server.on('error', (err) => o.log.error({ err }, 'inspector server error'));
      resolve();
    });
  });

  let closing: Promise<void> | undefined;
  return {
    stats,
    openStreams: () => streams.size,
    address() {
      const a = server.address();
      return a !== null && typeof a === 'object' ? { host: a.address, port: a.port } : { host: o.host, port: o.port };
    },
    broadcast(event, data) {
      if (streams.size === 0) return;
      const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
      let helloFrame: string | undefined;
      for (const res of streams) {
        const r = res as ServerResponse & { needsHello?: boolean };
        if (r.needsHello) {
          r.needsHello = false;
          helloFrame ??= `event: hello\ndata: ${JSON.stringify(o.hello())}\n\n`;
          res.write(helloFrame);
          continue;
        }
        // A page that stopped reading is dropped rather than buffered without end.
        if (res.writableLength > 4 * 1024 * 1024) {
          res.destroy();
          continue;
        }
        res.write(frame);
      }
    },
    close() {
      return (closing ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const res of streams) res.end();
        streams.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }));
    },
  };
}
