/**
 * A local Route 53 ARC cluster: the cluster data-plane API (AWS JSON 1.0, `POST /` with
 * `X-Amz-Target: ToggleCustomerAPI.<Operation>`) served on several endpoints that share one state, with safety
 * rules evaluated like ARC does and the states persisted atomically to a file. The real
 * `@aws-sdk/client-route53-recovery-cluster` talks to it through an endpoint override.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { initialControlState, type ResourceNames } from '../../../config/model.js';
import type { RoutingState } from '../../../platform/platform.js';
import { bindPort, BodyTooLargeError, closeServer, readBody } from '../http-server.js';
import { evaluateBatch, type SafetyRule } from './safety-rules.js';

export interface ArcControlDefinition {
  readonly name: string;
  readonly arn: string;
  /** State when the state file does not know this control yet. */
  readonly initial: RoutingState;
}

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

/** The persisted shape of the state file. */
interface StateFile {
  readonly version: 1;
  readonly controlPanelArn: string;
  readonly updatedAt: string;
  readonly controls: readonly { readonly name: string; readonly arn: string; readonly state: RoutingState }[];
}

const SERVICE_TARGET = 'ToggleCustomerAPI';
const ERROR_NAMESPACE = 'com.amazonaws.route53recoverycluster';
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_LIST_RESULTS = 1000;

type ValidationReason = 'cannotParse' | 'fieldValidationFailed' | 'other' | 'unknownOperation';

/** An error the API returns to the caller in the AWS JSON 1.0 error shape. */
class ApiError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
    readonly members: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

function validation(message: string, reason: ValidationReason, field?: string): ApiError {
  return new ApiError('ValidationException', 400, message, {
    reason,
    ...(field ? { fields: [{ name: field, message }] } : {}),
  });
}

function notFound(resourceType: string, resourceId: string): ApiError {
  return new ApiError('ResourceNotFoundException', 404, `${resourceType} ${resourceId} does not exist`, {
    resourceId,
    resourceType,
  });
}

type Input = Record<string, unknown>;

function requireString(input: Input, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw validation(`${field} is required and must be a non-empty string`, 'fieldValidationFailed', field);
  }
  return value;
}

function requireState(input: Input, field: string): RoutingState {
  const value = input[field];
  if (value !== 'On' && value !== 'Off') {
    throw validation(`${field} must be On or Off`, 'fieldValidationFailed', field);
  }
  return value;
}

function optionalStringList(input: Input, field: string): string[] {
  const value = input[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw validation(`${field} must be a list of strings`, 'fieldValidationFailed', field);
  }
  return value as string[];
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64url');
}

function decodeToken(token: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { offset?: unknown };
    if (typeof parsed.offset === 'number' && Number.isInteger(parsed.offset) && parsed.offset >= 0) {
      return parsed.offset;
    }
  } catch {
    // fall through to the validation error
  }
  throw validation('NextToken is not a token this cluster issued', 'fieldValidationFailed', 'NextToken');
}

/** Account id of an ARN (arn:aws:service:region:ACCOUNT:resource), or undefined. */
function ownerOf(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account ? account : undefined;
}

function writeAtomically(file: string, content: string): void {
  const temp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    const fd = fs.openSync(temp, 'w', 0o600);
    try {
      fs.writeSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

function loadStateFile(file: string, controlPanelArn: string): Map<string, RoutingState> {
  const states = new Map<string, RoutingState>();
  if (!fs.existsSync(file)) return states;
  let parsed: StateFile;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as StateFile;
  } catch (error) {
    throw new Error(`ARC state file ${file} is not valid JSON (${(error as Error).message}); refusing to guess states`);
  }
  if (parsed.controlPanelArn !== controlPanelArn) {
    throw new Error(
      `ARC state file ${file} belongs to control panel ${String(parsed.controlPanelArn)}, not ${controlPanelArn}; ` +
        'use a separate state file per environment',
    );
  }
  for (const control of parsed.controls ?? []) {
    if (control && typeof control.arn === 'string' && (control.state === 'On' || control.state === 'Off')) {
      states.set(control.arn, control.state);
    }
  }
  return states;
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
  const panel = opts.controlPanel;
  const controls = opts.controls;
  const byArn = new Map(controls.map((c) => [c.arn, c]));
  const rulesByKey = new Map<string, SafetyRule>();
  for (const rule of opts.safetyRules) {
    rulesByKey.set(rule.arn, rule);
    rulesByKey.set(rule.name, rule);
  }

  fs.mkdirSync(path.dirname(path.resolve(opts.statePath)), { recursive: true });
  const persisted = loadStateFile(opts.statePath, panel.arn);
  // Current states by ARN. Replaced (never mutated) on a change, after the new states are on disk.
  let states = new Map<string, RoutingState>(controls.map((c) => [c.arn, persisted.get(c.arn) ?? c.initial]));

  const persist = (next: ReadonlyMap<string, RoutingState>): void => {
    const file: StateFile = {
      version: 1,
      controlPanelArn: panel.arn,
      updatedAt: new Date().toISOString(),
      controls: controls.map((c) => ({ name: c.name, arn: c.arn, state: next.get(c.arn) ?? c.initial })),
    };
    writeAtomically(opts.statePath, `${JSON.stringify(file, null, 2)}\n`);
  };
  persist(states);

  const stateOf = (arn: string): RoutingState => states.get(arn) ?? 'Off';

  const findControl = (arn: string) => {
    const control = byArn.get(arn);
    if (!control) throw notFound('RoutingControl', arn);
    return control;
  };

  /** Applies a batch atomically after the safety rules accept its result; persists before it becomes visible. */
  const applyBatch = (entries: readonly { arn: string; state: RoutingState }[], overrides: readonly string[]) => {
    const requested = new Map<string, RoutingState>();
    for (const entry of entries) {
      const control = findControl(entry.arn);
      const previous = requested.get(control.name);
      if (previous !== undefined && previous !== entry.state) {
        throw validation(
          `routing control ${control.name} appears twice in one update with different states`,
          'fieldValidationFailed',
          'UpdateRoutingControlStateEntries',
        );
      }
      requested.set(control.name, entry.state);
    }
    for (const override of overrides) {
      if (!rulesByKey.has(override)) throw notFound('SafetyRule', override);
    }
    const currentByName = new Map(controls.map((c) => [c.name, stateOf(c.arn)]));
    const changes = [...requested].map(([control, state]) => ({ control, state }));
    const evaluation = evaluateBatch(currentByName, changes, opts.safetyRules, overrides);
    if (!evaluation.ok) {
      throw new ApiError(
        'ConflictException',
        409,
        `Safety rule ${evaluation.rule.name} (${evaluation.rule.kind}) refused the update: ${evaluation.reason}. ` +
          'No routing control was changed.',
        { resourceId: evaluation.rule.arn, resourceType: 'SafetyRule' },
      );
    }
    if (evaluation.changed.length === 0) return;
    const next = new Map(states);
    for (const control of controls) {
      const state = evaluation.result.get(control.name);
      if (state) next.set(control.arn, state);
    }
    persist(next);
    states = next;
  };

  const operations: Record<string, (input: Input) => unknown> = {
    GetRoutingControlState(input) {
      const control = findControl(requireString(input, 'RoutingControlArn'));
      return {
        RoutingControlArn: control.arn,
        RoutingControlName: control.name,
        RoutingControlState: stateOf(control.arn),
      };
    },
    ListRoutingControls(input) {
      const panelFilter = input.ControlPanelArn;
      if (panelFilter !== undefined && panelFilter !== null) {
        if (typeof panelFilter !== 'string') {
          throw validation('ControlPanelArn must be a string', 'fieldValidationFailed', 'ControlPanelArn');
        }
        if (panelFilter !== panel.arn) throw notFound('ControlPanel', panelFilter);
      }
      let max = MAX_LIST_RESULTS;
      if (input.MaxResults !== undefined && input.MaxResults !== null) {
        const value = input.MaxResults;
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_LIST_RESULTS) {
          throw validation(
            `MaxResults must be an integer from 1 to ${MAX_LIST_RESULTS}`,
            'fieldValidationFailed',
            'MaxResults',
          );
        }
        max = value;
      }
      const token = input.NextToken;
      if (token !== undefined && token !== null && typeof token !== 'string') {
        throw validation('NextToken must be a string', 'fieldValidationFailed', 'NextToken');
      }
      const offset = token ? decodeToken(token) : 0;
      const page = controls.slice(offset, offset + max);
      const nextOffset = offset + page.length;
      return {
        RoutingControls: page.map((c) => ({
          ControlPanelArn: panel.arn,
          ControlPanelName: panel.name,
          RoutingControlArn: c.arn,
          RoutingControlName: c.name,
          RoutingControlState: stateOf(c.arn),
          Owner: ownerOf(c.arn),
        })),
        ...(nextOffset < controls.length ? { NextToken: encodeToken(nextOffset) } : {}),
      };
    },
    UpdateRoutingControlState(input) {
      const arn = requireString(input, 'RoutingControlArn');
      const state = requireState(input, 'RoutingControlState');
      applyBatch([{ arn, state }], optionalStringList(input, 'SafetyRulesToOverride'));
      return {};
    },
    UpdateRoutingControlStates(input) {
      const entries = input.UpdateRoutingControlStateEntries;
      if (!Array.isArray(entries) || entries.length === 0) {
        throw validation(
          'UpdateRoutingControlStateEntries must be a non-empty list',
          'fieldValidationFailed',
          'UpdateRoutingControlStateEntries',
        );
      }
      const parsed = entries.map((entry: unknown) => {
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
          throw validation(
            'each entry must be an object with RoutingControlArn and RoutingControlState',
            'fieldValidationFailed',
            'UpdateRoutingControlStateEntries',
          );
        }
        const fields = entry as Input;
        return { arn: requireString(fields, 'RoutingControlArn'), state: requireState(fields, 'RoutingControlState') };
      });
      applyBatch(parsed, optionalStringList(input, 'SafetyRulesToOverride'));
      return {};
    },
  };

  const send = (res: http.ServerResponse, status: number, body: unknown, requestId: string, errorType?: string) => {
    const payload = JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = {
      'content-type': JSON_CONTENT_TYPE,
      'content-length': Buffer.byteLength(payload),
      'x-amzn-requestid': requestId,
    };
    if (errorType) headers['x-amzn-errortype'] = errorType;
    res.writeHead(status, headers);
    res.end(payload);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    try {
      if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
        req.resume();
        throw validation(
          `${req.method} ${req.url} is not an operation; the cluster API is POST / with X-Amz-Target`,
          'unknownOperation',
        );
      }
      const body = await readBody(req, MAX_BODY_BYTES).then(
        (bytes) => bytes.toString('utf8'),
        (error: unknown) => {
          if (error instanceof BodyTooLargeError) {
            req.resume(); // drained, so the error answer is read rather than the connection reset
            throw validation(`request body exceeds ${MAX_BODY_BYTES} bytes`, 'other');
          }
          throw error;
        },
      );
      const target = req.headers['x-amz-target'];
      const [service, operationName] = typeof target === 'string' ? target.split('.', 2) : [];
      const operation =
        service === SERVICE_TARGET && operationName && Object.hasOwn(operations, operationName)
          ? operations[operationName]
          : undefined;
      if (!operation) {
        throw validation(
          `unknown operation ${String(target ?? '(no X-Amz-Target header)')}; expected ${SERVICE_TARGET}.` +
            `{${Object.keys(operations).join(',')}}`,
          'unknownOperation',
        );
      }
      let input: unknown = {};
      if (body.trim().length > 0) {
        try {
          input = JSON.parse(body);
        } catch (error) {
          throw validation(`request body is not valid JSON: ${(error as Error).message}`, 'cannotParse');
        }
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw validation('request body must be a JSON object', 'cannotParse');
      }
      send(res, 200, operation(input as Input), requestId);
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError('InternalServerException', 500, `internal error: ${(error as Error)?.message ?? error}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(
        res,
        apiError.status,
        { __type: `${ERROR_NAMESPACE}#${apiError.type}`, message: apiError.message, ...apiError.members },
        requestId,
        apiError.type,
      );
    }
  };

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
