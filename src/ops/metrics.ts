// Prometheus metrics (GET /metrics, off unless METRICS_TOKEN is set). What happens in the worker processes — runs (through the
// run store), Shopify calls, deliveries, mail — is read from the database at scrape time, so one scrape of `serve` describes the whole
// deployment however many workers it has; what only the web process sees (webhook deliveries it answered) is counted in
// memory; and the process's own Node metrics come from prom-client's defaults.
import client from 'prom-client';
import type { AppContext } from '../context.js';
import { countTotals, finishedDurations, runCounts, shopifyUsageByShop } from '../sync/run-history.js';

export interface Metrics {
  registry: client.Registry;
  /** Webhook deliveries this process answered: source shopify|line, outcome accepted|duplicate|rejected|unauthorized. */
  webhooks: client.Counter<'source' | 'outcome'>;
}

type Row = Record<string, unknown>;

/** A gauge whose values are read from the database when scraped. */
function dbGauge(
  registry: client.Registry,
  ctx: Pick<AppContext, 'db'>,
  opts: { name: string; help: string; labels: string[]; sql: string; value: (r: Row) => number },
): void {
  new client.Gauge({
    name: opts.name,
    help: opts.help,
    labelNames: opts.labels,
    registers: [registry],
    async collect() {
      const { rows } = await ctx.db.pool.query<Row>(opts.sql);
      this.reset();
      for (const r of rows) this.set(Object.fromEntries(opts.labels.map((l) => [l, String(r[l] ?? '')])), opts.value(r));
    },
  });
}

const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600, 7200];

/** Runs, customers, durations and Shopify usage: what the sync workers did, from the run store. */
function syncCollectors(registry: client.Registry, ctx: Pick<AppContext, 'db'>): void {
  new client.Gauge({
    name: 'kizuna_sync_runs',
    help: 'Sync runs recorded (the last 90 days at least), by status and trigger',
    labelNames: ['status', 'trigger'],
    registers: [registry],
    async collect() {
      const rows = await runCounts(ctx.db.pool);
      this.reset();
      for (const r of rows) this.set({ status: r.status, trigger: r.trigger }, r.n);
    },
  });
  new client.Gauge({
    name: 'kizuna_sync_customers',
    help: 'Customers handled by the recorded sync runs, by what happened to them',
    labelNames: ['count'],
    registers: [registry],
    async collect() {
      const totals = await countTotals(ctx.db.pool);
      for (const [count, n] of Object.entries(totals)) this.set({ count }, Number(n));
    },
  });
  const duration = new client.Histogram({
    name: 'kizuna_sync_run_duration_seconds',
    help: 'Wall time of finished sync runs (the last 90 days at least), from start to end',
    labelNames: ['mode', 'status'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
    async collect() {
      const rows = await finishedDurations(ctx.db.pool);
      duration.reset();
      for (const r of rows) duration.observe({ mode: r.mode, status: r.status }, r.seconds);
    },
  });
  const usage = { points: 'kizuna_shopify_cost_points', throttled: 'kizuna_shopify_throttled', exportWaitSeconds: 'kizuna_shopify_bulk_export_wait_seconds' } as const;
  const help = {
    points: 'Shopify query cost points the recorded sync runs spent, per shop',
    throttled: 'THROTTLED answers Shopify gave the recorded sync runs, per shop',
    exportWaitSeconds: 'Seconds the recorded sync runs waited for Shopify bulk exports to complete, per shop',
  };
  for (const key of Object.keys(usage) as (keyof typeof usage)[]) {
    new client.Gauge({
      name: usage[key],
      help: help[key],
      labelNames: ['shop'],
      registers: [registry],
      async collect() {
        const rows = await shopifyUsageByShop(ctx.db.pool);
        this.reset();
        for (const r of rows) this.set({ shop: r.shop }, r[key]);
      },
    });
  }
}

export function createMetrics(ctx: Pick<AppContext, 'db'>): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'kizuna_' });

  syncCollectors(registry, ctx);
  dbGauge(registry, ctx, {
    name: 'kizuna_job_queue_depth',
    help: 'Jobs waiting (created or to be retried) or running, per queue',
    labels: ['queue', 'state'],
    sql: `SELECT name AS queue, state::text AS state, count(*)::int AS n FROM pgboss.job
          WHERE state IN ('created', 'retry', 'active') GROUP BY 1, 2`,
    value: (r) => Number(r.n),
  });
  dbGauge(registry, ctx, {
    name: 'kizuna_line_delivery_recipients',
    help: 'Recipients of LINE deliveries: sent (LINE accepted) or failed',
    labels: ['outcome'],
    sql: `SELECT 'sent' AS outcome, coalesce(sum(sent), 0)::bigint AS n FROM deliveries
          UNION ALL SELECT 'failed', coalesce(sum(failed), 0)::bigint FROM deliveries`,
    value: (r) => Number(r.n),
  });
  dbGauge(registry, ctx, {
    name: 'kizuna_mail',
    help: 'Mails sent (SMTP or outbox, the last RETENTION_DAYS) and mails whose job failed for good',
    labels: ['outcome'],
    sql: `SELECT 'sent' AS outcome, count(*)::int AS n FROM mail_outbox
          UNION ALL SELECT 'failed', count(*)::int FROM pgboss.job WHERE name = 'mail.send' AND state = 'failed'`,
    value: (r) => Number(r.n),
  });
  const webhooks = new client.Counter({
    name: 'kizuna_webhook_deliveries_total',
    help: 'Webhook deliveries this process answered, by source and outcome',
    labelNames: ['source', 'outcome'] as const,
    registers: [registry],
  });
  return { registry, webhooks };
}
