import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeSource } from '../../src/config/layers.js';
import { loadConfig, resolveConfig } from '../../src/config/load.js';
import { deriveNames, initialControlState } from '../../src/config/model.js';
import { UserError } from '../../src/errors.js';
import { tempDir } from '../helpers/runbook-fakes.js';

const emptyDir = () => tempDir('tsr-config-');

function configError(run: () => unknown): UserError {
  try {
    run();
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error('expected a UserError');
}

describe('loadConfig', () => {
  it('defaults to the local target in two US regions, first one primary', () => {
    const config = loadConfig({}, {}, emptyDir());
    expect(config.target).toBe('local');
    expect(config.regions).toEqual(['us-east-1', 'us-west-2']);
    expect(config.apps).toEqual(['trade', 'settlement']);
    expect(path.isAbsolute(config.workspace)).toBe(true);
  });

  it('layers file < environment < flags', () => {
    const dir = emptyDir();
    writeFileSync(
      path.join(dir, 'tsr.config.yaml'),
      'environment: filed\nregions: [eu-west-1, eu-central-1]\nlocal:\n  arcEndpoints: 2\n',
    );
    expect(loadConfig({}, {}, dir)).toMatchObject({
      environment: 'filed',
      regions: ['eu-west-1', 'eu-central-1'],
      local: { arcEndpoints: 2 },
    });
    expect(loadConfig({}, { TSR_ENV: 'fromenv' }, dir).environment).toBe('fromenv');
    expect(loadConfig({ environment: 'flagged' }, { TSR_ENV: 'fromenv' }, dir).environment).toBe('flagged');
    expect(loadConfig({}, { TSR_REGIONS: 'us-east-2, us-west-1' }, dir).regions).toEqual(['us-east-2', 'us-west-1']);
  });

  it('names an unknown region and suggests the closest', () => {
    const error = configError(() => loadConfig({ regions: ['us-east-1', 'us-wset-2'] }, {}, emptyDir()));
    expect(error.message).toContain('regions: unknown region "us-wset-2"');
    expect(error.message).toContain('did you mean us-west-2');
    expect(error.fix).toContain('--regions');
  });

  it('refuses duplicate regions and a single region', () => {
    expect(configError(() => loadConfig({ regions: ['us-east-1', 'us-east-1'] }, {}, emptyDir())).message).toContain(
      'region listed twice: us-east-1',
    );
    expect(configError(() => loadConfig({ regions: ['us-east-1'] }, {}, emptyDir())).message).toContain(
      'needs at least two regions',
    );
  });

  it('reports bad fields of a config file with their path', () => {
    const dir = emptyDir();
    writeFileSync(
      path.join(dir, 'tsr.config.json'),
      JSON.stringify({ environment: 'Bad Name', local: { arcEndpoints: 9, typo: 1 } }),
    );
    const error = configError(() => loadConfig({}, {}, dir));
    expect(error.message).toContain('environment: must start with a letter');
    expect(error.message).toContain('local.arcEndpoints');
    expect(error.message).toContain('local.typo: unknown setting');
  });

  it("layers setting by setting: a variable for one local setting keeps the file's others", () => {
    const dir = emptyDir();
    writeFileSync(path.join(dir, 'tsr.config.yaml'), 'local:\n  arcEndpoints: 5\n  replicationDelayMs: 200\n');
    const { config, sources } = resolveConfig({ environment: 'prod' }, { TSR_BASE_PORT: '46000' }, dir);
    expect(config.local).toEqual({ arcEndpoints: 5, replicationDelayMs: 200, basePort: 46000 });
    expect(describeSource(sources.get('local.arcEndpoints')!)).toBe('tsr.config.yaml:2');
    expect(describeSource(sources.get('local.replicationDelayMs')!)).toBe('tsr.config.yaml:3');
    expect(describeSource(sources.get('local.basePort')!)).toBe('TSR_BASE_PORT=46000');
    expect(describeSource(sources.get('environment')!)).toBe('--env prod');
    expect(describeSource(sources.get('aws.shardsPerStream')!)).toBe('default');
  });

  it('names the real source of a bad value and a fix for that setting', () => {
    const flag = configError(() => loadConfig({ environment: 'Prod' }, {}, emptyDir()));
    expect(flag.message).toContain('environment: must start with a letter');
    expect(flag.message).toContain('(from --env Prod)');
    expect(flag.fix).toContain('set --env to a valid value');
    expect(flag.fix).not.toContain('--regions');

    const variable = configError(() => loadConfig({}, { TSR_BASE_PORT: 'abc' }, emptyDir()));
    expect(variable.message).toContain('local.basePort: must be a number, got "abc" (from TSR_BASE_PORT=abc)');
    expect(variable.message).not.toContain('nan');
    expect(variable.fix).toBe('set TSR_BASE_PORT to a valid value, e.g. 46000');
  });

  it('refuses an Aurora T instance class, which the RDS Data API the verdict reads through does not support', () => {
    const dir = emptyDir();
    writeFileSync(path.join(dir, 'tsr.config.yaml'), 'aws:\n  auroraInstanceClass: db.t4g.medium\n');
    const error = configError(() => loadConfig({}, {}, dir));
    expect(error.message).toContain('aws.auroraInstanceClass: T instance classes (db.t*) are refused');
    expect(error.message).toContain('RDS Data API');
    expect(error.message).toContain('(from tsr.config.yaml:2)');
    writeFileSync(path.join(dir, 'tsr.config.yaml'), 'aws:\n  auroraInstanceClass: db.r7g.large\n');
    expect(loadConfig({}, {}, dir).aws.auroraInstanceClass).toBe('db.r7g.large');
  });

  it('suggests the setting an unknown one is a slip of, with its line', () => {
    const dir = emptyDir();
    writeFileSync(path.join(dir, 'tsr.config.yaml'), 'environment: dev\nregoins: [us-east-1, us-west-2]\n');
    const error = configError(() => loadConfig({}, {}, dir));
    expect(error.message).toContain('regoins: unknown setting; did you mean regions? (from tsr.config.yaml:2)');
    expect(error.fix).toBe('rename regoins to regions in tsr.config.yaml:2');
  });

  it('reports a config file that does not parse', () => {
    const dir = emptyDir();
    writeFileSync(path.join(dir, 'tsr.config.yaml'), 'regions: [us-east-1\n');
    expect(configError(() => loadConfig({}, {}, dir)).message).toMatch(/tsr\.config\.yaml is not valid/);
  });
});

describe('deriveNames', () => {
  const names = deriveNames({
    environment: 'dev',
    regions: ['us-east-1', 'us-west-2'],
    apps: ['trade', 'settlement'],
    aws: { shardsPerStream: 1, tasksPerService: 1, auroraInstanceClass: 'x', brokerInstanceType: 'y' },
  });

  it('has one stream per hop per app and one safe store per stage', () => {
    expect(names.streams.map((s) => s.name)).toEqual([
      'dev-tm-ingestion-in',
      'dev-tm-core-in',
      'dev-tm-egress-in',
      'dev-tm-outbound-gateway-in',
      'dev-st-ingestion-in',
      'dev-st-core-in',
      'dev-st-egress-in',
      'dev-st-outbound-gateway-in',
    ]);
    expect(names.tables.filter((t) => t.purpose === 'safe-store')).toHaveLength(10);
    expect(names.tables.find((t) => t.purpose === 'leases')?.global).toBe(false);
  });

  it('has one routing control per app, scope and region, plus a gate per app and the generator', () => {
    const controls = names.routingControls.map((c) => c.name);
    expect(controls).toHaveLength(2 * 3 * 2 + 2 + 1);
    expect(controls).toContain('trade-dns-us-west-2');
    expect(controls).toContain('settlement-gate');
    expect(controls).toContain('trade-generator');
    expect(new Set(names.routingControls.map((c) => c.arn)).size).toBe(controls.length);
  });

  it('starts with the primary doing the work and every gate and the generator OFF', () => {
    const state = Object.fromEntries(names.routingControls.map((c) => [c.name, initialControlState(c, 'us-east-1')]));
    expect(state['trade-dns-us-east-1']).toBe('On');
    expect(state['trade-app-us-west-2']).toBe('Off');
    expect(state['trade-gate']).toBe('Off');
    expect(state['trade-generator']).toBe('Off');
  });

  it('asserts a dns control per app and gates queue and app controls behind the gate', () => {
    const assertion = names.safetyRules.find((r) => r.app === 'trade' && r.kind === 'assertion');
    expect(assertion?.assertedOrGating).toEqual(['trade-dns-us-east-1', 'trade-dns-us-west-2']);
    const gating = names.safetyRules.find((r) => r.app === 'settlement' && r.kind === 'gating');
    expect(gating?.assertedOrGating).toEqual(['settlement-gate']);
    expect(gating?.targets).toEqual([
      'settlement-queue-us-east-1',
      'settlement-app-us-east-1',
      'settlement-queue-us-west-2',
      'settlement-app-us-west-2',
    ]);
  });
});
