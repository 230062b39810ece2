/**
 * Bitcoin Core's JSON-RPC dialect, without I/O: error codes (src/rpc/protocol.h), request
 * parsing (src/rpc/request.cpp), reply shapes and HTTP status codes (src/httprpc.cpp).
 *
 * - A single request in JSON-RPC 1.0 (no `jsonrpc`, or `"1.0"`): the reply always carries
 *   `result`, `error` and `id`; an error is sent with HTTP 400 (invalid request), 404 (method
 *   not found) or 500 (anything else), as Core's `JSONErrorReply`.
 * - A single request in 2.0: errors are caught and returned with HTTP 200 as
 *   `{jsonrpc, error, id}` (no `result`); a notification (no `id`) gets 204 and no body.
 * - A batch (array): HTTP 200 always, one reply per non-notification member; an
 *   all-notification (non-empty) batch gets 204; an empty batch gets `[]`.
 * - A body that is not JSON: -32700 "Parse error"; a JSON scalar: -32700 "Top-level object parse error".
 */

export const RPC = {
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  PARSE_ERROR: -32700,
  MISC_ERROR: -1,
  TYPE_ERROR: -3,
  INVALID_ADDRESS_OR_KEY: -5,
  INVALID_PARAMETER: -8,
  DATABASE_ERROR: -20,
  IN_WARMUP: -28,
  CLIENT_NOT_CONNECTED: -9,
  CLIENT_NODE_ALREADY_ADDED: -23,
  CLIENT_NODE_NOT_ADDED: -24,
  CLIENT_NODE_NOT_CONNECTED: -29,
  CLIENT_INVALID_IP_OR_SUBNET: -30,
  CLIENT_P2P_DISABLED: -31,
} as const;

/** An error the client sees as `{code, message}`. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export type JsonRpcVersion = '1.0' | '2.0';

export interface ParsedRequest {
  /** Absent (2.0 notification) is distinct from null. */
  readonly id: Json | undefined;
  readonly version: JsonRpcVersion;
  readonly method: string;
  readonly params: Json[] | JsonObject;
}

export interface ErrorObject {
  readonly code: number;
  readonly message: string;
}

/** Executes one parsed request: resolves with the result or rejects (RpcError, or anything: then -1 with its message). */
export type Dispatch = (req: ParsedRequest) => Promise<Json>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** As Core's JSONRPCRequest::parse; `partial` receives the id and version as soon as they are known (errors carry them). */
export function parseRequest(v: Json, partial: { id: Json | undefined; version: JsonRpcVersion }): ParsedRequest {
  if (!isObject(v)) throw new RpcError(RPC.INVALID_REQUEST, 'Invalid Request object');
  partial.id = Object.hasOwn(v, 'id') ? v.id : undefined;
  partial.version = '1.0';
  const jv = v.jsonrpc;
  if (jv !== undefined && jv !== null) {
    if (typeof jv !== 'string') throw new RpcError(RPC.INVALID_REQUEST, 'jsonrpc field must be a string');
    if (jv === '2.0') partial.version = '2.0';
    else if (jv !== '1.0') throw new RpcError(RPC.INVALID_REQUEST, 'JSON-RPC version not supported');
  }
  const method = v.method;
  if (method === undefined || method === null) throw new RpcError(RPC.INVALID_REQUEST, 'Missing method');
  if (typeof method !== 'string') throw new RpcError(RPC.INVALID_REQUEST, 'Method must be a string');
  const p = v.params;
  let params: Json[] | JsonObject;
  if (Array.isArray(p) || isObject(p)) params = p;
  else if (p === undefined || p === null) params = [];
  else throw new RpcError(RPC.INVALID_REQUEST, 'Params must be an array or object');
  return { id: partial.id, version: partial.version, method, params };
}

/** Core's JSONRPCReplyObj. */
export function replyObject(result: Json, error: ErrorObject | null, id: Json | undefined, version: JsonRpcVersion): JsonObject {
  const out: JsonObject = {};
  if (version === '2.0') out.jsonrpc = '2.0';
  if (error === null) {
    out.result = result;
    if (version === '1.0') out.error = null;
  } else {
    if (version === '1.0') out.result = null;
    out.error = { code: error.code, message: error.message };
  }
  // Core's JSONRPCRequest starts with id = null; only a 2.0 notification has none.
  if (id !== undefined || version === '1.0') out.id = id ?? null;
  return out;
}

export function toErrorObject(err: unknown): ErrorObject {
  if (err instanceof RpcError) return { code: err.code, message: err.message };
  return { code: RPC.MISC_ERROR, message: err instanceof Error ? err.message : String(err) };
}

/** Core's JSONErrorReply status for a 1.0 error. */
export function httpStatusForError(code: number): number {
  if (code === RPC.INVALID_REQUEST) return 400;
  if (code === RPC.METHOD_NOT_FOUND) return 404;
  return 500;
}

export interface HttpReply {
  readonly status: number;
  /** null: no body (204). */
  readonly body: string | null;
}

function isNotification(r: { id: Json | undefined; version: JsonRpcVersion }): boolean {
  return r.id === undefined && r.version === '2.0';
}

/** Most requests in one JSON-RPC batch. */
export const MAX_BATCH = 1000;

/** Turns a request body into Core's HTTP reply. Never throws; whatever `dispatch` does is caught. */
export async function handleBody(body: string, dispatch: Dispatch): Promise<HttpReply> {
  let value: Json;
  try {
    value = JSON.parse(body) as Json;
  } catch {
    return legacyError({ code: RPC.PARSE_ERROR, message: 'Parse error' }, null);
  }
  if (Array.isArray(value)) {
    // A bound on the work one request can ask for (the body is bounded too, but 1 MB of `[{"method":"getpeerinfo"},…]` is ~40,000 calls).
    if (value.length > MAX_BATCH) return legacyError({ code: RPC.INVALID_REQUEST, message: `Batch of ${value.length} requests: at most ${MAX_BATCH}` }, null);
    const replies: JsonObject[] = [];
    for (const member of value) {
      const partial: { id: Json | undefined; version: JsonRpcVersion } = { id: null, version: '1.0' };
      let reply: JsonObject;
      try {
        const req = parseRequest(member, partial);
        reply = replyObject(await run(dispatch, req), null, req.id, req.version);
      } catch (err) {
        reply = replyObject(null, toErrorObject(err), partial.id, partial.version);
      }
      if (!isNotification(partial)) replies.push(reply);
    }
    if (replies.length === 0 && value.length > 0) return { status: 204, body: null };
    return { status: 200, body: JSON.stringify(replies) + '\n' };
  }
  if (!isObject(value)) return legacyError({ code: RPC.PARSE_ERROR, message: 'Top-level object parse error' }, null);
  const partial: { id: Json | undefined; version: JsonRpcVersion } = { id: null, version: '1.0' };
  let req: ParsedRequest;
  try {
    req = parseRequest(value, partial);
  } catch (err) {
    // Core throws from parse() before the 2.0 catch: the legacy HTTP error, even for a 2.0 body.
    return { status: httpStatusForError(toErrorObject(err).code), body: JSON.stringify(replyObject(null, toErrorObject(err), partial.id, partial.version)) + '\n' };
  }
  let reply: JsonObject;
  try {
    reply = replyObject(await run(dispatch, req), null, req.id, req.version);
  } catch (err) {
    const e = toErrorObject(err);
    if (req.version === '1.0') return legacyError(e, req.id ?? null);
    reply = replyObject(null, e, req.id, req.version);
  }
  if (isNotification(req)) return { status: 204, body: null };
  return { status: 200, body: JSON.stringify(reply) + '\n' };
}

async function run(dispatch: Dispatch, req: ParsedRequest): Promise<Json> {
  const r = await dispatch(req);
  return r === undefined ? null : r;
}

function legacyError(e: ErrorObject, id: Json): HttpReply {
  return { status: httpStatusForError(e.code), body: JSON.stringify(replyObject(null, e, id, '1.0')) + '\n' };
}

/** JSON.stringify for values that may hold bigints (as numbers when safe, else strings) or cycles. */
export function toJson(v: unknown): Json {
  const seen = new WeakSet<object>();
  const walk = (x: unknown): Json => {
    if (x === null || x === undefined) return null;
    if (typeof x === 'bigint') return x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x.toString();
    if (typeof x === 'number') return Number.isFinite(x) ? x : null;
    if (typeof x === 'string' || typeof x === 'boolean') return x;
    if (typeof x === 'function' || typeof x === 'symbol') return null;
    if (Buffer.isBuffer(x)) return x.toString('hex');
    if (typeof x === 'object') {
      if (seen.has(x)) return '[circular]';
      seen.add(x);
      let out: Json;
      if (Array.isArray(x)) out = x.map(walk);
      else if (x instanceof Map) out = Object.fromEntries([...x].map(([k, val]) => [String(k), walk(val)]));
      else if (x instanceof Set) out = [...x].map(walk);
      else {
        const o: JsonObject = {};
        for (const [k, val] of Object.entries(x)) if (val !== undefined) o[k] = walk(val);
        out = o;
      }
      seen.delete(x);
      return out;
    }
    return null;
  };
  return walk(v);
}
