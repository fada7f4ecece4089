import { compileScenario } from '../../src/gameday/compile.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  listScenarios,
  parseScenario,
  resolveScenarioFile,
  ScenarioValidationError,
  scenarioDirectories,
  workspaceScenarios,
} from '../../src/gameday/load.js';
import { accountLoss } from '../../src/gameday/loss-accounting.js';
import { judgeObjectives } from '../../src/gameday/objectives.js';
import {
  buildGameDayReport,
  compareReports,
  renderGameDayMarkdown,
  renderJunit,
  renderVerdictLine,
} from '../../src/gameday/report.js';
import { renderHtmlReport } from '../../src/gameday/report-html.js';
import { gamedayRegistry, lossWindows } from '../../src/gameday/run.js';
import { inLossWindow } from '../../src/verdict/index.js';
import type { RecoveryResult } from '../../src/gameday/steps.js';
import { parseRunbook } from '../../src/runbooks/load.js';
import type { RunJournal } from '../../src/runbooks/journal.js';
import { stringify } from 'yaml';

const env = { target: 'local' as const, regions: ['us-east-1', 'us-west-2'] };

const base = {
  name: 'probe-test',
  description: 'a test scenario',
  hypothesis: 'nothing breaks',
  load: { rate: 5, warmup: '2s' },
  phases: [{ id: 'slow', fault: 'replication-delay', delay: '2s', for: '3s' }],
};

/** The problems validation reports for a scenario, as "line: message". */
function problems(scenario: unknown, target: 'local' | 'aws' = 'local'): string[] {
  try {
    parseScenario(stringify(scenario), 'scenario.yaml', { ...env, target });
    return [];
  } catch (error) {
    if (!(error instanceof ScenarioValidationError)) throw error;
    return error.issues.map((i) => `${i.line}: ${i.message}`);
  }
}

describe('game-day scenarios', () => {
  test('every built-in scenario is valid on the local target and compiles to a runbook the engine accepts', () => {
    const scenarios = listScenarios(env);
    expect(scenarios.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'quick',
        'rotation-under-load',
        'region-loss',
        'replication-pause-then-region-loss',
        'gray-failure',
        'control-plane-loss',
      ]),
    );
    for (const summary of scenarios) {
      expect({ name: summary.name, problems: summary.problems }).toEqual({ name: summary.name, problems: [] });
    }
  });

  test('a valid scenario compiles: load, steady state, phases, faults undone, load stopped; finally restores both', () => {
    const scenario = parseScenario(
      stringify({
        ...base,
        steadyState: [{ probe: 'confirming' }],
        phases: [{ rotate: 'trade', to: 'secondary' }, ...base.phases],
      }),
      'scenario.yaml',
      env,
    );
    const runbook = compileScenario(scenario.definition, env.regions);
    expect(runbook.steps.map((s) => s.id)).toEqual([
      'load',
      'steady-before-1-confirming',
      'steady-latency',
      'p1-rotate',
      'slow',
      'undo-faults',
      'steady-after-1-confirming',
      'load-stop',
    ]);
    // primary/secondary are named in the plan
    expect(runbook.steps[3].params).toEqual({ runbook: 'rotate', params: { app: 'trade', target: 'us-west-2' } });
    expect(runbook.finally?.map((s) => [s.id, s.undoes])).toEqual([
      ['restore-faults', undefined],
      ['restore-load', 'load'],
    ]);
    expect(runbook.lock).toBe('gameday');
    expect(() => parseRunbook(stringify(runbook), 'compiled.yaml', gamedayRegistry())).not.toThrow();
  });

  test('bad input is refused with its line and the fix, all problems at once', () => {
    const found = problems({
      ...base,
      objectives: { rto: 30, lost: 0 },
      phases: [
        { fault: 'meteor-strike', region: 'primary' },
        { fault: 'kill-service', app: 'trade', stage: 'matcher', region: 'us-east-1' },
        { fault: 'broker-down', region: 'eu-central-1' },
        { fault: 'kill-stage', app: 'trade', region: 'us-east-1' },
        { undo: 'never-injected' },
        { wait: 'replication', timeout: '5 minutes' },
        { teleport: 'trade' },
      ],
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\d+: objectives\.rto: a duration needs a unit/),
        expect.stringMatching(/phases\.0\.fault: .*region-down/),
        expect.stringMatching(/phases\.1\.stage: .*inbound-gateway/),
        expect.stringMatching(/phases\.2\.region: unknown region "eu-central-1"/),
        expect.stringMatching(/phases\.3: fault kill-stage needs stage/),
        expect.stringMatching(/phases\.4\.undo: undo names "never-injected"/),
        expect.stringMatching(/phases\.5\.timeout: "5 minutes" is not a duration/),
        expect.stringMatching(/phases\.6: a phase is a map with one of: rotate, failover/),
      ]),
    );
    // line numbers point into the file: the objective is on line 6 of the YAML above (name, description, hypothesis, load×3)
    expect(found.find((p) => p.includes('objectives.rto'))).toMatch(/^\d+:/);
  });

  test('a fault the target cannot do is refused at validation, naming the target', () => {
    expect(problems({ ...base, phases: [{ fault: 'broker-down', region: 'primary' }] })).toEqual([]);
    expect(problems({ ...base, phases: [{ fault: 'broker-down', region: 'primary' }] }, 'aws')).toEqual(
      expect.arrayContaining([expect.stringMatching(/the aws target cannot inject broker-down/)]),
    );
    // A partition runs on AWS too (FIS cross-Region connectivity experiments).
    expect(problems({ ...base, phases: [{ fault: 'partition' }] }, 'aws')).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/cannot inject partition/)]),
    );
    // ARC endpoint loss runs on AWS too (held in tsr's own ARC client), and so does the verdict (the Data API): the
    // built-in control-plane-loss is valid there as it is.
    const controlPlaneLoss = listScenarios({ ...env, target: 'aws' }).find((s) => s.name === 'control-plane-loss');
    expect(controlPlaneLoss?.problems).toEqual([]);
    expect(problems(base, 'aws')).toEqual([
      expect.stringMatching(
        /the aws target cannot inject replication-delay; it can: region-down, kill-service, kill-stage, db-writer-crash, arc-endpoints-down, partition/,
      ),
    ]);
  });

  test('on AWS: its faults, load, the generator probes and the verdict objectives are accepted', () => {
    const onAws = {
      name: 'aws-drill',
      description: 'faults on AWS',
      hypothesis: 'trade keeps working',
      load: { rate: 5, warmup: '10s' },
      objectives: { rto: '10m', p99ToMatched: '3s' },
      steadyState: [{ probe: 'replication', max: '5s' }, { probe: 'confirming' }, { probe: 'latency', max: '3s' }],
      stopWhen: [{ condition: 'no-confirmation', for: '30s' }],
      phases: [
        { id: 'lose-west', fault: 'region-down', region: 'secondary' },
        { undo: 'lose-west' },
        { fault: 'kill-service', app: 'trade', stage: 'core', region: 'active', for: '30s' },
        { fault: 'db-writer-crash', app: 'trade' },
        { fault: 'partition', for: '30s' },
        { fault: 'arc-endpoints-down', endpoints: 'all-but-one', for: '30s' },
        { probe: 'confirming', expect: 'hold', within: '30s' },
        { wait: 'confirming', timeout: '2m' },
        { rotate: 'trade', to: 'secondary' },
        { fault: 'hang-service', app: 'trade', stage: 'core', region: 'active' },
      ],
    };
    // Load, the confirming and latency probes, wait confirming and p99ToMatched read the generator, which runs on
    // AWS as an ECS service; only a fault AWS cannot inject is refused.
    expect(problems(onAws, 'aws')).toEqual([
      expect.stringMatching(/phases\.9\.fault: the aws target cannot inject hang-service/),
    ]);
    expect(problems({ ...onAws, phases: onAws.phases.slice(0, 9) }, 'aws')).toEqual([]);
    // The verdict reads the AWS core databases through the RDS Data API: its objectives are judged there too.
    expect(
      problems(
        {
          ...onAws,
          phases: onAws.phases.slice(0, 9),
          objectives: { rto: '10m', lost: 0, duplicated: 0, wrong: 0, late: 0, lossAgrees: true },
        },
        'aws',
      ),
    ).toEqual([]);
  });

  test('an undo of a fault that undoes itself (for) is refused', () => {
    expect(problems({ ...base, phases: [...base.phases, { undo: 'slow' }] })).toEqual([
      expect.stringMatching(/fault "slow" has `for`: it is undone by its own phase/),
    ]);
  });
});

const recovery = (over: Partial<RecoveryResult>): RecoveryResult => ({
  runId: 'r',
  runbook: 'rotate',
  status: 'completed',
  startedAt: '2026-12-06T10:00:00.000Z',
  clocks: {},
  markers: {},
  steps: [],
  ...over,
});

describe('game-day objectives and report', () => {
  test('objectives are judged on the worst recovery and the verdict; what the run did not measure fails', () => {
    const results = judgeObjectives(
      { rto: '10s', unavailability: '3s', rpo: 0, lost: 0, wrong: 0, p99ToMatched: '2s' },
      {
        recoveries: [
          recovery({ rtoMs: 8_000, unavailabilityMs: 2_000, rpoAfterReplay: 0 }),
          recovery({ runbook: 'failover', rtoMs: 14_000, unavailabilityMs: 4_000 }),
        ],
        counts: { ok: 10, lost: 1, wrong: 0 },
        steadyP99Ms: undefined,
      },
    );
    const byName = Object.fromEntries(results.map((r) => [r.name, r]));
    expect(byName.rto).toMatchObject({ passed: false, value: 14_000 });
    expect(byName.unavailability).toMatchObject({ passed: false, value: 4_000 });
    expect(byName.rpo).toMatchObject({ passed: true, value: 0 }); // planned moves only
    expect(byName.lost).toMatchObject({ passed: false, value: 1 });
    expect(byName.wrong).toMatchObject({ passed: true });
    expect(byName.p99ToMatched).toMatchObject({ passed: false, detail: 'steady-state latency not measured' });
    expect(judgeObjectives({ rpo: 0 }, { recoveries: [] })[0].passed).toBeUndefined();
  });

  const journal = (status: RunJournal['status']): RunJournal =>
    ({
      version: 1,
      runId: '20261206T100000000Z-gameday-x-gameday',
      runbook: { name: 'gameday-x', description: 'd', file: 'f', source: '' },
      params: {},
      lockKey: 'gameday',
      status,
      pid: 1,
      hostname: 'h',
      startedAt: '2026-12-06T10:00:00.000Z',
      endedAt: '2026-12-06T10:02:00.000Z',
      updatedAt: '2026-12-06T10:02:00.000Z',
      confirmedBy: '--yes',
      events: [],
      steps: [
        {
          id: 'load',
          type: 'gameday.load',
          title: 'Load <5>',
          status: 'completed',
          onFailure: 'stop',
          attempts: 1,
          durationMs: 1_000,
        },
      ],
      rollback: [],
      markers: [{ name: 'fault-x', at: '2026-12-06T10:01:00.000Z', step: 'x' }],
      rpo: [],
    }) as RunJournal;

  const report = (status: RunJournal['status'], lost: number) =>
    buildGameDayReport({
      journal: journal(status),
      scenario: { name: 'x', file: 'x.yaml', description: 'd', hypothesis: 'h & <b>' },
      objectives: judgeObjectives({ lost: 0, rto: '10s' }, { recoveries: [], counts: { lost } }),
      recoveries: [],
      verdict: { pairs: 10, counts: { ok: 10 - lost, lost }, passed: lost === 0 },
      timeline: [{ t: Date.parse('2026-12-06T10:00:30.000Z'), offered: 5, confirmed: 4.5 }],
    });

  test('passes only when the run completed, every objective passed and the verdict found nothing', () => {
    expect(report('completed', 0).passed).toBe(true);
    expect(report('completed', 1).passed).toBe(false);
    expect(report('failed', 0).passed).toBe(false);
  });

  test('JUnit has one test case per objective plus the run and the verdict, with failures and skips counted', () => {
    const xml = renderJunit(report('completed', 1));
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(xml.match(/<testcase /g)).toHaveLength(4);
    expect(xml).toContain('tests="4" failures="2" skipped="1"'); // verdict, lost; rto not applicable
    expect(xml).toMatch(
      /<testcase classname="gameday.x" name="objective lost ≤ 0">\s*<failure message="1: pairs lost \(verdict\)"\/>/,
    );
  });

  test('a report written when the verdict could not read AWS still reads "not judged", and new reports fail without a verdict', () => {
    const reason =
      'the verdict reads the core databases directly, which the aws target does not give tsr access to yet';
    // `tsr gameday history` and `report` render old bundles through this line.
    expect(renderVerdictLine({ pairs: 0, counts: {}, passed: false, notJudged: reason })).toBe(`not judged: ${reason}`);
    const unjudged = buildGameDayReport({
      journal: journal('completed'),
      scenario: { name: 'x', file: 'x.yaml', description: 'd', hypothesis: 'h' },
      objectives: judgeObjectives({ rto: '10s' }, { recoveries: [], counts: undefined }),
      recoveries: [],
      verdict: {
        pairs: 0,
        counts: {},
        passed: false,
        error: 'the RDS Data API is not enabled on tsr-dev-tm-core-us-east-1',
      },
      timeline: [],
    });
    expect(unjudged.passed).toBe(false);
    expect(renderJunit(unjudged)).toMatch(
      /<testcase classname="gameday.x" name="verdict">\s*<failure message="no verdict: the RDS Data API/,
    );
  });

  test('the HTML report is one file with the charting library inlined and the data escaped', () => {
    const html = renderHtmlReport(report('completed', 0));
    expect(html).not.toMatch(/<script[^>]+src=/); // nothing fetched from the network
    expect(html).toContain('uPlot');
    expect(html).toContain('h &amp; &lt;b&gt;');
    expect(html).toContain('"offered":5');
  });

  test('after a regional failover the loss the reports count is set against the verdict, in pairs', () => {
    const failovers = (tradePairs: number | undefined, missing = 0) => [
      recovery({
        runbook: 'failover',
        app: 'trade',
        lostInRegion: 7,
        lostPairsInRegion: tradePairs,
        rpoAfterReplay: missing,
      }),
      recovery({ runbook: 'failover', app: 'settlement', lostInRegion: 0, lostPairsInRegion: 0, rpoAfterReplay: 0 }),
    ];
    const counts = (c: Record<string, number>) => ({ counts: c });
    expect(accountLoss(failovers(4), counts({ ok: 90, atRisk: 4 }))).toMatchObject({
      lostWithRegionPairs: 4,
      atRisk: 4,
      agrees: true,
    });
    // The verdict finds a pair at risk that no report counted: the two measures disagree.
    expect(accountLoss(failovers(4), counts({ ok: 90, atRisk: 5 }))).toMatchObject({ agrees: false });
    // A record replay could not bring back may stop one more pair.
    expect(accountLoss(failovers(4, 1), counts({ atRisk: 5 }))).toMatchObject({ agrees: true });
    const unknown = accountLoss(failovers(undefined), counts({ atRisk: 5 }));
    expect(unknown?.agrees).toBeUndefined();
    expect(unknown?.detail).toMatch(/no generator ledger/);
    expect(accountLoss([recovery({})], counts({ atRisk: 0 }))).toBeUndefined(); // a rotation loses nothing to account for
    // Pair by pair: a counted pair that ended as predicted once the region came back is not at risk, and agrees.
    const byPair = (atRisk: number, cameBack: number, atRiskNotCounted: number, missing = 0) =>
      accountLoss(failovers(113, missing), {
        counts: { ok: 300, atRisk },
        lostWithRegion: { pairs: 113, cameBack, atRiskNotCounted },
      });
    expect(byPair(112, 1, 0)).toMatchObject({ agrees: true, cameBack: 1, atRiskNotCounted: 0 });
    expect(byPair(112, 1, 0)?.detail).toMatch(
      /agree pair by pair.*1 of them ended as predicted once the region came back/,
    );
    // The same counts, but one pair at risk is not one the failovers counted (and one counted pair is not at risk).
    expect(byPair(112, 1, 1)).toMatchObject({ agrees: false });
    expect(byPair(112, 1, 1)?.detail).toMatch(/DISAGREE.*1 pair at risk that no failover counted/);
    // ... unless a record replay could not bring back accounts for it.
    expect(byPair(113, 1, 1, 1)).toMatchObject({ agrees: true });
    // Without a came-back explanation, 113 counted and 112 at risk disagree.
    expect(byPair(112, 0, 0)).toMatchObject({ agrees: false });
    const objective = (pairs: number | undefined, atRisk: number) =>
      judgeObjectives({ lossAgrees: true }, { recoveries: failovers(pairs), counts: { atRisk } })[0];
    expect(objective(3, 3)).toMatchObject({ name: 'lossAgrees', passed: true, actual: '3 counted / 3 at risk' });
    expect(objective(3, 2).passed).toBe(false);
    expect(objective(undefined, 2).passed).toBe(false);
    expect(
      judgeObjectives(
        { lossAgrees: true },
        {
          recoveries: failovers(3),
          counts: { atRisk: 2 },
          lostWithRegion: { pairs: 3, cameBack: 1, atRiskNotCounted: 0 },
        },
      )[0],
    ).toMatchObject({ passed: true, actual: '3 counted, 1 came back / 2 at risk' });
    expect(judgeObjectives({ lossAgrees: true }, { recoveries: [] })[0].passed).toBeUndefined();
    const bundle = buildGameDayReport({
      journal: journal('completed'),
      scenario: { name: 'x', file: 'x.yaml', description: 'd', hypothesis: 'h' },
      objectives: [],
      recoveries: failovers(2),
      verdict: { pairs: 10, counts: { ok: 8, atRisk: 2 }, passed: true },
      timeline: [],
    });
    expect(bundle.lossAccounting).toMatchObject({ lostWithRegionPairs: 2, atRisk: 2, agrees: true });
    expect(renderGameDayMarkdown(bundle)).toContain('| 2 | not compared | 0 | 2 | yes |');
    expect(renderHtmlReport(bundle)).toContain(
      'the failover reports and the verdict agree: 2 pairs lost with the region',
    );
  });

  test('compare shows each figure in both runs and the change', () => {
    const rows = compareReports(report('completed', 2), report('completed', 0));
    expect(rows.find((r) => r.figure === 'result')).toEqual({
      figure: 'result',
      run: 'FAILED',
      other: 'PASSED',
      change: 'changed',
    });
    expect(rows.find((r) => r.figure === 'pairs lost')).toEqual({
      figure: 'pairs lost',
      run: '2',
      other: '0',
      change: '+2',
    });
  });
});

describe('loss windows of a game day', () => {
  test('a region-down window runs from the lag before the loss to the moment the region was down', () => {
    const injectedAt = Date.parse('2026-12-06T10:00:00.000Z');
    const fault = {
      id: 'lose-primary',
      runId: 'r',
      spec: { kind: 'region-down', region: 'us-east-1' },
      summary: 'region-down us-east-1',
      injectedAt: new Date(injectedAt).toISOString(),
      undo: [],
    };
    const journal = {
      steps: [{ id: 'lose-primary', type: 'gameday.fault', status: 'completed', result: fault }],
      // The broker went on acknowledging until the region was down, 1.5 s after the request.
      markers: [{ name: 'fault-lose-primary', at: new Date(injectedAt + 1_500).toISOString() }],
    } as unknown as RunJournal;
    const timeline = [
      { t: injectedAt - 4_000, tableLagMs: 900, dbLagMs: 0 },
      { t: injectedAt - 2_000, tableLagMs: 300, dbLagMs: 100 },
      { t: injectedAt + 2_000, tableLagMs: 60_000, dbLagMs: 0 },
    ] as Parameters<typeof lossWindows>[1];
    const [window] = lossWindows(journal, timeline);
    expect(window).toEqual({
      region: 'us-east-1',
      from: new Date(injectedAt - 300 - 2_000),
      to: new Date(injectedAt + 1_500),
    });
    expect(inLossWindow({ region: 'us-east-1', submittedAt: injectedAt + 1_000 }, [window])).toBe(true);
    expect(inLossWindow({ region: 'us-west-2', submittedAt: injectedAt + 1_000 }, [window])).toBe(false);
    expect(inLossWindow({ region: 'us-east-1', submittedAt: injectedAt + 1_600 }, [window])).toBe(false);
  });
});

describe('where scenarios are found by name', () => {
  test("the workspace's own scenarios come first, then the built-ins", () => {
    const workspace = mkdtempSync(path.join(os.tmpdir(), 'tsr-scenarios-'));
    try {
      mkdirSync(workspaceScenarios(workspace), { recursive: true });
      const own = path.join(workspaceScenarios(workspace), 'mine.yaml');
      writeFileSync(
        own,
        stringify({ name: 'mine', description: 'mine', hypothesis: 'holds', phases: [{ hold: '1s' }] }),
      );
      const env = { target: 'local' as const, regions: ['us-east-1', 'us-west-2'], workspace };
      expect(scenarioDirectories(workspace)[0]).toBe(path.resolve(workspaceScenarios(workspace)));
      expect(resolveScenarioFile('mine', scenarioDirectories(workspace))).toBe(own);
      expect(listScenarios(env).map((s) => s.name)).toEqual(expect.arrayContaining(['mine', 'quick']));
      expect(() => resolveScenarioFile('mine')).toThrow(/no game-day scenario named mine/);
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
