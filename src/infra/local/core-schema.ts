import type { AppName } from '../../config/apps.js';
import { runMigrations } from '../../services/core-db/migrations.js';
import { type PgServer, subscriptionName, withClient } from './postgres-replication.js';

/**
 * Applies the core database migrations in every region (logical replication does not carry DDL), writer first,
 * then has each reader's subscription pick up the new tables, so their rows replicate from then on.
 */
export async function applyCoreSchema(
  app: AppName,
  database: string,
  writer: PgServer,
  readers: readonly PgServer[],
  password: string,
): Promise<void> {
  for (const server of [writer, ...readers]) {
    await withClient(server, password, database, (client) => runMigrations(client, app));
  }
  for (const reader of readers) {
    await withClient(reader, password, database, (client) =>
      client.query(`ALTER SUBSCRIPTION ${subscriptionName(database, reader.region)} REFRESH PUBLICATION`),
    );
  }
}
