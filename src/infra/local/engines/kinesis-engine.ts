import { mkdirSync } from 'node:fs';
import { kinesisClient } from '../../../clients/aws-clients.js';
import { bindPort, closeServer } from '../http-server.js';
import { loadKinesalite } from './kinesalite-loader.js';
import { RETENTION_SWEEP_EVERY_MS, sweepExpiredRecords } from './kinesis-retention.js';
import type { StartedEngine } from './server-util.js';

export interface KinesisEngineOptions {
  readonly port: number;
  /** When `port` is taken, bind any free port instead (the one bound is reported); otherwise fail naming it. */
  readonly anyPortIfTaken?: boolean;
  readonly dataDir: string;
}

/**
 * One region's Kinesis: kinesalite persisted in LevelDB (records deflated: kinesis-record-encoding.ts), so streams and
 * records survive an engine restart.
 */
export async function startKinesisEngine(options: KinesisEngineOptions): Promise<StartedEngine> {
  mkdirSync(options.dataDir, { recursive: true });
  const kinesalite = await loadKinesalite();
  // Streams become ACTIVE at once: the default 500 ms per stream only slows deploys.
  const server = kinesalite({
    path: options.dataDir,
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 1000,
  });
  const port = await bindPort(server, options.port, options.anyPortIfTaken);
  const endpoint = `http://127.0.0.1:${port}`;
  const stopSweeping = sweepPeriodically(endpoint);
  return {
    endpoint,
    ports: [port],
    close: () => {
      stopSweeping();
      return closeServer(server);
    },
  };
}

/** Retention as Kinesis keeps it (kinesis-retention.ts): a first sweep a minute after start, then every ten. */
function sweepPeriodically(endpoint: string): () => void {
  const kinesis = kinesisClient({ region: 'local', endpoint });
  const sweep = () => {
    sweepExpiredRecords(kinesis).catch((error: unknown) =>
      console.error(`[kinesis] retention sweep failed: ${(error as Error).message}`),
    );
  };
  const first = setTimeout(sweep, 60_000);
  const every = setInterval(sweep, RETENTION_SWEEP_EVERY_MS);
  first.unref();
  every.unref();
  return () => {
    clearTimeout(first);
    clearInterval(every);
    kinesis.destroy();
  };
}
