// Deliveries: LINE messages sent to the active friends of a segment, now or at a scheduled time, by a job (line.delivery).
//
//   POST → queued ──(job, at scheduledAt)──► sending ──► sent
//            │                                  │  └───► failed (LINE refused: token, messages, quota; or retries used up)
//            └── cancel ──► canceled            └── a crash or a retryable LINE answer: the job runs again and resumes
//
// When sending starts, the audience is fixed once — the segment's active friends at that moment, in friend id order, cut into
// batches of 500 (delivery_batches) — in the transaction that moves the delivery to `sending`. Each batch is then multicast
// with an X-Line-Retry-Key derived from (delivery id, batch number) and marked sent in its own transaction. Whatever stops the
// job — a crash between LINE's acceptance and our record, a timeout whose answer was lost, a 5xx — the next attempt walks the
// same batches with the same keys: LINE answers 409 for a key it already accepted (the client takes it as the success it is),
// so no batch is delivered twice and none is skipped. LINE remembers keys for 24 hours; a batch first handed over more than 23
// hours earlier without a recorded answer is not sent again but counted as failed (DELIVERY_OUTCOME_UNKNOWN).
// One execution at a time per delivery: a session advisory lock, which PostgreSQL releases by itself when a worker dies.
import crypto from 'node:crypto';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { withTransaction, type Queryable } from '../db/index.js';
import { AppError, Codes } from '../errors.js';
import { defineJob, sendJob, type JobHandler } from '../jobs/define.js';
import { isUuid, tenantLineSecrets } from '../crm/tenants.js';
import { LineApiError } from '../line/errors.js';
import { batchRetryKey, MessagingApi, MULTICAST_MAX_RECIPIENTS, type LineMessage, type MessagingApiOptions } from '../line/messaging.js';
import { parseId } from '../crm/friends.js';
import { DeliveryCodes } from './codes.js';
import { validateMessages } from './messages.js';
import { calendarDate } from '../time.js';
import { compileSegment, toSegment, typedConditions, type SegmentRow } from './segments.js';

export type DeliveryStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'canceled';

export interface Delivery {
  id: string;
  tenantId: string;
  segmentId: number;
  segmentName: string;
  messages: LineMessage[];
  scheduledAt: string | null;
  status: DeliveryStatus;
  /** Recipients fixed when sending started (0 before). */
  targets: number;
  sent: number;
  failed: number;
  error: { code: string; message: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  canceledAt: string | null;
}

export const deliverySettings = {
  /** LINE's multicast limit. */
  batchSize: MULTICAST_MAX_RECIPIENTS,
  /** A batch handed to LINE longer ago than this without a recorded answer is not sent again (LINE keeps keys 24 h). */
  retryKeyTrustMs: 23 * 3600_000,
  /** How far ahead a delivery can be scheduled. */
  maxScheduleAheadMs: 366 * 24 * 3600_000,
  /** A scheduledAt this much in the past is a mistake, not "now". */
  pastToleranceMs: 60_000,
};

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** What SELECT (below) returns: a deliveries row and its segment's name. status is CHECKed to the five DeliveryStatuses. */
interface DeliveryRow {
  id: string;
  tenant_id: string;
  segment_id: number;
  segment_name: string;
  /** jsonb, read through storedMessages. */
  messages: unknown;
  scheduled_at: Date | null;
  status: DeliveryStatus;
  targets: number;
  sent: number;
  failed: number;
  error_code: string | null;
  error_message: string | null;
  attempts: number;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  canceled_at: Date | null;
}

/** What createDelivery stores: the messages validateMessages accepted (LINE message objects, each with its type). */
const storedMessages = z.array(z.looseObject({ type: z.string() }));

function toDelivery(r: DeliveryRow): Delivery {
  const messages = storedMessages.safeParse(r.messages);
  if (!messages.success) throw new Error(`Delivery ${r.id} has messages Kizuna did not write: ${z.prettifyError(messages.error)}`);
  return {
    id: r.id,
    tenantId: r.tenant_id,
    segmentId: r.segment_id,
    segmentName: r.segment_name,
    messages: messages.data,
    scheduledAt: iso(r.scheduled_at),
    status: r.status,
    targets: r.targets,
    sent: r.sent,
    failed: r.failed,
    // every write of error_code writes error_message with it
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
    createdAt: r.created_at.toISOString(),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    canceledAt: iso(r.canceled_at),
  };
}

/** A delivery as the API answers it (docs/http-api.md, "Response shapes"): status, targets, sent, failed and what a client needs around them. */
export function deliveryJson(d: Delivery) {
  return {
    id: d.id,
    segmentId: String(d.segmentId),
    segmentName: d.segmentName,
    status: d.status,
    targets: d.targets,
    sent: d.sent,
    failed: d.failed,
    scheduledAt: d.scheduledAt,
    messages: d.messages,
    error: d.error,
    createdAt: d.createdAt,
    startedAt: d.startedAt,
    finishedAt: d.finishedAt,
    canceledAt: d.canceledAt,
  };
}

const SELECT = `SELECT d.*, s.name AS segment_name FROM deliveries d JOIN segments s ON s.id = d.segment_id`;

export async function getDelivery(db: Queryable, tenantId: string, id: string): Promise<Delivery | null> {
  if (!isUuid(id)) return null;
  const { rows } = await db.query<DeliveryRow>(`${SELECT} WHERE d.tenant_id = $1 AND d.id = $2`, [tenantId, id]);
  return rows[0] ? toDelivery(rows[0]) : null;
}

/** Newest first; optionally one segment's. */
export async function listDeliveries(db: Queryable, tenantId: string, opts: { segmentId?: number; limit?: number } = {}): Promise<Delivery[]> {
  const { rows } = await db.query<DeliveryRow>(
    `${SELECT} WHERE d.tenant_id = $1 AND ($2::bigint IS NULL OR d.segment_id = $2) ORDER BY d.created_at DESC, d.id LIMIT $3`,
    [tenantId, opts.segmentId ?? null, Math.min(Math.max(opts.limit ?? 50, 1), 200)],
  );
  return rows.map(toDelivery);
}

export const deliveryPayload = z.object({ deliveryId: z.string().uuid() });

export const deliveryJob = defineJob({
  name: 'line.delivery',
  schema: deliveryPayload,
  // Each retry resumes at the first batch not yet accepted. Backoff 30 s, 1, 2, 4 … 64 min: about two hours of LINE trouble
  // before the delivery is marked failed — well inside the 24 hours LINE remembers retry keys.
  queue: { retryLimit: 8, retryDelay: 30, retryBackoff: true, expireInSeconds: 3600 },
  handler: async () => handleDeliveryJob,
});

const handleDeliveryJob: JobHandler<z.output<typeof deliveryPayload>> = async ({ deliveryId }, ctx) => {
  const finalAttempt = ctx.retryCount >= (deliveryJob.queue?.retryLimit ?? 0);
  let out: ExecuteResult;
  try {
    out = await executeDelivery(ctx, deliveryId, { finalAttempt });
  } catch (e) {
    // Another execution holds the delivery; on the last attempt it is that one's to finish.
    if (finalAttempt && e instanceof AppError && e.code === DeliveryCodes.DELIVERY_BUSY) return;
    throw e;
  }
  if (out.state === 'not_due') {
    // Woken early (the queue's clock and ours differ): sleep again until the delivery is due.
    await sendJob(ctx.boss, deliveryJob, { deliveryId }, { startAfter: Math.max(1, Math.ceil(out.dueInMs / 1000)) });
  }
};

// ------------------------------------------------------------------------------------------------------------ create

function parseScheduledAt(raw: unknown, now: Date): Date | null {
  if (raw === undefined || raw === null || raw === '') return null;
  const re = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
  const at = typeof raw === 'string' && re.test(raw) ? new Date(raw) : null;
  if (!at || Number.isNaN(at.getTime())) {
    throw new AppError(Codes.VALIDATION_FAILED, 'scheduledAt must be a date and time with its offset, e.g. 2026-12-01T10:00:00+09:00.');
  }
  if (at.getTime() < now.getTime() - deliverySettings.pastToleranceMs) {
    throw new AppError(Codes.VALIDATION_FAILED, `scheduledAt (${at.toISOString()}) is in the past; leave it out to send now.`);
  }
  if (at.getTime() > now.getTime() + deliverySettings.maxScheduleAheadMs) {
    throw new AppError(Codes.VALIDATION_FAILED, 'scheduledAt can be at most one year ahead.');
  }
  return at;
}

export interface DeliveryInput {
  segmentId: number | string;
  messages: unknown;
  scheduledAt?: unknown;
}

/**
 * Queues a delivery: checks the messages and scheduledAt (400), the segment (404 when not the tenant's), the tenant's LINE
 * channel access token (422 LINE_NOT_CONFIGURED), then stores the delivery and its job in one transaction — so there is never a
 * delivery without a job nor a job without its delivery. The job starts at scheduledAt (or now).
 */
export async function createDelivery(ctx: Pick<AppContext, 'db' | 'boss' | 'clock' | 'secrets'>, tenantId: string, raw: unknown): Promise<Delivery> {
  const body = (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : null) as Record<string, unknown> | null;
  if (!body) throw new AppError(Codes.VALIDATION_FAILED, 'The body must be a JSON object {"segmentId", "messages", "scheduledAt"?}.');
  const extra = Object.keys(body).filter((k) => !['segmentId', 'messages', 'scheduledAt'].includes(k));
  if (extra.length) throw new AppError(Codes.VALIDATION_FAILED, `Unknown properties: ${extra.join(', ')}.`);
  if (body.segmentId === undefined || body.segmentId === null || body.segmentId === '') {
    throw new AppError(Codes.VALIDATION_FAILED, 'segmentId is required.');
  }
  const now = ctx.clock.now();
  const messages = validateMessages(body.messages);
  const scheduledAt = parseScheduledAt(body.scheduledAt, now);
  const segmentId = typeof body.segmentId === 'number' || typeof body.segmentId === 'string' ? parseId(body.segmentId) : null;

  const id = await withTransaction(ctx.db.pool, async (client) => {
    // FOR SHARE: a segment being deleted at this moment waits for this delivery (and then refuses), or is gone already.
    const seg =
      segmentId === null
        ? { rows: [] }
        : await client.query<{ id: number }>(`SELECT id FROM segments WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR SHARE`, [tenantId, segmentId]);
    if (!seg.rows[0]) throw new AppError(Codes.NOT_FOUND, `No segment ${String(body.segmentId)}.`);
    const { accessToken } = await tenantLineSecrets(ctx, tenantId);
    if (!accessToken) {
      throw new AppError(
        DeliveryCodes.LINE_NOT_CONFIGURED,
        "This account has no LINE channel access token, so nothing can be sent. Set it with 'kizuna tenant update ID --line-access-token TOKEN'.",
      );
    }
    const id = crypto.randomUUID();
    await client.query(
      `INSERT INTO deliveries (id, tenant_id, segment_id, messages, scheduled_at, status, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6)`,
      [id, tenantId, segmentId, JSON.stringify(messages), scheduledAt, now],
    );
    const delayS = scheduledAt ? Math.ceil((scheduledAt.getTime() - now.getTime()) / 1000) : 0;
    await sendJob(ctx.boss, deliveryJob, { deliveryId: id }, {
      ...(delayS > 0 ? { startAfter: delayS } : {}),
      db: { executeSql: (text: string, values: unknown[]) => client.query(text, values) },
    });
    return id;
  });
  return (await getDelivery(ctx.db.pool, tenantId, id))!;
}

/** Cancels a delivery that has not started (queued, scheduled or not): 409 DELIVERY_NOT_CANCELABLE once it is sending or over. */
export async function cancelDelivery(ctx: Pick<AppContext, 'db' | 'clock'>, tenantId: string, id: string): Promise<Delivery> {
  if (!isUuid(id)) throw new AppError(Codes.NOT_FOUND, `No delivery ${id}.`);
  const now = ctx.clock.now();
  const { rowCount } = await ctx.db.pool.query(
    `UPDATE deliveries SET status = 'canceled', canceled_at = $3, finished_at = $3, updated_at = $3
     WHERE tenant_id = $1 AND id = $2 AND status = 'queued'`,
    [tenantId, id, now],
  );
  const d = await getDelivery(ctx.db.pool, tenantId, id);
  if (!d) throw new AppError(Codes.NOT_FOUND, `No delivery ${id}.`);
  if (!rowCount) {
    throw new AppError(DeliveryCodes.DELIVERY_NOT_CANCELABLE, `This delivery is ${d.status}; only a delivery that has not started can be canceled.`, {
      status: d.status,
    });
  }
  return d;
}

// ------------------------------------------------------------------------------------------------------------ execute

export interface ExecuteDeliveryOptions {
  /** The job's last attempt: a retryable LINE failure now fails the delivery instead of being retried. */
  finalAttempt?: boolean;
  /** Messaging API client overrides (tests: sleep, maxRetries). */
  client?: Partial<MessagingApiOptions>;
  /** Called after LINE accepted batch `batchNo` and before that is recorded (tests stop a worker there). */
  afterSend?: (batchNo: number) => Promise<void> | void;
}

export type ExecuteResult = { state: 'not_due'; dueInMs: number } | { state: 'done'; delivery: Delivery | null };

const LOCK_NAMESPACE = 7_424_243; // with hashtext(delivery id): pg_try_advisory_lock(int, int)

/**
 * Runs a delivery as far as it can go: fixes its audience if it has not started, then sends every batch not yet accepted.
 * Returns 'not_due' before scheduledAt (the job goes back to sleep). Throws a retryable error (the job retries and resumes)
 * for LINE 429 / 5xx / timeouts unless this is the final attempt; non-retryable LINE answers (401, 403, 400, quota) fail the
 * delivery with LINE's code, the recipients not yet sent counted in `failed`.
 */
export async function executeDelivery(ctx: AppContext, deliveryId: string, opts: ExecuteDeliveryOptions = {}): Promise<ExecuteResult> {
  const lock = await ctx.db.pool.connect();
  let locked = false;
  try {
    locked = (await lock.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok`, [LOCK_NAMESPACE, deliveryId])).rows[0].ok;
    if (!locked) throw new AppError(DeliveryCodes.DELIVERY_BUSY, `Delivery ${deliveryId} is being sent by another worker.`);
    return await execute(ctx, deliveryId, opts);
  } finally {
    if (locked) await lock.query(`SELECT pg_advisory_unlock($1, hashtext($2))`, [LOCK_NAMESPACE, deliveryId]).catch(() => {});
    lock.release();
  }
}

async function current(ctx: AppContext, id: string): Promise<Delivery | null> {
  const { rows } = await ctx.db.pool.query<DeliveryRow>(`${SELECT} WHERE d.id = $1`, [id]);
  return rows[0] ? toDelivery(rows[0]) : null;
}

async function execute(ctx: AppContext, deliveryId: string, opts: ExecuteDeliveryOptions): Promise<ExecuteResult> {
  const d = await current(ctx, deliveryId);
  if (!d || d.status === 'sent' || d.status === 'failed' || d.status === 'canceled') return { state: 'done', delivery: d };
  const log = ctx.log.child({ tenantId: d.tenantId, deliveryId });
  const now = ctx.clock.now();
  if (d.status === 'queued' && d.scheduledAt && Date.parse(d.scheduledAt) > now.getTime()) {
    return { state: 'not_due', dueInMs: Date.parse(d.scheduledAt) - now.getTime() };
  }
  const { accessToken } = await tenantLineSecrets(ctx, d.tenantId);
  if (!accessToken) {
    await failRemaining(ctx, deliveryId, DeliveryCodes.LINE_NOT_CONFIGURED, 'The LINE channel access token was removed before the delivery was sent.');
    return { state: 'done', delivery: await current(ctx, deliveryId) };
  }
  if (d.status === 'queued') {
    const started = await fixAudience(ctx, d);
    if (!started) return { state: 'done', delivery: await current(ctx, deliveryId) };
    log.info({ targets: started.targets }, 'delivery started');
  } else {
    await ctx.db.pool.query(`UPDATE deliveries SET attempts = attempts + 1, updated_at = $2 WHERE id = $1`, [deliveryId, now]);
  }

  const api = new MessagingApi({ origin: ctx.config.LINE_API_ORIGIN, channelAccessToken: accessToken, log, maxRetries: 2, ...opts.client });
  for (;;) {
    const { rows } = await ctx.db.pool.query<{ batch_no: number; line_user_ids: string[]; recipients: number; attempted_at: Date | null }>(
      `SELECT batch_no, line_user_ids, recipients, attempted_at FROM delivery_batches
       WHERE delivery_id = $1 AND status = 'pending' ORDER BY batch_no LIMIT 1`,
      [deliveryId],
    );
    const batch = rows[0] as (typeof rows)[number] | undefined;
    if (!batch) break;
    const at = ctx.clock.now();
    if (batch.attempted_at && at.getTime() - batch.attempted_at.getTime() > deliverySettings.retryKeyTrustMs) {
      log.warn({ batch: batch.batch_no }, 'batch handed to LINE too long ago to be retried safely; counted as failed');
      await settleBatch(ctx, deliveryId, batch.batch_no, 'failed', {
        code: DeliveryCodes.DELIVERY_OUTCOME_UNKNOWN,
        message: 'A batch was handed to LINE more than 23 hours earlier without a recorded answer; it was not sent again, as LINE may have delivered it.',
      });
      continue;
    }
    const retryKey = batchRetryKey(deliveryId, batch.batch_no);
    await ctx.db.pool.query(
      `UPDATE delivery_batches SET attempted_at = coalesce(attempted_at, $3), retry_key = $4 WHERE delivery_id = $1 AND batch_no = $2`,
      [deliveryId, batch.batch_no, at, retryKey],
    );
    let result: Awaited<ReturnType<MessagingApi['multicast']>>;
    try {
      result = await api.multicast(batch.line_user_ids, d.messages, retryKey);
    } catch (e) {
      if (!(e instanceof AppError)) throw e; // a bug or the database: the job retries, the batches stay as recorded
      if (e.retryable && !opts.finalAttempt) {
        await ctx.db.pool.query(`UPDATE deliveries SET error_code = $2, error_message = $3, updated_at = $4 WHERE id = $1`, [
          deliveryId,
          e.code,
          e.message,
          ctx.clock.now(),
        ]);
        log.warn({ code: e.code, batch: batch.batch_no }, 'LINE did not accept a batch; the job will retry from it');
        throw e;
      }
      log.warn({ code: e.code, batch: batch.batch_no }, 'delivery failed');
      await failRemaining(ctx, deliveryId, e.code, lineMessage(e));
      return { state: 'done', delivery: await current(ctx, deliveryId) };
    }
    await opts.afterSend?.(batch.batch_no);
    const accepted = result.batches[0];
    await settleBatch(ctx, deliveryId, batch.batch_no, 'sent', { requestId: accepted?.requestId ?? null, duplicate: accepted?.duplicate ?? false });
  }
  const { rows } = await ctx.db.pool.query<{ sent: number; failed: number }>(
    `UPDATE deliveries SET status = CASE WHEN failed > 0 THEN 'failed' ELSE 'sent' END, finished_at = $2, updated_at = $2,
        error_code = CASE WHEN failed > 0 THEN error_code END, error_message = CASE WHEN failed > 0 THEN error_message END
     WHERE id = $1 AND status = 'sending' RETURNING sent, failed`,
    [deliveryId, ctx.clock.now()],
  );
  if (rows[0]) log.info({ sent: rows[0].sent, failed: rows[0].failed }, 'delivery finished');
  return { state: 'done', delivery: await current(ctx, deliveryId) };
}

function lineMessage(e: AppError): string {
  const said = e instanceof LineApiError ? e.lineDetails.lineMessage : undefined;
  return said && !e.message.includes(said) ? `${e.message} (LINE: ${said})` : e.message;
}

/**
 * queued → sending, in one transaction: the delivery row is locked (a cancel at this moment either happened before, and nothing
 * is sent, or waits and then finds it sending), the segment resolved as it is now, and the batches written. Returns null when
 * the delivery is not queued any more or cannot start (its segment deleted, a field gone), having recorded why.
 */
async function fixAudience(ctx: AppContext, d: Delivery): Promise<{ targets: number } | null> {
  const now = ctx.clock.now();
  return withTransaction(ctx.db.pool, async (client) => {
    const { rows: st } = await client.query<{ status: DeliveryStatus }>(`SELECT status FROM deliveries WHERE id = $1 FOR UPDATE`, [d.id]);
    if (st[0]?.status !== 'queued') return null;
    const { rows: segs } = await client.query<SegmentRow>(`SELECT * FROM segments WHERE id = $1 AND tenant_id = $2`, [d.segmentId, d.tenantId]);
    const seg = segs[0] as SegmentRow | undefined;
    const fail = async (code: string, message: string) => {
      await client.query(
        `UPDATE deliveries SET status = 'failed', error_code = $2, error_message = $3, started_at = $4, finished_at = $4, updated_at = $4,
            attempts = attempts + 1 WHERE id = $1`,
        [d.id, code, message, now],
      );
      return null;
    };
    if (!seg || seg.deleted_at) return await fail(DeliveryCodes.SEGMENT_DELETED, 'The segment was deleted before the delivery started.');
    const segment = toSegment(seg);
    let typed;
    try {
      typed = await typedConditions(client, segment);
    } catch (e) {
      if (e instanceof AppError) return await fail(e.code, e.message);
      throw e;
    }
    const c = compileSegment(d.tenantId, segment.match, typed.conditions, calendarDate(now));
    const n = c.params.length;
    // Active friends with a well-formed LINE user id (LINE refuses a whole multicast for one bad id), in friend id order.
    const { rows } = await client.query<{ targets: number }>(
      `WITH audience AS (
         SELECT f.id, f.line_user_id, row_number() OVER (ORDER BY f.id) - 1 AS i
         FROM friends f
         WHERE f.tenant_id = ${c.tenantParam} AND f.status = 'active' AND f.line_user_id ~ '^U[0-9a-f]{32}$' AND f.id IN (${c.sql})
       ), batches AS (
         INSERT INTO delivery_batches (delivery_id, batch_no, friend_ids, line_user_ids, recipients)
         SELECT $${n + 1}::uuid, i / $${n + 2}::int, array_agg(id ORDER BY id), array_agg(line_user_id ORDER BY id), count(*)
         FROM audience GROUP BY i / $${n + 2}::int
         RETURNING recipients
       )
       SELECT coalesce(sum(recipients), 0)::int AS targets FROM batches`,
      [...c.params, d.id, deliverySettings.batchSize],
    );
    const targets = rows[0].targets;
    await client.query(
      `UPDATE deliveries SET status = 'sending', targets = $2, started_at = $3, updated_at = $3, attempts = attempts + 1 WHERE id = $1`,
      [d.id, targets, now],
    );
    return { targets };
  });
}

/** Records one batch's outcome and adds its recipients to the delivery's counts — once, however often it is called. */
async function settleBatch(
  ctx: AppContext,
  deliveryId: string,
  batchNo: number,
  status: 'sent' | 'failed',
  info: { requestId?: string | null; duplicate?: boolean; code?: string; message?: string },
): Promise<void> {
  const now = ctx.clock.now();
  await withTransaction(ctx.db.pool, async (client) => {
    const { rows } = await client.query<{ recipients: number }>(
      `UPDATE delivery_batches SET status = $3, request_id = $4, duplicate = $5, error_code = $6, done_at = $7
       WHERE delivery_id = $1 AND batch_no = $2 AND status = 'pending' RETURNING recipients`,
      [deliveryId, batchNo, status, info.requestId ?? null, info.duplicate ?? null, info.code ?? null, now],
    );
    if (!rows[0]) return;
    const col = status === 'sent' ? 'sent' : 'failed';
    await client.query(
      `UPDATE deliveries SET ${col} = ${col} + $2, updated_at = $3
         ${status === 'failed' ? `, error_code = coalesce(error_code, $4), error_message = coalesce(error_message, $5)` : ''}
       WHERE id = $1`,
      status === 'failed' ? [deliveryId, rows[0].recipients, now, info.code, info.message] : [deliveryId, rows[0].recipients, now],
    );
  });
}

/** Ends a delivery as failed: every batch not yet sent is counted in `failed`, with the code and message. */
async function failRemaining(ctx: AppContext, deliveryId: string, code: string, message: string): Promise<void> {
  const now = ctx.clock.now();
  await withTransaction(ctx.db.pool, async (client) => {
    const { rows } = await client.query<{ recipients: number }>(
      `UPDATE delivery_batches SET status = 'failed', error_code = $2, done_at = $3 WHERE delivery_id = $1 AND status = 'pending' RETURNING recipients`,
      [deliveryId, code, now],
    );
    const n = rows.reduce((s, r) => s + r.recipients, 0);
    await client.query(
      `UPDATE deliveries SET status = 'failed', failed = failed + $2, error_code = $3, error_message = $4, finished_at = $5, updated_at = $5,
          started_at = coalesce(started_at, $5)
       WHERE id = $1 AND status IN ('queued', 'sending')`,
      [deliveryId, n, code, message, now],
    );
  });
}
