/**
 * A core database read through the RDS Data API (the AWS target, docs/gamedays.md#on-aws): the Aurora clusters are
 * private to each region's VPC, and the Data API reaches them over HTTPS with IAM and the master secret. The adapter
 * speaks the verdict's QueryClient: `$1…$n` parameters become named ones, BEGIN/COMMIT become a Data API
 * transaction (the statements of one "connection" share it, so a cursor lives across calls), and values come back
 * as pg gives them.
 */
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  type ColumnMetadata,
  type Field,
  type RDSDataClient,
  RollbackTransactionCommand,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import { ExitCode, UserError } from '../errors.js';
import { toUserError } from '../platform/aws/aws-errors.js';
import type { DatabaseCopy, QueryClient } from './sources.js';

/** Where the Data API reads one app's core database: the writer cluster, in its region. */
export interface DataApiTarget {
  readonly client: RDSDataClient;
  readonly resourceArn: string;
  /** The master secret's copy in the cluster's region (never read by tsr itself: the Data API opens it). */
  readonly secretArn: string;
  /** The operator policy that grants these calls, to name when they are denied. */
  readonly policyArn?: string;
}

/**
 * Rows per Data API call. A response is at most 1 MiB: the verdict's widest row (a trade side with its allocations'
 * results, in the typed record format) is a few hundred bytes, so 1,000 rows stay well under it. A larger FETCH is
 * split into calls of this many.
 */
export const DATA_API_FETCH_ROWS = 1_000;

const BEGIN = /^\s*(?:BEGIN|START\s+TRANSACTION)\b(.*)$/is;
const COMMIT = /^\s*(?:COMMIT|END)\b/i;
const ROLLBACK = /^\s*ROLLBACK\b/i;
const FETCH = /^\s*FETCH\s+(\d+)\s+FROM\s+(\w+)\s*$/i;
/** Quoted text is skipped, so a `$1` inside a literal or an identifier stays as it is. */
const PLACEHOLDER = /'(?:[^']|'')*'|"(?:[^"]|"")*"|\$(\d+)/g;

/** A PostgreSQL array literal of strings: `{"a","b"}`, each element quoted and escaped. */
function arrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}

/** `2026-05-01 10:00:00.123`: the Data API's TIMESTAMP form (UTC). */
const timestampText = (date: Date) => date.toISOString().replace('T', ' ').replace('Z', '');

/**
 * One value as a named parameter, and the SQL that stands for it. The Data API takes no array parameters, so an
 * array travels as the text of a PostgreSQL array literal cast back to an array.
 */
export function toParameter(name: string, value: unknown): { parameter: SqlParameter; sql: string } {
  const named = (field: Field, typeHint?: SqlParameter['typeHint']) => ({
    parameter: { name, value: field, ...(typeHint ? { typeHint } : {}) },
    sql: `:${name}`,
  });
  if (value === null || value === undefined) return named({ isNull: true });
  if (typeof value === 'string') return named({ stringValue: value });
  if (typeof value === 'boolean') return named({ booleanValue: value });
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? named({ longValue: value }) : named({ doubleValue: value });
  }
  if (typeof value === 'bigint') {
    return { parameter: { name, value: { stringValue: String(value) } }, sql: `CAST(:${name} AS bigint)` };
  }
  if (value instanceof Date) return named({ stringValue: timestampText(value) }, 'TIMESTAMP');
  if (Buffer.isBuffer(value)) return named({ blobValue: value });
  if (Array.isArray(value)) {
    const type = value.every((v) => typeof v === 'string')
      ? 'text'
      : value.every((v) => typeof v === 'number' && Number.isSafeInteger(v))
        ? 'bigint'
        : undefined;
    if (type) {
      return {
        parameter: { name, value: { stringValue: arrayLiteral(value.map(String)) } },
        sql: `CAST(:${name} AS ${type}[])`,
      };
    }
  }
  throw new Error(`the Data API adapter cannot pass parameter ${name} (${typeof value})`);
}

/** `$1…$n` as named parameters `:p1…:pn`, with their values. */
export function toNamedStatement(
  text: string,
  values: readonly unknown[] = [],
): {
  sql: string;
  parameters: SqlParameter[];
} {
  const parameters = new Map<number, { parameter: SqlParameter; sql: string }>();
  const sql = text.replace(PLACEHOLDER, (match, index: string | undefined) => {
    if (index === undefined) return match;
    const n = Number(index);
    if (n < 1 || n > values.length) throw new Error(`statement uses $${n}, but ${values.length} value(s) were given`);
    let translated = parameters.get(n);
    if (!translated) parameters.set(n, (translated = toParameter(`p${n}`, values[n - 1])));
    return translated.sql;
  });
  return { sql, parameters: [...parameters.values()].map((p) => p.parameter) };
}

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` as UTC (timestamptz) or as local time (timestamp, as pg reads it). */
function parseTimestamp(text: string, utc: boolean): Date {
  const iso = text.replace(' ', 'T');
  return new Date(utc && !/[zZ]|[+-]\d\d(:?\d\d)?$/.test(iso) ? `${iso}Z` : iso);
}

function plain(field: Field): unknown {
  if (field.isNull) return null;
  if (field.arrayValue) {
    const a = field.arrayValue;
    return a.arrayValues
      ? a.arrayValues.map((v) => (v ? plain({ arrayValue: v }) : null))
      : (a.stringValues ?? a.longValues ?? a.doubleValues ?? a.booleanValues ?? []);
  }
  return field.stringValue ?? field.longValue ?? field.doubleValue ?? field.booleanValue ?? field.blobValue ?? null;
}

/**
 * A field as pg's default parsers give it, by the column's PostgreSQL type: int8 and numeric as text (exact), other
 * numbers as numbers, timestamps and dates as Dates, json as values, bytea as a Buffer.
 */
export function fromField(field: Field, column: ColumnMetadata = {}): unknown {
  const value = plain(field);
  if (value === null) return null;
  switch ((column.typeName ?? '').toLowerCase()) {
    case 'int8':
    case 'bigint':
    case 'bigserial':
    case 'numeric':
    case 'decimal':
      return String(value);
    case 'int2':
    case 'int4':
    case 'serial':
    case 'oid':
    case 'float4':
    case 'float8':
      return Number(value);
    case 'timestamptz':
      return parseTimestamp(String(value), true);
    case 'timestamp':
      return parseTimestamp(String(value), false);
    case 'date': {
      const [y, m, d] = String(value).split('-').map(Number);
      return new Date(y, m - 1, d);
    }
    case 'json':
    case 'jsonb':
      return typeof value === 'string' ? JSON.parse(value) : value;
    case 'bytea':
      return value instanceof Uint8Array ? Buffer.from(value) : value;
    default:
      return value;
  }
}

/** Rows as objects keyed by column label, as pg gives them. */
export function toRows(records: Field[][] = [], columns: ColumnMetadata[] = []): Record<string, unknown>[] {
  return records.map((record) =>
    Object.fromEntries(
      record.map((field, i) => [columns[i]?.label ?? columns[i]?.name ?? `?column?${i}`, fromField(field, columns[i])]),
    ),
  );
}

/** A Data API failure as a message without the secret's ARN, with the fix when there is one. */
function dataApiError(error: unknown, target: DataApiTarget, database: string): Error {
  const name = (error as { name?: string }).name ?? '';
  const message = ((error as Error).message ?? String(error)).replaceAll(target.secretArn, '<database secret>');
  const action = `reading ${database} through the RDS Data API (${target.resourceArn})`;
  if (name === 'AccessDeniedException' || name === 'ForbiddenException') {
    return new UserError(
      `${action} was denied: ${message}`,
      `attach the verdict's reader policy to the credentials tsr uses (${target.policyArn ?? 'the global stack output verdict_reader_policy_arn'})`,
      ExitCode.refused,
    );
  }
  if (name === 'HttpEndpointNotEnabledException') {
    return new UserError(
      `${action}: the Data API is not enabled on the cluster`,
      'run `tsr deploy --target aws` again: the stacks enable it on every core database cluster',
      ExitCode.notDeployed,
    );
  }
  // Mapped from a copy carrying the redacted message: no secret ARN in any message tsr prints.
  const mapped = toUserError(Object.assign(new Error(message), { name }), action);
  if (mapped instanceof UserError) return mapped;
  return new Error(`${action}: ${name ? `${name}: ` : ''}${message}`);
}

/**
 * A QueryClient on one database through the Data API. BEGIN opens a Data API transaction that every following
 * statement joins until COMMIT or ROLLBACK (or end(), which rolls back). Data API transactions start read-write
 * (BeginTransaction takes no access mode or isolation level): a BEGIN … READ ONLY makes its transaction read-only
 * with SET TRANSACTION READ ONLY, allowed at any point of it. The isolation stays the cluster's default, READ
 * COMMITTED, which is all the verdict needs: each of its transactions declares one cursor, and a cursor reads one
 * snapshot for as long as it is open.
 */
export class DataApiClient implements QueryClient {
  private transactionId?: string;
  private ended = false;

  constructor(
    private readonly target: DataApiTarget,
    private readonly database: string,
    private readonly fetchRows = DATA_API_FETCH_ROWS,
  ) {}

  async query(text: string, values: unknown[] = []): Promise<{ rows: unknown[] }> {
    if (this.ended) throw new Error('the Data API client was ended');
    const begin = BEGIN.exec(text);
    if (begin) {
      if (this.transactionId) throw new Error('a transaction is already open on this client');
      const answer = await this.send((client) =>
        client.send(
          new BeginTransactionCommand({
            resourceArn: this.target.resourceArn,
            secretArn: this.target.secretArn,
            database: this.database,
          }),
        ),
      );
      this.transactionId = answer.transactionId;
      if (/\bREAD\s+ONLY\b/i.test(begin[1])) await this.execute('SET TRANSACTION READ ONLY', []);
      return { rows: [] };
    }
    if (COMMIT.test(text) || ROLLBACK.test(text)) {
      await this.finish(COMMIT.test(text));
      return { rows: [] };
    }
    const fetch = FETCH.exec(text);
    if (fetch && Number(fetch[1]) > this.fetchRows)
      return { rows: await this.fetchInParts(Number(fetch[1]), fetch[2]) };
    return { rows: await this.execute(text, values) };
  }

  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.finish(false).catch(() => undefined);
  }

  /** FETCH `count` as calls of at most `fetchRows` rows each, stopping at the cursor's end. */
  private async fetchInParts(count: number, cursor: string): Promise<unknown[]> {
    const rows: unknown[] = [];
    while (rows.length < count) {
      const want = Math.min(this.fetchRows, count - rows.length);
      const part = await this.execute(`FETCH ${want} FROM ${cursor}`, []);
      rows.push(...part);
      if (part.length < want) break;
    }
    return rows;
  }

  private async finish(commit: boolean): Promise<void> {
    const transactionId = this.transactionId;
    if (!transactionId) return;
    this.transactionId = undefined;
    const common = { resourceArn: this.target.resourceArn, secretArn: this.target.secretArn, transactionId };
    await this.send((client) =>
      commit ? client.send(new CommitTransactionCommand(common)) : client.send(new RollbackTransactionCommand(common)),
    );
  }

  private async execute(text: string, values: readonly unknown[]): Promise<Record<string, unknown>[]> {
    const { sql, parameters } = toNamedStatement(text, values);
    const answer = await this.send((client) =>
      client.send(
        new ExecuteStatementCommand({
          resourceArn: this.target.resourceArn,
          secretArn: this.target.secretArn,
          database: this.database,
          sql,
          ...(parameters.length ? { parameters } : {}),
          ...(this.transactionId ? { transactionId: this.transactionId } : {}),
          includeResultMetadata: true,
          // Whole numbers and decimals as text, so an int8 or a numeric keeps every digit (pg gives them as text too).
          resultSetOptions: { longReturnType: 'STRING', decimalReturnType: 'STRING' },
        }),
      ),
    );
    return toRows(answer.records, answer.columnMetadata);
  }

  private async send<T>(call: (client: RDSDataClient) => Promise<T>): Promise<T> {
    try {
      return await call(this.target.client);
    } catch (error) {
      throw dataApiError(error, this.target, this.database);
    }
  }
}

/** A copy read through the Data API (the writer's cluster); `unavailable` says why it cannot be read, if so. */
export function dataApiCopy(region: string, target: DataApiTarget | undefined, unavailable?: string): DatabaseCopy {
  return {
    region,
    unavailable: target ? unavailable : (unavailable ?? `no Data API target for ${region}`),
    async connect(database) {
      if (!target) throw new Error(unavailable ?? `no Data API target for ${region}`);
      return new DataApiClient(target, database);
    },
  };
}
