/**
 * `tell` (fire and forget, dead letters counted) and `ask` (request/reply with a one-shot
 * `replyTo` ref and a timeout), and the typed `AskError`.
 */
import { Exit, formatReason, type ExitReason } from './exit.js';
import type { Cancel } from './scheduler.js';
import { ReplyRefImpl, type ActorRefImpl, type Deliverable, type Ref } from './ref.js';

/** Sends `msg` to `ref` (fire and forget). A message to a dead actor is counted as a dead letter. */
export function tell<M>(ref: Ref<M>, msg: M): void {
  (ref as unknown as Deliverable).deliver(msg);
}

export type AskErrorCode = 'timeout' | 'noproc' | 'exit';

/** Why an `ask` failed: no reply in time, no actor at the path, or the actor exited before replying. */
export class AskError extends Error {
  override readonly name = 'AskError';
  constructor(
    readonly code: AskErrorCode,
    readonly path: string,
    readonly reason?: ExitReason,
  ) {
    super(
      code === 'timeout'
        ? `ask ${path}: no reply in time`
        : code === 'noproc'
          ? `ask ${path}: no such actor (noproc)`
          : `ask ${path}: actor exited before replying (${reason ? formatReason(reason) : '?'})`,
    );
  }
}

/**
 * Request/reply: builds the request with a one-shot `replyTo` ref and waits for the reply
 * up to `timeoutMs`. Rejects with `AskError` (`timeout`, `noproc`, or `exit` if the actor dies first).
 */
export function ask<Req, Res>(ref: Ref<Req>, makeMsg: (replyTo: Ref<Res>) => NoInfer<Req>, timeoutMs: number): Promise<Res> {
  const r = ref as unknown as ActorRefImpl;
  const rt = r.runtime;
  return new Promise<Res>((resolve, reject) => {
    const cell = rt.cells.get(r.path);
    if (cell === undefined || cell.dead) {
      reject(new AskError('noproc', r.path, Exit.noproc));
      return;
    }
    let done = false;
    let cancel: Cancel = () => {};
    const finish = (): void => {
      done = true;
      cancel();
      cell.removeDeathWatcher(onDeath);
    };
    const onDeath = (reason: ExitReason): void => {
      if (done) return;
      finish();
      reject(new AskError('exit', r.path, reason));
    };
    const reply = new ReplyRefImpl(`${r.path}#reply`, 'reply', (msg) => {
      if (done) {
        rt.deadLetter(`${r.path}#reply`, msg);
        return;
      }
      finish();
      resolve(msg as Res);
    });
    const msg = makeMsg(reply as unknown as Ref<Res>);
    cell.addDeathWatcher(onDeath);
    cancel = rt.scheduler.setTimeout(
      () => {
        if (done) return;
        finish();
        reject(new AskError('timeout', r.path));
      },
      timeoutMs,
      true,
    );
    cell.enqueue(msg);
  });
}
