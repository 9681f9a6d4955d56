// Scale-out on a PostgreSQL Kizuna does not run itself, as README "Running on your own PostgreSQL" describes it: a role that
// owns its database and nothing more (no superuser), `kizuna serve --no-worker` (web and scheduler) and two `kizuna worker`
// processes, all through DATABASE_URL. Twenty tenants' nightly runs fall due in one window; the scheduler requests them and
// both workers share them. Then serve is stopped (workers alone from here), and the worker running the largest tenant's sync
// is killed with -9 in the middle of it: the other worker notices (its heartbeat stops), puts the run back on the queue and
// continues it from its last committed batch within 30 s, to the end, with every customer read.
import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createTenant } from '../../src/crm/tenants.js';
import { startFakeShopify, type FakeShopify } from '../../src/dev/shopify/index.js';
import { admin, type Running } from '../../src/main.js';
import { issueCredentials, linkIntegration } from '../../src/shopify/integration.js';
import { nightlySlot } from '../../src/sync/schedule.js';
import { adminUrl } from '../helpers/db.js';
import { freePort, spawnKizuna, type KizunaProcess } from '../helpers/proc.js';

const TENANTS = 20;
const SMALL = 800;
const LARGE = 60_000;

describe('serve + two workers on an external PostgreSQL', () => {
  const suffix = crypto.randomBytes(4).toString('hex');
  const role = `kizuna_scale_${suffix}`;
  const database = `scale_${suffix}`;
  let databaseUrl: string;
  let fake: FakeShopify;
  let setup: Running;
  const procs: KizunaProcess[] = [];
  const tenants: { id: string; shop: string }[] = [];
  let window: string;

  beforeAll(async () => {
    // The role and database an operator creates (README "The database role"): LOGIN, owner of its database, nothing else.
    const su = new pg.Client(adminUrl());
    await su.connect();
    const password = crypto.randomBytes(12).toString('hex');
    await su.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' NOSUPERUSER NOCREATEDB NOCREATEROLE`);
    await su.query(`CREATE DATABASE ${database} OWNER ${role}`);
    await su.end();
    const url = new URL(adminUrl());
    url.username = role;
    url.password = password;
    url.pathname = `/${database}`;
    databaseUrl = url.toString();

    const shops = Array.from({ length: TENANTS }, (_, i) => ({
      domain: `scale-${i}.myshopify.com`,
      customers: i === 0 ? LARGE : SMALL,
      seed: 100 + i,
      bucket: { maximumAvailable: 20_000, restoreRate: 10_000 },
    }));
    fake = await startFakeShopify({ shops });
    setup = await admin('test', { config: loadConfig({ DATABASE_URL: databaseUrl, SHOPIFY_API_ORIGIN: fake.origin, LOG_LEVEL: 'silent' }) });
    window = dueWindow(new Date());
    for (const shop of shops) {
      // Tenant ids are random, and with them each tenant's moment in the window: one whose moment has not come yet (about one
      // in 140) is made again, so every nightly run is due when serve starts.
      let tenantId: string;
      for (;;) {
        const { tenant } = await createTenant(setup.ctx, { name: `scale ${shop.domain}`, plan: 'enterprise', options: ['shopify'] });
        if (nightlySlot(tenant.id, new Date(), window, 'UTC').at.getTime() < Date.now() - 5_000) {
          const s = fake.shop(shop.domain);
          await issueCredentials(setup.ctx, tenant, { storeDomain: shop.domain, accessToken: s.credentials().accessToken }, { startRuns: false });
          await linkIntegration(setup.ctx, tenant, { startRuns: false });
          tenantId = tenant.id;
          break;
        }
        await setup.ctx.db.pool.query(`DELETE FROM tenants WHERE id = $1`, [tenant.id]);
      }
      tenants.push({ id: tenantId, shop: shop.domain });
    }
    // Linked long before tonight, as a brand's integration is (a night from before 連携 is left to 連携's own run).
    await setup.ctx.db.pool.query(`UPDATE shopify_integrations SET linked_at = linked_at - interval '2 days'`);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await setup?.stop();
    await fake?.close();
    const su = new pg.Client(adminUrl());
    await su.connect();
    await su.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await su.query(`DROP ROLE IF EXISTS ${role}`);
    await su.end();
  });

  /** A window of the last ~23 hours that ends ten minutes from now (UTC): most tenants' moments in it have passed. */
  function dueWindow(now: Date): string {
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const end = new Date(Math.ceil(now.getTime() / 60_000) * 60_000 + 10 * 60_000);
    return `${hhmm(new Date(end.getTime() - 23 * 3600_000))}-${hhmm(end)}`;
  }

  const runs = async () =>
    (
      await setup.ctx.db.pool.query<{ id: string; tenant_id: string; status: string; trigger: string; worker_id: string | null; fetched: number; total: number | null; attempts: number }>(
        `SELECT id, tenant_id, status, trigger, worker_id, fetched, total, attempts FROM sync_runs`,
      )
    ).rows;

  it('the nightly window is shared by both workers; a worker killed -9 mid-run is continued by the other within 30 s', async () => {
    const env = {
      DATABASE_URL: databaseUrl,
      SHOPIFY_API_ORIGIN: fake.origin,
      SYNC_WINDOW: window,
      SYNC_TIMEZONE: 'UTC',
      WORKER_POLL_SECONDS: '0.5',
      WORKER_CONCURRENCY: '2',
    };
    const serve = spawnKizuna(['serve', '--no-worker'], { ...env, PORT: String(await freePort()) });
    const workers = [spawnKizuna(['worker'], env), spawnKizuna(['worker'], env)];
    procs.push(serve, ...workers);
    await Promise.all([serve.waitForOutput(/Kizuna is ready/), ...workers.map((w) => w.waitForOutput(/worker is ready/))]);
    for (const p of [serve, ...workers]) expect(p.output()).not.toMatch(/superuser/);

    // serve's scheduler requests every tenant's nightly run at its start-up tick; no jobs run in serve itself.
    const until = Date.now() + 60_000;
    while ((await runs()).length < TENANTS && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect((await runs()).map((r) => r.trigger), [serve, ...workers].map((p) => p.output().slice(-1500)).join('\n----\n')).toEqual(
      Array(TENANTS).fill('nightly'),
    );
    expect(await serve.stop('SIGTERM')).toBe(0); // from here on, workers alone

    // The largest tenant's run, once it has committed a batch: kill its worker outright.
    const large = tenants[0]!.id;
    let victim: { pid: number; runId: string } | null = null;
    while (!victim && Date.now() < until + 60_000) {
      const r = (await runs()).find((x) => x.tenant_id === large);
      if (r?.status === 'running' && r.fetched > 0 && r.worker_id) {
        const pid = Number(/:(\d+)\//.exec(r.worker_id)?.[1]);
        if (workers.some((w) => w.child.pid === pid)) victim = { pid, runId: r.id };
      }
      if (!victim) await new Promise((res) => setTimeout(res, 100));
    }
    expect(victim, 'the large run was never seen mid-way').not.toBeNull();
    const survivor = workers.find((w) => w.child.pid !== victim!.pid)!;
    const killedAt = Date.now();
    process.kill(victim!.pid, 'SIGKILL');

    // The survivor takes it over: its own worker id on the run, within 30 s.
    let continuedAfterMs = -1;
    while (Date.now() - killedAt < 45_000) {
      const r = (await runs()).find((x) => x.id === victim!.runId)!;
      if (r.worker_id?.includes(`:${survivor.child.pid}/`) || r.status === 'succeeded') {
        continuedAfterMs = Date.now() - killedAt;
        break;
      }
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(continuedAfterMs, survivor.output().slice(-2000)).toBeGreaterThanOrEqual(0);
    expect(continuedAfterMs).toBeLessThan(30_000);
    console.log(`killed -9 mid-run; continued on the other worker after ${(continuedAfterMs / 1000).toFixed(1)} s`);

    // Every run ends: all succeeded, each store read whole, the large one in two attempts.
    const done = Date.now() + 120_000;
    while ((await runs()).some((r) => r.status !== 'succeeded') && Date.now() < done) await new Promise((r) => setTimeout(r, 500));
    const final = await runs();
    expect(final.map((r) => r.status)).toEqual(Array(TENANTS).fill('succeeded'));
    for (const r of final) expect(r.fetched).toBeGreaterThanOrEqual(r.total ?? 0);
    expect(final.find((r) => r.id === victim!.runId)!.attempts).toBeGreaterThanOrEqual(2);
    const mirror = await setup.ctx.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM shopify_customers`);
    expect(mirror.rows[0]!.n).toBe(LARGE + (TENANTS - 1) * SMALL);
    // Both workers ran nightly runs (each logs the runs it finished).
    const finished = (w: KizunaProcess) => (w.output().match(/sync run succeeded/g) ?? []).length;
    expect(finished(workers[0]!)).toBeGreaterThan(0);
    expect(finished(workers[1]!)).toBeGreaterThan(0);
  }, 300_000);
});
