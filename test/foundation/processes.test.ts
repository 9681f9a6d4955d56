// Scale-out as deployed: one `kizuna serve` and two `kizuna worker` processes on one PostgreSQL share the job queue; every job
// is handled exactly once. And `kizuna serve` as an operator starts it: a second one on the same DATA_DIR is refused while
// the first keeps serving, and Ctrl-C leaves no PostgreSQL behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJob } from '../../src/jobs/define.js';
import { startBoss } from '../../src/jobs/index.js';
import { createLogger } from '../../src/log.js';
import { sendMailJob } from '../../src/notify/mail.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { freePort, isRunning, spawnKizuna, type KizunaProcess } from '../helpers/proc.js';

describe('serve + workers on one database', () => {
  let db: TestDatabase;
  const procs: KizunaProcess[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await db.drop();
  });

  it('handles 100 jobs, each exactly once, across three processes', async () => {
    const env = { DATABASE_URL: db.url, WORKER_POLL_SECONDS: '0.5', WORKER_CONCURRENCY: '2' };
    const serve = spawnKizuna(['serve'], { ...env, PORT: String(await freePort()) });
    const w1 = spawnKizuna(['worker'], env);
    const w2 = spawnKizuna(['worker'], env);
    procs.push(serve, w1, w2);
    await Promise.all([serve.waitForOutput(/Kizuna is ready/), w1.waitForOutput(/worker is ready/), w2.waitForOutput(/worker is ready/)]);
    // On the embedded test server they connect as its application role, as a deployment's would (not as a superuser).
    if (!process.env.TEST_DATABASE_URL) for (const p of [serve, w1, w2]) expect(p.output()).not.toMatch(/superuser/);

    const boss = await startBoss({ url: db.url, log: createLogger('silent'), schedule: false, supervise: false });
    const ids = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const id = await sendJob(boss, sendMailJob, { to: [`op${i}@example.jp`], subject: `テスト ${i}`, text: '本文', tenantId: null });
      ids.add(id!);
    }
    await boss.stop({ graceful: false, wait: true });
    expect(ids.size).toBe(100);

    const until = Date.now() + 60_000;
    let done = 0;
    while (Date.now() < until) {
      done = (await db.pool.query('SELECT count(*)::int AS n FROM mail_outbox')).rows[0].n;
      if (done >= 100) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // Give a would-be duplicate delivery a moment to show up before counting.
    await new Promise((r) => setTimeout(r, 1500));
    const { rows } = await db.pool.query('SELECT job_id, attempts, handled_by FROM mail_outbox');
    expect(rows).toHaveLength(100);
    expect(new Set(rows.map((r) => r.job_id))).toEqual(ids);
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
    const handlers = new Set(rows.map((r) => r.handled_by.split(':')[1]));
    const pids = new Set([serve.child.pid, w1.child.pid, w2.child.pid].map(String));
    for (const h of handlers) expect(pids.has(h)).toBe(true);
    expect(handlers.size).toBeGreaterThanOrEqual(2);

    expect(await Promise.all(procs.map((p) => p.stop('SIGTERM')))).toEqual([0, 0, 0]);
  });
});

describe('kizuna serve on the embedded PostgreSQL', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kizuna-serve-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('refuses a second serve on the same DATA_DIR, keeps the first running, and stops PostgreSQL on Ctrl-C', async () => {
    const port = await freePort();
    const first = spawnKizuna(['serve'], { DATA_DIR: dataDir, PORT: String(port) });
    try {
      await first.waitForOutput(/Kizuna is ready/);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const lock = JSON.parse(fs.readFileSync(path.join(dataDir, 'kizuna.lock'), 'utf8'));
      // Its pool, its job queue and the migrations before them ran as the application role, not as the superuser.
      const password = fs.readFileSync(path.join(dataDir, 'pg-password'), 'utf8').trim();
      const admin = new pg.Client({ host: '127.0.0.1', port: lock.port, user: 'postgres', password, database: 'postgres' });
      await admin.connect();
      const { rows } = await admin
        .query(`SELECT DISTINCT usename, application_name FROM pg_stat_activity WHERE datname = 'kizuna' ORDER BY 2`)
        .finally(() => admin.end());
      expect(rows).toEqual([
        { usename: 'kizuna_app', application_name: 'kizuna-jobs' },
        { usename: 'kizuna_app', application_name: 'kizuna-serve' },
      ]);
      expect(first.output()).not.toMatch(/superuser/);

      const second = spawnKizuna(['serve'], { DATA_DIR: dataDir, PORT: String(await freePort()) });
      expect(await second.exited).toBe(1);
      expect(second.output()).toMatch(/already using DATA_DIR/);
      expect(second.output().trim().split('\n')).toHaveLength(1);

      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(await first.stop('SIGINT')).toBe(0);
      expect(isRunning(lock.pgPid)).toBe(false);
      expect(fs.existsSync(path.join(dataDir, 'kizuna.lock'))).toBe(false);
    } finally {
      await first.stop('SIGKILL');
    }
  });
});
