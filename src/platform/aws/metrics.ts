import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';

export interface MetricQuery {
  readonly id: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat?: 'Maximum' | 'Average' | 'Sum';
}

export interface MetricWindow {
  readonly windowMs?: number;
  readonly periodSeconds?: number;
  readonly now?: Date;
}

/**
 * The most recent datapoint of each metric within the window (default 5 minutes), or undefined when there is none:
 * callers must treat "no data" as unknown, never as zero.
 */
export async function latestValues(
  client: CloudWatchClient,
  queries: readonly MetricQuery[],
  options: MetricWindow = {},
): Promise<Map<string, number | undefined>> {
  const points = await latestDatapoints(client, queries, options);
  return new Map([...points].map(([id, point]) => [id, point?.value]));
}

/** As latestValues, with the time of each datapoint: a measure that must be fresh can tell how old it is. */
export async function latestDatapoints(
  client: CloudWatchClient,
  queries: readonly MetricQuery[],
  options: MetricWindow = {},
): Promise<Map<string, { readonly value: number; readonly at: Date } | undefined>> {
  const values = new Map<string, { value: number; at: Date } | undefined>(queries.map((q) => [q.id, undefined]));
  if (queries.length === 0) return values;
  const end = options.now ?? new Date();
  const start = new Date(end.getTime() - (options.windowMs ?? 5 * 60_000));
  const byQueryId = new Map<string, string>();
  // GetMetricData takes up to 500 queries per call.
  for (let offset = 0; offset < queries.length; offset += 500) {
    const batch = queries.slice(offset, offset + 500);
    const metricQueries: MetricDataQuery[] = batch.map((q, i) => {
      const id = `m${offset + i}`;
      byQueryId.set(id, q.id);
      return {
        Id: id,
        ReturnData: true,
        MetricStat: {
          Metric: {
            Namespace: q.namespace,
            MetricName: q.metricName,
            Dimensions: Object.entries(q.dimensions).map(([Name, Value]) => ({ Name, Value })),
          },
          Period: options.periodSeconds ?? 60,
          Stat: q.stat ?? 'Maximum',
        },
      };
    });
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new GetMetricDataCommand({
          MetricDataQueries: metricQueries,
          StartTime: start,
          EndTime: end,
          ScanBy: 'TimestampDescending',
          NextToken: nextToken,
        }),
      );
      for (const result of page.MetricDataResults ?? []) {
        const id = result.Id ? byQueryId.get(result.Id) : undefined;
        if (!id || values.get(id) !== undefined) continue;
        // TimestampDescending: the first value is the latest.
        const latest = result.Values?.[0];
        const at = result.Timestamps?.[0];
        if (latest !== undefined) values.set(id, { value: latest, at: at ?? end });
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
  return values;
}
