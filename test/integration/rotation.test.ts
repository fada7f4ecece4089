import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalState } from '../../src/infra/local/state.js';
import { runJson, runTsr, tempWorkspace } from '../helpers/cli.js';
import { checkLedger } from '../helpers/ledger.js';

interface RunJson {
  dryRun: false;
  journal: { status: string; steps: { id: string; status: string }[] };
  report: { rpo: { beforeReplay?: { count: number }; afterReplay?: { count: number } }; rtoMs?: number };
}

/** A planned rotation on the real local platform, under load: zero loss, every pair in its predicted state. */
describe('rotation end to end', () => {
  const workspace = tempWorkspace('tsr-rotation-');
  const flags = ['--workspace', workspace];
  let state: LocalState;

  beforeAll(async () => {
    expect((await runTsr(['deploy', ...flags])).code).toBe(0);
    state = JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8'));
  }, 180_000);

  afterAll(async () => {
    await runTsr(['destroy', '--yes', '--purge', ...flags]);
  }, 60_000);

  it('rotates trade to the secondary under load with RPO 0, and refuses a second rotation there as a no-op', async () => {
    expect((await runTsr(['generator', 'start', '--rate', '8', ...flags])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 2_000));
    const rotated = await runJson<RunJson>(['rotate', 'trade', '--to', 'secondary', '--yes', ...flags]);
    await runTsr(['generator', 'stop', ...flags]);
    expect(rotated.json.journal.status).toBe('completed');
    expect(rotated.result.code).toBe(0);
    expect(rotated.json.journal.steps.every((s) => s.status === 'completed')).toBe(true);
    const journal = JSON.stringify(rotated.json);
    expect(journal).toContain('canary-confirmed');
    expect(rotated.json.report.rpo.afterReplay?.count).toBe(0);
    expect(rotated.json.report.rtoMs).toBeGreaterThan(0);

    // The routing controls and the database writer moved.
    const controls = await runJson<{ controls: { name: string; state: string }[] }>([
      'routing-control',
      'list',
      '--app',
      'trade',
      ...flags,
    ]);
    const on = controls.json.controls
      .filter((c) => c.state === 'On')
      .map((c) => c.name)
      .sort();
    expect(on).toEqual(['trade-app-us-west-2', 'trade-dns-us-west-2', 'trade-queue-us-west-2']);
    const status = await runJson<{ writers: Record<string, string> }>(['status', ...flags]);
    expect(status.json.writers.trade).toBe('us-west-2');

    // Nothing lost: every generated pair reaches its predicted state, read from the new writer.
    const deadline = Date.now() + 180_000;
    let check = await checkLedger(workspace, state, 'us-west-2');
    while ((check.trades.wrong.length || check.settlements.wrong.length) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1_000));
      check = await checkLedger(workspace, state, 'us-west-2');
    }
    expect(check.trades.wrong.slice(0, 5)).toEqual([]);
    expect(check.settlements.wrong.slice(0, 5)).toEqual([]);
    expect(check.pairs).toBeGreaterThan(10);

    const again = await runJson<RunJson>(['rotate', 'trade', '--to', 'us-west-2', '--yes', ...flags]);
    expect(again.result.code).toBe(0);
    expect(JSON.stringify(again.json)).toContain('already active in us-west-2');
  }, 600_000);
});
