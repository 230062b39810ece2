/**
 * `peerd top`'s screen as a pure function: `screenLines(snapshot, bandwidth, ui, size)` gives
 * the lines (styled segments) that fill the terminal, and `Screen` renders them with Ink.
 * Nothing here reads a clock, a socket or the terminal; the app shell passes everything in.
 *
 * Written with `React.createElement` (no JSX), so the build needs no JSX settings.
 */
import React from 'react';
import { Box, Text } from 'ink';
import { fmtBytes, fmtDuration, fmtLimit, fmtRate, sparkline, timeBuckets, type ActorRow, type Bandwidth, type PeerRow, type RateSample, type Snapshot } from './model.js';
import { peerPath, reconcile, sortPeers, type SortColumn, type UiState } from './ui.js';

export interface Segment {
  readonly text: string;
  readonly color?: 'red' | 'green' | 'yellow' | 'cyan' | 'magenta' | 'gray';
  readonly bold?: boolean;
  readonly inverse?: boolean;
  readonly dim?: boolean;
}
export type Line = readonly Segment[];

export interface ScreenSize {
  readonly width: number;
  readonly height: number;
}

export interface ScreenInput {
  readonly snapshot: Snapshot;
  readonly bandwidth: Bandwidth;
  readonly ui: UiState;
  /** Shown in the header (the network the connection flags point at). */
  readonly network: string;
  readonly size: ScreenSize;
}

const seg = (text: string, style: Omit<Segment, 'text'> = {}): Segment => ({ text, ...style });

/** Cuts or pads to exactly `w` cells (one per code point; the table holds no wide characters we draw). */
export function fit(s: string, w: number, right = false): string {
  const cps = [...s];
  if (cps.length > w) return w <= 0 ? '' : cps.slice(0, w - 1).join('') + '…';
  return right ? s.padStart(w) : s.padEnd(w);
}

const TYPE_SHORT: Record<string, string> = {
  inbound: 'inbound',
  'outbound-full-relay': 'full',
  'block-relay-only': 'block',
  manual: 'manual',
  feeler: 'feeler',
  'addr-fetch': 'addr',
};

interface Column {
  readonly key: SortColumn;
  readonly head: string;
  readonly width: number;
  readonly right?: boolean;
  readonly cell: (p: PeerRow) => string;
}

function columns(width: number): Column[] {
  const fixed: Column[] = [
    { key: 'id', head: 'id', width: 5, right: true, cell: (p) => String(p.id) },
    { key: 'address', head: 'address', width: 21, cell: (p) => p.addr },
    { key: 'type', head: 'dir/type', width: 10, cell: (p) => `${p.inbound ? 'in' : 'out'} ${TYPE_SHORT[p.connType] === 'inbound' ? '' : (TYPE_SHORT[p.connType] ?? p.connType)}`.trim() },
    { key: 'transport', head: 'tp', width: 3, cell: (p) => (p.transport === 'detecting' ? 'det' : p.transport) },
    { key: 'agent', head: 'user agent', width: 0, cell: (p) => p.subver },
    { key: 'ping', head: 'ping ms', width: 8, right: true, cell: (p) => (p.pingMs === null ? '-' : p.pingMs.toFixed(1)) },
    { key: 'recv', head: 'bytes in', width: 9, right: true, cell: (p) => fmtBytes(p.bytesRecv) },
    { key: 'sent', head: 'bytes out', width: 9, right: true, cell: (p) => fmtBytes(p.bytesSent) },
    { key: 'limit', head: 'limit in/out', width: 14, cell: (p) => `${fmtLimit(p.recvLimit)}/${fmtLimit(p.sendLimit)}` },
  ];
  const used = fixed.reduce((n, c) => n + c.width, 0) + (fixed.length - 1);
  return fixed.map((c) => (c.key === 'agent' ? { ...c, width: Math.max(6, width - used) } : c));
}

const row = (cols: readonly Column[], cells: readonly string[]): string => cols.map((c, i) => fit(cells[i] ?? '', c.width, c.right)).join(' ');

function headerLine(s: ScreenInput, bwNow: { recv: number; send: number } | null): Line {
  const { snapshot: snap } = s;
  const parts: Segment[] = [seg('peerd top', { bold: true, color: 'cyan' }), seg(` · ${s.network}`)];
  if (snap.net) parts.push(seg(` · ${snap.net.subversion}`));
  if (snap.uptimeS !== null) parts.push(seg(` · up ${fmtDuration(snap.uptimeS)}`));
  if (snap.net) {
    parts.push(seg(` · peers ${snap.net.connections} (in ${snap.net.connectionsIn} / out ${snap.net.connectionsOut})`));
    if (!snap.net.networkActive) parts.push(seg(' network off', { color: 'red' }));
  }
  if (bwNow) parts.push(seg(` · recv ${fmtRate(bwNow.recv)} send ${fmtRate(bwNow.send)}`));
  return parts;
}

function syncLine(snap: Snapshot): Line {
  const sy = snap.sync;
  switch (sy.kind) {
    case 'unknown':
      return [seg('sync: …', { dim: true })];
    case 'none':
      return [seg('sync: no chain data', { dim: true })];
    case 'error':
      return [seg(`sync: ${sy.message}`, { color: 'red' })];
    case 'ok': {
      const pct = sy.progress !== null ? `${(sy.progress * 100).toFixed(2)}%` : sy.headers > 0 ? `${((sy.blocks / sy.headers) * 100).toFixed(2)}%` : '-';
      // Every known block stored but the tip older than 24 h (Core's rule for leaving initial
      // block download): caught up with the peers, not downloading; say that, not "initial block download".
      const caughtUp = sy.headers > 0 && sy.blocks >= sy.headers;
      const state = sy.ibd === false ? ' · synced' : caughtUp ? ' · caught up (tip older than 24 h)' : sy.ibd === true ? ' · initial block download' : '';
      return [seg('sync: '), seg(`headers ${sy.headers} · blocks ${sy.blocks} · ${pct}${state}`, { color: sy.ibd === false || caughtUp ? 'green' : 'yellow' })];
    }
  }
}

export const BANDWIDTH_WINDOW_MS = 60_000;

function bandwidthLine(bw: Bandwidth, width: number): Line {
  const label = (s: string): string => fit(s, 14);
  const w = Math.max(4, Math.floor((width - 41) / 2));
  const last = bw.samples[bw.samples.length - 1];
  const spark = (pick: (x: RateSample) => number): string => (last ? sparkline(timeBuckets(bw.samples, pick, last.at, BANDWIDTH_WINDOW_MS, w)) : ' '.repeat(w));
  return [
    seg('recv '),
    seg(spark((x) => x.recv), { color: 'green' }),
    seg(' ' + label(last ? fmtRate(last.recv) : '-')),
    seg(' send '),
    seg(spark((x) => x.send), { color: 'magenta' }),
    seg(' ' + label(last ? fmtRate(last.send) : '-')),
  ];
}

function treeRow(a: ActorRow, width: number, hot: boolean): Line {
  const facts = `${fit(a.kind, 18)} mailbox ${fit(`${a.mailbox} (max ${a.mailboxHighWater})`, 12)} restarts ${fit(String(a.restarts), 4)} ${a.status}`;
  const pathW = Math.max(10, Math.min(40, width - facts.length - 2));
  return [
    seg(fit(a.path, pathW) + ' ', hot ? { bold: true, color: 'cyan' } : {}),
    seg(`${fit(a.kind, 18)} mailbox `),
    seg(fit(`${a.mailbox} (max ${a.mailboxHighWater})`, 12), a.mailbox > 0 ? { color: 'yellow' } : {}),
    seg(' restarts '),
    seg(fit(String(a.restarts), 4), a.restarts > 0 ? { color: 'yellow' } : {}),
    seg(` ${a.status}`, { dim: a.status === 'idle' }),
  ];
}

/** A window of `rows` items out of `n` that keeps `focus` in view (centred when it can). */
export function windowAround(n: number, rows: number, focus: number): { start: number; end: number } {
  if (rows >= n) return { start: 0, end: n };
  const start = Math.min(Math.max(0, focus - Math.floor(rows / 2)), n - rows);
  return { start, end: start + rows };
}

export const HELP_LINES: readonly string[] = [
  'keys',
  '  ↑ ↓  j k     select a peer (PgUp/PgDn, g/G or Home/End jump)',
  '  s            sort by the next column (id, address, type, agent, ping, in, out, limit)',
  '  r            reverse the sort',
  '  K            kick the selected peer (disconnectnode)',
  '  B            ban its IP for 24 h (setban; asks y/n)',
  '  T            throttle it: type RECV SEND in bytes/s (0 = unlimited, k/M suffixes), Enter',
  '  X            kill its actor (killactor /root/peers/peer-<id> kill)',
  '  C            crash its actor (killactor … crash: its supervisor restarts or replaces it)',
  '  Esc          cancel a prompt, clear the status line',
  '  q, Ctrl-C    quit',
  '',
  'press any key to go back',
];

const HINTS = '↑↓/jk select · s sort · r reverse · K kick · B ban · T throttle · X kill · C crash · ? help · q quit';

function statusLine(s: ScreenInput): Line {
  const { ui, snapshot: snap } = s;
  const m = ui.mode;
  if (m.kind === 'confirm-ban') return [seg(`ban ${m.ip} (peer ${m.id}) for 24 h? y/n`, { bold: true, color: 'yellow' })];
  if (m.kind === 'throttle') return [seg(`throttle peer ${m.id}: RECV SEND bytes/s (0 = unlimited), Enter to apply, Esc to cancel: `, { color: 'yellow' }), seg(m.input), seg(' ', { inverse: true })];
  const out: Segment[] = [];
  if (snap.error !== null) out.push(seg(snap.error, { color: 'red', bold: true }));
  if (ui.status !== null) out.push(seg((out.length > 0 ? ' · ' : '') + ui.status.text, ui.status.error ? { color: 'red' } : { color: 'green' }));
  return out.length > 0 ? out : [seg(' ')];
}

/** Every line of the screen, at most `size.height - 1` of them (Ink redraws in place below that). */
export function screenLines(s: ScreenInput): Line[] {
  const { snapshot: snap, ui, bandwidth: bw, size } = s;
  const width = Math.max(40, size.width);
  const height = Math.max(12, size.height);
  const last = bw.samples[bw.samples.length - 1] ?? null;
  const top: Line[] = [headerLine(s, last), syncLine(snap), bandwidthLine(bw, width), [seg(' ')]];
  const bottom: Line[] = [statusLine(s), [seg(fit(HINTS, width), { dim: true })]];

  if (ui.mode.kind === 'help') {
    const room = height - 1 - top.length - bottom.length;
    return [...top, ...HELP_LINES.slice(0, room).map((t, i) => [seg(t, i === 0 ? { bold: true } : {})]), ...bottom];
  }

  const cols = columns(width);
  const peers = snap.peers ?? [];
  const sorted = sortPeers(peers, ui.sort, ui.reverse);
  const sel = reconcile(ui, sorted);
  const tree = snap.tree ?? [];

  // Room: the peers' header and the tree's title, then the rows shared between them.
  const avail = Math.max(2, height - 1 - top.length - bottom.length - 3);
  const treeWant = Math.min(tree.length, Math.max(4, Math.floor(avail / 3)));
  const peerRows = Math.max(1, Math.min(Math.max(1, sorted.length), avail - treeWant));
  const treeRows = Math.max(1, avail - Math.min(peerRows, Math.max(1, sorted.length)));

  const arrow = ui.reverse ? '▼' : '▲';
  const head = row(
    cols,
    cols.map((c) => (c.key === ui.sort ? `${c.head}${arrow}` : c.head)),
  );
  const peerLines: Line[] = [[seg(fit(head, width), { bold: true, color: 'cyan' })]];
  if (snap.peers === null) peerLines.push([seg('(no data yet)', { dim: true })]);
  else if (sorted.length === 0) peerLines.push([seg('no peers', { dim: true })]);
  else {
    const win = windowAround(sorted.length, peerRows, sel.cursor);
    for (let i = win.start; i < win.end; i++) {
      const p = sorted[i];
      const text = fit(row(cols, cols.map((c) => c.cell(p))), width);
      peerLines.push([seg(text, i === sel.cursor ? { inverse: true } : {})]);
    }
    if (win.end - win.start < sorted.length) peerLines[0] = [seg(fit(head, width - 12), { bold: true, color: 'cyan' }), seg(fit(` ${win.start + 1}-${win.end}/${sorted.length}`, 12, true), { dim: true })];
  }

  const hot = sel.selectedId !== null ? peerPath(sel.selectedId) : null;
  const treeLines: Line[] = [[seg(`actors${snap.tree ? ` (${tree.length})` : ''}`, { bold: true, color: 'cyan' }), seg('  path / kind / mailbox (high water) / restarts / status', { dim: true })]];
  if (snap.tree === null) treeLines.push([seg('(no data yet)', { dim: true })]);
  else {
    const focus = hot !== null ? Math.max(0, tree.findIndex((a) => a.path === hot)) : 0;
    const win = windowAround(tree.length, treeRows, focus);
    for (let i = win.start; i < win.end; i++) treeLines.push(treeRow(tree[i], width, tree[i].path === hot));
  }

  const body = [...top, ...peerLines, [seg(' ')], ...treeLines];
  return [...body.slice(0, height - 1 - bottom.length), ...bottom].map((l) => clip(l, width));
}

/** Cuts a line to `width` cells, the last one kept becoming '…' when something was cut. */
export function clip(line: Line, width: number): Line {
  const total = line.reduce((n, x) => n + [...x.text].length, 0);
  if (total <= width) return line;
  const out: Segment[] = [];
  let room = width;
  for (const x of line) {
    const cps = [...x.text];
    if (cps.length < room) {
      out.push(x);
      room -= cps.length;
      continue;
    }
    out.push({ ...x, text: cps.slice(0, Math.max(0, room - 1)).join('') + '…' });
    break;
  }
  return out;
}

/** The plain text of the lines (tests, and `--once` style dumps). */
export const linesText = (lines: readonly Line[]): string => lines.map((l) => l.map((x) => x.text).join('')).join('\n');

function lineEl(l: Line, i: number): React.ReactElement {
  return React.createElement(
    Text,
    { key: i, wrap: 'truncate-end' },
    ...l.map((x, j) => React.createElement(Text, { key: j, color: x.color, bold: x.bold, inverse: x.inverse, dimColor: x.dim }, x.text)),
  );
}

/** The whole screen as an Ink element: a pure function of its props. */
export function Screen(props: ScreenInput): React.ReactElement {
  // No fixed width: on a resize Ink lays the old lines out at the new width (truncated) until the app re-renders at the new size.
  return React.createElement(Box, { flexDirection: 'column' }, ...screenLines(props).map(lineEl));
}
