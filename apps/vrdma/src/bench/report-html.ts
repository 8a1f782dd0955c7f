import { type BenchResult, formatBytes, opsPerSec } from './result.js';

const WIDTH = 640;
const HEIGHT = 320;
const PAD = { left: 64, right: 20, top: 20, bottom: 48 };

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Bandwidth versus transfer size, log-scaled on both axes, native and remoted. */
function bandwidthChart(result: BenchResult): string {
  const points = result.bandwidth.filter((p) => p.nativeGBps > 0 && p.remotedGBps > 0);
  if (points.length === 0) return '<p>No bandwidth points.</p>';
  const xs = points.map((p) => Math.log2(p.size));
  const ys = points.flatMap((p) => [Math.log10(p.nativeGBps), Math.log10(p.remotedGBps)]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const [y0, y1] = [Math.floor(Math.min(...ys)), Math.ceil(Math.max(...ys, Math.min(...ys) + 0.1))];
  const px = (x: number) => PAD.left + ((x - x0) / (x1 - x0)) * (WIDTH - PAD.left - PAD.right);
  const py = (y: number) =>
    HEIGHT - PAD.bottom - ((y - y0) / (y1 - y0)) * (HEIGHT - PAD.top - PAD.bottom);
  const line = (key: 'nativeGBps' | 'remotedGBps') =>
    points
      .map(
        (p, i) =>
          `${i === 0 ? 'M' : 'L'}${px(Math.log2(p.size)).toFixed(1)},${py(Math.log10(p[key])).toFixed(1)}`,
      )
      .join(' ');
  const dots = (key: 'nativeGBps' | 'remotedGBps', cls: string) =>
    points
      .map(
        (p) =>
          `<circle class="${cls}" cx="${px(Math.log2(p.size)).toFixed(1)}" cy="${py(Math.log10(p[key])).toFixed(1)}" r="3"><title>${formatBytes(p.size)}: ${p[key].toFixed(3)} GB/s</title></circle>`,
      )
      .join('');
  const xTicks = points
    .map(
      (p) =>
        `<text x="${px(Math.log2(p.size)).toFixed(1)}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle">${formatBytes(p.size)}</text>`,
    )
    .join('');
  const yTicks = Array.from({ length: y1 - y0 + 1 }, (_, i) => y0 + i)
    .map(
      (y) =>
        `<line class="grid" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${py(y)}" y2="${py(y)}"/><text x="${PAD.left - 6}" y="${py(y) + 4}" text-anchor="end">${10 ** y >= 1 ? 10 ** y : (10 ** y).toPrecision(1)}</text>`,
    )
    .join('');
  return `<svg id="bandwidth-chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="bandwidth versus transfer size">
${yTicks}${xTicks}
<path class="native" d="${line('nativeGBps')}"/><path class="remoted" d="${line('remotedGBps')}"/>
${dots('nativeGBps', 'native')}${dots('remotedGBps', 'remoted')}
<text x="${WIDTH / 2}" y="${HEIGHT - 8}" text-anchor="middle">transfer size (log)</text>
<text transform="rotate(-90)" x="${-HEIGHT / 2}" y="14" text-anchor="middle">GB/s (log)</text>
</svg>`;
}

/**
 * Per-call time, native next to remoted, as grouped horizontal bars; below them, one bar each
 * for a Comlink and a postMessage round trip between two threads, on the same scale.
 */
function controlChart(result: BenchResult): string {
  const rows = result.control;
  if (rows.length === 0) return '<p>No control-call points.</p>';
  const b = result.baselines;
  const baselines = [
    { name: 'Comlink RTT', us: b.comlinkUs },
    { name: 'postMessage RTT', us: b.postMessageUs },
  ];
  const max = Math.max(
    ...rows.flatMap((r) => [r.nativeUs, r.remotedUs]),
    ...baselines.map((r) => r.us),
    1,
  );
  const rowHeight = 36;
  const top = rows.length * rowHeight;
  const height = top + baselines.length * 20 + 30;
  const bar = (value: number) => ((value / max) * (WIDTH - 200)).toFixed(1);
  const bars = rows
    .map(
      (
        r,
        i,
      ) => `<text x="110" y="${i * rowHeight + 22}" text-anchor="end">${escapeHtml(r.fn)}</text>
<rect class="native" x="120" y="${i * rowHeight + 8}" width="${bar(r.nativeUs)}" height="12"><title>native ${r.nativeUs.toFixed(1)} µs</title></rect>
<rect class="remoted" x="120" y="${i * rowHeight + 21}" width="${bar(r.remotedUs)}" height="12"><title>remoted ${r.remotedUs.toFixed(1)} µs</title></rect>
<text x="${124 + Number(bar(r.remotedUs))}" y="${i * rowHeight + 31}">${r.remotedUs.toFixed(1)} µs</text>`,
    )
    .join('');
  const reference = baselines
    .map(
      (r, i) => `<text x="110" y="${top + i * 20 + 18}" text-anchor="end">${r.name}</text>
<rect class="baseline" x="120" y="${top + i * 20 + 8}" width="${bar(r.us)}" height="12"><title>${r.name} ${r.us.toFixed(1)} µs</title></rect>
<text x="${124 + Number(bar(r.us))}" y="${top + i * 20 + 18}">${r.us.toFixed(1)} µs</text>`,
    )
    .join('');
  return `<svg id="control-chart" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="time per control call, and round trips between two threads">${bars}${reference}</svg>`;
}

function table(headers: string[], rows: string[][], id?: string): string {
  return `<table${id ? ` id="${id}"` : ''}><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** A self-contained HTML report: inline CSS and SVG, no script, no network. */
export function renderReport(result: BenchResult, generatedAt = new Date()): string {
  const m = result.machine;
  const w = result.smallWrites;
  const b = result.baselines;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vrdma bench report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:760px;color:#222}
svg text{font-size:11px;fill:#333} .grid{stroke:#ddd}
path.native,path.remoted{fill:none;stroke-width:2} path.native{stroke:#1f77b4} path.remoted{stroke:#d62728}
circle.native,rect.native{fill:#1f77b4} circle.remoted,rect.remoted{fill:#d62728} rect.baseline{fill:#7f7f7f}
table{border-collapse:collapse;margin:1em 0} td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
.key span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
</style></head><body>
<h1>vrdma: native versus remoted</h1>
<p>${escapeHtml(`${m.engine}; ${m.transports}; guests as ${m.guests}; ${m.cpus} CPUs; Node ${m.node}; ${generatedAt.toISOString()}`)}</p>
<p class="key"><span style="background:#1f77b4"></span>native<span style="background:#d62728"></span>remoted<span style="background:#7f7f7f"></span>round trip between two threads</p>
<h2>Bandwidth versus transfer size</h2>
${bandwidthChart(result)}
${table(
  ['size', 'native GB/s', 'remoted GB/s', 'ratio'],
  result.bandwidth.map((p) => [
    formatBytes(p.size),
    p.nativeGBps.toFixed(3),
    p.remotedGBps.toFixed(3),
    p.ratio.toFixed(2),
  ]),
)}
<h2>Small writes per second</h2>
${table(
  ['size', 'in flight', 'native ops/s', 'remoted ops/s', 'ratio'],
  [
    [
      formatBytes(w.size),
      String(w.inFlight),
      opsPerSec(w.nativeOpsPerSec),
      opsPerSec(w.remotedOpsPerSec),
      w.ratio.toFixed(3),
    ],
  ],
  'small-writes',
)}
<h2>Time per control call</h2>
${controlChart(result)}
${table(
  [
    'call',
    'native µs',
    'remoted µs',
    'ratio',
    'remoted / Comlink',
    'remoted median µs',
    'median / Comlink median',
  ],
  result.control.map((c) => [
    c.fn,
    c.nativeUs.toFixed(1),
    c.remotedUs.toFixed(1),
    c.ratio.toFixed(1),
    c.vsComlink.toFixed(2),
    c.remotedMedianUs.toFixed(1),
    c.medianVsComlink.toFixed(2),
  ]),
  'control-table',
)}
${table(
  ['round trip between two threads', 'mean µs', 'median µs'],
  [
    ['Comlink', b.comlinkUs.toFixed(1), b.comlinkMedianUs.toFixed(1)],
    ['postMessage', b.postMessageUs.toFixed(1), b.postMessageMedianUs.toFixed(1)],
  ],
  'baselines',
)}
<p>Means, and medians (the typical call): a mean carries the calls whose thread the OS preempted.</p>
<h2>Kicks</h2>
${table(['per data-plane op', 'per control call'], [[result.kicks.perDataOp.toFixed(3), result.kicks.perControlCall.toFixed(3)]])}
<h2>Many guests</h2>
${table(
  ['guests', 'aggregate GB/s', "Jain's index"],
  result.guests.map((g) => [String(g.n), g.aggregateGBps.toFixed(3), g.jain.toFixed(3)]),
)}
</body></html>
`;
}
