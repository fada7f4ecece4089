/**
 * The generator's ledger as a DynamoDB table (`<env>-generator-ledger`, a global table on AWS, where the task's root
 * filesystem is read-only): what the generator process writes and what the CLI side reads, in one key scheme.
 *
 * Items, partition `run` (S), sort `seq` (N):
 * - `run=<runId>`: the run's ledger, `lines` holding up to LINES_PER_ITEM ledger lines (JSON, as in the ledger file),
 *   `seq` the first pair's sequence number, so a Query in sort order reads the pairs in sending order;
 * - `run=<runId>#confirmations`: the confirmations it heard, `lines` a batch of them, `seq` the batch number;
 * - `run=runs`: one item per run, `seq` its start (epoch ms), `lines` its id;
 * - `run=settings`, `seq=0`: `rate` (a number, or "auto") that the running generator polls;
 * - `run=status`, `seq=0`: `status`, the generator's status JSON, written every few seconds, and `at`.
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';

/** The variable naming the ledger table in the generator's task: set, it writes there instead of to files. */
export const GENERATOR_LEDGER_ENV = 'TSR_GENERATOR_LEDGER_TABLE';

export function generatorLedgerTable(environment: string): string {
  return `${environment}-generator-ledger`;
}

/** Ledger lines per item: a line is well under 1 KB, so an item stays far below DynamoDB's 400 KB. */
export const LINES_PER_ITEM = 100;

const RUNS = 'runs';
const SETTINGS = 'settings';
const STATUS = 'status';
export const confirmationsOf = (run: string): string => `${run}#confirmations`;

const key = (run: string, seq: number) => ({ run: { S: run }, seq: { N: String(seq) } });

export class GeneratorLedgerTable {
  constructor(
    private readonly client: DynamoDBClient,
    readonly table: string,
  ) {}

  /** Writes items of lines (BatchWriteItem, 25 at a time), retrying what DynamoDB left unprocessed. */
  async putLines(run: string, items: readonly { readonly seq: number; readonly lines: readonly string[] }[]) {
    for (let i = 0; i < items.length; i += 25) {
      let requests: WriteRequest[] = items.slice(i, i + 25).map((item) => ({
        PutRequest: { Item: { ...key(run, item.seq), lines: { S: item.lines.join('\n') } } },
      }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(2_000, 50 * 2 ** attempt)));
        const answer = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: requests } }));
        requests = answer.UnprocessedItems?.[this.table] ?? [];
        if (attempt > 8 && requests.length) throw new Error(`${requests.length} ledger item(s) left unprocessed`);
      }
    }
  }

  /** Every line of one partition (a run's ledger, its confirmations, the runs), in sort order, page by page. */
  async *lines(run: string): AsyncGenerator<string> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: '#run = :run',
          ExpressionAttributeNames: { '#run': 'run' },
          ExpressionAttributeValues: { ':run': { S: run } },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        for (const line of (item.lines?.S ?? '').split('\n')) if (line.trim()) yield line;
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }

  putRun(run: string, startedAt: number): Promise<void> {
    return this.putLines(RUNS, [{ seq: startedAt, lines: [run] }]);
  }

  /** Generator runs, oldest first. */
  async runs(): Promise<string[]> {
    const runs: string[] = [];
    for await (const run of this.lines(RUNS)) runs.push(run);
    return runs;
  }

  async putSettings(rate: number | 'auto'): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: { ...key(SETTINGS, 0), rate: { S: String(rate) }, at: { N: String(Date.now()) } },
      }),
    );
  }

  /** The rate the operator set last (undefined: never set). */
  async settings(): Promise<{ rate: number | 'auto'; at: number } | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: key(SETTINGS, 0), ConsistentRead: true }),
    );
    const text = Item?.rate?.S;
    if (!text) return undefined;
    const rate = text === 'auto' ? 'auto' : Number(text);
    return rate === 'auto' || (Number.isFinite(rate) && rate > 0) ? { rate, at: Number(Item?.at?.N ?? 0) } : undefined;
  }

  async putStatus(status: unknown): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: { ...key(STATUS, 0), status: { S: JSON.stringify(status) }, at: { N: String(Date.now()) } },
      }),
    );
  }

  /** The status the generator wrote last, and when (undefined: it never wrote one). */
  async status<T>(): Promise<{ status: T; at: number } | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: key(STATUS, 0), ConsistentRead: true }),
    );
    if (!Item?.status?.S) return undefined;
    return { status: JSON.parse(Item.status.S) as T, at: Number(Item.at?.N ?? 0) };
  }
}
