import { APP_SHORT, type AppName, type StageName } from '../../config/apps.js';
import type { TsrConfig } from '../../config/model.js';

/**
 * AWS-only names that deriveNames() does not cover (stacks, clusters, secrets, ECS services). Every name the
 * services and runbooks share (streams, tables, databases, routing controls, safety rules) comes from deriveNames().
 */
export interface AwsNames {
  readonly globalStack: string;
  regionalStack(region: string): string;
  readonly arcClusterName: string;
  /** Aurora global cluster of an app's core database. */
  globalCluster(app: AppName): string;
  /** Aurora cluster of an app's core database in one region. */
  regionalCluster(app: AppName, region: string): string;
  readonly brokerName: string;
  readonly ecsCluster: string;
  readonly ecrRepository: string;
  /** ECS service (and task family) of one stage of one app, or of the generator. */
  service(app: AppName | 'generator', stage?: StageName): string;
  readonly logGroup: string;
  readonly brokerSecret: string;
  databaseSecret(app: AppName): string;
  readonly kmsAliasGlobal: string;
  readonly kmsAliasRegional: string;
  /**
   * IAM role of an ECS service in one region. IAM names are account-wide (every other name here is per region or
   * made once), so they carry the region: the regional stacks would collide otherwise.
   */
  serviceRole(service: string, region: string, purpose: 'exec' | 'task'): string;
  /** The private hosted zone of the apps' endpoint records (`<app>.<zone>`), resolvable in every tsr VPC. */
  readonly dnsZone: string;
  /** The IAM managed policy an operator attaches to run the verdict through the RDS Data API (account-wide name). */
  readonly verdictReaderPolicy: string;
  /** The role AWS FIS assumes for this region's fault experiments (account-wide name, so region-qualified). */
  fisRole(region: string): string;
}

export const DATABASE_MASTER_USER = 'tsr_admin';
export const BROKER_USER = 'tsr';

export function awsNames(config: Pick<TsrConfig, 'environment'>): AwsNames {
  const env = config.environment;
  const prefix = `tsr-${env}`;
  return {
    globalStack: `${prefix}-global`,
    regionalStack: (region) => `${prefix}-${region}`,
    arcClusterName: prefix,
    globalCluster: (app) => `${prefix}-${APP_SHORT[app]}-core`,
    regionalCluster: (app, region) => `${prefix}-${APP_SHORT[app]}-core-${region}`,
    brokerName: `${prefix}-broker`,
    ecsCluster: prefix,
    ecrRepository: `${prefix}-services`,
    service: (app, stage) => (app === 'generator' ? `${prefix}-generator` : `${prefix}-${APP_SHORT[app]}-${stage}`),
    logGroup: `/tsr/${env}/services`,
    brokerSecret: `tsr/${env}/broker`,
    databaseSecret: (app) => `tsr/${env}/${APP_SHORT[app]}-core-db`,
    kmsAliasGlobal: `alias/${prefix}-global`,
    kmsAliasRegional: `alias/${prefix}-regional`,
    serviceRole: (service, region, purpose) => `${service}-${region}-${purpose}`,
    fisRole: (region) => `${prefix}-fis-${region}`,
    verdictReaderPolicy: `${prefix}-verdict-reader`,
    dnsZone: `${prefix}.internal`,
  };
}

/** Non-overlapping VPC CIDRs, one per region in config order, so regions can be peered later. */
export function vpcCidr(regionIndex: number): string {
  return `10.${16 + regionIndex * 4}.0.0/16`;
}

/** The ECS tasks' CPU architecture (Graviton: cheaper per vCPU) and the image platform `tsr image build` targets. */
export const TASK_ARCHITECTURE = 'ARM64';
export const IMAGE_PLATFORM = 'linux/arm64';
