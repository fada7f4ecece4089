import { DescribeServicesCommand, type ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { GeneratorLedgerTable } from '../../clients/generator-ledger.js';
import type { RoutingControls } from '../../clients/types.js';
import type { TsrConfig } from '../../config/model.js';
import { ExitCode, UserError } from '../../errors.js';
import { awsNames } from '../../infra/aws/naming.js';
import type { GeneratorDriver, GeneratorSettings, GeneratorStatus } from '../generator-types.js';
import { toUserError } from './aws-errors.js';

const CONTROL = 'trade-generator';

export interface AwsGeneratorDeps {
  readonly config: TsrConfig;
  readonly ecs: (region: string) => ECSClient;
  readonly controls: () => RoutingControls;
  /** The ledger table, read and written in one region (any replica holds the same). */
  readonly table: GeneratorLedgerTable;
  /** A status the task wrote longer ago than this is stale: its task is not running (default 15 s). */
  readonly freshMs?: number;
  /** How often a stop looks whether the task has seen its control OFF before its service goes to 0 (1 s). */
  readonly pollMs?: number;
}

/**
 * The generator on AWS: one ECS task (`tsr-<env>-generator`), run while started, in the first region (config
 * order) where trade is not active — so losing the active region leaves the load running — and driven through
 * its routing control, its service's desired count, and the ledger table: `tsr generator rate` writes the settings
 * item the task polls (no redeploy), and the task writes its status there every few seconds.
 */
export class AwsGenerator implements GeneratorDriver {
  /** A task takes up to a few minutes to be placed, pull the image and connect. */
  readonly settleMs = 180_000;
  private readonly service: string;
  private readonly cluster: string;

  constructor(private readonly deps: AwsGeneratorDeps) {
    const aws = awsNames(deps.config);
    this.service = aws.service('generator');
    this.cluster = aws.ecsCluster;
  }

  async configure(settings: GeneratorSettings): Promise<GeneratorStatus> {
    if (settings.rate !== undefined) {
      try {
        await this.deps.table.putSettings(settings.rate);
      } catch (error) {
        throw toUserError(error, `setting the generator rate in ${this.deps.table.table}`);
      }
    }
    return this.status();
  }

  async status(): Promise<GeneratorStatus> {
    let reported: { status: GeneratorStatus; at: number } | undefined;
    let settings: Awaited<ReturnType<GeneratorLedgerTable['settings']>>;
    try {
      [reported, settings] = await Promise.all([this.deps.table.status<GeneratorStatus>(), this.deps.table.settings()]);
    } catch (error) {
      throw toUserError(error, `reading the generator status in ${this.deps.table.table}`);
    }
    if (reported && Date.now() - reported.at <= (this.deps.freshMs ?? 15_000)) return reported.status;
    // No task reports: what it last said (counts), not generating.
    const last = reported?.status;
    return {
      runId: last?.runId ?? '',
      rate: typeof settings?.rate === 'number' ? settings.rate : (last?.rate ?? 0),
      enabled: false,
      degraded: false,
      pairsSent: last?.pairsSent ?? 0,
      messagesSent: last?.messagesSent ?? 0,
      byScenario: last?.byScenario ?? {},
      confirmations: last?.confirmations ?? {},
      ledger: last?.ledger ?? this.deps.table.table,
    };
  }

  /**
   * Where the task runs: where it already runs (a second start never adds a second generator elsewhere, even after
   * trade moved), else the first region (config order) whose trade dns control is Off, else the primary.
   */
  private async region(): Promise<string> {
    for (const region of this.deps.config.regions) {
      try {
        const answer = await this.deps
          .ecs(region)
          .send(new DescribeServicesCommand({ cluster: this.cluster, services: [this.service] }));
        if ((answer.services?.[0]?.desiredCount ?? 0) > 0) return region;
      } catch (error) {
        throw toUserError(error, `reading ${this.service} in ${region}`);
      }
    }
    const states = await this.deps.controls().list();
    const off = this.deps.config.regions.find(
      (region) => states.find((c) => c.name === `trade-dns-${region}`)?.state === 'Off',
    );
    return off ?? this.deps.config.regions[0];
  }

  private async scale(region: string, desiredCount: number): Promise<void> {
    try {
      await this.deps
        .ecs(region)
        .send(new UpdateServiceCommand({ cluster: this.cluster, service: this.service, desiredCount }));
    } catch (error) {
      throw toUserError(error, `scaling ${this.service} in ${region} to ${desiredCount}`);
    }
  }

  async enable(): Promise<void> {
    if (!this.deps.config.apps.includes('trade')) {
      throw new UserError('this environment has no trade app to generate for', undefined, ExitCode.usage);
    }
    const region = await this.region();
    await this.deps.controls().set([{ control: CONTROL, state: 'On' }]);
    await this.scale(region, 1);
  }

  /** Control OFF first; once the task says it stopped sending (or 10 s), every region's service to 0 tasks. */
  async disable(): Promise<void> {
    await this.deps.controls().set([{ control: CONTROL, state: 'Off' }]);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await this.status()).enabled) {
      await new Promise((r) => setTimeout(r, this.deps.pollMs ?? 1_000));
    }
    for (const region of this.deps.config.regions) await this.scale(region, 0);
  }
}
