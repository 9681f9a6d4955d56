// One real PostgreSQL for the whole test run: the embedded server in a temporary DATA_DIR (or TEST_DATABASE_URL's server when
// set). A template database is migrated once; each test file then clones it (CREATE DATABASE … TEMPLATE), which takes
// milliseconds, so files run in parallel without seeing each other's rows.
//
// Databases are created with the superuser (pgAdminUrl) and owned by the role the application uses (pgAppUrl: the embedded
// server's `kizuna_app`), and tests connect as that role, so a change needing more than the application has fails here first.
// With TEST_DATABASE_URL both are that URL's role.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { createLogger } from '../../src/log.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    /** Credentials of the application role (its database part is replaced per test database). */
    pgAppUrl: string;
    pgTemplate: string;
  }
}

let server: EmbeddedServer | undefined;
let dataDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  let appUrl = adminUrl;
  if (!adminUrl) {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kizuna-test-pg-'));
    server = await startEmbeddedPostgres({ dataDir, log: createLogger('warn'), role: 'test', mode: 'exclusive' });
    adminUrl = server.adminUrl;
    appUrl = server.url;
  }
  const template = `kizuna_template_${process.pid}`;
  const owner = decodeURIComponent(new URL(appUrl!).username);
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${template}`);
  await admin.query(`CREATE DATABASE ${template} OWNER ${admin.escapeIdentifier(owner)}`);
  await admin.end();
  const url = new URL(appUrl!);
  url.pathname = `/${template}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  await migrate(pool);
  await pool.end();
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgAppUrl', appUrl!);
  project.provide('pgTemplate', template);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}
