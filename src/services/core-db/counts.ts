import type pg from 'pg';

/** Rows per status from `sql` (which selects `status` and `n`), with every expected status present (zero if none). */
export async function countByStatus<S extends string>(
  pool: pg.Pool,
  sql: string,
  statuses: readonly S[],
): Promise<Record<S, number>> {
  const counts = Object.fromEntries(statuses.map((s) => [s, 0])) as Record<S, number>;
  const { rows } = await pool.query<{ status: S; n: string }>(sql);
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}
