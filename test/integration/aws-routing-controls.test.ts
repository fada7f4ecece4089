import fs from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { deriveNames, initialControlState, type ResourceNames } from '../../src/config/model.js';
import { UserError } from '../../src/errors.js';
import { initialiseRoutingControls, initialRoutingBatches } from '../../src/infra/aws/initial-routing.js';
import { arcClusterDefinition, startArcCluster, type ArcCluster } from '../../src/infra/local/arc/arc-server.js';
import { ArcRoutingControls, SafetyRuleViolation } from '../../src/clients/arc-routing-controls.js';
import { AwsPlatform } from '../../src/platform/aws/aws-platform.js';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const cleanups: (() => Promise<void>)[] = [];
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-aws-arc-'));
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function namesFor(regions: string[]): ResourceNames {
  return deriveNames(loadConfig({ environment: 'test', regions, target: 'aws' }, {}, tmp));
}

/** A local ARC cluster (real safety-rule evaluation) whose controls all start OFF, as ARC creates them. */
async function freshCluster(names: ResourceNames, primary: string): Promise<ArcRoutingControls> {
  const definition = arcClusterDefinition(names, primary);
  const cluster: ArcCluster = await startArcCluster({
    ports: [0, 0],
    statePath: path.join(tmp, `arc-${Math.random().toString(36).slice(2)}.json`),
    ...definition,
    controls: definition.controls.map((c) => ({ ...c, initial: 'Off' as const })),
  });
  cleanups.push(() => cluster.close());
  const controls = new ArcRoutingControls({ endpoints: cluster.endpoints, region: primary, names, credentials });
  cleanups.push(() => controls.close());
  return controls;
}

describe.each([
  ['two', ['us-east-1', 'us-west-2']],
  ['three', ['us-east-1', 'us-west-2', 'eu-west-1']],
])('initial routing-control states, %s regions, against ARC safety rules', (_label, regions) => {
  const names = namesFor(regions);
  const primary = regions[0];

  test('the batches pass every safety rule from all-OFF and end in the deploy-time states', async () => {
    const controls = await freshCluster(names, primary);
    const outcome = await initialiseRoutingControls(controls, names, primary, { settleMs: 0 });
    expect(outcome.action).toBe('initialized');
    const states = Object.fromEntries((await controls.list()).map((c) => [c.name, c.state]));
    expect(states).toEqual(
      Object.fromEntries(names.routingControls.map((c) => [c.name, initialControlState(c, primary)])),
    );
    expect(states[`trade-dns-${primary}`]).toBe('On');
    expect(states['trade-gate']).toBe('Off');
    expect(states['trade-generator']).toBe('Off');
  });

  test('the same states in one call are refused by the gating rule (why there are three steps)', async () => {
    const controls = await freshCluster(names, primary);
    const everything = names.routingControls.map((c) => ({
      control: c.name,
      state: initialControlState(c, primary),
    }));
    await expect(controls.set(everything)).rejects.toBeInstanceOf(SafetyRuleViolation);
  });

  test('step 1 opens every gate and sets every app’s dns controls; step 2 only queue/app; step 3 closes gates', () => {
    const [first, second, third] = initialRoutingBatches(names, primary);
    const scopes = (batch: typeof first) =>
      new Set(batch.updates.map((u) => names.routingControls.find((c) => c.name === u.control)?.scope));
    expect(scopes(first)).toEqual(new Set(['dns', 'gate', 'generator']));
    expect(first.updates.filter((u) => u.control.endsWith('-gate')).every((u) => u.state === 'On')).toBe(true);
    expect(scopes(second)).toEqual(new Set(['queue', 'app']));
    expect(third.updates).toEqual([
      { control: 'trade-gate', state: 'Off' },
      { control: 'settlement-gate', state: 'Off' },
    ]);
  });
});

/** An endpoint that records the Authorization header of each request and answers with `status`. */
async function recordingEndpoint(status: number): Promise<{ url: string; scopes: string[] }> {
  const scopes: string[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const scope = /Credential=[^/]+\/\d+\/([^/]+)\/([^/]+)\//.exec(req.headers.authorization ?? '');
    scopes.push(scope ? `${scope[1]}/${scope[2]}` : 'unsigned');
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        status === 200
          ? JSON.stringify({
              RoutingControlArn: 'arn:x',
              RoutingControlName: 'trade-dns-us-east-1',
              RoutingControlState: 'On',
            })
          : JSON.stringify({ __type: 'InternalServerException', message: 'sick' }),
      );
    });
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
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, scopes };
}

describe('per-endpoint signing region', () => {
  const names = namesFor(['us-east-1', 'us-west-2']);

  test('each cluster endpoint is signed for its own region; plain URLs for the default region', async () => {
    const sick = await recordingEndpoint(500);
    const west = await recordingEndpoint(200);
    const plain = await recordingEndpoint(500);
    const controls = new ArcRoutingControls({
      endpoints: [plain.url, { url: sick.url, region: 'ap-southeast-2' }, { url: west.url, region: 'us-west-2' }],
      region: 'eu-west-1',
      names,
      credentials,
    });
    cleanups.push(() => controls.close());
    await expect(controls.get('trade-dns-us-east-1')).resolves.toMatchObject({ state: 'On' });
    expect(plain.scopes).toEqual(['eu-west-1/route53-recovery-cluster']);
    expect(sick.scopes).toEqual(['ap-southeast-2/route53-recovery-cluster']);
    expect(west.scopes).toEqual(['us-west-2/route53-recovery-cluster']);
    expect(controls.signedEndpoints.map((e) => e.region)).toEqual(['eu-west-1', 'ap-southeast-2', 'us-west-2']);
  });

  test('a plain URL without a default region is a usage error', () => {
    expect(() => new ArcRoutingControls({ endpoints: ['https://a.example/v1'], names })).toThrow(UserError);
  });

  test('the AWS platform signs each recorded ARC endpoint for its region', async () => {
    const config = loadConfig({ environment: 'test', regions: ['us-east-1', 'us-west-2'], target: 'aws' }, {}, tmp);
    const platform = new AwsPlatform(config, {
      env: {},
      record: {
        version: 1,
        environment: 'test',
        regions: config.regions,
        stacks: {},
        updatedAt: '2026-01-01T00:00:00.000Z',
        global: {
          arcEndpoints: [
            { region: 'ap-northeast-1', url: 'https://a.example/v1' },
            { region: 'eu-west-1', url: 'https://b.example/v1' },
            { region: '', url: 'https://c.example/v1' },
          ],
          routingControlArns: {},
          safetyRuleArns: {},
        },
      },
    });
    try {
      expect((platform.routingControls() as ArcRoutingControls).signedEndpoints).toEqual([
        { region: 'ap-northeast-1', url: 'https://a.example/v1' },
        { region: 'eu-west-1', url: 'https://b.example/v1' },
        { region: 'us-east-1', url: 'https://c.example/v1' },
      ]);
    } finally {
      await platform.close();
    }
  });
});
