import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import {
  acquireRunLock,
  defineStepType,
  parseRunbook,
  readJournal,
  resumeRun,
  rollbackRun,
  RunLockedError,
  runRunbook,
  stepRegistry,
  type RunJournal,
  type RunOptions,
} from '../../src/runbooks/index.js';
import { journalPath } from '../../src/runbooks/journal.js';
import { lockPath } from '../../src/runbooks/lock.js';
import { caughtUpLags, FakePlatform, tempDir } from '../helpers/runbook-fakes.js';

/** What the test step types did, in order. */
let log: string[] = [];
/** Journal states seen on disk by `test.peek` when it ran. */
let peeks: RunJournal[] = [];
/** Gates a `test.gate` step waits for (resolved by the test), by label. */
const gates = new Map<string, { open: () => void; opened: Promise<void>; started: Promise<void>; start: () => void }>();
/** Attempts per label, so a step can fail its first n attempts. */
const attempts = new Map<string, number>();

function gate(label: string) {
  if (!gates.has(label)) {
    let open!: () => void;
    let start!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    const started = new Promise<void>((r) => (start = r));
    gates.set(label, { open, opened, start, started });
  }
  return gates.get(label)!;
}

const registry = stepRegistry.clone();
registry.register(
  defineStepType({
    type: 'test.record',
    summary: 'records its label',
    params: z
      .object({
        label: z.string(),
        failTimes: z.number().default(0),
        mark: z.string().optional(),
        rpo: z.object({ phase: z.enum(['before-replay', 'after-replay']), count: z.number() }).optional(),
        delayMs: z.number().default(0),
      })
      .strict(),
    describe: (p) => `record ${p.label}`,
    async run(ctx, p) {
      const n = (attempts.get(p.label) ?? 0) + 1;
      attempts.set(p.label, n);
      if (p.delayMs) await ctx.sleep(p.delayMs);
      ctx.detail(`working on ${p.label}`);
      if (n <= p.failTimes) throw new Error(`${p.label} failed (attempt ${n})`);
      log.push(p.label);
      if (p.mark) ctx.mark(p.mark);
      if (p.rpo) {
        ctx.recordRpo({
          ...p.rpo,
          scope: 'trade inbound→ingestion',
          oldest: '2025-01-01T00:00:00.000Z',
          newest: '2025-01-01T00:00:02.500Z',
        });
      }
      return { detail: `did ${p.label}`, result: { label: p.label } };
    },
  }),
);
registry.register(
  defineStepType({
    type: 'test.gate',
    summary: 'waits until the test opens its gate (or the signal aborts)',
    params: z.object({ label: z.string() }).strict(),
    requiresTimeout: true,
    describe: (p) => `gate ${p.label}`,
    async run(ctx, p) {
      const g = gate(p.label);
      g.start();
      ctx.detail(`waiting at ${p.label}`);
      await new Promise<void>((resolve, reject) => {
        void g.opened.then(resolve);
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
      });
      log.push(p.label);
    },
  }),
);
registry.register(
  defineStepType({
    type: 'test.peek',
    summary: 'reads its own journal from disk',
    params: z.object({}).strict(),
    describe: () => 'peek',
    async run(ctx) {
      peeks.push(readJournal(ctx.workspace, ctx.runId));
    },
  }),
);

const DRILL = `name: drill
description: engine drill
parameters:
  app:
    type: app
  failTimes:
    type: number
    default: 0
  onFailure:
    type: string
    default: stop
steps:
  - id: one
    type: test.record
    params:
      label: one
    rollback:
      - id: undo-one
        type: test.record
        params:
          label: undo-one
  - id: peek-1
    type: test.peek
  - id: two
    type: test.record
    params:
      label: two
      delayMs: 30
    marks: dns-swapped
    rollback:
      - id: undo-two-a
        type: test.record
        params:
          label: undo-two-a
      - id: undo-two-b
        type: test.record
        params:
          label: undo-two-b
  - id: peek-2
    type: test.peek
  - id: held
    type: test.gate
    params:
      label: held-\${app}
    timeout: 20s
    rollback:
      - id: undo-held
        type: test.record
        params:
          label: undo-held
  - id: three
    type: test.record
    params:
      label: three
      failTimes: \${failTimes}
      delayMs: 20
      mark: target-consuming
      rpo:
        phase: before-replay
        count: 3
    onFailure: rollback
  - id: canary
    type: test.record
    params:
      label: canary
      delayMs: 20
      mark: canary-confirmed
      rpo:
        phase: after-replay
        count: 0
`;

/** The same drill, with the step "three" failing policy given by `policy`. */
function drill(policy: 'stop' | 'rollback' | 'continue' = 'rollback') {
  return parseRunbook(DRILL.replace('onFailure: rollback', `onFailure: ${policy}`), '/tmp/drill.yaml', registry);
}

let workspace: string;
let platform: FakePlatform;

function options(extra: Partial<RunOptions> = {}): RunOptions {
  return { platform, workspace, registry, yes: true, progress: 'silent', stopGraceMs: 2_000, ...extra };
}

beforeEach(() => {
  log = [];
  peeks = [];
  gates.clear();
  attempts.clear();
  workspace = tempDir();
  platform = new FakePlatform(workspace);
});

const statuses = (journal: RunJournal) => journal.steps.map((s) => `${s.id}:${s.status}`);

describe('runbook engine', () => {
  it('runs every step, writes the journal after every step, and reports RTO, unavailability and RPO', async () => {
    gate('held-trade').open();
    const lines: string[] = [];
    const result = await runRunbook(
      drill(),
      { app: 'trade' },
      options({ progress: 'lines', write: (t) => lines.push(t) }),
    );
    expect(result.journal.status).toBe('completed');
    expect(log).toEqual(['one', 'two', 'held-trade', 'three', 'canary']);
    // When peek-1 ran, step one was already completed on disk and nothing after it had started.
    expect(statuses(peeks[0]).slice(0, 3)).toEqual(['one:completed', 'peek-1:running', 'two:pending']);
    expect(peeks[0].steps[0].detail).toBe('did one');
    expect(statuses(peeks[1]).slice(2, 5)).toEqual(['two:completed', 'peek-2:running', 'held:pending']);
    expect(peeks[1].markers.map((m) => m.name)).toEqual(['dns-swapped']);

    const onDisk = readJournal(workspace, result.journal.runId);
    expect(onDisk).toEqual(result.journal);
    expect(onDisk.confirmedBy).toBe('--yes');
    const report = result.report;
    const at = (name: string) => Date.parse(onDisk.markers.find((m) => m.name === name)!.at);
    expect(report.rtoMs).toBe(at('canary-confirmed') - Date.parse(onDisk.startedAt));
    expect(report.unavailabilityMs).toBe(at('target-consuming') - at('dns-swapped'));
    expect(report.unavailabilityMs).toBeGreaterThanOrEqual(20);
    expect(report.rpo.beforeReplay).toMatchObject({ count: 3, spanMs: 2_500 });
    expect(report.rpo.afterReplay).toMatchObject({ count: 0 });
    expect(report.steps.find((s) => s.id === 'two')?.durationMs).toBeGreaterThanOrEqual(30);
    expect(fs.readFileSync(result.files.markdown, 'utf8')).toContain('| RPO before replay | 3 records, spanning 2.5 s');
    expect(JSON.parse(fs.readFileSync(result.files.json, 'utf8')).rtoMs).toBe(report.rtoMs);
    // Plain line output (no TTY): a line per step start and end, then the report.
    const text = lines.join('');
    expect(text).toContain('→ [1/7] one: record one');
    expect(text).toMatch(/✔ \[7\/7\] canary: record canary — completed in \d+ ms: did canary/);
    expect(text).toContain('# Runbook drill');
    expect(fs.existsSync(lockPath(workspace, 'trade'))).toBe(false);
  });

  it('on a failing step with onFailure: rollback, undoes completed steps in reverse order', async () => {
    gate('held-trade').open();
    const result = await runRunbook(drill('rollback'), { app: 'trade', failTimes: 1 }, options());
    expect(result.journal.status).toBe('rolled-back');
    expect(log).toEqual(['one', 'two', 'held-trade', 'undo-held', 'undo-two-a', 'undo-two-b', 'undo-one']);
    expect(result.journal.steps.find((s) => s.id === 'three')).toMatchObject({
      status: 'failed',
      error: 'three failed (attempt 1)',
    });
    expect(result.journal.rollback.map((r) => `${r.for}/${r.id}:${r.status}`)).toEqual([
      'held/undo-held:completed',
      'two/undo-two-a:completed',
      'two/undo-two-b:completed',
      'one/undo-one:completed',
    ]);
    expect(result.report.rollback).toHaveLength(4);
  });

  it('onFailure: continue goes on; stop leaves the run failed for resume, then rollback', async () => {
    gate('held-trade').open();
    const continued = await runRunbook(drill('continue'), { app: 'trade', failTimes: 1 }, options());
    expect(continued.journal.status).toBe('completed');
    expect(continued.journal.steps.find((s) => s.id === 'three')).toMatchObject({ status: 'failed', continued: true });

    log = [];
    attempts.clear();
    const stopped = await runRunbook(drill('stop'), { app: 'trade', failTimes: 1 }, options());
    expect(stopped.journal.status).toBe('failed');
    expect(stopped.journal.message).toContain('step three failed');
    const rolledBack = await rollbackRun(stopped.journal.runId, options());
    expect(rolledBack.journal.status).toBe('rolled-back');
    expect(log.slice(-4)).toEqual(['undo-held', 'undo-two-a', 'undo-two-b', 'undo-one']);
    await expect(resumeRun(stopped.journal.runId, options())).rejects.toThrow(
      /rolled-back: there is nothing to resume/,
    );
  });

  it('Ctrl-C mid-step leaves a consistent journal; resume continues after the last completed step', async () => {
    const controller = new AbortController();
    const running = runRunbook(drill(), { app: 'trade' }, options({ signal: controller.signal }));
    await gate('held-trade').started;
    controller.abort();
    const interrupted = await running;
    expect(interrupted.journal.status).toBe('interrupted');
    const onDisk = readJournal(workspace, interrupted.journal.runId);
    expect(statuses(onDisk)).toEqual([
      'one:completed',
      'peek-1:completed',
      'two:completed',
      'peek-2:completed',
      'held:interrupted',
      'three:pending',
      'canary:pending',
    ]);
    expect(onDisk.endedAt).toBeDefined();
    expect(onDisk.steps[4].detail).toBe('waiting at held-trade');
    expect(fs.existsSync(lockPath(workspace, 'trade'))).toBe(false);

    gate('held-trade').open();
    log = [];
    const resumed = await resumeRun(undefined, options());
    expect(resumed.journal.runId).toBe(interrupted.journal.runId);
    expect(resumed.journal.status).toBe('completed');
    expect(log).toEqual(['held-trade', 'three', 'canary']);
    expect(resumed.journal.steps[4].attempts).toBe(2);
    expect(resumed.journal.steps[0].attempts).toBe(1);
    expect(resumed.journal.events.map((e) => e.what)).toEqual(
      expect.arrayContaining(['interrupted during step held', 'resumed at step held']),
    );
  });

  it('resumes a crashed run: the stale lock of the dead process is cleared and reported', async () => {
    const controller = new AbortController();
    const running = runRunbook(drill(), { app: 'trade' }, options({ signal: controller.signal }));
    await gate('held-trade').started;
    controller.abort();
    const { journal } = await running;
    // Make it look like the process died mid-step: journal says running, a lock of a dead pid remains.
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    const crashed = { ...readJournal(workspace, journal.runId), status: 'running', pid: dead };
    crashed.steps[4].status = 'running';
    delete crashed.endedAt;
    fs.writeFileSync(journalPath(workspace, journal.runId), JSON.stringify(crashed));
    fs.writeFileSync(
      lockPath(workspace, 'trade'),
      JSON.stringify({ key: 'trade', runId: journal.runId, pid: dead, hostname: os.hostname(), acquiredAt: 'x' }),
    );
    gate('held-trade').open();
    const lines: string[] = [];
    const resumed = await resumeRun(journal.runId, options({ progress: 'lines', write: (t) => lines.push(t) }));
    expect(resumed.journal.status).toBe('completed');
    expect(lines.join('')).toContain(`cleared a stale lock on trade: run ${journal.runId} (pid ${dead}) is gone`);
    expect(resumed.journal.events.some((e) => e.what.startsWith('cleared a stale lock'))).toBe(true);
  });

  it('refuses a second run on the same app while one is running; another app is fine', async () => {
    const first = runRunbook(drill(), { app: 'trade' }, options());
    await gate('held-trade').started;
    const second = runRunbook(drill(), { app: 'trade' }, options()).catch((e: unknown) => e);
    const refused = await second;
    expect(refused).toBeInstanceOf(RunLockedError);
    expect((refused as Error).message).toMatch(/already running on trade: run \S+-drill-trade \(pid \d+/);
    gate('held-settlement').open();
    expect((await runRunbook(drill(), { app: 'settlement' }, options())).journal.status).toBe('completed');
    gate('held-trade').open();
    expect((await first).journal.status).toBe('completed');
    // Only the first run's journal exists for trade: the refused one changed nothing.
    expect(fs.readdirSync(`${workspace}/runbooks`).filter((f) => /drill-trade\.json$/.test(f))).toHaveLength(1);
  });

  it('a lock held by a live process refuses; takes over one whose process is gone', () => {
    const held = acquireRunLock(workspace, 'trade', 'run-a');
    expect(() => acquireRunLock(workspace, 'trade', 'run-b')).toThrow(RunLockedError);
    held.release();
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    fs.writeFileSync(
      lockPath(workspace, 'trade'),
      JSON.stringify({ key: 'trade', runId: 'run-c', pid: dead, hostname: os.hostname(), acquiredAt: 'x' }),
    );
    const taken = acquireRunLock(workspace, 'trade', 'run-d');
    expect(taken.cleared).toMatchObject({ runId: 'run-c', pid: dead });
    taken.release();
  });

  it('asks before changing anything; without a terminal and without --yes it refuses and writes nothing', async () => {
    gate('held-trade').open();
    await expect(runRunbook(drill(), { app: 'trade' }, options({ yes: false }))).rejects.toThrow(
      /without confirmation/,
    );
    expect(
      fs.existsSync(`${workspace}/runbooks`)
        ? fs.readdirSync(`${workspace}/runbooks`).filter((f) => f.endsWith('.json'))
        : [],
    ).toEqual([]);
    const declined = runRunbook(
      drill(),
      { app: 'trade' },
      options({ yes: false, prompter: { confirm: async () => false } }),
    );
    await expect(declined).rejects.toThrow(/cancelled; nothing was changed/);
    const asked: string[] = [];
    const ok = await runRunbook(
      drill(),
      { app: 'trade' },
      options({ yes: false, prompter: { confirm: async (q) => (asked.push(q), true) } }),
    );
    expect(asked[0]).toMatch(/^Run drill on trade \(7 steps\)/);
    expect(ok.journal.confirmedBy).toBe('prompt');
    expect(log).toEqual(['one', 'two', 'held-trade', 'three', 'canary']);
  });

  it('a wait that never gets what it waits for times out with its last reading', async () => {
    const runbook = parseRunbook(
      `name: lag
description: wait
steps:
  - id: lag
    type: wait.replicated
    params:
      to: us-west-2
      interval: 20ms
    timeout: 200ms
`,
      '/tmp/lag.yaml',
      registry,
    );
    platform.lags = caughtUpLags(platform, 'us-east-1', 'us-west-2').map((l, i) =>
      i === 0 ? { ...l, healthy: false, lagMs: 0, detail: 'link paused' } : l,
    );
    const result = await runRunbook(runbook, {}, options());
    expect(result.journal.status).toBe('failed');
    expect(result.journal.steps[0].error).toMatch(
      /^timed out after 200 ms \(last: lag 50 ms; 1 of \d+ not caught up: .* UNHEALTHY: link paused\)/,
    );
  });

  describe('finally steps restore safety however a run ends', () => {
    /** open: like gate-on; close (finally, undoes open): like closing the gate. */
    const GATED = `name: gated
description: a gated drill
parameters:
  app:
    type: app
  preFail:
    type: number
    default: 0
  failTimes:
    type: number
    default: 0
steps:
  - id: pre
    type: test.record
    params:
      label: pre
      failTimes: \${preFail}
  - id: open
    type: test.record
    params:
      label: open
    rollback:
      - id: undo-open
        type: test.record
        params:
          label: undo-open
  - id: held
    type: test.gate
    params:
      label: held-\${app}
    timeout: 20s
  - id: work
    type: test.record
    params:
      label: work
      failTimes: \${failTimes}
finally:
  - id: close
    type: test.record
    title: Close the gate
    params:
      label: close
    undoes: open
`;
    const gated = () => parseRunbook(GATED, '/tmp/gated.yaml', registry);

    it('a failed run closes what it opened, says so, and resume re-opens it before going on', async () => {
      gate('held-trade').open();
      const failed = await runRunbook(gated(), { app: 'trade', failTimes: 1 }, options());
      expect(failed.journal.status).toBe('failed');
      expect(log).toEqual(['pre', 'open', 'held-trade', 'close']);
      expect(failed.journal.finally?.map((r) => `${r.id}:${r.status}`)).toEqual(['close:completed']);
      expect(failed.report.finally.map((s) => s.id)).toEqual(['close']);
      expect(failed.report.notes.join('\n')).toContain('its finally steps restored safety: Close the gate');
      expect(fs.readFileSync(failed.files.markdown, 'utf8')).toContain('## Finally (restoring safety)');

      log = [];
      const resumed = await resumeRun(failed.journal.runId, options());
      expect(resumed.journal.status).toBe('completed');
      // The gate is opened again first, then the run goes on at the failed step; a completed run needs no finally.
      expect(log).toEqual(['open', 'work']);
      expect(resumed.journal.finally).toBeUndefined();
      expect(resumed.journal.events.map((e) => e.what)).toContain(
        're-applied open (undone by the finally steps when the run ended)',
      );
    });

    it('runs after Ctrl-C too, and a rollback of that run re-opens, undoes, then closes again', async () => {
      const controller = new AbortController();
      const running = runRunbook(gated(), { app: 'trade' }, options({ signal: controller.signal }));
      await gate('held-trade').started;
      controller.abort();
      const interrupted = await running;
      expect(interrupted.journal.status).toBe('interrupted');
      expect(log).toEqual(['pre', 'open', 'close']);

      log = [];
      const rolledBack = await rollbackRun(interrupted.journal.runId, options());
      expect(rolledBack.journal.status).toBe('rolled-back');
      expect(log).toEqual(['open', 'undo-open', 'close']);
    });

    it('closes nothing when the run failed before opening it', async () => {
      const failed = await runRunbook(gated(), { app: 'trade', preFail: 1 }, options());
      expect(failed.journal.status).toBe('failed');
      expect(log).toEqual([]);
      expect(failed.journal.finally?.[0]).toMatchObject({ id: 'close', status: 'skipped' });
      expect(failed.report.notes.join('\n')).not.toContain('finally');
    });

    it('a finally step that fails is reported as safety not restored', async () => {
      gate('held-trade').open();
      const text = GATED.replace('      label: close\n', '      label: close\n      failTimes: 1\n');
      const failed = await runRunbook(
        parseRunbook(text, '/tmp/gated.yaml', registry),
        { app: 'trade', failTimes: 1 },
        options(),
      );
      expect(failed.journal.status).toBe('failed');
      expect(failed.report.notes.join('\n')).toMatch(
        /SAFETY NOT RESTORED: finally step close \(Close the gate: close failed/,
      );
    });

    it('refuses a finally step that undoes a step the runbook does not have, naming the line', () => {
      expect(() => parseRunbook(GATED.replace('undoes: open', 'undoes: opne'), '/tmp/gated.yaml', registry)).toThrow(
        /gated\.yaml:43:5 {2}finally step 1 "close" › undoes: undoes "opne", which is not a step of this runbook/,
      );
    });
  });
});
