import type { Migration } from './migration.js';
import { statusCountsMigration } from './status-counts.js';
import { unmatchedLookupByHash } from './unmatched-lookup.js';

/**
 * The trade-matching core's schema. Natural keys only (logical replication carries no sequences) and a primary
 * key on every table (the replica identity updates need). Applied on every region's database, since DDL is not
 * replicated: keep every migration additive and idempotent (IF NOT EXISTS).
 */
export const TRADE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'trade sides and allocations',
    sql: `
CREATE TABLE IF NOT EXISTS trade_sides (
  id text PRIMARY KEY,
  match_key text NOT NULL,
  sender_id text NOT NULL,
  im_id text NOT NULL,
  broker_id text NOT NULL,
  trade_id text NOT NULL,
  side text NOT NULL CHECK (side IN ('B', 'S')),
  security text NOT NULL,
  quantity bigint NOT NULL CHECK (quantity > 0),
  price numeric NOT NULL CHECK (price > 0),
  trade_date date NOT NULL,
  settlement_date date NOT NULL,
  delivery_instructions text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('UNMATCHED', 'MATCHED', 'MISMATCHED', 'SETTLED')),
  counterpart_id text,
  reason text,
  received_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
-- The matching lookup: UNMATCHED sides of one match key, oldest first.
CREATE INDEX IF NOT EXISTS trade_sides_unmatched_idx ON trade_sides (match_key, received_at, id)
  WHERE status = 'UNMATCHED';
CREATE TABLE IF NOT EXISTS trade_allocations (
  trade_side_id text NOT NULL REFERENCES trade_sides (id) ON DELETE CASCADE,
  allocation_id integer NOT NULL CHECK (allocation_id >= 1),
  quantity bigint NOT NULL CHECK (quantity > 0),
  account text NOT NULL,
  settlement_id text NOT NULL,
  settlement_status text NOT NULL CHECK (settlement_status IN ('UNMATCHED', 'SETTLED', 'MISMATCHED')),
  settlement_counterpart_id text,
  settlement_reason text,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (trade_side_id, allocation_id)
);
`,
  },
  // Counts per status kept by a trigger (status-counts.ts): the dashboard reads them without scanning trade_sides.
  statusCountsMigration(2, 'trade_sides'),
  {
    // The store reads a trade side's fields back from their own columns and writes no payload: it repeated them and
    // was two thirds of each row (PostgreSQL compresses no value in rows this small). The column stays, empty:
    // dropping it would stop replication from a database that still has it. Older rows keep theirs, unread.
    version: 3,
    name: 'payload no longer stored',
    sql: `ALTER TABLE trade_sides ALTER COLUMN payload DROP NOT NULL;`,
  },
  unmatchedLookupByHash(4, 'trade_sides', 'match_key', 'trade_sides_unmatched_idx'),
];
