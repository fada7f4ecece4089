import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ResourceInUseException as StreamInUse,
} from '@aws-sdk/client-kinesis';
import type { ResourceNames } from '../../config/model.js';
import { TIME_INDEX, TIME_INDEX_ATTRIBUTES, tableSchema } from '../../config/table-schema.js';
import { dynamoClient, kinesisClient } from '../../clients/aws-clients.js';

const SHARDS_PER_STREAM = 2;

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not become ACTIVE within ${timeoutMs / 1000} s`);
}

/** Creates one stream (an existing one is kept) and waits until it is ACTIVE: a CREATING one refuses puts. */
export async function createActiveStream(
  client: KinesisClient,
  name: string,
  shards = SHARDS_PER_STREAM,
): Promise<void> {
  try {
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  } catch (error) {
    if (!(error instanceof StreamInUse)) throw error;
  }
  await waitFor(async () => {
    const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    return StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
  }, `stream ${name}`);
}

/** Creates every stream of every app in one region's Kinesis; existing streams are kept (deploy is re-runnable). */
export async function createStreams(region: string, endpoint: string, names: ResourceNames): Promise<void> {
  const client = kinesisClient({ region, endpoint });
  try {
    await Promise.all(names.streams.map(({ name }) => createActiveStream(client, name)));
  } finally {
    client.destroy();
  }
}

export function createTableInput(table: ResourceNames['tables'][number]): CreateTableCommandInput {
  const schema = tableSchema(table);
  const attributes = [{ AttributeName: schema.partitionKey, AttributeType: 'S' as const }];
  if (!schema.timeIndex) {
    return {
      TableName: table.name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: attributes,
      KeySchema: [{ AttributeName: schema.partitionKey, KeyType: 'HASH' }],
    };
  }
  return {
    TableName: table.name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      ...attributes,
      { AttributeName: TIME_INDEX.partitionKey, AttributeType: 'S' },
      { AttributeName: TIME_INDEX.sortKey, AttributeType: 'N' },
    ],
    KeySchema: [{ AttributeName: schema.partitionKey, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: TIME_INDEX.name,
        KeySchema: [
          { AttributeName: TIME_INDEX.partitionKey, KeyType: 'HASH' },
          { AttributeName: TIME_INDEX.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: TIME_INDEX_ATTRIBUTES },
      },
    ],
  };
}

/** Creates every table (safe stores, leases, audit) in one region's DynamoDB; existing tables are kept. */
export async function createTables(region: string, endpoint: string, names: ResourceNames): Promise<void> {
  const client = dynamoClient({ region, endpoint });
  try {
    await Promise.all(
      names.tables.map(async (table) => {
        try {
          await client.send(new CreateTableCommand(createTableInput(table)));
        } catch (error) {
          if (!(error instanceof ResourceInUseException)) throw error;
        }
        await waitFor(async () => {
          const { Table } = await client.send(new DescribeTableCommand({ TableName: table.name }));
          return Table?.TableStatus === 'ACTIVE';
        }, `table ${table.name}`);
      }),
    );
  } finally {
    client.destroy();
  }
}
