// A whole Kizuna context on a fresh test database: the same boot code as `kizuna serve`, with a controllable clock.
import { ManualClock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { startBoss, startWorkers } from '../../src/jobs/index.js';
import { createLogger } from '../../src/log.js';
import { SecretBox } from '../../src/security/secrets.js';
import { buildServer } from '../../src/web/server.js';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from './db.js';

export interface TestApp {
  ctx: AppContext & { clock: ManualClock };
  app: FastifyInstance;
  testDb: TestDatabase;
  close(): Promise<void>;
}

export async function createTestApp(
  opts: { env?: Record<string, string>; work?: boolean; clock?: ManualClock } = {},
): Promise<TestApp> {
  const testDb = await createTestDatabase();
  const config: Config = loadConfig({ LOG_LEVEL: 'silent', WORKER_POLL_SECONDS: '0.5', DATABASE_URL: testDb.url, ...opts.env });
  const log = createLogger(config.LOG_LEVEL);
  const boss = await startBoss({ url: testDb.url, log, schedule: false, supervise: false });
  const db = { pool: testDb.pool, url: testDb.url, close: async () => {} };
  const clock = opts.clock ?? new ManualClock('2026-11-28T03:00:00Z');
  const secrets = new SecretBox(Buffer.alloc(32, 7), 'test key');
  const ctx = { config, db, boss, log, clock, workerId: 'test', secrets };
  if (opts.work) await startWorkers(ctx, config.WORKER_POLL_SECONDS, 1);
  const app = await buildServer(ctx, { logLevel: 'silent' });
  await app.ready();
  return {
    ctx,
    app,
    testDb,
    async close() {
      await app.close();
      await boss.stop({ graceful: false, wait: true, timeout: 5000 });
      await testDb.drop();
    },
  };
}
