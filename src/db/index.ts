// One way to reach PostgreSQL, whether it is the embedded server under DATA_DIR or any server given by DATABASE_URL:
// a pg Pool and the same SQL either way.
import pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded.js';

// DATE stays the 'YYYY-MM-DD' string it is in the database: turning it into a JS Date would shift it by the process's time zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);
// COUNT(*) and BIGINT ids fit in a double for any realistic CRM (< 2^53); numbers are easier to use than strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface Database {
  pool: pg.Pool;
  /** Connection string (contains a password: never log it; use safeUrl). */
  url: string;
  /** Present when Kizuna runs the embedded PostgreSQL itself. */
  embedded?: EmbeddedServer;
  close(): Promise<void>;
}

export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export interface OpenOptions {
  role: string;
  /** `serve` owns DATA_DIR exclusively; every other command joins a running server or starts one for its own duration. */
  mode: 'exclusive' | 'shared';
  poolSize?: number;
}

export async function openDatabase(config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR'>, log: Logger, opts: OpenOptions): Promise<Database> {
  let embedded: EmbeddedServer | undefined;
  let url = config.DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, log, role: opts.role, mode: opts.mode });
    url = embedded.url;
  }
  const pool = createPool(url, opts.poolSize ?? 10, `kizuna-${opts.role}`);
  let closed = false;
  pool.on('error', (err) => {
    // While closing, a connection still saying goodbye hears the embedded server stop ("terminating connection due to
    // administrator command"): expected, not worth a warning at the end of every CLI command.
    if (closed) log.debug({ err: { message: err.message } }, 'database connection ended during shutdown');
    else log.warn({ err: { message: err.message } }, 'idle database connection failed; it will be replaced');
  });
  let role: { name: string; superuser: boolean };
  try {
    ({ rows: [role] } = await pool.query(
      'SELECT current_user AS name, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user',
    ));
  } catch (e) {
    await pool.end().catch(() => {});
    await embedded?.stop();
    throw new Error(`Cannot connect to PostgreSQL: ${(e as Error).message}`);
  }
  if (role.superuser) {
    // It works, but a superuser can read any file the server can and run programs as its user: a bug or an injected query
    // would not stop at Kizuna's own database.
    log.warn(
      { role: role.name },
      'connected to PostgreSQL as a superuser; Kizuna needs only a role that owns its database (see README, "The database role")',
    );
  }
  return {
    pool,
    url,
    embedded,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end().catch(() => {});
      await embedded?.stop();
    },
  };
}

export function createPool(url: string, max: number, applicationName: string): pg.Pool {
  return new pg.Pool({ connectionString: url, max, application_name: applicationName, idleTimeoutMillis: 30_000 });
}

/** Runs fn in a transaction on one connection; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
