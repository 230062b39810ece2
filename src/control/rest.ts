/**
 * Bitcoin Core's REST interface (`rest.cpp`), the part peerd has the data for, served on the RPC
 * port with `--rest`. As in Core it is read-only and needs no credentials (it publishes only
 * public chain data); the RPC server's address checks (`--rpcallowip`) still apply.
 *
 *   /rest/block/<hash>.<bin|hex|json>             the block (json: see below)
 *   /rest/block/notxdetails/<hash>.<bin|hex|json> the block, json with txids only
 *   /rest/headers/<hash>.<bin|hex|json>?count=N   N headers (1–2000, default 5) of the active
 *                                                 chain from <hash> (also /rest/headers/<N>/<hash>.<fmt>)
 *   /rest/blockhashbyheight/<height>.<bin|hex|json>
 *   /rest/chaininfo.json                          getblockchaininfo
 *
 * `/rest/block/<hash>.json` in Core decodes every transaction (getblock verbosity 2); peerd keeps
 * no transaction details, so that form answers 400 and names the others. Errors are Core's: a
 * status and one line of text ending in CRLF. The answers are built from the RPC method table, so
 * they are what `getblock`, `getblockheader`, `getblockhash` and `getblockchaininfo` say.
 */
import { RpcError, type Json } from '../rpc/protocol.js';

export type RestFormat = 'bin' | 'hex' | 'json';

export interface RestReply {
  readonly status: number;
  readonly type: string;
  readonly body: string | Buffer;
}

/** Runs one RPC method (the method table); throws RpcError as the RPC would answer it. */
export type RestCall = (method: string, params: Json[]) => Promise<Json>;

/** Core's MAX_REST_HEADERS_RESULTS. */
export const MAX_REST_HEADERS = 2000;
const FORMATS: readonly RestFormat[] = ['bin', 'hex', 'json'];

const error = (status: number, message: string): RestReply => ({ status, type: 'text/plain', body: `${message}\r\n` });

/** Splits `name.ext` into its name and a known format; null when the format is not one of `allowed`. */
function splitFormat(last: string, allowed: readonly RestFormat[]): { name: string; format: RestFormat } | null {
  const dot = last.lastIndexOf('.');
  if (dot < 0) return null;
  const ext = last.slice(dot + 1);
  const format = allowed.find((f) => f === ext);
  return format === undefined ? null : { name: last.slice(0, dot), format };
}

function formatError(allowed: readonly RestFormat[]): RestReply {
  return error(404, `output format not found (available: ${allowed.map((f) => `.${f}`).join(', ')})`);
}

const isHash = (s: string): boolean => /^[0-9a-fA-F]{64}$/.test(s);

function reply(format: RestFormat, bytes: Buffer, json: Json): RestReply {
  if (format === 'bin') return { status: 200, type: 'application/octet-stream', body: bytes };
  if (format === 'hex') return { status: 200, type: 'text/plain', body: `${bytes.toString('hex')}\n` };
  return { status: 200, type: 'application/json', body: `${JSON.stringify(json)}\n` };
}

async function block(call: RestCall, rest: string, txDetails: boolean): Promise<RestReply> {
  const f = splitFormat(rest, FORMATS);
  if (f === null) return formatError(FORMATS);
  if (!isHash(f.name)) return error(400, `Invalid hash: ${f.name}`);
  if (f.format === 'json' && txDetails) {
    return error(400, 'peerd keeps no transaction details: use /rest/block/notxdetails/<hash>.json, or .bin or .hex');
  }
  try {
    if (f.format === 'json') return reply('json', Buffer.alloc(0), await call('getblock', [f.name, 1]));
    const hex = await call('getblock', [f.name, 0]);
    return reply(f.format, Buffer.from(String(hex), 'hex'), null);
  } catch (err) {
    if (err instanceof RpcError) return error(404, `${f.name} not found`);
    throw err;
  }
}

async function headers(call: RestCall, hashPart: string, countText: string | null): Promise<RestReply> {
  const f = splitFormat(hashPart, FORMATS);
  if (f === null) return formatError(FORMATS);
  const raw = countText ?? '5';
  const count = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(count) || count < 1 || count > MAX_REST_HEADERS) {
    return error(400, `Header count is invalid or out of acceptable range (1-${MAX_REST_HEADERS}): ${raw}`);
  }
  if (!isHash(f.name)) return error(400, `Invalid hash: ${f.name}`);
  // From the hash along the active chain; a header that is not on it (or unknown) gives none, as Core.
  const found: { hex: string; json: Json }[] = [];
  let first: Json;
  try {
    first = await call('getblockheader', [f.name, true]);
  } catch (err) {
    if (!(err instanceof RpcError)) throw err;
    first = null;
  }
  if (first !== null && typeof first === 'object' && !Array.isArray(first) && typeof first.height === 'number' && first.confirmations !== -1) {
    for (let h = first.height; found.length < count; h++) {
      let hash: Json;
      try {
        hash = await call('getblockhash', [h]);
      } catch (err) {
        if (err instanceof RpcError) break; // past the tip
        throw err;
      }
      const [json, hex] = await Promise.all([call('getblockheader', [hash, true]), call('getblockheader', [hash, false])]);
      found.push({ hex: String(hex), json });
    }
  }
  return reply(f.format, Buffer.from(found.map((x) => x.hex).join(''), 'hex'), found.map((x) => x.json));
}

async function hashByHeight(call: RestCall, rest: string): Promise<RestReply> {
  const f = splitFormat(rest, FORMATS);
  if (f === null) return formatError(FORMATS);
  if (!/^\d{1,10}$/.test(f.name) || Number(f.name) > 0x7fffffff) return error(400, `Invalid height: ${f.name.replace(/[^0-9A-Za-z .,;_/:?@()-]/g, '')}`);
  let hash: Json;
  try {
    hash = await call('getblockhash', [Number(f.name)]);
  } catch (err) {
    if (err instanceof RpcError) return error(404, 'Block height out of range');
    throw err;
  }
  const display = String(hash);
  // bin is the hash in its internal byte order (as a uint256 serialises); hex is the display form, as Core's GetHex.
  if (f.format === 'hex') return { status: 200, type: 'text/plain', body: `${display}\n` };
  return reply(f.format, Buffer.from(display, 'hex').reverse(), { blockhash: display });
}

/** Answers one GET under /rest/ (`url` is the request's path and query). */
export async function restRequest(url: string, call: RestCall): Promise<RestReply> {
  const u = new URL(url, 'http://rest');
  const parts = u.pathname.split('/').filter((p) => p !== '');
  if (parts[0] !== 'rest' || parts.length < 2) return error(404, 'Not found');
  const [, kind, a, b] = parts;
  if (kind === 'block' && a === 'notxdetails' && b !== undefined && parts.length === 4) return block(call, b, false);
  if (kind === 'block' && a !== undefined && parts.length === 3) return block(call, a, true);
  if (kind === 'headers' && a !== undefined && parts.length === 3) return headers(call, a, u.searchParams.get('count'));
  if (kind === 'headers' && a !== undefined && b !== undefined && parts.length === 4) return headers(call, b, a);
  if (kind === 'blockhashbyheight' && a !== undefined && parts.length === 3) return hashByHeight(call, a);
  if (kind !== undefined && kind.startsWith('chaininfo') && parts.length === 2) {
    const f = splitFormat(kind, ['json']);
    if (f === null || f.name !== 'chaininfo') return formatError(['json']);
    return reply('json', Buffer.alloc(0), await call('getblockchaininfo', []));
  }
  return error(404, 'Not found');
}
