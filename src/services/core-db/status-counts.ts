import type pg from 'pg';
import type { Migration } from './migration.js';

/**
 * Records per business status, kept by the database itself, so that reading them costs a primary-key range read of
 * at most `statuses × STATUS_COUNT_SLOTS` rows whatever the table's size (the dashboard reads them every few seconds;
 * a GROUP BY over the table would scan it each time).
 *
 * A row trigger on the counted table adds +1/-1 to `status_counts` in the same transaction as the change. Each
 * session writes its own slot (its backend pid modulo the slot count), so concurrent transactions rarely wait on the
 * same counter row until they commit; within a change, counter rows are taken in status order, so two transactions
 * never wait on each other in a cycle. A read sums the slots.
 *
 * Replication: the core databases publish FOR ALL TABLES, so `status_counts` replicates like the rows it counts, in
 * the same transaction. The trigger is left at the default (fires for local writes only, not when the logical
 * replication worker applies a change; ENABLE ALWAYS would count every replicated change twice): a reader's counts
 * are the writer's, committed with the rows they count, and after a writer move the new writer counts on from them.
 * Only a database that is not a subscriber fills the table from its rows when the migration is applied (an existing
 * deployment); a subscriber gets the writer's counts when its subscription picks up the new table.
 */
export const STATUS_COUNT_SLOTS = 16;

const FUNCTION = `
CREATE TABLE IF NOT EXISTS status_counts (
  table_name text NOT NULL,
  status text NOT NULL,
  slot smallint NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (table_name, status, slot)
);
CREATE OR REPLACE FUNCTION tsr_count_status() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  v_slot smallint := pg_backend_pid() % ${STATUS_COUNT_SLOTS};
  v_old text;
  v_new text;
  v_change record;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM status_counts WHERE table_name = TG_TABLE_NAME;
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN v_old := OLD.status; END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN v_new := NEW.status; END IF;
  IF v_old IS NOT DISTINCT FROM v_new THEN RETURN NULL; END IF;
  FOR v_change IN
    SELECT d.status, d.delta FROM (VALUES (v_old, -1), (v_new, 1)) AS d (status, delta)
    WHERE d.status IS NOT NULL ORDER BY d.status
  LOOP
    INSERT INTO status_counts AS c (table_name, status, slot, n)
    VALUES (TG_TABLE_NAME, v_change.status, v_slot, v_change.delta)
    ON CONFLICT (table_name, status, slot) DO UPDATE SET n = c.n + EXCLUDED.n;
  END LOOP;
  RETURN NULL;
END
$fn$;
`;

/** The migration that creates `status_counts` (if needed) and counts `table` from now on. Idempotent. */
export function statusCountsMigration(version: number, table: string): Migration {
  return {
    version,
    name: `status counts of ${table}`,
    sql: `
-- No change to ${table} between counting its rows and the trigger taking over.
LOCK TABLE ${table} IN SHARE ROW EXCLUSIVE MODE;
${FUNCTION}
DROP TRIGGER IF EXISTS ${table}_status_counts ON ${table};
CREATE TRIGGER ${table}_status_counts AFTER INSERT OR DELETE OR UPDATE OF status ON ${table}
  FOR EACH ROW EXECUTE FUNCTION tsr_count_status();
DROP TRIGGER IF EXISTS ${table}_status_counts_truncate ON ${table};
CREATE TRIGGER ${table}_status_counts_truncate AFTER TRUNCATE ON ${table}
  FOR EACH STATEMENT EXECUTE FUNCTION tsr_count_status();
DO $do$ BEGIN
  IF NOT EXISTS (SELECT s.subdbid FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid
                 WHERE d.datname = current_database()) THEN
    DELETE FROM status_counts WHERE table_name = '${table}';
    INSERT INTO status_counts (table_name, status, slot, n)
      SELECT '${table}', status, 0, count(*) FROM ${table} GROUP BY status;
  END IF;
END $do$;
`,
  };
}

/** Per status, the records `table` holds: one primary-key range read of `status_counts` (every status present). */
export async function readStatusCounts<S extends string>(
  db: Pick<pg.Pool, 'query'>,
  table: string,
  statuses: readonly S[],
): Promise<Record<S, number>> {
  const counts = Object.fromEntries(statuses.map((s) => [s, 0])) as Record<S, number>;
  const { rows } = await db.query<{ status: S; n: string }>(
    'SELECT status, sum(n) AS n FROM status_counts WHERE table_name = $1 GROUP BY status',
    [table],
  );
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}
