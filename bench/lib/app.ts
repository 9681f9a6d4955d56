// A Kizuna AppContext on a given database — the same pieces `kizuna serve` and the tests assemble (config, pool, pg-boss,
// logger, clock, secrets) — for benchmark children and the orchestrator's setup steps.
import os from 'node:os';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { createPool } from '../../src/db/index.js';
import { startBoss } from '../../src/jobs/index.js';
import { createLogger } from '../../src/log.js';
import { SecretBox } from '../../src/security/secrets.js';

export async function openContext(url: string, env: Record<string, string> = {}, opts: { poolSize?: number } = {}): Promise<AppContext & { close(): Promise<void> }> {
  const config = loadConfig({ LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', DATABASE_URL: url, ...env });
  const log = createLogger(config.LOG_LEVEL);
  const pool = createPool(url, opts.poolSize ?? 10, 'kizuna-bench');
  const boss = await startBoss({ url, log, schedule: false, supervise: false });
  const db = { pool, url, close: async () => void (await pool.end()) };
  const secrets = new SecretBox(Buffer.alloc(32, 7), 'bench key');
  const ctx: AppContext = { config, db, boss, log, clock: systemClock, workerId: `${os.hostname()}:${process.pid}`, secrets };
  return {
    ...ctx,
    async close() {
      await boss.stop({ graceful: false, wait: true, timeout: 5000 }).catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}
