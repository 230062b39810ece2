/** How the node plugs the address book in: the `addressbook` child from the settings and the network. */
import { worker, type ChildSpec } from '../../supervisors/index.js';
import type { Settings } from '../config/options.js';
import type { NetworkParams } from '../wire/network.js';
import type { NetGroupManager } from '../netaddress/netgroup.js';
import { addressBookActor, DEFAULT_FLUSH_MS, type Resolver } from './actor.js';
import { loadFixedSeeds } from './seeds.js';

export interface AddressBookSpecOptions {
  /** When the node started, ms (the fixed seeds' 60 s wait counts from it). */
  readonly startedAtMs: number;
  /** Network groups, the same rule as the connection manager's. */
  readonly netgroups: NetGroupManager;
  /** Snapshot interval, ms (default Core's 15 min). */
  readonly flushMs?: number;
  readonly resolver?: Resolver;
  readonly dnsDelayMs?: number;
  /** Fixed seeds instead of the network's shipped list. */
  readonly fixedSeeds?: readonly string[];
}

/** The `addressbook` child. */
export function addressbookSpec(settings: Settings, params: NetworkParams, o: AddressBookSpecOptions): ChildSpec {
  return worker(
    addressBookActor,
    {
      netgroups: o.netgroups,
      defaultPort: params.defaultPort,
      dnsSeeds: params.dnsSeeds,
      fixedSeeds: o.fixedSeeds ?? params.fixedSeeds ?? loadFixedSeeds(params.name),
      dnsseed: settings.dnsseed,
      // Core: -connect never reaches the fixed seeds; -addnode/-seednode make them wait 60 s.
      fixedseeds: settings.fixedseeds && settings.connect.length === 0,
      manualPeers: settings.addnode.length + settings.seednode.length > 0,
      startedAtMs: o.startedAtMs,
      // Regtest nodes live on 127.0.0.1: keep loopback addresses there (Core drops them elsewhere).
      allowLocal: settings.network === 'regtest',
      flushMs: o.flushMs ?? DEFAULT_FLUSH_MS,
      ...(o.resolver ? { resolver: o.resolver } : {}),
      ...(o.dnsDelayMs !== undefined ? { dnsDelayMs: o.dnsDelayMs } : {}),
    },
    { id: 'addressbook', restart: 'permanent', shutdown: 10_000 },
  );
}
