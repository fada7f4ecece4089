import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { deriveNames } from '../../src/config/model.js';
import {
  estimateCost,
  PRICE_CHECKS,
  PRICES,
  PRICES_AS_OF,
  renderCost,
  type CostLine,
} from '../../src/infra/aws/cost.js';
import { synthesize } from '../../src/infra/aws/synth.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-cost-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const estimate = (regions: string[], aws: Record<string, unknown> = {}) => {
  const loaded = loadConfig({ environment: 'test', regions, target: 'aws' }, {}, dir);
  const config = { ...loaded, aws: { ...loaded.aws, ...aws } };
  return estimateCost(synthesize(config, path.join(dir, `out-${regions.length}-${Object.keys(aws).length}`)));
};
const line = (lines: readonly CostLine[], prefix: string) => lines.find((l) => l.item.startsWith(prefix));

test('per stack and in total, from the dated price table: ARC in the global stack, brokers and databases per region', () => {
  const cost = estimate(['us-east-1', 'us-west-2']);
  expect(cost.pricesAsOf).toBe(PRICES_AS_OF);
  expect(cost.stacks.map((s) => [s.stack, s.region])).toEqual([
    ['tsr-test-global', 'us-east-1'],
    ['tsr-test-us-east-1', 'us-east-1'],
    ['tsr-test-us-west-2', 'us-west-2'],
  ]);
  const [global, east, west] = cost.stacks;
  expect(line(global.lines, 'Route 53 ARC cluster')).toMatchObject({ quantity: 1, monthlyUsd: 2.5 * 730 });
  for (const region of [east, west]) {
    // An active/standby broker is two instances; two apps × two Aurora instances.
    expect(line(region.lines, 'Amazon MQ mq.m5.large')).toMatchObject({ quantity: 2, monthlyUsd: 420.48 });
    expect(line(region.lines, 'Aurora PostgreSQL db.r6g.large')).toMatchObject({ quantity: 4, monthlyUsd: 759.2 });
    expect(line(region.lines, 'NAT gateway')?.quantity).toBeGreaterThan(0);
    // Every stream of both apps, two shards each (aws.shardsPerStream's default).
    expect(line(region.lines, 'Kinesis shards')?.quantity).toBe(
      deriveNames(loadConfig({ environment: 'test', regions: ['us-east-1', 'us-west-2'] }, {}, dir)).streams.length * 2,
    );
    expect(line(region.lines, 'Fargate ARM64')?.quantity).toBeGreaterThan(0);
  }
  // No region runs the generator until `tsr generator start` (then one task, in one region).
  expect(line(east.lines, 'Fargate ARM64')!.quantity).toBe(line(west.lines, 'Fargate ARM64')!.quantity);
  const sum = cost.stacks.reduce((n, s) => n + s.monthlyUsd, 0);
  expect(cost.monthlyUsd).toBeCloseTo(sum, 2);
  for (const s of cost.stacks)
    expect(s.monthlyUsd).toBeCloseTo(
      s.lines.reduce((n, l) => n + l.monthlyUsd, 0),
      2,
    );
  const text = renderCost(cost);
  expect(text).toContain(`Estimated monthly cost (list prices of ${PRICES_AS_OF}):`);
  expect(text).toMatch(/total {2}\$[\d,]+\.\d\d per month/);
  expect(text).toMatch(/Not included \(they depend on load\)/);
});

test('a third region adds a regional stack; bigger instances cost more; an unknown class is named, not guessed', () => {
  const two = estimate(['us-east-1', 'us-west-2']);
  const three = estimate(['us-east-1', 'us-west-2', 'eu-west-1']);
  expect(three.stacks).toHaveLength(4);
  expect(three.monthlyUsd).toBeGreaterThan(two.monthlyUsd);
  const big = estimate(['us-east-1', 'us-west-2'], { brokerInstanceType: 'mq.m5.xlarge' });
  expect(big.monthlyUsd - two.monthlyUsd).toBeCloseTo(2 * 2 * (PRICES.mqInstanceHour['mq.m5.xlarge'] - 0.288) * 730, 1);
  const odd = estimate(['us-east-1', 'us-west-2'], { auroraInstanceClass: 'db.x2g.16xlarge' });
  expect(odd.notes.join(' ')).toMatch(/No price in the table for db\.x2g\.16xlarge: counted as 0/);
});

test('the estimate says which prices were checked against a published figure, and each check names its source and date', () => {
  const checked = Object.entries(PRICE_CHECKS);
  expect(checked.length).toBeGreaterThan(0);
  for (const [price, check] of checked) {
    expect(Object.keys(PRICES)).toContain(price);
    expect(check?.source).toMatch(/^https:\/\//);
    expect(check?.seen).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  }
  // The table's own date stays the date the figures were remembered for; the checks carry their own dates.
  expect(PRICES_AS_OF).toBe('2025-06-01');
  const cost = estimate(['us-east-1', 'us-west-2']);
  expect(cost.notes[0]).toContain(`checked since against published figures: ${Object.keys(PRICE_CHECKS).join(', ')}`);
  expect(cost.notes[0]).toContain('the rest not yet');
});
