/* global document */
// Small hand-written SVG charts: time on x, one or more series on y, a few grid lines.

const NS = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** A round number ≥ x for the top of the y axis (1, 2, 5 × 10^n). */
export function niceMax(x) {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/**
 * Draws series of `[t, value]` points into `svg` (its viewBox sets the drawing size).
 * `opts`: { series: [{ points, className, area }], from, to, format(value) → label, empty }.
 */
export function lineChart(svg, opts) {
  const vb = svg.viewBox.baseVal;
  const W = vb.width;
  const H = vb.height;
  const pad = { l: 56, r: 8, t: 8, b: 18 };
  const w = W - pad.l - pad.r;
  const h = H - pad.t - pad.b;
  const all = opts.series.flatMap((s) => s.points);
  const top = niceMax(Math.max(0, ...all.map((p) => p[1])));
  const from = opts.from;
  const to = Math.max(opts.to, from + 1);
  const x = (t) => pad.l + ((t - from) / (to - from)) * w;
  const y = (v) => pad.t + h - (v / top) * h;
  const parts = [];

  for (const f of [0, 0.5, 1]) {
    const gy = y(top * f);
    parts.push(svgEl('line', { x1: pad.l, x2: W - pad.r, y1: gy, y2: gy, class: 'grid' }));
    const label = svgEl('text', { x: pad.l - 6, y: gy + 4, class: 'axis', 'text-anchor': 'end' });
    label.textContent = opts.format(top * f);
    parts.push(label);
  }
  const ago = svgEl('text', { x: pad.l, y: H - 4, class: 'axis' });
  ago.textContent = opts.fromLabel ?? '';
  const now = svgEl('text', { x: W - pad.r, y: H - 4, class: 'axis', 'text-anchor': 'end' });
  now.textContent = opts.toLabel ?? 'now';
  parts.push(ago, now);

  if (all.length === 0 && opts.empty) {
    const t = svgEl('text', { x: pad.l + w / 2, y: pad.t + h / 2, class: 'axis', 'text-anchor': 'middle' });
    t.textContent = opts.empty;
    parts.push(t);
  }
  for (const s of opts.series) {
    const pts = s.points.filter((p) => p[0] >= from);
    if (pts.length === 0) continue;
    const line = pts.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    if (s.area && pts.length > 1) {
      const first = x(pts[0][0]).toFixed(1);
      const last = x(pts[pts.length - 1][0]).toFixed(1);
      parts.push(svgEl('polygon', { points: `${first},${y(0)} ${line} ${last},${y(0)}`, class: `area ${s.className}` }));
    }
    parts.push(svgEl('polyline', { points: line, class: `line ${s.className}` }));
    if (pts.length <= 40) for (const p of pts) parts.push(svgEl('circle', { cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 2, class: `dot ${s.className}` }));
  }
  svg.replaceChildren(...parts);
}
