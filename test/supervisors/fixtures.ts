/** Test actors shared by the supervisor tests. */
import { defineActor, tell, Exit, type ExitReason, type Ref, type Down } from '../../supervisors/index.js';

export type ProbeMsg =
  | { type: 'exit'; reason: ExitReason }
  | { type: 'crash' }
  | { type: 'ping'; replyTo: Ref<string> }
  | { type: 'tick' }
  | Down;

export interface ProbeArgs {
  readonly id: string;
  readonly log?: string[];
  /** When set, init throws while it returns true. */
  readonly failInit?: () => boolean;
}

export interface ProbeState {
  readonly id: string;
  ticks: number;
  downs: Down[];
}

/** A worker that logs `start:<id>` and `stop:<id>` and exits or crashes on request. */
export const probe = defineActor<ProbeState, ProbeMsg, ProbeArgs>({
  name: 'probe',
  init(args, ctx) {
    if (args.failInit?.()) throw new Error(`init of ${args.id} fails`);
    args.log?.push(`start:${args.id}`);
    ctx.own(() => args.log?.push(`stop:${args.id}`));
    return { id: args.id, ticks: 0, downs: [] };
  },
  handle(s, m, ctx) {
    switch (m.type) {
      case 'exit':
        ctx.stop(m.reason);
        return s;
      case 'crash':
        throw new Error(`crash in ${s.id}`);
      case 'ping':
        tell(m.replyTo, `pong:${s.id}:${ctx.incarnation}`);
        return s;
      case 'tick':
        s.ticks++;
        return s;
      case 'DOWN':
        s.downs.push(m);
        return s;
    }
  },
  summarize: (s) => ({ ticks: s.ticks }),
});

export const ping = (replyTo: Ref<string>): ProbeMsg => ({ type: 'ping', replyTo });

export const reasons: Record<'normal' | 'shutdown' | 'abnormal', ExitReason> = {
  normal: Exit.normal,
  shutdown: Exit.shutdownWith('test'),
  abnormal: Exit.error(new Error('abnormal')),
};
