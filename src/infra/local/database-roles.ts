import type pg from 'pg';
import { POSTGRES_USER, PUBLICATION, type PgServer, subscriptionName, withClient } from './postgres-replication.js';

/**
 * Moving the writer of a logically replicated database between regions, the local counterpart of Aurora's
 * switchover (planned, no loss) and failover (forced, the last replicated state wins).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lets a database take writes again; the session itself must opt out first, as it starts read-only too. */
async function allowWrites(client: pg.Client, database: string): Promise<void> {
  await client.query('SET default_transaction_read_only = off');
  await client.query(`ALTER DATABASE ${database} SET default_transaction_read_only = off`);
}
const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;

function conninfo(writer: PgServer, database: string, password: string): string {
  return `host=127.0.0.1 port=${writer.port} user=${POSTGRES_USER} password=${password} dbname=${database}`;
}

async function subscriptionsOf(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query(
    `SELECT s.subname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = current_database()`,
  );
  return rows.map((r: { subname: string }) => r.subname);
}

/** Drops this database's subscriptions; `detach` leaves the slot on the (unreachable) publisher alone. */
async function dropSubscriptions(client: pg.Client, detach: boolean): Promise<void> {
  for (const name of await subscriptionsOf(client)) {
    await client.query(`ALTER SUBSCRIPTION ${name} DISABLE`);
    if (detach) await client.query(`ALTER SUBSCRIPTION ${name} SET (slot_name = NONE)`);
    await client.query(`DROP SUBSCRIPTION ${name}`);
  }
}

async function ensurePublication(client: pg.Client): Promise<void> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [PUBLICATION]);
  if (!rowCount) await client.query(`CREATE PUBLICATION ${PUBLICATION} FOR ALL TABLES`);
}

async function subscribe(
  reader: PgServer,
  writer: PgServer,
  database: string,
  password: string,
  copyData: boolean,
): Promise<void> {
  await withClient(reader, password, database, async (client) => {
    const name = subscriptionName(database, reader.region);
    await client.query(
      `CREATE SUBSCRIPTION ${name} CONNECTION ${quote(conninfo(writer, database, password))} PUBLICATION ${PUBLICATION} WITH (copy_data = ${copyData})`,
    );
  });
}

/** Replication slots on a writer that no subscriber uses any more (left by a reader that was re-pointed). */
async function dropInactiveSlots(server: PgServer, database: string, password: string): Promise<void> {
  await withClient(server, password, database, async (client) => {
    await client.query(
      `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database() AND NOT active AND slot_type = 'logical'`,
    );
  });
}

/**
 * Planned move: stop writes on `from`, wait until every reader has applied everything `from` wrote, then make `to`
 * the writer and every other region (including `from`) its subscriber, without copying data again.
 */
export async function switchoverWriter(options: {
  database: string;
  from: PgServer;
  to: PgServer;
  others: readonly PgServer[];
  password: string;
  timeoutMs?: number;
}): Promise<{ caughtUpLsn: string }> {
  const { database, from, to, others, password } = options;
  const readers = [to, ...others];
  // 1. No more writes on the old writer: new sessions are read-only, existing ones are ended.
  const lsn = await withClient(from, password, database, async (client) => {
    await client.query(`ALTER DATABASE ${database} SET default_transaction_read_only = on`);
    await client.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    );
    const { rows } = await client.query('SELECT pg_current_wal_lsn()::text AS lsn');
    return rows[0].lsn as string;
  });
  // 2. Every reader has applied up to that point (measured at the publisher, never assumed).
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const behind = await withClient(from, password, database, async (client) => {
      const { rows } = await client.query(
        `SELECT application_name FROM pg_stat_replication WHERE application_name = ANY($1) AND replay_lsn >= $2::pg_lsn`,
        [readers.map((r) => subscriptionName(database, r.region)), lsn],
      );
      const done = new Set(rows.map((r: { application_name: string }) => r.application_name));
      return readers.filter((r) => !done.has(subscriptionName(database, r.region))).map((r) => r.region);
    });
    if (!behind.length) break;
    if (Date.now() > deadline) {
      await withClient(from, password, database, (c) => allowWrites(c, database));
      throw new Error(
        `readers in ${behind.join(', ')} did not catch up to ${lsn} in time; the writer stays in ${from.region}`,
      );
    }
    await sleep(100);
  }
  // 3. Reverse: readers drop their subscriptions to the old writer; the new writer publishes; everyone else subscribes.
  for (const reader of readers) await withClient(reader, password, database, (c) => dropSubscriptions(c, false));
  await withClient(to, password, database, ensurePublication);
  // Slots `to` kept from an earlier term as writer (its readers detached from them when it was lost) carry the names
  // the new subscriptions need.
  await dropInactiveSlots(to, database, password);
  await withClient(from, password, database, async (c) => {
    await allowWrites(c, database);
    // Sessions opened while writes were stopped (a pool reconnecting after step 1) keep read-only as their default
    // for good: end them, so that when this region is the writer again its services do not fail every write with
    // "cannot execute INSERT in a read-only transaction" until their pooled connections happen to be replaced.
    await c.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    );
  });
  for (const reader of [from, ...others]) await subscribe(reader, to, database, password, false);
  return { caughtUpLsn: lsn };
}

/**
 * Forced move: `to` stops following the (impaired) writer and becomes the writer with what it has; the other live
 * readers follow it. The old writer is left alone until it rejoins as a replica.
 */
export async function failoverWriter(options: {
  database: string;
  to: PgServer;
  others: readonly PgServer[];
  password: string;
}): Promise<void> {
  const { database, to, others, password } = options;
  await withClient(to, password, database, (c) => dropSubscriptions(c, true));
  await withClient(to, password, database, ensurePublication);
  for (const reader of others) {
    await withClient(reader, password, database, (c) => dropSubscriptions(c, true));
    await subscribe(reader, to, database, password, false);
  }
}

/**
 * A recovered old writer rejoins as a replica: what only it had (accepted but never replicated, the data at risk
 * that reconciliation reports) is discarded, and it copies the current writer's data afresh.
 */
export async function rejoinAsReplica(options: {
  database: string;
  server: PgServer;
  writer: PgServer;
  password: string;
}): Promise<void> {
  const { database, server, writer, password } = options;
  await withClient(server, password, database, async (client) => {
    await dropSubscriptions(client, true);
    await allowWrites(client, database);
    await client.query(`DROP PUBLICATION IF EXISTS ${PUBLICATION}`);
    const { rows } = await client.query(
      `SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public'`,
    );
    if (rows.length) await client.query(`TRUNCATE ${rows.map((r: { name: string }) => r.name).join(', ')} CASCADE`);
  });
  // Its own slots from when it was the writer: the readers detached from them at the failover.
  await dropInactiveSlots(server, database, password);
  await dropInactiveSlots(writer, database, password);
  await subscribe(server, writer, database, password, true);
}

export { dropInactiveSlots };
