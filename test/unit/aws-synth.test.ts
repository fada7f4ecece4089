import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { APPS, ROUTING_SCOPES, STAGES } from '../../src/config/apps.js';
import { loadConfig } from '../../src/config/load.js';
import { deriveNames, type ResourceNames, type TsrConfig } from '../../src/config/model.js';
import { UserError } from '../../src/errors.js';
import { ZONES } from '../../src/infra/aws/constructs/network.js';
import { vpcCidr } from '../../src/infra/aws/naming.js';
import { parseBrokerUrls } from '../../src/infra/aws/service-environment.js';
import { readStackJson, synthesize, type SynthResult } from '../../src/infra/aws/synth.js';
import { withoutInterpolations } from '../helpers/terraform-json.js';

type Block = Record<string, unknown>;
type StackJson = ReturnType<typeof readStackJson>;

interface Synthesized {
  readonly config: TsrConfig;
  readonly names: ResourceNames;
  readonly result: SynthResult;
  readonly json: Record<string, StackJson>;
  readonly dir: string;
}

function synth(regions: string[], aws: Partial<TsrConfig['aws']> = {}): Synthesized {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-synth-'));
  const loaded = loadConfig({ environment: 'test', regions, target: 'aws' }, {}, dir);
  const config = { ...loaded, aws: { ...loaded.aws, ...aws } };
  const result = synthesize(config, path.join(dir, 'cdktf.out'));
  const json = Object.fromEntries(result.stacks.map((s) => [s.id, readStackJson(s.dir)]));
  return { config, names: deriveNames(config), result, json, dir };
}

const resources = (stack: StackJson, type: string): Block[] =>
  Object.values((stack.resource?.[type] ?? {}) as Record<string, Block>);
const resourcesById = (stack: StackJson, type: string): Record<string, Block> =>
  (stack.resource?.[type] ?? {}) as Record<string, Block>;
const globalOf = (s: Synthesized) => s.json['tsr-test-global'];
const regionalOf = (s: Synthesized) =>
  s.config.regions.map((region) => ({ region, stack: s.json[`tsr-test-${region}`] }));

/** Routing-control resource ids (as referenced: `${type.id.arn}`) → control name. */
function controlIds(stack: StackJson): Map<string, string> {
  const ids = new Map<string, string>();
  for (const [id, block] of Object.entries(resourcesById(stack, 'aws_route53recoverycontrolconfig_routing_control'))) {
    ids.set(`\${aws_route53recoverycontrolconfig_routing_control.${id}.arn}`, block.name as string);
  }
  return ids;
}

describe.each([
  ['two', ['us-east-1', 'us-west-2']],
  ['three', ['us-east-1', 'us-west-2', 'eu-west-1']],
])('synth for %s regions', (_label, regions) => {
  let s: Synthesized;
  beforeAll(() => {
    s = synth(regions);
  });
  afterAll(() => rmSync(s.dir, { recursive: true, force: true }));

  test('one global stack and one stack per region, in apply order with dependencies', () => {
    expect(s.result.stacks.map((x) => x.id)).toEqual(['tsr-test-global', ...regions.map((r) => `tsr-test-${r}`)]);
    expect(s.result.stacks[1].dependsOn).toEqual(['tsr-test-global']);
    // A regional stack follows every region before it (it peers with their VPCs).
    s.result.stacks
      .slice(2)
      .forEach((stack, i) =>
        expect(stack.dependsOn).toEqual(['tsr-test-global', ...regions.slice(0, i + 1).map((r) => `tsr-test-${r}`)]),
      );
    for (const stack of s.result.stacks) expect(stack.resourceCount).toBeGreaterThan(0);
    const manifest = JSON.parse(readFileSync(path.join(s.result.outDir, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.stacks).sort()).toEqual(s.result.stacks.map((x) => x.id).sort());
  });

  test('every stream of every region exists once and is encrypted with the regional KMS key', () => {
    for (const { stack } of regionalOf(s)) {
      const streams = resources(stack, 'aws_kinesis_stream');
      expect(streams.map((x) => x.name).sort()).toEqual(s.names.streams.map((x) => x.name).sort());
      for (const stream of streams) {
        expect(stream.encryption_type).toBe('KMS');
        expect(stream.kms_key_id).toMatch(/^\$\{aws_kms_key\..+\.arn\}$/);
        expect(stream.shard_count).toBe(s.config.aws.shardsPerStream);
      }
    }
  });

  test('every global table has a KMS-encrypted, PITR replica in every other region and the time index', () => {
    const all = resources(globalOf(s), 'aws_dynamodb_table');
    // The generator's ledger is replicated like the safe stores, with its own keys (run, seq) and no time index.
    const ledger = all.find((t) => t.name === 'test-generator-ledger') as Block;
    expect(ledger).toMatchObject({
      hash_key: 'run',
      range_key: 'seq',
      stream_enabled: true,
      point_in_time_recovery: { enabled: true },
      server_side_encryption: { enabled: true },
    });
    expect((ledger.replica as Block[]).map((r) => r.region_name).sort()).toEqual(regions.slice(1).sort());
    const tables = all.filter((t) => t !== ledger);
    expect(tables.map((t) => t.name).sort()).toEqual(
      s.names.tables
        .filter((t) => t.global)
        .map((t) => t.name)
        .sort(),
    );
    for (const table of tables) {
      const replicas = table.replica as Block[];
      expect(replicas.map((r) => r.region_name).sort()).toEqual(regions.slice(1).sort());
      for (const replica of replicas) {
        expect(replica.kms_key_arn).toMatch(/^\$\{aws_kms_replica_key\./);
        expect(replica.point_in_time_recovery).toBe(true);
      }
      expect(table.server_side_encryption).toEqual({
        enabled: true,
        kms_key_arn: expect.stringMatching(/^\$\{aws_kms_key\./),
      });
      expect(table.point_in_time_recovery).toEqual({ enabled: true });
      expect(table.stream_enabled).toBe(true);
      expect(table.hash_key).toBe('id');
      expect(table.global_secondary_index).toEqual([
        expect.objectContaining({
          name: 'by-time',
          hash_key: 'timeBucket',
          range_key: 'acceptedAt',
          projection_type: 'INCLUDE',
          // What reconciliation reads from the index; never the payload (a second copy of every record).
          non_key_attributes: expect.arrayContaining([
            'kind',
            'status',
            'origin',
            'forwarded',
            'forwardedAt',
            'region',
          ]),
        }),
      ]);
    }
    for (const { stack } of regionalOf(s)) {
      const regional = resources(stack, 'aws_dynamodb_table');
      expect(regional.map((t) => t.name)).toEqual(['test-leases']);
      expect(regional[0].replica).toBeUndefined();
    }
  });

  test('exactly one routing control per app/scope/region, one gate per app and the generator control', () => {
    const controls = resources(globalOf(s), 'aws_route53recoverycontrolconfig_routing_control').map(
      (c) => c.name as string,
    );
    expect(controls).toHaveLength(APPS.length * ROUTING_SCOPES.length * regions.length + APPS.length + 1);
    for (const app of APPS) {
      for (const scope of ROUTING_SCOPES) {
        for (const region of regions) expect(controls.filter((c) => c === `${app}-${scope}-${region}`)).toHaveLength(1);
      }
      expect(controls.filter((c) => c === `${app}-gate`)).toHaveLength(1);
    }
    expect(controls.filter((c) => c === 'trade-generator')).toHaveLength(1);
    expect(resources(globalOf(s), 'aws_route53recoverycontrolconfig_cluster')).toHaveLength(1);
    expect(resources(globalOf(s), 'aws_route53recoverycontrolconfig_control_panel')).toEqual([
      expect.objectContaining({ name: 'tsr-test' }),
    ]);
  });

  test('safety rules: per app an assertion over its dns controls and a gating rule over queue/app behind the gate', () => {
    const ids = controlIds(globalOf(s));
    const rules = resources(globalOf(s), 'aws_route53recoverycontrolconfig_safety_rule');
    expect(rules).toHaveLength(APPS.length * 2);
    for (const app of APPS) {
      const assertion = rules.find((r) => r.name === `${app}-at-least-one-dns`) as Block;
      expect((assertion.asserted_controls as string[]).map((a) => ids.get(a)).sort()).toEqual(
        regions.map((r) => `${app}-dns-${r}`).sort(),
      );
      expect(assertion.rule_config).toEqual({ type: 'ATLEAST', threshold: 1, inverted: false });
      const gating = rules.find((r) => r.name === `${app}-gate-queue-and-app`) as Block;
      expect((gating.gating_controls as string[]).map((a) => ids.get(a))).toEqual([`${app}-gate`]);
      expect((gating.target_controls as string[]).map((a) => ids.get(a)).sort()).toEqual(
        regions.flatMap((r) => [`${app}-queue-${r}`, `${app}-app-${r}`]).sort(),
      );
    }
  });

  test('each app’s endpoint record is steered by ARC: weighted CNAMEs to each region’s brokers, each with its dns control’s health check', () => {
    const global = globalOf(s);
    const checkIdOf = Object.fromEntries(
      Object.entries(resourcesById(global, 'aws_route53_health_check')).map(([id, c]) => [
        (c.tags as Record<string, string>).Name,
        `\${aws_route53_health_check.${id}.id}`,
      ]),
    );
    expect((global.output as Record<string, { value: unknown }>).dns_health_check_ids.value).toEqual(
      Object.fromEntries(Object.entries(checkIdOf)),
    );
    const zoneIds = new Set<string>();
    for (const { region, stack } of regionalOf(s)) {
      const zones = resources(stack, 'aws_route53_zone');
      const associations = resources(stack, 'aws_route53_zone_association');
      if (region === regions[0]) {
        expect(zones).toHaveLength(1);
        expect(zones[0]).toMatchObject({ name: 'tsr-test.internal', force_destroy: true });
        expect(JSON.stringify(zones[0].vpc)).toContain('aws_vpc.');
        expect(associations).toHaveLength(0);
      } else {
        expect(zones).toHaveLength(0);
        expect(associations).toHaveLength(1);
        expect(String(associations[0].zone_id)).toContain('data.terraform_remote_state.region-us-east-1');
      }
      const records = resources(stack, 'aws_route53_record');
      expect(records).toHaveLength(APPS.length * 2);
      for (const app of APPS) {
        const own = records.filter((r) => r.name === `${app}.tsr-test.internal`);
        expect(own.map((r) => r.set_identifier).sort()).toEqual([`${region}-1`, `${region}-2`]);
        for (const r of own) {
          expect(r).toMatchObject({ type: 'CNAME', ttl: 5, weighted_routing_policy: { weight: 1 } });
          // The health check of this region's dns control, read from the global stack's outputs.
          expect(r.health_check_id).toContain('dns_health_check_ids');
          expect(r.health_check_id).toContain(`"${app}-dns-${region}"`);
          expect(String((r.records as string[])[0])).toContain('mqtts://');
          zoneIds.add(String(r.zone_id));
        }
      }
    }
    // One zone: its own id in the primary's stack, the primary's output (the same expression) in every other.
    expect(zoneIds.size).toBe(2);
  });

  test('a Route 53 RECOVERY_CONTROL health check on each dns control', () => {
    const ids = controlIds(globalOf(s));
    const checks = resources(globalOf(s), 'aws_route53_health_check');
    expect(checks.every((c) => c.type === 'RECOVERY_CONTROL')).toBe(true);
    expect(checks.map((c) => ids.get(c.routing_control_arn as string)).sort()).toEqual(
      APPS.flatMap((app) => regions.map((r) => `${app}-dns-${r}`)).sort(),
    );
  });

  test('no security group admits 0.0.0.0/0 (or ::/0) inbound; data ports only from tsr VPCs', () => {
    for (const { stack } of regionalOf(s)) {
      const ingress = resources(stack, 'aws_vpc_security_group_ingress_rule');
      expect(ingress.length).toBeGreaterThan(0);
      for (const rule of ingress) {
        expect(rule.cidr_ipv4).not.toBe('0.0.0.0/0');
        expect(rule.cidr_ipv6).toBeUndefined();
        if (rule.cidr_ipv4) expect(rule.cidr_ipv4).toMatch(/^10\.\d+\.0\.0\/16$/);
      }
      for (const group of resources(stack, 'aws_security_group')) expect(group.ingress).toBeUndefined();
      expect(resources(stack, 'aws_security_group').every((g) => !JSON.stringify(g).includes('0.0.0.0/0'))).toBe(true);
    }
  });

  test('the broker is a private ActiveMQ broker reachable by MQTT over TLS (8883) from tsr VPCs, its console API (8162) from this region’s tasks', () => {
    for (const { stack } of regionalOf(s)) {
      const [broker] = resources(stack, 'aws_mq_broker');
      expect(broker).toMatchObject({
        engine_type: 'ActiveMQ',
        publicly_accessible: false,
        deployment_mode: 'ACTIVE_STANDBY_MULTI_AZ',
        encryption_options: { use_aws_owned_key: false },
      });
      const [brokerGroup] = broker.security_groups as string[];
      const groupId = /aws_security_group\.([^.]+)\.id/.exec(brokerGroup)?.[1];
      const rules = resources(stack, 'aws_vpc_security_group_ingress_rule').filter((r) =>
        (r.security_group_id as string).includes(`aws_security_group.${groupId}.`),
      );
      const mqtts = rules.filter((r) => r.from_port === 8883);
      expect(mqtts).toHaveLength(regions.length);
      for (const rule of mqtts)
        expect([rule.to_port, rule.ip_protocol, rule.cidr_ipv4]).toEqual([8883, 'tcp', expect.any(String)]);
      // The inbound gateways read their session's pending count through Jolokia: only from the tasks' group.
      const console = rules.filter((r) => r.from_port !== 8883);
      expect(console).toHaveLength(1);
      expect(console[0]).toMatchObject({ from_port: 8162, to_port: 8162, ip_protocol: 'tcp' });
      expect(console[0].referenced_security_group_id).toMatch(/aws_security_group\.[^.]*services[^.]*\.id/);
      expect(broker.user).toEqual([expect.objectContaining({ console_access: true })]);
      expect(JSON.stringify(stack)).not.toMatch(/"(from|to)_port":\s*1883/);
      expect(Object.values(stack.locals ?? {}).join()).toContain('mqtt+ssl://');
    }
  });

  test('IAM: no `*` action anywhere, data resources named; `*` resource only for APIs without resource types', () => {
    for (const { stack } of regionalOf(s)) {
      const policies = resources(stack, 'aws_iam_role_policy');
      // Two per ECS service (execution and task role), and the FIS experiments' role.
      expect(policies.length).toBe(2 * (APPS.length * STAGES.length + 1) + 1);
      for (const policy of policies) {
        const document = JSON.parse(withoutInterpolations(policy.policy as string)) as {
          Statement: { Action: string[]; Resource: string[] }[];
        };
        for (const statement of document.Statement) {
          for (const action of statement.Action) expect(action).not.toMatch(/(^\*$|:\*$|\*)/);
          if (statement.Resource.includes('*')) {
            // EC2's Describe/Get calls (FIS's partition reads the network) have no resource types either.
            expect(
              statement.Action.every(
                (a) =>
                  ['cloudwatch:PutMetricData', 'ecr:GetAuthorizationToken'].includes(a) ||
                  /^ec2:(Describe|Get)[A-Za-z]+$/.test(a),
              ),
            ).toBe(true);
          }
          if (statement.Action.some((a) => /^(kinesis|dynamodb):/.test(a))) {
            for (const resource of statement.Resource)
              expect(resource).toMatch(/:(stream|table)\/test-[a-z-]+(\/index\/by-time)?$/);
          }
        }
      }
    }
  });

  test('FIS experiment templates: stop an app’s core tasks, fail its Aurora writer over, cut the region from the others; a role that can do only that', () => {
    for (const { region, stack } of regionalOf(s)) {
      const templates = resources(stack, 'aws_fis_experiment_template');
      const byName = Object.fromEntries(templates.map((t) => [(t.tags as Record<string, string>).Name, t]));
      expect(Object.keys(byName).sort()).toEqual(
        [
          ...APPS.flatMap((app) => [`tsr-test-${app}-core-tasks-stop`, `tsr-test-${app}-db-writer-failover`]),
          'tsr-test-partition',
        ].sort(),
      );
      const others = regions.filter((r) => r !== region);
      const partition = byName['tsr-test-partition'];
      expect(partition).toMatchObject({
        target: [{ name: 'private-subnets', resource_type: 'aws:ec2:subnet', selection_mode: 'ALL' }],
        stop_condition: [{ source: 'none' }],
      });
      expect(partition.action).toEqual(
        others.map((other) => ({
          name: `isolate-from-${other}`,
          action_id: 'aws:network:route-table-disrupt-cross-region-connectivity',
          parameter: [
            { key: 'region', value: other },
            { key: 'duration', value: 'PT1H' },
          ],
          target: { key: 'Subnets', value: 'private-subnets' },
        })),
      );
      expect(JSON.stringify(partition.target)).toContain(`:ec2:${region}:`);
      for (const app of APPS) {
        const short = app === 'trade' ? 'tm' : 'st';
        expect(byName[`tsr-test-${app}-core-tasks-stop`]).toMatchObject({
          action: [{ action_id: 'aws:ecs:stop-task', target: { key: 'Tasks', value: 'core-tasks' } }],
          target: [
            {
              resource_type: 'aws:ecs:task',
              selection_mode: 'ALL',
              parameters: { cluster: 'tsr-test', service: `tsr-test-${short}-core` },
            },
          ],
          stop_condition: [{ source: 'none' }],
        });
        const failover = byName[`tsr-test-${app}-db-writer-failover`];
        expect(failover).toMatchObject({
          action: [{ action_id: 'aws:rds:failover-db-cluster' }],
          target: [{ resource_type: 'aws:rds:cluster', selection_mode: 'ALL' }],
        });
        expect(JSON.stringify(failover.target)).toContain(`tsr-test-${short}-core-${region}`);
      }
      const [role] = resources(stack, 'aws_iam_role').filter((r) => r.name === `tsr-test-fis-${region}`);
      expect(JSON.parse(role.assume_role_policy as string)).toMatchObject({
        Statement: [{ Principal: { Service: 'fis.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      });
      const [policy] = resources(stack, 'aws_iam_role_policy').filter((p) => p.name === 'fault-experiments');
      const statements = (
        JSON.parse(withoutInterpolations(policy.policy as string)) as {
          Statement: { Action: string[]; Resource: string[] }[];
        }
      ).Statement;
      expect([...new Set(statements.flatMap((st) => st.Action))].sort()).toEqual(
        [
          'ecs:DescribeTasks',
          'ecs:ListTasks',
          'ecs:StopTask',
          'rds:DescribeDBClusters',
          'rds:FailoverDBCluster',
          // the partition: read the network, swap this VPC's route tables, manage only what FIS tags as its own
          'ec2:DescribeManagedPrefixLists',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeRouteTables',
          'ec2:DescribeSubnets',
          'ec2:DescribeVpcPeeringConnections',
          'ec2:DescribeVpcs',
          'ec2:GetManagedPrefixListEntries',
          'ec2:AssociateRouteTable',
          'ec2:DisassociateRouteTable',
          'ec2:ReplaceRouteTableAssociation',
          'ec2:CreateRoute',
          'ec2:CreateRouteTable',
          'ec2:CreateManagedPrefixList',
          'ec2:CreateTags',
          'ec2:DeleteRouteTable',
          'ec2:DeleteManagedPrefixList',
          'ec2:ModifyManagedPrefixList',
        ].sort(),
      );
      for (const st of statements) {
        if (st.Resource.includes('*')) expect(st.Action.every((a) => /^ec2:(Describe|Get)/.test(a))).toBe(true);
        // Whatever changes the network is held to this VPC, or to what FIS created and tagged.
        if (st.Action.some((a) => /^ec2:(Associate|Disassociate|Replace|CreateRoute$)/.test(a)))
          expect(JSON.stringify((st as { Condition?: unknown }).Condition)).toContain('ec2:Vpc');
        if (st.Action.some((a) => /^ec2:(Delete|Modify)/.test(a)))
          expect((st as { Condition?: unknown }).Condition).toEqual({
            StringEquals: { 'aws:ResourceTag/managedByFIS': 'true' },
          });
      }
      expect(statements.find((st) => st.Action.includes('ecs:StopTask'))?.Resource).toEqual([
        expect.stringMatching(/:task\/tsr-test\/\*$/),
      ]);
    }
  });

  test('one Fargate service per stage of each app plus the generator, secrets injected by ECS', () => {
    for (const { region, stack } of regionalOf(s)) {
      const services = resources(stack, 'aws_ecs_service');
      expect(services.map((x) => x.name).sort()).toEqual(
        [
          ...APPS.flatMap((app) => STAGES.map((stage) => `tsr-test-${app === 'trade' ? 'tm' : 'st'}-${stage}`)),
          'tsr-test-generator',
        ].sort(),
      );
      for (const service of services) {
        expect(service.launch_type).toBe('FARGATE');
        expect(service.network_configuration).toMatchObject({ assign_public_ip: false });
      }
      // No generator task until `tsr generator start` (which sets the count; Terraform ignores it after).
      const generator = services.find((x) => x.name === 'tsr-test-generator') as Block;
      expect(generator.desired_count).toBe(0);
      const images = new Set<string>();
      for (const task of resources(stack, 'aws_ecs_task_definition')) {
        const [container] = JSON.parse(withoutInterpolations(task.container_definitions as string)) as {
          image: string;
          environment: { name: string; value: string }[];
          secrets: { name: string; valueFrom: string }[];
        }[];
        images.add(container.image);
        expect(container.environment.map((e) => e.name)).not.toContain('TSR_PG_PASSWORD');
        expect(container.environment.find((e) => e.name === 'TSR_REGION')?.value).toBe(region);
        if (task.family === 'tsr-test-tm-core') {
          expect(container.secrets.map((x) => x.name).sort()).toEqual(['TSR_PG_PASSWORD', 'TSR_PG_USER']);
          expect(container.environment.find((e) => e.name === 'TSR_PG_DATABASE')?.value).toBe('test_tm_core');
        }
        if (task.family === 'tsr-test-tm-inbound-gateway') {
          expect(container.secrets.map((x) => x.name).sort()).toEqual(['TSR_BROKER_PASSWORD', 'TSR_BROKER_USERNAME']);
        }
      }
      expect(images.size).toBe(1);
      // The generator's task role: read the settings item, write its ledger and status, on its table only.
      const generatorPolicy = resources(stack, 'aws_iam_role_policy').find(
        (p) => p.name === 'service' && /generator/.test(String(p.role)),
      );
      const ledgerStatements = (
        JSON.parse(withoutInterpolations(String(generatorPolicy?.policy))) as {
          Statement: { Sid: string; Action: string[]; Resource: string[] }[];
        }
      ).Statement.filter((st) => st.Action.some((a) => a.startsWith('dynamodb:')));
      expect(ledgerStatements).toEqual([
        {
          Sid: 'GeneratorLedger',
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
          Resource: [expect.stringMatching(/:table\/test-generator-ledger$/)],
        },
      ]);
    }
  });

  test('Aurora: a global cluster per app; the primary region creates the writer, the others join as secondaries', () => {
    const globals = resources(globalOf(s), 'aws_rds_global_cluster');
    expect(globals.map((g) => g.global_cluster_identifier).sort()).toEqual(['tsr-test-st-core', 'tsr-test-tm-core']);
    expect(globals.every((g) => g.engine === 'aurora-postgresql' && g.storage_encrypted === true)).toBe(true);
    for (const { region, stack } of regionalOf(s)) {
      const clusters = resources(stack, 'aws_rds_cluster');
      expect(clusters.map((c) => c.cluster_identifier).sort()).toEqual([
        `tsr-test-st-core-${region}`,
        `tsr-test-tm-core-${region}`,
      ]);
      for (const cluster of clusters) {
        expect(cluster.global_cluster_identifier).toMatch(/^tsr-test-(tm|st)-core$/);
        expect(cluster.storage_encrypted).toBe(true);
        if (region === regions[0]) expect(cluster.master_username).toBe('tsr_admin');
        else expect(cluster.master_username).toBeUndefined();
        // The verdict reads the writer through the RDS Data API, wherever the writer moves.
        expect(cluster.enable_http_endpoint).toBe(true);
      }
    }
  });

  test('the verdict reader policy: the Data API on the core clusters, their secrets, and the key only through Secrets Manager', () => {
    const global = globalOf(s);
    const [policy] = resources(global, 'aws_iam_policy');
    expect(policy.name).toBe('tsr-test-verdict-reader');
    expect((global.output as Record<string, { value: unknown }>).verdict_reader_policy_arn.value).toMatch(
      /^\$\{aws_iam_policy\..+\.arn\}$/,
    );
    const document = JSON.parse(withoutInterpolations(policy.policy as string)) as {
      Statement: { Sid: string; Action: string[]; Resource: string[]; Condition?: unknown }[];
    };
    const sid = (name: string) => document.Statement.find((st) => st.Sid === name);
    const clusters = APPS.flatMap((app) =>
      regions.map((r) => `arn:TF_EXPR:rds:${r}:TF_EXPR:cluster:tsr-test-${app === 'trade' ? 'tm' : 'st'}-core-${r}`),
    );
    expect(sid('ReadThroughDataApi')).toEqual({
      Sid: 'ReadThroughDataApi',
      Effect: 'Allow',
      Action: [
        'rds-data:ExecuteStatement',
        'rds-data:BeginTransaction',
        'rds-data:CommitTransaction',
        'rds-data:RollbackTransaction',
      ],
      Resource: clusters,
    });
    expect(sid('FindWriters')?.Resource).toEqual([
      'arn:TF_EXPR:rds::TF_EXPR:global-cluster:tsr-test-tm-core',
      'arn:TF_EXPR:rds::TF_EXPR:global-cluster:tsr-test-st-core',
      ...clusters,
    ]);
    // Every region's copy of each database secret: the primary's ARN as is, the others with the region replaced.
    expect(sid('OpenDatabaseSecrets')).toMatchObject({ Action: ['secretsmanager:GetSecretValue'] });
    expect(sid('OpenDatabaseSecrets')?.Resource).toHaveLength(APPS.length * regions.length);
    expect(policy.policy).toContain(`:${regions[0]}:`);
    expect(sid('DecryptDatabaseSecrets')).toMatchObject({
      Action: ['kms:Decrypt'],
      Condition: { StringEquals: { 'kms:ViaService': regions.map((r) => `secretsmanager.${r}.amazonaws.com`) } },
    });
    for (const statement of document.Statement) {
      for (const action of statement.Action) expect(action).not.toContain('*');
      expect(statement.Resource).not.toContain('*');
    }
  });

  test('alarms on stream backlog, table replication latency and Aurora RPO lag', () => {
    for (const { region, stack } of regionalOf(s)) {
      const alarms = resources(stack, 'aws_cloudwatch_metric_alarm');
      const by = (metric: string) => alarms.filter((a) => a.metric_name === metric);
      expect(by('GetRecords.IteratorAgeMilliseconds')).toHaveLength(s.names.streams.length);
      expect(by('ReplicationLatency')).toHaveLength(
        s.names.tables.filter((t) => t.global).length * (regions.length - 1),
      );
      expect(by('ReplicationLatency').every((a) => (a.dimensions as Block).ReceivingRegion !== region)).toBe(true);
      expect(by('AuroraGlobalDBRPOLag')).toHaveLength(APPS.length);
    }
  });

  test('VPC peering for every pair of regions: requester, accepter, DNS options and routes on both sides', () => {
    const cidrOf = (region: string) => vpcCidr(regions.indexOf(region));
    const pairs: string[] = [];
    for (const { region, stack } of regionalOf(s)) {
      const requesters = resourcesById(stack, 'aws_vpc_peering_connection');
      const accepters = resources(stack, 'aws_vpc_peering_connection_accepter');
      const options = resources(stack, 'aws_vpc_peering_connection_options');
      const routes = resources(stack, 'aws_route').filter((r) => r.vpc_peering_connection_id);
      const earlier = regions.slice(0, regions.indexOf(region));
      expect(Object.keys(requesters)).toHaveLength(earlier.length);
      expect(accepters).toHaveLength(earlier.length);
      expect(options).toHaveLength(2 * earlier.length);
      expect(routes).toHaveLength(2 * ZONES * earlier.length);
      for (const peer of earlier) {
        pairs.push([peer, region].sort().join('+'));
        const [id, requester] = Object.entries(requesters).find(([, r]) => r.peer_region === peer) as [string, Block];
        // This region's VPC requests; the peer's VPC comes from the peer stack's state.
        expect(requester).toMatchObject({ auto_accept: false, vpc_id: expect.stringMatching(/^\$\{aws_vpc\./) });
        expect(requester.peer_vpc_id).toBe(`\${data.terraform_remote_state.region-${peer}.outputs.vpc_id}`);
        const accepter = accepters.find(
          (a) => a.vpc_peering_connection_id === `\${aws_vpc_peering_connection.${id}.id}`,
        );
        expect(accepter).toMatchObject({ provider: `aws.${peer}`, auto_accept: true });
        const accepterId = Object.entries(resourcesById(stack, 'aws_vpc_peering_connection_accepter')).find(
          ([, a]) => a === accepter,
        )?.[0];
        const connection = `\${aws_vpc_peering_connection_accepter.${accepterId}.vpc_peering_connection_id}`;
        // DNS resolution of the brokers' private hostnames across the peering, each side set in its own region.
        expect(options.filter((o) => o.vpc_peering_connection_id === connection)).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ requester: { allow_remote_vpc_dns_resolution: true } }),
            expect.objectContaining({ provider: `aws.${peer}`, accepter: { allow_remote_vpc_dns_resolution: true } }),
          ]),
        );
        const viaConnection = routes.filter((r) => r.vpc_peering_connection_id === connection);
        // This side: every private route table to the peer's CIDR.
        const here = viaConnection.filter((r) => r.provider === undefined);
        expect(here.map((r) => r.destination_cidr_block)).toEqual(Array(ZONES).fill(cidrOf(peer)));
        expect(new Set(here.map((r) => r.route_table_id))).toEqual(
          new Set(
            Object.keys(resourcesById(stack, 'aws_route_table'))
              .filter((t) => t.includes('private'))
              .map((t) => `\${aws_route_table.${t}.id}`),
          ),
        );
        // The peer's side: every one of its private route tables (from its state) back to this CIDR.
        const there = viaConnection.filter((r) => r.provider === `aws.${peer}`);
        expect(there.map((r) => r.destination_cidr_block)).toEqual(Array(ZONES).fill(cidrOf(region)));
        expect(there.map((r) => r.route_table_id)).toEqual(
          Array.from(
            { length: ZONES },
            (_, i) => `\${element(data.terraform_remote_state.region-${peer}.outputs.private_route_table_ids, ${i})}`,
          ),
        );
      }
      // Private route tables carry no inline routes, so peering routes added by later stacks survive re-applies.
      for (const table of resources(stack, 'aws_route_table').filter((t) =>
        String(t.tags && (t.tags as Block).Name).includes('private'),
      ))
        expect(table.route).toBeUndefined();
      expect(stack.output?.private_route_table_ids).toBeDefined();
    }
    const expected = regions.flatMap((a, i) => regions.slice(i + 1).map((b) => [a, b].sort().join('+')));
    expect(pairs.sort()).toEqual(expected.sort());
  });

  test('names in account-wide namespaces (IAM, S3) are unique across every stack, and regional names per region', () => {
    // Where a name must be unique: the whole account (IAM, S3) or one region of it (everything else named).
    const ACCOUNT_WIDE: Record<string, string> = {
      aws_iam_role: 'name',
      aws_iam_policy: 'name',
      aws_iam_instance_profile: 'name',
      aws_s3_bucket: 'bucket',
    };
    const REGIONAL: Record<string, string> = {
      aws_ecr_repository: 'name',
      aws_secretsmanager_secret: 'name',
      aws_ecs_cluster: 'name',
      aws_ecs_task_definition: 'family',
      aws_cloudwatch_log_group: 'name',
      aws_kms_alias: 'name',
      aws_mq_broker: 'broker_name',
      aws_rds_cluster: 'cluster_identifier',
      aws_kinesis_stream: 'name',
      aws_dynamodb_table: 'name',
      aws_cloudwatch_metric_alarm: 'alarm_name',
    };
    const accountWide = new Map<string, string>();
    const regional = new Map<string, string>();
    let iamRoles = 0;
    for (const stack of s.result.stacks) {
      const json = s.json[stack.id];
      const providers = (json.provider as { aws?: Block[] } | undefined)?.aws ?? [];
      const home = providers.find((p) => p.alias === undefined)?.region as string;
      for (const [type, attribute] of Object.entries({ ...ACCOUNT_WIDE, ...REGIONAL })) {
        for (const [id, block] of Object.entries(resourcesById(json, type))) {
          const name = block[attribute] as string | undefined;
          if (name === undefined) continue;
          const region = typeof block.provider === 'string' ? block.provider.replace(/^aws\./, '') : home;
          const key = type in ACCOUNT_WIDE ? `${type}:${name}` : `${region}:${type}:${name}`;
          const seen = type in ACCOUNT_WIDE ? accountWide : regional;
          expect({ key, clash: seen.get(key) }).toEqual({ key, clash: undefined });
          seen.set(key, `${stack.id}/${id}`);
          if (type === 'aws_iam_role') {
            iamRoles++;
            expect(name.length).toBeLessThanOrEqual(64);
          }
        }
      }
    }
    // Two roles per ECS service per region and the FIS role of each region: the check above really looked at them.
    expect(iamRoles).toBe((2 * (APPS.length * STAGES.length + 1) + 1) * regions.length);
  });

  test('valid for AWS provider 5.100 and 6: a version range, and other regions through provider aliases', () => {
    for (const stack of s.result.stacks) {
      const json = s.json[stack.id] as StackJson & { terraform?: Block; provider?: { aws?: Block[] } };
      const required = (json.terraform?.required_providers as Record<string, Block>).aws;
      expect(required.version).toBe('>= 5.100.0, < 7.0.0');
      const aliases = new Set((json.provider?.aws ?? []).map((p) => p.alias).filter(Boolean));
      for (const [type, blocks] of Object.entries(json.resource ?? {})) {
        for (const [id, block] of Object.entries(blocks as Record<string, Block>)) {
          // The v6-only per-resource `region` argument; 5.x rejects it. (Replica blocks name regions inside.)
          expect({ resource: `${type}.${id}`, region: block.region }).toEqual({
            resource: `${type}.${id}`,
            region: undefined,
          });
          if (block.provider !== undefined) expect(aliases).toContain(String(block.provider).replace(/^aws\./, ''));
        }
      }
    }
  });

  test('first apply and teardown: ARC changes one at a time, and nothing left behind blocks a redeploy', () => {
    const global = globalOf(s);
    // Every routing control and safety rule waits for the one before it (ARC: 409 ConflictException otherwise).
    const arc = [
      ...Object.keys(resourcesById(global, 'aws_route53recoverycontrolconfig_routing_control')).map(
        (id) => `aws_route53recoverycontrolconfig_routing_control.${id}`,
      ),
      ...Object.keys(resourcesById(global, 'aws_route53recoverycontrolconfig_safety_rule')).map(
        (id) => `aws_route53recoverycontrolconfig_safety_rule.${id}`,
      ),
    ];
    expect(arc.length).toBeGreaterThan(10);
    const blockOf = (address: string) => {
      const [type, id] = address.split('.');
      return resourcesById(global, type)[id];
    };
    const [panel] = Object.keys(resourcesById(global, 'aws_route53recoverycontrolconfig_control_panel'));
    // Follow the chain from the panel: each next resource names exactly the one before it, and it visits them all.
    const after = new Map<string, string>();
    for (const address of arc) {
      const dependsOn = blockOf(address).depends_on as string[];
      expect(dependsOn).toHaveLength(1);
      expect(after.has(dependsOn[0])).toBe(false);
      after.set(dependsOn[0], address);
    }
    const chain: string[] = [];
    for (let at = after.get(`aws_route53recoverycontrolconfig_control_panel.${panel}`); at; at = after.get(at))
      chain.push(at);
    expect(chain.sort()).toEqual([...arc].sort());
    // Secrets go at once (a recovery window keeps the name taken).
    for (const secret of resources(global, 'aws_secretsmanager_secret')) expect(secret.recovery_window_in_days).toBe(0);
    for (const { stack } of regionalOf(s)) {
      // ECR: destroy removes the pushed images with the repository.
      for (const repository of resources(stack, 'aws_ecr_repository')) expect(repository.force_delete).toBe(true);
      // A final snapshot id per cluster lifetime: the creation time, kept by ignore_changes.
      for (const cluster of resources(stack, 'aws_rds_cluster')) {
        expect(cluster.final_snapshot_identifier).toBe(
          `${cluster.cluster_identifier as string}-final-\${formatdate("YYYYMMDDhhmmss", timestamp())}`,
        );
        expect((cluster.lifecycle as Block).ignore_changes).toContain('final_snapshot_identifier');
      }
    }
  });

  test('every task gets every region’s broker URLs (TSR_BROKER_URLS = region=url,…), other regions from their state', () => {
    for (const { region, stack } of regionalOf(s)) {
      const local = (stack.locals ?? {}) as Record<string, string>;
      const [name, expression] = Object.entries(local).find(([key]) => key.startsWith('broker_urls_by_region')) ?? [];
      expect(expression).toBeDefined();
      for (const r of regions) {
        expect(expression).toContain(`"${r}=mqtts://"`);
        if (r !== region)
          expect(expression).toContain(`replace(data.terraform_remote_state.region-${r}.outputs.broker_endpoints,`);
        else
          expect(expression).toMatch(
            new RegExp(`replace\\(local\\.broker_mqtts_endpoints_[A-F0-9]+, "mqtts://", "${r}=mqtts://"\\)`),
          );
      }
      // Placeholders make a plan work before another region is applied; they never resolve.
      for (const r of regions.filter((x) => x !== region)) {
        const remote = (stack.data?.terraform_remote_state as Record<string, Block>)[`region-${r}`];
        expect((remote.defaults as Block).broker_endpoints).toBe(`mqtts://pending-apply.${r}.invalid:8883`);
        expect(remote.config).toEqual({ path: `../tsr-test-${r}/terraform.tsr-test-${r}.tfstate` });
      }
      const tasks = resources(stack, 'aws_ecs_task_definition');
      expect(tasks).toHaveLength(APPS.length * STAGES.length + 1);
      for (const task of tasks) {
        expect(task.container_definitions as string).toContain(
          `{"name":"TSR_BROKER_URLS","value":"\${local.${name}}"}`,
        );
      }
    }
  });
});

test('a trimmed view of the two-region synth matches the snapshot', () => {
  const s = synth(['us-east-1', 'us-west-2']);
  try {
    const view = Object.fromEntries(
      s.result.stacks.map((stack) => {
        const json = s.json[stack.id];
        const named = (type: string, key: string) =>
          resources(json, type)
            .map((r) => r[key] as string)
            .sort();
        return [
          stack.id,
          {
            dependsOn: stack.dependsOn,
            resourcesByType: Object.fromEntries(Object.entries(stack.resourcesByType).sort()),
            routingControls: named('aws_route53recoverycontrolconfig_routing_control', 'name'),
            safetyRules: named('aws_route53recoverycontrolconfig_safety_rule', 'name'),
            tables: named('aws_dynamodb_table', 'name'),
            streams: named('aws_kinesis_stream', 'name'),
            services: named('aws_ecs_service', 'name'),
            databases: [
              ...named('aws_rds_global_cluster', 'global_cluster_identifier'),
              ...named('aws_rds_cluster', 'cluster_identifier'),
            ],
            alarms: named('aws_cloudwatch_metric_alarm', 'alarm_name'),
            outputs: Object.keys(json.output ?? {}).sort(),
            backend: Object.keys((json as { terraform?: { backend?: object } }).terraform?.backend ?? {}),
            remoteStates: Object.keys(json.data?.terraform_remote_state ?? {}).sort(),
            peerings: named('aws_vpc_peering_connection', 'peer_region'),
          },
        ];
      }),
    );
    expect(view).toMatchSnapshot();
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('synth refuses fewer than two regions, and keeps terraform state already in the stack directories', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-synth-'));
  try {
    const config = loadConfig({ environment: 'test', regions: ['us-east-1', 'us-west-2'], target: 'aws' }, {}, dir);
    expect(() => synthesize({ ...config, regions: ['us-east-1'] }, path.join(dir, 'out'))).toThrow(UserError);
    const first = synthesize(config, path.join(dir, 'out'));
    const state = path.join(first.stacks[0].dir, 'terraform.tsr-test-global.tfstate');
    writeFileSync(state, '{"version":4}');
    synthesize(config, path.join(dir, 'out'));
    expect(readFileSync(state, 'utf8')).toBe('{"version":4}');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('terraform state backend', () => {
  test('default: local state files next to each stack, and a note saying so', () => {
    const s = synth(['us-east-1', 'us-west-2']);
    try {
      for (const stack of s.result.stacks) {
        expect(s.json[stack.id]).toMatchObject({
          terraform: { backend: { local: { path: `terraform.${stack.id}.tfstate` } } },
        });
      }
      expect(s.result.state.kind).toBe('local');
      expect(s.result.notes.join('\n')).toMatch(/Terraform state is local .*set aws\.stateBucket/);
    } finally {
      rmSync(s.dir, { recursive: true, force: true });
    }
  });

  test('aws.stateBucket + aws.stateLockTable: encrypted S3 state per stack with DynamoDB locking; remote state reads S3', () => {
    const s = synth(['us-east-1', 'us-west-2', 'eu-west-1'], {
      stateBucket: 'acme-tsr-state',
      stateLockTable: 'tsr-locks',
    });
    try {
      for (const stack of s.result.stacks) {
        const json = s.json[stack.id] as StackJson & { terraform: { backend: Record<string, Block> } };
        expect(json.terraform.backend).toEqual({
          s3: {
            bucket: 'acme-tsr-state',
            key: `tsr/test/${stack.id}.tfstate`,
            region: 'us-east-1',
            encrypt: true,
            dynamodb_table: 'tsr-locks',
          },
        });
        for (const [id, remote] of Object.entries((json.data?.terraform_remote_state ?? {}) as Record<string, Block>)) {
          const stackId = id === 'global' ? 'tsr-test-global' : `tsr-test-${id.replace(/^region-/, '')}`;
          expect(remote.backend).toBe('s3');
          expect(remote.config).toEqual({
            bucket: 'acme-tsr-state',
            key: `tsr/test/${stackId}.tfstate`,
            region: 'us-east-1',
          });
        }
      }
      expect(JSON.stringify(s.json)).not.toContain('"local"');
      expect(s.result.state).toMatchObject({ kind: 's3', location: 's3://acme-tsr-state/tsr/test/<stack>.tfstate' });
      expect(s.result.notes).toEqual([]);
    } finally {
      rmSync(s.dir, { recursive: true, force: true });
    }
  });

  test('a bucket without a lock table uses S3 native locking, and says which versions that needs', () => {
    const s = synth(['us-east-1', 'us-west-2'], { stateBucket: 'acme-tsr-state' });
    try {
      const json = s.json['tsr-test-us-west-2'] as StackJson & { terraform: { backend: { s3: Block } } };
      expect(json.terraform.backend.s3).toMatchObject({ encrypt: true, use_lockfile: true });
      expect(json.terraform.backend.s3.dynamodb_table).toBeUndefined();
      expect(s.result.notes.join()).toMatch(/S3 native locking .* 1\.10/);
    } finally {
      rmSync(s.dir, { recursive: true, force: true });
    }
  });

  test('the config schema accepts the state settings and rejects a bad bucket name', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-synth-'));
    try {
      writeFileSync(
        path.join(dir, 'tsr.config.yaml'),
        'target: aws\naws:\n  stateBucket: acme-tsr-state\n  stateLockTable: tsr-locks\n',
      );
      expect(loadConfig({}, {}, dir).aws).toMatchObject({ stateBucket: 'acme-tsr-state', stateLockTable: 'tsr-locks' });
      writeFileSync(path.join(dir, 'tsr.config.yaml'), 'target: aws\naws:\n  stateBucket: Not_A_Bucket\n');
      expect(() => loadConfig({}, {}, dir)).toThrow(/aws\.stateBucket: must be an S3 bucket name/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('TSR_BROKER_URLS parses into each region’s broker instances, active first', () => {
  expect(
    parseBrokerUrls(
      'us-east-1=mqtts://b-1.east:8883,us-east-1=mqtts://b-2.east:8883,us-west-2=mqtts://b-1.west:8883,,junk',
    ),
  ).toEqual({
    'us-east-1': ['mqtts://b-1.east:8883', 'mqtts://b-2.east:8883'],
    'us-west-2': ['mqtts://b-1.west:8883'],
  });
});
