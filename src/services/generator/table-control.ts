import type { Logger } from 'pino';
import { dynamoClient } from '../../clients/aws-clients.js';
import { GENERATOR_LEDGER_ENV, GeneratorLedgerTable } from '../../clients/generator-ledger.js';
import type { ServiceConfig } from '../runtime/index.js';
import type { TradeGenerator } from './generator.js';
import { TableLedgerSink } from './ledger-sink.js';

/**
 * On AWS (TSR_GENERATOR_LEDGER_TABLE set) the generator is driven through its ledger table instead of its local
 * HTTP endpoint, which nothing outside the task reaches: it writes its ledger there, polls the rate the operator
 * set (`tsr generator rate`: the settings item) and writes its status every few seconds for `tsr generator status`.
 */
export function ledgerTableOf(config: ServiceConfig, env: NodeJS.ProcessEnv = process.env) {
  const table = env[GENERATOR_LEDGER_ENV];
  if (!table) return undefined;
  return new GeneratorLedgerTable(dynamoClient({ region: config.region, endpoint: config.dynamodbEndpoint }), table);
}

export function tableSink(table: GeneratorLedgerTable, logger: Logger) {
  return (runId: string) =>
    new TableLedgerSink(table, runId, {
      onError: (error) => logger.warn({ err: error.message }, 'cannot write the ledger table; retrying'),
    });
}

/** Polls the settings item (every `pollMs`) and writes the status item (every `statusMs`); returns the stop. */
export function followLedgerTable(
  table: GeneratorLedgerTable,
  generator: TradeGenerator,
  logger: Logger,
  options: { pollMs?: number; statusMs?: number } = {},
): () => Promise<void> {
  let applied = 0;
  const poll = async () => {
    try {
      const settings = await table.settings();
      if (settings && settings.at > applied) {
        applied = settings.at;
        generator.configure({ rate: settings.rate });
        logger.info({ rate: settings.rate }, 'generator settings changed');
      }
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'cannot read the generator settings');
    }
  };
  const report = () =>
    table
      .putStatus(generator.status())
      .catch((error: Error) => logger.warn({ err: error.message }, 'cannot write the generator status'));
  void poll();
  const polling = setInterval(() => void poll(), options.pollMs ?? 2_000);
  const reporting = setInterval(() => void report(), options.statusMs ?? 3_000);
  return async () => {
    clearInterval(polling);
    clearInterval(reporting);
    await report();
  };
}
