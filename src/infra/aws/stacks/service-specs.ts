import { GENERATOR_LEDGER_ENV, generatorLedgerTable } from '../../../clients/generator-ledger.js';
import { STAGES, type AppName, type StageName } from '../../../config/apps.js';
import type { ResourceNames, TsrConfig } from '../../../config/model.js';
import { servicePermissions, type PermissionContext } from '../constructs/service-permissions.js';
import type { ServiceSpec } from '../constructs/services.js';
import type { AwsNames } from '../naming.js';
import { SERVICE_ENV, SERVICE_SECRET_ENV } from '../service-environment.js';

export interface ServiceSpecInput {
  readonly config: TsrConfig;
  readonly names: ResourceNames;
  readonly aws: AwsNames;
  readonly region: string;
  /** Every region's broker URLs, `region=mqtts://host:8883,…` (a Terraform expression). */
  readonly brokerUrls: string;
  readonly arcEndpoints: string;
  readonly controlPanelArn: string;
  /** ARN of the broker credentials' secret in this region. */
  readonly brokerSecret: string;
  /** ARN of an app's database credentials' secret in this region. */
  readonly databaseSecret: (app: AppName) => string;
  /** The app's regional Aurora cluster (writer endpoint and port). */
  readonly database: (app: AppName) => { readonly endpoint: string; readonly port: number };
  readonly permissionContext: PermissionContext;
}

/** The generator's scratch directory (a task volume: the root filesystem is read-only); its ledger is a table. */
export const GENERATOR_WORKSPACE = '/var/tsr';

/**
 * The ECS services of one region: every stage of each app, plus the generator (no task until `tsr generator start`),
 * each with its environment, secrets and least-privilege permissions.
 */
export function regionalServiceSpecs(input: ServiceSpecInput): ServiceSpec[] {
  const { config, names, aws, region, brokerUrls, arcEndpoints, controlPanelArn } = input;
  const { brokerSecret, databaseSecret, database, permissionContext } = input;
  const common = {
    [SERVICE_ENV.target]: 'aws',
    [SERVICE_ENV.environment]: config.environment,
    [SERVICE_ENV.region]: region,
    [SERVICE_ENV.regions]: config.regions.join(','),
    [SERVICE_ENV.brokerUrls]: brokerUrls,
    [SERVICE_ENV.arcEndpoints]: arcEndpoints,
    [SERVICE_ENV.controlPanelArn]: controlPanelArn,
  };
  const brokerSecrets = {
    [SERVICE_SECRET_ENV.brokerUsername]: `${brokerSecret}:username::`,
    [SERVICE_SECRET_ENV.brokerPassword]: `${brokerSecret}:password::`,
  };
  const usesBroker = (stage: StageName) => stage === 'inbound-gateway' || stage === 'outbound-gateway';
  const specs: ServiceSpec[] = [];
  for (const app of config.apps) {
    for (const stage of STAGES) {
      const isCore = stage === 'core';
      const cluster = database(app);
      // One session per app and region on the broker: a second task with the same client id would take it over.
      const singleTask = stage === 'inbound-gateway';
      specs.push({
        name: aws.service(app, stage),
        app,
        stage,
        desiredCount: singleTask ? 1 : config.aws.tasksPerService,
        singleTask,
        cpu: 512,
        memory: 1024,
        environment: {
          ...common,
          [SERVICE_ENV.service]: `${app}/${stage}`,
          [SERVICE_ENV.app]: app,
          [SERVICE_ENV.stage]: stage,
          ...(isCore
            ? {
                [SERVICE_ENV.pgHost]: cluster.endpoint,
                [SERVICE_ENV.pgPort]: String(cluster.port),
                [SERVICE_ENV.pgDatabase]: names.databases[app],
              }
            : {}),
        },
        secrets: {
          ...(usesBroker(stage) ? brokerSecrets : {}),
          ...(isCore
            ? {
                [SERVICE_SECRET_ENV.pgUser]: `${databaseSecret(app)}:username::`,
                [SERVICE_SECRET_ENV.pgPassword]: `${databaseSecret(app)}:password::`,
              }
            : {}),
        },
        secretArns: [...(usesBroker(stage) ? [brokerSecret] : []), ...(isCore ? [databaseSecret(app)] : [])],
        permissions: servicePermissions(app, stage, permissionContext),
      });
    }
  }
  if (config.apps.includes('trade')) {
    // The generator runs only while `tsr generator start` has it run (one task, in one region); it follows its
    // routing control, polls its rate and writes its ledger in the replicated ledger table.
    specs.push({
      name: aws.service('generator'),
      app: 'generator',
      desiredCount: 0,
      cpu: 256,
      memory: 512,
      singleTask: true,
      // A writable scratch directory; the container's root filesystem is read-only.
      scratchDir: GENERATOR_WORKSPACE,
      environment: {
        ...common,
        [SERVICE_ENV.service]: 'generator',
        [SERVICE_ENV.stage]: 'generator',
        [SERVICE_ENV.workspace]: GENERATOR_WORKSPACE,
        [GENERATOR_LEDGER_ENV]: generatorLedgerTable(config.environment),
      },
      secrets: brokerSecrets,
      secretArns: [brokerSecret],
      permissions: servicePermissions('generator', undefined, permissionContext),
    });
  }
  return specs;
}
