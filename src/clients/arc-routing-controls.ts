import {
  GetRoutingControlStateCommand,
  ListRoutingControlsCommand,
  Route53RecoveryClusterClient,
  type RoutingControl,
  UpdateRoutingControlStateCommand,
  UpdateRoutingControlStatesCommand,
} from '@aws-sdk/client-route53-recovery-cluster';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ResourceNames, RoutingControlName, SafetyRuleName } from '../config/model.js';
import type { LOCAL_SIGNER } from './aws-clients.js';
import { describeError, ExitCode, UserError } from '../errors.js';
import type { RoutingControls, RoutingControlState, RoutingControlUpdate, RoutingState } from './types.js';

export interface ArcCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A cluster endpoint with the region its requests are signed for (each ARC cluster endpoint has its own). */
export interface ArcEndpointWithRegion {
  readonly url: string;
  readonly region: string;
}

export interface ArcRoutingControlsOptions {
  /**
   * Cluster endpoints; every call tries them in turn, as ARC requires. A plain URL is signed for `region`; on AWS
   * give each endpoint its own region (`{ url, region }`), since each cluster endpoint lives in a different region.
   */
  readonly endpoints: readonly (string | ArcEndpointWithRegion)[];
  /** Signing region of the endpoints given as plain URLs (locally any region; required when there are some). */
  readonly region?: string;
  readonly names: ResourceNames;
  /** Locally dummy `local`/`local`; undefined on AWS to use the default credential chain. */
  readonly credentials?: ArcCredentials;
  /** Replaces SigV4 signing (the local ARC cluster checks no signature: LOCAL_SIGNER). */
  readonly signer?: typeof LOCAL_SIGNER;
  /** Bound on one attempt against one endpoint, in ms. Default 2000. */
  readonly attemptTimeoutMs?: number;
  /**
   * Endpoints (URLs as given) to treat as unreachable: each fails at once as a refused connection, without a request,
   * and the call moves on to the next. Read at every call, so a game-day fault held by another process takes effect.
   */
  readonly heldDown?: () => ReadonlySet<string>;
}

/** How an endpoint held down by `heldDown` fails: as the network error losing it would give, and saying why. */
export const HELD_DOWN_ERROR = 'ECONNREFUSED (held down by game-day fault arc-endpoints-down)';

/** A safety rule refused the update (ARC ConflictException); nothing was changed. Exit code 5. */
export class SafetyRuleViolation extends UserError {
  constructor(
    /** Name of the rule (or its ARN when the rule is not one of ours). */
    readonly rule: string,
    /** The cluster's message; used as the message when it names the rule. */
    detail: string,
    readonly ruleArn?: string,
  ) {
    super(
      detail.includes(rule) ? detail : `refused by safety rule ${rule}: ${detail}`,
      `change these controls through a runbook (e.g. \`tsr rotate …\`), which opens the gate and checks every ` +
        `step; in an emergency, repeat the command with \`--override ${rule}\``,
      ExitCode.refused,
    );
    this.name = 'SafetyRuleViolation';
  }
}

export interface EndpointFailure {
  readonly endpoint: string;
  readonly error: string;
}

/** No cluster endpoint answered. Exit code 4. Callers polling a control keep their last known state on this. */
export class ArcUnavailableError extends UserError {
  constructor(readonly failures: readonly EndpointFailure[]) {
    super(
      `no ARC cluster endpoint answered (tried ${failures.length}: ` +
        `${failures.map((f) => `${f.endpoint} → ${f.error}`).join('; ')})`,
      failures.some((f) => f.error === HELD_DOWN_ERROR)
        ? 'a game-day fault holds ARC endpoints down: its undo, or `tsr gameday recover`, lets them answer again'
        : 'is the platform deployed and running? Check with `tsr status` (local target: `tsr deploy --target local`)',
      ExitCode.unhealthy,
    );
    this.name = 'ArcUnavailableError';
  }
}

/** Errors after which the next endpoint is tried: the endpoint did not give an authoritative answer. */
const MOVE_ON_ERRORS = new Set([
  'ThrottlingException',
  'EndpointTemporarilyUnavailableException',
  'InternalServerException',
]);
/** Authoritative ARC answers: every endpoint would say the same, so trying the next one is pointless. */
const FINAL_ERRORS = new Set([
  'ConflictException',
  'ValidationException',
  'ResourceNotFoundException',
  'AccessDeniedException',
  'ServiceLimitExceededException',
  'CredentialsProviderError',
]);

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  resourceId?: string;
  resourceType?: string;
  $metadata?: { httpStatusCode?: number };
}

function shouldMoveOn(error: SdkError): boolean {
  const name = error.name ?? '';
  if (MOVE_ON_ERRORS.has(name)) return true;
  const status = error.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  // Network errors, timeouts, aborts and answers that are not ARC's all mean "this endpoint did not answer".
  return !FINAL_ERRORS.has(name);
}

const NETWORK_CODE =
  /\b(ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE)\b/;

/** One line per failed endpoint: the network code alone, or the error name, HTTP status and message. */
function shortError(error: SdkError): string {
  const status = error.$metadata?.httpStatusCode;
  // The SDK wraps errors that are not Error instances of its realm (e.g. under a VM) into "AWS SDK error wrapper
  // for <name>: <message>", dropping their code.
  const message = (error.message ?? '').replace(/^AWS SDK error wrapper for /, '');
  const wrapped = message !== error.message;
  const code = NETWORK_CODE.exec(typeof error.code === 'string' ? error.code : message)?.[1];
  if (status === undefined && code) return code;
  const line = message.split('\n')[0].slice(0, 120);
  if (wrapped) return line;
  const base = `${error.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}`;
  return line && line !== error.name ? `${base}: ${line}` : base;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** Up to `limit` candidates close to `input`: containing it, or within a few edits. */
export function closeNames(input: string, candidates: readonly string[], limit = 4): string[] {
  const needle = input.toLowerCase();
  const threshold = Math.max(3, Math.floor(needle.length / 3));
  return candidates
    .map((candidate) => {
      const lower = candidate.toLowerCase();
      const contains = lower.includes(needle) || needle.includes(lower);
      return { candidate, score: contains ? 0 : editDistance(needle, lower) };
    })
    .filter(({ score }) => score <= threshold)
    .sort((x, y) => x.score - y.score || x.candidate.localeCompare(y.candidate))
    .slice(0, limit)
    .map(({ candidate }) => candidate);
}

/**
 * Routing controls through the ARC cluster data plane (Route53RecoveryCluster), locally or on AWS. One SDK client
 * per cluster endpoint; each call tries the endpoints in turn (starting with the one that answered last) and moves
 * on after network errors, timeouts, 5xx and throttling, but not after an authoritative answer such as a
 * safety-rule conflict.
 */
export class ArcRoutingControls implements RoutingControls {
  private readonly clients: {
    readonly endpoint: string;
    readonly region: string;
    readonly client: Route53RecoveryClusterClient;
  }[];
  private readonly names: ResourceNames;
  private readonly attemptTimeoutMs: number;
  private readonly heldDown: () => ReadonlySet<string>;
  private preferred = 0;
  private closed = false;

  constructor(opts: ArcRoutingControlsOptions) {
    if (opts.endpoints.length === 0) {
      throw new UserError(
        'no ARC cluster endpoints are configured',
        'deploy the platform first (`tsr deploy`), then check `tsr status`',
        ExitCode.notDeployed,
      );
    }
    this.names = opts.names;
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? 2000;
    this.heldDown = opts.heldDown ?? (() => new Set());
    const resolved = opts.endpoints.map((e) =>
      typeof e === 'string' ? { url: e, region: opts.region } : { url: e.url, region: e.region || opts.region },
    );
    const unsigned = resolved.filter((e) => !e.region).map((e) => e.url);
    if (unsigned.length) {
      throw new UserError(
        `no signing region for ARC cluster endpoint(s) ${unsigned.join(', ')}`,
        'give each endpoint its region (TSR_ARC_ENDPOINTS=region=url,…), or a default region',
        ExitCode.usage,
      );
    }
    this.clients = resolved.map(({ url: endpoint, region }) => ({
      endpoint,
      region: region as string,
      client: new Route53RecoveryClusterClient({
        endpoint,
        region,
        credentials: opts.credentials,
        ...(opts.signer ? { signer: opts.signer } : {}),
        // Failover across endpoints replaces the SDK's retries on one endpoint.
        maxAttempts: 1,
        // No connectionTimeout/requestTimeout here: @smithy/node-http-handler 4.14 never clears those timers, which
        // would keep a finished command alive for seconds. `call` bounds each attempt with an abort signal instead.
        requestHandler: new NodeHttpHandler({}),
      }),
    }));
  }

  /** The cluster endpoints, in the configured order (calls start with the one that answered last). */
  get endpoints(): readonly string[] {
    return this.clients.map((c) => c.endpoint);
  }

  /** The cluster endpoints with the region each is signed for, in the configured order. */
  get signedEndpoints(): readonly ArcEndpointWithRegion[] {
    return this.clients.map((c) => ({ url: c.endpoint, region: c.region }));
  }

  /** Resolves a routing control given by name or ARN; throws a UserError with close names for an unknown name. */
  resolveControl(nameOrArn: string): RoutingControlName {
    const controls = this.names.routingControls;
    const found = controls.find((c) => c.name === nameOrArn || c.arn === nameOrArn);
    if (found) return found;
    const suggestions = closeNames(
      nameOrArn,
      controls.map((c) => c.name),
    );
    throw new UserError(
      `unknown routing control "${nameOrArn}"` +
        (suggestions.length ? ` (did you mean ${suggestions.join(', ')}?)` : ''),
      '`tsr routing-control list` shows every routing control of this environment',
      ExitCode.usage,
    );
  }

  /** Resolves a safety rule given by name or ARN to its ARN; throws a UserError listing the rules otherwise. */
  resolveRule(nameOrArn: string): SafetyRuleName {
    const rules = this.names.safetyRules;
    const found = rules.find((r) => r.name === nameOrArn || r.arn === nameOrArn);
    if (found) return found;
    const suggestions = closeNames(
      nameOrArn,
      rules.map((r) => r.name),
    );
    throw new UserError(
      `unknown safety rule "${nameOrArn}"` + (suggestions.length ? ` (did you mean ${suggestions.join(', ')}?)` : ''),
      `safety rules of this environment: ${rules.map((r) => r.name).join(', ')}`,
      ExitCode.usage,
    );
  }

  async list(): Promise<RoutingControlState[]> {
    const found: RoutingControl[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call((client, abortSignal) =>
        client.send(
          new ListRoutingControlsCommand({ ControlPanelArn: this.names.controlPanelArn, NextToken: nextToken }),
          { abortSignal },
        ),
      );
      found.push(...(page.RoutingControls ?? []));
      nextToken = page.NextToken;
    } while (nextToken);

    const order = new Map(this.names.routingControls.map((c, index) => [c.arn, index]));
    return found
      .filter((c) => c.RoutingControlArn !== undefined)
      .map((c) => this.toState(c.RoutingControlArn as string, c.RoutingControlState, c.RoutingControlName))
      .sort((a, b) => (order.get(a.arn) ?? order.size) - (order.get(b.arn) ?? order.size));
  }

  async get(control: string): Promise<RoutingControlState> {
    const { arn } = this.resolveControl(control);
    const answer = await this.call((client, abortSignal) =>
      client.send(new GetRoutingControlStateCommand({ RoutingControlArn: arn }), { abortSignal }),
    );
    return this.toState(answer.RoutingControlArn ?? arn, answer.RoutingControlState, answer.RoutingControlName);
  }

  async set(updates: readonly RoutingControlUpdate[], overrideRules: readonly string[] = []): Promise<void> {
    if (updates.length === 0) return;
    const entries = new Map<string, RoutingState>();
    for (const update of updates) {
      if (update.state !== 'On' && update.state !== 'Off') {
        throw new UserError(`routing control state must be On or Off, got "${String(update.state)}"`);
      }
      const control = this.resolveControl(update.control);
      const previous = entries.get(control.arn);
      if (previous !== undefined && previous !== update.state) {
        throw new UserError(
          `routing control ${control.name} is set to both On and Off in one update`,
          'name each routing control once',
        );
      }
      entries.set(control.arn, update.state);
    }
    const overrides = [...new Set(overrideRules.map((rule) => this.resolveRule(rule).arn))];
    const safetyRulesToOverride = overrides.length > 0 ? overrides : undefined;

    if (entries.size === 1) {
      const [[arn, state]] = [...entries];
      await this.call((client, abortSignal) =>
        client.send(
          new UpdateRoutingControlStateCommand({
            RoutingControlArn: arn,
            RoutingControlState: state,
            SafetyRulesToOverride: safetyRulesToOverride,
          }),
          { abortSignal },
        ),
      );
      return;
    }
    await this.call((client, abortSignal) =>
      client.send(
        new UpdateRoutingControlStatesCommand({
          UpdateRoutingControlStateEntries: [...entries].map(([arn, state]) => ({
            RoutingControlArn: arn,
            RoutingControlState: state,
          })),
          SafetyRulesToOverride: safetyRulesToOverride,
        }),
        { abortSignal },
      ),
    );
  }

  /** Destroys every SDK client (and its sockets). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const { client } of this.clients) client.destroy();
  }

  private toState(arn: string, state: string | undefined, name: string | undefined): RoutingControlState {
    if (state !== 'On' && state !== 'Off') {
      throw new Error(`ARC cluster returned state ${String(state)} for ${arn}`);
    }
    const known = this.names.routingControls.find((c) => c.arn === arn);
    return { name: known?.name ?? name ?? arn, arn, state };
  }

  /** Runs one request against the endpoints in turn until one answers authoritatively. */
  private async call<T>(
    request: (client: Route53RecoveryClusterClient, abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    if (this.closed) throw new Error('ArcRoutingControls is closed');
    const failures: EndpointFailure[] = [];
    const count = this.clients.length;
    const held = this.heldDown();
    for (let step = 0; step < count; step++) {
      const index = (this.preferred + step) % count;
      const { endpoint, client } = this.clients[index];
      if (held.has(endpoint)) {
        failures.push({ endpoint, error: HELD_DOWN_ERROR });
        continue;
      }
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), this.attemptTimeoutMs);
      try {
        const result = await request(client, abort.signal);
        this.preferred = index;
        return result;
      } catch (error) {
        const sdkError = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as SdkError;
        if (!shouldMoveOn(sdkError)) {
          this.preferred = index;
          throw this.translate(sdkError);
        }
        failures.push({
          endpoint,
          error: abort.signal.aborted ? `no answer within ${this.attemptTimeoutMs} ms` : shortError(sdkError),
        });
      } finally {
        clearTimeout(timer);
      }
    }
    throw new ArcUnavailableError(failures);
  }

  /** Maps an authoritative ARC error to a UserError with a next step. */
  private translate(error: SdkError): Error {
    const message = error.message ?? describeError(error);
    switch (error.name) {
      case 'ConflictException': {
        const rule =
          this.names.safetyRules.find((r) => r.arn === error.resourceId || r.name === error.resourceId) ??
          this.names.safetyRules.find((r) => message.includes(r.name));
        return new SafetyRuleViolation(rule?.name ?? error.resourceId ?? 'unknown', message, rule?.arn);
      }
      case 'ResourceNotFoundException': {
        const id = error.resourceId ?? '';
        const control = this.names.routingControls.find((c) => c.arn === id);
        return new UserError(
          `${error.resourceType ?? 'resource'} ${control?.name ?? id} does not exist on the ARC cluster`,
          'the deployed control panel does not match this configuration: check --env/--regions, then `tsr status`',
          ExitCode.notDeployed,
        );
      }
      case 'ValidationException':
        return new UserError(`the ARC cluster rejected the request: ${message}`, undefined, ExitCode.usage);
      case 'AccessDeniedException':
        return new UserError(
          `access denied by the ARC cluster: ${message}`,
          'the caller needs route53-recovery-cluster:GetRoutingControlState, ListRoutingControls and ' +
            'UpdateRoutingControlState(s) on the control panel',
        );
      case 'CredentialsProviderError':
        return new UserError(
          `no AWS credentials for the ARC cluster: ${message}`,
          'configure credentials (AWS_PROFILE, environment variables or SSO login) and try again',
        );
      default:
        return new UserError(`the ARC cluster refused the request: ${shortError(error)}`);
    }
  }
}
