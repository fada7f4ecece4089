import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { LocalState } from '../../src/infra/local/state.js';
import { fileLedger } from '../../src/platform/ledger-source.js';

export interface LedgerPair {
  readonly seq: number;
  readonly scenario: string;
  readonly expected: { tradeStatus: Record<string, string>; settlementStatus: Record<string, string> };
}

/** Every pair the generator sent (all runs in the workspace), as its ledger lines say (compressed segments too). */
export async function readLedger(workspace: string): Promise<LedgerPair[]> {
  const source = fileLedger(workspace);
  const pairs: LedgerPair[] = [];
  for (const run of await source.runs()) {
    for await (const line of source.pairLines(run)) if (line) pairs.push(JSON.parse(line) as LedgerPair);
  }
  return pairs;
}

export interface LedgerCheck {
  readonly pairs: number;
  /** Pairs whose every trade side and settlement is in its predicted final state. */
  readonly final: number;
  readonly trades: { expected: number; wrong: string[] };
  readonly settlements: { expected: number; wrong: string[] };
  /** Every trade side and settlement in the database (a duplicate or stray record shows as a difference). */
  readonly stored: { trades: number; settlements: number };
}

/** Compares the writer databases with what the ledger predicts, id by id. */
export async function checkLedger(
  workspace: string,
  state: LocalState,
  writer = state.regions[0],
): Promise<LedgerCheck> {
  const pairs = await readLedger(workspace);
  const password = readFileSync(path.join(workspace, 'secrets', 'postgres-password'), 'utf8').trim();
  const port = state.endpoints.regions[writer].postgres.port;
  const query = async (database: string, sql: string) => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database });
    await client.connect();
    try {
      return (await client.query(sql)).rows as { id: string; status: string }[];
    } finally {
      await client.end();
    }
  };
  const env = state.environment.replace(/-/g, '_');
  const trades = new Map(
    (await query(`${env}_tm_core`, 'SELECT id, status FROM trade_sides')).map((r) => [r.id, r.status]),
  );
  const settlements = new Map(
    (await query(`${env}_st_core`, 'SELECT id, status FROM settlements')).map((r) => [r.id, r.status]),
  );
  const wrongTrades: string[] = [];
  const wrongSettlements: string[] = [];
  let expectedTrades = 0;
  let expectedSettlements = 0;
  let final = 0;
  for (const pair of pairs) {
    const wrongBefore = wrongTrades.length + wrongSettlements.length;
    for (const [id, status] of Object.entries(pair.expected.tradeStatus)) {
      expectedTrades++;
      if (trades.get(id) !== status)
        wrongTrades.push(`${id}: expected ${status}, found ${trades.get(id) ?? 'nothing'} (${pair.scenario})`);
    }
    for (const [id, status] of Object.entries(pair.expected.settlementStatus)) {
      expectedSettlements++;
      if (settlements.get(id) !== status)
        wrongSettlements.push(
          `${id}: expected ${status}, found ${settlements.get(id) ?? 'nothing'} (${pair.scenario})`,
        );
    }
    if (wrongTrades.length + wrongSettlements.length === wrongBefore) final++;
  }
  return {
    pairs: pairs.length,
    final,
    trades: { expected: expectedTrades, wrong: wrongTrades },
    settlements: { expected: expectedSettlements, wrong: wrongSettlements },
    stored: { trades: trades.size, settlements: settlements.size },
  };
}
