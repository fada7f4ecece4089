import {
  DescribeServicesCommand,
  ECSClient,
  ListTasksCommand,
  StopTaskCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  FisClient,
  ListExperimentsCommand,
  ListExperimentTemplatesCommand,
  StartExperimentCommand,
  StopExperimentCommand,
} from '@aws-sdk/client-fis';
import { FailoverDBClusterCommand, RDSClient } from '@aws-sdk/client-rds';
import { STAGES, type AppName, type StageName } from '../../config/apps.js';
import type { TsrConfig } from '../../config/model.js';
import { ExitCode, UserError } from '../../errors.js';
import { partitionTemplateName } from '../../infra/aws/constructs/fault-experiments.js';
import { awsNames } from '../../infra/aws/naming.js';
import type { FaultKindName } from '../capabilities.js';
import type { ArcEndpointsDown, AwsFault } from '../faults.js';
import { ArcEndpointFault, endpointsToHold } from './arc-endpoint-fault.js';
import { toUserError } from './aws-errors.js';

export type { AwsFault };

type Clients = {
  ecs: (region: string) => ECSClient;
  rds: (region: string) => RDSClient;
  fis: (region: string) => FisClient;
  /** The ARC cluster endpoint URLs tsr's ARC client tries, in the configured order. */
  arcEndpoints: () => readonly string[];
};

/** FIS experiment states in which an experiment still holds its fault (stopping it undoes it). */
const ACTIVE_EXPERIMENT = new Set(['pending', 'initiating', 'running']);

/**
 * Faults on the AWS target, through the AWS APIs (no agent in the tasks): services scaled to zero (a region, or a
 * stage of a region), one task stopped (ECS starts a replacement), and the writer of an app's database failed over
 * to a reader instance in its region (Aurora restarts the old writer as a reader). ARC endpoint loss is held in
 * tsr's own ARC client instead (arc-endpoint-fault.ts).
 */
export class AwsFaults {
  private readonly aws;
  private readonly arc: ArcEndpointFault;

  constructor(
    private readonly config: TsrConfig,
    private readonly clients: Clients,
  ) {
    this.aws = awsNames(config);
    this.arc = new ArcEndpointFault(config.workspace);
  }

  private services(region: string, app?: AppName, stage?: StageName): string[] {
    if (!this.config.regions.includes(region)) {
      throw new UserError(
        `region ${region} is not one of ${this.config.regions.join(', ')}`,
        undefined,
        ExitCode.usage,
      );
    }
    const apps = app ? [app] : this.config.apps;
    const names = apps.flatMap((a) => (stage ? [stage] : STAGES).map((s) => this.aws.service(a, s)));
    if (!app && this.config.apps.includes('trade')) names.push(this.aws.service('generator'));
    return names;
  }

  /**
   * Reads each listed service's task count (what the undo restores) without changing anything: a game day records
   * the fault with this undo before injecting it, so a crash in between still leaves the way back on record.
   */
  async prepareScale(
    kind: FaultKindName,
    region: string,
    services: string[],
    to: (desiredCount: number) => number = () => 0,
  ): Promise<AwsFault> {
    const ecs = this.clients.ecs(region);
    const restore: { service: string; desiredCount: number }[] = [];
    try {
      for (let i = 0; i < services.length; i += 10) {
        const answer = await ecs.send(
          new DescribeServicesCommand({ cluster: this.aws.ecsCluster, services: services.slice(i, i + 10) }),
        );
        for (const s of answer.services ?? [])
          restore.push({ service: s.serviceName ?? '', desiredCount: s.desiredCount ?? 0 });
      }
    } catch (error) {
      throw toUserError(error, `${kind} in ${region}`);
    }
    const scaledTo = restore.map((r) => to(r.desiredCount));
    return {
      kind,
      region,
      detail: `${restore.length} ECS service(s) scaled to ${[...new Set(scaledTo)].join('/')} task(s)`,
      restore,
      scaledTo,
    };
  }

  /** Applies a prepared fault: ARC endpoints held down, or each service to its count under the fault. */
  async inject(fault: AwsFault): Promise<void> {
    if (fault.arcHeldDown) return this.arc.hold(fault.arcHeldDown.endpoints, fault.arcHeldDown.urls);
    const ecs = this.clients.ecs(fault.region);
    try {
      for (const [i, { service }] of (fault.restore ?? []).entries()) {
        await ecs.send(
          new UpdateServiceCommand({ cluster: this.aws.ecsCluster, service, desiredCount: fault.scaledTo?.[i] ?? 0 }),
        );
      }
    } catch (error) {
      throw toUserError(error, `${fault.kind} in ${fault.region}`);
    }
  }

  /** The services a fault scales: every one of a region (region-down), or one stage of an app. */
  servicesOf(kind: 'region-down' | 'kill-stage' | 'kill-service', region: string, app?: AppName, stage?: StageName) {
    return kind === 'region-down' ? this.services(region) : this.services(region, app, stage);
  }

  private async scaleToZero(kind: FaultKindName, region: string, services: string[]): Promise<AwsFault> {
    const fault = await this.prepareScale(kind, region, services);
    await this.inject(fault);
    return fault;
  }

  /** Every ECS service of a region to zero tasks (the data stores stay: AWS offers no "region off" switch). */
  async regionDown(region: string): Promise<AwsFault> {
    return this.scaleToZero('region-down', region, this.services(region));
  }

  /** One stage of an app in a region to zero tasks. */
  async killStage(app: AppName, stage: StageName, region: string): Promise<AwsFault> {
    return this.scaleToZero('kill-stage', region, this.services(region, app, stage));
  }

  /**
   * One instance of a stage held down (kill-service with `for`): its service one task short until the undo; ECS
   * stops a task to get there. A single task cannot be held stopped otherwise: ECS replaces it.
   */
  async prepareHoldOneDown(app: AppName, stage: StageName, region: string): Promise<AwsFault> {
    return this.prepareScale('kill-service', region, this.services(region, app, stage), (n) => Math.max(0, n - 1));
  }

  /** Stops one running task of a stage; ECS starts a replacement (the crash-and-restart of one instance). */
  async killService(app: AppName, stage: StageName, region: string): Promise<AwsFault> {
    const [service] = this.services(region, app, stage);
    const ecs = this.clients.ecs(region);
    try {
      const tasks = await ecs.send(
        new ListTasksCommand({ cluster: this.aws.ecsCluster, serviceName: service, desiredStatus: 'RUNNING' }),
      );
      const task = tasks.taskArns?.[0];
      if (!task) {
        throw new UserError(`${service} has no running task in ${region} to stop`, undefined, ExitCode.unhealthy);
      }
      await ecs.send(new StopTaskCommand({ cluster: this.aws.ecsCluster, task, reason: 'tsr game day: kill-service' }));
      return { kind: 'kill-service', region, detail: `stopped ${task}` };
    } catch (error) {
      throw toUserError(error, `kill-service ${service} in ${region}`);
    }
  }

  /** The writer cluster of an app fails over to one of its reader instances, in its region. */
  async dbWriterCrash(app: AppName, writerRegion: string): Promise<AwsFault> {
    this.services(writerRegion, app, 'core');
    const cluster = this.aws.regionalCluster(app, writerRegion);
    try {
      await this.clients.rds(writerRegion).send(new FailoverDBClusterCommand({ DBClusterIdentifier: cluster }));
    } catch (error) {
      throw toUserError(error, `db-writer-crash of ${cluster}`);
    }
    return { kind: 'db-writer-crash', region: writerRegion, detail: `${cluster} failed over to a reader instance` };
  }

  /**
   * ARC endpoints lost, as tsr's ARC client on this target sees them: which ones, without changing anything yet
   * (inject writes them to the workspace, where every tsr process's client reads them at each call).
   */
  prepareArcEndpointsDown(which: ArcEndpointsDown): AwsFault {
    const urls = this.clients.arcEndpoints();
    const held = endpointsToHold(urls, which);
    const left = urls.filter((url) => !held.includes(url));
    return {
      kind: 'arc-endpoints-down',
      // ARC's cluster is global; the primary stands in for the region an AwsFault names.
      region: this.config.regions[0],
      detail:
        `tsr's ARC client holds ${held.length} of ${urls.length} cluster endpoint(s) down` +
        (left.length ? `; ${left.join(', ')} still answers` : ''),
      arcHeldDown: { endpoints: which, urls: held },
    };
  }

  /**
   * A partition: finds each region's partition template (its Name tag, `<prefix>-partition`) without changing
   * anything, so the undo — stop what those templates run — is on record before any experiment starts.
   */
  async preparePartition(): Promise<AwsFault> {
    const name = partitionTemplateName(`tsr-${this.config.environment}`);
    const experiments: { region: string; templateId: string }[] = [];
    for (const region of this.config.regions) {
      const fis = this.clients.fis(region);
      let templateId: string | undefined;
      let nextToken: string | undefined;
      try {
        do {
          const page = await fis.send(new ListExperimentTemplatesCommand({ nextToken }));
          templateId = page.experimentTemplates?.find((t) => t.tags?.Name === name)?.id;
          nextToken = page.nextToken;
        } while (!templateId && nextToken);
      } catch (error) {
        throw toUserError(error, `finding the FIS template ${name} in ${region}`);
      }
      if (!templateId) {
        throw new UserError(
          `no FIS experiment template ${name} in ${region}`,
          'deploy the stacks again (`tsr deploy --target aws`): every regional stack holds one',
          ExitCode.notDeployed,
        );
      }
      experiments.push({ region, templateId });
    }
    return {
      kind: 'partition',
      region: this.config.regions[0],
      detail: `FIS cross-Region connectivity experiments in ${experiments.map((e) => e.region).join(', ')}`,
      experiments,
    };
  }

  /** Starts a prepared partition: each region's experiment cuts its subnets from every other region. */
  async startExperiments(fault: AwsFault): Promise<void> {
    for (const { region, templateId } of fault.experiments ?? []) {
      try {
        await this.clients
          .fis(region)
          .send(new StartExperimentCommand({ experimentTemplateId: templateId, tags: { 'tsr-fault': fault.kind } }));
      } catch (error) {
        throw toUserError(error, `starting the ${fault.kind} experiment in ${region}`);
      }
    }
  }

  /** Stops every experiment of the fault's templates that still holds (a region that started none is skipped). */
  private async stopExperiments(fault: AwsFault): Promise<void> {
    for (const { region, templateId } of fault.experiments ?? []) {
      const fis = this.clients.fis(region);
      try {
        let nextToken: string | undefined;
        do {
          const page = await fis.send(new ListExperimentsCommand({ nextToken }));
          for (const experiment of page.experiments ?? []) {
            if (experiment.experimentTemplateId !== templateId || !experiment.id) continue;
            if (!ACTIVE_EXPERIMENT.has(experiment.state?.status ?? '')) continue;
            await fis.send(new StopExperimentCommand({ id: experiment.id }));
          }
          nextToken = page.nextToken;
        } while (nextToken);
      } catch (error) {
        throw toUserError(error, `stopping the ${fault.kind} experiment in ${region}`);
      }
    }
  }

  /**
   * Undoes a fault: services scaled down back to their counts, experiments stopped (FIS puts the route tables back),
   * ARC endpoints released. Others need no undo.
   */
  async undo(fault: AwsFault): Promise<void> {
    if (fault.arcHeldDown) return this.arc.release();
    if (fault.experiments) return this.stopExperiments(fault);
    if (!fault.restore) return;
    const ecs = this.clients.ecs(fault.region);
    try {
      for (const { service, desiredCount } of fault.restore) {
        await ecs.send(new UpdateServiceCommand({ cluster: this.aws.ecsCluster, service, desiredCount }));
      }
    } catch (error) {
      throw toUserError(error, `undoing ${fault.kind} in ${fault.region}`);
    }
  }
}
