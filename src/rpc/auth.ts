/**
 * RPC credentials as Core: a cookie file (`__cookie__:<64 hex>`, written to a temporary file
 * with mode 0600 and renamed into place, removed on clean shutdown) unless rpcpassword is set.
 * The check compares HMACs of the presented and the expected `user:password` with
 * timingSafeEqual, so neither length nor content leaks through timing.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export const COOKIE_USER = '__cookie__';
export const COOKIE_FILE = '.cookie';

/** Where the cookie lives: `rpccookiefile` (relative to the network datadir) or `.cookie` there. */
export function cookiePath(networkDir: string, rpccookiefile = ''): string {
  if (rpccookiefile === '') return join(networkDir, COOKIE_FILE);
  return isAbsolute(rpccookiefile) ? rpccookiefile : join(networkDir, rpccookiefile);
}

/** Writes a fresh cookie; returns `user:password`. */
export function writeCookie(path: string): string {
  const cookie = `${COOKIE_USER}:${randomBytes(32).toString('hex')}`;
  const tmp = `${path}.tmp`;
  // A fresh file, created 0600 (O_EXCL): a temporary file left by someone else never lends its mode or owner.
  rmSync(tmp, { force: true });
  writeFileSync(tmp, cookie, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
  return cookie;
}

/** Removes the cookie if it is still the one we wrote (another node may have replaced it). */
export function removeCookie(path: string, cookie: string): void {
  try {
    if (readFileSync(path, 'utf8').split('\n')[0] === cookie) rmSync(path, { force: true });
  } catch {
    // Already gone.
  }
}

/** Reads `user:password` from a cookie file (first line), or null. */
export function readCookie(path: string): string | null {
  try {
    const line = readFileSync(path, 'utf8').split('\n')[0].trim();
    return line.includes(':') ? line : null;
  } catch {
    return null;
  }
}

/**
 * The RPC server's bound address (`host:port`), written beside the cookie by the node that holds
 * the datadir (port 0 resolved) and removed when its server stops: `peerd rpc` and the friendly
 * commands given a `--datadir` and no `--rpcport` reach that node, not whatever listens on the
 * network's default port.
 */
export const RPC_ADDRESS_FILE = '.rpcaddress';

export function writeRpcAddress(networkDir: string, address: { host: string; port: number }): string {
  const text = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  const path = join(networkDir, RPC_ADDRESS_FILE);
  writeFileSync(`${path}.tmp`, `${text}\n`);
  renameSync(`${path}.tmp`, path);
  return text;
}

export function removeRpcAddress(networkDir: string, text: string): void {
  const path = join(networkDir, RPC_ADDRESS_FILE);
  try {
    if (readFileSync(path, 'utf8').trim() === text) rmSync(path, { force: true });
  } catch {
    // Already gone.
  }
}

export function readRpcAddress(networkDir: string): { host: string; port: number } | null {
  try {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(readFileSync(join(networkDir, RPC_ADDRESS_FILE), 'utf8').trim());
    if (!m) return null;
    const port = Number(m[3]);
    return port > 0 && port < 65536 ? { host: m[1] ?? m[2], port } : null;
  } catch {
    return null;
  }
}

/** A checker for `Authorization` headers against one `user:password`. */
export function basicAuthChecker(userColonPass: string): (header: string | undefined) => boolean {
  const key = randomBytes(32);
  const mac = (s: Buffer): Buffer => createHmac('sha256', key).update(s).digest();
  const expected = mac(Buffer.from(userColonPass, 'utf8'));
  return (header) => {
    if (header === undefined || !header.startsWith('Basic ')) return false;
    const b64 = header.slice(6).trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return false;
    const presented = Buffer.from(b64, 'base64');
    if (!presented.includes(0x3a)) return false; // no ':' → invalid basic auth
    return timingSafeEqual(mac(presented), expected);
  };
}
