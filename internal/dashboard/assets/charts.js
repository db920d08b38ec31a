// Charts drawn as inline SVG: the canary's weight over time, and a
// metric's measurements against its thresholds. Each has a text
// alternative (its label and a table) for screen readers.
import { esc, clockTime, percent } from "./util.js";

// Sizes in SVG units. The weight chart fills half a row, a metric's a whole
// one: a wider box keeps its text the same size on the page.
const H = 200, R = 10, T = 12, B = 24;
const weightBox = { W: 600, L: 44 };
const metricBox = { W: 1100, L: 64 };

function scale(d0, d1, r0, r1) {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

// stepPath draws points as a step line: each value holds until the next.
function stepPath(pts, x, y) {
  let d = "";
  pts.forEach((p, i) => {
    d += i === 0 ? `M${x(p.t)},${y(p.v)}` : `H${x(p.t)}V${y(p.v)}`;
  });
  return d;
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
function niceCeil(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((n) => n >= v * (1 - 1e-9));
}

function frame({ W, L }, x0, x1, yTicks, y, fmt) {
  let s = `<line class="axis" x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}"/>`;
  for (const v of yTicks) {
    s += `<line class="axis" x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke-dasharray="2 4"/>`;
    s += `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${esc(fmt(v))}</text>`;
  }
  s += `<text x="${L}" y="${H - 6}">${esc(clockTime(x0))}</text>`;
  s += `<text x="${W - R}" y="${H - 6}" text-anchor="end">${esc(clockTime(x1))}</text>`;
  return s;
}

// weightChart: canary and stable weight over time, up to end: what the
// page saw live (samples) while it was open, the steps' history (plot)
// before and after.
export function weightChart(plot, samples, end) {
  const { W, L } = weightBox;
  const seen = samples.length ? [samples[0].t, samples[samples.length - 1].t] : [Infinity, -Infinity];
  const told = plot.map((p) => ({ t: Date.parse(p.at), v: p.weight })).filter((p) => p.t < seen[0] || p.t > seen[1]);
  const pts = [...told, ...samples].sort((a, b) => a.t - b.t);
  if (pts.length === 0) return `<p class="muted">No canary yet: the chart starts with the next one.</p>`;
  const last = pts[pts.length - 1];
  const x1 = Math.max(end ?? last.t, last.t);
  const line = [...pts, { t: x1, v: last.v }];
  const x = scale(pts[0].t, x1 === pts[0].t ? x1 + 1000 : x1, L, W - R);
  const y = scale(0, 100, H - B, T);
  const label = `Canary weight over time, from ${clockTime(pts[0].t)}: now ${percent(last.v)} canary, ${percent(100 - last.v)} stable.`;
  const stable = line.map((p) => ({ t: p.t, v: 100 - p.v }));
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}">
      ${frame(weightBox, pts[0].t, x1, [0, 50, 100], y, (v) => `${v}%`)}
      <path class="stable" d="${stepPath(stable, x, y)}"/>
      <path class="canary" d="${stepPath(line, x, y)}"/>
    </svg>
    <div class="legend"><span><span class="swatch stable"></span>stable</span><span><span class="swatch canary"></span>canary</span></div>`;
}

// weightTable: the recorded weights, the chart's text alternative. It is
// drawn apart from the chart, which runs on every second, so focus and a
// screen reader's place in it stay put.
export function weightTable(plot) {
  if (plot.length === 0) return "";
  const rows = plot.map((p) => `<tr><td>${esc(clockTime(Date.parse(p.at)))}</td><td class="num">${percent(p.weight)}</td><td class="num">${percent(100 - p.weight)}</td></tr>`).join("");
  return `<details id="weight-table"><summary>Weights as recorded, as a table</summary>
      <table><thead><tr><th scope="col">From</th><th scope="col" class="num">Canary</th><th scope="col" class="num">Stable</th></tr></thead><tbody>${rows}</tbody></table>
    </details>`;
}

const opWords = { "<": "below", "<=": "at most", ">": "above", ">=": "at least" };

// metricChart: a metric's measured values over time, coloured by verdict,
// with the limits its conditions set.
export function metricChart(m) {
  const { W, L } = metricBox;
  const pts = m.measurements.filter((ms) => ms.value !== undefined && ms.value !== null && Number.isFinite(ms.value))
    .map((ms) => ({ t: Date.parse(ms.at), v: ms.value, phase: ms.phase }));
  const limits = [
    m.success && { ...m.success, text: `passes if ${opWords[m.success.op]} ${m.success.value}` },
    m.failure && { ...m.failure, text: `fails if ${opWords[m.failure.op]} ${m.failure.value}` },
  ].filter(Boolean);
  if (pts.length === 0) return `<p class="muted">No numeric measurement yet.</p>`;
  const values = [...pts.map((p) => p.v), ...limits.map((l) => l.value), 0];
  const lo = Math.min(...values);
  const hi = lo + niceCeil((Math.max(...values) - lo) * 1.1);
  const t0 = pts[0].t, t1 = pts[pts.length - 1].t;
  const x = scale(t0, t1 === t0 ? t0 + 1000 : t1, L + 8, W - R - 8);
  const y = scale(lo, hi, H - B, T);
  const fmt = (v) => (Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-4) ? v.toExponential(1) : String(+v.toPrecision(3)));
  const lastPt = pts[pts.length - 1];
  const label = `${m.name}: ${pts.length} measurement${pts.length === 1 ? "" : "s"}, last ${lastPt.v} (${lastPt.phase})` +
    (limits.length ? `; ${limits.map((l) => l.text).join("; ")}` : "");
  let s = frame(metricBox, t0, t1, [lo, (lo + hi) / 2, hi], y, fmt);
  for (const l of limits) {
    s += `<line class="limit" x1="${L}" x2="${W - R}" y1="${y(l.value)}" y2="${y(l.value)}"/>`;
    s += `<text x="${W - R}" y="${y(l.value) - 4}" text-anchor="end">${esc(l.text)}</text>`;
  }
  if (pts.length > 1) s += `<polyline class="value" points="${pts.map((p) => `${x(p.t)},${y(p.v)}`).join(" ")}"/>`;
  for (const p of pts) {
    s += `<circle class="pt-${esc(p.phase)}" cx="${x(p.t)}" cy="${y(p.v)}" r="4.5"><title>${esc(clockTime(p.t))}: ${p.v} (${esc(p.phase)})</title></circle>`;
  }
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}">${s}</svg>
    <div class="legend">${limits.map((l) => `<span><span class="swatch limit"></span>${esc(l.text)}</span>`).join("")}</div>`;
}
