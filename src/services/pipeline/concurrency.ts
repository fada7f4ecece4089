/**
 * Runs `work` for each group of records sharing a key, groups concurrently (at most `limit` at once), records within
 * a group in order: what one partition key orders stays ordered, independent keys do not wait for each other.
 */
export async function forEachKeyGroup<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  const queue = [...groups.values()];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      for (const item of group) await work(item);
    }
  });
  await Promise.all(workers);
}
