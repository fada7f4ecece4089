import { Construct } from 'constructs';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table/index.js';
import type { TableName } from '../../../config/model.js';
import { TIME_INDEX, TIME_INDEX_ATTRIBUTES, tableSchema } from '../../../config/table-schema.js';

export interface GlobalTablesProps {
  /** The global tables from deriveNames() (safe stores and audit). */
  readonly tables: readonly TableName[];
  readonly primaryRegion: string;
  /** Every region; each region but the primary gets a replica. */
  readonly regions: readonly string[];
  /** Customer-managed KMS key ARN per region (a multi-region key and its replicas). */
  readonly kmsKeyArnByRegion: Readonly<Record<string, string>>;
}

/**
 * What makes a table global here (the safe stores, the audit and the generator's ledger alike): replicated through
 * DynamoDB Streams to every other region, point-in-time recovery, SSE with the customer-managed key of each region.
 */
export function globalTableSettings(props: Pick<GlobalTablesProps, 'primaryRegion' | 'regions' | 'kmsKeyArnByRegion'>) {
  return {
    streamEnabled: true,
    streamViewType: 'NEW_AND_OLD_IMAGES',
    pointInTimeRecovery: { enabled: true },
    serverSideEncryption: { enabled: true, kmsKeyArn: props.kmsKeyArnByRegion[props.primaryRegion] },
    replica: props.regions
      .filter((region) => region !== props.primaryRegion)
      .map((region) => ({
        regionName: region,
        kmsKeyArn: props.kmsKeyArnByRegion[region],
        pointInTimeRecovery: true,
        propagateTags: true,
      })),
    deletionProtectionEnabled: false,
  };
}

/**
 * DynamoDB global tables (version 2019.11.21): on-demand, a replica in every region, point-in-time recovery and
 * SSE with a customer-managed KMS key in each region.
 *
 * Attributes (shared with the local target through config/table-schema.ts):
 * - `id` (S): record id, the partition key;
 * - `timeBucket` (S): the minute the record was accepted, "YYYY-MM-DDTHH:MM" UTC;
 * - `acceptedAt` (N): epoch milliseconds.
 * Index `by-time` (partition `timeBucket`, sort `acceptedAt`, all attributes) answers windowed queries with one
 * Query per minute of the window.
 */
export class GlobalTables extends Construct {
  /** Table ARN (in the primary region) by table name. */
  readonly arnByName: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: GlobalTablesProps) {
    super(scope, id);
    const arns: Record<string, string> = {};
    for (const table of props.tables) {
      if (!table.global) throw new Error(`${table.name} is not a global table`);
      const schema = tableSchema(table);
      const resource = new DynamodbTable(this, table.name, {
        name: table.name,
        billingMode: 'PAY_PER_REQUEST',
        hashKey: schema.partitionKey,
        attribute: [
          { name: schema.partitionKey, type: 'S' },
          ...(schema.timeIndex
            ? [
                { name: TIME_INDEX.partitionKey, type: 'S' },
                { name: TIME_INDEX.sortKey, type: 'N' },
              ]
            : []),
        ],
        globalSecondaryIndex: schema.timeIndex
          ? [
              {
                name: TIME_INDEX.name,
                hashKey: TIME_INDEX.partitionKey,
                rangeKey: TIME_INDEX.sortKey,
                projectionType: 'INCLUDE',
                nonKeyAttributes: TIME_INDEX_ATTRIBUTES,
              },
            ]
          : undefined,
        ...globalTableSettings(props),
        tags: { 'tsr:purpose': table.purpose, ...(table.app ? { 'tsr:app': table.app } : {}) },
      });
      arns[table.name] = resource.arn;
    }
    this.arnByName = arns;
  }
}
