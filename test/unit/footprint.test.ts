import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { diskLine, renderStatus } from '../../src/lib/render-status.js';
import { diskStatus, readRollup, sampleFootprint } from '../../src/platform/footprint.js';
import type { PlatformStatus } from '../../src/platform/platform.js';

/** The workspace's disk use as tsr status reports it, on a real directory; and this process's own memory. */
describe('footprint', () => {
  let workspace: string;

  beforeEach(() => {
    workspace = mkdtempSync(path.join(tmpdir(), 'tsr-footprint-'));
    mkdirSync(path.join(workspace, 'data', 'us-east-1', 'dynamodb'), { recursive: true });
    mkdirSync(path.join(workspace, 'data', 'us-east-1', 'postgres'), { recursive: true });
    mkdirSync(path.join(workspace, 'logs'), { recursive: true });
    writeFileSync(path.join(workspace, 'data', 'us-east-1', 'dynamodb', '000001.ldb'), Buffer.alloc(3_000_000, 1));
    writeFileSync(path.join(workspace, 'logs', 'supervisor.log'), Buffer.alloc(1_500_000, 1));
    writeFileSync(path.join(workspace, 'data', 'arc-state.json'), '{}');
  });

  afterEach(() => rmSync(workspace, { recursive: true, force: true }));

  it('counts disk per region and engine and the rest of the workspace', () => {
    const disk = diskStatus(workspace, ['us-east-1'], 0);
    const part = (name: string) => disk.parts.find((p) => p.part === name);
    expect(part('dynamodb')).toMatchObject({ region: 'us-east-1' });
    expect(part('dynamodb')?.bytes).toBeGreaterThanOrEqual(3_000_000);
    expect(part('postgres')?.region).toBe('us-east-1');
    expect(part('logs')?.bytes).toBeGreaterThanOrEqual(1_500_000);
    expect(part('data/arc-state.json')).toBeDefined();
    expect(disk.usedBytes).toBeGreaterThanOrEqual(4_500_000);
    expect(disk.freeBytes).toBeGreaterThan(0);
    expect(disk.totalBytes).toBeGreaterThanOrEqual(disk.freeBytes);
    expect(disk.low).toBe(false);
    expect(disk.warning).toBeUndefined();
    expect(diskLine(disk)).toMatch(/^Disk: workspace \d+ MB \(us-east-1: dynamodb 3 MB, postgres 0 MB; logs 2 MB\), /);
  });

  it('warns when free disk runs low, naming the workspace and what to do', () => {
    const disk = diskStatus(workspace, ['us-east-1'], Number.MAX_SAFE_INTEGER);
    expect(disk.low).toBe(true);
    expect(disk.warning).toContain(`free disk is low`);
    expect(disk.warning).toContain(workspace);
    expect(disk.warning).toContain('tsr destroy --purge --confirm dev');
    const status: PlatformStatus = {
      target: 'local',
      environment: 'dev',
      regions: ['us-east-1'],
      primary: 'us-east-1',
      components: [],
      routingControls: [],
      replication: [],
      writers: {},
      disk,
    };
    const lines = renderStatus(status).split('\n');
    expect(lines[1]).toContain('WARNING: free disk is low');
    expect(lines.at(-1)).toMatch(/^Disk: workspace/);
  });

  it('reads memory from smaps_rollup, and refuses a target it cannot sample', () => {
    const own = readRollup(process.pid);
    expect(own?.anonymous).toBeGreaterThan(0);
    expect(own?.pss).toBeGreaterThan(0);
    expect(readRollup(2 ** 31 - 2)).toBeUndefined();
    expect(() => sampleFootprint({ target: 'aws', config: { workspace } })).toThrow(/local platform/);
    expect(() => sampleFootprint({ target: 'local', config: { workspace } })).toThrow(/not deployed/);
  });
});
