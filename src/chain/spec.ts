/** How the node plugs the block actor in: the `chain` child from the settings, the network and the upload budget it shares. */
import { worker, type ChildSpec } from '../../supervisors/index.js';
import type { Settings } from '../config/options.js';
import type { NetworkParams } from '../wire/network.js';
import type { NetThrottle } from '../throttle/throttle.js';
import { uploadStatus, type UploadTarget } from '../throttle/upload-target.js';
import { chainActor, type ChainArgs } from './actor.js';

/** Block actor tuning a library user may pass (tests: short stall timeouts, a low minimum chain work). */
export type ChainTuning = Pick<ChainArgs, 'config' | 'minimumChainWork' | 'sync' | 'tickMs' | 'progressBar' | 'checkThreads'>;

/** What the block actor shares with the rest of the node and keeps across its restarts. */
export interface ChainShared {
  /** Bytes sent since start (the upload budget counts them). */
  readonly throttle: NetThrottle;
  /** The daily upload budget: historical blocks are served while it allows. */
  readonly upload: UploadTarget;
  /** --reindex: pending until the first start of the actor has rebuilt the index (its restarts do not). */
  readonly reindex: { pending: boolean };
}

/** The `chain` child: blocks in `<dir>/blocks`, `pruneTarget` bytes kept (0 = all). */
export function chainSpec(settings: Settings, params: NetworkParams, o: { dir: string; pruneTarget: number; tuning?: ChainTuning }, shared: ChainShared): ChildSpec {
  return worker(
    chainActor,
    {
      params,
      dir: o.dir,
      pruneTarget: o.pruneTarget,
      blocksXor: settings.blocksxor,
      reindex: shared.reindex,
      ...o.tuning,
      serveHistorical: () => uploadStatus(shared.upload, shared.throttle.totalSent, Date.now()).serve_historical_blocks,
    },
    { id: 'chain', restart: 'permanent', shutdown: 10_000 },
  );
}
