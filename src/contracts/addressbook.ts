/**
 * The address book's contract (`/root/addressbook`): what peers, the connection manager and the
 * operator (RPC, the node handle) send it, and what it answers. Learned addresses, bans and
 * discouragements live there; the manager asks it for dial candidates (`select`) and receives a
 * copy of the ban list (`ban-list`) on every change.
 */
import { actorName, type Ref } from '../../supervisors/index.js';
import type { BanList } from './bans.js';
import type { ConnType, Endpoint } from './connection.js';
import type { FromPeer, PeerMsg } from './peer.js';
import { ROOT } from './root.js';

/**
 * A dial candidate from the address book. `anchor`: one of the block-relay-only peers in use
 * at the last shutdown (Core's anchors.dat), to be dialled as block-relay-only before anything else.
 * `services`: what the book knows the address offers (absent: nothing known).
 */
export interface Candidate extends Endpoint {
  readonly anchor?: boolean;
  /** The services the book knows it for (the manager dials with v2 when they include NODE_P2P_V2). */
  readonly services?: bigint;
}

/** getpeerinfo's addr_processed and addr_rate_limited of one peer (the rate limiter is in the book). */
export interface PeerAddrCounts {
  readonly id: number;
  readonly addrProcessed: number;
  readonly addrRateLimited: number;
}

export interface BanReply {
  readonly ok: boolean;
  readonly error?: string;
}

/** Core's listbanned entry. Times in seconds. */
export interface BanEntryJson {
  readonly address: string;
  readonly ban_created: number;
  readonly banned_until: number;
  readonly ban_duration: number;
  readonly time_remaining: number;
  readonly reason: string;
}

/** Core's getnodeaddresses entry. */
export interface NodeAddressJson {
  readonly time: number;
  readonly services: number;
  readonly address: string;
  readonly port: number;
  readonly network: string;
}

export interface TableCounts {
  readonly new: number;
  readonly tried: number;
  readonly total: number;
}

/** Core's getaddrmaninfo: per network and `all_networks`. */
export type AddrmanInfo = Readonly<Record<string, TableCounts>>;

/** Told (once) to whoever asked `select` with `notify`, at the next change of the book: new addresses, a tried promotion, an unban. */
export interface BookChanged {
  readonly type: 'book-changed';
}

/** The ban list as the connection manager receives it (a copy: nothing is shared). */
export interface BanListUpdate {
  readonly type: 'ban-list';
  readonly bans: BanList;
}

export type AddressBookMsg =
  | FromPeer
  /** Dial candidates for the manager: never connected, never in an excluded group. */
  | {
      readonly type: 'select';
      readonly purpose: 'outbound' | 'feeler';
      readonly count: number;
      readonly excludeGroups: readonly string[];
      readonly excludeEndpoints?: readonly string[];
      /** Told `book-changed` once at the next change after this request (the latest asker only). */
      readonly notify?: Ref<BookChanged>;
      /** Anchors come first, marked `anchor: true`. */
      readonly replyTo: Ref<readonly Candidate[]>;
    }
  | { readonly type: 'attempt'; readonly endpoint: Endpoint; readonly ok: boolean; readonly connType: ConnType }
  | { readonly type: 'peer-connected'; readonly id: number; readonly endpoint: Endpoint; readonly connType: ConnType; readonly services: bigint; readonly ref?: Ref<PeerMsg> }
  | { readonly type: 'peer-disconnected'; readonly id: number }
  | { readonly type: 'misbehaving'; readonly endpoint: Endpoint; readonly reason: string }
  | { readonly type: 'ban'; readonly subnet: string; readonly untilMs: number; readonly reason: string; readonly replyTo: Ref<BanReply> }
  | { readonly type: 'unban'; readonly subnet: string; readonly replyTo: Ref<BanReply> }
  | { readonly type: 'list-bans'; readonly replyTo: Ref<BanEntryJson[]> }
  | { readonly type: 'clear-bans'; readonly replyTo: Ref<BanReply> }
  | { readonly type: 'is-banned'; readonly ip: string; readonly replyTo: Ref<{ readonly banned: boolean; readonly discouraged: boolean }> }
  | { readonly type: 'node-addresses'; readonly count: number; readonly network?: string; readonly replyTo: Ref<NodeAddressJson[]> }
  | { readonly type: 'info'; readonly replyTo: Ref<AddrmanInfo> }
  /** getpeerinfo's addr_processed and addr_rate_limited of every peer the book knows. */
  | { readonly type: 'peer-addr-counts'; readonly replyTo: Ref<PeerAddrCounts[]> }
  /** The manager (re)started: it wants the ban list now and on every change. */
  | { readonly type: 'sync-bans'; readonly replyTo: Ref<BanListUpdate> }
  /** Writes the snapshot now (timer, or a test/operator asking). */
  | { readonly type: 'flush'; readonly replyTo?: Ref<BanReply> };

/** What the operator asks the address book (RPC setban/listbanned/clearbanned, getnodeaddresses, getaddrmaninfo, getpeerinfo's counts). */
export type AddressBookQuery = Extract<AddressBookMsg, { readonly type: 'ban' | 'unban' | 'list-bans' | 'clear-bans' | 'node-addresses' | 'info' | 'peer-addr-counts' }>;

export const ADDRESSBOOK = actorName<AddressBookMsg>(`${ROOT.path}/addressbook`);
