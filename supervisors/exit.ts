/** Exit reasons, as in OTP: normal, shutdown, {shutdown, Detail}, killed, noproc, or an error. */
export type ExitReason =
  | { readonly kind: 'normal' }
  | { readonly kind: 'shutdown'; readonly detail?: string }
  | { readonly kind: 'killed' }
  | { readonly kind: 'noproc' }
  | { readonly kind: 'error'; readonly error: unknown };

export const Exit = {
  normal: { kind: 'normal' } as ExitReason,
  shutdown: { kind: 'shutdown' } as ExitReason,
  killed: { kind: 'killed' } as ExitReason,
  noproc: { kind: 'noproc' } as ExitReason,
  /** `{shutdown, detail}`: a clean stop with a reason (e.g. a peer's inactivity timeout). */
  shutdownWith(detail: string): ExitReason {
    return { kind: 'shutdown', detail };
  },
  error(error: unknown): ExitReason {
    return { kind: 'error', error };
  },
} as const;

/** OTP: anything but `normal`, `shutdown` and `{shutdown, _}` is abnormal (killed and noproc are). */
export function isAbnormal(r: ExitReason): boolean {
  return r.kind !== 'normal' && r.kind !== 'shutdown';
}

export function formatReason(r: ExitReason): string {
  switch (r.kind) {
    case 'shutdown':
      return r.detail === undefined ? 'shutdown' : `{shutdown,${r.detail}}`;
    case 'error': {
      const e = r.error;
      return `error: ${e instanceof Error ? e.message : String(e)}`;
    }
    default:
      return r.kind;
  }
}
