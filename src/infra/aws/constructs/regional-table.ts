import { Construct } from 'constructs';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table/index.js';
import type { TableName } from '../../../config/model.js';
import { tableSchema } from '../../../config/table-schema.js';

export interface RegionalTableProps {
  /** A regional (not replicated) table from deriveNames(), e.g. the stream-consumer leases. */
  readonly table: TableName;
  readonly kmsKeyArn: string;
}

/** A DynamoDB table that lives in one region only (stream-consumer leases and checkpoints are per region). */
export class RegionalTable extends Construct {
  readonly arn: string;
  readonly name: string;

  constructor(scope: Construct, id: string, props: RegionalTableProps) {
    super(scope, id);
    if (props.table.global) throw new Error(`${props.table.name} is a global table`);
    const schema = tableSchema(props.table);
    const table = new DynamodbTable(this, 'table', {
      name: props.table.name,
      billingMode: 'PAY_PER_REQUEST',
      hashKey: schema.partitionKey,
      attribute: [{ name: schema.partitionKey, type: 'S' }],
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true, kmsKeyArn: props.kmsKeyArn },
      tags: { 'tsr:purpose': props.table.purpose },
    });
    this.arn = table.arn;
    this.name = props.table.name;
  }
}
