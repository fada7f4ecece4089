/** routing-control.set and wait.replicated against the real local ARC cluster, through ArcRoutingControls. */
import path from 'node:path';
import { arcClusterDefinition, type ArcCluster, startArcCluster } from '../../src/infra/local/arc/arc-server.js';
import { ArcRoutingControls } from '../../src/clients/arc-routing-controls.js';
import type { RoutingControls } from '../../src/platform/platform.js';
import { loadRunbook, parseRunbook, planRunbook, runRunbook, stepRegistry } from '../../src/runbooks/index.js';
import { caughtUpLags, FakePlatform, REGIONS, tempDir } from '../helpers/runbook-fakes.js';

/** The fake platform, but with routing controls served by a real ARC cluster. */
class ArcBackedPlatform extends FakePlatform {
  constructor(
    workspace: string,
    private readonly arc: ArcRoutingControls,
  ) {
    super(workspace);
  }
  override routingControls(): RoutingControls {
    return this.arc;
  }
}

const ROTATE_CONTROLS = `name: arc-rotate
description: the routing part of a rotation
parameters:
  app:
    type: app
  source:
    type: region
    default: active
  target:
    type: region
    default: standby
steps:
  - id: gate-on
    type: routing-control.set
    params:
      set:
        \${app}-gate: On
    rollback:
      - id: gate-off
        type: routing-control.set
        params:
          set:
            \${app}-gate: Off
  - id: dns-swap
    type: routing-control.set
    params:
      set:
        \${app}-dns-\${source}: Off
        \${app}-dns-\${target}: On
    marks: dns-swapped
  - id: replicated
    type: wait.replicated
    params:
      app: \${app}
      from: \${source}
      to: \${target}
      maxLagMs: 100
      interval: 20ms
    timeout: 10s
  - id: too-early
    type: routing-control.set
    params:
      set:
        \${app}-app-\${target}: On
    onFailure: continue
  - id: source-off
    type: routing-control.set
    params:
      set:
        \${app}-queue-\${source}: Off
        \${app}-app-\${source}: Off
  - id: target-on
    type: routing-control.set
    params:
      set:
        \${app}-app-\${target}: On
        \${app}-queue-\${target}: On
    marks: target-queue-opened
  - id: gate-off
    type: routing-control.set
    params:
      set:
        \${app}-gate: Off
`;

let cluster: ArcCluster;
let arc: ArcRoutingControls;
let platform: ArcBackedPlatform;
let workspace: string;

beforeAll(async () => {
  workspace = tempDir();
  const names = new FakePlatform(workspace).names;
  cluster = await startArcCluster({
    ports: [0, 0],
    statePath: path.join(workspace, 'arc', 'state.json'),
    ...arcClusterDefinition(names, REGIONS[0]),
  });
  arc = new ArcRoutingControls({
    endpoints: cluster.endpoints,
    region: 'us-east-1',
    names,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  platform = new ArcBackedPlatform(workspace, arc);
});

afterAll(async () => {
  await arc?.close();
  await cluster?.close();
});

const stateOf = async (name: string) => (await arc.get(name)).state;

it('moves trade to us-west-2 on the real ARC cluster, refusing the step that would leave app On twice', async () => {
  let polls = 0;
  platform.lags = () => {
    polls++;
    return caughtUpLags(platform, 'us-east-1', 'us-west-2', polls < 3 ? 2_000 : 20);
  };
  const runbook = parseRunbook(ROTATE_CONTROLS, '/tmp/arc-rotate.yaml', stepRegistry);
  const result = await runRunbook(runbook, { app: 'trade' }, { platform, workspace, yes: true, progress: 'silent' });
  expect(result.journal.params).toEqual({ app: 'trade', source: 'us-east-1', target: 'us-west-2' });
  expect(result.journal.status).toBe('completed');
  expect(result.journal.steps.map((s) => `${s.id}:${s.status}`)).toEqual([
    'gate-on:completed',
    'dns-swap:completed',
    'replicated:completed',
    'too-early:failed',
    'source-off:completed',
    'target-on:completed',
    'gate-off:completed',
  ]);
  expect(polls).toBeGreaterThanOrEqual(3);
  expect(result.journal.steps[3].error).toMatch(/trade-app On in us-east-1 and us-west-2/);
  for (const [control, state] of Object.entries({
    'trade-dns-us-east-1': 'Off',
    'trade-dns-us-west-2': 'On',
    'trade-queue-us-east-1': 'Off',
    'trade-app-us-east-1': 'Off',
    'trade-app-us-west-2': 'On',
    'trade-queue-us-west-2': 'On',
    'trade-gate': 'Off',
    'settlement-app-us-east-1': 'On',
  })) {
    expect([control, await stateOf(control)]).toEqual([control, state]);
  }
  // Setting the queue control On is not the target accepting: without an observation there is no window.
  expect(result.report.unavailabilityMs).toBeUndefined();
  expect(result.report.notes).toContain('Unavailability window: not measured (no target-consuming marker)');
});

it('a batch the ARC safety rules refuse fails the step and changes nothing', async () => {
  const runbook = parseRunbook(
    `name: gated
description: gate closed
steps:
  - id: queue
    type: routing-control.set
    params:
      set:
        settlement-queue-us-west-2: On
`,
    '/tmp/gated.yaml',
    stepRegistry,
  );
  const result = await runRunbook(runbook, {}, { platform, workspace, yes: true, progress: 'silent' });
  expect(result.journal.status).toBe('failed');
  expect(result.journal.steps[0].error).toMatch(/settlement-gate-queue-and-app/);
  expect(await stateOf('settlement-queue-us-west-2')).toBe('Off');
});

it('a run that fails after opening the gate closes it on the real cluster (finally), so the gating rule holds', async () => {
  platform.lags = () => caughtUpLags(platform, 'us-east-1', 'us-west-2', 60_000); // never caught up
  const runbook = parseRunbook(
    `name: stuck
description: fails after opening the gate
parameters:
  app:
    type: app
steps:
  - id: gate-on
    type: routing-control.set
    params:
      set:
        \${app}-gate: On
  - id: replicated
    type: wait.replicated
    params:
      app: \${app}
      to: us-west-2
      interval: 20ms
    timeout: 200ms
finally:
  - id: close-gate
    type: routing-control.set
    params:
      set:
        \${app}-gate: Off
    undoes: gate-on
`,
    '/tmp/stuck.yaml',
    stepRegistry,
  );
  const result = await runRunbook(
    runbook,
    { app: 'settlement' },
    { platform, workspace, yes: true, progress: 'silent' },
  );
  expect(result.journal.status).toBe('failed');
  expect(result.journal.finally?.map((s) => `${s.id}:${s.status}`)).toEqual(['close-gate:completed']);
  expect(await stateOf('settlement-gate')).toBe('Off');
  // The gate being Off is what keeps queue and app controls from changing by accident.
  await expect(arc.set([{ control: 'settlement-queue-us-west-2', state: 'On' }])).rejects.toThrow(
    /settlement-gate-queue-and-app/,
  );
});

it.each(['rotate', 'failover'])('the built-in %s runbook closes the gate it opened, however it ends', async (name) => {
  const plan = await planRunbook(
    loadRunbook(name),
    { app: 'trade', source: 'us-east-1', target: 'us-west-2' },
    {
      config: platform.config,
      names: platform.names,
      platform,
    },
  );
  expect(plan.finally.map((s) => ({ type: s.type, params: s.params, undoes: s.undoes }))).toEqual([
    { type: 'routing-control.set', params: { set: { 'trade-gate': 'Off' } }, undoes: 'gate-on' },
  ]);
});
