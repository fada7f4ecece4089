import path from 'node:path';
import { formatDuration } from './duration.js';
import {
  type RunJournal,
  type RunStatus,
  runbooksDir,
  type StepRecord,
  type StepStatus,
  writeFileAtomically,
} from './journal.js';
import type { ParamValue } from './model.js';

/** Marker names the report reads. Steps (or the runbook's `marks:`) record them. */
export const MARKERS = {
  /** The dns swap batch was applied and read back: senders move to the target broker. */
  dnsSwapped: 'dns-swapped',
  /** The target's queue control was set On (the runbook's action; the gateway notices on its next poll). */
  targetQueueOpened: 'target-queue-opened',
  /** Observed: when the source's inbound gateway accepted its last record after the swap (`observe.accepting`). */
  sourceLastAccepted: 'source-last-accepted',
  /** Observed: when the target's inbound gateway accepted its first record after the swap (`observe.accepting`). */
  targetConsuming: 'target-consuming',
  /** A canary trade went end to end in the target. */
  canaryConfirmed: 'canary-confirmed',
  /** A canary sent after the target opened, behind everything held meanwhile, was confirmed: caught up. */
  backlogFlushed: 'backlog-flushed',
} as const;

/**
 * Markers only a step that observes them may record (from the safe stores), never a runbook's `marks:` on the
 * step that merely asked for it: a control set On is not a gateway accepting.
 */
export const OBSERVED_MARKERS: readonly string[] = [MARKERS.targetConsuming, MARKERS.sourceLastAccepted];

/** What each figure of the report measures (also in the markdown). */
export const MEASURES = {
  rtoMs: `start of the run → ${MARKERS.canaryConfirmed} (both sides of a canary pair confirmed through the target)`,
  unavailabilityMs:
    `${MARKERS.dnsSwapped} → ${MARKERS.targetConsuming}: from the swap until the target's inbound gateway ` +
    'accepted its first record (its acceptedAt in the target safe store); what senders published meanwhile ' +
    'waited in a broker',
  acceptanceGapMs:
    `${MARKERS.sourceLastAccepted} → ${MARKERS.targetConsuming}: no region accepted anything (last record the ` +
    'source gateway accepted after the swap → first one the target accepted); only when the source accepted ' +
    'something after the swap',
  queueToConsumingMs:
    `${MARKERS.targetQueueOpened} → ${MARKERS.targetConsuming}: how long the target gateway took to consume once ` +
    'its queue control was On',
  catchUpMs:
    `${MARKERS.dnsSwapped} → ${MARKERS.backlogFlushed}: until a canary sent once the target consumed, behind ` +
    'everything held meanwhile, was confirmed (the held backlog is processed)',
  rpo:
    'records accepted before the switch and missing from the replicated safe stores afterwards, counted by ' +
    'reconciliation before and after replay',
  lostInRegion:
    'what only the lost region held (acknowledged by its broker and not consumed, or accepted and not replicated): ' +
    "invisible to reconciliation, not recoverable by replay; counted from the generator's ledger",
} as const;

export interface StepTiming {
  readonly id: string;
  readonly type: string;
  readonly title: string;
  readonly status: StepStatus;
  readonly durationMs?: number;
  readonly attempts: number;
  readonly detail?: string;
  readonly error?: string;
  /** Rollback steps: the step undone. */
  readonly for?: string;
}

/** Records at risk: accepted before the switch, missing after it. */
export interface RpoFigure {
  readonly count: number;
  /** lost-in-region: the pairs those records belong to, where the step counted them. */
  readonly pairs?: number;
  readonly oldest?: string;
  readonly newest?: string;
  /** newest − oldest acceptance time. */
  readonly spanMs?: number;
  readonly details: readonly string[];
  /** Not measurable (e.g. lost-in-region without the generator's ledger). */
  readonly unknown?: boolean;
}

export interface RunReport {
  readonly runId: string;
  readonly runbook: string;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly status: RunStatus;
  readonly message?: string;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly durationMs?: number;
  readonly steps: readonly StepTiming[];
  readonly rollback: readonly StepTiming[];
  /** The runbook's finally steps, when the run ended in any way but success and they ran. */
  readonly finally: readonly StepTiming[];
  /** First time each marker was recorded. */
  readonly markers: Readonly<Record<string, string>>;
  /** Start of the run → canary confirmed in the target. */
  readonly rtoMs?: number;
  /** dns swapped → first record the target's inbound gateway accepted (observed). See MEASURES. */
  readonly unavailabilityMs?: number;
  /** Last record the source accepted after the swap → first one the target accepted (observed). */
  readonly acceptanceGapMs?: number;
  /** Target queue control On → first record the target accepted. */
  readonly queueToConsumingMs?: number;
  /** dns swapped → the held backlog is processed (a canary behind it confirmed). */
  readonly catchUpMs?: number;
  readonly rpo: {
    readonly beforeReplay?: RpoFigure;
    readonly afterReplay?: RpoFigure;
    /** Failover: what only the lost region held. */
    readonly lostInRegion?: RpoFigure;
  };
  /** Why a figure is missing, and similar remarks. */
  readonly notes: readonly string[];
  /** Whether the platform kept up when the run started, as its preflight saw it (a backlog lengthens every wait). */
  readonly flowAtStart?: { readonly behind: boolean; readonly summary: string };
}

/** What the preflight step recorded about the flow (steps/flow-at-start.ts), if it ran and looked. */
function preflightFlow(journal: RunJournal): RunReport['flowAtStart'] {
  for (const step of journal.steps) {
    const flow = (step.result as { flowAtStart?: { behind?: unknown; summary?: unknown } } | undefined)?.flowAtStart;
    if (flow && typeof flow.behind === 'boolean' && typeof flow.summary === 'string')
      return { behind: flow.behind, summary: flow.summary };
  }
  return undefined;
}

function timing(record: StepRecord): StepTiming {
  return {
    id: record.id,
    type: record.type,
    title: record.title,
    status: record.status,
    durationMs: record.durationMs,
    attempts: record.attempts,
    detail: record.detail,
    error: record.error,
    ...(record.for ? { for: record.for } : {}),
  };
}

function rpoFigure(journal: RunJournal, phase: RunJournal['rpo'][number]['phase']): RpoFigure | undefined {
  const latest = new Map<string, RunJournal['rpo'][number]>();
  for (const sample of journal.rpo.filter((s) => s.phase === phase)) latest.set(sample.scope ?? '', sample);
  if (latest.size === 0) return undefined;
  const samples = [...latest.values()];
  const times = (pick: (s: (typeof samples)[number]) => string | undefined) =>
    samples.flatMap((s) => (pick(s) ? [Date.parse(pick(s) as string)] : [])).filter(Number.isFinite);
  const oldest = times((s) => s.oldest);
  const newest = times((s) => s.newest);
  const first = oldest.length ? Math.min(...oldest) : undefined;
  const last = newest.length ? Math.max(...newest) : undefined;
  return {
    count: samples.reduce((sum, s) => sum + s.count, 0),
    ...(samples.some((s) => s.pairs !== undefined)
      ? { pairs: samples.reduce((sum, s) => sum + (s.pairs ?? 0), 0) }
      : {}),
    oldest: first === undefined ? undefined : new Date(first).toISOString(),
    newest: last === undefined ? undefined : new Date(last).toISOString(),
    spanMs: first !== undefined && last !== undefined ? last - first : undefined,
    details: samples.flatMap((s) => (s.detail ? [`${s.scope ? `${s.scope}: ` : ''}${s.detail}`] : [])),
    ...(samples.some((s) => s.unknown) ? { unknown: true } : {}),
  };
}

/** Per-step durations, RTO, unavailability window and RPO, from a journal (at any point of the run). */
export function buildReport(journal: RunJournal): RunReport {
  const markers: Record<string, string> = {};
  for (const marker of journal.markers) markers[marker.name] ??= marker.at;
  const at = (name: string) => (markers[name] ? Date.parse(markers[name]) : undefined);
  const started = Date.parse(journal.startedAt);
  const notes: string[] = [];

  const canary = at(MARKERS.canaryConfirmed);
  if (canary === undefined)
    notes.push(`RTO: not measured (no ${MARKERS.canaryConfirmed} marker: the canary did not run)`);
  const swapped = at(MARKERS.dnsSwapped);
  const consuming = at(MARKERS.targetConsuming);
  if (swapped === undefined || consuming === undefined) {
    const missing = [
      swapped === undefined ? MARKERS.dnsSwapped : undefined,
      consuming === undefined ? MARKERS.targetConsuming : undefined,
    ].filter(Boolean);
    notes.push(`Unavailability window: not measured (no ${missing.join(' or ')} marker)`);
  }
  const lastSource = at(MARKERS.sourceLastAccepted);
  const opened = at(MARKERS.targetQueueOpened);
  const flushed = at(MARKERS.backlogFlushed);
  if (consuming !== undefined && lastSource === undefined)
    notes.push(
      `Acceptance gap: not measured (no ${MARKERS.sourceLastAccepted} marker: the source accepted nothing after ` +
        'the swap, or could not be read)',
    );
  const rpo = {
    beforeReplay: rpoFigure(journal, 'before-replay'),
    afterReplay: rpoFigure(journal, 'after-replay'),
    lostInRegion: rpoFigure(journal, 'lost-in-region'),
  };
  if (!rpo.beforeReplay && !rpo.afterReplay) notes.push('RPO: not measured (no step reported data at risk)');
  if (journal.steps.some((s) => s.attempts > 1)) notes.push('Some steps ran more than once (the run was resumed).');
  const restored = (journal.finally ?? []).filter((s) => s.status !== 'skipped');
  const notRestored = restored.filter((s) => s.status !== 'completed');
  if (notRestored.length) {
    notes.push(
      `SAFETY NOT RESTORED: finally step${notRestored.length === 1 ? '' : 's'} ` +
        `${notRestored.map((s) => `${s.id} (${s.title}: ${s.error ?? s.status})`).join(', ')} did not complete; ` +
        'do it by hand now',
    );
  } else if (restored.length) {
    notes.push(
      `The run did not complete; its finally steps restored safety: ${restored.map((s) => s.title).join(', ')}.`,
    );
  }

  const flowAtStart = preflightFlow(journal);
  if (flowAtStart?.behind)
    notes.push(
      `The run started while the platform was already behind (${flowAtStart.summary}): its waits and RTO include ` +
        'working off that backlog.',
    );

  return {
    runId: journal.runId,
    runbook: journal.runbook.name,
    params: journal.params,
    status: journal.status,
    message: journal.message,
    startedAt: journal.startedAt,
    endedAt: journal.endedAt,
    durationMs: journal.endedAt ? Date.parse(journal.endedAt) - started : undefined,
    steps: journal.steps.map(timing),
    rollback: journal.rollback.map(timing),
    finally: restored.map(timing),
    markers,
    rtoMs: canary === undefined ? undefined : canary - started,
    unavailabilityMs: swapped === undefined || consuming === undefined ? undefined : consuming - swapped,
    acceptanceGapMs: lastSource === undefined || consuming === undefined ? undefined : consuming - lastSource,
    queueToConsumingMs: opened === undefined || consuming === undefined ? undefined : consuming - opened,
    catchUpMs: swapped === undefined || flushed === undefined ? undefined : flushed - swapped,
    rpo,
    notes,
    ...(flowAtStart ? { flowAtStart } : {}),
  };
}

const cell = (text: string | undefined) => (text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const duration = (ms: number | undefined) => (ms === undefined ? '–' : formatDuration(ms));

function rpoText(figure: RpoFigure | undefined): string {
  if (!figure) return 'not measured';
  if (figure.unknown) return 'unknown';
  const span =
    figure.count === 0
      ? ''
      : figure.spanMs !== undefined
        ? `, spanning ${formatDuration(figure.spanMs)} (${figure.oldest} → ${figure.newest})`
        : '';
  return `${figure.count.toLocaleString('en-US')} record${figure.count === 1 ? '' : 's'}${span}`;
}

function stepTable(steps: readonly StepTiming[], rollback: boolean): string[] {
  return [
    `| # | step | type | status | duration | detail |`,
    `|---|---|---|---|---|---|`,
    ...steps.map(
      (s, i) =>
        `| ${i + 1} | ${cell(rollback && s.for ? `${s.id} (undoes ${s.for})` : s.id)} | ${s.type} | ${s.status}` +
        `${s.attempts > 1 ? ` (${s.attempts} attempts)` : ''} | ${duration(s.durationMs)} | ` +
        `${cell(s.error ?? s.detail)} |`,
    ),
  ];
}

/** The report as markdown (also what the CLI prints). */
export function renderReport(report: RunReport): string {
  const params = Object.entries(report.params)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(' ');
  const lines = [
    `# Runbook ${report.runbook}: run ${report.runId}`,
    '',
    `Status: **${report.status}**${report.message ? ` (${report.message})` : ''}`,
    `Parameters: ${params || '(none)'}`,
    `Started ${report.startedAt}${report.endedAt ? `, ended ${report.endedAt} (${duration(report.durationMs)})` : ''}`,
    '',
    '| measure | value | what it measures |',
    '|---|---|---|',
    `| RTO | ${duration(report.rtoMs)} | ${MEASURES.rtoMs} |`,
    ...(report.flowAtStart
      ? [
          `| Flow at start | ${cell(report.flowAtStart.behind ? `BEHIND: ${report.flowAtStart.summary}` : report.flowAtStart.summary)} | ` +
            'whether the platform kept up when the run started (preflight; it warns, never refuses) |',
        ]
      : []),
    `| Unavailability window | ${duration(report.unavailabilityMs)} | ${MEASURES.unavailabilityMs} |`,
    `| Acceptance gap | ${duration(report.acceptanceGapMs)} | ${MEASURES.acceptanceGapMs} |`,
    `| Queue On → consuming | ${duration(report.queueToConsumingMs)} | ${MEASURES.queueToConsumingMs} |`,
    `| Catch-up | ${duration(report.catchUpMs)} | ${MEASURES.catchUpMs} |`,
    `| RPO before replay | ${cell(rpoText(report.rpo.beforeReplay))} | ${MEASURES.rpo} |`,
    `| RPO after replay | ${cell(rpoText(report.rpo.afterReplay))} | what is still missing after replay |`,
    ...(report.rpo.lostInRegion
      ? [`| Lost with the region | ${cell(rpoText(report.rpo.lostInRegion))} | ${MEASURES.lostInRegion} |`]
      : []),
    '',
    '## Steps',
    '',
    ...stepTable(report.steps, false),
  ];
  if (report.rollback.length) lines.push('', '## Rollback', '', ...stepTable(report.rollback, true));
  if (report.finally.length) lines.push('', '## Finally (restoring safety)', '', ...stepTable(report.finally, false));
  const markers = Object.entries(report.markers);
  if (markers.length) lines.push('', '## Markers', '', ...markers.map(([name, at]) => `- ${name}: ${at}`));
  const rpoDetails = [
    ...(report.rpo.beforeReplay?.details ?? []),
    ...(report.rpo.afterReplay?.details ?? []),
    ...(report.rpo.lostInRegion?.details.map((d) => `lost with the region: ${d}`) ?? []),
  ];
  if (rpoDetails.length) lines.push('', '## Data at risk', '', ...rpoDetails.map((d) => `- ${d}`));
  if (report.notes.length) lines.push('', '## Notes', '', ...report.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

export interface ReportFiles {
  readonly markdown: string;
  readonly json: string;
}

/** Saves the report beside the journal: <run-id>.report.md and <run-id>.report.json. */
export function saveReport(workspace: string, report: RunReport): ReportFiles {
  const base = path.join(runbooksDir(workspace), `${report.runId}.report`);
  const files = { markdown: `${base}.md`, json: `${base}.json` };
  writeFileAtomically(files.markdown, renderReport(report));
  writeFileAtomically(files.json, `${JSON.stringify(report, null, 2)}\n`);
  return files;
}
