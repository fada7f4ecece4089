/**
 * `arc-endpoints-down` on the AWS target: held in tsr's own ARC client (ARC's cluster is AWS's to run, trying the
 * next endpoint is tsr's). Only the SDK client is mocked: each call records the cluster endpoint it was sent to.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  GetRoutingControlStateCommand,
  ListRoutingControlsCommand,
  Route53RecoveryClusterClient,
  UpdateRoutingControlStateCommand,
} from '@aws-sdk/client-route53-recovery-cluster';
import { mockClient } from 'aws-sdk-client-mock';
import { awsRecord } from '../helpers/aws-record.js';
import {
  ArcRoutingControls,
  ArcUnavailableError,
  HELD_DOWN_ERROR,
  type ArcEndpointWithRegion,
} from '../../src/clients/arc-routing-controls.js';
import { loadConfig } from '../../src/config/load.js';
import { deriveNames, type TsrConfig } from '../../src/config/model.js';
import { ExitCode } from '../../src/errors.js';
import { gamedayRegistry } from '../../src/gameday/run.js';
import { undoAllFaults } from '../../src/gameday/steps.js';
import { ArcEndpointFault } from '../../src/platform/aws/arc-endpoint-fault.js';
import { AwsPlatform } from '../../src/platform/aws/aws-platform.js';
import { ActiveFaults } from '../../src/platform/faults.js';
import { parseRunbook, runRunbook } from '../../src/runbooks/index.js';

const arc = mockClient(Route53RecoveryClusterClient);
const REGIONS = ['us-east-1', 'us-west-2'];
const PANEL = 'arn:aws:route53-recovery-control::123456789012:controlpanel/p';
/** Five cluster endpoints, as ARC gives, each in its own region. */
const ENDPOINTS: ArcEndpointWithRegion[] = [
  'us-east-1',
  'us-west-2',
  'eu-west-1',
  'ap-southeast-2',
  'ap-northeast-1',
].map((region, i) => ({ region, url: `https://host-${i + 1}.example.com/v1` }));
const LAST = ENDPOINTS[ENDPOINTS.length - 1].url;

let dir: string;
let config: TsrConfig;
/** The endpoint (URL) of every command the SDK was asked to send, in order. */
let sentTo: string[];
const opened: { close(): Promise<void> }[] = [];

function platform(): AwsPlatform {
  const names = deriveNames(config);
  const record = awsRecord(names, REGIONS, PANEL);
  const made = new AwsPlatform(config, {
    record: { ...record, global: { ...record.global!, arcEndpoints: ENDPOINTS } },
    env: {},
  });
  opened.push(made);
  return made;
}

function client(heldDown?: () => ReadonlySet<string>): ArcRoutingControls {
  const made = new ArcRoutingControls({ endpoints: ENDPOINTS, names: deriveNames(config), heldDown });
  opened.push(made);
  return made;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-arc-down-'));
  config = loadConfig({ environment: 'test', regions: REGIONS, target: 'aws' }, {}, dir);
  sentTo = [];
  arc.reset();
  // Every endpoint answers: a call that reaches a held-down one would succeed there, which the tests would see.
  const answer =
    <O>(output: O) =>
    async (_input: unknown, getClient: () => Route53RecoveryClusterClient) => {
      const endpoint = await getClient().config.endpoint?.();
      sentTo.push(`https://${endpoint?.hostname}${endpoint?.path ?? ''}`);
      return output;
    };
  const control = `${PANEL}/routingcontrol/trade-gate`;
  arc.on(ListRoutingControlsCommand).callsFake(
    answer({
      RoutingControls: [{ RoutingControlArn: control, RoutingControlName: 'trade-gate', RoutingControlState: 'Off' }],
    }),
  );
  arc
    .on(GetRoutingControlStateCommand)
    .callsFake(answer({ RoutingControlArn: control, RoutingControlName: 'trade-gate', RoutingControlState: 'Off' }));
  arc.on(UpdateRoutingControlStateCommand).callsFake(answer({}));
});
afterEach(async () => {
  for (const made of opened.splice(0)) await made.close();
  rmSync(dir, { recursive: true, force: true });
});
afterAll(() => arc.restore());

describe('the ARC client with endpoints held down', () => {
  test('nothing held: the first endpoint answers (what a held-down set that were ignored would also give)', async () => {
    await client().get('trade-gate');
    await client(() => new Set()).get('trade-gate');
    expect(sentTo).toEqual([ENDPOINTS[0].url, ENDPOINTS[0].url]);
  });

  test('all but the last held: every call moves past them without a request and succeeds through the last', async () => {
    const held = new Set(ENDPOINTS.slice(0, -1).map((e) => e.url));
    const controls = client(() => held);
    expect((await controls.list()).map((c) => c.name)).toEqual(['trade-gate']);
    expect((await controls.get('trade-gate')).state).toBe('Off');
    await controls.set([{ control: 'trade-gate', state: 'On' }]);
    expect(sentTo).toEqual([LAST, LAST, LAST]);
    expect(sentTo.some((url) => held.has(url))).toBe(false);
    expect(arc.commandCalls(UpdateRoutingControlStateCommand)).toHaveLength(1);
  });

  test('all held: ArcUnavailableError (exit 4) naming the simulated cause for each endpoint, and nothing sent', async () => {
    const controls = client(() => new Set(ENDPOINTS.map((e) => e.url)));
    const error = await controls.set([{ control: 'trade-gate', state: 'On' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArcUnavailableError);
    const unavailable = error as ArcUnavailableError;
    expect(unavailable.exitCode).toBe(ExitCode.unhealthy);
    expect(unavailable.failures).toEqual(ENDPOINTS.map((e) => ({ endpoint: e.url, error: HELD_DOWN_ERROR })));
    expect(unavailable.message).toContain(
      `${ENDPOINTS[0].url} → ECONNREFUSED (held down by game-day fault arc-endpoints-down)`,
    );
    expect(unavailable.fix).toMatch(/tsr gameday recover/);
    expect(arc.calls()).toHaveLength(0);
    expect(sentTo).toEqual([]);
  });

  test('the held-down set is read at every call: a fault injected or undone meanwhile takes effect at once', async () => {
    let held: ReadonlySet<string> = new Set();
    const controls = client(() => held);
    await controls.get('trade-gate');
    held = new Set(ENDPOINTS.slice(0, -1).map((e) => e.url));
    await controls.get('trade-gate');
    held = new Set();
    await controls.get('trade-gate');
    // Once released, calls start where the last one was answered, as after any endpoint failover.
    expect(sentTo).toEqual([ENDPOINTS[0].url, LAST, LAST]);
  });
});

describe('arc-endpoints-down through the AWS platform', () => {
  const file = () => path.join(config.workspace, 'gamedays', 'arc-endpoints-down.json');
  /** A game day's fault step (id arc-down) with these further params, run by the runbook engine. */
  const runFault = (on: AwsPlatform, params: string) => {
    const registry = gamedayRegistry();
    const runbook = parseRunbook(
      'name: t\ndescription: t\nsteps:\n  - id: f\n    type: gameday.fault\n' +
        `    params: { fault: arc-down, kind: arc-endpoints-down, ${params} }\n`,
      path.join(dir, 't.yaml'),
      registry,
    );
    return runRunbook(
      runbook,
      {},
      { platform: on, workspace: config.workspace, yes: true, progress: 'silent', registry },
    );
  };

  test('inject writes the held-down endpoints to the workspace; a new platform’s client reads them; undo lets every endpoint answer', async () => {
    const injecting = platform();
    const before = injecting.routingControls(); // built before the fault: it must see it too
    const faults = injecting.faults();
    const fault = faults.prepareArcEndpointsDown('all-but-one');
    expect(fault.arcHeldDown).toEqual({ endpoints: 'all-but-one', urls: ENDPOINTS.slice(0, -1).map((e) => e.url) });
    expect(fault.detail).toBe(`tsr's ARC client holds 4 of 5 cluster endpoint(s) down; ${LAST} still answers`);
    expect(existsSync(file())).toBe(false); // prepared: nothing held yet
    await faults.inject(fault);
    expect(JSON.parse(readFileSync(file(), 'utf8'))).toEqual({
      kind: 'arc-endpoints-down',
      endpoints: 'all-but-one',
      heldDown: ENDPOINTS.slice(0, -1).map((e) => e.url),
      injectedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });

    await platform().routingControls().list();
    await before.get('trade-gate');
    expect(sentTo).toEqual([LAST, LAST]);

    await faults.undo(fault);
    expect(existsSync(file())).toBe(false);
    sentTo = [];
    await platform().routingControls().get('trade-gate');
    expect(sentTo).toEqual([ENDPOINTS[0].url]);
  });

  test('release removes only the record the fault wrote: another file at that path stays and holds nothing down', () => {
    mkdirSync(path.dirname(file()), { recursive: true });
    writeFileSync(file(), '{"notes": "not tsr\'s"}');
    const fault = new ArcEndpointFault(config.workspace);
    expect(fault.heldDown()).toEqual(new Set());
    fault.release();
    expect(readFileSync(file(), 'utf8')).toBe('{"notes": "not tsr\'s"}');
    rmSync(file());
    fault.hold('all', [ENDPOINTS[0].url]);
    fault.release();
    expect(existsSync(file())).toBe(false);
  });

  test('all: status reports the routing controls unreadable, naming the held-down endpoints; nothing is sent', async () => {
    const faults = platform().faults();
    await faults.inject(faults.prepareArcEndpointsDown('all'));
    const controls = platform().routingControls();
    await expect(controls.list()).rejects.toThrow(ArcUnavailableError);
    await expect(controls.set([{ control: 'trade-gate', state: 'On' }])).rejects.toThrow(
      /no ARC cluster endpoint answered \(tried 5: .*held down by game-day fault arc-endpoints-down/,
    );
    expect(arc.calls()).toHaveLength(0);
  });

  test('a game day injects it with its undo on record; after tsr was killed, recover (a new process) undoes it', async () => {
    const result = await runFault(platform(), 'endpoints: all');
    expect(result.journal.status).toBe('completed');
    // Left injected (no hold time, no undo step): what a killed game day leaves behind.
    const [recorded] = new ActiveFaults(config.workspace).list();
    expect(recorded.undo).toEqual([
      expect.objectContaining({
        via: 'aws',
        fault: expect.objectContaining({
          kind: 'arc-endpoints-down',
          arcHeldDown: { endpoints: 'all', urls: ENDPOINTS.map((e) => e.url) },
        }),
      }),
    ]);
    expect(new ArcEndpointFault(config.workspace).heldDown()).toEqual(new Set(ENDPOINTS.map((e) => e.url)));
    await expect(platform().routingControls().list()).rejects.toThrow(ArcUnavailableError);

    expect(await undoAllFaults(platform(), config.workspace, undefined)).toEqual({
      undone: ['arc-endpoints-down (all)'],
      failed: [],
    });
    expect(existsSync(file())).toBe(false);
    expect(new ActiveFaults(config.workspace).list()).toEqual([]);
    await platform().routingControls().list();
    expect(sentTo).toEqual([ENDPOINTS[0].url]);
  });

  test('held for a while by a game day: undone at the end of its step, and every endpoint answers again', async () => {
    const drill = platform();
    const result = await runFault(drill, 'endpoints: all-but-one, holdMs: 20');
    expect(result.journal.status).toBe('completed');
    expect(existsSync(file())).toBe(false);
    expect(new ActiveFaults(config.workspace).list()).toEqual([]);
    await drill.routingControls().get('trade-gate');
    expect(sentTo).toEqual([ENDPOINTS[0].url]);
  });
});
