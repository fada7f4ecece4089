import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalState } from '../../src/infra/local/state.js';
import { runJson, runTsr, tempWorkspace, type ResultOf } from '../helpers/cli.js';
import { checkLedger } from '../helpers/ledger.js';
import { eventually } from '../helpers/eventually.js';
import type Rotate from '../../src/commands/rotate.js';
import type Status from '../../src/commands/status.js';
import type RoutingControlList from '../../src/commands/routing-control/list.js';
import type GeneratorStop from '../../src/commands/generator/stop.js';

/** A rotation that ran (not a dry run), as `tsr rotate --json` prints it. */
type RunJson = Extract<ResultOf<typeof Rotate>, { dryRun: false }>;

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
    await runTsr(['destroy', '--purge', '--confirm', 'dev', ...flags]);
  }, 60_000);

  it('rotates trade to the secondary under load with RPO 0, and refuses a second rotation there as a no-op', async () => {
    expect((await runTsr(['generator', 'start', '--rate', '8', ...flags])).code).toBe(0);
    await eventually(
      async () =>
        (await runJson<ResultOf<typeof GeneratorStop>>(['generator', 'status', ...flags])).json.pairsSent >= 10,
      { timeoutMs: 60_000, what: 'load flowing (10 pairs sent)' },
    );
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
    const controls = await runJson<ResultOf<typeof RoutingControlList>>([
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
    const status = await runJson<ResultOf<typeof Status>>(['status', ...flags]);
    expect(status.json.writers.trade).toBe('us-west-2');

    // Nothing lost: every generated pair reaches its predicted state, read from the new writer.
    let check = await checkLedger(workspace, state, 'us-west-2');
    await eventually(
      async () => {
        check = await checkLedger(workspace, state, 'us-west-2');
        return check.trades.wrong.length === 0 && check.settlements.wrong.length === 0;
      },
      { timeoutMs: 180_000, intervalMs: 1_000, what: 'every pair in its predicted state' },
    ).catch(() => undefined); // the assertions below show what is wrong
    expect(check.trades.wrong.slice(0, 5)).toEqual([]);
    expect(check.settlements.wrong.slice(0, 5)).toEqual([]);
    expect(check.pairs).toBeGreaterThan(10);

    const again = await runJson<RunJson>(['rotate', 'trade', '--to', 'us-west-2', '--yes', ...flags]);
    expect(again.result.code).toBe(0);
    expect(JSON.stringify(again.json)).toContain('already active in us-west-2');
  }, 600_000);
});
