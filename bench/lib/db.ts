// One embedded PostgreSQL for the whole benchmark, in a temporary DATA_DIR, and a fresh migrated database per measure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import '../../src/db/index.js'; // the type parsers Kizuna uses
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { createLogger } from '../../src/log.js';

export interface BenchPostgres {
  server: EmbeddedServer;
  dataDir: string;
  version: string;
  settings: Record<string, string>;
  /** Creates (or recreates) a database with Kizuna's schema; returns its URL. */
  freshDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kizuna-bench-'));
  const server = await startEmbeddedPostgres({ dataDir, log: createLogger('warn'), role: 'bench', mode: 'exclusive' });
  const admin = new pg.Client(server.adminUrl);
  await admin.connect();
  const version = (await admin.query<{ server_version: string }>(`SHOW server_version`)).rows[0].server_version;
  const settings: Record<string, string> = {};
  for (const name of ['shared_buffers', 'work_mem', 'maintenance_work_mem', 'max_wal_size', 'synchronous_commit', 'fsync', 'max_parallel_workers_per_gather']) {
    settings[name] = (await admin.query<Record<string, string>>(`SHOW ${name}`)).rows[0][name];
  }
  await admin.end();
  return {
    server,
    dataDir,
    version,
    settings,
    async freshDatabase(name) {
      const c = new pg.Client(server.adminUrl);
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${name}`);
      await c.end();
      const url = new URL(server.adminUrl);
      url.pathname = `/${name}`;
      const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
      await migrate(pool);
      await pool.end();
      return url.toString();
    },
    async stop() {
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Drops a measure's database once its figures are taken (keeps the temp DATA_DIR small across the run). */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const c = new pg.Client(adminUrl);
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await c.end();
}
