import { mkdirSync } from 'node:fs';
import kinesalite from 'kinesalite';
import { bindPort, closeServer } from '../http-server.js';
import type { StartedEngine } from './server-util.js';

export interface KinesisEngineOptions {
  readonly port: number;
  /** When `port` is taken, bind any free port instead (the one bound is reported); otherwise fail naming it. */
  readonly anyPortIfTaken?: boolean;
  readonly dataDir: string;
}

/** One region's Kinesis: kinesalite persisted in LevelDB, so streams and records survive an engine restart. */
export async function startKinesisEngine(options: KinesisEngineOptions): Promise<StartedEngine> {
  mkdirSync(options.dataDir, { recursive: true });
  // Streams become ACTIVE at once: the default 500 ms per stream only slows deploys.
  const server = kinesalite({
    path: options.dataDir,
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 1000,
  });
  const port = await bindPort(server, options.port, options.anyPortIfTaken);
  return { endpoint: `http://127.0.0.1:${port}`, ports: [port], close: () => closeServer(server) };
}
