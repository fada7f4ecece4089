import path from 'node:path';
import { STAGES, type AppName } from '../../config/apps.js';
import type { TsrConfig } from '../../config/model.js';
import type { RegionEndpoints } from '../../clients/types.js';
import { type ServiceSnapshot, SupervisedService } from './service-process.js';

export interface FleetEndpoints {
  readonly regions: Readonly<Record<string, RegionEndpoints>>;
  readonly arc: readonly string[];
  /** How a service in `from` reaches `to`'s broker (the relay a partition cuts); direct when absent. */
  readonly crossRegion?: (from: string, to: string) => string | undefined;
}

/** The services of the local platform: every stage of every app in every region, plus the generator. */
export function serviceIds(config: TsrConfig): string[] {
  const ids = config.regions.flatMap((region) =>
    config.apps.flatMap((app) => STAGES.map((stage) => `${app}/${stage}@${region}`)),
  );
  return config.apps.includes('trade') ? [...ids, 'generator'] : ids;
}

export function parseServiceId(id: string): { app?: AppName; stage: string; region?: string } {
  if (id === 'generator') return { stage: 'generator' };
  const [appStage, region] = id.split('@');
  const [app, stage] = appStage.split('/');
  return { app: app as AppName, stage, region };
}

/** Starts, watches and stops the service processes, each with the same environment contract as an ECS task. */
export class ServiceFleet {
  private readonly services: SupervisedService[];

  constructor(
    private readonly config: TsrConfig,
    private readonly endpoints: FleetEndpoints,
    private readonly workspace: string,
    private readonly passwordFile: string,
    ports: number[],
    logs: string,
    onChange: () => void,
  ) {
    this.services = serviceIds(config).map((id, i) => {
      const spec = {
        id,
        env: this.environment(id),
        log: path.join(logs, `${id.replace(/[/@]/g, '-')}.log`),
        metricsPort: ports[i],
      };
      return new SupervisedService(spec, onChange);
    });
  }

  static portsNeeded(config: TsrConfig): number {
    return serviceIds(config).length;
  }

  private environment(id: string): Record<string, string> {
    const { app, stage, region } = parseServiceId(id);
    // A region's services reach other regions' brokers across the (cuttable) link; the generator stands outside.
    const brokerFor = (r: string) =>
      (region && r !== region && this.endpoints.crossRegion?.(region, r)) || this.endpoints.regions[r].broker;
    const brokers = this.config.regions.map((r) => `${r}=${brokerFor(r)}`).join(',');
    const base: Record<string, string> = {
      TSR_TARGET: 'local',
      TSR_ENV: this.config.environment,
      TSR_REGIONS: this.config.regions.join(','),
      TSR_STAGE: stage,
      TSR_BROKER_URLS: brokers,
      TSR_ARC_ENDPOINTS: this.endpoints.arc.join(','),
      TSR_WORKER_ID: id.replace(/[/@]/g, '-'),
      TSR_WORKSPACE: this.workspace,
    };
    if (!app || !region) return { ...base, TSR_REGION: this.config.regions[0] };
    const endpoints = this.endpoints.regions[region];
    return {
      ...base,
      TSR_APP: app,
      TSR_REGION: region,
      TSR_KINESIS_ENDPOINT: endpoints.kinesis ?? '',
      TSR_DYNAMODB_ENDPOINT: endpoints.dynamodb ?? '',
      TSR_PG_HOST: endpoints.postgres.host,
      TSR_PG_PORT: String(endpoints.postgres.port),
      TSR_PG_USER: endpoints.postgres.user,
      TSR_PG_PASSWORD_FILE: this.passwordFile,
    };
  }

  async start(timeoutMs = 90_000): Promise<void> {
    for (const service of this.services) service.start();
    await Promise.all(this.services.map((s) => s.whenReady(timeoutMs)));
  }

  /** Restarts the services whose id contains `filter` (all when empty); returns their ids. */
  async restart(filter = ''): Promise<string[]> {
    const chosen = this.services.filter((s) => s.spec.id.includes(filter));
    await Promise.all(chosen.map((s) => s.restart()));
    return chosen.map((s) => s.spec.id);
  }

  /** Services whose id contains `filter`; an empty filter matches none here (faults name what they hit). */
  private matching(filter: string): SupervisedService[] {
    return filter ? this.services.filter((s) => s.spec.id.includes(filter)) : [];
  }

  /** SIGKILL to the matching services; with `hold` they stay down until `resumeHeld`. Returns their ids. */
  kill(filter: string, hold: boolean): string[] {
    const chosen = this.matching(filter);
    for (const service of chosen) service.kill(hold);
    return chosen.map((s) => s.spec.id);
  }

  /** Starts the matching services that are held down, and waits until they are ready. */
  async resumeHeld(filter: string, timeoutMs = 90_000): Promise<string[]> {
    const chosen = this.matching(filter).filter((s) => s.held);
    for (const service of chosen) service.resume();
    await Promise.all(chosen.map((s) => s.whenReady(timeoutMs)));
    return chosen.map((s) => s.spec.id);
  }

  /** Sends `signal` to the matching running services; returns the ids it reached. */
  signal(filter: string, signal: NodeJS.Signals): string[] {
    return this.matching(filter)
      .filter((s) => s.signal(signal))
      .map((s) => s.spec.id);
  }

  async stopRegion(region: string): Promise<void> {
    await Promise.all(this.services.filter((s) => s.spec.id.endsWith(`@${region}`)).map((s) => s.stop(2_000)));
  }

  /** Starts a region's services (those `which` accepts, default all) and resolves once each is ready. */
  async startRegion(region: string, which: (id: string) => boolean = () => true, timeoutMs = 90_000): Promise<void> {
    const chosen = this.services.filter((s) => s.spec.id.endsWith(`@${region}`) && which(s.spec.id));
    for (const service of chosen) service.resume();
    await Promise.all(chosen.map((s) => s.whenReady(timeoutMs)));
  }

  snapshot(): ServiceSnapshot[] {
    return this.services.map((s) => s.snapshot());
  }

  async stop(): Promise<void> {
    await Promise.all(this.services.map((s) => s.stop()));
  }
}
