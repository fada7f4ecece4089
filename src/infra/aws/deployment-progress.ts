/**
 * The state of one AWS deployment run: each stack's result so far, the deployment record (written after every
 * stack, so a re-run continues where this one stopped), the outputs read back, and what the regional stacks saw of
 * the other regions' brokers when they were applied.
 */
import type { TsrConfig } from '../../config/model.js';
import type { CallerIdentity } from './credentials.js';
import type {
  AwsDeploymentOptions,
  AwsDeploymentResult,
  RoutingControlsOutcome,
  StackRunResult,
} from './deployment-result.js';
import {
  type AwsDeploymentRecord,
  type DeployedGlobal,
  type DeployedRegion,
  type StackStatus,
  writeDeploymentRecord,
} from './deployment-record.js';
import { awsNames } from './naming.js';
import { logFileOf, staleBrokerRegions } from './stack-plan.js';
import type { SynthesizedStack } from './synth.js';
import type { TerraformBinary } from './terraform.js';

/** What the run was given and found before the first stack: fixed for the whole run. */
export interface RunSetup {
  readonly config: TsrConfig;
  readonly options: AwsDeploymentOptions;
  readonly env: NodeJS.ProcessEnv;
  readonly identity: CallerIdentity;
  readonly binary: TerraformBinary;
  readonly outDir: string;
  readonly recordFile: string;
  readonly started: number;
  /** The stacks in the order they run. */
  readonly ordered: readonly SynthesizedStack[];
}

export class DeploymentProgress {
  readonly results: Map<string, StackRunResult>;
  record: AwsDeploymentRecord;
  globalOutputs: DeployedGlobal | undefined;
  routingControls: RoutingControlsOutcome | undefined;
  /** Per regional stack: the other regions' broker endpoints when it was applied in this run. */
  private readonly seenBrokers = new Map<string, Map<string, string | undefined>>();
  private readonly names;

  constructor(
    readonly setup: RunSetup,
    previous: AwsDeploymentRecord | undefined,
  ) {
    const { config, options, identity, ordered } = setup;
    this.names = awsNames(config);
    this.results = new Map(
      ordered.map((stack) => [
        stack.id,
        {
          stack: stack.id,
          kind: stack.kind,
          region: stack.region,
          dir: stack.dir,
          status: 'not-run',
          logFile: logFileOf(stack, options.mode),
        },
      ]),
    );
    this.record = previous ?? {
      version: 1,
      environment: config.environment,
      regions: config.regions,
      account: identity.account,
      stacks: {},
      updatedAt: new Date().toISOString(),
    };
    this.globalOutputs = previous?.global;
    if (previous?.routingControls && previous.routingControls.status !== 'initializing') {
      this.routingControls = { action: 'unchanged', since: previous.routingControls.at };
    } else if (options.mode === 'plan') {
      this.routingControls = { action: 'pending' };
    }
  }

  stackResult(id: string): StackRunResult {
    return this.results.get(id) as StackRunResult;
  }

  setStackResult(id: string, result: StackRunResult): void {
    this.results.set(id, result);
  }

  saveRecord(record: AwsDeploymentRecord): void {
    this.record = record;
    writeDeploymentRecord(this.setup.recordFile, record);
  }

  saveStack(stack: string, status: StackStatus, global?: DeployedGlobal, region?: [string, DeployedRegion]): void {
    const record = this.record;
    this.saveRecord({
      ...record,
      account: this.setup.identity.account,
      stacks: { ...record.stacks, [stack]: { status, at: new Date().toISOString() } },
      global: global ?? record.global,
      regional: region ? { ...record.regional, [region[0]]: region[1] } : record.regional,
      updatedAt: new Date().toISOString(),
    });
  }

  /** Broker endpoints of a region as its applied regional stack published them (undefined: not applied yet). */
  brokersOf(region: string): string | undefined {
    const stack = this.names.regionalStack(region);
    return this.record.stacks[stack]?.status === 'applied'
      ? (this.record.regional?.[region]?.brokerUrls ?? []).join(',')
      : undefined;
  }

  /** Before a regional stack's first apply in this run: what it is about to see of the other regions. */
  rememberBrokersSeen(stack: SynthesizedStack): void {
    const region = stack.region as string;
    const others = this.setup.config.regions.filter((r) => r !== region);
    this.seenBrokers.set(stack.id, new Map(others.map((r) => [r, this.brokersOf(r)])));
  }

  /** The regions whose brokers changed since this stack was applied: it must be applied again. */
  needsReapply(stack: SynthesizedStack): string[] {
    return staleBrokerRegions(this.seenBrokers.get(stack.id), (region) => this.brokersOf(region));
  }

  result(): AwsDeploymentResult {
    const { config, options, identity, binary, outDir, recordFile, started, ordered } = this.setup;
    return {
      mode: options.mode,
      environment: config.environment,
      regions: config.regions,
      account: identity.account,
      callerArn: identity.arn,
      binary,
      outDir,
      recordFile,
      stacks: ordered.map((s) => this.stackResult(s.id)),
      global: this.globalOutputs,
      routingControls: options.mode === 'destroy' ? undefined : this.routingControls,
      durationMs: Date.now() - started,
    };
  }
}
