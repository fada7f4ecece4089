import path from 'node:path';
import { Listr, type ListrTaskWrapper } from 'listr2';
import { deriveNames, type TsrConfig } from '../../config/model.js';
import { ExitCode, UserError } from '../../errors.js';
import { ArcRoutingControls } from '../../clients/arc-routing-controls.js';
import { checkAwsCredentials, type CallerIdentity } from './credentials.js';
import {
  deploymentRecordPath,
  parseGlobalOutputs,
  parseRegionalOutputs,
  readDeploymentRecord,
  removeDeploymentRecord,
  withDeployedArns,
  writeDeploymentRecord,
  type AwsDeploymentRecord,
  type DeployedGlobal,
  type DeployedRegion,
  type StackStatus,
} from './deployment-record.js';
import { awsNames } from './naming.js';
import { DEFAULT_OUT_DIR, synthesize, type SynthesizedStack, type SynthOptions } from './synth.js';
import { initialiseRoutingControls, type RoutingInitialisation } from './initial-routing.js';
import { findTerraform, runTerraform, type TerraformBinary } from './terraform.js';

export type AwsDeploymentMode = 'apply' | 'plan' | 'destroy';

export interface AwsDeploymentOptions extends SynthOptions {
  readonly mode: AwsDeploymentMode;
  /** Where stacks are synthesized and terraform runs (default cdktf.out). */
  readonly outDir?: string;
  readonly signal?: AbortSignal;
  /** Progress display; non-TTY output always falls back to plain lines. `silent` for --json. */
  readonly renderer?: 'default' | 'simple' | 'silent';
  /** Environment for terraform and binary lookup (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Pause between the routing-control batches of the first apply (default: the safety rules' wait period + 1 s). */
  readonly routingSettleMs?: number;
}

export interface StackRunResult {
  readonly stack: string;
  readonly kind: 'global' | 'regional';
  readonly region?: string;
  readonly dir: string;
  readonly status: 'applied' | 'planned' | 'destroyed' | 'failed' | 'not-run';
  readonly durationMs?: number;
  /** Terraform log of this stack (init + plan/apply/destroy). */
  readonly logFile: string;
  /** From the plan summary line, when terraform printed one. */
  readonly changes?: { readonly add: number; readonly change: number; readonly destroy: number };
  readonly error?: string;
  /**
   * Applied a second time in this run, after the regions applied after it: their broker endpoints (for
   * TSR_BROKER_URLS) did not exist, or changed, when it was first applied. `changes` and `durationMs` cover both.
   */
  readonly reappliedFor?: readonly string[];
}

/** What happened to the routing controls' states in this run. */
export type RoutingControlsOutcome =
  | (RoutingInitialisation & { readonly action: 'initialized' | 'adopted' })
  | { readonly action: 'unchanged'; readonly since: string }
  | { readonly action: 'pending' };

export interface AwsDeploymentResult {
  readonly mode: AwsDeploymentMode;
  readonly environment: string;
  readonly regions: readonly string[];
  readonly account: string;
  readonly callerArn: string;
  readonly binary: TerraformBinary;
  readonly outDir: string;
  /** The deployment record (regions, per-stack status, ARC outputs). */
  readonly recordFile: string;
  /** In the order they ran (destroy: reverse apply order). */
  readonly stacks: readonly StackRunResult[];
  /** After apply: the ARC cluster endpoints and ARNs from the global stack. */
  readonly global?: DeployedGlobal;
  /**
   * apply: the deploy-time states set after the first apply (`initialized`), left alone because a control was
   * already ON (`adopted`), or untouched because an earlier apply set them (`unchanged`). plan: `pending` until the
   * first apply has set them.
   */
  readonly routingControls?: RoutingControlsOutcome;
  readonly durationMs: number;
}

/** A stack failed: names it, carries the results so far (earlier stacks stay applied; a re-run continues). */
export class AwsDeploymentError extends UserError {
  constructor(
    readonly failedStack: string,
    readonly step: string,
    detail: string,
    readonly result: AwsDeploymentResult,
  ) {
    const stack = failedStack;
    const verb = result.mode === 'destroy' ? 'destroying' : result.mode === 'plan' ? 'planning' : 'applying';
    const done = result.stacks.filter((s) => s.status !== 'failed' && s.status !== 'not-run').map((s) => s.stack);
    super(
      `${verb} stack ${stack} failed (terraform ${step}):\n${detail}` +
        (done.length ? `\nAlready ${result.mode === 'destroy' ? 'destroyed' : 'done'}: ${done.join(', ')}.` : ''),
      `fix the cause (full log: ${result.stacks.find((s) => s.stack === stack)?.logFile}), then run the same ` +
        `command again: finished stacks are left as they are and the run continues from ${stack}`,
      ExitCode.failure,
    );
    this.name = 'AwsDeploymentError';
  }
}

const PLAN_SUMMARY = /Plan: (\d+) to add, (\d+) to change, (\d+) to destroy/;
const NO_CHANGES = /No changes\./;

function refuseRegionChange(record: AwsDeploymentRecord | undefined, config: TsrConfig, file: string): void {
  if (!record) return;
  const same =
    record.regions.length === config.regions.length && record.regions.every((r, i) => r === config.regions[i]);
  if (same) return;
  throw new UserError(
    `environment "${config.environment}" is deployed in ${record.regions.join(', ')}, ` +
      `but this run asks for ${config.regions.join(', ')}. Changing the regions (or their order: the first is the ` +
      'primary) of a deployed environment is not supported',
    `use --regions ${record.regions.join(',')}; to move regions, destroy first ` +
      `(\`tsr destroy --target aws --regions ${record.regions.join(',')}\`) or deploy another --env (record: ${file})`,
    ExitCode.usage,
  );
}

function chooseRenderer(requested: AwsDeploymentOptions['renderer']): 'default' | 'simple' | 'silent' {
  if (requested === 'silent') return 'silent';
  if (requested === 'simple' || !process.stdout.isTTY) return 'simple';
  return 'default';
}

/**
 * Synthesizes the stacks, checks terraform/tofu and AWS credentials, then runs each stack in dependency order
 * (global, primary region, other regions; destroy in reverse): `init -input=false`, then `plan -input=false`,
 * `apply -auto-approve -input=false` or `destroy -auto-approve -input=false` in the stack's directory.
 * Stops at the first failing stack (AwsDeploymentError names it); stacks already done stay done.
 */
export async function runAwsDeployment(config: TsrConfig, options: AwsDeploymentOptions): Promise<AwsDeploymentResult> {
  const started = Date.now();
  const env = options.env ?? process.env;
  const outDir = path.resolve(options.outDir ?? DEFAULT_OUT_DIR);
  const recordFile = deploymentRecordPath(outDir, config.environment);
  const previous = readDeploymentRecord(recordFile);
  refuseRegionChange(previous, config, recordFile);

  const aws = awsNames(config);
  const binary = findTerraform(env);
  const identity: CallerIdentity = await checkAwsCredentials(config.regions[0], config.aws.accountId);
  if (previous?.account && previous.account !== identity.account) {
    throw new UserError(
      `environment "${config.environment}" was deployed to account ${previous.account}, but the credentials are for ${identity.account}`,
      'switch to a profile of the deployed account',
      ExitCode.usage,
    );
  }

  const synth = synthesize(config, outDir, { image: options.image });
  const ordered = options.mode === 'destroy' ? [...synth.stacks].reverse() : [...synth.stacks];
  const results = new Map<string, StackRunResult>(
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
  let record: AwsDeploymentRecord = previous ?? {
    version: 1,
    environment: config.environment,
    regions: config.regions,
    account: identity.account,
    stacks: {},
    updatedAt: new Date().toISOString(),
  };
  const saveStack = (
    stack: string,
    status: StackStatus,
    global?: DeployedGlobal,
    region?: [string, DeployedRegion],
  ) => {
    record = {
      ...record,
      account: identity.account,
      stacks: { ...record.stacks, [stack]: { status, at: new Date().toISOString() } },
      global: global ?? record.global,
      regional: region ? { ...record.regional, [region[0]]: region[1] } : record.regional,
      updatedAt: new Date().toISOString(),
    };
    writeDeploymentRecord(recordFile, record);
  };
  // Record the regions before the first apply: a partial apply already created resources in them.
  if (options.mode === 'apply' && !previous) writeDeploymentRecord(recordFile, record);

  let globalOutputs: DeployedGlobal | undefined = previous?.global;
  let routingControls: RoutingControlsOutcome | undefined;
  if (previous?.routingControls && previous.routingControls.status !== 'initializing') {
    routingControls = { action: 'unchanged', since: previous.routingControls.at };
  } else if (options.mode === 'plan') {
    routingControls = { action: 'pending' };
  }
  const result = (): AwsDeploymentResult => ({
    mode: options.mode,
    environment: config.environment,
    regions: config.regions,
    account: identity.account,
    callerArn: identity.arn,
    binary,
    outDir,
    recordFile,
    stacks: ordered.map((s) => results.get(s.id) as StackRunResult),
    global: globalOutputs,
    routingControls: options.mode === 'destroy' ? undefined : routingControls,
    durationMs: Date.now() - started,
  });

  // Broker endpoints of the other regions as a regional stack saw them when applied (undefined: not applied yet).
  const brokersOf = (region: string) =>
    record.stacks[aws.regionalStack(region)]?.status === 'applied'
      ? (record.regional?.[region]?.brokerUrls ?? []).join(',')
      : undefined;
  const seenBrokers = new Map<string, Map<string, string | undefined>>();
  const needsReapply = (stack: SynthesizedStack): string[] => {
    const seen = seenBrokers.get(stack.id);
    if (!seen) return [];
    return [...seen]
      .filter(([region, before]) => brokersOf(region) !== undefined && brokersOf(region) !== before)
      .map(([region]) => region);
  };

  const runStack = async (
    stack: SynthesizedStack,
    task: ListrTaskWrapper<unknown, never, never>,
    reapplyFor?: readonly string[],
  ) => {
    const stackStarted = Date.now();
    const earlier = results.get(stack.id) as StackRunResult;
    if (options.mode === 'apply' && stack.region && !reapplyFor) {
      const region = stack.region;
      seenBrokers.set(stack.id, new Map(config.regions.filter((r) => r !== region).map((r) => [r, brokersOf(r)])));
    }
    const logFile = logFileOf(stack, options.mode);
    const steps: { name: string; args: string[] }[] = [{ name: 'init', args: ['init', '-input=false', '-no-color'] }];
    if (options.mode === 'plan') steps.push({ name: 'plan', args: ['plan', '-input=false', '-no-color'] });
    if (options.mode === 'apply')
      steps.push({ name: 'apply', args: ['apply', '-auto-approve', '-input=false', '-no-color'] });
    if (options.mode === 'destroy')
      steps.push({ name: 'destroy', args: ['destroy', '-auto-approve', '-input=false', '-no-color'] });
    let changes: StackRunResult['changes'];
    for (const step of steps) {
      task.output = `${binary.name} ${step.args.join(' ')}`;
      const outcome = await runTerraform(binary, {
        args: step.args,
        cwd: stack.dir,
        logFile,
        signal: options.signal,
        env,
        onLine: (line) => (task.output = line),
      });
      const summary = PLAN_SUMMARY.exec(outcome.stdout);
      if (summary) changes = { add: Number(summary[1]), change: Number(summary[2]), destroy: Number(summary[3]) };
      else if (NO_CHANGES.test(outcome.stdout)) changes = { add: 0, change: 0, destroy: 0 };
      if (outcome.interrupted) {
        results.set(stack.id, { ...(results.get(stack.id) as StackRunResult), status: 'failed', error: 'interrupted' });
        if (options.mode !== 'plan') saveStack(stack.id, 'failed');
        throw new UserError(
          `interrupted while running terraform ${step.name} on stack ${stack.id}`,
          'run the same command again to continue; terraform keeps the state of what it finished',
          ExitCode.interrupted,
        );
      }
      if (outcome.code !== 0) {
        results.set(stack.id, {
          ...(results.get(stack.id) as StackRunResult),
          status: 'failed',
          durationMs: Date.now() - stackStarted,
          error: outcome.tail,
        });
        if (options.mode !== 'plan') saveStack(stack.id, 'failed');
        throw new AwsDeploymentError(stack.id, step.name, outcome.tail || `exit code ${outcome.code}`, result());
      }
    }
    let regionOutputs: [string, DeployedRegion] | undefined;
    if (options.mode === 'apply') {
      // Outputs tell the AWS platform where ARC, brokers and databases are; the apply succeeded either way.
      const outputs = await runTerraform(binary, {
        args: ['output', '-json'],
        cwd: stack.dir,
        logFile,
        signal: options.signal,
        env,
      });
      if (outputs.code === 0) {
        try {
          if (stack.kind === 'global') globalOutputs = parseGlobalOutputs(outputs.stdout);
          else if (stack.region) regionOutputs = [stack.region, parseRegionalOutputs(outputs.stdout)];
        } catch {
          // unreadable outputs: keep what the record had
        }
      }
    }
    const status = options.mode === 'apply' ? 'applied' : options.mode === 'plan' ? 'planned' : ('destroyed' as const);
    const both = (a = 0, b = 0) => a + b;
    results.set(stack.id, {
      ...earlier,
      status,
      durationMs: Date.now() - stackStarted + (reapplyFor ? (earlier.durationMs ?? 0) : 0),
      changes:
        reapplyFor && earlier.changes && changes
          ? {
              add: both(earlier.changes.add, changes.add),
              change: both(earlier.changes.change, changes.change),
              destroy: both(earlier.changes.destroy, changes.destroy),
            }
          : changes,
      ...(reapplyFor ? { reappliedFor: reapplyFor } : {}),
    });
    if (status !== 'planned') {
      saveStack(stack.id, status, stack.kind === 'global' ? globalOutputs : undefined, regionOutputs);
    }
    task.title = `${stack.id}: ${status}${changes ? ` (+${changes.add} ~${changes.change} -${changes.destroy})` : ''}`;
  };

  const initialiseRouting = async (task: ListrTaskWrapper<unknown, never, never>) => {
    const deployed = globalOutputs;
    const names = withDeployedArns(deriveNames(config), { global: deployed });
    const unknown = names.routingControls.filter((c) => !deployed?.routingControlArns[c.name]).map((c) => c.name);
    if (!deployed?.arcEndpoints.length || unknown.length) {
      throw new UserError(
        'the stacks are applied, but the global stack outputs lack ' +
          (deployed?.arcEndpoints.length ? `the ARNs of ${unknown.join(', ')}` : 'the ARC cluster endpoints') +
          ', so the routing controls (created OFF) could not be set to their deploy-time states',
        `run the same command again; check \`terraform output\` in ${synth.stacks[0].dir}`,
      );
    }
    const primary = config.regions[0];
    const controls = new ArcRoutingControls({
      endpoints: deployed.arcEndpoints.map((e) => ({ url: e.url, region: e.region || primary })),
      names,
    });
    try {
      const outcome = await initialiseRoutingControls(controls, names, primary, {
        settleMs: options.routingSettleMs,
        resume: record.routingControls?.status === 'initializing',
        onStart: () => {
          record = { ...record, routingControls: { status: 'initializing', at: new Date().toISOString() } };
          writeDeploymentRecord(recordFile, record);
        },
        onBatch: (batch, index) => (task.output = `step ${index + 1}: ${batch.purpose}`),
      });
      record = {
        ...record,
        routingControls: { status: outcome.action, at: new Date().toISOString() },
        updatedAt: new Date().toISOString(),
      };
      writeDeploymentRecord(recordFile, record);
      routingControls = outcome;
      task.title =
        outcome.action === 'initialized'
          ? `Routing controls set: ${primary} ON, other regions, gates and generator OFF`
          : 'Routing controls left as they are: some were already ON (set outside this deployment record)';
    } finally {
      await controls.close();
    }
  };

  const verb = { apply: 'Apply', plan: 'Plan', destroy: 'Destroy' }[options.mode];
  type Task = {
    title: string;
    task: (ctx: unknown, task: ListrTaskWrapper<unknown, never, never>) => Promise<void>;
    skip?: () => boolean | string;
  };
  const taskList: Task[] = ordered.map((stack) => ({
    title: `${verb} ${stack.id}${stack.region ? '' : ' (ARC, global tables, global databases)'}`,
    task: (_ctx, task) => runStack(stack, task),
  }));
  if (options.mode === 'apply') {
    // Earlier regions were applied before later regions' brokers existed: apply them again for TSR_BROKER_URLS.
    for (const stack of ordered.filter((s) => s.kind === 'regional')) {
      taskList.push({
        title: `Apply ${stack.id} again with the other regions' broker endpoints`,
        skip: () => (needsReapply(stack).length === 0 ? 'other regions’ broker endpoints unchanged' : false),
        task: (_ctx, task) => runStack(stack, task, needsReapply(stack)),
      });
    }
    taskList.push({
      title: 'Set the routing controls to their deploy-time states (first apply only)',
      skip: () =>
        record.routingControls && record.routingControls.status !== 'initializing'
          ? `routing controls already set (${record.routingControls.status} ${record.routingControls.at})`
          : false,
      task: (_ctx, task) => initialiseRouting(task),
    });
  }
  const tasks = new Listr(taskList, {
    concurrent: false,
    exitOnError: true,
    renderer: chooseRenderer(options.renderer),
    fallbackRenderer: 'simple',
    rendererOptions: { collapseErrors: false },
  });
  await tasks.run();

  if (options.mode === 'destroy') removeDeploymentRecord(recordFile);
  return result();
}

function logFileOf(stack: SynthesizedStack, mode: AwsDeploymentMode): string {
  return path.join(stack.dir, `tsr-${mode}.log`);
}
