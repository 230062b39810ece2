/**
 * `peerd top`'s shell: a controller that polls the node over JSON-RPC and runs the reducer's
 * actions, and the Ink component that feeds it keys and draws `Screen`.
 *
 * Why Ink (React for terminals): it is actively maintained, renders a component tree with flexbox
 * layout, parses keys (arrows, Page Up/Down, Esc, Ctrl-C) in raw mode, redraws only what changed,
 * and ships a test renderer (ink-testing-library) so the real app can be driven without a
 * terminal. blessed and its forks are unmaintained; terminal-kit is a lower-level toolkit.
 * Ink 6 is the last major that runs on Node 20 (our engines floor).
 */
import React from 'react';
import { render, useApp, useInput, useStdout, type Key as InkKey } from 'ink';
import { RpcCallError } from '../rpc/client.js';
import type { Json } from '../rpc/protocol.js';
import {
  addTotals,
  EMPTY_BANDWIDTH,
  EMPTY_SNAPSHOT,
  flattenTree,
  parseNetInfo,
  parsePeers,
  parseSync,
  parseTotals,
  type Bandwidth,
  type Snapshot,
  type SyncState,
} from './model.js';
import { INITIAL_UI, reduceKey, type Action, type Key, type UiState } from './ui.js';
import { Screen } from './view.js';

/** Calls one JSON-RPC method of the node (rpcCall bound to the connection options). */
export type RpcCaller = (method: string, params: readonly Json[]) => Promise<Json>;

export interface TopState {
  readonly snapshot: Snapshot;
  readonly bandwidth: Bandwidth;
  readonly ui: UiState;
  readonly quit: boolean;
}

const METHOD_NOT_FOUND = -32601;
/** An error in one short line; rpcCall's long transport messages cut to their facts. */
export function errText(e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].trim();
  const cookie = /No authentication cookie could be found \(([^)]*)\)/.exec(msg);
  if (cookie) return `no cookie file ${cookie[1]}`;
  const conn = /^Could not connect to the server (\S+) \((.*)\)$/.exec(msg);
  if (conn) return `${conn[1]}: ${conn[2]}`;
  return msg;
}
/** A failure of the transport (no connection, no cookie, HTTP trouble), not an error reply. */
const unreachable = (e: unknown): boolean => !(e instanceof RpcCallError) || e.code === undefined;

/**
 * One poll: every method at once; whatever fails leaves the previous value in place. When no
 * method answered at all the node is taken as down ("cannot reach node …, retrying").
 */
export async function fetchSnapshot(call: RpcCaller, prev: Snapshot, now: () => number = Date.now): Promise<Snapshot> {
  const methods = ['getpeerinfo', 'getnetworkinfo', 'getnettotals', 'getactortree', 'uptime', 'getblockchaininfo'] as const;
  const rs = await Promise.allSettled(methods.map(async (m) => call(m, [])));
  const failures = rs.flatMap((r, i) => (r.status === 'rejected' ? [{ method: methods[i], reason: r.reason as unknown }] : []));
  if (failures.length === methods.length && failures.every((f) => unreachable(f.reason))) {
    return { ...prev, error: `cannot reach node (${errText(failures[0].reason)}), retrying` };
  }
  const problems: string[] = [];
  const value = <T>(i: number, parse: (j: Json) => T | null, keep: T): T => {
    const r = rs[i];
    if (r.status === 'rejected') {
      problems.push(`${methods[i]}: ${errText(r.reason)}`);
      return keep;
    }
    const v = parse(r.value);
    if (v === null) problems.push(`bad reply to ${methods[i]}`);
    return v ?? keep;
  };
  const sr = rs[5];
  let sync: SyncState;
  if (sr.status === 'fulfilled') sync = parseSync(sr.value);
  else if (sr.reason instanceof RpcCallError && sr.reason.code === METHOD_NOT_FOUND) sync = { kind: 'none' };
  else sync = { kind: 'error', message: errText(sr.reason) };
  return {
    peers: value(0, parsePeers, prev.peers),
    net: value(1, parseNetInfo, prev.net),
    totals: value(2, parseTotals, prev.totals),
    tree: value(3, (j) => flattenTree(j), prev.tree),
    uptimeS: value(4, (j) => (typeof j === 'number' && Number.isFinite(j) ? j : null), prev.uptimeS),
    sync,
    error: problems.length > 0 ? problems.join('; ') : null,
    fetchedAt: now(),
  };
}

export interface ControllerOptions {
  readonly intervalMs: number;
  readonly now?: () => number;
}

/** Holds the state, polls every `intervalMs` (never two polls at once) and runs actions. */
export class TopController {
  private state: TopState = { snapshot: EMPTY_SNAPSHOT, bandwidth: EMPTY_BANDWIDTH, ui: INITIAL_UI, quit: false };
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private polling = false;
  private pollAgain = false;
  private stopped = true;
  private readonly now: () => number;

  constructor(
    private readonly call: RpcCaller,
    private readonly opts: ControllerOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  readonly getState = (): TopState => this.state;

  readonly subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  private set(next: TopState): void {
    if (next === this.state) return;
    this.state = next;
    for (const fn of this.listeners) fn();
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Polls now (or right after the poll in flight), then every interval. */
  async poll(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.polling = true;
    try {
      const snapshot = await fetchSnapshot(this.call, this.state.snapshot, this.now);
      if (this.stopped) return;
      const bandwidth = snapshot.totals !== null && snapshot.totals !== this.state.snapshot.totals ? addTotals(this.state.bandwidth, snapshot.totals) : this.state.bandwidth;
      this.set({ ...this.state, snapshot, bandwidth });
    } finally {
      this.polling = false;
      if (!this.stopped) {
        if (this.pollAgain) {
          this.pollAgain = false;
          void this.poll();
        } else this.timer = setTimeout(() => void this.poll(), this.opts.intervalMs);
      }
    }
  }

  /** A key: the reducer decides; RPC actions run in the background and report in the status line. */
  key(k: Key): void {
    const { ui, actions } = reduceKey(this.state.ui, k, this.state.snapshot.peers ?? []);
    this.set({ ...this.state, ui });
    for (const a of actions) this.run(a);
  }

  private run(a: Action): void {
    if (a.kind === 'quit') {
      this.stop();
      this.set({ ...this.state, quit: true });
      return;
    }
    this.call(a.method, a.params).then(
      () => {
        this.setStatus(a.done, false);
        if (!this.stopped) void this.poll();
      },
      (err: unknown) => this.setStatus(`${a.method} failed: ${errText(err)}`, true),
    );
  }

  private setStatus(text: string, error: boolean): void {
    this.set({ ...this.state, ui: { ...this.state.ui, status: { text, error } } });
  }
}

/** Ink's key event → ours (several for a paste); nothing for keys top does not use. */
export function fromInk(input: string, key: InkKey): Key[] {
  if (key.ctrl && input === 'c') return [{ kind: 'ctrl-c' }];
  if (key.upArrow) return [{ kind: 'up' }];
  if (key.downArrow) return [{ kind: 'down' }];
  if (key.pageUp) return [{ kind: 'pageup' }];
  if (key.pageDown) return [{ kind: 'pagedown' }];
  if (key.home) return [{ kind: 'home' }];
  if (key.end) return [{ kind: 'end' }];
  if (key.return) return [{ kind: 'enter' }];
  if (key.escape) return [{ kind: 'escape' }];
  if (key.backspace || key.delete) return [{ kind: 'backspace' }];
  if (key.ctrl || key.meta || key.tab) return [];
  // Keys typed fast (or pasted, or sent by tmux) arrive as one chunk: Enter and Backspace inside it count too.
  return [...input].flatMap((ch): Key[] => {
    if (ch === '\r' || ch === '\n') return [{ kind: 'enter' }];
    if (ch === '\x7f' || ch === '\b') return [{ kind: 'backspace' }];
    return ch >= ' ' ? [{ kind: 'char', ch }] : [];
  });
}

export interface AppProps {
  readonly controller: TopController;
  /** The network shown in the header. */
  readonly network: string;
}

const DEFAULT_SIZE = { width: 100, height: 40 };

/** The live app: subscribes to the controller, passes keys to it, exits Ink on quit. */
export function App({ controller, network }: AppProps): React.ReactElement {
  const state = React.useSyncExternalStore(controller.subscribe, controller.getState);
  const { stdout } = useStdout();
  const { exit } = useApp();
  const measure = (): { width: number; height: number } => ({ width: stdout.columns || DEFAULT_SIZE.width, height: stdout.rows || DEFAULT_SIZE.height });
  const [size, setSize] = React.useState(measure);
  React.useEffect(() => {
    const onResize = (): void => setSize(measure());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  React.useEffect(() => {
    controller.start();
    return () => controller.stop();
  }, [controller]);
  React.useEffect(() => {
    if (state.quit) exit();
  }, [state.quit, exit]);
  useInput((input, key) => {
    for (const k of fromInk(input, key)) controller.key(k);
  });
  return React.createElement(Screen, { snapshot: state.snapshot, bandwidth: state.bandwidth, ui: state.ui, network, size });
}

export interface RunTopOptions {
  readonly call: RpcCaller;
  readonly network: string;
  readonly intervalMs: number;
  readonly stdin?: NodeJS.ReadStream;
  readonly stdout?: NodeJS.WriteStream;
}

/** Full screen (the terminal's alternate screen) until `q`; resolves when the terminal is restored. */
export async function runTop(o: RunTopOptions): Promise<void> {
  const stdin = o.stdin ?? process.stdin;
  const stdout = o.stdout ?? process.stdout;
  if (!stdin.isTTY || !stdout.isTTY) throw new Error('peerd top needs a terminal (stdin and stdout must be a TTY)');
  const controller = new TopController(o.call, { intervalMs: o.intervalMs });
  stdout.write('\x1b[?1049h\x1b[H');
  const instance = render(React.createElement(App, { controller, network: o.network }), { stdin, stdout, exitOnCtrlC: false });
  const onSignal = (): void => controller.key({ kind: 'ctrl-c' });
  process.on('SIGTERM', onSignal);
  try {
    await instance.waitUntilExit();
  } finally {
    process.off('SIGTERM', onSignal);
    controller.stop();
    instance.cleanup();
    stdout.write('\x1b[?1049l');
  }
}
