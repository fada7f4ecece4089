import { buildReport, renderReport } from '../../src/runbooks/report.js';
import type { RunJournal } from '../../src/runbooks/journal.js';

const journal = (flowAtStart?: unknown): RunJournal => ({
  version: 1,
  runId: 'r1',
  runbook: { name: 'rotate', description: 'd', file: 'rotate.yaml', source: '' },
  params: { app: 'trade' },
  lockKey: 'trade',
  status: 'completed',
  pid: 1,
  hostname: 'h',
  startedAt: '2026-12-06T18:00:00.000Z',
  updatedAt: '2026-12-06T18:00:20.000Z',
  endedAt: '2026-12-06T18:00:20.000Z',
  confirmedBy: '--yes',
  events: [],
  steps: [
    {
      id: 'preflight',
      type: 'check.preflight',
      title: 'preflight',
      status: 'completed',
      onFailure: 'stop',
      attempts: 1,
      result: { checks: [], ...(flowAtStart ? { flowAtStart } : {}) },
    },
  ],
  rollback: [],
  markers: [{ name: 'canary-confirmed', at: '2026-12-06T18:00:12.000Z', step: 'canary' }],
  rpo: [],
});

describe('the report notes the flow at start next to RTO', () => {
  it('a run born into a backlog says so, right under RTO and in the notes', () => {
    const summary =
      'FALLING BEHIND: a backlog has grown for 95 s (threshold 30 s); limiting stage trade/core@us-east-1';
    const report = buildReport(journal({ behind: true, summary }));
    expect(report.flowAtStart).toEqual({ behind: true, summary });
    const markdown = renderReport(report);
    expect(markdown).toMatch(
      /\| RTO \| 12\.0 s \| .*\n\| Flow at start \| BEHIND: FALLING BEHIND: a backlog has grown/,
    );
    expect(report.notes.join('\n')).toContain('The run started while the platform was already behind');
  });

  it('a run that started while keeping up says so, one that could not look says why, one that did not shows nothing', () => {
    const keepingUp = 'keeping up: no backlog has grown for 30 s';
    expect(renderReport(buildReport(journal({ behind: false, summary: keepingUp })))).toContain(
      `| Flow at start | ${keepingUp} |`,
    );
    expect(
      renderReport(buildReport(journal({ behind: false, summary: 'not measured: no answer within 10000 ms' }))),
    ).toContain('| Flow at start | not measured: no answer within 10000 ms |');
    const silent = buildReport(journal());
    expect(silent.flowAtStart).toBeUndefined();
    expect(renderReport(silent)).not.toContain('Flow at start');
  });
});
