import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { colourLevel, paint, visibleLength } from '../../src/lib/colour.js';
import { followFile, formatLogLine } from '../../src/lib/log-lines.js';
import { renderStatus, verdict } from '../../src/lib/render-status.js';
import { table } from '../../src/lib/table.js';
import { watch } from '../../src/lib/watch.js';
import type { PlatformStatus } from '../../src/platform/platform.js';
import { tempWorkspace } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';

const healthy: PlatformStatus = {
  target: 'local',
  environment: 'dev',
  regions: ['us-east-1', 'us-west-2'],
  primary: 'us-east-1',
  components: [
    { name: 'kinesis', region: 'us-east-1', up: true },
    { name: 'kinesis', region: 'us-west-2', up: true },
  ],
  routingControls: [],
  replication: [{ kind: 'table', resource: 'dev-audit', from: 'us-east-1', to: 'us-west-2', healthy: true, lagMs: 3 }],
  writers: { trade: 'us-east-1' },
};

describe('colour', () => {
  it('is off with NO_COLOR and off a terminal', () => {
    expect(colourLevel({ NO_COLOR: '1' }, true)).toBe(0);
    expect(colourLevel({}, false)).toBe(0);
    expect(colourLevel({ FORCE_COLOR: '3' }, false)).toBe(0);
  });

  it('does not upset table columns', () => {
    const coloured = `\x1b[32mup\x1b[39m`;
    expect(visibleLength(coloured)).toBe(2);
    expect(
      table(
        ['state', 'x'],
        [
          [coloured, 'a'],
          ['DOWN', 'b'],
        ],
      ).split('\n')[2],
    ).toBe(`${coloured}     a`);
  });
});

describe('tsr status', () => {
  it('starts with a one-line verdict', () => {
    expect(renderStatus(healthy).split('\n')[0]).toBe(
      paint.green.bold('HEALTHY: 2 components up, replication healthy; writers: trade in us-east-1'),
    );
    const sick: PlatformStatus = {
      ...healthy,
      components: [{ ...healthy.components[0], up: false }, healthy.components[1]],
      replication: [{ ...healthy.replication[0], healthy: false }],
    };
    expect(verdict(sick)).toBe(
      paint.red.bold('UNHEALTHY: 1 DOWN (kinesis@us-east-1); 1 not replicating (dev-audit us-east-1 → us-west-2)'),
    );
  });

  it('--watch shows a frame per interval until stopped', async () => {
    const controller = new AbortController();
    const frames: string[] = [];
    let made = 0;
    await watch(async () => `frame ${++made}`, {
      intervalMs: 1,
      signal: controller.signal,
      clear: true,
      write: (text) => {
        frames.push(text);
        if (frames.length === 3) controller.abort();
      },
    });
    expect(frames).toEqual(['\x1b[2J\x1b[Hframe 1\n', '\x1b[2J\x1b[Hframe 2\n', '\x1b[2J\x1b[Hframe 3\n']);
  });
});

describe('tsr services logs', () => {
  it('shows a JSON line as time, level, message and its own fields', () => {
    const line = JSON.stringify({
      level: 'warn',
      time: '2026-12-06T12:00:01.234Z',
      pid: 7,
      service: 'tm-core',
      region: 'us-east-1',
      msg: 'batch retried',
      attempt: 2,
      reason: 'table busy',
    });
    expect(formatLogLine(line)).toBe('12:00:01.234  WARN   batch retried  attempt=2  reason="table busy"');
    expect(formatLogLine('Error: crashed')).toBe('Error: crashed');
  });

  it('--follow prints what is appended, line by line, from where the tail ended', async () => {
    const file = path.join(tempWorkspace('tsr-follow-'), 'service.log');
    writeFileSync(file, 'old line\n');
    const controller = new AbortController();
    const seen: string[] = [];
    const following = followFile(file, { signal: controller.signal, onLine: (l) => seen.push(l), pollMs: 10 });
    appendFileSync(file, 'one\ntwo\npart');
    await eventually(async () => seen.length === 2, { timeoutMs: 5_000, what: 'two lines' });
    appendFileSync(file, 'ial\n');
    await eventually(async () => seen.length === 3, { timeoutMs: 5_000, what: 'the completed line' });
    writeFileSync(file, 'after truncation\n');
    await eventually(async () => seen.length === 4, { timeoutMs: 5_000, what: 'the truncated file read anew' });
    controller.abort();
    await following;
    expect(seen).toEqual(['one', 'two', 'partial', 'after truncation']);
  });
});
