/**
 * One driver per target, chosen here and nowhere else: how `tsr deploy` and `tsr destroy` do their work on it and
 * what they return for `--json`. Commands ask for the driver of the configured target and stay free of target
 * branches; a new target is one more driver.
 */
import type { Target, TsrConfig } from '../config/model.js';
import { ExitCode, UserError } from '../errors.js';
import type { AwsDeploymentResult } from '../infra/aws/orchestrate.js';
import { DEPLOY_PHASES, deployLocal, type LocalDeployResult } from '../infra/local/deploy.js';
import { destroyLocal, type LocalDestroyResult } from '../infra/local/destroy.js';
import type { LocalState } from '../infra/local/state.js';
import { checkPurgeable, HISTORY_ENTRIES, isTsrWorkspace, type PurgeResult } from '../infra/local/workspace.js';
import { confirmDestructive } from './confirm.js';
import { onInterrupt } from './interrupt.js';
import { withPhaseProgress } from './phase-progress.js';
import { renderDeployment } from './render-status.js';

/** What a driver needs from the command that runs it. */
export interface CommandIo {
  readonly json: boolean;
  log(text: string): void;
  logToStderr(text: string): void;
  /** Adds the context flags of this invocation to a suggested command line. */
  withContext(text: string): string;
}

export interface DeployRequest {
  /** aws: show the changes without applying them. */
  readonly plan?: boolean;
  /** aws: services image for every ECS task. */
  readonly image?: string;
  /** local: first of a range of consecutive ports. */
  readonly basePort?: number;
}

export interface DestroyRequest {
  readonly yes?: boolean;
  readonly confirm?: string;
  readonly purge?: boolean;
  readonly purgeHistory?: boolean;
}

/** What `tsr deploy --json` prints for the local target. */
export interface LocalDeployOutput {
  readonly target: 'local';
  readonly outcome: LocalDeployResult['outcome'];
  readonly durationMs: number;
  readonly workspace: string;
  readonly endpoints: LocalState['endpoints'];
  readonly processes: LocalState['processes'];
}

export type LocalDestroyOutput = LocalDestroyResult & { readonly target: 'local' };
export type AwsDeployOutput = AwsDeploymentResult & { readonly target: 'aws' };

/** `tsr deploy --json` and `tsr destroy --json`: one shape per target, told apart by `target`. */
export type DeployOutput = LocalDeployOutput | AwsDeployOutput;
export type DestroyOutput = LocalDestroyOutput | AwsDeployOutput;

export interface TargetDriver {
  deploy(config: TsrConfig, request: DeployRequest, io: CommandIo): Promise<DeployOutput>;
  destroy(config: TsrConfig, request: DestroyRequest, io: CommandIo): Promise<DestroyOutput>;
}

const PHASE_TITLES: Record<(typeof DEPLOY_PHASES)[number], string> = {
  'allocating ports': 'Ports on 127.0.0.1: each engine binds its own, the last run’s where free',
  'starting engines': 'Start PostgreSQL, Kinesis, DynamoDB and MQTT in every region, and the ARC cluster',
  'creating streams and tables': 'Create streams and tables; start the DynamoDB replication link',
  'setting up PostgreSQL replication': 'Create core databases; start logical replication from the primary',
  'applying core database schemas': 'Apply core database migrations in every region',
  'starting services': 'Start every service of both apps in every region, and the generator',
  ready: 'Platform ready',
};

function describePurge(purge: PurgeResult): string[] {
  const lines = [purge.deleted.length ? `Deleted: ${purge.deleted.join(', ')}.` : 'Nothing of tsr’s to delete.'];
  const history = purge.kept.filter((name) => HISTORY_ENTRIES.includes(name));
  if (history.length)
    lines.push(`Kept the drill history (${history.map((h) => `${h}/`).join(', ')}): add --purge-history.`);
  const foreign = purge.kept.filter((name) => !HISTORY_ENTRIES.includes(name));
  if (foreign.length) lines.push(`Kept what tsr did not create: ${foreign.join(', ')}.`);
  return lines;
}

const local: TargetDriver = {
  async deploy(config, request, io) {
    const withPorts = request.basePort ? { ...config, local: { ...config.local, basePort: request.basePort } } : config;
    const phases = DEPLOY_PHASES.map((key) => ({ key, title: PHASE_TITLES[key] }));
    const result: LocalDeployResult = await onInterrupt((signal) =>
      withPhaseProgress(phases, (reached) => deployLocal(withPorts, { onPhase: reached, signal }), {
        silent: io.json,
      }),
    );
    if (!isTsrWorkspace(config.workspace)) {
      // stderr also with --json: a script should see it too.
      process.stderr.write(
        `Note: ${config.workspace} holds files tsr did not create, so it carries no workspace marker and ` +
          '`tsr destroy --purge` will delete nothing there; use an empty or new directory to be able to purge.\n',
      );
    }
    if (!io.json) {
      if (result.outcome === 'already-running') io.log(`Already deployed in ${config.workspace}; nothing to do.`);
      io.log(io.withContext(renderDeployment(result.state, result.durationMs)));
    }
    return {
      target: 'local',
      outcome: result.outcome,
      durationMs: result.durationMs,
      workspace: config.workspace,
      endpoints: result.state.endpoints,
      processes: result.state.processes,
    };
  },

  async destroy(config, { purge, yes, confirm, purgeHistory }, io) {
    let purgeRefused: UserError | undefined;
    if (purge) {
      checkPurgeable(config.workspace); // refuse a foreign directory before asking anything
      const what =
        `stop the local platform and delete its data and logs in ${config.workspace}` +
        (purgeHistory ? ', drill history included' : ' (drill history kept)');
      try {
        await confirmDestructive({ typed: config.environment, given: confirm, yes, what });
      } catch (error) {
        // --yes still stops the platform (that much it confirms); the data stays.
        if (!(error instanceof UserError) || !yes) throw error;
        purgeRefused = error;
      }
    } else {
      await confirmDestructive({
        question: `Stop the local platform in ${config.workspace}?`,
        yes: yes || confirm === config.environment,
      });
    }
    const result = await destroyLocal(config, { purge: Boolean(purge && !purgeRefused), purgeHistory });
    if (result.portsStillOpen.length) {
      throw new UserError(
        `stopped ${result.stopped} processes, but ports ${result.portsStillOpen.join(', ')} still answer`,
        'find the owner with `ss -ltnp` and stop it',
        ExitCode.failure,
      );
    }
    if (purgeRefused) {
      throw new UserError(
        `stopped the platform, but kept its data: ${purgeRefused.message}`,
        `to delete it, pass --confirm ${config.environment} with --purge`,
        ExitCode.refused,
      );
    }
    if (!io.json) {
      const stopped = result.wasDeployed
        ? `Stopped ${result.stopped} processes in ${(result.durationMs / 1000).toFixed(1)} s; nothing left running.`
        : `Nothing was running in ${config.workspace}.`;
      io.log([stopped, ...(result.purge ? describePurge(result.purge) : [])].join('\n'));
    }
    return { ...result, target: 'local' };
  },
};

/** Runs the AWS stacks in one mode, rendering the result (or the failed stack) unless --json. */
async function runAws(
  config: TsrConfig,
  mode: 'apply' | 'plan' | 'destroy',
  image: string | undefined,
  io: CommandIo,
): Promise<AwsDeployOutput> {
  // Loaded only for the AWS target: CDKTF and the SDK clients cost a local command startup time.
  const { AwsDeploymentError, runAwsDeployment } = await import('../infra/aws/orchestrate.js');
  const { renderAwsDeployment, renderAwsFailure } = await import('../infra/aws/render.js');
  try {
    const result = await runAwsDeployment(config, { mode, image, renderer: io.json ? 'silent' : undefined });
    if (!io.json) io.log(renderAwsDeployment(result));
    return { ...result, target: 'aws' };
  } catch (error) {
    if (error instanceof AwsDeploymentError && !io.json) io.logToStderr(renderAwsFailure(error));
    throw error;
  }
}

const aws: TargetDriver = {
  deploy: (config, request, io) => runAws(config, request.plan ? 'plan' : 'apply', request.image, io),
  async destroy(config, request, io) {
    await confirmDestructive({
      typed: config.environment,
      given: request.confirm,
      what: `destroy every AWS stack of "${config.environment}"`,
    });
    return runAws(config, 'destroy', undefined, io);
  },
};

const DRIVERS: Readonly<Record<Target, TargetDriver>> = { local, aws };

/** The driver of a target. */
export function targetDriver(target: Target): TargetDriver {
  return DRIVERS[target];
}
