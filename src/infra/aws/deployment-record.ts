import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResourceNames } from '../../config/model.js';
import { UserError } from '../../errors.js';

/** Where `tsr synth` and `tsr deploy --target aws` write the stacks unless told otherwise. */
export const DEFAULT_OUT_DIR = 'cdktf.out';

/** What the global stack's outputs tell tsr about the deployed ARC resources (real, id-based ARNs). */
export interface ArcEndpoint {
  readonly region: string;
  readonly url: string;
}

export interface DeployedRegion {
  /** `mqtts://host:8883` of the active and standby broker instance. */
  readonly brokerUrls: readonly string[];
  /** Writer endpoint of each Aurora cluster in the region, by cluster identifier. */
  readonly databaseEndpoints: Readonly<Record<string, string>>;
}

export interface DeployedGlobal {
  readonly arcClusterArn?: string;
  readonly arcEndpoints: readonly ArcEndpoint[];
  readonly controlPanelArn?: string;
  readonly routingControlArns: Readonly<Record<string, string>>;
  readonly safetyRuleArns: Readonly<Record<string, string>>;
  /** Each app's core database master secret in the primary region (a replica differs only in the region). */
  readonly databaseSecretArns?: Readonly<Record<string, string>>;
  /** The IAM policy an operator attaches to run the verdict through the RDS Data API. */
  readonly verdictReaderPolicyArn?: string;
}

export type StackStatus = 'applied' | 'failed' | 'destroyed';

/**
 * Whether tsr has set the routing controls' deploy-time states (ARC creates them OFF). `initializing`: a run
 * started and did not finish (the next apply continues); `initialized`: done; `adopted`: a control was already ON
 * when tsr first looked (set elsewhere), so tsr left them alone. Later applies never touch the states.
 */
export interface RoutingControlsRecord {
  readonly status: 'initializing' | 'initialized' | 'adopted';
  readonly at: string;
}

/**
 * The small record kept next to the out dir (`<out>.<env>.deployment.json`): which regions are deployed, how far the
 * last run got, and the global outputs the AWS platform needs. Terraform state itself stays in the stack dirs.
 */
export interface AwsDeploymentRecord {
  readonly version: 1;
  readonly environment: string;
  readonly regions: readonly string[];
  readonly account?: string;
  readonly stacks: Readonly<Record<string, { readonly status: StackStatus; readonly at: string }>>;
  readonly global?: DeployedGlobal;
  readonly regional?: Readonly<Record<string, DeployedRegion>>;
  readonly routingControls?: RoutingControlsRecord;
  readonly updatedAt: string;
}

export function deploymentRecordPath(outDir: string, environment: string): string {
  const absolute = path.resolve(outDir);
  return path.join(path.dirname(absolute), `${path.basename(absolute)}.${environment}.deployment.json`);
}

export function readDeploymentRecord(file: string): AwsDeploymentRecord | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as AwsDeploymentRecord;
    if (record.version !== 1 || !Array.isArray(record.regions)) throw new Error('unknown format');
    return record;
  } catch (error) {
    throw new UserError(
      `the AWS deployment record ${file} is unreadable: ${(error as Error).message}`,
      'restore it from the last deploy, or delete it if nothing is deployed',
    );
  }
}

export function writeDeploymentRecord(file: string, record: AwsDeploymentRecord): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(temporary, file);
}

export function removeDeploymentRecord(file: string): void {
  rmSync(file, { force: true });
}

/** Reads the global stack's `terraform output -json` into what tsr keeps. */
export function parseGlobalOutputs(json: string): DeployedGlobal {
  const outputs = JSON.parse(json || '{}') as Record<string, { value?: unknown }>;
  const value = <T>(name: string): T | undefined => outputs[name]?.value as T | undefined;
  const endpoints = value<string>('arc_cluster_endpoints');
  return {
    arcClusterArn: value<string>('arc_cluster_arn'),
    arcEndpoints: parseArcEndpoints(endpoints ?? ''),
    controlPanelArn: value<string>('control_panel_arn'),
    routingControlArns: value<Record<string, string>>('routing_control_arns') ?? {},
    safetyRuleArns: value<Record<string, string>>('safety_rule_arns') ?? {},
    databaseSecretArns: value<Record<string, string>>('database_secret_arns'),
    verdictReaderPolicyArn: value<string>('verdict_reader_policy_arn'),
  };
}

/** Parses `region=url,region=url` (the global stack output and the services' TSR_ARC_ENDPOINTS). */
export function parseArcEndpoints(value: string): ArcEndpoint[] {
  return value
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf('=');
      const region = at > 0 ? pair.slice(0, at) : '';
      const url = at > 0 ? pair.slice(at + 1) : pair;
      return { region, url: url.startsWith('https://') ? url : `https://${url}` };
    });
}

/** Reads a regional stack's `terraform output -json`. */
export function parseRegionalOutputs(json: string): DeployedRegion {
  const outputs = JSON.parse(json || '{}') as Record<string, { value?: unknown }>;
  const brokers = (outputs.broker_endpoints?.value as string | undefined) ?? '';
  return {
    brokerUrls: brokers
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean),
    databaseEndpoints: (outputs.database_endpoints?.value as Record<string, string> | undefined) ?? {},
  };
}

/** deriveNames() with the real (id-based) ARNs ARC assigned, as recorded from the global stack's outputs. */
export function withDeployedArns(
  names: ResourceNames,
  record: Pick<AwsDeploymentRecord, 'global'> | undefined,
): ResourceNames {
  const deployed = record?.global;
  if (!deployed) return names;
  return {
    ...names,
    controlPanelArn: deployed.controlPanelArn ?? names.controlPanelArn,
    routingControls: names.routingControls.map((c) => ({ ...c, arn: deployed.routingControlArns[c.name] ?? c.arn })),
    safetyRules: names.safetyRules.map((r) => ({ ...r, arn: deployed.safetyRuleArns[r.name] ?? r.arn })),
  };
}
