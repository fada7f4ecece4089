import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { AppName } from '../config/apps.js';
import type { LocalState } from '../infra/local/state.js';
import { readStatusCounts } from '../services/core-db/status-counts.js';

/** Per app: the table whose rows carry the business status, and the statuses it can hold. */
const STATUS_TABLES: Record<AppName, { table: string; statuses: readonly string[] }> = {
  trade: { table: 'trade_sides', statuses: ['UNMATCHED', 'MATCHED', 'MISMATCHED', 'SETTLED'] },
  settlement: { table: 'settlements', statuses: ['UNMATCHED', 'MISMATCHED', 'SETTLED'] },
};

/**
 * Business records per status in each app's core database, read on the writer from the counts the database keeps
 * itself (`status_counts`, maintained by a trigger: one primary-key range read, never a scan of the table), on its
 * own schedule (every few seconds, not per page refresh), through one small pool per database.
 */
export class BusinessCounts {
  private readonly pools = new Map<string, pg.Pool>();

  constructor(
    private readonly workspace: string,
    private readonly databases: Readonly<Record<AppName, string>>,
  ) {}

  private pool(state: LocalState, app: AppName): pg.Pool {
    const writer = state.writers[app];
    const endpoint = state.endpoints.regions[writer]?.postgres;
    const key = `${app}@${writer}:${endpoint?.port}`;
    let pool = this.pools.get(key);
    if (!pool) {
      const password = readFileSync(path.join(this.workspace, 'secrets', 'postgres-password'), 'utf8').trim();
      pool = new pg.Pool({
        host: endpoint?.host,
        port: endpoint?.port,
        user: endpoint?.user,
        password,
        database: this.databases[app],
        max: 1,
        idleTimeoutMillis: 30_000,
        connectionTimeoutMillis: 2_000,
        statement_timeout: 2_000,
      });
      pool.on('error', () => undefined); // a lost region drops its connections; the next read says so
      this.pools.set(key, pool);
    }
    return pool;
  }

  async read(
    state: LocalState,
    apps: readonly AppName[],
  ): Promise<Record<string, Record<string, number> | { error: string }>> {
    const entries = await Promise.all(
      apps.map(async (app) => {
        try {
          const { table, statuses } = STATUS_TABLES[app];
          return [app, await readStatusCounts(this.pool(state, app), table, statuses)] as const;
        } catch (error) {
          return [app, { error: `core database of ${app} in ${state.writers[app]}: ${(error as Error).message}` }];
        }
      }),
    );
    return Object.fromEntries(entries);
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.end().catch(() => undefined)));
    this.pools.clear();
  }
}
