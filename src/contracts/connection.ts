/**
 * What a connection is, for every actor that deals with one: where it goes (`Endpoint`) and what
 * kind it is (`ConnType`, Core's ConnectionType). The connection manager decides both; the peer,
 * the address book and the block actor read them.
 */
import { normalizeIp } from '../netaddress/netaddress.js';

export type ConnType = 'inbound' | 'outbound-full-relay' | 'block-relay-only' | 'manual' | 'feeler' | 'addr-fetch';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** An addnode entry: where, and whether it is dialled with the BIP324 v2 transport (absent: the node's --v2transport). */
export interface AddedNode extends Endpoint {
  readonly v2transport?: boolean;
}

/** `host:port` (`[v6]:port`), the host normalised: the key an endpoint is known by everywhere. */
export function endpointKey(e: Endpoint): string {
  const h = normalizeIp(e.host);
  return h.includes(':') ? `[${h}]:${e.port}` : `${h}:${e.port}`;
}

/** `HOST:PORT`, `[v6]:PORT` or a bare host (then `defaultPort`) as an endpoint; throws on anything else. */
export function parseEndpoint(text: string, defaultPort: number): Endpoint {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+))(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not HOST:PORT`);
  return { host: m[1] ?? m[2], port: m[3] === undefined ? defaultPort : Number(m[3]) };
}
