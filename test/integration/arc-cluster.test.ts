import fs from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  ConflictException,
  GetRoutingControlStateCommand,
  ListRoutingControlsCommand,
  ResourceNotFoundException,
  Route53RecoveryClusterClient,
  UpdateRoutingControlStateCommand,
  UpdateRoutingControlStatesCommand,
  ValidationException,
} from '@aws-sdk/client-route53-recovery-cluster';
import { deriveNames } from '../../src/config/model.js';
import { UserError } from '../../src/errors.js';
import { arcClusterDefinition, type ArcCluster, startArcCluster } from '../../src/infra/local/arc/arc-server.js';
import {
  ArcRoutingControls,
  ArcUnavailableError,
  SafetyRuleViolation,
} from '../../src/clients/arc-routing-controls.js';
import type { RoutingControlState } from '../../src/platform/platform.js';

const REGIONS = ['us-east-1', 'us-west-2'];
const names = deriveNames({
  environment: 'test',
  regions: REGIONS,
  apps: ['trade', 'settlement'],
  aws: { shardsPerStream: 1, tasksPerService: 1, auroraInstanceClass: 'x', brokerInstanceType: 'y' },
});
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const arnOf = (name: string): string => {
  const control = names.routingControls.find((c) => c.name === name);
  if (!control) throw new Error(`no control ${name}`);
  return control.arn;
};
const ruleArn = (name: string): string => names.safetyRules.find((r) => r.name === name)!.arn;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-arc-'));
const statePath = path.join(tmp, 'arc', 'state.json');
const definition = arcClusterDefinition(names, REGIONS[0]);

/** Things to close in afterAll, in reverse order. */
const cleanups: (() => Promise<void>)[] = [];

let cluster: ArcCluster;
let arc: ArcRoutingControls;
let raw: Route53RecoveryClusterClient;

function rawClient(endpoint: string): Route53RecoveryClusterClient {
  const client = new Route53RecoveryClusterClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  cleanups.push(async () => client.destroy());
  return client;
}

function arcClient(endpoints: readonly string[], attemptTimeoutMs?: number): ArcRoutingControls {
  const client = new ArcRoutingControls({ endpoints, region: 'us-east-1', names, credentials, attemptTimeoutMs });
  cleanups.push(() => client.close());
  return client;
}

/** A real HTTP server that answers every request the same way (a sick or foreign endpoint). */
async function startCannedEndpoint(
  respond: (res: http.ServerResponse, target: string | undefined, body: string) => void,
): Promise<{ endpoint: string; hits: () => number }> {
  let hits = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    hits++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () =>
      respond(res, req.headers['x-amz-target'] as string | undefined, Buffer.concat(chunks).toString()),
    );
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, hits: () => hits };
}

function awsError(res: http.ServerResponse, status: number, type: string, extra: Record<string, unknown> = {}) {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': type });
  res.end(
    JSON.stringify({ __type: `com.amazonaws.route53recoverycluster#${type}`, message: `canned ${type}`, ...extra }),
  );
}

async function post(endpoint: string, target: string | undefined, body: string, method = 'POST') {
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.0' };
  if (target) headers['x-amz-target'] = target;
  const response = await fetch(`${endpoint}/`, { method, headers, body: method === 'GET' ? undefined : body });
  return {
    status: response.status,
    errorType: response.headers.get('x-amzn-errortype'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

const stateMap = (states: readonly RoutingControlState[]) => Object.fromEntries(states.map((s) => [s.name, s.state]));

async function expectRejection<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
): Promise<T> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  return error as T;
}

beforeAll(async () => {
  cluster = await startArcCluster({ ports: [0, 0, 0], statePath, ...definition });
  cleanups.push(() => cluster.close());
  arc = arcClient(cluster.endpoints);
  raw = rawClient(cluster.endpoints[1]);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('local ARC cluster', () => {
  it('listens on three distinct loopback endpoints and writes the state file', () => {
    expect(cluster.endpoints).toHaveLength(3);
    expect(new Set(cluster.endpoints).size).toBe(3);
    for (const endpoint of cluster.endpoints) expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const file = JSON.parse(fs.readFileSync(statePath, 'utf8'));
    expect(file.controlPanelArn).toBe(names.controlPanelArn);
    expect(file.controls).toHaveLength(names.routingControls.length);
  });

  it('lists every control with its deploy-time state through ArcRoutingControls', async () => {
    const states = await arc.list();
    expect(states.map((s) => s.name)).toEqual(names.routingControls.map((c) => c.name));
    const byName = stateMap(states);
    expect(byName['trade-dns-us-east-1']).toBe('On');
    expect(byName['trade-app-us-east-1']).toBe('On');
    expect(byName['trade-dns-us-west-2']).toBe('Off');
    expect(byName['settlement-queue-us-west-2']).toBe('Off');
    expect(byName['trade-gate']).toBe('Off');
    expect(byName['trade-generator']).toBe('Off');
    expect(states.find((s) => s.name === 'trade-gate')?.arn).toBe(arnOf('trade-gate'));
  });

  it('paginates ListRoutingControls for the raw SDK client', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await raw.send(
        new ListRoutingControlsCommand({ ControlPanelArn: names.controlPanelArn, MaxResults: 4, NextToken: token }),
      );
      pages++;
      expect(page.RoutingControls!.length).toBeLessThanOrEqual(4);
      for (const control of page.RoutingControls!) {
        expect(control.ControlPanelArn).toBe(names.controlPanelArn);
        expect(control.ControlPanelName).toBe(names.controlPanelName);
        expect(control.Owner).toBe('000000000000');
        seen.push(control.RoutingControlName!);
      }
      token = page.NextToken;
    } while (token);
    expect(pages).toBe(Math.ceil(names.routingControls.length / 4));
    expect(seen).toEqual(names.routingControls.map((c) => c.name));
  });

  it('answers an unknown control panel with ResourceNotFoundException', async () => {
    const error = await expectRejection(
      raw.send(new ListRoutingControlsCommand({ ControlPanelArn: `${names.controlPanelArn}-nope` })),
      ResourceNotFoundException,
    );
    expect(error.$metadata.httpStatusCode).toBe(404);
    expect(error.resourceType).toBe('ControlPanel');
  });

  it('gets one control by name or ARN, and through the raw client', async () => {
    expect(await arc.get('trade-dns-us-east-1')).toEqual({
      name: 'trade-dns-us-east-1',
      arn: arnOf('trade-dns-us-east-1'),
      state: 'On',
    });
    expect((await arc.get(arnOf('trade-dns-us-west-2'))).state).toBe('Off');
    const answer = await raw.send(new GetRoutingControlStateCommand({ RoutingControlArn: arnOf('trade-gate') }));
    expect(answer.RoutingControlName).toBe('trade-gate');
    expect(answer.RoutingControlState).toBe('Off');
  });

  it('refuses unknown names locally with close suggestions, and unknown ARNs remotely', async () => {
    const local = await expectRejection(arc.get('trade-dns-us-east'), UserError);
    expect(local.message).toContain('unknown routing control "trade-dns-us-east"');
    expect(local.message).toContain('trade-dns-us-east-1');
    const remote = await expectRejection(
      raw.send(new GetRoutingControlStateCommand({ RoutingControlArn: `${names.controlPanelArn}/routingcontrol/x` })),
      ResourceNotFoundException,
    );
    expect(remote.resourceId).toBe(`${names.controlPanelArn}/routingcontrol/x`);
    expect(remote.resourceType).toBe('RoutingControl');
    await expectRejection(arc.set([{ control: 'trade-dns-us-east-1', state: 'On' }], ['no-such-rule']), UserError);
  });

  it('sets one control and every endpoint sees it', async () => {
    await arc.set([{ control: 'trade-generator', state: 'On' }]);
    expect((await arc.get('trade-generator')).state).toBe('On');
    for (const endpoint of cluster.endpoints) {
      const client = rawClient(endpoint);
      const answer = await client.send(
        new GetRoutingControlStateCommand({ RoutingControlArn: arnOf('trade-generator') }),
      );
      expect(answer.RoutingControlState).toBe('On');
    }
    await raw.send(
      new UpdateRoutingControlStateCommand({ RoutingControlArn: arnOf('trade-generator'), RoutingControlState: 'Off' }),
    );
    expect((await arc.get('trade-generator')).state).toBe('Off');
  });

  it('swaps dns between regions in one batch', async () => {
    await arc.set([
      { control: 'trade-dns-us-east-1', state: 'Off' },
      { control: 'trade-dns-us-west-2', state: 'On' },
    ]);
    const states = stateMap(await arc.list());
    expect(states['trade-dns-us-east-1']).toBe('Off');
    expect(states['trade-dns-us-west-2']).toBe('On');
    // and back, through the raw client's batch operation
    await raw.send(
      new UpdateRoutingControlStatesCommand({
        UpdateRoutingControlStateEntries: [
          { RoutingControlArn: arnOf('trade-dns-us-east-1'), RoutingControlState: 'On' },
          { RoutingControlArn: arnOf('trade-dns-us-west-2'), RoutingControlState: 'Off' },
        ],
      }),
    );
    const back = stateMap(await arc.list());
    expect(back['trade-dns-us-east-1']).toBe('On');
    expect(back['trade-dns-us-west-2']).toBe('Off');
  });

  it('refuses turning every dns Off and changes nothing', async () => {
    const before = await arc.list();
    const fileBefore = fs.readFileSync(statePath, 'utf8');

    const violation = await expectRejection(
      arc.set([
        { control: 'trade-dns-us-east-1', state: 'Off' },
        { control: 'trade-dns-us-west-2', state: 'Off' },
        { control: 'trade-generator', state: 'On' },
      ]),
      SafetyRuleViolation,
    );
    expect(violation.rule).toBe('trade-at-least-one-dns');
    expect(violation.exitCode).toBe(5);
    expect(violation.message).toContain('trade-at-least-one-dns');
    expect(violation.fix).toContain('--override trade-at-least-one-dns');
    expect(violation.fix).toContain('tsr rotate');

    const conflict = await expectRejection(
      raw.send(
        new UpdateRoutingControlStateCommand({
          RoutingControlArn: arnOf('trade-dns-us-east-1'),
          RoutingControlState: 'Off',
        }),
      ),
      ConflictException,
    );
    expect(conflict.$metadata.httpStatusCode).toBe(409);
    expect(conflict.resourceId).toBe(ruleArn('trade-at-least-one-dns'));
    expect(conflict.resourceType).toBe('SafetyRule');
    expect(conflict.message).toContain('trade-at-least-one-dns');

    expect(await arc.list()).toEqual(before);
    expect(fs.readFileSync(statePath, 'utf8')).toBe(fileBefore);
  });

  it('refuses queue and app changes while the gate is Off', async () => {
    const violation = await expectRejection(
      arc.set([{ control: 'trade-queue-us-west-2', state: 'On' }]),
      SafetyRuleViolation,
    );
    expect(violation.rule).toBe('trade-gate-queue-and-app');
    await expectRejection(
      raw.send(
        new UpdateRoutingControlStateCommand({
          RoutingControlArn: arnOf('settlement-app-us-east-1'),
          RoutingControlState: 'Off',
        }),
      ),
      ConflictException,
    );
    expect((await arc.get('trade-queue-us-west-2')).state).toBe('Off');
    expect((await arc.get('settlement-app-us-east-1')).state).toBe('On');
    // a no-op update of a gated control changes nothing and is allowed
    await arc.set([{ control: 'trade-app-us-east-1', state: 'On' }]);
  });

  it('allows them in the batch that opens the gate, and while the gate is On', async () => {
    await arc.set([
      { control: 'trade-gate', state: 'On' },
      { control: 'trade-queue-us-west-2', state: 'On' },
    ]);
    await arc.set([{ control: 'trade-app-us-west-2', state: 'On' }]);
    await arc
      .set([
        { control: 'trade-app-us-west-2', state: 'Off' },
        { control: 'trade-queue-us-west-2', state: 'Off' },
        { control: 'trade-gate', state: 'Off' },
      ])
      .then(
        () => {
          throw new Error('closing the gate in the same batch as a gated change must be refused');
        },
        (error: unknown) => expect(error).toBeInstanceOf(SafetyRuleViolation),
      );
    await arc.set([
      { control: 'trade-app-us-west-2', state: 'Off' },
      { control: 'trade-queue-us-west-2', state: 'Off' },
    ]);
    await arc.set([{ control: 'trade-gate', state: 'Off' }]);
    // the gate of one app does not open the other app's controls
    await expectRejection(arc.set([{ control: 'settlement-app-us-west-2', state: 'On' }]), SafetyRuleViolation);
    const states = stateMap(await arc.list());
    expect(states['trade-gate']).toBe('Off');
    expect(states['trade-queue-us-west-2']).toBe('Off');
    expect(states['trade-app-us-west-2']).toBe('Off');
  });

  it('allows a gated change with an override by name, and by ARN through the raw client', async () => {
    await arc.set([{ control: 'settlement-queue-us-west-2', state: 'On' }], ['settlement-gate-queue-and-app']);
    expect((await arc.get('settlement-queue-us-west-2')).state).toBe('On');
    await raw.send(
      new UpdateRoutingControlStateCommand({
        RoutingControlArn: arnOf('settlement-queue-us-west-2'),
        RoutingControlState: 'Off',
        SafetyRulesToOverride: [ruleArn('settlement-gate-queue-and-app')],
      }),
    );
    expect((await arc.get('settlement-queue-us-west-2')).state).toBe('Off');
    // overriding the gate does not override the dns assertion
    await expectRejection(
      arc.set([{ control: 'settlement-dns-us-east-1', state: 'Off' }], ['settlement-gate-queue-and-app']),
      SafetyRuleViolation,
    );
  });

  it('answers malformed requests with AWS-shaped errors and keeps serving', async () => {
    const endpoint = cluster.endpoints[0];
    const badJson = await post(endpoint, 'ToggleCustomerAPI.GetRoutingControlState', '{"RoutingControlArn": ');
    expect(badJson.status).toBe(400);
    expect(badJson.errorType).toBe('ValidationException');
    expect(badJson.body.__type).toBe('com.amazonaws.route53recoverycluster#ValidationException');
    expect(badJson.body.reason).toBe('cannotParse');
    expect(typeof badJson.body.message).toBe('string');

    const unknown = await post(endpoint, 'ToggleCustomerAPI.DeleteEverything', '{}');
    expect(unknown.status).toBe(400);
    expect(unknown.body.reason).toBe('unknownOperation');
    const noTarget = await post(endpoint, undefined, '{}');
    expect(noTarget.errorType).toBe('ValidationException');
    const prototypeKey = await post(endpoint, 'ToggleCustomerAPI.constructor', '{}');
    expect(prototypeKey.body.reason).toBe('unknownOperation');
    const get = await post(endpoint, undefined, '', 'GET');
    expect(get.status).toBe(400);
    const notObject = await post(endpoint, 'ToggleCustomerAPI.ListRoutingControls', '[1,2]');
    expect(notObject.body.reason).toBe('cannotParse');

    const missing = await post(endpoint, 'ToggleCustomerAPI.GetRoutingControlState', '{}');
    expect(missing.body.reason).toBe('fieldValidationFailed');
    expect(missing.body.fields).toEqual([{ name: 'RoutingControlArn', message: expect.any(String) }]);

    const lowercase = await expectRejection(
      raw.send(
        new UpdateRoutingControlStateCommand({
          RoutingControlArn: arnOf('trade-generator'),
          RoutingControlState: 'on' as 'On',
        }),
      ),
      ValidationException,
    );
    expect(lowercase.$metadata.httpStatusCode).toBe(400);
    const badMax = await expectRejection(
      raw.send(new ListRoutingControlsCommand({ MaxResults: 0 })),
      ValidationException,
    );
    expect(badMax.message).toContain('MaxResults');
    await expectRejection(raw.send(new ListRoutingControlsCommand({ NextToken: 'garbage!' })), ValidationException);

    expect((await arc.get('trade-dns-us-east-1')).state).toBe('On');
  });
});

describe('ArcRoutingControls endpoint failover', () => {
  it('moves on from an endpoint answering 5xx or throttling', async () => {
    const sick = await startCannedEndpoint((res) => awsError(res, 500, 'InternalServerException'));
    const throttled = await startCannedEndpoint((res) => awsError(res, 429, 'ThrottlingException'));
    const client = arcClient([sick.endpoint, throttled.endpoint, cluster.endpoints[2]]);
    expect((await client.get('trade-dns-us-east-1')).state).toBe('On');
    expect(sick.hits()).toBe(1);
    expect(throttled.hits()).toBe(1);
  });

  it('moves on from an endpoint that accepts connections but never answers', async () => {
    const silent = await startCannedEndpoint(() => undefined);
    const client = arcClient([silent.endpoint, cluster.endpoints[2]], 400);
    const started = Date.now();
    expect((await client.get('trade-dns-us-east-1')).state).toBe('On');
    expect(silent.hits()).toBe(1);
    expect(Date.now() - started).toBeLessThan(3000);
    const onlySilent = arcClient([silent.endpoint], 300);
    const error = await expectRejection(onlySilent.get('trade-gate'), ArcUnavailableError);
    expect(error.message).toContain(`${silent.endpoint} → no answer within 300 ms`);
  });

  it('does not move on after an authoritative refusal', async () => {
    const refusing = await startCannedEndpoint((res) =>
      awsError(res, 409, 'ConflictException', {
        resourceId: ruleArn('trade-at-least-one-dns'),
        resourceType: 'SafetyRule',
      }),
    );
    const client = arcClient([refusing.endpoint, cluster.endpoints[2]]);
    // The real cluster would accept this update; only the first endpoint's answer may count.
    const violation = await expectRejection(
      client.set([{ control: 'trade-generator', state: 'On' }]),
      SafetyRuleViolation,
    );
    expect(violation.rule).toBe('trade-at-least-one-dns');
    expect((await arc.get('trade-generator')).state).toBe('Off');

    const missing = await startCannedEndpoint((res) =>
      awsError(res, 404, 'ResourceNotFoundException', { resourceId: 'x', resourceType: 'RoutingControl' }),
    );
    const second = arcClient([missing.endpoint, cluster.endpoints[2]]);
    const error = await expectRejection(second.get('trade-generator'), UserError);
    expect(error).not.toBeInstanceOf(ArcUnavailableError);
    expect(error.message).toContain('does not exist');
  });

  it('sends one control as UpdateRoutingControlState and several as one UpdateRoutingControlStates batch', async () => {
    const seen: { target?: string; body: Record<string, unknown> }[] = [];
    const recorder = await startCannedEndpoint((res, target, body) => {
      seen.push({ target, body: JSON.parse(body) });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end('{}');
    });
    const client = arcClient([recorder.endpoint]);
    await client.set([{ control: 'trade-gate', state: 'On' }]);
    await client.set(
      [
        { control: 'trade-dns-us-east-1', state: 'Off' },
        { control: arnOf('trade-dns-us-west-2'), state: 'On' },
      ],
      ['trade-at-least-one-dns', ruleArn('trade-gate-queue-and-app')],
    );
    expect(seen).toEqual([
      {
        target: 'ToggleCustomerAPI.UpdateRoutingControlState',
        body: { RoutingControlArn: arnOf('trade-gate'), RoutingControlState: 'On' },
      },
      {
        target: 'ToggleCustomerAPI.UpdateRoutingControlStates',
        body: {
          UpdateRoutingControlStateEntries: [
            { RoutingControlArn: arnOf('trade-dns-us-east-1'), RoutingControlState: 'Off' },
            { RoutingControlArn: arnOf('trade-dns-us-west-2'), RoutingControlState: 'On' },
          ],
          SafetyRulesToOverride: [ruleArn('trade-at-least-one-dns'), ruleArn('trade-gate-queue-and-app')],
        },
      },
    ]);
  });

  it('keeps answering after endpoint 0 stops, for reads and writes', async () => {
    await cluster.stopEndpoint(0);
    expect((await arc.get('trade-dns-us-east-1')).state).toBe('On');
    await arc.set([{ control: 'trade-generator', state: 'On' }]);
    expect(stateMap(await arc.list())['trade-generator']).toBe('On');
    // a fresh client starts with the dead endpoint and still gets through
    const fresh = arcClient(cluster.endpoints);
    expect((await fresh.get('trade-generator')).state).toBe('On');
  });

  it('reports clearly when no endpoint answers', async () => {
    await cluster.stopEndpoint(1);
    await cluster.stopEndpoint(2);
    await cluster.stopEndpoint(2); // idempotent
    const error = await expectRejection(arc.get('trade-gate'), ArcUnavailableError);
    expect(error.message).toMatch(/^no ARC cluster endpoint answered \(tried 3: /);
    for (const endpoint of cluster.endpoints) expect(error.message).toContain(`${endpoint} → `);
    // The client's open connection to endpoint 1 broke when it stopped; the others refuse connections.
    expect(error.message).toContain(`${cluster.endpoints[2]} → ECONNREFUSED`);
    expect(error.exitCode).toBe(4);
    expect(error.fix).toContain('tsr status');
    expect(error.failures).toHaveLength(3);
    await expectRejection(arc.set([{ control: 'trade-gate', state: 'On' }]), ArcUnavailableError);
  });
});

describe('persistence', () => {
  it('a restarted cluster keeps its states', async () => {
    await cluster.close();
    const restarted = await startArcCluster({ ports: [0, 0], statePath, ...definition });
    try {
      const client = arcClient(restarted.endpoints);
      const states = stateMap(await client.list());
      expect(states['trade-generator']).toBe('On'); // set before the restart; its initial state is Off
      expect(states['trade-dns-us-east-1']).toBe('On');
      expect(states['trade-gate']).toBe('Off');
      await client.set([{ control: 'trade-gate', state: 'On' }]);
    } finally {
      await restarted.close();
    }
    const file = JSON.parse(fs.readFileSync(statePath, 'utf8'));
    expect(file.controls).toHaveLength(names.routingControls.length);
    expect(file.controls.find((c: { name: string }) => c.name === 'trade-gate').state).toBe('On');
    expect(fs.readdirSync(path.dirname(statePath))).toEqual(['state.json']);
  });

  it('takes states from the file and gives controls missing from it their initial state', async () => {
    const file = JSON.parse(fs.readFileSync(statePath, 'utf8'));
    file.controls = file.controls
      .filter((c: { name: string }) => c.name !== 'trade-generator')
      .map((c: { name: string; state: string }) => (c.name === 'settlement-dns-us-west-2' ? { ...c, state: 'On' } : c));
    fs.writeFileSync(statePath, JSON.stringify(file));

    const restarted = await startArcCluster({ ports: [0], statePath, ...definition });
    cleanups.push(() => restarted.close());
    const states = stateMap(await arcClient(restarted.endpoints).list());
    expect(states['trade-generator']).toBe('Off'); // missing from the file: initial
    expect(states['settlement-dns-us-west-2']).toBe('On'); // from the file
    expect(states['trade-gate']).toBe('On'); // from the file
    const rewritten = JSON.parse(fs.readFileSync(statePath, 'utf8'));
    expect(rewritten.controls).toHaveLength(names.routingControls.length);
  });

  it('binds loopback only', async () => {
    await expect(startArcCluster({ host: '0.0.0.0', ports: [0], statePath, ...definition })).rejects.toThrow(
      /loopback only/,
    );
  });

  it('refuses a state file of another control panel instead of guessing', async () => {
    const other = deriveNames({
      environment: 'other',
      regions: REGIONS,
      apps: ['trade'],
      aws: { shardsPerStream: 1, tasksPerService: 1, auroraInstanceClass: 'x', brokerInstanceType: 'y' },
    });
    await expect(
      startArcCluster({ ports: [0], statePath, ...arcClusterDefinition(other, REGIONS[0]) }),
    ).rejects.toThrow(/belongs to control panel/);
  });
});
