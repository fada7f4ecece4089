import { table } from '../lib/table.js';
import type { HopReport, ReconcileReport, StatusDiff, TableRegionReport } from './report.js';

export type ReportFormat = 'table' | 'csv' | 'markdown';

export interface RenderOptions {
  readonly format: ReportFormat;
  /** List the ids of every gap (always in --json). */
  readonly showIds: boolean;
}

const HOP_HEADERS = ['hop', 'upstream', 'downstream', 'missing', 'extra', 'status≠'];
const TABLE_HEADERS = ['store', 'reference', 'region', 'missing', 'extra', 'status≠'];

function statusCell(hop: { statusDiffers: readonly StatusDiff[] }, compared = true): string {
  return compared ? String(hop.statusDiffers.length) : 'n/a';
}

function hopRow(h: HopReport): string[] {
  if (!h.checked) return [h.name, '?', '?', 'unchecked', '', ''];
  return [
    h.name,
    `${h.upstream.count} @${h.upstream.region}`,
    `${h.downstream.count} @${h.downstream.region}`,
    h.held?.length ? `${h.missing.length} (${h.held.length} held upstream)` : String(h.missing.length),
    String(h.extra.length),
    statusCell(h, h.statusCompared),
  ];
}

function tableRow(t: TableRegionReport): string[] {
  if (!t.checked) return [t.table, t.reference.region, t.region, 'unchecked', '', ''];
  return [
    t.table,
    `${t.reference.count} @${t.reference.region}`,
    `${t.count} @${t.region}`,
    String(t.missing.length),
    String(t.extra.length),
    statusCell(t),
  ];
}

function idLines(
  name: string,
  gaps: {
    missing: readonly string[];
    held?: readonly string[];
    extra: readonly string[];
    statusDiffers: readonly StatusDiff[];
  },
): string[] {
  const lines: string[] = [];
  if (gaps.missing.length) lines.push(`${name}\n  missing: ${gaps.missing.join(', ')}`);
  if (gaps.held?.length)
    lines.push(`${name}\n  held upstream (broker unreachable, not yet delivered): ${gaps.held.join(', ')}`);
  if (gaps.extra.length) lines.push(`${name}\n  extra: ${gaps.extra.join(', ')}`);
  if (gaps.statusDiffers.length) {
    lines.push(
      `${name}\n  status differs: ${gaps.statusDiffers.map((d) => `${d.id} (${d.left} vs ${d.right})`).join(', ')}`,
    );
  }
  return lines;
}

function summary(report: ReconcileReport): string {
  const t = report.totals;
  const verdict = report.gaps
    ? `GAPS: ${t.missing} missing`
    : report.complete
      ? 'no gaps: nothing missing'
      : 'nothing missing in what could be checked, but the check is INCOMPLETE';
  return `${verdict}; ${t.extra} extra, ${t.statusDiffers} status difference(s); ${t.compared} records compared in ${(report.durationMs / 1000).toFixed(1)} s`;
}

function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function csvCell(value: string | number | boolean): string {
  const s = String(value);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function renderCsv(report: ReconcileReport, showIds: boolean): string {
  const headers = [
    'section',
    'name',
    'upstream_table',
    'upstream_region',
    'upstream_count',
    'downstream_table',
    'downstream_region',
    'downstream_count',
    'missing',
    'extra',
    'status_differs',
    'checked',
  ];
  if (showIds) headers.push('missing_ids', 'extra_ids', 'status_differs_ids');
  const rows: (string | number | boolean)[][] = [];
  const ids = (g: { missing: readonly string[]; extra: readonly string[]; statusDiffers: readonly StatusDiff[] }) =>
    showIds
      ? [g.missing.join(' '), g.extra.join(' '), g.statusDiffers.map((d) => `${d.id}:${d.left}/${d.right}`).join(' ')]
      : [];
  for (const h of report.hops) {
    rows.push([
      'hop',
      h.name,
      h.upstream.table,
      h.upstream.region,
      h.upstream.count,
      h.downstream.table,
      h.downstream.region,
      h.downstream.count,
      h.missing.length,
      h.extra.length,
      h.statusCompared ? h.statusDiffers.length : '',
      h.checked,
      ...ids(h),
    ]);
  }
  for (const t of report.tables) {
    rows.push([
      'region',
      `${t.table}: ${t.reference.region} vs ${t.region}`,
      t.table,
      t.reference.region,
      t.reference.count,
      t.table,
      t.region,
      t.count,
      t.missing.length,
      t.extra.length,
      t.statusDiffers.length,
      t.checked,
      ...ids(t),
    ]);
  }
  return [headers, ...rows].map((r) => r.map(csvCell).join(',')).join('\n');
}

function renderOne(report: ReconcileReport, options: RenderOptions, title: string): string {
  if (options.format === 'csv') return renderCsv(report, options.showIds);
  const md = options.format === 'markdown';
  const grid = md ? markdownTable : table;
  const regions = Object.entries(report.regions)
    .map(([app, r]) => `${app} read in ${r}`)
    .join(', ');
  const out: string[] = [];
  out.push(md ? `### ${title}` : title);
  out.push(`Window ${report.window.from} → ${report.window.to} (${regions})`);
  out.push('');
  out.push(grid(HOP_HEADERS, report.hops.map(hopRow)));
  if (report.tables.length) {
    out.push('');
    out.push(grid(TABLE_HEADERS, report.tables.map(tableRow)));
  }
  if (options.showIds) {
    const lines = [
      ...report.hops.flatMap((h) => idLines(h.name, h)),
      ...report.tables.flatMap((t) => idLines(`${t.table} in ${t.region} (vs ${t.reference.region})`, t)),
    ];
    if (lines.length) out.push('', md ? '```' : '', ...lines, md ? '```' : '');
  }
  for (const note of report.notes) out.push(`Note: ${note}`);
  if (report.unchecked.length) {
    out.push('', 'Not checked:');
    for (const u of report.unchecked) out.push(`- ${u.scope} ${u.name}: ${u.reason}`);
  }
  out.push('', summary(report));
  return out.join('\n');
}

/** The report as a readable table (default), CSV or Markdown, with the replay and its re-check when there was one. */
export function renderReconcile(report: ReconcileReport, options: RenderOptions): string {
  const parts = [renderOne(report, options, 'Reconciliation')];
  const replay = report.replay;
  if (!replay) return parts.join('\n');
  if (options.format === 'csv') {
    const lines = [
      'action,via,target,missing,injected,error',
      ...replay.actions.map((a) =>
        [a.name, a.via, a.target, a.ids.length, a.injected, a.error ?? ''].map(csvCell).join(','),
      ),
    ];
    parts.push('', lines.join('\n'));
    if (replay.after) parts.push('', renderCsv(replay.after, options.showIds));
    return parts.join('\n');
  }
  const md = options.format === 'markdown';
  parts.push('', md ? '### Replay' : replay.dryRun ? 'Replay (dry run: nothing sent)' : 'Replay');
  if (!replay.actions.length) parts.push('Nothing to replay.');
  else {
    const rows = replay.actions.map((a) => [
      a.name,
      a.via,
      a.target,
      String(a.ids.length),
      replay.dryRun ? '-' : String(a.injected),
      a.error ?? '',
    ]);
    parts.push((md ? markdownTable : table)(['what', 'via', 'into', 'missing', 'replayed', 'error'], rows));
    if (replay.dryRun && options.showIds) for (const a of replay.actions) parts.push(`${a.name}: ${a.ids.join(', ')}`);
  }
  if (replay.audit)
    parts.push(
      `Audit entry ${replay.audit.id} in ${replay.audit.table}@${replay.audit.region} (by ${replay.audit.who})`,
    );
  if (replay.verify) {
    parts.push(
      `Re-check: ${replay.verify.ok ? 'nothing missing' : `${replay.verify.remainingMissing} still missing`} after ${replay.verify.attempts} attempt(s), ${(replay.verify.durationMs / 1000).toFixed(1)} s`,
    );
  }
  if (replay.after) parts.push('', renderOne(replay.after, options, 'After replay'));
  return parts.join('\n');
}
