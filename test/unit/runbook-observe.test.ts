import { DynamoDBClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { parseRunbook, RunbookValidationError, runRunbook, stepRegistry } from '../../src/runbooks/index.js';
import { FakePlatform, tempDir } from '../helpers/runbook-fakes.js';

/**
 * The unavailability window is observed in the inbound gateways' safe stores: its end is the first record the
 * target gateway stored after the dns swap, not the moment the runbook set the target's queue control On.
 */
const dynamo = mockClient(DynamoDBClient);

/** What the (mocked) safe stores hold: items per table, each with the region whose gateway wrote it. */
let stores: Map<string, { id: string; acceptedAt: number; region: string }[]>;
let queries: QueryCommandInput[];

const RUNBOOK = `name: window
description: rotation window, controls only
parameters:
  app:
    type: app
  gap:
    type: number
    default: 0
steps:
  - id: gate-on
    type: routing-control.set
    params:
      set:
        \${app}-gate: On
  - id: dns-swap
    type: routing-control.set
    params:
      set:
        \${app}-dns-us-east-1: Off
        \${app}-dns-us-west-2: On
    marks: dns-swapped
  - id: source-off
    type: routing-control.set
    params:
      set:
        \${app}-queue-us-east-1: Off
        \${app}-app-us-east-1: Off
  - id: target-on
    type: routing-control.set
    params:
      set:
        \${app}-app-us-west-2: On
        \${app}-queue-us-west-2: On
    marks: target-queue-opened
  - id: observe
    type: observe.accepting
    params:
      app: \${app}
      region: us-west-2
      source: us-east-1
      interval: 20ms
    timeout: 2s
    onFailure: continue
`;

let workspace: string;
let platform: FakePlatform;
const table = () => platform.names.tables.find((t) => t.app === 'trade' && t.stage === 'inbound-gateway')!.name;

beforeEach(() => {
  workspace = tempDir();
  platform = new FakePlatform(workspace);
  stores = new Map();
  queries = [];
  dynamo.reset();
  dynamo.on(QueryCommand).callsFake((input: QueryCommandInput) => {
    queries.push(input);
    // Regions share one global table here: the step must tell the regions' own writes apart by `region`.
    const items = stores.get(input.TableName ?? '') ?? [];
    return {
      Items: items.map((i) => ({
        id: { S: i.id },
        acceptedAt: { N: String(i.acceptedAt) },
        region: { S: i.region },
      })),
    };
  });
});

afterAll(() => dynamo.restore());

/** Runs the window runbook; `fill` puts items in the store once the dns swap time is known. */
async function run(fill: (swapAt: number) => { id: string; acceptedAt: number; region: string }[]) {
  const registry = stepRegistry.clone();
  registry.replace({
    ...stepRegistry.get('routing-control.set')!,
    async run(ctx, params) {
      const outcome = await stepRegistry.get('routing-control.set')!.run(ctx, params);
      const swapAt = ctx.markerAt('dns-swapped');
      if (ctx.stepId === 'target-on' && swapAt) stores.set(table(), fill(swapAt.getTime()));
      return outcome;
    },
  });
  return runRunbook(
    parseRunbook(RUNBOOK, '/tmp/window.yaml', registry),
    { app: 'trade' },
    {
      platform,
      workspace,
      registry,
      yes: true,
      progress: 'silent',
    },
  );
}

describe('observe.accepting', () => {
  it('ends the window at the first record the target gateway accepted, whatever the queue control said', async () => {
    let swap = 0;
    const result = await run((swapAt) => {
      swap = swapAt;
      return [
        // Before the swap: not part of the window.
        { id: 'old-west', acceptedAt: swapAt - 5_000, region: 'us-west-2' },
        // Replicated copies of the source's writes are in the target's table too: not the target accepting.
        { id: 'drained-east', acceptedAt: swapAt + 1_500, region: 'us-east-1' },
        { id: 'first-west', acceptedAt: swapAt + 7_000, region: 'us-west-2' },
        { id: 'later-west', acceptedAt: swapAt + 9_000, region: 'us-west-2' },
      ];
    });
    expect(result.journal.status).toBe('completed');
    const marker = (name: string) => result.journal.markers.find((m) => m.name === name);
    expect(Date.parse(marker('target-consuming')!.at)).toBe(swap + 7_000);
    expect(Date.parse(marker('source-last-accepted')!.at)).toBe(swap + 1_500);
    // The figures come from the store, not from when the steps ran (a few ms apart here).
    expect(result.report.unavailabilityMs).toBe(7_000);
    expect(result.report.acceptanceGapMs).toBe(5_500);
    const opened = Date.parse(marker('target-queue-opened')!.at);
    expect(result.report.queueToConsumingMs).toBe(swap + 7_000 - opened);
    expect(opened - swap).toBeLessThan(2_000);
    expect(result.journal.steps.at(-1)?.detail).toContain('us-west-2 first accepted first-west 7000 ms after');
    // Read through the time index, from the swap on, never a Scan.
    expect(queries.length).toBeGreaterThan(0);
    expect(queries.every((q) => q.IndexName === 'by-time' && q.TableName === table())).toBe(true);
    expect(queries[0].ExpressionAttributeValues?.[':since']).toEqual({ N: String(swap) });
    expect(result.report.notes.join(' ')).not.toMatch(/Unavailability|Acceptance gap/);
  });

  it('with the queue On but nothing accepted in the target, the window is not measured (never assumed)', async () => {
    const result = await run((swapAt) => [
      { id: 'drained-east', acceptedAt: swapAt + 300, region: 'us-east-1' },
      { id: 'old-west', acceptedAt: swapAt - 1_000, region: 'us-west-2' },
    ]);
    const observe = result.journal.steps.find((s) => s.id === 'observe')!;
    expect(observe.status).toBe('failed');
    expect(observe.error).toMatch(/timed out after 2(\.0)? s.*nothing accepted by trade in us-west-2/);
    expect(result.journal.markers.map((m) => m.name)).not.toContain('target-consuming');
    expect(result.report.unavailabilityMs).toBeUndefined();
    expect(result.report.notes).toContain('Unavailability window: not measured (no target-consuming marker)');
  });

  it('a runbook cannot declare the observed markers on a step that only flips a control', () => {
    const faked = RUNBOOK.replace('marks: target-queue-opened', 'marks: target-consuming');
    const error = (() => {
      try {
        parseRunbook(faked, '/tmp/faked.yaml', stepRegistry);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RunbookValidationError);
    expect((error as Error).message).toMatch(/marker "target-consuming" is observed, not declared/);
  });
});
