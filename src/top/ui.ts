/**
 * `peerd top`'s UI state and its pure key reducer: `reduceKey(ui, key, peers) → { ui, actions }`.
 * The reducer never calls the node; it returns actions (RPC calls, quit) that the app shell runs.
 * Selection follows the peer's id, so it survives re-sorting and refreshes.
 */
import type { Json } from '../rpc/protocol.js';
import { hostOf, type PeerRow } from './model.js';
import { peerName } from '../contracts/peer.js';

export const SORT_COLUMNS = ['id', 'address', 'type', 'transport', 'agent', 'ping', 'recv', 'sent', 'limit'] as const;
export type SortColumn = (typeof SORT_COLUMNS)[number];

export const BAN_SECONDS = 24 * 3600;

export type Mode =
  | { readonly kind: 'normal' }
  | { readonly kind: 'help' }
  | { readonly kind: 'confirm-ban'; readonly id: number; readonly ip: string }
  | { readonly kind: 'throttle'; readonly id: number; readonly input: string };

export interface Status {
  readonly text: string;
  readonly error: boolean;
}

export interface UiState {
  readonly sort: SortColumn;
  readonly reverse: boolean;
  /** The selected peer's id (null: none), and its row index, used when that peer is gone. */
  readonly selectedId: number | null;
  readonly cursor: number;
  readonly mode: Mode;
  readonly status: Status | null;
}

export const INITIAL_UI: UiState = { sort: 'id', reverse: false, selectedId: null, cursor: 0, mode: { kind: 'normal' }, status: null };

/** A key, independent of the terminal library. */
export type Key =
  | { readonly kind: 'char'; readonly ch: string }
  | { readonly kind: 'up' | 'down' | 'pageup' | 'pagedown' | 'home' | 'end' | 'enter' | 'escape' | 'backspace' | 'ctrl-c' };

export type Action =
  | { readonly kind: 'rpc'; readonly method: string; readonly params: readonly Json[]; readonly done: string }
  | { readonly kind: 'quit' };

export interface Reduced {
  readonly ui: UiState;
  readonly actions: readonly Action[];
}

export const peerPath = (id: number): string => peerName(id).path;

function sortValue(p: PeerRow, c: SortColumn): number | string | null {
  switch (c) {
    case 'id':
      return p.id;
    case 'address':
      return p.addr;
    case 'type':
      return `${p.inbound ? 'in' : 'out'} ${p.connType}`;
    case 'transport':
      return p.transport;
    case 'agent':
      return p.subver;
    case 'ping':
      return p.pingMs;
    case 'recv':
      return p.bytesRecv;
    case 'sent':
      return p.bytesSent;
    case 'limit':
      return p.recvLimit === null || p.recvLimit === 0 ? null : p.recvLimit;
  }
}

/**
 * The peers in display order: by `column` (ties by id), `reverse` flips it. Missing values
 * (no ping yet, no limit) sort after the present ones in either direction.
 */
export function sortPeers(peers: readonly PeerRow[], column: SortColumn, reverse: boolean): PeerRow[] {
  return [...peers].sort((a, b) => {
    const va = sortValue(a, column);
    const vb = sortValue(b, column);
    if (va === null || vb === null) return va === vb ? a.id - b.id : va === null ? 1 : -1;
    const c = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb), 'en', { numeric: true });
    const d = c !== 0 ? c : a.id - b.id;
    return reverse ? -d : d;
  });
}

/** Keeps the selection on the same peer (found by id) or, if it left, on the row where it was. */
export function reconcile(ui: UiState, sorted: readonly PeerRow[]): UiState {
  if (sorted.length === 0) return ui.selectedId === null && ui.cursor === 0 ? ui : { ...ui, selectedId: null, cursor: 0 };
  const at = ui.selectedId === null ? -1 : sorted.findIndex((p) => p.id === ui.selectedId);
  const cursor = at >= 0 ? at : Math.min(Math.max(0, ui.cursor), sorted.length - 1);
  const selectedId = sorted[cursor].id;
  return cursor === ui.cursor && selectedId === ui.selectedId ? ui : { ...ui, cursor, selectedId };
}

const say = (ui: UiState, text: string, error = false): UiState => ({ ...ui, status: { text, error } });

/** "RECV SEND" in bytes/s (0 = unlimited), each a whole number with an optional k or M (×1000, ×10⁶). */
export function parseThrottle(input: string): { recv: number; send: number } | { error: string } {
  const parts = input.trim().split(/[\s,/]+/).filter((s) => s !== '');
  if (parts.length !== 2) return { error: 'throttle: give two numbers, RECV SEND in bytes/s (0 = unlimited)' };
  const vals: number[] = [];
  for (const p of parts) {
    const m = /^(\d{1,15})([kKmM]?)$/.exec(p);
    if (!m) return { error: `throttle: "${p}" is not a whole number of bytes/s` };
    const v = Number(m[1]) * (m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1000 : 1_000_000);
    if (!Number.isSafeInteger(v)) return { error: `throttle: "${p}" is too large` };
    vals.push(v);
  }
  return { recv: vals[0], send: vals[1] };
}

function move(ui: UiState, sorted: readonly PeerRow[], to: number): UiState {
  if (sorted.length === 0) return ui;
  const cursor = Math.min(Math.max(0, to), sorted.length - 1);
  return { ...ui, cursor, selectedId: sorted[cursor].id };
}

const PAGE = 10;

/** One key → the next UI state and what to do. `peers` is the latest peer list, in any order. */
export function reduceKey(ui0: UiState, key: Key, peers: readonly PeerRow[]): Reduced {
  const sorted = sortPeers(peers, ui0.sort, ui0.reverse);
  const ui = reconcile(ui0, sorted);
  const none = (u: UiState): Reduced => ({ ui: u, actions: [] });
  if (key.kind === 'ctrl-c') return { ui, actions: [{ kind: 'quit' }] };
  const mode = ui.mode;
  const normal: UiState = { ...ui, mode: { kind: 'normal' } };

  if (mode.kind === 'help') return none(normal);

  if (mode.kind === 'confirm-ban') {
    if (key.kind === 'char' && (key.ch === 'y' || key.ch === 'Y')) {
      return {
        ui: say(normal, `banning ${mode.ip} (peer ${mode.id}) for 24 h…`),
        actions: [{ kind: 'rpc', method: 'setban', params: [mode.ip, 'add', BAN_SECONDS], done: `banned ${mode.ip} for 24 h` }],
      };
    }
    return none(say(normal, 'ban cancelled'));
  }

  if (mode.kind === 'throttle') {
    if (key.kind === 'escape') return none(say(normal, 'throttle cancelled'));
    if (key.kind === 'backspace') return none({ ...ui, mode: { ...mode, input: mode.input.slice(0, -1) } });
    if (key.kind === 'char') return none(mode.input.length >= 40 ? ui : { ...ui, mode: { ...mode, input: mode.input + key.ch } });
    if (key.kind === 'enter') {
      const r = parseThrottle(mode.input);
      if ('error' in r) return none(say(normal, r.error, true));
      const lim = (n: number): string => (n === 0 ? 'unlimited' : `${n} B/s`);
      return {
        ui: say(normal, `throttling peer ${mode.id}…`),
        actions: [{ kind: 'rpc', method: 'setpeerlimit', params: [String(mode.id), r.recv, r.send], done: `peer ${mode.id}: receive ${lim(r.recv)}, send ${lim(r.send)}` }],
      };
    }
    return none(ui);
  }

  // normal mode
  switch (key.kind) {
    case 'up':
      return none(move(ui, sorted, ui.cursor - 1));
    case 'down':
      return none(move(ui, sorted, ui.cursor + 1));
    case 'pageup':
      return none(move(ui, sorted, ui.cursor - PAGE));
    case 'pagedown':
      return none(move(ui, sorted, ui.cursor + PAGE));
    case 'home':
      return none(move(ui, sorted, 0));
    case 'end':
      return none(move(ui, sorted, sorted.length - 1));
    case 'escape':
      return none({ ...ui, status: null });
    case 'enter':
    case 'backspace':
      return none(ui);
    case 'char':
      break;
  }
  const selected = sorted.length > 0 ? sorted[ui.cursor] : undefined;
  const needPeer = (f: (p: PeerRow) => Reduced): Reduced => (selected ? f(selected) : none(say(ui, 'no peer selected', true)));
  switch (key.ch) {
    case 'j':
      return none(move(ui, sorted, ui.cursor + 1));
    case 'k':
      return none(move(ui, sorted, ui.cursor - 1));
    case 'g':
      return none(move(ui, sorted, 0));
    case 'G':
      return none(move(ui, sorted, sorted.length - 1));
    case 'q':
      return { ui, actions: [{ kind: 'quit' }] };
    case '?':
    case 'h':
      return none({ ...ui, mode: { kind: 'help' } });
    case 's': {
      const sort = SORT_COLUMNS[(SORT_COLUMNS.indexOf(ui.sort) + 1) % SORT_COLUMNS.length];
      return none(reconcile(say({ ...ui, sort }, `sorted by ${sort}${ui.reverse ? ', reversed' : ''}`), sortPeers(peers, sort, ui.reverse)));
    }
    case 'r': {
      const reverse = !ui.reverse;
      return none(reconcile(say({ ...ui, reverse }, `sorted by ${ui.sort}${reverse ? ', reversed' : ''}`), sortPeers(peers, ui.sort, reverse)));
    }
    case 'K':
      return needPeer((p) => ({
        ui: say(ui, `kicking peer ${p.id}…`),
        actions: [{ kind: 'rpc', method: 'disconnectnode', params: ['', p.id], done: `kicked peer ${p.id} (${p.addr})` }],
      }));
    case 'B':
      return needPeer((p) => none(say({ ...ui, mode: { kind: 'confirm-ban', id: p.id, ip: hostOf(p.addr) } }, `ban ${hostOf(p.addr)} (peer ${p.id}) for 24 h? y/n`)));
    case 'T':
      return needPeer((p) => none({ ...ui, mode: { kind: 'throttle', id: p.id, input: '' }, status: null }));
    case 'X':
    case 'C': {
      const mode = key.ch === 'X' ? 'kill' : 'crash';
      return needPeer((p) => ({
        ui: say(ui, `${mode} ${peerPath(p.id)}…`),
        actions: [{ kind: 'rpc', method: 'killactor', params: [peerPath(p.id), mode], done: `${mode === 'kill' ? 'killed' : 'crashed'} ${peerPath(p.id)}` }],
      }));
    }
    default:
      return none(ui);
  }
}
