// The run store: every read and write of sync_runs — and of sync_run_seen, the customers a full run has seen — as named
// transitions (and, in run-history.ts, what metrics and retention read and prune of the runs' history). A run is requested (queued), claimed by one execution (running, with a heartbeat), fed batch by batch, and
// finished (succeeded, or failed with a code); a retryable failure puts it back in the queue with its checkpoint. At most one
// run per tenant is queued or running: a second request joins it. Every write of an execution carries its claim and changes
// nothing once another execution has taken the run over.
import { z } from 'zod';
import type { AppContext } from '../context.js';
import type { Queryable } from '../db/index.js';
import { AppError, Codes } from '../errors.js';
import { sendJob } from '../jobs/define.js';
import { FetchCheckpointSchema, type FetchCheckpoint } from './fetch.js';
import type { BatchCounts } from './write.js';

export const RunStatus = { queued: 'queued', running: 'running', succeeded: 'succeeded', failed: 'failed' } as const;
export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];

export type RunMode = 'full' | 'incremental';
/** `issue`: the mirror-only run after 発行 that feeds the match preview; every other run links and writes values. */
export type RunTrigger = 'nightly' | 'manual' | 'link' | 'catch_up' | 'cli' | 'issue';

export interface Run {
  id: string;
  tenantId: string;
  status: RunStatus;
  mode: RunMode;
  trigger: RunTrigger;
  night: string | null;
  counts: BatchCounts & { deleted: number };
  total: number | null;
  error: { code: string; message: string } | null;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Whether a run is still to be done (queued, or running on some worker). */
export function isActive(run: Pick<Run, 'status'>): boolean {
  return run.status === RunStatus.queued || run.status === RunStatus.running;
}

/** Whether a run has ended. */
export function isFinished(run: Pick<Run, 'status'>): boolean {
  return run.status === RunStatus.succeeded || run.status === RunStatus.failed;
}

const COLS = `id, tenant_id, status, mode, trigger, night::text AS night, fetched, matched, linked, updated, unchanged, unverified,
  unmatched, deleted, total, error_code, error_message, queued_at, started_at, finished_at`;

/** A row of sync_runs as COLS selects it. */
interface RunRow extends BatchCounts {
  id: string;
  tenant_id: string;
  status: RunStatus;
  mode: RunMode;
  trigger: RunTrigger;
  night: string | null;
  deleted: number;
  total: number | null;
  error_code: string | null;
  error_message: string | null;
  queued_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

function toRun(r: RunRow): Run {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return {
    id: r.id,
    tenantId: r.tenant_id,
    status: r.status,
    mode: r.mode,
    trigger: r.trigger,
    night: r.night,
    counts: {
      fetched: r.fetched,
      matched: r.matched,
      linked: r.linked,
      updated: r.updated,
      unchanged: r.unchanged,
      unverified: r.unverified,
      unmatched: r.unmatched,
      deleted: r.deleted,
    },
    total: r.total,
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
    queuedAt: iso(r.queued_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

/** The run in the shape of GET …/runs/:id (docs/http-api.md). */
export function runJson(run: Run) {
  return {
    id: run.id,
    status: run.status,
    mode: run.mode,
    trigger: run.trigger,
    counts: run.counts,
    total: run.total,
    error: run.error,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    queuedAt: run.queuedAt,
  };
}

// -------------------------------------------------------------------------------------------------------------- reads

export async function getRun(ctx: Pick<AppContext, 'db'>, tenantId: string, runId: string): Promise<Run | null> {
  if (!/^[0-9a-f-]{36}$/i.test(runId)) return null;
  const { rows } = await ctx.db.pool.query<RunRow>(`SELECT ${COLS} FROM sync_runs WHERE id = $1 AND tenant_id = $2`, [runId, tenantId]);
  return rows[0] ? toRun(rows[0]) : null;
}

export async function listRuns(ctx: Pick<AppContext, 'db'>, tenantId: string, limit = 20): Promise<Run[]> {
  const { rows } = await ctx.db.pool.query<RunRow>(`SELECT ${COLS} FROM sync_runs WHERE tenant_id = $1 ORDER BY queued_at DESC LIMIT $2`, [
    tenantId,
    limit,
  ]);
  return rows.map(toRun);
}

/** The run as it is now, whoever holds it. */
export async function loadRun(db: Queryable, runId: string): Promise<Run> {
  const { rows } = await db.query<RunRow>(`SELECT ${COLS} FROM sync_runs WHERE id = $1`, [runId]);
  if (!rows[0]) throw new AppError(Codes.NOT_FOUND, `No sync run ${runId}.`);
  return toRun(rows[0]);
}

/** What the run was requested as now: 連携 may turn the mirror-only run after 発行 into a linking run while it reads. */
export async function runTrigger(db: Queryable, runId: string): Promise<RunTrigger | null> {
  const { rows } = await db.query<{ trigger: RunTrigger }>(`SELECT trigger FROM sync_runs WHERE id = $1`, [runId]);
  return rows[0]?.trigger ?? null;
}

// ------------------------------------------------------------------------------------------------------------ request

export const runJobSpec = {
  name: 'shopify.sync-run',
  schema: z.object({ runId: z.string().uuid() }),
  // Retries resume from the checkpoint. Backoff: 1, 2, 4, 8, 16 minutes; a run that still fails is mailed.
  queue: { retryLimit: 5, retryDelay: 60, retryBackoff: true, expireInSeconds: 6 * 3600 },
};

/** Hands a queued run to a worker (the job shopify.sync-run). */
export async function sendRunJob(ctx: Pick<AppContext, 'boss'>, runId: string): Promise<void> {
  await sendJob(ctx.boss, runJobSpec, { runId });
}

/**
 * Requests a run; when the tenant already has one queued or running, joins it instead (the same run id comes back).
 * Nightly runs carry their night, so two schedulers asking for the same night get one run.
 */
export async function requestRun(
  ctx: Pick<AppContext, 'db' | 'boss' | 'clock'>,
  tenantId: string,
  opts: { mode: RunMode; trigger: RunTrigger; night?: string; enqueue?: boolean },
): Promise<{ runId: string; joined: boolean }> {
  const db = ctx.db.pool;
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO sync_runs (tenant_id, mode, trigger, status, night, queued_at)
     VALUES ($1, $2, $3, 'queued', $4, $5)
     ON CONFLICT DO NOTHING
     RETURNING id`,
    [tenantId, opts.mode, opts.trigger, opts.night ?? null, ctx.clock.now()],
  );
  if (rows[0]) {
    if (opts.enqueue !== false) await sendRunJob(ctx, rows[0].id);
    return { runId: rows[0].id, joined: false };
  }
  const active = await db.query<{ id: string }>(
    `SELECT id FROM sync_runs WHERE tenant_id = $1 AND status IN ('queued', 'running') ORDER BY queued_at LIMIT 1`,
    [tenantId],
  );
  if (active.rows[0]) {
    if (opts.trigger !== 'issue') {
      // 連携 (or any real run) joining the mirror-only run after 発行: that run links from its next batch on.
      await db.query(`UPDATE sync_runs SET trigger = $2 WHERE id = $1 AND trigger = 'issue'`, [active.rows[0].id, opts.trigger]);
    }
    return { runId: active.rows[0].id, joined: true };
  }
  // The night already has its run (finished): nothing new to do, report that one.
  const night = await db.query<{ id: string }>(`SELECT id FROM sync_runs WHERE tenant_id = $1 AND night = $2`, [tenantId, opts.night ?? null]);
  if (night.rows[0]) return { runId: night.rows[0].id, joined: true };
  throw new AppError(Codes.CONFLICT, 'Could not queue a sync run; try again.');
}

/** 連携を解除: queued runs of the tenant end failed with this error; a running one stops at its next batch. */
export async function cancelQueuedRuns(db: Queryable, tenantId: string, error: { code: string; message: string }, now: Date): Promise<void> {
  await db.query(
    `UPDATE sync_runs SET status = 'failed', error_code = $3, error_message = $4, finished_at = $2
     WHERE tenant_id = $1 AND status = 'queued'`,
    [tenantId, now, error.code, error.message],
  );
}

// -------------------------------------------------------------------------------------------------------- an execution

/** A run as its execution starts it: where it stands, and what an earlier attempt left (checkpoint, window, counts). */
export interface ClaimedRun extends Run {
  /** As stored; checkpointOf reads it. */
  storedCheckpoint: unknown;
  since: Date | null;
  startedAt: string;
}

/**
 * The checkpoint an earlier attempt left, read through its schema: a corrupt one fails the run with a message that says so
 * (INTERNAL_ERROR, not retried: the next run starts from the beginning) instead of a crash deep in fetch.
 */
export function checkpointOf(run: ClaimedRun): FetchCheckpoint | null {
  if (run.storedCheckpoint === null || run.storedCheckpoint === undefined) return null;
  const parsed = FetchCheckpointSchema.safeParse(run.storedCheckpoint);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'checkpoint'}: ${i.message}`).join('; ');
  throw new Error(`The checkpoint of sync run ${run.id} cannot be read (${issues}); the run stops, and the next one starts from the beginning.`);
}

/**
 * Claims a queued run — or a running one whose heartbeat is older than `staleBefore` (its worker died) — for the execution
 * named `claim`. Null when the run is not there to be taken (done, or running on a live worker).
 */
export async function claimRun(db: Queryable, runId: string, claim: string, now: Date, staleBefore: Date): Promise<ClaimedRun | null> {
  const { rows } = await db.query<RunRow & { checkpoint: unknown; since: Date | null }>(
    `UPDATE sync_runs SET status = 'running', worker_id = $2, heartbeat_at = $3, started_at = coalesce(started_at, $3),
        attempts = attempts + 1, error_code = NULL, error_message = NULL
     WHERE id = $1 AND (status = 'queued' OR (status = 'running' AND heartbeat_at < $4))
     RETURNING ${COLS}, checkpoint, since`,
    [runId, claim, now, staleBefore],
  );
  const r = rows[0];
  return r ? { ...toRun(r), startedAt: new Date(r.started_at!).toISOString(), storedCheckpoint: r.checkpoint, since: r.since } : null;
}

/** Shows the execution alive; false when it no longer holds the run. Inside a transaction it also holds the run's row. */
export async function heartbeat(db: Queryable, runId: string, claim: string, now: Date): Promise<boolean> {
  const own = await db.query(`UPDATE sync_runs SET heartbeat_at = $2 WHERE id = $1 AND worker_id = $3`, [runId, now, claim]);
  return Boolean(own.rowCount);
}

/** What a new run (no checkpoint yet) will read: its mode, the customers expected and the window start. */
export async function recordPlan(db: Queryable, runId: string, plan: { mode: RunMode; total: number; since: Date | null }): Promise<void> {
  await db.query(`UPDATE sync_runs SET total = $2, since = $3, mode = $4 WHERE id = $1`, [runId, plan.total, plan.since, plan.mode]);
}

/**
 * Counts one written batch and moves the checkpoint past it, in the batch's transaction. False when another execution has
 * taken the run over (the caller rolls the batch back).
 */
export async function recordBatch(
  tx: Queryable,
  runId: string,
  claim: string,
  batch: { counts: BatchCounts; checkpoint: FetchCheckpoint; maxUpdated: string | null; now: Date },
): Promise<boolean> {
  const c = batch.counts;
  const own = await tx.query(
    `UPDATE sync_runs SET fetched = fetched + $2, matched = matched + $3, linked = linked + $4, updated = updated + $5,
        unchanged = unchanged + $6, unverified = unverified + $7, unmatched = unmatched + $8, checkpoint = $9,
        max_updated_at = greatest(max_updated_at, $10::timestamptz), heartbeat_at = $11
     WHERE id = $1 AND worker_id = $12`,
    [runId, c.fetched, c.matched, c.linked, c.updated, c.unchanged, c.unverified, c.unmatched, JSON.stringify(batch.checkpoint), batch.maxUpdated, batch.now, claim],
  );
  return Boolean(own.rowCount);
}

/** Full runs record every customer they see, to find at the end the ones deleted in Shopify (see unseenCustomers). */
export async function recordSeen(tx: Queryable, runId: string, customerIds: string[]): Promise<void> {
  if (!customerIds.length) return;
  await tx.query(`INSERT INTO sync_run_seen (run_id, customer_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING`, [runId, customerIds]);
}

/**
 * The tenant's mirror customers this full run has not seen though they were known before it started (a customer that arrived
 * by webhook during the run is not "missing"): deleted in Shopify.
 */
export async function unseenCustomers(tx: Queryable, run: Pick<ClaimedRun, 'id' | 'tenantId' | 'startedAt'>): Promise<string[]> {
  const { rows } = await tx.query<{ customer_id: string }>(
    `SELECT c.customer_id::text AS customer_id FROM shopify_customers c
     WHERE c.tenant_id = $1 AND c.deleted_at IS NULL AND c.synced_at < $3
       AND NOT EXISTS (SELECT 1 FROM sync_run_seen s WHERE s.run_id = $2 AND s.customer_id = c.customer_id)`,
    [run.tenantId, run.id, new Date(run.startedAt)],
  );
  return rows.map((r) => r.customer_id);
}

/** Adds what the run's completion did to its counts. */
export async function addCounts(tx: Queryable, runId: string, more: { linked?: number; deleted?: number }): Promise<void> {
  if (!more.linked && !more.deleted) return;
  await tx.query(`UPDATE sync_runs SET linked = linked + $2, deleted = deleted + $3 WHERE id = $1`, [runId, more.linked ?? 0, more.deleted ?? 0]);
}

/** The newest updatedAt the run has written (bounded by its first export's start): where the next incremental run starts. */
export async function maxUpdatedAt(tx: Queryable, runId: string): Promise<Date | null> {
  const { rows } = await tx.query<{ max_updated_at: Date | null }>(`SELECT max_updated_at FROM sync_runs WHERE id = $1`, [runId]);
  return rows[0]?.max_updated_at ?? null;
}

/** What an attempt cost at Shopify, added to the run's totals whatever the attempt's outcome. */
export async function recordUsage(db: Queryable, runId: string, u: { points: number; throttled: number; exportWaitMs: number }): Promise<void> {
  if (!u.points && !u.throttled && !u.exportWaitMs) return;
  await db.query(
    `UPDATE sync_runs SET shopify_points = shopify_points + $2, shopify_throttled = shopify_throttled + $3,
        export_wait_ms = export_wait_ms + $4 WHERE id = $1`,
    [runId, Math.round(u.points), u.throttled, Math.round(u.exportWaitMs)],
  );
}

/** Back to the queue with its checkpoint and the error of this attempt; false when this execution no longer holds the run. */
export async function requeueRun(db: Queryable, runId: string, claim: string, error: { code: string; message: string }): Promise<boolean> {
  const requeued = await db.query(
    `UPDATE sync_runs SET status = 'queued', worker_id = NULL, error_code = $2, error_message = $3 WHERE id = $1 AND worker_id = $4`,
    [runId, error.code, error.message, claim],
  );
  return Boolean(requeued.rowCount);
}

/** Ends the run if this execution still holds it, and forgets what it saw; null when another worker has taken it over. */
export async function finishRun(
  db: Queryable,
  runId: string,
  claim: string,
  end: { status: typeof RunStatus.succeeded | typeof RunStatus.failed; error: { code: string; message: string } | null; now: Date },
): Promise<Run | null> {
  const { rows } = await db.query<RunRow>(
    `UPDATE sync_runs SET status = $2, error_code = $3, error_message = $4, finished_at = $5, worker_id = NULL
     WHERE id = $1 AND worker_id = $6 RETURNING ${COLS}`,
    [runId, end.status, end.error?.code ?? null, end.error?.message ?? null, end.now, claim],
  );
  if (!rows[0]) return null;
  await db.query(`DELETE FROM sync_run_seen WHERE run_id = $1`, [runId]);
  return toRun(rows[0]);
}

// ---------------------------------------------------------------------------------------------------------- schedule

/** When each tenant's last successful full run finished (absent: never). */
export async function lastFullRuns(db: Queryable, tenantIds: string[]): Promise<Map<string, Date>> {
  const { rows } = await db.query<{ tenant_id: string; last_full: Date }>(
    `SELECT tenant_id, max(finished_at) AS last_full FROM sync_runs
     WHERE tenant_id = ANY($1::uuid[]) AND mode = 'full' AND status = 'succeeded' GROUP BY tenant_id`,
    [tenantIds],
  );
  return new Map(rows.map((r) => [r.tenant_id, r.last_full]));
}

/** Whether the night has its run — or a run requested since `since` (the tenant's moment) has done what it would do. */
export async function nightHasRun(db: Queryable, tenantId: string, night: string, since: Date): Promise<boolean> {
  const exists = await db.query(
    `SELECT 1 FROM sync_runs WHERE tenant_id = $1 AND (night = $2 OR (queued_at >= $3 AND status <> 'failed'))`,
    [tenantId, night, since],
  );
  return Boolean(exists.rowCount);
}

/**
 * Runs whose worker stopped heartbeating before `staleBefore` go back to the queue, and queued runs that showed no life since
 * `lostBefore` (their job presumed lost) are queued afresh; returns their ids, each to be handed to a worker again. A queued
 * run's heartbeat_at is when it last showed life (its last attempt, or the job sent here).
 */
export async function requeueStale(db: Queryable, now: Date, staleBefore: Date, lostBefore: Date): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE sync_runs SET status = 'queued', worker_id = NULL, heartbeat_at = $3
     WHERE (status = 'running' AND heartbeat_at < $1) OR (status = 'queued' AND coalesce(heartbeat_at, queued_at) < $2)
     RETURNING id`,
    [staleBefore, lostBefore, now],
  );
  return rows.map((r) => r.id);
}
