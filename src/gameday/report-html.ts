import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { formatDuration } from '../runbooks/duration.js';
import type { GameDayReport } from './report-model.js';

const require = createRequire(import.meta.url);

/** uPlot's browser build and stylesheet, inlined: the report is one file that opens offline. */
function charting(): { script: string; style: string } {
  const dist = path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');
  return {
    script: readFileSync(path.join(dist, 'uPlot.iife.min.js'), 'utf8'),
    style: readFileSync(path.join(dist, 'uPlot.min.css'), 'utf8'),
  };
}

const html = (text: string) =>
  text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);

/** JSON safe inside a <script> element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const clock = (ms: number | undefined) => (ms === undefined ? '—' : `+${formatDuration(ms)}`);

const result = (passed: boolean | undefined) =>
  passed === undefined
    ? '<span class="na">n/a</span>'
    : passed
      ? '<span class="pass">PASS</span>'
      : '<span class="fail">FAIL</span>';

/** Draws the run's markers (faults, step ends) as vertical lines with labels on every chart. */
const CHART_SCRIPT = `
const data = JSON.parse(document.getElementById('tsr-data').textContent);
const t = data.timeline.map((s) => s.t / 1000);
const markers = data.markers.map((m) => ({ x: Date.parse(m.at) / 1000, name: m.name }));
const markerPlugin = {
  hooks: {
    draw: [(u) => {
      const ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = '#888';
      ctx.fillStyle = '#444';
      ctx.font = '10px sans-serif';
      ctx.setLineDash([4, 4]);
      for (const m of markers) {
        const x = u.valToPos(m.x, 'x', true);
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.fillText(m.name, x + 2, u.bbox.top + 10);
      }
      ctx.restore();
    }],
  },
};
const charts = [
  { id: 'rates', title: 'Offered vs confirmed (pairs/s)', series: [['offered', '#1f77b4'], ['confirmed', '#2ca02c']] },
  { id: 'latency', title: 'submit → MATCHED latency (ms)', series: [['p50', '#9467bd'], ['p99', '#d62728']] },
  { id: 'lag', title: 'Replication lag (ms)', series: [['tableLagMs', '#ff7f0e'], ['dbLagMs', '#8c564b']] },
  { id: 'backlog', title: 'Backlog (records)', sparse: true, series: [['backlog', '#17becf']] },
  { id: 'footprint', sparse: true, title: 'Platform memory and workspace disk (MiB)', series: [['anonMiB', '#7f7f7f'], ['pssMiB', '#bcbd22'], ['diskMiB', '#e377c2']] },
];
for (const chart of charts) {
  const el = document.getElementById(chart.id);
  const values = chart.series.map(([key]) => data.timeline.map((s) => (s[key] === undefined ? null : s[key])));
  new uPlot({
    title: chart.title,
    width: Math.min(1000, window.innerWidth - 40),
    height: 220,
    plugins: [markerPlugin],
    axes: [{}, { size: 70 }],
    series: [{}, ...chart.series.map(([label, stroke]) => ({ label, stroke, width: 2, spanGaps: Boolean(chart.sparse) }))],
  }, [t, ...values], el);
}
`;

/** After a regional failover: the loss its reports count against what the verdict finds at risk. */
function lossTable(report: GameDayReport): string {
  const loss = report.lossAccounting;
  if (!loss) return '';
  const known = (n: number | undefined) => (n === undefined ? 'unknown' : String(n));
  return `<h3>Loss a failover accepts: the reports against the verdict</h3>
<table><tr><th>lost with the region (pairs, ledger)</th><th>came back with the region (pairs)</th><th>missing after replay (records)</th><th>at risk (pairs, verdict)</th><th>agree</th></tr>
<tr><td>${known(loss.lostWithRegionPairs)}</td><td>${loss.cameBack ?? 'not compared'}</td><td>${known(loss.missingAfterReplay)}</td><td>${known(loss.atRisk)}</td><td>${result(loss.agrees)}</td></tr></table>
<p>${html(loss.detail)}</p>`;
}

/** The report as one self-contained HTML page: objectives, verdict, recoveries, phases and the timeline charts. */
export function renderHtmlReport(report: GameDayReport): string {
  const { script, style } = charting();
  const verdict = report.verdict;
  const counts = verdict?.counts ?? {};
  const rows = (cells: readonly string[][]) =>
    cells.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Game day ${html(report.scenario.name)} — ${report.passed ? 'PASSED' : 'FAILED'}</title>
<style>${style}
body{font-family:system-ui,sans-serif;margin:20px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}
.pass{color:#fff;background:#2e7d32;padding:1px 6px;border-radius:3px}.fail{color:#fff;background:#c62828;padding:1px 6px;border-radius:3px}
.na{color:#555;background:#ddd;padding:1px 6px;border-radius:3px}h1 .pass,h1 .fail{font-size:18px;vertical-align:middle}
</style></head>
<body>
<h1>Game day ${html(report.scenario.name)} ${result(report.passed)}</h1>
<p>${html(report.scenario.description)}</p>
<p><b>Hypothesis:</b> ${html(report.scenario.hypothesis)}</p>
<p>Run ${html(report.runId)} · ${html(report.status)}${report.message ? ` — ${html(report.message)}` : ''} · started ${html(report.startedAt)}${report.durationMs !== undefined ? ` · took ${formatDuration(report.durationMs)}` : ''}</p>
<h2>Objectives</h2>
<table><tr><th>objective</th><th>target</th><th>actual</th><th>result</th><th>how</th></tr>
${rows(report.objectives.map((o) => [html(o.name), html(o.target), html(o.actual ?? '—'), result(o.passed), html(o.detail)]))}
</table>
<h2>Verdict on every trade</h2>
${verdict?.error ? `<p>${result(false)} no verdict: ${html(verdict.error)}</p>` : ''}
<table><tr><th>pairs</th><th>ok</th><th>lost</th><th>duplicated</th><th>wrong</th><th>late</th><th>at risk</th><th>result</th></tr>
<tr><td>${verdict?.pairs ?? '—'}</td>${['ok', 'lost', 'duplicated', 'wrong', 'late', 'atRisk'].map((k) => `<td>${counts[k] ?? '—'}</td>`).join('')}<td>${result(verdict?.passed ?? false)}</td></tr></table>
${lossTable(report)}
<h2>Timeline</h2>
<div id="rates"></div><div id="latency"></div><div id="lag"></div><div id="backlog"></div><div id="footprint"></div>
<h2>Recoveries</h2>
<table><tr><th>runbook</th><th>app</th><th>to</th><th>status</th><th>controls moved</th><th>first accepted</th><th>first confirmed</th><th>RTO</th><th>unavailable</th><th>RPO before/after replay</th><th>lost with the region</th></tr>
${rows(
  report.recoveries.map((r) => [
    html(r.runbook),
    html(r.app ?? ''),
    html(r.to ?? ''),
    html(r.status),
    clock(r.clocks?.controlsMovedMs),
    clock(r.clocks?.firstAcceptedMs),
    clock(r.clocks?.firstConfirmedMs),
    r.rtoMs !== undefined ? formatDuration(r.rtoMs) : '—',
    r.unavailabilityMs !== undefined ? formatDuration(r.unavailabilityMs) : '—',
    `${r.rpoBeforeReplay ?? '—'}/${r.rpoAfterReplay ?? '—'}`,
    r.lostInRegion === undefined
      ? '—'
      : `${r.lostInRegion} side(s)${r.lostPairsInRegion !== undefined ? `, ${r.lostPairsInRegion} pair(s)` : ''}`,
  ]),
)}
</table>
<h2>Phases</h2>
<table><tr><th>step</th><th>status</th><th>took</th><th>detail</th></tr>
${rows(report.phases.map((p) => [html(p.id), html(p.status), p.durationMs !== undefined ? formatDuration(p.durationMs) : '—', html(p.error ?? p.detail ?? '')]))}
</table>
<script id="tsr-data" type="application/json">${scriptJson({ timeline: report.timeline, markers: report.markers })}</script>
<script>${script}</script>
<script>${CHART_SCRIPT}</script>
</body></html>
`;
}
