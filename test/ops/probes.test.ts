// /healthz (liveness), /readyz (database, migrations, job system) and /metrics (Prometheus text behind METRICS_TOKEN): what a
// load balancer and a monitoring system see, including while PostgreSQL is unreachable.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/web/server.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/proc.js';
import { makeTenant } from '../crm/fixtures.js';
import { syncWorld } from '../helpers/sync.js';

const TOKEN = 'metrics-token-0123456789abcdef';

describe('probes and metrics', () => {
  let t: TestApp;
  const metrics = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    return res.body;
  };
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line ? Number(line.slice(series.length + 1)) : undefined;
  };

  beforeAll(async () => {
    t = await createTestApp({ env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(() => t.close());

  it('/metrics needs the token; without METRICS_TOKEN it does not exist', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong-token-wrong-token' } })).statusCode).toBe(401);
    const off = await createTestApp();
    try {
      expect((await off.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(404);
    } finally {
      await off.close();
    }
  });

  it('describes runs, customers, durations, queues, deliveries, mail and webhooks, and follows what happens', async () => {
    const before = await metrics();
    for (const name of [
      'kizuna_sync_runs',
      'kizuna_sync_customers',
      'kizuna_sync_run_duration_seconds',
      'kizuna_job_queue_depth',
      'kizuna_line_delivery_recipients',
      'kizuna_mail',
      'kizuna_webhook_deliveries_total',
      'kizuna_process_resident_memory_bytes',
    ]) {
      expect(before, name).toContain(`# TYPE ${name} `);
    }
    expect(before).not.toContain(TOKEN);
    const a = await makeTenant(t);
    await t.ctx.db.pool.query(
      `INSERT INTO sync_runs (tenant_id, mode, trigger, status, fetched, updated, queued_at, started_at, finished_at)
       VALUES ($1, 'full', 'manual', 'succeeded', 1200, 300, now() - interval '90 seconds', now() - interval '90 seconds', now())`,
      [a.id],
    );
    const after = await metrics();
    expect(value(after, 'kizuna_sync_runs{status="succeeded",trigger="manual"}')).toBe(1);
    expect(value(after, 'kizuna_sync_customers{count="fetched"}')).toBe((value(before, 'kizuna_sync_customers{count="fetched"}') ?? 0) + 1200);
    expect(value(after, 'kizuna_sync_run_duration_seconds_bucket{le="120",mode="full",status="succeeded"}')).toBe(1);
    expect(value(after, 'kizuna_sync_run_duration_seconds_bucket{le="60",mode="full",status="succeeded"}')).toBe(0);
  });

  it('/readyz is 200 when everything runs, 503 when the migrations are behind or the job system stopped', async () => {
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ok: true, checks: { database: true, migrations: true, jobs: true } });
    const last = (await t.ctx.db.pool.query(`DELETE FROM kizuna_migrations WHERE id = (SELECT max(id) FROM kizuna_migrations) RETURNING id, name`)).rows[0];
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ ok: false, checks: { migrations: false } });
    await t.ctx.db.pool.query(`INSERT INTO kizuna_migrations (id, name) VALUES ($1, $2)`, [last.id, last.name]);
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('while PostgreSQL is unreachable: /readyz and /healthz answer 503, not 500', async () => {
    const deadPool = new pg.Pool({ host: '127.0.0.1', port: await freePort(), user: 'x', password: 'x', database: 'x', connectionTimeoutMillis: 2000 });
    const app = await buildServer({ ...t.ctx, db: { ...t.ctx.db, pool: deadPool } }, { logLevel: 'silent' });
    try {
      const readyz = await app.inject({ method: 'GET', url: '/readyz' });
      expect(readyz.statusCode).toBe(503);
      expect(readyz.json().checks.database).toBe(false);
      const healthz = await app.inject({ method: 'GET', url: '/healthz' });
      expect(healthz.statusCode).toBe(503);
      expect(healthz.json().error.code).toBe('DATABASE_UNAVAILABLE');
    } finally {
      await app.close();
      await deadPool.end();
    }
  });

  it('/readyz is 503 once the job system has stopped', async () => {
    await t.ctx.boss.stop({ graceful: false, wait: true, timeout: 2000 });
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().checks.jobs).toBe(false);
  });
});

describe('metrics across a sync', () => {
  it('a bulk sync moves the run, customer and Shopify usage figures of its shop', async () => {
    const w = await syncWorld({ shopify: { customers: 300, seed: 9 }, env: { METRICS_TOKEN: TOKEN }, settings: { bulkThreshold: 100 } });
    try {
      await w.issue();
      await w.link();
      const scrape = async () => {
        const res = await w.t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
        return res.body;
      };
      const shop = w.h.shop.domain;
      const before = await scrape();
      expect(before).not.toContain(`kizuna_shopify_cost_points{shop="${shop}"}`);
      const run = await w.sync('full');
      expect(run.status).toBe('succeeded');
      const after = await scrape();
      const read = (series: string) => Number(after.split('\n').find((l) => l.startsWith(series + ' '))?.split(' ')[1]);
      expect(read('kizuna_sync_customers{count="fetched"}')).toBe(300);
      expect(read(`kizuna_shopify_cost_points{shop="${shop}"}`)).toBeGreaterThan(0);
      expect(read(`kizuna_shopify_throttled{shop="${shop}"}`)).toBe(0);
      expect(read(`kizuna_shopify_bulk_export_wait_seconds{shop="${shop}"}`)).toBeGreaterThanOrEqual(0);
      expect(after).toMatch(/kizuna_sync_runs\{status="succeeded",trigger="manual"\} 1/);
    } finally {
      await w.close();
    }
  });
});
