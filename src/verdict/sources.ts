/**
 * Where the verdict reads: the generator's files in a workspace, each app's core databases (the writer, and the
 * replicas to compare with it) and the safe stores of every region. A game day passes its platform; a benchmark or a
 * test may pass its own sources.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import type { AppName } from '../config/apps.js';
import { ExitCode, UserError } from '../errors.js';
import { workspacePaths } from '../infra/local/state.js';
import { LocalPlatform } from '../platform/local-platform.js';
import { fileLedger, type LedgerSource } from '../platform/ledger-source.js';
import type { Platform } from '../platform/platform.js';

/**
 * What the verdict asks of a connection to a core database: text with `$1…$n` parameters in, rows out. A `pg.Client`
 * is one (the local target); so is the RDS Data API adapter (the AWS target, src/verdict/data-api-copy.ts).
 */
export interface QueryClient {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  end(): Promise<void>;
}

/** One PostgreSQL server holding a copy of an app's core database. */
export interface DatabaseCopy {
  readonly region: string;
  /** A connected client on `database` (the caller ends it). */
  connect(database: string): Promise<QueryClient>;
  /** Why it cannot be read (its region is down), if so. */
  readonly unavailable?: string;
}

export interface VerdictSources {
  /** Holds `generator/ledger-*.jsonl` (where the ledger is read when `ledger` is not given). */
  readonly workspace: string;
  /** Where the generator's ledger and confirmations are (default: the workspace's files). */
  readonly ledger?: LedgerSource;
  /** Database name per app. */
  readonly databases: Readonly<Record<AppName, string>>;
  /** The copy holding the writer, and the others, per app. */
  copies(app: AppName): { writer: DatabaseCopy; replicas: DatabaseCopy[] };
  /** Safe-store tables to compare across regions, and a client per region (none: not compared). */
  readonly safeStores?: {
    readonly tables: readonly string[];
    readonly regions: readonly { readonly region: string; readonly unavailable?: string }[];
    client(region: string): DynamoDBClient;
  };
}

export function isSources(value: Platform | VerdictSources): value is VerdictSources {
  return typeof (value as VerdictSources).copies === 'function';
}

/** A PostgreSQL server on 127.0.0.1 reached as the local platform's superuser. */
export function localCopy(region: string, port: number, password: string, unavailable?: string): DatabaseCopy {
  return {
    region,
    unavailable,
    async connect(database) {
      const client = new pg.Client({
        host: '127.0.0.1',
        port,
        user: 'postgres',
        password,
        database,
        connectionTimeoutMillis: 5_000,
      });
      client.on('error', () => undefined);
      await client.connect();
      return client;
    },
  };
}

/** The sources of a deployed local platform, as its state says now (writers move during a drill). */
export function localSources(platform: LocalPlatform): VerdictSources {
  const state = platform.drills.state();
  const workspace = platform.config.workspace;
  let password: string;
  try {
    password = readFileSync(path.join(workspacePaths(workspace).secrets, 'postgres-password'), 'utf8').trim();
  } catch {
    throw new UserError(
      `cannot read the database password in ${workspacePaths(workspace).secrets}`,
      'run tsr verify in the workspace of the deployed platform (or pass --workspace)',
      ExitCode.notDeployed,
    );
  }
  const down = new Set(state.downRegions ?? []);
  const copy = (region: string) =>
    localCopy(
      region,
      state.endpoints.regions[region].postgres.port,
      password,
      down.has(region) ? `region ${region} is down` : undefined,
    );
  return {
    workspace,
    ledger: platform.ledger(),
    databases: platform.names.databases,
    copies(app) {
      const writer = state.writers[app];
      return { writer: copy(writer), replicas: state.regions.filter((r) => r !== writer).map(copy) };
    },
    safeStores: {
      tables: platform.names.tables.filter((t) => t.global).map((t) => t.name),
      regions: state.regions.map((region) => ({
        region,
        unavailable: down.has(region) ? `region ${region} is down` : undefined,
      })),
      client: (region) => platform.safeStoreClient(region),
    },
  };
}

/** Where the sources' ledger is. */
export function ledgerOfSources(sources: VerdictSources): LedgerSource {
  return sources.ledger ?? fileLedger(sources.workspace);
}
