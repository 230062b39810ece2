/**
 * A small typed view of the nact 7.6.2 internals this layer reaches into, and the runtime
 * patch of `Actor.prototype.stop` / `ActorSystem.prototype.stop` that makes stopping an actor
 * stop its whole subtree (nact 7.6.2 detaches descendants without stopping them; notes §1.6).
 *
 * nact is CommonJS without an `exports` map, so its `lib/*.js` files are loaded with
 * `createRequire` and given the interfaces below (only the members we use).
 */
import { createRequire } from 'node:module';

export interface NactPath {
  readonly parts: readonly string[];
  toString(): string;
}

export interface NactRef {
  readonly type: string;
  readonly name?: string;
  readonly path: NactPath;
  readonly system: { readonly name: string };
}

export interface NactMailbox {
  readonly length: number;
}

/** The concrete actor object (lib/actor.js `Actor`). */
export interface NactActor {
  readonly name: string;
  readonly path: NactPath;
  readonly reference: NactRef;
  readonly children: Map<string, NactActor>;
  readonly mailbox: NactMailbox;
  readonly stopped: boolean;
  readonly busy: boolean;
  readonly state: unknown;
  dispatch(message: unknown, sender?: unknown): void;
  stop(): void;
}

/** The concrete system object (lib/system.js `ActorSystem`). */
export interface NactSystem {
  readonly name: string;
  readonly reference: NactRef;
  readonly children: Map<string, NactActor>;
  readonly stopped: boolean;
  stop(): void;
}

/** The decisions nact puts on the supervision context given to `onCrash`. */
export interface NactSupervisionContext {
  readonly stop: symbol;
  readonly resume: symbol;
}

export type NactHandler = (state: unknown, msg: unknown, ctx: unknown) => unknown;
export type NactOnCrash = (msg: unknown, err: unknown, ctx: NactSupervisionContext) => symbol;

interface NactIndex {
  start(opts: { name: string }): NactRef;
  spawn(parent: NactRef, f: NactHandler, name: string, props: { onCrash: NactOnCrash }): NactRef;
  stop(ref: NactRef): void;
  dispatch(ref: NactRef, msg: unknown): void;
}

interface NactSystemMap {
  find(systemName: string, ref?: NactRef): unknown;
}

interface StopProto {
  stop(this: NactActor | NactSystem): void;
}

const require = createRequire(import.meta.url);
const nactIndex = require('nact') as NactIndex;
const systemMap = require('nact/lib/system-map.js') as NactSystemMap;
const actorModule = require('nact/lib/actor.js') as { Actor: { prototype: StopProto } };

export const nact = nactIndex;

export function findActor(ref: NactRef): NactActor | undefined {
  return systemMap.find(ref.system.name, ref) as NactActor | undefined;
}

export function findSystem(name: string): NactSystem | undefined {
  return systemMap.find(name) as NactSystem | undefined;
}

/** Called by the patched stop: `stopping` before the subtree is stopped, `stopped` after. */
export interface StopHooks {
  stopping(actor: NactActor): void;
  stopped(actor: NactActor): void;
}

let hooks: StopHooks | undefined;
let actorPatched = false;
let systemPatched = false;

/**
 * Installs (once) the subtree-stopping `stop`: children are stopped first, newest first
 * (reverse start order), then the actor itself; a second stop is a no-op. Idempotent.
 */
export function installStopPatch(h: StopHooks): void {
  hooks = h;
  if (actorPatched) return;
  actorPatched = true;
  const proto = actorModule.Actor.prototype;
  const original = proto.stop;
  proto.stop = function patchedStop(this: NactActor): void {
    if (this.stopped) return;
    hooks?.stopping(this);
    const kids = [...this.children.values()];
    for (let i = kids.length - 1; i >= 0; i--) kids[i]!.stop();
    original.call(this);
    hooks?.stopped(this);
  };
}

/** Patches the system class too (found through a live system: the class is not exported). */
export function patchSystemStop(system: NactSystem): void {
  if (systemPatched) return;
  systemPatched = true;
  const proto = Object.getPrototypeOf(system) as StopProto;
  const original = proto.stop;
  proto.stop = function patchedSystemStop(this: NactSystem): void {
    if (this.stopped) return;
    const kids = [...this.children.values()];
    for (let i = kids.length - 1; i >= 0; i--) kids[i]!.stop();
    original.call(this);
  };
}
