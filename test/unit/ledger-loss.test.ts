import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { GeneratorLedgerTable } from '../../src/clients/generator-ledger.js';
import { fileLedger, tableLedger } from '../../src/platform/ledger-source.js';
import { countLoss, sentToRegion } from '../../src/reconcile/ledger-loss.js';
import { tempDir } from '../helpers/runbook-fakes.js';

const T0 = Date.parse('2026-12-06T12:00:00Z');

/** Writes a ledger file of (region, seconds after T0, ids) lines, as the generator does. */
function ledger(workspace: string, name: string, lines: [string, number, string[]][], tail = ''): void {
  const dir = path.join(workspace, 'generator');
  mkdirSync(dir, { recursive: true });
  const text = lines.map(([region, s, ids]) => JSON.stringify({ region, submittedAt: T0 + s * 1000, ids })).join('\n');
  writeFileSync(path.join(dir, `ledger-${name}.jsonl`), `${text}\n${tail}`);
}

describe('loss with a region, from the generator ledger', () => {
  it('keeps only the pairs sent to the region within the window before its last one, across files', async () => {
    const workspace = tempDir();
    ledger(workspace, 'a', [
      ['us-east-1', 0, ['old-1', 'old-2']],
      ['us-west-2', 500, ['west-1']],
      ['us-east-1', 550, ['a-1', 'a-2']],
    ]);
    // A second run of the generator, and a line cut short by a crash: skipped, not fatal.
    ledger(workspace, 'b', [['us-east-1', 600, ['b-1']]], '{"region":"us-east-1","submitt');
    const source = fileLedger(workspace);
    expect(await source.runs()).toEqual(['a', 'b']);
    const sent = await sentToRegion(source, await source.runs(), 'us-east-1', 120_000);
    expect(sent.flatMap((p) => p.ids).sort()).toEqual(['a-1', 'a-2', 'b-1']);
    expect(await fileLedger(tempDir()).runs()).toEqual([]);
  });

  it('reads the same from the ledger table on AWS: runs, then each run’s items page by page, in sort order', async () => {
    const dynamo = mockClient(DynamoDBClient);
    const line = (region: string, s: number, ids: string[]) =>
      JSON.stringify({ region, submittedAt: T0 + s * 1000, ids });
    // Partition → pages of items (each item: lines joined by newlines, as the generator writes them).
    const pages: Record<string, string[][]> = {
      runs: [['b', 'a']],
      a: [
        [`${line('us-east-1', 0, ['old-1'])}\n${line('us-west-2', 500, ['west-1'])}`],
        [line('us-east-1', 550, ['a-1'])],
      ],
      b: [[line('us-east-1', 600, ['b-1'])]],
    };
    dynamo.on(QueryCommand).callsFake(async (input: QueryCommandInput) => {
      const run = String(input.ExpressionAttributeValues?.[':run']?.S);
      const page = Number(input.ExclusiveStartKey?.page?.N ?? 0);
      const items = pages[run] ?? [];
      return {
        Items: (items[page] ?? []).map((lines) => ({ lines: { S: lines } })),
        LastEvaluatedKey: page + 1 < items.length ? { page: { N: String(page + 1) } } : undefined,
      };
    });
    try {
      const source = tableLedger(
        new GeneratorLedgerTable(new DynamoDBClient({ region: 'us-east-1' }), 'test-generator-ledger'),
      );
      expect(await source.runs()).toEqual(['a', 'b']); // run ids sort by start
      const sent = await sentToRegion(source, await source.runs(), 'us-east-1', 120_000);
      expect(sent.flatMap((p) => p.ids).sort()).toEqual(['a-1', 'b-1']);
      expect(
        dynamo.commandCalls(QueryCommand).every((c) => c.args[0].input.TableName === 'test-generator-ledger'),
      ).toBe(true);
    } finally {
      dynamo.restore();
    }
  });

  it('counts the sides the surviving store lacks, and the pairs they belong to', async () => {
    const sent = [
      { submittedAt: T0, ids: ['p1-a', 'p1-b'] },
      { submittedAt: T0 + 1_000, ids: ['p2-a', 'p2-b'] },
      { submittedAt: T0 + 2_000, ids: ['p3-a'] },
    ];
    const present = new Set(['p1-a', 'p1-b', 'p2-a']);
    const asked: number[] = [];
    const loss = await countLoss(sent, async (ids) => {
      asked.push(ids.length);
      return new Set(ids.filter((id) => present.has(id)));
    });
    expect(loss).toMatchObject({
      lostSides: 2,
      lostPairs: 2,
      checkedSides: 5,
      oldest: new Date(T0 + 1_000).toISOString(),
      newest: new Date(T0 + 2_000).toISOString(),
      sample: ['p2-b', 'p3-a'],
    });
    expect(asked).toEqual([5]);
  });
});
