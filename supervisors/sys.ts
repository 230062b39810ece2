/**
 * System messages (init, stop, and the chaos crash/stall/socket) that travel in an actor's
 * own mailbox, in order with its other messages, but never reach its `handle`.
 */
import type { ExitReason } from './exit.js';

/** @internal */
export type SysOp =
  | { readonly op: 'init'; readonly args: unknown }
  | { readonly op: 'stop'; readonly reason: ExitReason }
  | { readonly op: 'crash' }
  | { readonly op: 'stall'; readonly ms: number }
  | { readonly op: 'socket' };

/** System messages travel in the actor's own mailbox but never reach `handle`. @internal */
export class Sys {
  constructor(readonly op: SysOp) {}
}

/** Thrown inside an actor by `kill(path, 'crash')`. */
export class InjectedCrash extends Error {
  override readonly name = 'InjectedCrash';
}
