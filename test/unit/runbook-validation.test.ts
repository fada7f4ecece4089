import path from 'node:path';
import { z } from 'zod';
import { deriveNames } from '../../src/config/model.js';
import { UserError } from '../../src/errors.js';
import {
  defineStepType,
  listRunbooks,
  loadRunbookFile,
  parseRunbook,
  planRunbook,
  RunbookValidationError,
  renderPlan,
  stepRegistry,
  type StepRegistry,
} from '../../src/runbooks/index.js';
import { FakePlatform, tempDir, testConfig } from '../helpers/runbook-fakes.js';

const ROOT = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../..');
const config = testConfig(tempDir());
const names = deriveNames(config);

/** The drill step types as stubs (the real ones need a live platform): enough to plan rotate.yaml and failover.yaml. */
function withStubs(): StepRegistry {
  const registry = stepRegistry.clone();
  const stub = (type: string, requiresTimeout = true) =>
    defineStepType({
      type,
      summary: 'stub',
      params: z.object({
        app: z.string(),
        region: z.string().optional(),
        from: z.string().optional(),
        to: z.string().optional(),
        replay: z.boolean().optional(),
      }),
      requiresTimeout,
      describe: (p) => `${p.app} ${p.from ?? ''}${p.to ? `→${p.to}` : ''}${p.region ?? ''}`,
      run: async () => undefined,
    });
  for (const type of [
    'wait.drained',
    'wait.streams-idle',
    'database.switchover',
    'database.failover',
    'reconcile',
    'canary',
  ]) {
    registry.replace(stub(type));
  }
  return registry;
}

function problemsOf(text: string, registry: StepRegistry = stepRegistry): RunbookValidationError {
  try {
    parseRunbook(text, '/tmp/drill.yaml', registry);
  } catch (error) {
    if (error instanceof RunbookValidationError) return error;
    throw error;
  }
  throw new Error('expected a validation error');
}

const VALID = `name: drill
description: a drill
parameters:
  app:
    type: app
  target:
    type: region
    default: secondary
steps:
  - id: wait-lag
    type: wait.replicated
    params:
      to: \${target}
      maxLagMs: 500
    timeout: 30s
  - id: dns
    type: routing-control.set
    params:
      set:
        \${app}-dns-\${target}: On
`;

describe('runbook validation: every problem names the file and line', () => {
  it('accepts a valid runbook', () => {
    expect(parseRunbook(VALID, '/tmp/drill.yaml', stepRegistry).definition.steps).toHaveLength(2);
  });

  it('reports an unknown step type at its line, listing the registered ones', () => {
    const error = problemsOf(VALID.replace('type: routing-control.set', 'type: routing-control.flip'));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ file: '/tmp/drill.yaml', line: 17 });
    expect(error.message).toContain('/tmp/drill.yaml:17:5');
    expect(error.message).toContain('unknown step type "routing-control.flip"');
    expect(error.message).toContain('routing-control.set');
  });

  it('reports a missing timeout on a wait at the step line', () => {
    const error = problemsOf(VALID.replace('    timeout: 30s\n', ''));
    expect(error.issues[0].line).toBe(10);
    expect(error.issues[0].message).toMatch(/step 1 "wait-lag" \(wait.replicated\).*needs a timeout/);
  });

  it('reports a timeout without unit, and one that is not a duration', () => {
    expect(problemsOf(VALID.replace('timeout: 30s', 'timeout: 30')).issues[0]).toMatchObject({ line: 15 });
    expect(problemsOf(VALID.replace('timeout: 30s', 'timeout: soon')).issues[0].message).toContain('not a duration');
  });

  it('reports a bad step parameter at its own line', () => {
    const error = problemsOf(VALID.replace('maxLagMs: 500', 'maxLagMs: lots'));
    expect(error.issues[0]).toMatchObject({ line: 14 });
    expect(error.issues[0].message).toContain('maxLagMs: expected number, got string');
  });

  it('reports an unknown step parameter and an unknown field', () => {
    const unknownParam = problemsOf(VALID.replace('maxLagMs: 500', 'maxLag: 500'));
    expect(unknownParam.issues[0]).toMatchObject({ line: 14 });
    expect(unknownParam.issues[0].message).toContain('unknown field "maxLag"');
    const unknownField = problemsOf(VALID.replace('timeout: 30s', 'timeout: 30s\n    retries: 3'));
    expect(unknownField.issues[0]).toMatchObject({ line: 16 });
  });

  it('reports an unknown variable and a bad parameter type', () => {
    const unknownVar = problemsOf(VALID.replace('to: ${target}', 'to: ${tagret}'));
    expect(unknownVar.issues[0]).toMatchObject({ line: 13 });
    expect(unknownVar.issues[0].message).toContain('unknown variable ${tagret}');
    const badType = problemsOf(VALID.replace('type: region', 'type: place'));
    expect(badType.issues[0]).toMatchObject({ line: 7 });
  });

  it('reports YAML syntax errors with their line', () => {
    const error = problemsOf(VALID.replace('  - id: dns', '  - id: dns\n   bad: [indent'));
    expect(error.issues[0].line).toBeGreaterThanOrEqual(17);
    expect(error.message).toContain('YAML');
  });

  it('reports duplicate step ids', () => {
    expect(problemsOf(VALID.replace('id: dns', 'id: wait-lag')).issues[0].message).toContain('duplicate step id');
  });

  it('rotate.yaml and failover.yaml validate with the built-in step types; a missing type is named with its line', () => {
    expect(listRunbooks(stepRegistry, [path.join(ROOT, 'runbooks')]).map((s) => [s.name, s.problems])).toEqual([
      ['failover', []],
      ['rotate', []],
    ]);
    const without = stepRegistry.clone();
    without.remove('wait.drained');
    const rotate = listRunbooks(without, [path.join(ROOT, 'runbooks')]).find((s) => s.name === 'rotate');
    expect(rotate?.unknownStepTypes).toEqual(['wait.drained']);
    expect(rotate?.problems.every((p) => /rotate\.yaml:\d+:\d+ .*unknown step type/.test(p))).toBe(true);
    expect(() => loadRunbookFile(path.join(ROOT, 'runbooks/rotate.yaml'), without)).toThrow(RunbookValidationError);
  });
});

describe('planning: parameters and names resolved', () => {
  const registry = withStubs();

  it('resolves rotate with every name (dry run)', async () => {
    const runbook = loadRunbookFile(path.join(ROOT, 'runbooks/rotate.yaml'), registry);
    const platform = new FakePlatform(tempDir());
    const plan = await planRunbook(
      runbook,
      { app: 'trade', target: 'secondary' },
      {
        config: platform.config,
        names: platform.names,
        platform,
        registry,
      },
    );
    expect(plan.params).toMatchObject({ app: 'trade', source: 'us-east-1', target: 'us-west-2', maxLagMs: 1000 });
    expect(plan.lockKey).toBe('trade');
    const swap = plan.steps.find((s) => s.id === 'dns-swap');
    expect(swap?.params).toEqual({ set: { 'trade-dns-us-east-1': 'Off', 'trade-dns-us-west-2': 'On' } });
    expect(swap?.rollback[0].params).toEqual({ set: { 'trade-dns-us-west-2': 'Off', 'trade-dns-us-east-1': 'On' } });
    expect(plan.steps.find((s) => s.id === 'source-drained')?.timeoutMs).toBe(120_000);
    // Sized from AWS's figures for an Aurora global database switchover ("in the order of minutes"), not 2 minutes.
    const switchover = plan.steps.find((s) => s.id === 'db-switchover');
    expect(switchover?.timeoutMs).toBe(600_000);
    expect(switchover?.rollback[0].timeoutMs).toBe(600_000);
    const failover = await planRunbook(
      loadRunbookFile(path.join(ROOT, 'runbooks/failover.yaml'), registry),
      { app: 'trade', target: 'secondary' },
      { config: platform.config, names: platform.names, platform, registry },
    );
    expect(failover.steps.find((s) => s.id === 'db-failover')?.timeoutMs).toBe(600_000);
    const text = renderPlan(plan);
    expect(text).toContain('trade-dns-us-east-1=Off, trade-dns-us-west-2=On');
    expect(text).toContain('marks dns-swapped');
    expect(text).not.toContain('${');
  });

  it('plans without a platform when no alias needs it', async () => {
    const runbook = parseRunbook(VALID, '/tmp/drill.yaml', stepRegistry);
    const plan = await planRunbook(runbook, { app: 'settlement' }, { config, names });
    expect(plan.steps[1].params).toEqual({ set: { 'settlement-dns-us-west-2': 'On' } });
    const rotate = loadRunbookFile(path.join(ROOT, 'runbooks/rotate.yaml'), registry);
    await expect(planRunbook(rotate, { app: 'trade' }, { config, names, registry })).rejects.toThrow(
      /needs the platform/,
    );
  });

  it('refuses bad parameter values with a usage error', async () => {
    const runbook = parseRunbook(VALID, '/tmp/drill.yaml', stepRegistry);
    await expect(planRunbook(runbook, { app: 'trade', target: 'us-west-9' }, { config, names })).rejects.toThrow(
      /parameter target: unknown region "us-west-9"/,
    );
    await expect(planRunbook(runbook, {}, { config, names })).rejects.toThrow(/needs --param app=/);
    await expect(planRunbook(runbook, { app: 'trade', colour: 'red' }, { config, names })).rejects.toThrow(UserError);
  });

  it('reports names that do not exist in this environment at plan time, with the line', async () => {
    const runbook = parseRunbook(
      VALID.replace('${app}-dns-${target}', '${app}-dsn-${target}'),
      '/tmp/d.yaml',
      stepRegistry,
    );
    const error = await planRunbook(runbook, { app: 'trade' }, { config, names }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunbookValidationError);
    expect((error as RunbookValidationError).issues[0]).toMatchObject({ line: 19 });
    expect((error as Error).message).toContain('unknown routing control "trade-dsn-us-west-2"');
  });
});
