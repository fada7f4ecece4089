/**
 * An estimate of the monthly cost of a synthesized AWS deployment, before anything is applied: the always-on parts
 * (ARC cluster, brokers, database instances, NAT gateways, interface endpoints, stream shards, Fargate tasks, keys,
 * secrets, alarms, health checks) counted from the Terraform JSON and priced from PRICES below. Usage-priced parts
 * (DynamoDB requests, data transfer, storage, Kinesis PUTs) depend on load and are left out, and said so.
 */
import { readStackJson, type SynthResult } from './synth.js';

/**
 * On-demand list prices in USD, us-east-1, as remembered for this date. PRICE_CHECKS says which were checked since,
 * where and when; the others are still from memory: treat the total as an order of magnitude and check the pricing
 * pages (or the AWS Pricing Calculator) before relying on it. FIS experiment templates cost nothing until an
 * experiment runs.
 */
export const PRICES_AS_OF = '2025-06-01';
const HOURS_PER_MONTH = 730;

export const PRICES = {
  /** Route 53 ARC: per cluster-hour. */
  arcClusterHour: 2.5,
  /** Amazon MQ for ActiveMQ, per broker-instance-hour (an active/standby broker runs two). */
  mqInstanceHour: { 'mq.t3.micro': 0.03, 'mq.m5.large': 0.288, 'mq.m5.xlarge': 0.576, 'mq.m5.2xlarge': 1.152 },
  /** Aurora PostgreSQL, per instance-hour (standard storage configuration). */
  auroraInstanceHour: {
    'db.t4g.medium': 0.073,
    'db.r6g.large': 0.26,
    'db.r6g.xlarge': 0.519,
    'db.r7g.large': 0.276,
    'db.r5.large': 0.29,
  },
  natGatewayHour: 0.045,
  /** Interface VPC endpoint, per endpoint per availability zone per hour. */
  interfaceEndpointAzHour: 0.01,
  /** Kinesis Data Streams, provisioned mode, per shard-hour. */
  kinesisShardHour: 0.015,
  /** Fargate, Linux/ARM64, per vCPU-hour and per GB-hour. */
  fargateArmVcpuHour: 0.03238,
  fargateArmGbHour: 0.00356,
  kmsKeyMonth: 1,
  /** Per secret per month; each replica counts as a secret. */
  secretMonth: 0.4,
  alarmMonth: 0.1,
  healthCheckMonth: 0.5,
  /** Route 53 hosted zone, per zone per month (the apps' private endpoint zone). */
  hostedZoneMonth: 0.5,
} as const;

/**
 * The prices checked against a published figure (2026-12-07, the reference search this repository's work has): each
 * matched the table, so none changed. AWS's own pricing pages held no figures in that search (only their prose), so
 * these are third-party pages quoting AWS's us-east-1 list prices. Not found anywhere there, still remembered: the
 * ARC cluster, Amazon MQ, Aurora instances, Kinesis shards, KMS keys, alarms, health checks, hosted zones.
 */
export const PRICE_CHECKS: Readonly<
  Partial<Record<keyof typeof PRICES, { readonly source: string; readonly seen: string }>>
> = {
  fargateArmVcpuHour: {
    source: 'https://www.vantage.sh/blog/fargate-pricing (Linux/ARM $0.03238)',
    seen: '2026-12-07',
  },
  fargateArmGbHour: { source: 'https://www.vantage.sh/blog/fargate-pricing (Linux/ARM $0.00356)', seen: '2026-12-07' },
  natGatewayHour: {
    source: 'https://cloudburn.io/blog/aws-nat-gateway-pricing (February 2026: $0.045/hour in US East)',
    seen: '2026-12-07',
  },
  interfaceEndpointAzHour: {
    source: 'https://egresscost.com/nat-gateway (March 2026: interface endpoint $7.20 per AZ-month = $0.01/hour)',
    seen: '2026-12-07',
  },
  secretMonth: {
    source:
      'https://hivebook.wiki/wiki/aws-secrets-manager-rotated-secrets-dynamic-db-credentials-kms ($0.40 per secret-month)',
    seen: '2026-12-07',
  },
};

export interface CostLine {
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly monthlyUsd: number;
}

export interface StackCost {
  readonly stack: string;
  readonly region: string;
  readonly lines: readonly CostLine[];
  readonly monthlyUsd: number;
}

export interface CostEstimate {
  readonly pricesAsOf: string;
  readonly currency: 'USD';
  readonly stacks: readonly StackCost[];
  readonly monthlyUsd: number;
  readonly notes: readonly string[];
}

type Block = Record<string, unknown>;
const round = (n: number) => Math.round(n * 100) / 100;

function priceOf(table: Readonly<Record<string, number>>, key: string, unknown: Set<string>): number {
  const price = table[key];
  if (price === undefined) {
    unknown.add(key);
    return 0;
  }
  return price;
}

/** Prices every synthesized stack; the global stack is billed in the primary region. */
export function estimateCost(synth: SynthResult): CostEstimate {
  const unknown = new Set<string>();
  const stacks: StackCost[] = synth.stacks.map((stack) => {
    const json = readStackJson(stack.dir);
    const all = (type: string) => Object.values((json.resource?.[type] ?? {}) as Record<string, Block>);
    const lines: CostLine[] = [];
    const add = (item: string, quantity: number, unit: string, monthly: number) => {
      if (quantity > 0) lines.push({ item, quantity, unit, monthlyUsd: round(monthly) });
    };
    const clusters = all('aws_route53recoverycontrolconfig_cluster').length;
    add('Route 53 ARC cluster', clusters, 'cluster', clusters * PRICES.arcClusterHour * HOURS_PER_MONTH);
    for (const broker of all('aws_mq_broker')) {
      const instances = broker.deployment_mode === 'ACTIVE_STANDBY_MULTI_AZ' ? 2 : 1;
      const type = String(broker.host_instance_type);
      const hourly = priceOf(PRICES.mqInstanceHour, type, unknown);
      add(`Amazon MQ ${type}`, instances, 'broker instance', instances * hourly * HOURS_PER_MONTH);
    }
    const byClass = new Map<string, number>();
    for (const instance of all('aws_rds_cluster_instance')) {
      const cls = String(instance.instance_class);
      byClass.set(cls, (byClass.get(cls) ?? 0) + 1);
    }
    for (const [cls, count] of byClass) {
      const hourly = priceOf(PRICES.auroraInstanceHour, cls, unknown);
      add(`Aurora PostgreSQL ${cls}`, count, 'instance', count * hourly * HOURS_PER_MONTH);
    }
    const nats = all('aws_nat_gateway').length;
    add('NAT gateway', nats, 'gateway', nats * PRICES.natGatewayHour * HOURS_PER_MONTH);
    const endpointAzs = all('aws_vpc_endpoint')
      .filter((e) => e.vpc_endpoint_type === 'Interface')
      .reduce((n, e) => n + ((e.subnet_ids as unknown[] | undefined)?.length ?? 1), 0);
    add(
      'Interface VPC endpoints',
      endpointAzs,
      'endpoint-AZ',
      endpointAzs * PRICES.interfaceEndpointAzHour * HOURS_PER_MONTH,
    );
    const shards = all('aws_kinesis_stream').reduce((n, s) => n + Number(s.shard_count ?? 0), 0);
    add('Kinesis shards', shards, 'shard', shards * PRICES.kinesisShardHour * HOURS_PER_MONTH);
    let vcpu = 0;
    let gb = 0;
    let tasks = 0;
    const definitions = new Map(all('aws_ecs_task_definition').map((d) => [String(d.family), d]));
    for (const service of all('aws_ecs_service')) {
      const definition = definitions.get(String(service.name));
      const count = Number(service.desired_count ?? 0);
      tasks += count;
      vcpu += (count * Number(definition?.cpu ?? 0)) / 1024;
      gb += (count * Number(definition?.memory ?? 0)) / 1024;
    }
    add(
      `Fargate ARM64 (${round(vcpu)} vCPU, ${round(gb)} GB)`,
      tasks,
      'task',
      (vcpu * PRICES.fargateArmVcpuHour + gb * PRICES.fargateArmGbHour) * HOURS_PER_MONTH,
    );
    const keys = all('aws_kms_key').length + all('aws_kms_replica_key').length;
    add('KMS keys', keys, 'key', keys * PRICES.kmsKeyMonth);
    const secrets = all('aws_secretsmanager_secret').reduce(
      (n, s) => n + 1 + ((s.replica as unknown[] | undefined)?.length ?? 0),
      0,
    );
    add('Secrets Manager secrets (with replicas)', secrets, 'secret', secrets * PRICES.secretMonth);
    const alarms = all('aws_cloudwatch_metric_alarm').length;
    add('CloudWatch alarms', alarms, 'alarm', alarms * PRICES.alarmMonth);
    const checks = all('aws_route53_health_check').length;
    add('Route 53 health checks', checks, 'check', checks * PRICES.healthCheckMonth);
    const zones = all('aws_route53_zone').length;
    if (zones) add('Route 53 hosted zones', zones, 'zone', zones * PRICES.hostedZoneMonth);
    return {
      stack: stack.id,
      region: stack.region ?? synth.regions[0],
      lines,
      monthlyUsd: round(lines.reduce((n, l) => n + l.monthlyUsd, 0)),
    };
  });
  const notes = [
    `List prices of us-east-1 on ${PRICES_AS_OF} as remembered, used for every region (most regions cost the same ` +
      `or up to about 25% more); checked since against published figures: ${Object.keys(PRICE_CHECKS).join(', ')} ` +
      '(unchanged); the rest not yet: check the AWS pricing pages before relying on them.',
    'Not included (they depend on load): DynamoDB requests and storage, Aurora storage and I/O, Kinesis PUT ' +
      'payload units, NAT and cross-region data transfer, CloudWatch logs and metrics.',
  ];
  if (unknown.size) {
    notes.push(`No price in the table for ${[...unknown].join(', ')}: counted as 0 (add it to src/infra/aws/cost.ts).`);
  }
  return {
    pricesAsOf: PRICES_AS_OF,
    currency: 'USD',
    stacks,
    monthlyUsd: round(stacks.reduce((n, s) => n + s.monthlyUsd, 0)),
    notes,
  };
}

/** The estimate as text: per region (the global stack in the primary's), then the total. */
export function renderCost(estimate: CostEstimate): string {
  const money = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  const out = [`Estimated monthly cost (list prices of ${estimate.pricesAsOf}):`];
  for (const stack of estimate.stacks) {
    out.push(`  ${stack.stack} (${stack.region})  ${money(stack.monthlyUsd)}`);
    for (const line of stack.lines) {
      out.push(
        `    ${line.item.padEnd(44)} ${String(line.quantity).padStart(4)} × ${line.unit.padEnd(16)} ${money(line.monthlyUsd).padStart(11)}`,
      );
    }
  }
  out.push(`  total  ${money(estimate.monthlyUsd)} per month`);
  for (const note of estimate.notes) out.push(`  Note: ${note}`);
  return out.join('\n');
}
