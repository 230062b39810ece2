/**
 * Typed refs and names. A `Ref<M>` names an actor by path: it reaches whatever incarnation is
 * alive there (a restarted child is reachable by an old ref), through a cached registry lookup.
 * An `ActorName<M>` is a well-known path with the type of what the actor there accepts: the
 * contract between actors declares it, `runtime.lookup(name)` turns it into a ref.
 */
import type { ExitReason } from './exit.js';
import type { Scheduler } from './scheduler.js';

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

/**
 * A well-known actor: its path, typed with the messages it accepts. `runtime.lookup(name)` gives
 * a `Ref<M>` while an actor is alive there. Like `Ref`, invariant in `M`.
 */
export interface ActorName<M> {
  readonly path: string;
  /** Phantom, never present at run time. */
  readonly __msg: (m: M) => M;
}

/** Names the actor at `path` as accepting `M` (the one place the type of a path is asserted). */
export function actorName<M>(path: string): ActorName<M> {
  return { path } as ActorName<M>;
}

/**
 * The same ref, for a part `N` of what the actor accepts: an actor hands out its own ref to
 * others as a ref to the messages they may send it. Checked: every `N` must be an `M`.
 */
export function narrowRef<N>(ref: RefBase & { readonly __msg: (m: N) => unknown }): Ref<N> {
  return ref as unknown as Ref<N>;
}

/** A live actor's mailbox as refs and `ask` reach it (a cell). @internal */
export interface Mailbox {
  readonly dead: boolean;
  enqueue(msg: unknown): void;
  addDeathWatcher(fn: (reason: ExitReason) => void): void;
  removeDeathWatcher(fn: (reason: ExitReason) => void): void;
}

/** What refs and `ask` use of the runtime: the live mailboxes by path, the clock, dead letters. @internal */
export interface Mailboxes {
  readonly cells: ReadonlyMap<string, Mailbox>;
  readonly scheduler: Scheduler;
  deadLetter(path: string, msg: unknown): void;
}

/** What `tell` and a `send` effect call on a ref. @internal */
export interface Deliverable {
  deliver(msg: unknown): void;
}

/** A ref to an actor: delivers through a cached lookup of the live cell at its path. @internal */
export class ActorRefImpl implements RefBase, Deliverable {
  private cached: Mailbox | undefined;
  constructor(
    readonly runtime: Mailboxes,
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
