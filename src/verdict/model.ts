/**
 * The verdict per trade (docs/domain.md#game-days): every pair the generator's ledger lists, judged against the final
 * states the core databases hold and the confirmations senders received. Plain JSON throughout, so a game day's
 * report and `tsr verify --json` carry it as is.
 */

export const OUTCOMES = ['ok', 'lost', 'duplicated', 'wrong', 'late', 'atRisk'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Outcomes that fail a verdict: `late` and `atRisk` are reported, and judged by the caller's objectives. */
export const FAILING: readonly Outcome[] = ['lost', 'duplicated', 'wrong'];

/** A window in which a region was lost: pairs sent to it then are the loss disaster recovery accepts. */
export interface LossWindow {
  readonly region: string;
  readonly from: Date;
  readonly to: Date;
}

/** One ledger line, as the verdict needs it (src/services/generator/generator.ts writes it). */
export interface LedgerPair {
  readonly seq: number;
  readonly scenario: string;
  /** The deal reference both sides quote: `<run>-<seq>`. */
  readonly tradeId: string;
  readonly submittedAt: number;
  readonly region: string;
  readonly expected: {
    readonly tradeStatus: Readonly<Record<string, string>>;
    readonly settlementStatus: Readonly<Record<string, string>>;
  };
}

/** One trade side as trade matching's core holds it, with its allocations' settlement results. */
export interface CoreTradeSide {
  readonly id: string;
  readonly status: string;
  readonly counterpartId?: string;
  readonly updatedAt: number;
  readonly allocations: readonly {
    readonly settlementId: string;
    readonly status: string;
    readonly updatedAt: number;
  }[];
}

/** One settlement instruction as settlement's core holds it. */
export interface CoreSettlement {
  readonly id: string;
  readonly status: string;
  readonly updatedAt: number;
}

/** The distinct statuses confirmed to the sender of one side. */
export interface SideConfirmations {
  readonly id: string;
  readonly statuses: readonly string[];
}

/** What the platform holds and senders heard for one pair: the other half of a judgement. */
export interface PairEvidence {
  readonly sides: readonly CoreTradeSide[];
  readonly settlements: readonly CoreSettlement[];
  readonly confirmations: readonly SideConfirmations[];
}

export interface Judgement {
  readonly outcome: Outcome;
  /** What is wrong, in words (empty when ok). */
  readonly detail: string;
  /** When the pair's last record reached its state (epoch ms), if any record exists. */
  readonly finalAt?: number;
}

/** A pair that is not ok, for `--ids`. */
export interface JudgedPair {
  readonly tradeId: string;
  readonly scenario: string;
  readonly region: string;
  readonly submittedAt: string;
  readonly detail: string;
}

/** One store compared across regions: the reference (the writer, or the first region) against another copy. */
export interface Divergence {
  readonly kind: 'database' | 'safe-store';
  /** Database table (`tm_core.trade_sides`) or safe-store table name. */
  readonly name: string;
  readonly reference: string;
  readonly region: string;
  readonly referenceRows?: number;
  readonly rows?: number;
  /** Keys only the reference holds, only the other copy holds, and held by both with different content. */
  readonly onlyInReference?: number;
  readonly onlyInRegion?: number;
  readonly differing?: number;
  /** A few of the keys that differ. */
  readonly sample?: readonly string[];
  /** Why it could not be compared (a region down, an engine not answering). */
  readonly error?: string;
}

export interface Verdict {
  /** Pairs judged (ledger lines in the window). */
  readonly pairs: number;
  readonly counts: Readonly<Record<Outcome, number>>;
  /** Nothing lost, duplicated or wrong. */
  readonly passed: boolean;
  /** Pairs sent inside a loss window, whatever their outcome; `counts.atRisk` are those of them not ok. */
  readonly sentInLossWindows: number;
  readonly window: { readonly since?: string; readonly until?: string; readonly deadline?: string };
  readonly lossWindows: readonly { readonly region: string; readonly from: string; readonly to: string }[];
  /** Ledger files read, and confirmation lines considered. */
  readonly ledgers: readonly string[];
  readonly confirmationsRead: number;
  /** Pairs not ok, per outcome (first `idsLimit` of each), when asked for. */
  readonly ids?: Readonly<Record<Exclude<Outcome, 'ok'>, readonly JudgedPair[]>>;
  /** Per outcome, how many were left out of `ids` by the limit. */
  readonly idsLeftOut?: Readonly<Partial<Record<Exclude<Outcome, 'ok'>, number>>>;
  readonly divergence: readonly Divergence[];
  /** Set against the trade sides the failovers counted as lost with a region, when they were given. */
  readonly lostWithRegion?: LostWithRegionCheck;
  readonly notes: readonly string[];
  readonly durationMs: number;
}

/** The pairs a failover counted as lost with its region, as the verdict judged them at the end. */
export interface LostWithRegionCheck {
  /** Pairs judged with at least one side the failovers counted. */
  readonly pairs: number;
  /** Of them, pairs that ended as predicted all the same: the region came back and what it held went on. */
  readonly cameBack: number;
  /** Pairs at risk with no side the failovers counted. */
  readonly atRiskNotCounted: number;
}

export interface VerdictOptions {
  /** Pairs sent at or after this time only. */
  readonly since?: Date;
  /** Pairs sent before this time only. */
  readonly until?: Date;
  /** A pair whose last record reached its final state after this is `late`. */
  readonly deadline?: Date;
  readonly atRiskWindows?: readonly LossWindow[];
  /** Trade side ids the failovers counted as lost with a region: the verdict says how each of their pairs ended. */
  readonly lostWithRegion?: ReadonlySet<string>;
  /** List the pairs that are not ok. */
  readonly ids?: boolean;
  /** At most this many ids per outcome (default 1,000). */
  readonly idsLimit?: number;
  /** Compare databases and safe stores across regions (default both). */
  readonly divergence?: 'all' | 'databases' | 'none';
  readonly onProgress?: (message: string) => void;
}
