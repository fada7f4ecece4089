import type { Trade, TradeSideState, SettlementResult } from '../../domain/records.js';
import { reject } from '../../domain/validation.js';
import type { SafeStoreItem } from '../runtime/safe-store.js';
import { forEachKeyGroup } from '../pipeline/concurrency.js';
import { rejectionRecord } from '../pipeline/gateway.js';
import type { PipelineRecord } from '../pipeline/records.js';
import { item, type StageIO } from '../pipeline/stage-io.js';
import type { TradeMatchingStore } from './core-store.js';

/** The status event core emits for a trade side; its id carries the status, so each transition is one record. */
export function tradeStatusRecord(side: TradeSideState, cause: PipelineRecord): PipelineRecord<TradeSideState> {
  return {
    id: `${side.id}#${side.status}`,
    kind: 'trade-status',
    body: side,
    partitionKey: side.id,
    acceptedAt: cause.acceptedAt,
    submittedAt: cause.submittedAt,
  };
}

/** Only decided sides go on: UNMATCHED sides wait for their counterpart. */
const DECIDED = new Set(['MATCHED', 'MISMATCHED', 'SETTLED']);

/**
 * tm core: matches trades (DOMAIN §3) and applies settlement results, in PostgreSQL, then stores what it accepted
 * and created and sends decided sides to egress. A redelivered record re-emits the current state of the sides it
 * concerns (the first attempt may have crashed before forwarding); egress and everything after it are idempotent.
 */
export async function tradeCoreBatch(
  io: StageIO,
  store: TradeMatchingStore,
  records: PipelineRecord[],
  concurrency = 8,
): Promise<void> {
  const items: SafeStoreItem[] = [];
  const emitted: PipelineRecord[] = [];
  const emit = (record: PipelineRecord, status: string) => {
    emitted.push(record);
    items.push(item(io, record, 'created', true, status));
  };
  await forEachKeyGroup(
    records,
    (r) => r.partitionKey,
    concurrency,
    async (record) => {
      if (record.kind === 'trade') {
        const result = await store.acceptTrade(record.body as Trade, new Date(record.acceptedAt));
        if (result.outcome === 'conflict') {
          const rejection = reject(
            JSON.stringify(record.body),
            'tm/core',
            result.reason ?? 'duplicate trade id with different content',
            record.id,
          );
          items.push(item(io, record, 'accepted', false, 'REJECTED'));
          emit(rejectionRecord(rejection, record.acceptedAt), 'REJECTED');
          io.counters.rejected++;
          return;
        }
        if (result.outcome === 'duplicate') io.counters.duplicates++;
        const own = result.sides.find((s) => s.id === record.id);
        items.push(item(io, record, 'accepted', false, own?.status ?? 'UNMATCHED'));
        for (const side of result.sides)
          if (DECIDED.has(side.status)) emit(tradeStatusRecord(side, record), side.status);
        return;
      }
      if (record.kind === 'settlement-result') {
        const result = await store.applySettlementResult(record.body as SettlementResult);
        if (
          result.outcome === 'unknown-trade' ||
          result.outcome === 'unknown-allocation' ||
          result.outcome === 'conflict'
        ) {
          const reason =
            result.outcome === 'unknown-trade'
              ? 'settlement result for an unknown trade'
              : result.outcome === 'unknown-allocation'
                ? 'settlement result for an unknown allocation'
                : (result.reason ?? 'settlement result contradicts the one already applied');
          items.push(item(io, record, 'accepted', false, 'REJECTED'));
          emit(
            rejectionRecord(reject(JSON.stringify(record.body), 'tm/core', reason, record.id), record.acceptedAt),
            'REJECTED',
          );
          io.counters.rejected++;
          return;
        }
        if (result.outcome === 'duplicate') io.counters.duplicates++;
        items.push(item(io, record, 'accepted', false, (record.body as SettlementResult).status));
        if (result.side && result.side.status === 'SETTLED') emit(tradeStatusRecord(result.side, record), 'SETTLED');
        return;
      }
      items.push(item(io, record, 'accepted', false, 'REJECTED'));
      emit(
        rejectionRecord(
          reject(JSON.stringify(record), 'tm/core', `tm core does not accept ${record.kind} records`, record.id),
        ),
        'REJECTED',
      );
      io.counters.rejected++;
    },
  );
  await io.putAll(items);
  await io.forward(emitted);
  // Counted once the batch is done: a retried batch is not counted twice.
  io.counters.in += records.length;
  io.counters.out += emitted.length;
}
