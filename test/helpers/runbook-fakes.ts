/** Test doubles for runbook tests: an in-memory Platform (routing controls with ARC semantics, lag, status). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deriveNames, initialControlState, type TsrConfig } from '../../src/config/model.js';
import { evaluateBatch } from '../../src/infra/local/arc/safety-rules.js';
import { SafetyRuleViolation } from '../../src/clients/arc-routing-controls.js';
import type {
  ComponentHealth,
  Platform,
  PlatformStatus,
  RegionEndpoints,
  ReplicationLag,
  RoutingControls,
  RoutingControlState,
  RoutingControlUpdate,
  RoutingState,
} from '../../src/platform/platform.js';

export const REGIONS = ['us-east-1', 'us-west-2'];

export function testConfig(workspace: string): TsrConfig {
  return {
    environment: 'test',
    regions: REGIONS,
    apps: ['trade', 'settlement'],
    target: 'local',
    workspace,
    local: { arcEndpoints: 1, replicationDelayMs: 0 },
    aws: { shardsPerStream: 1, tasksPerService: 1, auroraInstanceClass: 'x', brokerInstanceType: 'y' },
  };
}

const madeDirs: string[] = [];
// Registered when a test file imports this helper: its directories go when the file's tests are done.
afterAll(() => {
  for (const dir of madeDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new empty directory under the system's temp directory, removed after the test file. */
export function tempDir(prefix = 'tsr-runbook-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

/** Healthy, caught-up lags into `to` for every global table and core database. */
export function caughtUpLags(platform: Platform, from: string, to: string, lagMs = 50): ReplicationLag[] {
  return [
    ...platform.names.tables
      .filter((t) => t.global)
      .map((t) => ({ kind: 'table' as const, resource: t.name, from, to, lagMs, healthy: true })),
    ...Object.values(platform.names.databases).map((db) => ({
      kind: 'database' as const,
      resource: db,
      from,
      to,
      lagMs,
      healthy: true,
    })),
  ];
}

/** A Platform whose routing controls live in memory and obey the ARC safety rules (evaluateBatch). */
export class FakePlatform implements Platform {
  readonly target = 'local' as const;
  readonly config: TsrConfig;
  readonly names;
  states: Map<string, RoutingState>;
  lags: ReplicationLag[] | (() => ReplicationLag[]);
  components: ComponentHealth[];
  readonly sets: { updates: RoutingControlUpdate[]; overrides: string[] }[] = [];

  constructor(workspace: string) {
    this.config = testConfig(workspace);
    this.names = deriveNames(this.config);
    this.states = new Map(this.names.routingControls.map((c) => [c.name, initialControlState(c, REGIONS[0])]));
    this.lags = [...caughtUpLags(this, REGIONS[0], REGIONS[1])];
    this.components = REGIONS.flatMap((region) =>
      ['kinesis', 'dynamodb', 'broker', 'postgres'].map((name) => ({ name, region, up: true })),
    );
  }

  endpoints(region: string): RegionEndpoints {
    return { region, broker: 'mqtt://127.0.0.1:1', postgres: { host: '127.0.0.1', port: 1, user: 'x' } };
  }

  private list(): RoutingControlState[] {
    return this.names.routingControls.map((c) => ({
      name: c.name,
      arn: c.arn,
      state: this.states.get(c.name) ?? 'Off',
    }));
  }

  routingControls(): RoutingControls {
    const nameOf = (control: string) =>
      this.names.routingControls.find((c) => c.name === control || c.arn === control)?.name ?? control;
    return {
      list: async () => this.list(),
      get: async (control) => this.list().find((c) => c.name === nameOf(control)) as RoutingControlState,
      set: async (updates, overrides = []) => {
        this.sets.push({ updates: [...updates], overrides: [...overrides] });
        const result = evaluateBatch(
          this.states,
          updates.map((u) => ({ control: nameOf(u.control), state: u.state })),
          this.names.safetyRules,
          overrides,
        );
        if (!result.ok) throw new SafetyRuleViolation(result.rule.name, result.reason);
        this.states = new Map(result.result);
      },
    };
  }

  async replicationLag(): Promise<ReplicationLag[]> {
    return typeof this.lags === 'function' ? this.lags() : this.lags;
  }

  async status(): Promise<PlatformStatus> {
    return {
      target: 'local',
      environment: 'test',
      regions: REGIONS,
      primary: REGIONS[0],
      components: this.components,
      routingControls: this.list(),
      replication: await this.replicationLag(),
      writers: { trade: REGIONS[0], settlement: REGIONS[0] },
    };
  }

  async close(): Promise<void> {}
}
