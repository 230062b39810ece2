/**
 * Plain JSON-able summaries of decoded messages, for `peerd decode`, logs and the inspector:
 * hashes in display (byte-reversed) hex, bigints as decimal strings, buffers as hex.
 */
import { formatAddress, isValidAddress, type NetAddress } from './address.js';
import { blockMerkleRoot, type BlockHeader } from './block.js';
import { SERVICE_NAMES, invTypeName } from './constants.js';
import { toDisplayHex } from './hash.js';
import { UNKNOWN_COMMAND, type Message } from './messages.js';

export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };
export type JsonObject = { readonly [key: string]: Json };

/** How many list entries (inventory, addresses, locator hashes) a summary shows before it says "and N more". */
export const SUMMARY_LIST_LIMIT = 20;

/** Service bits as names (unknown bits as `bit-N`). */
export function serviceNames(services: bigint): string[] {
  const out: string[] = [];
  let rest = services;
  for (const [bit, name] of SERVICE_NAMES) {
    if ((services & bit) !== 0n) {
      out.push(name);
      rest &= ~bit;
    }
  }
  for (let i = 0; rest !== 0n; i++, rest >>= 1n) if ((rest & 1n) !== 0n) out.push(`bit-${i}`);
  return out;
}

function addressSummary(a: NetAddress): JsonObject {
  const base: Record<string, Json> = {
    network: typeof a.network === 'number' ? `unknown-${a.network}` : a.network,
    address: formatAddress(a),
    services: a.services.toString(),
    serviceNames: serviceNames(a.services),
    valid: isValidAddress(a),
  };
  if (a.time !== undefined) base.time = a.time;
  return base;
}

export function headerSummary(h: BlockHeader): JsonObject {
  return {
    hash: toDisplayHex(h.hash),
    version: h.version,
    prevBlock: toDisplayHex(h.prevBlock),
    merkleRoot: toDisplayHex(h.merkleRoot),
    time: h.time,
    bits: h.bits.toString(16).padStart(8, '0'),
    nonce: h.nonce,
  };
}

function list<T>(items: readonly T[], f: (x: T) => Json): JsonObject {
  const shown = items.slice(0, SUMMARY_LIST_LIMIT).map(f);
  return items.length > SUMMARY_LIST_LIMIT ? { count: items.length, items: shown, more: items.length - SUMMARY_LIST_LIMIT } : { count: items.length, items: shown };
}

/** A JSON-able description of a message. */
export function messageSummary(m: Message): JsonObject {
  switch (m.command) {
    case 'version': {
      const out: Record<string, Json> = {
        command: 'version',
        version: m.version,
        services: m.services.toString(),
        serviceNames: serviceNames(m.services),
        timestamp: m.timestamp.toString(),
        addrRecv: addressSummary(m.addrRecv),
        addrFrom: addressSummary(m.addrFrom),
        nonce: m.nonce.toString(),
        userAgent: m.userAgent,
        startHeight: m.startHeight,
      };
      if (m.relay !== undefined) out.relay = m.relay;
      return out;
    }
    case 'verack':
    case 'getaddr':
    case 'sendaddrv2':
    case 'sendheaders':
    case 'wtxidrelay':
    case 'mempool':
      return { command: m.command };
    case 'ping':
      return m.nonce === undefined ? { command: 'ping', nonce: null } : { command: 'ping', nonce: m.nonce.toString() };
    case 'pong':
      return { command: 'pong', nonce: m.nonce.toString() };
    case 'addr':
    case 'addrv2':
      return { command: m.command, ...list(m.addresses, addressSummary) };
    case 'inv':
    case 'getdata':
    case 'notfound':
      return { command: m.command, ...list(m.items, (it) => ({ type: invTypeName(it.type), hash: toDisplayHex(it.hash) })) };
    case 'getheaders':
    case 'getblocks':
      return { command: m.command, version: m.version, ...list(m.locator, (h) => toDisplayHex(h)), hashStop: toDisplayHex(m.hashStop) };
    case 'headers': {
      const hs = m.headers;
      let chained = true;
      for (let i = 1; i < hs.length && chained; i++) chained = hs[i].prevBlock.equals(hs[i - 1].hash);
      return {
        command: 'headers',
        count: hs.length,
        first: hs.length > 0 ? toDisplayHex(hs[0].hash) : null,
        last: hs.length > 0 ? toDisplayHex(hs[hs.length - 1].hash) : null,
        chained,
      };
    }
    case 'block': {
      const b = m.block;
      const merkle = blockMerkleRoot(b);
      return {
        command: 'block',
        hash: toDisplayHex(b.header.hash),
        header: headerSummary(b.header),
        txCount: b.txs.length,
        size: b.size,
        strippedSize: b.strippedSize,
        weight: b.weight,
        merkleRootValid: merkle.root.equals(b.header.merkleRoot) && !merkle.mutated,
        merkleMutated: merkle.mutated,
      };
    }
    case 'tx':
      return {
        command: 'tx',
        txid: toDisplayHex(m.tx.txid),
        wtxid: toDisplayHex(m.tx.wtxid),
        version: m.tx.version,
        inputs: m.tx.inputs.length,
        outputs: m.tx.outputs.length,
        locktime: m.tx.locktime,
        size: m.tx.size,
        weight: m.tx.weight,
      };
    case 'sendcmpct':
      return { command: 'sendcmpct', announce: m.announce, version: m.version.toString() };
    case 'feefilter':
      return { command: 'feefilter', feeRate: m.feeRate.toString() };
    case 'reject': {
      const out: Record<string, Json> = { command: 'reject', message: m.message, code: m.code, reason: m.reason };
      if (m.data !== undefined) out.data = toDisplayHex(m.data);
      return out;
    }
    case UNKNOWN_COMMAND:
      return { command: UNKNOWN_COMMAND, name: m.name, payloadSize: m.payload.length, payloadHead: m.payload.subarray(0, 64).toString('hex') };
  }
}
