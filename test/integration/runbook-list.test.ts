import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunJournal } from '../../src/runbooks/journal.js';
import { runJson, tempWorkspace } from '../helpers/cli.js';

/** A finished run as the engine journals it; with a canary-confirmed marker it has an RTO. */
function journal(index: number, canaryAfterMs?: number): RunJournal {
  const started = new Date(Date.UTC(2026, 11, 6, 10, index));
  const runId = `${started.toISOString().replace(/[-:.]/g, '')}-rotate-trade`;
  return {
    version: 1,
    runId,
    runbook: { name: 'rotate', description: 'rotate', file: 'runbooks/rotate.yaml', source: '' },
    params: { app: 'trade' },
    lockKey: 'trade',
    status: 'completed',
    pid: 1,
    hostname: 'h',
    startedAt: started.toISOString(),
    updatedAt: started.toISOString(),
    confirmedBy: '--yes',
    events: [],
    steps: [],
    rollback: [],
    markers:
      canaryAfterMs === undefined
        ? []
        : [{ name: 'canary-confirmed', at: new Date(started.getTime() + canaryAfterMs).toISOString(), step: 'c' }],
    rpo: [{ phase: 'after-replay', count: 0, step: 'r', at: started.toISOString() }],
  };
}

describe('tsr runbook list', () => {
  it('lists more than ten runs with short ids, RTO and RPO, and says how to see the rest', async () => {
    const workspace = tempWorkspace('tsr-runs-');
    mkdirSync(path.join(workspace, 'runbooks'));
    const journals = Array.from({ length: 25 }, (_, i) => journal(i, i === 24 ? 4_200 : undefined));
    for (const j of journals) writeFileSync(path.join(workspace, 'runbooks', `${j.runId}.json`), JSON.stringify(j));

    type Listing = { runs: { runId: string; shortId: string; rtoMs?: number; rpo?: number }[]; more: number };
    const { json } = await runJson<Listing>(['runbook', 'list', '--workspace', workspace]);
    expect(json.runs).toHaveLength(20);
    expect(json.more).toBe(5);
    expect(json.runs[0]).toEqual(expect.objectContaining({ runId: journals[24].runId, rtoMs: 4_200, rpo: 0 }));
    expect(json.runs[0].shortId).toMatch(/^[0-9a-f]{7}$/);
    expect((await runJson<Listing>(['runbook', 'list', '--all', '--workspace', workspace])).json.runs).toHaveLength(25);

    const shown = await runJson<{ journal: { runId: string } }>([
      'runbook',
      'show',
      json.runs[3].shortId,
      '--workspace',
      workspace,
    ]);
    expect(shown.result.code).toBe(0);
    expect(shown.json.journal.runId).toBe(json.runs[3].runId);
  });
});
