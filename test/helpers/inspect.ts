/**
 * HTTP helpers for the inspector's tests: plain requests (no redirects followed, so the token's
 * 303 and Set-Cookie are visible), logging in with the one-time link, and reading a
 * Server-Sent Events stream event by event.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders, type ClientRequest } from 'node:http';

export interface HttpReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'GET', headers: { Connection: 'close', ...opts.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function basic(userColonPass: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(userColonPass).toString('base64')}` };
}

/** Opens the one-time link; returns the `Cookie` header value for later requests. */
export async function login(tokenUrl: string): Promise<string> {
  const r = await request(tokenUrl);
  if (r.status !== 303) throw new Error(`token link answered ${r.status}`);
  const set = r.headers['set-cookie']?.[0];
  if (set === undefined) throw new Error('no Set-Cookie');
  return set.split(';')[0]!;
}

/** POSTs JSON to an action; `body` is sent as given when it is a string. */
export function post(base: string, method: string, params: unknown, headers: Record<string, string>): Promise<HttpReply> {
  return request(`${base}api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof params === 'string' ? params : JSON.stringify(params),
  });
}

export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

export interface SseStream {
  readonly status: number;
  /** The next event named `name` (any name when omitted). */
  next(name?: string, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
}

export function openStream(url: string, headers: Record<string, string>): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req: ClientRequest = httpRequest(url, { headers }, (res) => {
      const queue: SseEvent[] = [];
      let waiter: (() => void) | null = null;
      let buf = '';
      let ended = false;
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) queue.push({ event, data: data.join('\n') });
        }
        waiter?.();
      });
      res.on('end', () => {
        ended = true;
        waiter?.();
      });
      res.on('error', () => undefined);
      resolve({
        status: res.statusCode ?? 0,
        async next(name, timeoutMs = 10_000) {
          const end = Date.now() + timeoutMs;
          for (;;) {
            const i = queue.findIndex((e) => name === undefined || e.event === name);
            if (i >= 0) return queue.splice(0, i + 1)[i]!;
            if (ended) throw new Error(`stream ended before event ${name ?? '(any)'}`);
            const left = end - Date.now();
            if (left <= 0) throw new Error(`no event ${name ?? '(any)'} within ${timeoutMs} ms`);
            await new Promise<void>((r) => {
              const t = setTimeout(r, left);
              waiter = () => {
                clearTimeout(t);
                waiter = null;
                r();
              };
            });
          }
        },
        close() {
          req.destroy();
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** One line of the Prometheus text format: a comment (HELP/TYPE) or `name{labels} value`. */
const LINE = /^(?:# (?:HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*|[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (?:[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|Inf)|NaN))$/;

/** Parses the exposition into `name{labels}` → value, failing on any line that is not the format. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    assert.match(line, LINE, `not Prometheus text: ${line}`);
    if (line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
