import { Flags } from '@oclif/core';
import { TsrCommand } from '../lib/base-command.js';
import { withPhaseProgress } from '../lib/phase-progress.js';
import { renderDeployment } from '../lib/render-status.js';
import type { AwsDeploymentResult } from '../infra/aws/orchestrate.js';
import { DEPLOY_PHASES, deployLocal, type LocalDeployResult } from '../infra/local/deploy.js';
import type { LocalState } from '../infra/local/state.js';
import { onInterrupt } from '../lib/interrupt.js';
import { isTsrWorkspace } from '../infra/local/workspace.js';

const PHASE_TITLES: Record<(typeof DEPLOY_PHASES)[number], string> = {
  'allocating ports': 'Ports on 127.0.0.1: each engine binds its own, the last run’s where free',
  'starting engines': 'Start PostgreSQL, Kinesis, DynamoDB and MQTT in every region, and the ARC cluster',
  'creating streams and tables': 'Create streams and tables; start the DynamoDB replication link',
  'setting up PostgreSQL replication': 'Create core databases; start logical replication from the primary',
  'applying core database schemas': 'Apply core database migrations in every region',
  'starting services': 'Start every service of both apps in every region, and the generator',
  ready: 'Platform ready',
};

/** What `tsr deploy --json` prints for the local target. */
export interface DeployOutput {
  readonly outcome: LocalDeployResult['outcome'];
  readonly durationMs: number;
  readonly workspace: string;
  readonly endpoints: LocalState['endpoints'];
  readonly processes: LocalState['processes'];
}

export default class Deploy extends TsrCommand<typeof Deploy> {
  static override summary = 'Stand up the two-region platform (local engines by default, or AWS)';
  static override description = `Target local (the default) starts, per region, PostgreSQL with logical replication from the primary, Kinesis (kinesalite) with every stream, DynamoDB (dynalite) with every table plus a replication link that makes the global tables global, an MQTT broker, and one Route 53 ARC cluster with every routing control (primary ON) and the safety rules. Everything binds 127.0.0.1 and runs detached under a control process; state and logs live in the workspace (./.tsr). Deploying again is harmless.

Target aws synthesizes the CDKTF stacks and applies them with terraform or tofu (use --plan to review first).`;
  static override examples = [
    '<%= config.bin %> deploy',
    '<%= config.bin %> deploy --regions us-east-1,us-west-2 --workspace /tmp/tsr',
    '<%= config.bin %> deploy --target aws --regions us-east-1,us-west-2 --plan',
  ];
  static override flags = {
    plan: Flags.boolean({ description: 'aws target: show the changes without applying them' }),
    image: Flags.string({
      description: 'aws target: services image for every ECS task [default: each region’s ECR repository, tag latest]',
      env: 'TSR_SERVICES_IMAGE',
    }),
    'base-port': Flags.integer({
      description: 'local target: first of a range of consecutive ports to use (default: any free ports)',
      env: 'TSR_BASE_PORT',
    }),
  };

  async run(): Promise<DeployOutput | AwsDeploymentResult> {
    const config = this.loadConfig();
    if (config.target === 'aws') {
      const { AwsDeploymentError, runAwsDeployment } = await import('../infra/aws/orchestrate.js');
      const { renderAwsDeployment, renderAwsFailure } = await import('../infra/aws/render.js');
      try {
        const result = await runAwsDeployment(config, {
          mode: this.flags.plan ? 'plan' : 'apply',
          image: this.flags.image,
          renderer: this.jsonEnabled() ? 'silent' : undefined,
        });
        if (!this.jsonEnabled()) this.log(renderAwsDeployment(result));
        return result;
      } catch (error) {
        if (error instanceof AwsDeploymentError && !this.jsonEnabled()) this.logToStderr(renderAwsFailure(error));
        throw error;
      }
    }
    const local = this.flags['base-port']
      ? { ...config, local: { ...config.local, basePort: this.flags['base-port'] } }
      : config;
    const phases = DEPLOY_PHASES.map((key) => ({ key, title: PHASE_TITLES[key] }));
    const result: LocalDeployResult = await onInterrupt((signal) =>
      withPhaseProgress(phases, (reached) => deployLocal(local, { onPhase: reached, signal }), {
        silent: this.jsonEnabled(),
      }),
    );
    if (!isTsrWorkspace(config.workspace)) {
      // stderr also with --json: a script should see it too.
      process.stderr.write(
        `Note: ${config.workspace} holds files tsr did not create, so it carries no workspace marker and ` +
          '`tsr destroy --purge` will delete nothing there; use an empty or new directory to be able to purge.\n',
      );
    }
    if (!this.jsonEnabled()) {
      if (result.outcome === 'already-running') this.log(`Already deployed in ${config.workspace}; nothing to do.`);
      this.log(this.withContext(renderDeployment(result.state, result.durationMs)));
    }
    return {
      outcome: result.outcome,
      durationMs: result.durationMs,
      workspace: config.workspace,
      endpoints: result.state.endpoints,
      processes: result.state.processes,
    };
  }
}
