// Per-test-file databases cloned from the migrated template of test/setup/global-postgres.ts.
import crypto from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import '../../src/db/index.js'; // type parsers (DATE as string, INT8 as number)

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

export function adminUrl(): string {
  return inject('pgAdminUrl');
}

/** A URL of the database `name` as the application role (a non-superuser on the embedded test server). */
export function appUrl(name: string): string {
  const url = new URL(inject('pgAppUrl'));
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh database with Kizuna's schema, owned by the application role; `url` and `pool` connect as that role. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `t_${crypto.randomBytes(6).toString('hex')}`;
  const owner = decodeURIComponent(new URL(inject('pgAppUrl')).username);
  const admin = new pg.Client(adminUrl());
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('pgTemplate')} OWNER ${admin.escapeIdentifier(owner)}`);
  await admin.end();
  const url = new URL(appUrl(name));
  const pool = new pg.Pool({ connectionString: url.toString(), max: 10 });
  // DROP DATABASE … WITH (FORCE) at teardown ends connections that are still idle in the pool (57P01); that is expected then.
  pool.on('error', (e: Error & { code?: string }) => {
    if (e.code !== '57P01') throw e;
  });
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      const c = new pg.Client(adminUrl());
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
