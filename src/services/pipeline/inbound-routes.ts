import type { AppName } from '../../config/apps.js';
import type { ResourceNames } from '../../config/model.js';
import { matchKey, pairKey } from '../../domain/ids.js';
import type { SettlementInstruction, SettlementResult, Trade } from '../../domain/records.js';
import { parseSettlementInstruction, parseSettlementResult, parseTrade } from '../../domain/validation.js';
import type { InboundRoute } from './gateway.js';

const TRADE_ROUTE: InboundRoute<Trade> = {
  kind: 'trade',
  parse: parseTrade,
  id: (_t, id) => id,
  partitionKey: (t) => matchKey(t),
};
const RESULT_ROUTE: InboundRoute<SettlementResult> = {
  kind: 'settlement-result',
  parse: parseSettlementResult,
  id: (r) => `${r.settlementId}#${r.status}`,
  partitionKey: (r) => r.tradeRecordId,
};
const INSTRUCTION_ROUTE: InboundRoute<SettlementInstruction> = {
  kind: 'settlement-instruction',
  parse: parseSettlementInstruction,
  id: (_i, id) => id,
  partitionKey: (i) => pairKey(i),
};

/**
 * What an app's inbound gateway accepts, per topic: the gateway itself, and drills that must accept a message as
 * the gateway would where they cannot reach its broker (the AWS target's brokers are private), use the same routes,
 * so the records — ids, kinds, partition keys — are the same either way.
 */
export function inboundRoutes(app: AppName, topics: ResourceNames['topics']): Record<string, InboundRoute<unknown>> {
  return app === 'trade'
    ? {
        [topics.tmInTrades]: TRADE_ROUTE as InboundRoute<unknown>,
        [topics.tmInSettlements]: RESULT_ROUTE as InboundRoute<unknown>,
      }
    : { [topics.stInSettlements]: INSTRUCTION_ROUTE as InboundRoute<unknown> };
}
