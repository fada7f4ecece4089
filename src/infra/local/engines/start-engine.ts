import { deriveNames, type TsrConfig } from '../../../config/model.js';
import { arcClusterDefinition, startArcCluster } from '../arc/arc-server.js';
import { startDynamoReplicationLink } from '../replication/dynamo-link.js';
import { startBrokerEngine } from './broker-engine.js';
import { startDynamoEngine } from './dynamo-engine.js';
import { startKinesisEngine } from './kinesis-engine.js';
import { startPostgresEngine } from './postgres-engine.js';
import type { StartedEngine } from './server-util.js';

/**
 * What the supervisor tells an engine process to run. A port of 0 lets the engine bind any free one; with
 * `anyPortIfTaken` a taken port is replaced by a free one. Either way the engine reports the ports it bound, and the
 * supervisor restarts it on exactly those (so endpoints stay fixed for the life of a deployment).
 */
export type EngineSpec = (
  | { kind: 'kinesis'; region: string; port: number; dataDir: string }
  | { kind: 'dynamodb'; region: string; port: number; dataDir: string; peers?: readonly string[] }
  | { kind: 'broker'; region: string; port: number; adminPort: number }
  | { kind: 'postgres'; region: string; port: number; dataDir: string; passwordFile: string }
  | {
      kind: 'arc';
      ports: number[];
      statePath: string;
      config: Pick<TsrConfig, 'environment' | 'regions' | 'apps' | 'aws'>;
    }
  | {
      kind: 'dynamo-link';
      port: number;
      regions: { region: string; endpoint: string }[];
      tables: string[];
      delayMs: number;
    }
) & { anyPortIfTaken?: boolean };

/** The same spec, bound to the ports the engine reported: a restart must come back where its clients look. */
export function pinPorts(spec: EngineSpec, ports: readonly number[]): EngineSpec {
  switch (spec.kind) {
    case 'arc':
      return { ...spec, ports: [...ports], anyPortIfTaken: false };
    case 'broker':
      return { ...spec, port: ports[0], adminPort: ports[1], anyPortIfTaken: false };
    default:
      return { ...spec, port: ports[0], anyPortIfTaken: false };
  }
}

export async function startEngine(spec: EngineSpec, password?: string): Promise<StartedEngine> {
  switch (spec.kind) {
    case 'kinesis':
      return startKinesisEngine(spec);
    case 'dynamodb':
      return startDynamoEngine(spec);
    case 'broker':
      return startBrokerEngine(spec);
    case 'postgres':
      return startPostgresEngine({
        port: spec.port,
        dataDir: spec.dataDir,
        password: password ?? '',
        anyPortIfTaken: spec.anyPortIfTaken,
      });
    case 'arc': {
      const definition = arcClusterDefinition(deriveNames(spec.config), spec.config.regions[0]);
      const cluster = await startArcCluster({
        ports: spec.ports,
        anyPortIfTaken: spec.anyPortIfTaken,
        statePath: spec.statePath,
        ...definition,
      });
      return { endpoint: cluster.endpoints.join(','), ports: cluster.ports, close: () => cluster.close() };
    }
    case 'dynamo-link':
      return startDynamoReplicationLink(spec);
  }
}
