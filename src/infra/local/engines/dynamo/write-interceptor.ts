/**
 * Local writes through the front: each PutItem, UpdateItem, DeleteItem and BatchWriteItem is planned (which items it
 * changes), forwarded under those items' locks, and every write dynalite acknowledged is recorded with the item as
 * it is after the write (for UpdateItem taken from the answer, or read back).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';
import { type BufferedResponse, forwardableHeaders, responseHeaders } from './aws-http.js';
import type { Dynalite } from './dynalite.js';
import type { ItemLocks } from './item-locks.js';
import { type ChangeOp, isPlainObject, itemId, keyOf, type WireItem } from './wire.js';

export const WRITE_OPS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

/** A write the front is about to forward, and what to record once dynalite acknowledged it. */
export interface PlannedWrite {
  readonly table: string;
  readonly key: WireItem;
  readonly id: string;
  readonly op: ChangeOp;
  /** Put image known from the request; absent for UpdateItem (read back after success). */
  readonly image?: WireItem;
  readonly readBack: boolean;
}

/** Records one acknowledged local write in the change feed. */
export type RecordWrite = (write: PlannedWrite, image: WireItem | undefined, op: ChangeOp) => void;

export class WriteInterceptor {
  constructor(
    private readonly dynalite: Dynalite,
    private readonly locks: ItemLocks,
    private readonly record: RecordWrite,
    private readonly region: string,
  ) {}

  /** What the write request will change, or undefined when it cannot be planned (dynalite will refuse it). */
  async planWrites(operation: string, input: Record<string, unknown>): Promise<PlannedWrite[] | undefined> {
    const plan = async (table: unknown, item: unknown, kind: 'put' | 'update' | 'delete') => {
      if (typeof table !== 'string') return undefined;
      const names = await this.dynalite.keySchema(table);
      if (!names) return undefined;
      const key = keyOf(item, names);
      if (!key) return undefined;
      const id = itemId(table, key);
      if (kind === 'put') return { table, key, id, op: 'put' as const, image: item as WireItem, readBack: false };
      if (kind === 'update') return { table, key, id, op: 'put' as const, readBack: true };
      return { table, key, id, op: 'delete' as const, readBack: false };
    };
    const writes: (PlannedWrite | undefined)[] = [];
    if (operation === 'PutItem') writes.push(await plan(input.TableName, input.Item, 'put'));
    else if (operation === 'UpdateItem') writes.push(await plan(input.TableName, input.Key, 'update'));
    else if (operation === 'DeleteItem') writes.push(await plan(input.TableName, input.Key, 'delete'));
    else if (operation === 'BatchWriteItem') {
      if (!isPlainObject(input.RequestItems)) return undefined;
      for (const [table, requests] of Object.entries(input.RequestItems)) {
        if (!Array.isArray(requests)) return undefined;
        for (const request of requests) {
          if (!isPlainObject(request)) return undefined;
          if (isPlainObject(request.PutRequest)) writes.push(await plan(table, request.PutRequest.Item, 'put'));
          else if (isPlainObject(request.DeleteRequest)) {
            writes.push(await plan(table, request.DeleteRequest.Key, 'delete'));
          } else return undefined;
        }
      }
    }
    if (writes.length === 0 || writes.some((write) => write === undefined)) return undefined;
    return writes as PlannedWrite[];
  }

  /** Item ids BatchWriteItem reported back as unprocessed: those writes did not happen. */
  private unprocessedIds(responseBody: Buffer): Set<string> {
    const ids = new Set<string>();
    try {
      const parsed = JSON.parse(responseBody.toString('utf8')) as { UnprocessedItems?: Record<string, unknown[]> };
      for (const [table, requests] of Object.entries(parsed.UnprocessedItems ?? {})) {
        const names = this.dynalite.knownKeySchema(table);
        if (!names) continue;
        for (const request of requests) {
          const r = request as { PutRequest?: { Item?: unknown }; DeleteRequest?: { Key?: unknown } };
          const key = keyOf(r.PutRequest?.Item ?? r.DeleteRequest?.Key, names);
          if (key) ids.add(itemId(table, key));
        }
      }
    } catch {
      // an unparsable success body: record every write (the safe side for replication)
    }
    return ids;
  }

  private async readBack(write: PlannedWrite): Promise<WireItem | undefined | 'failed'> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const got = await this.dynalite.call('GetItem', {
          TableName: write.table,
          Key: write.key,
          ConsistentRead: true,
        });
        return isPlainObject(got.Item) ? (got.Item as WireItem) : undefined;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 10 * (attempt + 1)));
      }
    }
    return 'failed';
  }

  async handle(
    operation: string,
    input: Record<string, unknown>,
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    const writes = await this.planWrites(operation, input);
    if (!writes) {
      // Not a write dynalite can accept (unknown table, missing key...): let it answer with the proper error.
      await this.dynalite.forward(req, body, res);
      return;
    }
    // An UpdateItem's new image comes back with the answer when asked for (ALL_NEW): one call instead of a write and
    // a read-back. The caller's own choice of ReturnValues is kept, and Attributes it did not ask for are removed.
    const askedFor = input.ReturnValues;
    const imageInAnswer =
      operation === 'UpdateItem' && (askedFor === undefined || askedFor === 'NONE' || askedFor === 'ALL_NEW');
    const sent =
      imageInAnswer && askedFor !== 'ALL_NEW'
        ? Buffer.from(JSON.stringify({ ...input, ReturnValues: 'ALL_NEW' }))
        : body;
    const release = await this.locks.acquire(writes.map((write) => write.id));
    let response: BufferedResponse;
    try {
      response = await this.dynalite.send(
        req.method ?? 'POST',
        sent,
        forwardableHeaders(req.headers, sent.length),
        req.url,
      );
      if (response.status === 200) {
        if (imageInAnswer) response = this.recordFromAnswer(writes[0], response, askedFor === 'ALL_NEW');
        else
          await this.recordAcknowledged(
            writes,
            operation === 'BatchWriteItem' ? this.unprocessedIds(response.body) : new Set(),
          );
      }
    } finally {
      release();
    }
    res.writeHead(response.status, responseHeaders(response.headers));
    res.end(response.body);
  }

  /** Records an UpdateItem from the new image in its answer; removes that image if the caller did not ask for it. */
  private recordFromAnswer(write: PlannedWrite, response: BufferedResponse, keepImage: boolean): BufferedResponse {
    const answer = JSON.parse(response.body.toString('utf8') || '{}') as Record<string, unknown>;
    const image = isPlainObject(answer.Attributes) ? (answer.Attributes as WireItem) : undefined;
    this.record(write, image, image ? 'put' : 'delete');
    if (keepImage) return response;
    delete answer.Attributes;
    const rewritten = Buffer.from(JSON.stringify(answer));
    const headers = {
      ...response.headers,
      'content-length': String(rewritten.length),
      'x-amz-crc32': String(crc32(rewritten)),
    };
    return { status: response.status, headers, body: rewritten };
  }

  /** Records every acknowledged write but those BatchWriteItem left unprocessed (`skip`). */
  private async recordAcknowledged(writes: readonly PlannedWrite[], skip: ReadonlySet<string>): Promise<void> {
    for (const write of writes) {
      if (skip.has(write.id)) continue;
      if (!write.readBack) {
        this.record(write, write.image, write.op);
        continue;
      }
      const image = await this.readBack(write);
      if (image === 'failed') {
        console.error(
          `[dynamo-engine ${this.region}] could not read back ${write.id} after UpdateItem; not replicated`,
        );
      } else if (image === undefined) this.record(write, undefined, 'delete');
      else this.record(write, image, 'put');
    }
  }
}
