import { Construct } from 'constructs';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table/index.js';
import { globalTableSettings, type GlobalTablesProps } from './global-tables.js';

export interface GeneratorLedgerProps extends Pick<
  GlobalTablesProps,
  'primaryRegion' | 'regions' | 'kmsKeyArnByRegion'
> {
  /** `<env>-generator-ledger` (src/clients/generator-ledger.ts holds its key scheme). */
  readonly name: string;
}

/**
 * The generator's ledger on AWS (its task's root filesystem is read-only): a DynamoDB global table replicated like
 * the safe stores (on-demand, a replica in every region, point-in-time recovery, the customer-managed key), so the
 * verdict and the count of what was lost with a region can read it in any region that is left. Partition `run` (S),
 * sort `seq` (N).
 */
export class GeneratorLedger extends Construct {
  readonly arn: string;

  constructor(scope: Construct, id: string, props: GeneratorLedgerProps) {
    super(scope, id);
    const table = new DynamodbTable(this, 'table', {
      name: props.name,
      billingMode: 'PAY_PER_REQUEST',
      hashKey: 'run',
      rangeKey: 'seq',
      attribute: [
        { name: 'run', type: 'S' },
        { name: 'seq', type: 'N' },
      ],
      ...globalTableSettings(props),
      tags: { 'tsr:purpose': 'generator-ledger' },
    });
    this.arn = table.arn;
  }
}
