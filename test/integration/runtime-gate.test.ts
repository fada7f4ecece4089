/** Region gates against a real local ARC cluster (several endpoints over sockets) through the real ARC client. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveNames } from '../../src/config/model.js';
import { arcClusterDefinition, type ArcCluster, startArcCluster } from '../../src/infra/local/arc/arc-server.js';
import { ArcRoutingControls } from '../../src/clients/arc-routing-controls.js';
import { LOCAL_CREDENTIALS } from '../../src/clients/aws-clients.js';
import { ActiveRegionResolver, type GateState, RegionGate } from '../../src/services/runtime/region-gate.js';
import { eventually } from '../helpers/eventually.js';

const REGIONS = ['us-east-1', 'us-west-2'];
const names = deriveNames({
  environment: 'rt',
  regions: REGIONS,
  apps: ['trade', 'settlement'],
  aws: { shardsPerStream: 1, tasksPerService: 1, auroraInstanceClass: 'x', brokerInstanceType: 'y' },
});
const dir = mkdtempSync(join(tmpdir(), 'tsr-runtime-gate-'));
let cluster: ArcCluster;
let admin: ArcRoutingControls;
const closers: (() => Promise<void>)[] = [];

async function startCluster(ports: number[] = [0, 0, 0]): Promise<ArcCluster> {
  return startArcCluster({ ports, statePath: join(dir, 'arc-state.json'), ...arcClusterDefinition(names, REGIONS[0]) });
}

function controlsFor(endpoints: readonly string[]): ArcRoutingControls {
  const controls = new ArcRoutingControls({
    endpoints,
    region: REGIONS[0],
    names,
    credentials: LOCAL_CREDENTIALS,
    attemptTimeoutMs: 300,
  });
  closers.push(() => controls.close());
  return controls;
}

beforeAll(async () => {
  cluster = await startCluster();
  admin = controlsFor(cluster.endpoints);
  // Queue and app controls change only while the app's gate is On (a runbook would open it).
  await admin.set([{ control: 'trade-gate', state: 'On' }]);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a gate starts OFF and degraded, then follows its control', async () => {
  const gate = new RegionGate({ controls: controlsFor(cluster.endpoints), control: 'trade-queue-us-east-1' });
  closers.push(() => gate.stop());
  expect(gate.state()).toMatchObject({ on: false, degraded: true });
  expect(gate.isOn()).toBe(false);
  const changes: GateState[] = [];
  gate.onChange((state) => changes.push(state));
  await gate.start();
  expect(gate.state()).toMatchObject({ on: true, degraded: false, lastKnown: 'On' });
  expect(changes.at(-1)).toMatchObject({ on: true, degraded: false });

  await admin.set([{ control: 'trade-queue-us-east-1', state: 'Off' }]);
  // Within a few polls (about one a second): a liveness bound, not a speed goal.
  await eventually(() => !gate.isOn(), { timeoutMs: 3000, what: 'the gate to close' });
  expect(gate.state()).toMatchObject({ on: false, degraded: false, lastKnown: 'Off' });

  await admin.set([{ control: 'trade-queue-us-east-1', state: 'On' }]);
  await eventually(() => gate.isOn(), { timeoutMs: 3000, what: 'the gate to open' });
  expect(changes.map((c) => c.on)).toEqual([true, false, true]);
  await gate.stop();
});

test('a gate keeps its last state and reports degraded while no endpoint answers; recovers after', async () => {
  const own = await startArcCluster({
    ports: [0, 0],
    statePath: join(dir, 'arc-own.json'),
    ...arcClusterDefinition(names, REGIONS[0]),
  });
  const controls = controlsFor(own.endpoints);
  const gate = new RegionGate({ controls, control: 'trade-app-us-east-1', pollMs: 200 });
  closers.push(() => gate.stop());
  await gate.start();
  expect(gate.state()).toMatchObject({ on: true, degraded: false });

  // One endpoint lost: the others answer, nothing changes.
  await own.stopEndpoint(0);
  await new Promise((r) => setTimeout(r, 500));
  expect(gate.state()).toMatchObject({ on: true, degraded: false });

  // Every endpoint lost: keeps On, degraded, with the reason.
  await own.close();
  await eventually(() => gate.state().degraded, { timeoutMs: 3000, what: 'degraded' });
  await new Promise((r) => setTimeout(r, 600));
  expect(gate.state()).toMatchObject({ on: true, degraded: true, lastKnown: 'On' });
  expect(gate.state().lastError).toMatch(/no ARC cluster endpoint answered/);
  expect(gate.isOn()).toBe(true);

  // A gate that never got an answer stays OFF (and degraded).
  const blind = new RegionGate({ controls: controlsFor(own.endpoints), control: 'trade-app-us-east-1', pollMs: 200 });
  await blind.start();
  expect(blind.state()).toMatchObject({ on: false, degraded: true });
  expect(blind.state().lastKnown).toBeUndefined();
  await blind.stop();

  // The cluster back on the same ports: the gate answers again, no longer degraded.
  const ports = own.endpoints.map((url) => Number(new URL(url).port));
  const back = await startArcCluster({
    ports,
    statePath: join(dir, 'arc-own.json'),
    ...arcClusterDefinition(names, REGIONS[0]),
  });
  closers.push(() => back.close());
  await eventually(() => !gate.state().degraded, { timeoutMs: 3000, what: 'recovery' });
  expect(gate.state()).toMatchObject({ on: true, degraded: false, lastKnown: 'On' });
  await gate.stop();
});

test('ActiveRegionResolver follows a dns swap and keeps the region while the cluster is away', async () => {
  const resolver = new ActiveRegionResolver({
    controls: controlsFor(cluster.endpoints),
    regionControls: ActiveRegionResolver.dnsControls('trade', REGIONS),
    pollMs: 250,
  });
  closers.push(() => resolver.stop());
  expect(resolver.state()).toMatchObject({ degraded: true, onRegions: [] });
  expect(resolver.activeRegion()).toBeUndefined();
  await resolver.start();
  expect(resolver.activeRegion()).toBe('us-east-1');
  expect(resolver.state()).toMatchObject({ degraded: false, onRegions: ['us-east-1'] });

  // Both On during a swap: the current region is kept.
  await admin.set([{ control: 'trade-dns-us-west-2', state: 'On' }]);
  await eventually(() => resolver.state().onRegions.length === 2, { what: 'both regions On' });
  expect(resolver.activeRegion()).toBe('us-east-1');

  const changed: (string | undefined)[] = [];
  resolver.onChange((s) => changed.push(s.region));
  await admin.set([{ control: 'trade-dns-us-east-1', state: 'Off' }]);
  await eventually(() => resolver.activeRegion() === 'us-west-2', { timeoutMs: 3000, what: 'the swap' });
  expect(changed).toEqual(['us-west-2']);

  // Swap back in one atomic update.
  await admin.set([
    { control: 'trade-dns-us-east-1', state: 'On' },
    { control: 'trade-dns-us-west-2', state: 'Off' },
  ]);
  await eventually(() => resolver.activeRegion() === 'us-east-1', { timeoutMs: 3000, what: 'the swap back' });

  // Cluster away: region kept, degraded.
  await cluster.close();
  await eventually(() => resolver.state().degraded, { timeoutMs: 3000, what: 'degraded' });
  expect(resolver.activeRegion()).toBe('us-east-1');
  await resolver.stop();
});
