import type { Trade, TradeSideState, SettlementResult } from '../../domain/records.js';
import { coreBatch } from '../pipeline/core-batch.js';
import type { PipelineRecord } from '../pipeline/records.js';
import type { StageIO } from '../pipeline/stage-io.js';
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
 * tm core: matches trades (docs/domain.md#matching) and applies settlement results, in PostgreSQL, then stores what it accepted
 * and created and sends decided sides to egress. A redelivered record re-emits the current state of the sides it
 * concerns (the first attempt may have crashed before forwarding); egress and everything after it are idempotent.
 */
export function tradeCoreBatch(
  io: StageIO,
  store: TradeMatchingStore,
  records: PipelineRecord[],
  concurrency = 8,
): Promise<void> {
  return coreBatch(io, 'tm/core', records, concurrency, async (record, out) => {
    if (record.kind === 'trade') {
      const result = await store.acceptTrade(record.body as Trade, new Date(record.acceptedAt));
      if (result.outcome === 'conflict')
        return out.refuse(record, result.reason ?? 'duplicate trade id with different content');
      if (result.outcome === 'duplicate') out.duplicate();
      out.accepted(record, result.sides.find((s) => s.id === record.id)?.status ?? 'UNMATCHED');
      for (const side of result.sides)
        if (DECIDED.has(side.status)) out.emit(tradeStatusRecord(side, record), side.status);
      return;
    }
    if (record.kind !== 'settlement-result')
      return out.refuse(record, `tm core does not accept ${record.kind} records`);
    const result = await store.applySettlementResult(record.body as SettlementResult);
    if (result.outcome === 'unknown-trade') return out.refuse(record, 'settlement result for an unknown trade');
    if (result.outcome === 'unknown-allocation')
      return out.refuse(record, 'settlement result for an unknown allocation');
    if (result.outcome === 'conflict')
      return out.refuse(record, result.reason ?? 'settlement result contradicts the one already applied');
    if (result.outcome === 'duplicate') out.duplicate();
    out.accepted(record, (record.body as SettlementResult).status);
    if (result.side?.status === 'SETTLED') out.emit(tradeStatusRecord(result.side, record), 'SETTLED');
  });
}
