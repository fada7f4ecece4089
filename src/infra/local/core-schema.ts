import type { AppName } from '../../config/apps.js';
import { runMigrations } from '../../services/core-db/migrations.js';
import { type PgServer, subscriptionName, withClient } from './postgres-replication.js';

/**
 * Applies the core database migrations in every region (logical replication does not carry DDL), readers first,
 * then has each reader's subscription pick up the new tables, so their rows replicate from then on. Readers first,
 * as PostgreSQL advises for additive changes: a table the writer creates and writes to (a migration that fills a
 * new table) would otherwise reach a reader that does not have it yet, and its apply worker would fail and restart.
 */
export async function applyCoreSchema(
  app: AppName,
  database: string,
  writer: PgServer,
  readers: readonly PgServer[],
  password: string,
): Promise<void> {
  for (const server of [...readers, writer]) {
    await withClient(server, password, database, (client) => runMigrations(client, app));
  }
  for (const reader of readers) {
    await withClient(reader, password, database, (client) =>
      client.query(`ALTER SUBSCRIPTION ${subscriptionName(database, reader.region)} REFRESH PUBLICATION`),
    );
  }
}
