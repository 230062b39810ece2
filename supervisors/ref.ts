/**
 * Typed refs. A `Ref<M>` names an actor by path: it reaches whatever incarnation is alive
 * there (a restarted child is reachable by an old ref), through a cached registry lookup.
 */
import type { Cell } from './cell.js';
import type { Runtime } from './runtime.js';

/** Anything that names an actor: enough to monitor it or look it up, not to send to it. */
export interface RefBase {
  readonly path: string;
  readonly name: string;
}

/**
 * A typed reference to an actor accepting `M`. The phantom member makes `Ref<M>` invariant in
 * `M`, so `Ref<PeerMsg>` and `Ref<ChainMsg>` cannot be mixed up (nact's own `Ref<T>` can).
 * It reaches whatever actor is alive at its path (a restarted child is reachable by an old ref).
 */
export interface Ref<M> extends RefBase {
  /** Phantom, never present at run time. */
  readonly __msg: (m: M) => M;
}

/** What `tell` and a `send` effect call on a ref. @internal */
export interface Deliverable {
  deliver(msg: unknown): void;
}

/** A ref to an actor: delivers through a cached lookup of the live cell at its path. @internal */
export class ActorRefImpl implements RefBase, Deliverable {
  private cached: Cell | undefined;
  constructor(
    readonly runtime: Runtime,
    readonly path: string,
    readonly name: string,
  ) {}

  deliver(msg: unknown): void {
    let c = this.cached;
    if (c === undefined || c.dead) {
      c = this.runtime.cells.get(this.path);
      this.cached = c;
      if (c === undefined) {
        this.runtime.deadLetter(this.path, msg);
        return;
      }
    }
    c.enqueue(msg);
  }

  toJSON(): { path: string } {
    return { path: this.path };
  }
}

/** The one-shot `replyTo` ref of an `ask`. @internal */
export class ReplyRefImpl implements RefBase, Deliverable {
  constructor(
    readonly path: string,
    readonly name: string,
    private readonly onReply: (msg: unknown) => void,
  ) {}

  deliver(msg: unknown): void {
    this.onReply(msg);
  }
}
