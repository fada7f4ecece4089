/**
 * Where the generator's ledger is read (docs/domain.md#the-generator): the local platform keeps it as files in the
 * workspace (`generator/ledger-<run>.jsonl` and its compressed segments, `generator/confirmations-<run>.jsonl`); on
 * AWS the generator's task writes the same lines to the `<env>-generator-ledger` global table
 * (src/clients/generator-ledger.ts). The verdict and the count of what was lost with a region read either through
 * this one shape.
 */
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { confirmationsOf, type GeneratorLedgerTable } from '../clients/generator-ledger.js';
import { ledgerRuns, liveLedgerFile, runLedgerLines } from '../clients/ledger-files.js';

export interface LedgerSource {
  /** Where it is, for messages: a directory or a table. */
  readonly where: string;
  /** The generator's runs, oldest first (run ids sort by start). */
  runs(): Promise<string[]>;
  /** Where one run's ledger is, for messages (a file, or the table and run). */
  locate(run: string): string;
  /** A run's ledger lines (one JSON pair each) in sending order. */
  pairLines(run: string): AsyncIterable<string>;
  /** Whether any run has a confirmation log (a generator older than it has none). */
  hasConfirmations(runs: readonly string[]): Promise<boolean>;
  /** The confirmation lines (`{id, status, at, region}`) of the runs, run after run, each in arrival order. */
  confirmationLines(runs: readonly string[]): AsyncIterable<string>;
}

async function* fileLines(file: string): AsyncGenerator<string> {
  if (!existsSync(file)) return;
  yield* createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
}

/** The ledger files of a workspace (`<workspace>/generator`; the ledger in segments: src/clients/ledger-files.ts). */
export function fileLedger(workspace: string): LedgerSource {
  const dir = path.join(workspace, 'generator');
  const confirmations = (run: string) => path.join(dir, `confirmations-${run}.jsonl`);
  return {
    where: dir,
    runs: async () => ledgerRuns(dir),
    locate: (run) => liveLedgerFile(dir, run),
    pairLines: (run) => runLedgerLines(dir, run),
    hasConfirmations: async (runs) => runs.some((run) => existsSync(confirmations(run))),
    async *confirmationLines(runs) {
      for (const run of runs) yield* fileLines(confirmations(run));
    },
  };
}

/** The ledger table the generator's task writes on AWS. */
export function tableLedger(table: GeneratorLedgerTable): LedgerSource {
  return {
    where: `DynamoDB table ${table.table}`,
    runs: () => table.runs().then((runs) => [...runs].sort()),
    locate: (run) => `${table.table} run ${run}`,
    pairLines: (run) => table.lines(run),
    async hasConfirmations(runs) {
      for (const run of runs) for await (const _line of table.lines(confirmationsOf(run))) return true;
      return false;
    },
    async *confirmationLines(runs) {
      for (const run of runs) yield* table.lines(confirmationsOf(run));
    },
  };
}
