import { ExitCode, UserError } from '../../src/errors.js';
import {
  hopsFor,
  parseDuration,
  renderReconcile,
  resolveWindow,
  type ReconcileReport,
} from '../../src/reconcile/index.js';
import { deriveNames } from '../../src/config/model.js';

const NOW = Date.parse('2026-05-01T12:00:00Z');

function usage(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(ExitCode.usage);
    expect((error as Error).message).toMatch(message);
    expect((error as UserError).fix).toBeTruthy();
    return;
  }
  throw new Error('expected a usage error');
}

describe('reconcile windows', () => {
  it('reads durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    usage(() => parseDuration('soon'), /not a duration/);
    usage(() => parseDuration('1h x'), /not a duration/);
  });

  it('resolves --since, --from and --to', () => {
    expect(resolveWindow({ since: '15m' }, NOW)).toEqual({ fromMs: NOW - 900_000, toMs: NOW });
    expect(resolveWindow({}, NOW)).toEqual({ fromMs: NOW - 3_600_000, toMs: NOW });
    expect(resolveWindow({ from: '2026-05-01T10:00:00Z', to: '2026-05-01T11:00:00Z' }, NOW)).toEqual({
      fromMs: Date.parse('2026-05-01T10:00:00Z'),
      toMs: Date.parse('2026-05-01T11:00:00Z'),
    });
    expect(resolveWindow({ from: '2026-05-01T11:00:00Z' }, NOW).toMs).toBe(NOW);
    expect(resolveWindow({ from: '2026-05-01T11:00:00Z', to: '2026-05-01T13:00:00Z' }, NOW)).toEqual({
      fromMs: Date.parse('2026-05-01T11:00:00Z'),
      toMs: NOW,
      clampedTo: true,
    });
  });

  it('refuses empty, reversed, future and malformed windows', () => {
    usage(() => resolveWindow({ since: '0m' }, NOW), /longer than zero/);
    usage(() => resolveWindow({ from: '2026-05-01T10:00:00Z', to: '2026-05-01T10:00:00Z' }, NOW), /empty/);
    usage(() => resolveWindow({ from: '2026-05-01T11:00:00Z', to: '2026-05-01T10:00:00Z' }, NOW), /reversed/);
    usage(() => resolveWindow({ from: '2026-05-01T13:00:00Z' }, NOW), /future/);
    usage(() => resolveWindow({ from: 'yesterday' }, NOW), /not an ISO 8601 time/);
    usage(() => resolveWindow({ since: '1h', from: '2026-05-01T10:00:00Z' }, NOW), /cannot be combined/);
    usage(() => resolveWindow({ to: '2026-05-01T10:00:00Z' }, NOW), /needs --from/);
  });

  it('reads ISO 8601 strictly: a region, a zone-less time or an impossible date is no time', () => {
    usage(() => resolveWindow({ from: 'us-east-1' }, NOW), /names a region/);
    usage(() => resolveWindow({ from: '2026-05-01T10:00:00' }, NOW), /not an ISO 8601 time/);
    usage(() => resolveWindow({ from: '2026-02-31T10:00:00Z' }, NOW), /not an ISO 8601 time/);
    usage(() => resolveWindow({ from: '1' }, NOW), /not an ISO 8601 time/);
    expect(resolveWindow({ from: '2026-05-01T12:00:00+02:00' }, NOW).fromMs).toBe(NOW - 7_200_000);
    expect(resolveWindow({ from: '2026-05-01' }, NOW).fromMs).toBe(NOW - 43_200_000);
    expect(resolveWindow({ from: '2026-05-01T11:59:30.5Z' }, NOW).fromMs).toBe(NOW - 29_500);
  });

  it('bounds the window and says how to go wider', () => {
    usage(() => resolveWindow({ since: '99999d' }, NOW), /at most 7d/);
    expect(() => resolveWindow({ since: '8d' }, NOW)).toThrow(
      expect.objectContaining({ fix: expect.stringContaining('--max-window 8d') }),
    );
    expect(resolveWindow({ since: '8d', maxWindow: '8d' }, NOW).fromMs).toBe(NOW - 8 * 86_400_000);
    usage(() => resolveWindow({ since: '1h', maxWindow: '400d' }, NOW), /longer than a year/);
    usage(() => resolveWindow({ from: '2001-01-01T00:00:00Z' }, NOW), /at most 7d/);
  });
});

describe('reconcile hops and rendering', () => {
  const config = {
    environment: 'dev',
    regions: ['us-east-1', 'us-west-2'],
    apps: ['trade', 'settlement'] as const,
    aws: { shardsPerStream: 1, tasksPerService: 1, auroraInstanceClass: '-', brokerInstanceType: '-' },
  };
  const names = deriveNames({ ...config, apps: [...config.apps] });

  it('has the six hops of docs/domain.md#reconciliation-and-replay per app pair, each replayed into the downstream input', () => {
    const hops = hopsFor('dev', ['trade', 'settlement'], names);
    expect(hops.map((h) => h.name)).toEqual([
      'st/outbound-gateway → tm/inbound-gateway',
      'tm/inbound-gateway → tm/ingestion',
      'tm/ingestion → tm/core',
      'tm/core → tm/egress',
      'tm/egress → tm/outbound-gateway',
      'tm/outbound-gateway → st/inbound-gateway',
      'st/inbound-gateway → st/ingestion',
      'st/ingestion → st/core',
      'st/core → st/egress',
      'st/egress → st/outbound-gateway',
    ]);
    expect(hops[0].replay).toEqual({ via: 'broker', topic: 'tm/in/settlements' });
    expect(hops[5].replay).toEqual({ via: 'broker', topic: 'st/in/settlements' });
    expect(hops[2].replay).toEqual({ via: 'stream', stream: 'dev-tm-core-in' });
    expect([...(hops[5].kinds ?? [])]).toEqual(['settlement-instruction']);
  });

  it('renders a report as a table, CSV and Markdown, with ids on request', () => {
    const hop = {
      name: 'tm/ingestion → tm/core',
      app: 'trade' as const,
      upstream: { table: 'dev-tm-ingestion', region: 'us-east-1', count: 3 },
      downstream: { table: 'dev-tm-core', region: 'us-east-1', count: 2 },
      matched: 2,
      missing: ['A-B-C-T1'],
      extra: [],
      statusDiffers: [],
      statusCompared: false,
      checked: true,
    };
    const report: ReconcileReport = {
      window: { from: '2026-05-01T11:00:00.000Z', to: '2026-05-01T12:00:00.000Z', fromMs: 0, toMs: 1 },
      regions: { trade: 'us-east-1' },
      hops: [hop],
      tables: [],
      unchecked: [],
      notes: [],
      totals: { compared: 5, missing: 1, extra: 0, statusDiffers: 0 },
      gaps: true,
      complete: true,
      durationMs: 10,
    };
    const text = renderReconcile(report, { format: 'table', showIds: true });
    expect(text).toContain('tm/ingestion → tm/core');
    expect(text).toContain('missing: A-B-C-T1');
    expect(text).toContain('GAPS: 1 missing');
    expect(renderReconcile(report, { format: 'table', showIds: false })).not.toContain('A-B-C-T1');
    const csv = renderReconcile(report, { format: 'csv', showIds: true }).split('\n');
    expect(csv[1]).toBe(
      'hop,tm/ingestion → tm/core,dev-tm-ingestion,us-east-1,3,dev-tm-core,us-east-1,2,1,0,,true,A-B-C-T1,,',
    );
    expect(renderReconcile(report, { format: 'markdown', showIds: false })).toContain(
      '| tm/ingestion → tm/core | 3 @us-east-1 | 2 @us-east-1 | 1 | 0 | n/a |',
    );
  });
});
