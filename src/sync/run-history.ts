// The runs' history as operations see it: what metrics count and what retention prunes. Part of the run store (run-store.ts):
// these two files are the only code that touches sync_runs and sync_run_seen.
import type { Queryable } from '../db/index.js';
import type { Run, RunMode, RunStatus, RunTrigger } from './run-store.js';

/** How many runs are recorded, per status and trigger (metrics). */
export async function runCounts(db: Queryable): Promise<{ status: RunStatus; trigger: RunTrigger; n: number }[]> {
  const { rows } = await db.query<{ status: RunStatus; trigger: RunTrigger; n: number }>(
    `SELECT status, trigger, count(*)::int AS n FROM sync_runs GROUP BY 1, 2`,
  );
  return rows;
}

/** The recorded runs' counts added up (metrics). */
export async function countTotals(db: Queryable): Promise<Run['counts']> {
  const { rows } = await db.query<Run['counts']>(
    `SELECT coalesce(sum(fetched), 0)::bigint AS fetched, coalesce(sum(matched), 0)::bigint AS matched,
            coalesce(sum(linked), 0)::bigint AS linked, coalesce(sum(updated), 0)::bigint AS updated,
            coalesce(sum(unchanged), 0)::bigint AS unchanged, coalesce(sum(unverified), 0)::bigint AS unverified,
            coalesce(sum(unmatched), 0)::bigint AS unmatched, coalesce(sum(deleted), 0)::bigint AS deleted
     FROM sync_runs`,
  );
  return rows[0]!;
}

/** The wall time of every finished run (metrics). */
export async function finishedDurations(db: Queryable): Promise<{ mode: RunMode; status: RunStatus; seconds: number }[]> {
  const { rows } = await db.query<{ mode: RunMode; status: RunStatus; seconds: number }>(
    `SELECT mode, status, extract(epoch FROM finished_at - started_at)::float8 AS seconds FROM sync_runs
     WHERE finished_at IS NOT NULL AND started_at IS NOT NULL`,
  );
  return rows;
}

/**
 * Retention: deletes up to `limit` runs that finished before `before` — never an active run, nor a tenant's latest — and
 * what runs no longer active saw; returns how many rows went.
 */
export async function pruneRuns(db: Queryable, before: Date, limit: number): Promise<{ runs: number; seen: number }> {
  const runs = await db.query(
    `DELETE FROM sync_runs WHERE id IN (
       SELECT r.id FROM sync_runs r
       WHERE r.status IN ('succeeded', 'failed') AND r.finished_at < $1
         AND r.id <> (SELECT l.id FROM sync_runs l WHERE l.tenant_id = r.tenant_id ORDER BY l.queued_at DESC LIMIT 1)
       LIMIT $2)`,
    [before, limit],
  );
  const seen = await db.query(
    `DELETE FROM sync_run_seen WHERE (run_id, customer_id) IN (
       SELECT s.run_id, s.customer_id FROM sync_run_seen s
       WHERE NOT EXISTS (SELECT 1 FROM sync_runs r WHERE r.id = s.run_id AND r.status IN ('queued', 'running'))
       LIMIT $1)`,
    [limit],
  );
  return { runs: runs.rowCount ?? 0, seen: seen.rowCount ?? 0 };
}

/**
 * What the recorded runs cost at Shopify, per shop: points, THROTTLED answers, seconds waiting for bulk exports (metrics). The
 * shop is the integration's current store domain (read only, from integration.ts's table).
 */
export async function shopifyUsageByShop(db: Queryable): Promise<{ shop: string; points: number; throttled: number; exportWaitSeconds: number }[]> {
  const { rows } = await db.query<{ shop: string; points: number; throttled: number; wait_s: number }>(
    `SELECT i.store_domain AS shop, sum(r.shopify_points)::bigint AS points, sum(r.shopify_throttled)::bigint AS throttled,
            (sum(r.export_wait_ms) / 1000.0)::float8 AS wait_s
     FROM sync_runs r JOIN shopify_integrations i ON i.tenant_id = r.tenant_id GROUP BY 1`,
  );
  return rows.map((r) => ({ shop: r.shop, points: Number(r.points), throttled: Number(r.throttled), exportWaitSeconds: r.wait_s }));
}
