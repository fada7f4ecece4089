import { pairKey, settlementId } from '../../domain/ids.js';
import type { SettlementInstruction, TradeSideState } from '../../domain/records.js';
import type { SafeStoreItem } from '../runtime/safe-store.js';
import type { PipelineRecord } from '../pipeline/records.js';
import { item, type StageIO, storeAndForward } from '../pipeline/stage-io.js';

/** One settlement instruction per allocation of a MATCHED trade side (docs/domain.md#matching). */
export function settlementInstructions(side: TradeSideState): SettlementInstruction[] {
  return side.allocations.map((allocation) => ({
    id: settlementId(side.id, allocation.allocationId),
    tradeRecordId: side.id,
    senderId: side.senderId,
    imId: side.imId,
    brokerId: side.brokerId,
    tradeId: side.tradeId,
    allocationId: allocation.allocationId,
    security: side.security,
    side: side.side,
    quantity: allocation.quantity,
    price: side.price,
    tradeDate: side.tradeDate,
    settlementDate: side.settlementDate,
    account: allocation.account,
    status: 'UNMATCHED',
  }));
}

/**
 * tm egress: passes every status event on (outbound confirms it to the sender) and, for a MATCHED side, creates the
 * settlement instructions for the settlement app. Rejections pass through to be sent back.
 */
export async function tradeEgressBatch(io: StageIO, records: PipelineRecord[]): Promise<void> {
  const items: SafeStoreItem[] = [];
  const forwarded: PipelineRecord[] = [];
  for (const record of records) {
    items.push(item(io, record, 'accepted', true));
    forwarded.push(record);
    if (record.kind !== 'trade-status') continue;
    const side = record.body as TradeSideState;
    if (side.status !== 'MATCHED') continue;
    for (const instruction of settlementInstructions(side)) {
      const created: PipelineRecord<SettlementInstruction> = {
        id: instruction.id,
        kind: 'settlement-instruction',
        body: instruction,
        partitionKey: pairKey(instruction),
        acceptedAt: record.acceptedAt,
        submittedAt: record.submittedAt,
      };
      items.push(item(io, created, 'created', true, 'UNMATCHED'));
      forwarded.push(created);
    }
  }
  await storeAndForward(io, items, forwarded);
  // Counted once the batch is done: a retried batch is not counted twice.
  io.counters.in += records.length;
  io.counters.out += forwarded.length;
}
