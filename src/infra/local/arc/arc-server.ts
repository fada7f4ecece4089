/**
 * A local Route 53 ARC cluster: the cluster data-plane API (AWS JSON 1.0, `POST /` with
 * `X-Amz-Target: ToggleCustomerAPI.<Operation>`) served on several endpoints that share one state, with safety
 * rules evaluated like ARC does and the states persisted atomically to a file. The real
 * `@aws-sdk/client-route53-recovery-cluster` talks to it through an endpoint override.
 *
 * The parts: control-store.ts (states, safety rules on each atomic batch, persistence), operations.ts (the four
 * data-plane operations), json-api.ts (the protocol and its errors), api-input.ts (input checks, error shapes).
 */
import http from 'node:http';
import { initialControlState, type ResourceNames } from '../../../config/model.js';
import { bindPort, closeServer } from '../http-server.js';
import { type ControlDefinition, RoutingControlStore } from './control-store.js';
import { handleArcRequest } from './json-api.js';
import { arcOperations } from './operations.js';
import type { SafetyRule } from './safety-rules.js';

export type ArcControlDefinition = ControlDefinition;

export interface ArcClusterOptions {
  /** Interface to bind; loopback only. Default 127.0.0.1. */
  readonly host?: string;
  /** One HTTP endpoint per port (0 = ephemeral); all endpoints share one state. */
  readonly ports: readonly number[];
  /** When `port` is taken, bind any free port instead (the one bound is reported); otherwise fail naming it. */
  readonly anyPortIfTaken?: boolean;
  /** JSON file holding the routing-control states; written atomically on every change, reloaded on start. */
  readonly statePath: string;
  readonly controlPanel: { readonly name: string; readonly arn: string };
  readonly controls: readonly ArcControlDefinition[];
  readonly safetyRules: readonly SafetyRule[];
}

export interface ArcCluster {
  /** Endpoint URLs (http://127.0.0.1:PORT), in the order of `ports`. A stopped endpoint keeps its slot. */
  readonly endpoints: readonly string[];
  /** The ports bound, in the order of `ports` (with port 0 or a fallback, the ones the kernel gave). */
  readonly ports: readonly number[];
  /** Stops one endpoint (closing its open connections), as if that cluster node were lost. Idempotent. */
  stopEndpoint(index: number): Promise<void>;
  /** Stops every endpoint. Idempotent. */
  close(): Promise<void>;
}

/**
 * The control panel, routing controls (with their deploy-time states: primary region On, gates and generator Off)
 * and safety rules of an environment, ready for `startArcCluster`.
 */
export function arcClusterDefinition(
  names: ResourceNames,
  primary: string,
): Pick<ArcClusterOptions, 'controlPanel' | 'controls' | 'safetyRules'> {
  return {
    controlPanel: { name: names.controlPanelName, arn: names.controlPanelArn },
    controls: names.routingControls.map((c) => ({
      name: c.name,
      arn: c.arn,
      initial: initialControlState(c, primary),
    })),
    safetyRules: names.safetyRules,
  };
}

function validateDefinitions(opts: ArcClusterOptions): void {
  if (opts.ports.length === 0) throw new Error('an ARC cluster needs at least one endpoint port');
  const names = new Set<string>();
  const arns = new Set<string>();
  for (const control of opts.controls) {
    if (names.has(control.name)) throw new Error(`routing control ${control.name} is defined twice`);
    if (arns.has(control.arn)) throw new Error(`routing control ARN ${control.arn} is defined twice`);
    names.add(control.name);
    arns.add(control.arn);
  }
  for (const rule of opts.safetyRules) {
    for (const control of [...rule.assertedOrGating, ...rule.targets]) {
      if (!names.has(control)) throw new Error(`safety rule ${rule.name} refers to unknown routing control ${control}`);
    }
  }
}

/**
 * Starts the cluster: one HTTP server per port on `host`, all sharing the routing-control states. Resolves once
 * every endpoint listens; rejects (and closes what it opened) if one cannot.
 */
export async function startArcCluster(opts: ArcClusterOptions): Promise<ArcCluster> {
  validateDefinitions(opts);
  const host = opts.host ?? '127.0.0.1';
  if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host)) {
    throw new Error(`the local ARC cluster binds loopback only, not ${host}`);
  }
  const store = new RoutingControlStore(opts.controlPanel.arn, opts.controls, opts.safetyRules, opts.statePath);
  const operations = arcOperations(store, opts.controlPanel);
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => handleArcRequest(req, res, operations);

  const servers: (http.Server | undefined)[] = [];
  const endpoints: string[] = [];
  const bound: number[] = [];
  try {
    for (const port of opts.ports) {
      const server = http.createServer((req, res) => {
        void handle(req, res);
      });
      server.on('clientError', (_error, socket) => socket.destroy());
      servers.push(server);
      bound.push(await bindPort(server, port, opts.anyPortIfTaken, host));
      endpoints.push(`http://${host}:${bound[bound.length - 1]}`);
    }
  } catch (error) {
    await Promise.all(servers.map((s) => (s?.listening ? closeServer(s) : Promise.resolve())));
    throw error;
  }

  const stopEndpoint = async (index: number): Promise<void> => {
    if (!Number.isInteger(index) || index < 0 || index >= servers.length) {
      throw new RangeError(`no ARC endpoint ${index} (cluster has ${servers.length})`);
    }
    const server = servers[index];
    servers[index] = undefined;
    if (server) await closeServer(server);
  };

  return {
    endpoints,
    ports: bound,
    stopEndpoint,
    close: async () => {
      await Promise.all(servers.map((_, index) => stopEndpoint(index)));
    },
  };
}
