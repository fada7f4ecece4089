/**
 * Versioned migrations for the two core databases, applied automatically when a core starts.
 *
 * Every region's database runs the same migrations (DDL is not replicated), while `schema_migrations` itself is
 * replicated like every table (the publication is FOR ALL TABLES). Its key is therefore (node, version), node being
 * the PostgreSQL cluster's system identifier: each database records what it applied itself, and the rows that
 * arrive from the writer never collide with the reader's own (a duplicate key would stop the subscription).
 * The whole run holds a session advisory lock, so several processes starting at once apply each migration once;
 * each migration runs in its own transaction.
 */
import type pg from 'pg';
import type { Migration } from './migration.js';
import { SETTLEMENT_MIGRATIONS } from './settlement-schema.js';
import { TRADE_MIGRATIONS } from './trade-schema.js';

export type { Migration } from './migration.js';
export type CoreApp = 'trade' | 'settlement';

export const MIGRATIONS: Readonly<Record<CoreApp, readonly Migration[]>> = {
  trade: TRADE_MIGRATIONS,
  settlement: SETTLEMENT_MIGRATIONS,
};

export interface MigrationReport {
  /** Versions this call applied, in order (empty when the database was up to date). */
  readonly applied: number[];
  /** True when the database is a read-only standby: nothing can be applied there. */
  readonly readOnly?: boolean;
}

const SCHEMA_MIGRATIONS = `CREATE TABLE IF NOT EXISTS schema_migrations (
  node text NOT NULL,
  version integer NOT NULL,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node, version)
)`;

/** The identity of this PostgreSQL cluster (stable across restarts, distinct per initdb). */
async function nodeId(client: pg.ClientBase): Promise<string> {
  try {
    const { rows } = await client.query<{ id: string }>(
      'SELECT system_identifier::text AS id FROM pg_control_system()',
    );
    if (rows[0]?.id) return rows[0].id;
  } catch {
    // pg_control_system() may be unavailable (managed services); fall through.
  }
  return 'default';
}

function checkOrder(app: CoreApp, migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (!Number.isInteger(migration.version) || migration.version < 1) {
      throw new Error(`${app} migration "${migration.name}" has an invalid version ${migration.version}`);
    }
    if (index > 0 && migration.version <= migrations[index - 1].version) {
      throw new Error(`${app} migrations are out of order at version ${migration.version}`);
    }
  });
}

/** Applies every migration of `app` this database has not applied yet, each once, in order. */
export async function runMigrations(
  client: pg.ClientBase,
  app: CoreApp,
  migrations: readonly Migration[] = MIGRATIONS[app],
): Promise<MigrationReport> {
  checkOrder(app, migrations);
  const { rows: recovery } = await client.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
  if (recovery[0]?.standby) return { applied: [], readOnly: true };

  const lockKey = `tsr:migrations:${app}`;
  await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
  try {
    await client.query(SCHEMA_MIGRATIONS);
    const node = await nodeId(client);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations WHERE node = $1', [
      node,
    ]);
    const done = new Set(rows.map((row) => row.version));
    const applied: number[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query(
          'INSERT INTO schema_migrations (node, version, name, applied_at) VALUES ($1, $2, $3, now())',
          [node, migration.version, migration.name],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(
          `${app} migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`,
        );
      }
      applied.push(migration.version);
    }
    return { applied };
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]).catch(() => undefined);
  }
}

/** Convenience for a pool: borrows one client for the run. */
export async function migratePool(pool: pg.Pool, app: CoreApp): Promise<MigrationReport> {
  const client = await pool.connect();
  try {
    return await runMigrations(client, app);
  } finally {
    client.release();
  }
}
