/* global document, EventSource, fetch */
// The inspector page: one Server-Sent Events stream (`/events`) brings a `hello` (a snapshot
// with the histories) and then a `tick` a second; the page keeps the histories, renders, and
// sends actions as POST /api/<method> (the RPC method table, so they behave as over RPC).

import { bytes, clock, count, duration, el, fill, limit, millis, rate, setText, summaryLine } from './fmt.js';
import { lineChart } from './charts.js';

const BANDWIDTH_WINDOW_MS = 10 * 60 * 1000;
const PING_SAMPLES = 120;
const PEER_PATH = /^\/root\/peers\/peer-(\d+)$/;

const state = {
  latest: null,
  bandwidth: [],
  pings: new Map(),
  collapsed: new Set(),
  selected: null,
  /** The selection panel's live parts, rebuilt when the selection changes. */
  panel: null,
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------
// Stream

function connect() {
  const es = new EventSource('/events');
  es.addEventListener('hello', (e) => {
    const h = JSON.parse(e.data);
    state.bandwidth = h.history.bandwidth.map((p) => [p.t, p.recv, p.sent]);
    state.pings = new Map(Object.entries(h.history.pings));
    live('live');
    update(h);
  });
  es.addEventListener('tick', (e) => {
    const s = JSON.parse(e.data);
    if (s.bandwidth) state.bandwidth.push([s.bandwidth.t, s.bandwidth.recv, s.bandwidth.sent]);
    const cut = s.t - BANDWIDTH_WINDOW_MS;
    while (state.bandwidth.length > 0 && state.bandwidth[0][0] < cut) state.bandwidth.shift();
    for (const [id, samples] of Object.entries(s.pings)) {
      const list = state.pings.get(id) ?? [];
      list.push(...samples);
      state.pings.set(id, list.slice(-PING_SAMPLES));
    }
    const present = new Set(s.peers.map((p) => String(p.id)));
    for (const id of state.pings.keys()) if (!present.has(id)) state.pings.delete(id);
    live('live');
    update(s);
  });
  es.onerror = () => live(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
}

function live(what) {
  const box = $('live');
  if (box.dataset.state === what) return;
  box.dataset.state = what;
  const text = { live: 'live', reconnecting: 'reconnecting…', closed: 'disconnected — reload to log in again', connecting: 'connecting…' }[what];
  setText(box.querySelector('span'), text);
}

function update(s) {
  state.latest = s;
  renderFacts(s);
  renderTree(s);
  renderPeers(s);
  renderBandwidth(s);
  renderSync(s);
  renderExits(s);
  renderDisconnects(s);
  renderSelection(s);
}

// ---------------------------------------------------------------------------------------------
// Actions

async function call(method, params) {
  const res = await fetch(`/api/${method}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(params) });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body.result;
}

async function act(label, method, params) {
  try {
    await call(method, params);
    toast(`${label}: done`, 'ok');
  } catch (err) {
    toast(`${label}: ${err.message}`, 'error');
  }
}

function toast(text, kind) {
  const t = el('div', { class: `toast ${kind}` }, text);
  $('toasts').append(t);
  setTimeout(() => t.remove(), 4000);
}

// ---------------------------------------------------------------------------------------------
// Header

function renderFacts(s) {
  const inbound = s.peers.filter((p) => p.direction === 'inbound').length;
  const facts = [
    ['network', s.node.network],
    ['agent', s.node.userAgent],
    ['uptime', duration(s.t - s.node.startedAt)],
    ['peers', `${s.peers.length} (${inbound} in, ${s.peers.length - inbound} out)`],
    ['actors', String(s.node.actors)],
    ['received', bytes(s.node.totalRecv)],
    ['sent', bytes(s.node.totalSent)],
    ['dead letters', String(s.node.deadLetters)],
  ];
  if (!s.node.networkActive) facts.push(['network activity', 'off']);
  const dl = $('facts');
  if (dl.children.length !== facts.length * 2) fill(dl, ...facts.flatMap(([k]) => [el('dt', {}, k), el('dd')]));
  facts.forEach(([, v], i) => setText(dl.children[i * 2 + 1], v));
}

// ---------------------------------------------------------------------------------------------
// Supervision tree: one row per actor, kept by path and updated in place.

const treeRows = new Map();

function flatten(nodes, depth, hidden, out) {
  for (const n of nodes) {
    out.push({ n, depth, hidden });
    flatten(n.children, depth + 1, hidden || state.collapsed.has(n.path), out);
  }
  return out;
}

function treeRow(path) {
  let r = treeRows.get(path);
  if (r) return r;
  const caret = el('button', { type: 'button', class: 'caret', title: 'collapse / expand', onclick: (e) => {
    e.stopPropagation();
    if (state.collapsed.has(path)) state.collapsed.delete(path);
    else state.collapsed.add(path);
    renderTree(state.latest);
  } });
  const cells = {
    name: el('span', { class: 'name' }),
    sub: el('span', { class: 'sub' }),
    kind: el('span', { class: 'badge' }),
    restart: el('span', { class: 'restart' }),
    status: el('span', { class: 'status' }),
    mailbox: el('td', { class: 'num' }),
    rate: el('td', { class: 'num' }),
    restarts: el('td', { class: 'num' }),
    uptime: el('td', { class: 'num' }),
    exit: el('td', { class: 'exit' }),
    summary: el('td', { class: 'summary' }),
  };
  const actorCell = el('td', { class: 'actor' }, caret, cells.name, cells.sub);
  const tr = el(
    'tr',
    { dataset: { path }, onclick: () => select(path) },
    actorCell,
    el('td', {}, cells.kind, cells.restart),
    el('td', {}, cells.status),
    cells.mailbox,
    cells.rate,
    cells.restarts,
    cells.uptime,
    cells.exit,
    cells.summary,
  );
  r = { tr, caret, actorCell, cells };
  treeRows.set(path, r);
  return r;
}

function supervisorCell(td, sup) {
  const used = sup.maxRestarts > 0 ? Math.min(1, sup.restartsInPeriod / sup.maxRestarts) : 0;
  const text = `${sup.strategy} · ${sup.restartsInPeriod}/${sup.maxRestarts} restarts in ${sup.periodMs / 1000}s · ${sup.running}/${sup.children} up`;
  if (td.dataset.text === text) return;
  td.dataset.text = text;
  fill(td, el('span', { class: 'meter' }, el('i', { style: `width:${Math.round(used * 100)}%`, class: used >= 0.67 ? 'hot' : '' })), text);
  td.title = `strategy ${sup.strategy}; restart intensity in use: ${sup.restartsInPeriod} of ${sup.maxRestarts} allowed in ${sup.periodMs / 1000} s; ${sup.running} of ${sup.children} children running`;
}

function renderTree(s) {
  const body = document.querySelector('#tree tbody');
  const rows = flatten(s.tree, 0, false, []);
  const seen = new Set();
  const order = [];
  for (const { n, depth, hidden } of rows) {
    seen.add(n.path);
    const r = treeRow(n.path);
    r.tr.hidden = hidden;
    r.tr.classList.toggle('selected', state.selected === n.path);
    r.tr.classList.toggle('busy', n.mailbox > 0);
    r.actorCell.style.paddingLeft = `${8 + depth * 18}px`;
    r.caret.style.visibility = n.children.length > 0 ? 'visible' : 'hidden';
    setText(r.caret, state.collapsed.has(n.path) ? '▸' : '▾');
    setText(r.cells.name, n.name);
    const peer = PEER_PATH.exec(n.path) ? s.peers.find((p) => p.path === n.path) : null;
    setText(r.cells.sub, peer ? `${peer.addr} ${peer.direction === 'inbound' ? '←' : '→'}` : n.children.length > 0 && state.collapsed.has(n.path) ? `${n.children.length} hidden` : '');
    setText(r.cells.kind, n.kind === 'dynamic_supervisor' ? 'dynamic sup' : n.kind);
    r.cells.kind.dataset.kind = n.kind;
    setText(r.cells.restart, n.restart ?? '');
    setText(r.cells.status, n.status);
    r.cells.status.dataset.status = n.status;
    setText(r.cells.mailbox, `${n.mailbox} (${n.mailboxHighWater})`);
    setText(r.cells.rate, count(n.rate));
    setText(r.cells.restarts, `${n.restarts} · #${n.incarnation}`);
    setText(r.cells.uptime, duration(n.uptimeMs));
    setText(r.cells.exit, n.lastExit ?? '');
    r.cells.exit.title = n.lastExit ?? '';
    if (n.supervisor) supervisorCell(r.cells.summary, n.supervisor);
    else {
      const line = summaryLine(n.summary);
      setText(r.cells.summary, line);
      r.cells.summary.title = line;
    }
    order.push(r.tr);
  }
  for (const [path, r] of treeRows) {
    if (!seen.has(path)) {
      r.tr.remove();
      treeRows.delete(path);
    }
  }
  const current = [...body.children];
  if (current.length !== order.length || current.some((tr, i) => tr !== order[i])) body.replaceChildren(...order);
}

// ---------------------------------------------------------------------------------------------
// Peers table

function renderPeers(s) {
  setText($('peer-count'), String(s.peers.length));
  const body = document.querySelector('#peers tbody');
  const rows = s.peers.map((p) =>
    el(
      'tr',
      { dataset: { path: p.path }, class: state.selected === p.path ? 'selected' : '', onclick: () => select(p.path) },
      el('td', { class: 'num' }, p.id),
      el('td', { class: 'mono' }, p.addr),
      el('td', {}, p.direction),
      el('td', {}, p.connType),
      el('td', {}, p.transport),
      el('td', { class: 'ua' }, p.userAgent ?? '–'),
      el('td', { class: 'num' }, millis(p.pingMs)),
      el('td', { class: 'num' }, bytes(p.bytesRecv)),
      el('td', { class: 'num' }, bytes(p.bytesSent)),
      el('td', {}, p.recvLimit > 0 || p.sendLimit > 0 ? `↓${limit(p.recvLimit)} ↑${limit(p.sendLimit)}` : '–'),
    ),
  );
  body.replaceChildren(...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: 9, class: 'empty' }, 'no peers'))]));
}

// ---------------------------------------------------------------------------------------------
// Bandwidth and sync

function renderBandwidth(s) {
  const pts = state.bandwidth;
  const last = pts[pts.length - 1];
  setText($('bw-recv'), last ? rate(last[1]) : '–');
  setText($('bw-sent'), last ? rate(last[2]) : '–');
  // The last ten minutes, or since the first point while the node is younger than that.
  const from = Math.max(s.t - BANDWIDTH_WINDOW_MS, pts.length > 1 ? pts[0][0] : s.t - 60_000);
  setText($('bw-note'), from > s.t - BANDWIDTH_WINDOW_MS ? `since ${clock(from)} (up to 10 minutes)` : 'last 10 minutes');
  lineChart($('bw-chart'), {
    from,
    to: s.t,
    fromLabel: from > s.t - BANDWIDTH_WINDOW_MS ? clock(from) : '10 min ago',
    format: rate,
    empty: 'collecting…',
    series: [
      { points: pts.map((p) => [p[0], p[1]]), className: 'recv', area: true },
      { points: pts.map((p) => [p[0], p[2]]), className: 'sent' },
    ],
  });
}

function renderSync(s) {
  const body = $('sync-body');
  if (!s.sync) {
    if (!body.querySelector('.empty')) fill(body, el('p', { class: 'empty' }, 'no chain data yet'));
    return;
  }
  const y = s.sync;
  fill(
    body,
    el('div', { class: 'progress', title: `${y.percent}%` }, el('i', { style: `width:${y.percent}%` })),
    el(
      'dl',
      { class: 'kv' },
      el('dt', {}, 'chain'),
      el('dd', {}, y.chain ?? s.node.network),
      el('dt', {}, 'headers'),
      el('dd', {}, y.headers.toLocaleString()),
      el('dt', {}, 'blocks'),
      el('dd', {}, y.blocks.toLocaleString()),
      el('dt', {}, 'synced'),
      el('dd', {}, `${y.percent}%`),
      el('dt', {}, 'rate'),
      el('dd', {}, `${count(y.rate)} blocks/s`),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Exits and disconnects, newest first

function renderExits(s) {
  const body = document.querySelector('#exits tbody');
  const key = s.exits.length > 0 ? s.exits[0].seq : 0;
  if (body.dataset.key === String(key)) return;
  body.dataset.key = String(key);
  body.replaceChildren(
    ...(s.exits.length === 0
      ? [el('tr', {}, el('td', { colspan: 3, class: 'empty' }, 'no exits yet'))]
      : s.exits.map((e) => el('tr', { class: `reason-${e.reasonKind}` }, el('td', { class: 'mono' }, clock(e.at)), el('td', { class: 'mono' }, e.path), el('td', {}, e.reason)))),
  );
}

function renderDisconnects(s) {
  const body = document.querySelector('#disconnects tbody');
  const key = s.disconnects.length > 0 ? `${s.disconnects[0].id}@${s.disconnects[0].at}` : '';
  if (body.dataset.key === key) return;
  body.dataset.key = key;
  body.replaceChildren(
    ...(s.disconnects.length === 0
      ? [el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'no disconnects yet'))]
      : s.disconnects.map((d) =>
          el(
            'tr',
            { class: d.misbehaving ? 'misbehaving' : '' },
            el('td', { class: 'mono' }, clock(d.at)),
            el('td', { class: 'mono' }, `peer-${d.id} ${d.address}`),
            el('td', {}, d.connType),
            el('td', {}, d.reason + (d.misbehaving ? ' (misbehaving)' : '')),
            el('td', { class: 'num' }, duration(d.connectedMs)),
          ),
        )),
  );
}

// ---------------------------------------------------------------------------------------------
// Selection panel: an actor, or a peer with its charts and buttons

function findActor(nodes, path) {
  for (const n of nodes) {
    if (n.path === path) return n;
    const c = findActor(n.children, path);
    if (c) return c;
  }
  return null;
}

function select(path) {
  state.selected = state.selected === path ? null : path;
  state.panel = null;
  if (state.latest) update(state.latest);
}

function kv(pairs) {
  const dds = {};
  const dl = el('dl', { class: 'kv' });
  for (const [key, label] of pairs) {
    dds[key] = el('dd');
    dl.append(el('dt', {}, label), dds[key]);
  }
  return { dl, dds };
}

function buildActorPanel(path) {
  const isPeer = PEER_PATH.test(path);
  const title = el('h2', {}, path.slice(path.lastIndexOf('/') + 1));
  const gone = el('p', { class: 'gone', hidden: true });
  const info = kv([
    ['path', 'path'],
    ['kind', 'kind'],
    ['incarnation', 'incarnation'],
    ['restarts', 'restarts'],
    ['uptime', 'uptime'],
    ['mailbox', 'mailbox'],
    ['lastExit', 'last exit'],
  ]);
  const summary = el('pre', { class: 'json' });
  const buttons = el(
    'div',
    { class: 'actions' },
    el('button', { type: 'button', class: 'danger', dataset: { action: 'kill' }, onclick: () => act(`kill ${path}`, 'killactor', { path, mode: 'kill' }) }, 'kill'),
    el('button', { type: 'button', class: 'danger', dataset: { action: 'crash' }, onclick: () => act(`crash ${path}`, 'killactor', { path, mode: 'crash' }) }, 'crash'),
  );
  const root = el(
    'div',
    { class: 'panel', id: isPeer ? 'peer-panel' : 'actor-panel', dataset: { path } },
    el('div', { class: 'card-head' }, title, el('button', { type: 'button', class: 'close', title: 'close', onclick: () => select(path) }, '×')),
    gone,
  );
  const panel = { path, root, gone, info, summary, peer: null };
  if (isPeer) {
    panel.peer = buildPeerParts(path, buttons);
    root.append(panel.peer.root);
  } else {
    root.append(info.dl, el('h3', {}, 'actor'), buttons, el('h3', {}, 'state'), summary);
  }
  return panel;
}

function buildPeerParts(path, actorButtons) {
  const id = Number(PEER_PATH.exec(path)[1]);
  const info = kv([
    ['addr', 'address'],
    ['direction', 'direction'],
    ['connType', 'connection'],
    ['transport', 'transport'],
    ['phase', 'phase'],
    ['services', 'services'],
    ['userAgent', 'user agent'],
    ['version', 'version'],
    ['connected', 'connected'],
    ['ping', 'ping (min)'],
    ['throttle', 'throttle'],
    ['queues', 'queues'],
    ['mailbox', 'mailbox'],
  ]);
  const chart = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  chart.setAttribute('viewBox', '0 0 480 120');
  chart.setAttribute('class', 'chart');
  chart.setAttribute('id', 'ping-chart');
  const perMsg = el('tbody');
  const ignored = el('ul', { class: 'ignored' });
  const recv = el('input', { type: 'number', min: 0, step: 1000, value: 0, name: 'recv', title: 'bytes/s received from it, 0 = unlimited' });
  const send = el('input', { type: 'number', min: 0, step: 1000, value: 0, name: 'send', title: 'bytes/s sent to it, 0 = unlimited' });
  const peerButtons = el(
    'div',
    { class: 'actions' },
    el('button', { type: 'button', dataset: { action: 'kick' }, onclick: () => act(`kick peer-${id}`, 'disconnectnode', { nodeid: id }) }, 'kick'),
    el('button', { type: 'button', dataset: { action: 'ban' }, onclick: () => {
      const p = state.latest?.peers.find((x) => x.id === id);
      if (p) act(`ban ${p.host} for 24 h`, 'setban', { subnet: p.host, command: 'add', bantime: 86400 });
    } }, 'ban 24 h'),
    el('button', { type: 'button', dataset: { action: 'ping' }, onclick: () => act('ping all peers', 'ping', []) }, 'ping'),
  );
  const throttle = el(
    'form',
    { class: 'throttle', onsubmit: (e) => {
      e.preventDefault();
      act(`throttle peer-${id}`, 'setpeerlimit', { peer: String(id), recv: Number(recv.value), send: Number(send.value) });
    } },
    el('label', {}, 'recv B/s ', recv),
    el('label', {}, 'send B/s ', send),
    el('button', { type: 'submit', dataset: { action: 'throttle' } }, 'throttle'),
  );
  const root = el(
    'div',
    {},
    info.dl,
    el('h3', {}, 'ping round trip'),
    chart,
    el('h3', {}, 'peer'),
    peerButtons,
    throttle,
    el('h3', {}, 'actor'),
    actorButtons,
    el('h3', {}, 'bytes by message type'),
    el('table', { class: 'rows compact' }, el('thead', {}, el('tr', {}, el('th', {}, 'message'), el('th', { class: 'num' }, 'in'), el('th', { class: 'num' }, 'out'))), perMsg),
    el('h3', {}, 'ignored / misbehaviour'),
    ignored,
  );
  return { id, root, info, chart, perMsg, ignored, inputs: { recv, send }, seeded: false };
}

function renderSelection(s) {
  const box = $('selection');
  if (state.selected === null) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  if (state.panel === null || state.panel.path !== state.selected) {
    state.panel = buildActorPanel(state.selected);
    box.replaceChildren(state.panel.root);
  }
  box.hidden = false;
  const panel = state.panel;
  const a = findActor(s.tree, panel.path);
  const p = panel.peer ? s.peers.find((x) => x.id === panel.peer.id) : null;
  const exit = s.exits.find((e) => e.path === panel.path);
  panel.gone.hidden = a !== null;
  if (!a) setText(panel.gone, `not running${exit ? ` — exited ${clock(exit.at)}: ${exit.reason}` : ''}`);
  panel.root.classList.toggle('dead', !a);
  if (a) {
    const d = panel.info.dds;
    setText(d.path, a.path);
    setText(d.kind, `${a.kind}${a.restart ? ` · ${a.restart}` : ''}`);
    setText(d.incarnation, `#${a.incarnation}`);
    setText(d.restarts, String(a.restarts));
    setText(d.uptime, duration(a.uptimeMs));
    setText(d.mailbox, `${a.mailbox} (high-water ${a.mailboxHighWater}) · ${count(a.rate)} msg/s`);
    setText(d.lastExit, a.lastExit ?? '–');
    setText(panel.summary, JSON.stringify(a.summary, null, 2));
  }
  if (panel.peer && p) renderPeerParts(panel.peer, p, a, s);
}

function renderPeerParts(pp, p, a, s) {
  const d = pp.info.dds;
  setText(d.addr, p.addr);
  setText(d.direction, p.direction);
  setText(d.connType, p.connType);
  setText(d.transport, p.transport === 'v2' && p.sessionId ? `v2 (BIP324) · session ${p.sessionId}` : p.transport);
  setText(d.phase, p.phase);
  setText(d.services, p.servicesNames.length > 0 ? p.servicesNames.join(' ') : (p.services ?? '–'));
  setText(d.userAgent, p.userAgent ?? '–');
  setText(d.version, p.version ?? '–');
  setText(d.connected, `${clock(p.connectedAt)} (${duration(s.t - p.connectedAt)})`);
  setText(d.ping, `${millis(p.pingMs)} (${millis(p.minPingMs)})${p.pingWaitMs ? ` · waiting ${p.pingWaitMs} ms` : ''}`);
  setText(d.throttle, `recv ${limit(p.recvLimit)} · send ${limit(p.sendLimit)}${p.recvThrottled ? ' · throttled now' : ''}`);
  setText(d.queues, `send queue ${bytes(p.sendQueued)}${p.recvPaused ? ' · reading paused' : ''}`);
  setText(d.mailbox, a ? `${a.mailbox} (high-water ${a.mailboxHighWater}) · ${count(a.rate)} msg/s` : '–');
  if (!pp.seeded) {
    pp.inputs.recv.value = String(p.recvLimit);
    pp.inputs.send.value = String(p.sendLimit);
    pp.seeded = true;
  }
  const samples = state.pings.get(String(p.id)) ?? [];
  lineChart(pp.chart, {
    from: samples.length > 0 ? samples[0][0] : s.t - 60_000,
    to: s.t,
    fromLabel: samples.length > 0 ? clock(samples[0][0]) : '',
    format: (v) => (v === 0 ? '0' : millis(v)),
    empty: 'no pong yet',
    series: [{ points: samples, className: 'ping', area: true }],
  });
  const msgs = Object.entries(p.perMsg).sort((x, y) => y[1].recv + y[1].sent - (x[1].recv + x[1].sent));
  pp.perMsg.replaceChildren(...msgs.map(([m, v]) => el('tr', {}, el('td', { class: 'mono' }, m), el('td', { class: 'num' }, bytes(v.recv)), el('td', { class: 'num' }, bytes(v.sent)))));
  const ign = Object.entries(p.ignored);
  pp.ignored.replaceChildren(...(ign.length === 0 ? [el('li', { class: 'empty' }, 'none')] : ign.map(([k, v]) => el('li', {}, el('b', {}, v), ` ${k}`))));
}

// ---------------------------------------------------------------------------------------------

$('expand-all').addEventListener('click', () => {
  state.collapsed.clear();
  if (state.latest) renderTree(state.latest);
});
$('collapse-peers').addEventListener('click', () => {
  state.collapsed.add('/root/peers');
  if (state.latest) renderTree(state.latest);
});
connect();
