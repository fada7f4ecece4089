import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { reconcileView } from '../../src/dashboard/reconcile-view.js';
import { lastReconcile, reconcileDir, saveReconcile } from '../../src/reconcile/saved.js';
import type { ReconcileReport } from '../../src/reconcile/report.js';

function report(upstream: number, missing: string[] = []): ReconcileReport {
  return {
    window: { from: '2026-01-01T10:00:00.000Z', to: '2026-01-01T10:15:00.000Z', fromMs: 0, toMs: 900_000 },
    regions: { trade: 'us-east-1' },
    hops: [
      {
        name: 'tm/ingestion → tm/core',
        app: 'trade',
        upstream: { table: 'a', region: 'us-east-1', count: upstream },
        downstream: { table: 'b', region: 'us-east-1', count: upstream - missing.length },
        matched: upstream - missing.length,
        missing,
        extra: [],
        statusDiffers: [],
        statusCompared: false,
        checked: true,
      },
    ],
    tables: [],
    unchecked: [],
    notes: [],
    totals: { compared: upstream * 2, missing: missing.length, extra: 0, statusDiffers: 0 },
    gaps: missing.length > 0,
    complete: true,
    durationMs: 10,
  };
}

describe('saved reconcile reports', () => {
  let workspace: string;
  beforeEach(() => {
    workspace = mkdtempSync(path.join(os.tmpdir(), 'tsr-reconcile-saved-'));
  });
  afterEach(() => rmSync(workspace, { recursive: true, force: true }));

  it('keep the newest N in one place, and the last one is the newest, whoever ran it', () => {
    for (let i = 1; i <= 7; i++) saveReconcile(workspace, report(i), i % 2 ? 'tsr reconcile' : 'dashboard', 5);
    expect(readdirSync(reconcileDir(workspace))).toHaveLength(5);
    const last = lastReconcile(workspace);
    expect(last?.by).toBe('tsr reconcile');
    expect(last?.report.hops[0].upstream.count).toBe(7);
  });

  it('save nothing where there is no workspace, and read nothing when none was saved', () => {
    expect(saveReconcile(path.join(workspace, 'absent'), report(1), 'x')).toBeUndefined();
    expect(lastReconcile(workspace)).toBeUndefined();
    expect(reconcileView(undefined)).toEqual({});
  });

  it('the Reconcile view shows per-hop counts and gaps, after a replay those of its re-check', () => {
    saveReconcile(workspace, report(10, ['a', 'b']), 'runbook run r-1');
    expect(reconcileView(lastReconcile(workspace)).last).toMatchObject({
      by: 'runbook run r-1',
      replayed: false,
      hops: [{ name: 'tm/ingestion → tm/core', upstream: 10, downstream: 8, missing: 2 }],
      totals: { compared: 20, missing: 2 },
    });
    const replayed: ReconcileReport = {
      ...report(10, ['a', 'b']),
      replay: { dryRun: false, actions: [], injected: 2, after: report(10) },
    };
    saveReconcile(workspace, replayed, 'dashboard');
    expect(reconcileView(lastReconcile(workspace)).last).toMatchObject({
      replayed: true,
      hops: [{ upstream: 10, downstream: 10, missing: 0 }],
      totals: { missing: 0 },
    });
  });
});
