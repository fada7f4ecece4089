import type { TableName } from './model.js';

/**
 * Key schema of every table, shared by the local engines and the AWS stacks so both targets store records alike.
 * Safe stores and the audit table are keyed by record id and carry a time index: `timeBucket` (the minute the record
 * was accepted, "YYYY-MM-DDTHH:MM" UTC) as partition and `acceptedAt` (epoch ms) as sort key, so a window is read
 * with one Query per minute instead of a table scan.
 */
export const TIME_INDEX = {
  name: 'by-time',
  partitionKey: 'timeBucket',
  sortKey: 'acceptedAt',
} as const;

/**
 * What the time index carries besides the keys: the attributes reconciliation and the observe steps read, never the
 * payload. Every write of a record also writes its index entry, so a whole-item copy (ProjectionType ALL) doubled
 * what each write stores and costs; a reader that needs whole records gets them from the table by id.
 */
export const TIME_INDEX_ATTRIBUTES = ['kind', 'status', 'origin', 'forwarded', 'forwardedAt', 'region', 'stage'];

export interface TableSchema {
  readonly partitionKey: string;
  readonly timeIndex: boolean;
}

export function tableSchema(table: TableName): TableSchema {
  if (table.purpose === 'leases') return { partitionKey: 'leaseKey', timeIndex: false };
  return { partitionKey: 'id', timeIndex: true };
}

/** The minute bucket a record accepted at `epochMs` belongs to. */
export function timeBucket(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 16);
}
