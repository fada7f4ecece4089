import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DescribeDBClustersCommand, DescribeGlobalClustersCommand, RDSClient } from '@aws-sdk/client-rds';
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../src/config/load.js';
import { deriveNames } from '../../src/config/model.js';
import { ExitCode, UserError } from '../../src/errors.js';
import type { AwsDeploymentRecord } from '../../src/infra/aws/deployment-record.js';
import { AwsPlatform } from '../../src/platform/aws/aws-platform.js';
import { DataApiClient, fromField, toNamedStatement, toRows } from '../../src/verdict/data-api-copy.js';
import { checkVerdictReadable } from '../../src/verdict/index.js';
import { awsRecord } from '../helpers/aws-record.js';

const data = mockClient(RDSDataClient);
/** The UserError a promise rejects with. */
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error as UserError,
  );
const rds = mockClient(RDSClient);
const CLUSTER = 'arn:aws:rds:us-west-2:123456789012:cluster:tsr-test-tm-core-us-west-2';
const SECRET = 'arn:aws:secretsmanager:us-west-2:123456789012:secret:tsr/test/tm-core-db-AbCdEf';
const target = () => ({ client: new RDSDataClient({ region: 'us-west-2' }), resourceArn: CLUSTER, secretArn: SECRET });

beforeEach(() => {
  data.reset();
  rds.reset();
});
afterAll(() => {
  data.restore();
  rds.restore();
});

describe('statements through the RDS Data API', () => {
  test('$n become named parameters; the verdict’s run list (an array) travels as an array literal cast back', () => {
    const { sql, parameters } = toNamedStatement(
      `SELECT '$1' AS literal, x FROM t WHERE split_part(trade_id, '-', 1) = ANY($1) AND n > $2 AND ok = $3 AND at < $4 AND $1 IS NOT NULL AND y = $5`,
      [['r1', 'r"2\\x'], 7, true, new Date('2026-05-01T10:00:00.123Z'), null],
    );
    expect(sql).toBe(
      `SELECT '$1' AS literal, x FROM t WHERE split_part(trade_id, '-', 1) = ANY(CAST(:p1 AS text[])) AND n > :p2 AND ok = :p3 AND at < :p4 AND CAST(:p1 AS text[]) IS NOT NULL AND y = :p5`,
    );
    expect(parameters).toEqual([
      { name: 'p1', value: { stringValue: '{"r1","r\\"2\\\\x"}' } },
      { name: 'p2', value: { longValue: 7 } },
      { name: 'p3', value: { booleanValue: true } },
      { name: 'p4', value: { stringValue: '2026-05-01 10:00:00.123' }, typeHint: 'TIMESTAMP' },
      { name: 'p5', value: { isNull: true } },
    ]);
    expect(toNamedStatement('SELECT 1.5 * $1', [1.5]).parameters).toEqual([
      { name: 'p1', value: { doubleValue: 1.5 } },
    ]);
    expect(() => toNamedStatement('SELECT $2', [1])).toThrow(/uses \$2, but 1 value/);
    expect(() => toNamedStatement('SELECT $1', [{ a: 1 }])).toThrow(/cannot pass parameter p1/);
  });

  test('values come back as pg gives them: int8 and numeric as text, floats as numbers, timestamps as Dates, nulls', () => {
    const rows = toRows(
      [
        [
          { stringValue: 'r1' },
          { stringValue: '9007199254740993' },
          { doubleValue: 1714557600123.5 },
          { isNull: true },
          { stringValue: '2026-05-01 10:00:00.123' },
          { stringValue: '41.20' },
          { stringValue: '7' },
          { booleanValue: true },
          { stringValue: '{"a":1}' },
        ],
      ],
      [
        { label: 'run', typeName: 'text' },
        { label: 'seq', typeName: 'int8' },
        { label: 'updated_ms', typeName: 'float8' },
        { label: 'results', typeName: 'text' },
        { label: 'at', typeName: 'timestamptz' },
        { label: 'price', typeName: 'numeric' },
        { label: 'allocation', typeName: 'int4' },
        { label: 'ok', typeName: 'bool' },
        { label: 'payload', typeName: 'jsonb' },
      ],
    );
    expect(rows).toEqual([
      {
        run: 'r1',
        seq: '9007199254740993',
        updated_ms: 1714557600123.5,
        results: null,
        at: new Date('2026-05-01T10:00:00.123Z'),
        price: '41.20',
        allocation: 7,
        ok: true,
        payload: { a: 1 },
      },
    ]);
    expect(fromField({ stringValue: '2026-05-01' }, { typeName: 'date' })).toEqual(new Date(2026, 4, 1));
  });

  test('BEGIN … READ ONLY is one read-only Data API transaction every statement joins; a large FETCH is split', async () => {
    data.on(BeginTransactionCommand).resolves({ transactionId: 'tx-1' });
    data.on(CommitTransactionCommand).resolves({ transactionStatus: 'Transaction Committed' });
    const fetched = (n: number) => ({
      records: Array.from({ length: n }, (_, i) => [{ stringValue: `k${i}` }]),
      columnMetadata: [{ label: 'k', typeName: 'text' }],
    });
    data
      .on(ExecuteStatementCommand)
      .resolves({ records: [] })
      .on(ExecuteStatementCommand, { sql: 'FETCH 2 FROM c' })
      .resolvesOnce(fetched(2))
      .resolvesOnce(fetched(1));
    const client = new DataApiClient(target(), 'test_tm_core', 2);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query('DECLARE c NO SCROLL CURSOR FOR SELECT k FROM t WHERE r = ANY($1)', [['r1']]);
    expect((await client.query('FETCH 5 FROM c')).rows).toEqual([{ k: 'k0' }, { k: 'k1' }, { k: 'k0' }]);
    await client.query('COMMIT');
    await client.end();

    expect(data.commandCalls(BeginTransactionCommand)[0].args[0].input).toEqual({
      resourceArn: CLUSTER,
      secretArn: SECRET,
      database: 'test_tm_core',
    });
    const statements = data.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input);
    expect(statements.map((s) => [s.sql, s.transactionId])).toEqual([
      ['SET TRANSACTION READ ONLY', 'tx-1'],
      ['DECLARE c NO SCROLL CURSOR FOR SELECT k FROM t WHERE r = ANY(CAST(:p1 AS text[]))', 'tx-1'],
      ['FETCH 2 FROM c', 'tx-1'],
      ['FETCH 2 FROM c', 'tx-1'],
    ]);
    expect(statements[0]).toMatchObject({ includeResultMetadata: true, database: 'test_tm_core' });
    expect(data.commandCalls(CommitTransactionCommand)[0].args[0].input).toMatchObject({ transactionId: 'tx-1' });
    // Committed: end() has nothing left to roll back.
    expect(data.commandCalls(RollbackTransactionCommand)).toHaveLength(0);
  });

  test('end() rolls back an open transaction; a denied call names the policy and never the secret', async () => {
    data.on(BeginTransactionCommand).resolves({ transactionId: 'tx-2' });
    data.on(RollbackTransactionCommand).resolves({});
    data.on(ExecuteStatementCommand).rejects(
      Object.assign(new Error(`not authorized to perform secretsmanager:GetSecretValue on ${SECRET}`), {
        name: 'AccessDeniedException',
        $metadata: {},
      }),
    );
    const client = new DataApiClient({ ...target(), policyArn: 'arn:aws:iam::123456789012:policy/x' }, 'db');
    await client.query('BEGIN');
    const error = await refusal(client.query('SELECT 1'));
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).not.toContain(SECRET);
    expect(error.message).toContain('<database secret>');
    expect(error.fix).toContain('arn:aws:iam::123456789012:policy/x');
    await client.end();
    expect(data.commandCalls(RollbackTransactionCommand)[0].args[0].input).toMatchObject({ transactionId: 'tx-2' });
  });
});

const PANEL = 'arn:aws:route53-recovery-control::123456789012:controlpanel/abc';

describe('where the verdict reads on AWS', () => {
  const EAST = 'arn:aws:rds:us-east-1:123456789012:cluster:tsr-test-tm-core-us-east-1';
  let dir: string;
  let platform: AwsPlatform;
  const record = (databaseSecretArns?: Record<string, string>): AwsDeploymentRecord =>
    awsRecord(deriveNames(configOf()), ['us-east-1', 'us-west-2'], PANEL, {
      global: {
        databaseSecretArns,
        verdictReaderPolicyArn: 'arn:aws:iam::123456789012:policy/tsr-test-verdict-reader',
      },
    });
  const configOf = () =>
    loadConfig({ environment: 'test', regions: ['us-east-1', 'us-west-2'], target: 'aws' }, {}, dir);
  const open = (secrets?: Record<string, string>) => {
    platform = new AwsPlatform(configOf(), { record: record(secrets), env: {} });
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-data-api-'));
    rds.on(DescribeGlobalClustersCommand).resolves({
      GlobalClusters: [
        {
          GlobalClusterMembers: [
            { DBClusterArn: EAST, IsWriter: false },
            { DBClusterArn: CLUSTER, IsWriter: true },
          ],
        },
      ],
    });
  });
  afterEach(async () => {
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the writer’s cluster, with the secret’s copy in the writer’s region', async () => {
    open({ trade: SECRET.replace('us-west-2', 'us-east-1') });
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ HttpEndpointEnabled: true }] });
    const access = await platform.coreDatabaseAccess('trade');
    expect(access).toMatchObject({
      region: 'us-west-2',
      cluster: 'tsr-test-tm-core-us-west-2',
      resourceArn: CLUSTER,
      secretArn: SECRET,
      policyArn: 'arn:aws:iam::123456789012:policy/tsr-test-verdict-reader',
    });
    expect(rds.commandCalls(DescribeDBClustersCommand)[0].args[0].input).toEqual({
      DBClusterIdentifier: 'tsr-test-tm-core-us-west-2',
    });
  });

  test('a cluster deployed without the Data API, or a record without the secrets, is refused with the fix', async () => {
    open({ trade: SECRET });
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ HttpEndpointEnabled: false }] });
    const disabled = await refusal(platform.coreDatabaseAccess('trade'));
    expect(disabled).toBeInstanceOf(UserError);
    expect(disabled.message).toMatch(/RDS Data API is not enabled on tsr-test-tm-core-us-west-2/);
    expect(disabled.fix).toContain('tsr deploy --target aws');
    expect(disabled.fix).toContain(`enable-http-endpoint --resource-arn ${CLUSTER}`);
    expect(disabled.exitCode).toBe(ExitCode.notDeployed);
    // A game day with load checks it before it starts, not after the drill.
    expect((await refusal(checkVerdictReadable(platform))).message).toMatch(/RDS Data API is not enabled/);

    await platform.close();
    open(undefined);
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ HttpEndpointEnabled: true }] });
    const unrecorded = await refusal(platform.coreDatabaseAccess('trade'));
    expect(unrecorded.message).toMatch(/does not name the trade database secret/);
  });
});
