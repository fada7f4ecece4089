import type { Migration } from './migration.js';
import { statusCountsMigration } from './status-counts.js';
import { unmatchedLookupByHash } from './unmatched-lookup.js';

/**
 * The settlement core's schema. Natural keys only (logical replication carries no sequences) and a primary key on
 * every table (the replica identity updates need). Applied on every region's database, since DDL is not
 * replicated: keep every migration additive and idempotent (IF NOT EXISTS).
 */
export const SETTLEMENT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'settlements',
    sql: `
CREATE TABLE IF NOT EXISTS settlements (
  id text PRIMARY KEY,
  pair_key text NOT NULL,
  trade_record_id text NOT NULL,
  sender_id text NOT NULL,
  im_id text NOT NULL,
  broker_id text NOT NULL,
  trade_id text NOT NULL,
  allocation_id integer NOT NULL CHECK (allocation_id >= 1),
  security text NOT NULL,
  side text NOT NULL CHECK (side IN ('B', 'S')),
  quantity bigint NOT NULL CHECK (quantity > 0),
  price numeric NOT NULL CHECK (price > 0),
  trade_date date NOT NULL,
  settlement_date date NOT NULL,
  account text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('UNMATCHED', 'SETTLED', 'MISMATCHED')),
  counterpart_id text,
  reason text,
  received_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
-- The pairing lookup: UNMATCHED instructions of one pair key, oldest first.
CREATE INDEX IF NOT EXISTS settlements_unmatched_idx ON settlements (pair_key, received_at, id)
  WHERE status = 'UNMATCHED';
`,
  },
  // Counts per status kept by a trigger (status-counts.ts): the dashboard reads them without scanning settlements.
  statusCountsMigration(2, 'settlements'),
  {
    // The store reads a settlement's fields back from their own columns and writes no payload: it repeated them and
    // was two thirds of each row (PostgreSQL compresses no value in rows this small). The column stays, empty:
    // dropping it would stop replication from a database that still has it. Older rows keep theirs, unread.
    version: 3,
    name: 'payload no longer stored',
    sql: `ALTER TABLE settlements ALTER COLUMN payload DROP NOT NULL;`,
  },
  unmatchedLookupByHash(4, 'settlements', 'pair_key', 'settlements_unmatched_idx'),
];
