// Retention: every night (job `ops.retention`, scheduled by `serve` at 04:00 in SYNC_TIMEZONE, after the sync window) the
// log-like tables lose what is older than RETENTION_DAYS, so a service that runs for years does not grow without bound.
// Kept whatever their age: the Shopify mirror, the links, custom data, friends, segments and deliveries (their batches'
// recipient lists are personal data and go once the delivery is long finished), runs of the last 90 days (and each tenant's
// latest run), anything still pending (an unprocessed webhook delivery, an open incident, a running or queued run).
// Deletes go in small batches, each its own statement, so a night's pruning never holds locks a sync would wait on.
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { defineJob, type JobHandler } from '../jobs/define.js';
import { pruneRuns } from '../sync/run-history.js';

/** Runs history is kept at least this long, whatever RETENTION_DAYS says. */
export const RUNS_KEPT_DAYS = 90;
const BATCH = 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Runs are the run store's (sync/run-store.ts): pruned through it, after the tables below. */
interface Rule {
  table: string;
  /** Selects the rows to delete (keys only), with :cutoff, :now and :limit (the batch size). */
  select: string;
  /** The table's key, matched against what `select` returns. */
  key: string;
}

const rules: Rule[] = [
  { table: 'line_webhook_events', key: '(tenant_id, webhook_event_id)',
    select: `SELECT tenant_id, webhook_event_id FROM line_webhook_events WHERE received_at < :cutoff LIMIT :limit` },
  // Failures older than a day no longer count towards any login wait (crm/operators.ts LOGIN_MEMORY_MS).
  { table: 'login_failures', key: 'id',
    select: `SELECT id FROM login_failures WHERE failed_at < least(:cutoff, :now - interval '1 day') LIMIT :limit` },
  { table: 'operator_sessions', key: 'id_hash',
    select: `SELECT id_hash FROM operator_sessions WHERE expires_at < :now LIMIT :limit` },
  { table: 'shopify_webhook_inbox', key: '(tenant_id, webhook_id)',
    select: `SELECT tenant_id, webhook_id FROM shopify_webhook_inbox WHERE processed_at IS NOT NULL AND received_at < :cutoff LIMIT :limit` },
  { table: 'mail_outbox', key: 'id',
    select: `SELECT id FROM mail_outbox WHERE created_at < :cutoff LIMIT :limit` },
  { table: 'friend_email_events', key: 'id',
    select: `SELECT id FROM friend_email_events WHERE occurred_at < :cutoff LIMIT :limit` },
  { table: 'sync_incidents', key: 'id',
    select: `SELECT id FROM sync_incidents WHERE closed_at < :cutoff LIMIT :limit` },
  { table: 'delivery_batches', key: '(delivery_id, batch_no)',
    select: `SELECT b.delivery_id, b.batch_no FROM delivery_batches b JOIN deliveries d ON d.id = b.delivery_id
             WHERE d.status IN ('sent', 'failed', 'canceled') AND d.finished_at < :cutoff LIMIT :limit` },
];

/** `:name` placeholders → $n, typed, numbering only the names the statement uses. */
function bind(sql: string, named: { cutoff: Date; now: Date; limit: number }): { text: string; values: unknown[] } {
  const types = { cutoff: 'timestamptz', now: 'timestamptz', limit: 'int' } as const;
  const order: (keyof typeof named)[] = [];
  const text = sql.replace(/:(cutoff|now|limit)\b/g, (_m, name: keyof typeof named) => {
    if (!order.includes(name)) order.push(name);
    return `$${order.indexOf(name) + 1}::${types[name]}`;
  });
  return { text, values: order.map((n) => named[n]) };
}

export interface RetentionOptions {
  days: number;
  /** Rows per DELETE statement. */
  batchSize?: number;
}

/** Prunes every log-like table; returns how many rows each lost. */
export async function pruneOldRows(ctx: Pick<AppContext, 'db' | 'clock' | 'log'>, opts: RetentionOptions): Promise<Record<string, number>> {
  const now = ctx.clock.now();
  const cutoffs = {
    retention: new Date(now.getTime() - opts.days * DAY_MS),
    runs: new Date(now.getTime() - Math.max(opts.days, RUNS_KEPT_DAYS) * DAY_MS),
  };
  const batch = opts.batchSize ?? BATCH;
  const removed: Record<string, number> = {};
  for (const rule of rules) {
    removed[rule.table] = 0;
    for (;;) {
      const { text, values } = bind(`DELETE FROM ${rule.table} WHERE ${rule.key} IN (${rule.select})`, {
        cutoff: cutoffs.retention,
        now,
        limit: batch,
      });
      const { rowCount } = await ctx.db.pool.query(text, values);
      removed[rule.table] += rowCount ?? 0;
      if ((rowCount ?? 0) < batch) break;
    }
  }
  removed.sync_runs = 0;
  removed.sync_run_seen = 0;
  for (;;) {
    const n = await pruneRuns(ctx.db.pool, cutoffs.runs, batch);
    removed.sync_runs += n.runs;
    removed.sync_run_seen += n.seen;
    if (n.runs < batch && n.seen < batch) break;
  }
  ctx.log.info({ removed, days: opts.days }, 'old log rows pruned');
  return removed;
}

export const retentionJob = defineJob({
  name: 'ops.retention',
  schema: z.object({}).passthrough(),
  queue: { retryLimit: 2, retryDelay: 600, expireInSeconds: 3600 },
  handler: async () => handleRetention,
});

const handleRetention: JobHandler<object> = async (_p, ctx) => {
  await pruneOldRows(ctx, { days: ctx.config.RETENTION_DAYS });
};
