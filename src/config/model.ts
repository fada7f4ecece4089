import {
  APP_SHORT,
  APPS,
  type AppName,
  ROUTING_SCOPES,
  type RoutingScope,
  STAGES,
  type StageName,
  STREAM_FED_STAGES,
} from './apps.js';

export type Target = 'local' | 'aws';

/** The validated configuration every command and service works from. */
export interface TsrConfig {
  /** Environment name: prefixes every resource so several environments can share an account. */
  readonly environment: string;
  /** Regions in order; the first is the primary (writer, active at deploy). */
  readonly regions: readonly string[];
  readonly apps: readonly AppName[];
  readonly target: Target;
  /** Where the local target keeps its state file, data and logs. */
  readonly workspace: string;
  readonly local: {
    /** How many endpoints the local ARC cluster listens on (AWS clusters have five). */
    readonly arcEndpoints: number;
    /** Added one-way delay of the DynamoDB replication link, in ms (drills raise it). */
    readonly replicationDelayMs: number;
    /** First of a consecutive range of ports for the local engines; unset: free ports chosen at deploy. */
    readonly basePort?: number;
  };
  readonly aws: {
    readonly accountId?: string;
    readonly shardsPerStream: number;
    readonly tasksPerService: number;
    readonly auroraInstanceClass: string;
    readonly brokerInstanceType: string;
    /** S3 bucket (in the primary region) for the Terraform state; unset: local state files in the out dir. */
    readonly stateBucket?: string;
    /** DynamoDB table locking that state; unset with a bucket: S3 native locking (terraform/tofu >= 1.10). */
    readonly stateLockTable?: string;
  };
}

export interface StreamName {
  readonly app: AppName;
  /** The stage that consumes this stream. */
  readonly stage: StageName;
  readonly name: string;
}

export interface TableName {
  readonly name: string;
  /** Global tables are replicated to every region; regional ones (leases) are not. */
  readonly global: boolean;
  readonly purpose: 'safe-store' | 'leases' | 'audit';
  readonly app?: AppName;
  readonly stage?: StageName;
}

export interface RoutingControlName {
  readonly name: string;
  readonly app: AppName;
  readonly scope: RoutingScope | 'gate' | 'generator';
  /** Absent for the per-app gate and the generator control. */
  readonly region?: string;
  readonly arn: string;
}

export interface SafetyRuleName {
  readonly name: string;
  readonly arn: string;
  readonly app: AppName;
  readonly kind: 'assertion' | 'gating';
  /** Assertion: the controls of which at least `minOn` must be ON. Gating: the controls that must be ON. */
  readonly assertedOrGating: readonly string[];
  /** Gating only: the controls that may change only while the gate holds. */
  readonly targets: readonly string[];
  readonly minOn: number;
}

/** Every resource name derived from the configuration, in one place. */
export interface ResourceNames {
  readonly controlPanelName: string;
  readonly controlPanelArn: string;
  readonly streams: readonly StreamName[];
  readonly tables: readonly TableName[];
  readonly databases: Readonly<Record<AppName, string>>;
  readonly topics: {
    readonly tmInTrades: string;
    readonly tmInSettlements: string;
    readonly tmOutConfirmations: string;
    readonly stInSettlements: string;
    readonly stOutRejections: string;
  };
  readonly routingControls: readonly RoutingControlName[];
  readonly safetyRules: readonly SafetyRuleName[];
}

export const LOCAL_ACCOUNT_ID = '000000000000';

/** Stream feeding `stage` of `app`. */
export function streamName(env: string, app: AppName, stage: StageName): string {
  return `${env}-${APP_SHORT[app]}-${stage}-in`;
}

export function safeStoreTable(env: string, app: AppName, stage: StageName): string {
  return `${env}-${APP_SHORT[app]}-${stage}`;
}

/** The fixed MQTT client id of an app's inbound gateway in a region: its persistent session at the broker. */
export function inboundClientId(app: AppName, region: string): string {
  return `${APP_SHORT[app]}-inbound-${region}`;
}

export function routingControlName(app: AppName, scope: RoutingScope, region: string): string {
  return `${app}-${scope}-${region}`;
}

export function deriveNames(config: Pick<TsrConfig, 'environment' | 'regions' | 'apps' | 'aws'>): ResourceNames {
  const env = config.environment;
  const account = config.aws.accountId ?? LOCAL_ACCOUNT_ID;
  const controlPanelName = `tsr-${env}`;
  const controlPanelArn = `arn:aws:route53-recovery-control::${account}:controlpanel/${controlPanelName}`;
  const controlArn = (name: string) => `${controlPanelArn}/routingcontrol/${name}`;
  const ruleArn = (name: string) => `${controlPanelArn}/safetyrule/${name}`;

  const streams: StreamName[] = [];
  const tables: TableName[] = [];
  const routingControls: RoutingControlName[] = [];
  const safetyRules: SafetyRuleName[] = [];

  for (const app of config.apps) {
    for (const stage of STREAM_FED_STAGES) streams.push({ app, stage, name: streamName(env, app, stage) });
    for (const stage of STAGES) {
      tables.push({ name: safeStoreTable(env, app, stage), global: true, purpose: 'safe-store', app, stage });
    }
    for (const scope of ROUTING_SCOPES) {
      for (const region of config.regions) {
        const name = routingControlName(app, scope, region);
        routingControls.push({ name, app, scope, region, arn: controlArn(name) });
      }
    }
    const gate = `${app}-gate`;
    routingControls.push({ name: gate, app, scope: 'gate', arn: controlArn(gate) });

    const dnsControls = config.regions.map((r) => routingControlName(app, 'dns', r));
    const assertion = `${app}-at-least-one-dns`;
    safetyRules.push({
      name: assertion,
      arn: ruleArn(assertion),
      app,
      kind: 'assertion',
      assertedOrGating: dnsControls,
      targets: [],
      minOn: 1,
    });
    const gating = `${app}-gate-queue-and-app`;
    const gated = config.regions.flatMap((r) => [
      routingControlName(app, 'queue', r),
      routingControlName(app, 'app', r),
    ]);
    safetyRules.push({
      name: gating,
      arn: ruleArn(gating),
      app,
      kind: 'gating',
      assertedOrGating: [gate],
      targets: gated,
      minOn: 1,
    });
  }
  // One global generator control: the generator only feeds trade matching.
  if (config.apps.includes('trade')) {
    routingControls.push({
      name: 'trade-generator',
      app: 'trade',
      scope: 'generator',
      arn: controlArn('trade-generator'),
    });
  }
  tables.push({ name: `${env}-leases`, global: false, purpose: 'leases' });
  tables.push({ name: `${env}-audit`, global: true, purpose: 'audit' });

  const databases = Object.fromEntries(
    APPS.map((app) => [app, `${env.replace(/-/g, '_')}_${APP_SHORT[app]}_core`]),
  ) as Record<AppName, string>;

  return {
    controlPanelName,
    controlPanelArn,
    streams,
    tables,
    databases,
    topics: {
      tmInTrades: 'tm/in/trades',
      tmInSettlements: 'tm/in/settlements',
      tmOutConfirmations: 'tm/out/confirmations',
      stInSettlements: 'st/in/settlements',
      stOutRejections: 'st/out/rejections',
    },
    routingControls,
    safetyRules,
  };
}

/** Initial routing-control state at deploy: the primary region does the work, every gate and the generator are OFF. */
export function initialControlState(control: RoutingControlName, primary: string): 'On' | 'Off' {
  if (control.scope === 'gate' || control.scope === 'generator') return 'Off';
  return control.region === primary ? 'On' : 'Off';
}
