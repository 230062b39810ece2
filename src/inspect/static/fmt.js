/* global document, Node */
// Formatting and DOM helpers. Everything a peer can choose (user agents, message names, reasons)
// reaches the page as text nodes only: nothing here builds HTML from strings.

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

export function bytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${UNITS[i]}`;
}

export function rate(n) {
  return `${bytes(n)}/s`;
}

/** A limit in bytes/s, 0 = none. */
export function limit(n) {
  return n > 0 ? rate(n) : 'unlimited';
}

export function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function clock(t) {
  const d = new Date(t);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((x) => String(x).padStart(2, '0')).join(':');
}

export function millis(x) {
  if (x === null || x === undefined) return '–';
  return x < 10 ? `${x.toFixed(2)} ms` : `${Math.round(x)} ms`;
}

export function count(n) {
  return n >= 10 ? String(Math.round(n)) : String(Math.round(n * 10) / 10);
}

/** An actor's state summary on one line: `key=value · key=value`. */
export function summaryLine(summary) {
  if (summary === null || summary === undefined) return '';
  if (typeof summary !== 'object') return String(summary);
  return Object.entries(summary)
    .map(([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}

/**
 * Builds an element: `el('td', { class: 'num', title: 'x' }, 'text', child)`. Attributes whose
 * name starts with `on` become listeners; `null`/`false` children are skipped; strings become text.
 */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** Replaces an element's children (text or nodes). */
export function fill(e, ...children) {
  e.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false).map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return e;
}

/** Sets text only when it changed (keeps selections and avoids layout work). */
export function setText(e, text) {
  const t = String(text);
  if (e.textContent !== t) e.textContent = t;
}
