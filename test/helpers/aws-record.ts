import type { ResourceNames } from '../../src/config/model.js';
import type { AwsDeploymentRecord, DeployedGlobal } from '../../src/infra/aws/deployment-record.js';

/**
 * A deployment record as `tsr deploy --target aws` writes it, for AwsPlatform against SDK mocks: the ARC cluster
 * endpoint, the control panel and every routing control's ARN (`<panel>/routingcontrol/<name>`). `global` in
 * `extra` adds to those outputs (e.g. the database secrets) rather than replacing them.
 */
export function awsRecord(
  names: ResourceNames,
  regions: string[],
  panel: string,
  extra: Partial<Omit<AwsDeploymentRecord, 'global'>> & { global?: Partial<DeployedGlobal> } = {},
): AwsDeploymentRecord {
  const { global, ...rest } = extra;
  return {
    version: 1,
    environment: 'test',
    regions,
    stacks: {},
    updatedAt: '2026-01-01T00:00:00.000Z',
    global: {
      arcEndpoints: [{ region: 'us-west-2', url: 'https://arc.example' }],
      controlPanelArn: panel,
      routingControlArns: Object.fromEntries(
        names.routingControls.map((c) => [c.name, `${panel}/routingcontrol/${c.name}`]),
      ),
      safetyRuleArns: {},
      ...global,
    },
    ...rest,
  };
}
