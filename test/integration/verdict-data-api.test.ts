import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DynamoDBClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import {
  DescribeDBClustersCommand,
  DescribeGlobalClustersCommand,
  type DescribeGlobalClustersCommandInput,
  RDSClient,
} from '@aws-sdk/client-rds';
import {
  BeginTransactionCommand,
  type BeginTransactionCommandInput,
  CommitTransactionCommand,
  type CommitTransactionCommandInput,
  type ExecuteStatementCommandInput,
  ExecuteStatementCommand,
  type Field,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import pg from 'pg';
import { loadConfig } from '../../src/config/load.js';
import { deriveNames, type ResourceNames } from '../../src/config/model.js';
import type { AwsDeploymentRecord } from '../../src/infra/aws/deployment-record.js';
import { AwsPlatform } from '../../src/platform/aws/aws-platform.js';
import { fileLedger } from '../../src/platform/ledger-source.js';
import { runMigrations } from '../../src/services/core-db/migrations.js';
import { DataApiClient } from '../../src/verdict/data-api-copy.js';
import { computeVerdict, localCopy, type VerdictSources } from '../../src/verdict/index.js';
import { cursorRows } from '../../src/verdict/streams.js';
import { awsRecord } from '../helpers/aws-record.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';

/**
 * The verdict on the AWS target reads the core databases through the RDS Data API. Here the Data API client is an
 * SDK mock that forwards each call to a real PostgreSQL (with the core schema of the migrations), as the Data API
 * does to the writer's cluster: named parameters, one session per transaction, typed records with column metadata,
 * the 1 MiB response limit. The same rows must come back as through pg directly, and the same verdict.
 */
const data = mockClient(RDSDataClient);
const rds = mockClient(RDSClient);
const dynamo = mockClient(DynamoDBClient);

const REGIONS = ['us-east-1', 'us-west-2'];
const ACCOUNT = '123456789012';
const RUN = 'r20260501';
const clusterArn = (short: string, region: string) =>
  `arn:aws:rds:${region}:${ACCOUNT}:cluster:tsr-test-${short}-core-${region}`;
const secretArn = (short: string) => `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:tsr/test/${short}-core-db-x1`;

let server: TestPostgres;
let dir: string;
const config = () => loadConfig({ environment: 'test', regions: REGIONS, target: 'aws' }, {}, dir);
const names = deriveNames({
  environment: 'test',
  regions: REGIONS,
  apps: ['trade', 'settlement'],
  aws: { shardsPerStream: 1, tasksPerService: 1, auroraInstanceClass: 'x', brokerInstanceType: 'y' },
});

// ---- the Data API, played by a real PostgreSQL ---------------------------------------------------------------

const TYPE_NAMES: Record<number, string> = {
  16: 'bool',
  20: 'int8',
  21: 'int2',
  23: 'int4',
  25: 'text',
  700: 'float4',
  701: 'float8',
  1043: 'varchar',
  1082: 'date',
  1114: 'timestamp',
  1184: 'timestamptz',
  1700: 'numeric',
  3802: 'jsonb',
};
const MIB = 1024 * 1024;
const sessions = new Map<string, pg.Client>();
let transactions = 0;
const responses: number[] = [];

async function session(database: string): Promise<pg.Client> {
  // Values as PostgreSQL's text, typed below as the Data API types them; timestamps in UTC, as the Data API gives.
  const client = new pg.Client({
    host: '127.0.0.1',
    port: server.port,
    user: 'postgres',
    password: server.password,
    database,
    types: { getTypeParser: () => (value: string) => value },
  });
  await client.connect();
  await client.query(`SET TimeZone = 'UTC'`);
  return client;
}

function valueOf(field: Field): unknown {
  if (field.isNull) return null;
  return field.stringValue ?? field.longValue ?? field.doubleValue ?? field.booleanValue ?? null;
}

function toField(text: string | null, type: number): Field {
  if (text === null) return { isNull: true };
  if (type === 16) return { booleanValue: text === 't' };
  if (type === 700 || type === 701) return { doubleValue: Number(text) };
  if (type === 1184) return { stringValue: text.replace(/\+00$/, '') };
  // Whole numbers and decimals as text: the adapter asks for longReturnType and decimalReturnType STRING.
  return { stringValue: text };
}

async function execute(input: ExecuteStatementCommandInput) {
  const own = input.transactionId ? undefined : await session(input.database as string);
  const client = own ?? sessions.get(input.transactionId as string);
  if (!client) throw Object.assign(new Error('Transaction not found'), { name: 'TransactionNotFoundException' });
  try {
    const values: unknown[] = [];
    const order = new Map<string, number>();
    for (const p of input.parameters ?? []) {
      order.set(p.name as string, values.length + 1);
      values.push(valueOf(p.value as Field));
    }
    const sql = (input.sql as string).replace(/(?<!:):(p\d+)\b/g, (_, name: string) => `$${order.get(name)}`);
    const result = await client.query({ text: sql, values, rowMode: 'array' });
    const records = (result.rows as (string | null)[][]).map((row) =>
      row.map((text, i) => toField(text, result.fields[i].dataTypeID)),
    );
    const answer = {
      records,
      columnMetadata: result.fields.map((f) => ({
        name: f.name,
        label: f.name,
        typeName: TYPE_NAMES[f.dataTypeID] ?? `oid${f.dataTypeID}`,
      })),
      numberOfRecordsUpdated: 0,
    };
    const size = JSON.stringify(answer).length;
    responses.push(size);
    if (size > MIB)
      throw Object.assign(new Error('Database returned more than the allowed response size limit'), {
        name: 'BadRequestException',
      });
    return answer;
  } catch (error) {
    const name = (error as { name?: string }).name;
    throw name === 'BadRequestException' || name === 'TransactionNotFoundException'
      ? error
      : Object.assign(new Error((error as Error).message), { name: 'DatabaseErrorException' });
  } finally {
    await own?.end();
  }
}

function playDataApi(): void {
  data.on(BeginTransactionCommand).callsFake(async (input: BeginTransactionCommandInput) => {
    const client = await session(input.database as string);
    await client.query('BEGIN');
    const transactionId = `tx-${++transactions}`;
    sessions.set(transactionId, client);
    return { transactionId };
  });
  const finish = (sql: 'COMMIT' | 'ROLLBACK') => async (input: CommitTransactionCommandInput) => {
    const client = sessions.get(input.transactionId as string);
    if (!client) throw Object.assign(new Error('Transaction not found'), { name: 'TransactionNotFoundException' });
    sessions.delete(input.transactionId as string);
    await client.query(sql);
    await client.end();
    return { transactionStatus: sql === 'COMMIT' ? 'Transaction Committed' : 'Rollback Complete' };
  };
  data.on(CommitTransactionCommand).callsFake(finish('COMMIT'));
  data.on(RollbackTransactionCommand).callsFake(finish('ROLLBACK'));
  data.on(ExecuteStatementCommand).callsFake(execute);
}

// ---- the rest of AWS: the global databases' writers and the ledger table ---------------------------------------

const ledgerLines: string[] = [];

function playAws(): void {
  rds.on(DescribeGlobalClustersCommand).callsFake((input: DescribeGlobalClustersCommandInput) => {
    const short = /tsr-test-(tm|st)-core/.exec(input.GlobalClusterIdentifier as string)?.[1] as string;
    return {
      GlobalClusters: [
        {
          GlobalClusterMembers: REGIONS.map((r, i) => ({ DBClusterArn: clusterArn(short, r), IsWriter: i === 0 })),
        },
      ],
    };
  });
  rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ HttpEndpointEnabled: true }] });
  dynamo.on(QueryCommand).callsFake((input: QueryCommandInput) => {
    const partition = input.ExpressionAttributeValues?.[':run']?.S;
    const lines = partition === 'runs' ? [RUN] : partition === RUN ? ledgerLines : [];
    return { Items: lines.length ? [{ lines: { S: lines.join('\n') } }] : [] };
  });
}

// ---- a few pairs in different states -----------------------------------------------------------------------

const T0 = Date.parse('2026-05-01T10:00:00.000Z');

interface PairSpec {
  readonly seq: number;
  readonly expected: 'MATCHED' | 'SETTLED';
  /** What the core holds for each side (undefined: the side is missing). */
  readonly found: readonly (string | undefined)[];
}

const PAIRS: readonly PairSpec[] = [
  { seq: 1, expected: 'MATCHED', found: ['MATCHED', 'MATCHED'] },
  { seq: 2, expected: 'SETTLED', found: ['SETTLED', 'SETTLED'] },
  { seq: 3, expected: 'MATCHED', found: ['MATCHED', undefined] },
  { seq: 4, expected: 'MATCHED', found: ['MISMATCHED', 'MISMATCHED'] },
  { seq: 5, expected: 'MATCHED', found: ['UNMATCHED', 'UNMATCHED'] },
];

const sideId = (sender: string, seq: number) => `${sender}-IM1-BRK1-${RUN}-${seq}`;

async function seed(): Promise<void> {
  const trade = server.pool(names.databases.trade, 2);
  const settlement = server.pool(names.databases.settlement, 2);
  for (const pair of PAIRS) {
    const tradeId = `${RUN}-${pair.seq}`;
    const ids = [sideId('IM1', pair.seq), sideId('BRK1', pair.seq)];
    const tradeStatus = Object.fromEntries(ids.map((id) => [id, pair.expected]));
    const settlementStatus: Record<string, string> =
      pair.expected === 'SETTLED' ? Object.fromEntries(ids.map((id) => [`${id}-1`, 'SETTLED'])) : {};
    ledgerLines.push(
      JSON.stringify({
        seq: pair.seq,
        scenario: pair.expected === 'SETTLED' ? 'settle' : 'match',
        submittedAt: T0 + pair.seq * 1000,
        region: REGIONS[0],
        sides: [{ tradeId }, { tradeId }],
        expected: { tradeStatus, settlementStatus },
      }),
    );
    for (const [i, id] of ids.entries()) {
      const status = pair.found[i];
      if (!status) continue;
      const at = new Date(T0 + pair.seq * 1000 + 500);
      await trade.query(
        `INSERT INTO trade_sides (id, match_key, sender_id, im_id, broker_id, trade_id, side, security, quantity, price,
           trade_date, settlement_date, delivery_instructions, payload, status, counterpart_id, received_at, updated_at)
         VALUES ($1, $2, $3, 'IM1', 'BRK1', $4, $5, 'AAPL', 1000, 41.20, '2026-05-01', '2026-05-02', 'DTC 0005',
           '{}', $6, $7, $8, $8)`,
        [
          id,
          `IM1|BRK1|${tradeId}`,
          i === 0 ? 'IM1' : 'BRK1',
          tradeId,
          i === 0 ? 'B' : 'S',
          status,
          status === 'UNMATCHED' ? null : ids[1 - i],
          at,
        ],
      );
      if (pair.expected === 'SETTLED') {
        await trade.query(
          `INSERT INTO trade_allocations (trade_side_id, allocation_id, quantity, account, settlement_id,
             settlement_status, updated_at) VALUES ($1, 1, 1000, 'ACC-1', $2, 'SETTLED', $3)`,
          [id, `${id}-1`, at],
        );
        await settlement.query(
          `INSERT INTO settlements (id, pair_key, trade_record_id, sender_id, im_id, broker_id, trade_id, allocation_id,
             security, side, quantity, price, trade_date, settlement_date, account, payload, status, received_at,
             updated_at)
           VALUES ($1, $2, $3, 'IM1', 'IM1', 'BRK1', $4, 1, 'AAPL', 'B', 1000, 41.20, '2026-05-01', '2026-05-02',
             'ACC-1', '{}', 'SETTLED', $5, $5)`,
          [`${id}-1`, `IM1|BRK1|${tradeId}|1`, id, tradeId, at],
        );
      }
    }
  }
  mkdirSync(path.join(dir, 'generator'), { recursive: true });
  writeFileSync(path.join(dir, 'generator', `ledger-${RUN}.jsonl`), `${ledgerLines.join('\n')}\n`);
}

const record = (names: ResourceNames): AwsDeploymentRecord =>
  awsRecord(names, REGIONS, 'arn:aws:route53-recovery-control::123456789012:controlpanel/abc', {
    global: { databaseSecretArns: { trade: secretArn('tm'), settlement: secretArn('st') } },
  });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-verdict-data-api-'));
  server = await startTestPostgres();
  for (const app of ['trade', 'settlement'] as const) {
    await server.createDatabase(names.databases[app]);
    const client = await server.pool(names.databases[app], 1).connect();
    await runMigrations(client, app);
    client.release();
  }
  await seed();
  playDataApi();
  playAws();
}, 120_000);

afterAll(async () => {
  data.restore();
  rds.restore();
  dynamo.restore();
  await Promise.all([...sessions.values()].map((c) => c.end().catch(() => undefined)));
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The same server read through pg directly: the local target's way. */
function pgSources(): VerdictSources {
  const copy = localCopy(REGIONS[0], server.port, server.password);
  return {
    workspace: dir,
    ledger: fileLedger(dir),
    databases: names.databases,
    copies: () => ({ writer: copy, replicas: [] }),
  };
}

test('the rows a cursor reads through the Data API are the rows pg reads: text, int8, float8, timestamps, nulls', async () => {
  const sql = `SELECT split_part(trade_id, '-', 1) AS run, split_part(trade_id, '-', 2)::bigint AS seq, id, status,
      counterpart_id, extract(epoch FROM updated_at)::float8 * 1000 AS updated_ms, updated_at, price
    FROM trade_sides WHERE split_part(trade_id, '-', 1) = ANY($1) ORDER BY 2, 3`;
  const direct = await localCopy(REGIONS[0], server.port, server.password).connect(names.databases.trade);
  // Two rows per FETCH: the adapter splits the cursor's batches of 3 into calls, as it does under 1 MiB.
  const adapted = new DataApiClient(
    {
      client: new RDSDataClient({ region: REGIONS[0] }),
      resourceArn: clusterArn('tm', REGIONS[0]),
      secretArn: secretArn('tm'),
    },
    names.databases.trade,
    2,
  );
  const read = async (client: typeof direct) => {
    const rows: unknown[] = [];
    for await (const row of cursorRows(client, sql, [[RUN]], 3)) rows.push(row);
    return rows;
  };
  try {
    const [viaPg, viaDataApi] = [await read(direct), await read(adapted)];
    expect(viaPg).toHaveLength(PAIRS.reduce((n, p) => n + p.found.filter(Boolean).length, 0));
    expect(viaDataApi).toEqual(viaPg);
    expect(viaPg[0]).toMatchObject({ seq: '1', updated_at: expect.any(Date), price: '41.20' });
    expect(viaPg.some((row) => (row as { counterpart_id: unknown }).counterpart_id === null)).toBe(true);
  } finally {
    await direct.end();
    await adapted.end();
  }
  // One transaction, committed, read-only.
  const statements = data.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input.sql);
  expect(statements[0]).toBe('SET TRANSACTION READ ONLY');
  expect(statements.filter((s) => s?.startsWith('FETCH 2 FROM'))).toHaveLength(4);
  expect(sessions.size).toBe(0);
}, 60_000);

test('the verdict on the AWS platform judges every pair as it does through pg; replicas are unchecked, with the reason', async () => {
  const platform = new AwsPlatform(config(), { record: record(deriveNames(config())), env: {} });
  try {
    const viaDataApi = await computeVerdict(platform, { ids: true, divergence: 'databases' });
    const viaPg = await computeVerdict(pgSources(), { ids: true, divergence: 'none' });

    expect(viaDataApi.pairs).toBe(PAIRS.length);
    expect(viaDataApi.counts).toEqual({ ok: 2, lost: 2, duplicated: 0, wrong: 1, late: 0, atRisk: 0 });
    expect(viaDataApi.counts).toEqual(viaPg.counts);
    expect(viaDataApi.ids).toEqual(viaPg.ids);
    expect(viaDataApi.ledgers).toEqual([`test-generator-ledger run ${RUN}`]);

    // The writer's cluster in its own region, the secret's copy there, the database by name.
    const begun = data.commandCalls(BeginTransactionCommand).map((c) => c.args[0].input);
    expect(begun).toEqual(
      expect.arrayContaining([
        { resourceArn: clusterArn('tm', REGIONS[0]), secretArn: secretArn('tm'), database: 'test_tm_core' },
        { resourceArn: clusterArn('st', REGIONS[0]), secretArn: secretArn('st'), database: 'test_st_core' },
      ]),
    );
    // The Data API reads a writer only: every replica table is reported unchecked, saying why.
    expect(viaDataApi.divergence.map((d) => [d.name, d.reference, d.region])).toEqual([
      ['test_tm_core.trade_sides', 'us-east-1', 'us-west-2'],
      ['test_tm_core.trade_allocations', 'us-east-1', 'us-west-2'],
      ['test_st_core.settlements', 'us-east-1', 'us-west-2'],
    ]);
    for (const entry of viaDataApi.divergence) {
      expect(entry.error).toMatch(
        /RDS Data API reads a cluster's writer only: the cluster in us-west-2 is a secondary/,
      );
    }
    expect(sessions.size).toBe(0);
    expect(Math.max(...responses)).toBeLessThan(MIB);
  } finally {
    await platform.close();
  }
}, 60_000);
