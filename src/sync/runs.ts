// Runs: one sync of one tenant from claim to end (its record and transitions: run-store.ts). An execution claims the run, feeds
// it batch by batch from fetch.ts into write.ts with its checkpoint, completes it (links from the mirror, deletions, cursor) and
// ends it (succeeded or failed with a code). A run whose worker died is noticed by its stale heartbeat and resumed from its
// checkpoint by another worker.
import crypto from 'node:crypto';
import type { AppContext } from '../context.js';
import { withTransaction } from '../db/index.js';
import { AppError, Codes } from '../errors.js';
import { defineJob, type JobHandler } from '../jobs/define.js';
import { getTenant } from '../crm/tenants.js';
import { ShopifyCodes, ShopifyError } from '../shopify/errors.js';
import {
  advanceCursor,
  checkPlanForRuns,
  clientForTenant,
  integrationStatus,
  setLastOrderSourceRest,
  shopifyFieldIds,
  type ClientOverrides,
} from '../shopify/integration.js';
import { countCustomers, fetchCustomers, fetchLastOrderIds, readAhead, readsBulk, updatedSinceFilter, type FetchCheckpoint } from './fetch.js';
import { markDeleted, prepareCustomer, writeBatch, writeLinkedValues, type BatchCounts, type PreparedCustomer } from './write.js';
import type { ShopifyCustomer } from './map.js';
import { closeIncident, openIncident } from './incidents.js';
import {
  addCounts,
  claimRun,
  finishRun,
  heartbeat,
  loadRun,
  maxUpdatedAt,
  planRun,
  recordBatch,
  recordSeen,
  requeueRun,
  RunStatus,
  runJobSpec,
  runTrigger,
  unseenCustomers,
  type ClaimedRun,
  type Run,
  type RunMode,
} from './run-store.js';

/** Tunables; the defaults suit production, tests shrink them. */
export const syncSettings = {
  /** Full runs of stores with at least this many customers use a bulk export instead of pages. */
  bulkThreshold: 10_000,
  /**
   * Incremental runs with at least this many changed customers use a bulk export too: a page of ~170–200 customers costs ~1000
   * points, so past the 2000-point bucket (~400 customers) pages crawl at 20 customers/s on a standard plan (10k changes: 8
   * minutes), while an export of a few thousand customers takes seconds and costs 10 points.
   */
  incrementalBulkThreshold: 500,
  /**
   * A full bulk export is split into one part per this many customers, at most `bulkMaxParts`: each part is written while the
   * next one exports (fetch.ts, planBulkParts). Parts are exported one after another, so at most two of Kizuna's bulk queries
   * exist at a time (Shopify allows five per shop since 2026-01).
   */
  bulkCustomersPerPart: 6_250,
  bulkMaxParts: 8,
  /** Incremental runs re-read this much before the cursor: Shopify's updated_at filter precision is uncertain. */
  overlapMs: 5 * 60_000,
  /** A running run whose heartbeat is older than this has lost its worker. */
  staleMs: 3 * 60_000,
  /** A nightly run is full when the last successful full run is older than this (deletions are found on full runs). */
  fullEveryMs: 7 * 24 * 3600_000,
  heartbeatMs: 30_000,
};

export const syncRunJob = defineJob({ ...runJobSpec, handler: async () => handleRunJob });

const handleRunJob: JobHandler<{ runId: string }> = async ({ runId }, ctx) => {
  await executeRun(ctx, runId, { finalAttempt: ctx.retryCount >= (runJobSpec.queue.retryLimit ?? 0) });
};

export interface Progress {
  runId: string;
  done: number;
  total: number | null;
  counts: BatchCounts;
}

export interface ExecuteOptions {
  /** Last attempt: a retryable failure now fails the run (and is mailed) instead of being retried. */
  finalAttempt?: boolean;
  onProgress?: (p: Progress) => void;
  client?: ClientOverrides;
  /** Customers per batch in bulk mode (tests make it small to exercise checkpoints). */
  batchSize?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Called after each batch has committed (tests use it to kill a run between batches). */
  afterBatch?: (batchNo: number) => Promise<void> | void;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Ends an execution without touching the run, the way a process that dies leaves it: its worker is gone (tests kill it
 * between batches through `afterBatch`), or its heartbeat went stale and another worker has taken the run over.
 */
class Abandoned extends Error {
  constructor(readonly killedBy?: unknown) {
    super('this execution no longer owns the run');
  }
}

/** Claims and executes a run to its end. Returns the run as it ended (or as another worker holds it). */
export async function executeRun(ctx: AppContext, runId: string, opts: ExecuteOptions = {}): Promise<Run> {
  const now = () => ctx.clock.now();
  // Every execution claims the run under its own name, not its process's: two deliveries of the run's job — even to one
  // process running jobs concurrently — never both execute it. A running run is taken over only once its heartbeat is stale.
  const claim = `${ctx.workerId}/${crypto.randomUUID().slice(0, 8)}`;
  const row = await claimRun(ctx.db.pool, runId, claim, now(), new Date(now().getTime() - syncSettings.staleMs));
  if (!row) return loadRun(ctx.db.pool, runId);
  const tenantId = row.tenantId;
  const log = ctx.log.child({ tenantId, runId });
  const beating = setInterval(() => {
    heartbeat(ctx.db.pool, runId, claim, now()).catch(() => {});
  }, syncSettings.heartbeatMs);
  beating.unref();
  try {
    await runBody(ctx, row, claim, log, opts);
    const done = await finishRun(ctx.db.pool, runId, claim, { status: RunStatus.succeeded, error: null, now: now() });
    if (!done) return loadRun(ctx.db.pool, runId);
    await closeIncident(ctx, tenantId, done);
    log.info({ counts: done.counts }, 'sync run succeeded');
    return done;
  } catch (e) {
    if (e instanceof Abandoned) {
      if (e.killedBy !== undefined) throw e.killedBy;
      log.warn({}, 'another worker took this sync run over (this one was presumed dead); stopping');
      return loadRun(ctx.db.pool, runId);
    }
    const err = asRunError(e);
    const retry = err.retryable && !opts.finalAttempt;
    log.warn({ code: err.code, retry, message: err.message }, 'sync run failed');
    if (retry) {
      // Back to the queue with its checkpoint; the job's retry resumes it.
      if (!(await requeueRun(ctx.db.pool, runId, claim, err))) return loadRun(ctx.db.pool, runId);
      throw e;
    }
    const failed = await finishRun(ctx.db.pool, runId, claim, { status: RunStatus.failed, error: err, now: now() });
    if (!failed) return loadRun(ctx.db.pool, runId);
    if (err.mail) await openIncident(ctx, tenantId, failed);
    return failed;
  } finally {
    clearInterval(beating);
  }
}

interface RunError {
  code: string;
  message: string;
  retryable: boolean;
  /** Whether operators are told (a run stopped by 連携を解除 or a plan change is not a failure to mail). */
  mail: boolean;
}

function asRunError(e: unknown): RunError {
  if (e instanceof AppError) {
    const quiet = e.code === 'UNLINKED' || e.code === 'PLAN_REQUIRED';
    return { code: e.code, message: e.message, retryable: e.retryable, mail: !quiet };
  }
  const msg = (e as Error)?.message ?? String(e);
  // Database outages are transient; anything else unexpected is a bug: recorded, mailed, not retried forever.
  const transient = /ECONNREFUSED|ECONNRESET|Connection terminated|deadlock detected|could not serialize/i.test(msg);
  return { code: transient ? Codes.DATABASE_UNAVAILABLE : Codes.INTERNAL_ERROR, message: msg, retryable: transient, mail: true };
}

async function runBody(ctx: AppContext, row: ClaimedRun, claim: string, log: AppContext['log'], opts: ExecuteOptions): Promise<void> {
  const tenantId = row.tenantId;
  const runId = row.id;
  const tenant = await getTenant(ctx.db.pool, tenantId);
  if (!tenant) throw new AppError(Codes.NOT_FOUND, 'The tenant no longer exists.');
  if (!(await checkPlanForRuns(ctx, tenant))) {
    throw new AppError('PLAN_REQUIRED', 'エンタープライズプランとShopify連携オプションのご契約がないため、反映を停止しました。');
  }
  const { client, integration } = await clientForTenant(ctx, tenantId, opts.client);
  let mirrorOnly = row.trigger === 'issue';
  if (integration.status !== 'linked' && !(mirrorOnly && integration.status === 'issued')) {
    throw new AppError(ShopifyCodes.UNLINKED, '連携が解除されているため中止しました。');
  }
  // The 22 fields exist from 連携 on; the mirror-only run after 発行 needs none (and may become a linking run midway).
  let fieldIds: number[] = [];
  const ensureFieldIds = async () => (fieldIds.length ? fieldIds : (fieldIds = await shopifyFieldIds(ctx.db.pool, tenantId)));
  if (!mirrorOnly) await ensureFieldIds();
  let withLastOrder = integration.lastOrderSource === 'graphql';
  const onLastOrderDenied = async () => {
    // read_orders was taken away after 発行: from now on (this run, later runs, webhooks) 最終注文ID comes from REST.
    withLastOrder = false;
    await setLastOrderSourceRest(ctx.db.pool, tenantId);
  };
  const sleep = opts.sleep ?? realSleep;

  const checkpoint = row.checkpoint as FetchCheckpoint | null;
  const mode: RunMode = row.mode === 'incremental' && integration.syncCursor ? 'incremental' : 'full';
  const since: Date | null =
    row.since ?? (mode === 'incremental' ? new Date(new Date(integration.syncCursor!).getTime() - syncSettings.overlapMs) : null);
  let useBulk = false;
  let total = row.total;
  if (!checkpoint) {
    total = await countCustomers(client, updatedSinceFilter(since));
    useBulk = total >= (mode === 'full' ? syncSettings.bulkThreshold : syncSettings.incrementalBulkThreshold);
    await planRun(ctx.db.pool, runId, { total, since, mode });
  }
  let done = row.counts.fetched;

  let batchNo = 0;
  const batches = fetchCustomers({
    client,
    withLastOrder,
    onLastOrderDenied,
    since,
    bulk: useBulk,
    total,
    bulkParts: Math.min(syncSettings.bulkMaxParts, Math.max(1, Math.ceil((total ?? 0) / syncSettings.bulkCustomersPerPart))),
    resume: checkpoint,
    sleep,
    batchSize: opts.batchSize,
    log,
  });
  // Writes one batch in its own transaction with its checkpoint, then reports it. `after`: the batch before it, still being
  // written; this one commits only once that one has committed and been reported, so checkpoints advance in order.
  const writeOne = async (checkpoint: FetchCheckpoint, maxUpdated: string | null, prepared: PreparedCustomer[], linking: boolean, after: Promise<void> | null) => {
    const counts = await withTransaction(ctx.db.pool, async (tx) => {
      // A batch commits without waiting for its WAL to reach the disk: a crash can lose only the last batches together with
      // their checkpoint, which the resumed run then simply reads again (the run's own end is a normal, durable commit, which
      // also makes every batch before it durable). Spares a disk flush per batch on the path every batch waits on.
      await tx.query('SET LOCAL synchronous_commit = off');
      if (linking) await ensureFieldIds();
      const c = await writeBatch(tx, { tenantId, fieldIds, customers: prepared, now: ctx.clock.now(), link: linking });
      if (mode === 'full') await recordSeen(tx, runId, prepared.map((p) => p.customerId));
      if (after) {
        await after;
        // 連携を解除 while the previous batch was being written stops the run before this one counts.
        if ((await integrationStatus(tx, tenantId)) === 'unlinked') throw new AppError(ShopifyCodes.UNLINKED, '連携が解除されたため中止しました。');
      }
      // Taken over while this worker was presumed dead: the batch is rolled back, the other worker carries on.
      if (!(await recordBatch(tx, runId, claim, { counts: c, checkpoint, maxUpdated, now: ctx.clock.now() }))) throw new Abandoned();
      return c;
    });
    done += counts.fetched;
    opts.onProgress?.({ runId, done, total, counts });
    try {
      await opts.afterBatch?.(++batchNo);
    } catch (e) {
      throw new Abandoned(e);
    }
  };

  // A bulk export's batches are written two at a time, on two connections: PostgreSQL works on one batch while it finishes the
  // previous one (a server with two cores or more does both at once), and the next lines are parsed meanwhile. Only batches
  // of a linking run that share no customer and no email — so no row — overlap; commits stay in order (see writeOne).
  let last: { done: Promise<void>; keys: Set<string> } | null = null;
  try {
    // Each fetched batch mapped as soon as it is read; the parsed Shopify records are let go then (nothing here keeps a
    // reference to them while the batch waits and is written), which keeps the worker's memory at what the writes need.
    const prepareNext = async (): Promise<{ checkpoint: FetchCheckpoint; prepared: PreparedCustomer[] } | null> => {
      const r = await batches.next();
      if (r.done) return null;
      return { checkpoint: r.value.checkpoint, prepared: await prepareBatch(ctx, client, tenantId, r.value.customers, withLastOrder) };
    };
    const ready = (async function* () {
      try {
        for (let item = await prepareNext(); item; item = await prepareNext()) yield item;
      } finally {
        await batches.return(undefined);
      }
    })();
    // A bulk file is read one batch ahead (the database never waits for Node); pages are read one at a time, each after the
    // previous one is written — Shopify's cost limit sets their pace, and a page read ahead would only spend points early.
    for await (const batch of readsBulk({ bulk: useBulk, resume: checkpoint }) ? readAhead(ready) : ready) {
      const { prepared } = batch;
      // Re-read each batch: 連携を解除 stops the run; 連携 during the mirror-only run after 発行 turns it into a linking run.
      if ((await integrationStatus(ctx.db.pool, tenantId)) === 'unlinked') throw new AppError(ShopifyCodes.UNLINKED, '連携が解除されたため中止しました。');
      mirrorOnly = (await runTrigger(ctx.db.pool, runId)) === 'issue';
      const keys = !mirrorOnly && batch.checkpoint.kind === 'bulk' && prepared.length ? batchKeys(prepared) : null;
      const overlap = last && keys && disjoint(last.keys, keys) ? last : null;
      if (last && !overlap) await last.done;
      let maxUpdated = prepared.reduce<string | null>((m, x) => (!m || Date.parse(x.updatedAt) > Date.parse(m) ? x.updatedAt : m), null);
      // A bulk read holds what Shopify had when its (first) export started: a customer changed after that and seen here in a
      // later export must not move the cursor past changes the earlier export could not see.
      const exportedAt = batch.checkpoint.kind === 'bulk' ? batch.checkpoint.startedAt : null;
      if (maxUpdated && exportedAt && Date.parse(exportedAt) < Date.parse(maxUpdated)) maxUpdated = exportedAt;
      const doneOne = writeOne(batch.checkpoint, maxUpdated, prepared, !mirrorOnly, overlap?.done ?? null);
      doneOne.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
      if (!keys) {
        // Pages, the mirror-only run and the export's first checkpoint: one batch at a time, the next one read only after
        // this one has been written and reported.
        await doneOne;
        last = null;
        continue;
      }
      last = { done: doneOne, keys };
      // At most two batches in flight and one read ahead (plus the lines being parsed): the memory stays that of a few batches.
      if (overlap) await overlap.done;
    }
    if (last) await last.done;
  } finally {
    // Never leave a batch's transaction behind: the one after a failed batch rolls back (it waits on it), then we go on.
    await last?.done.catch(() => undefined);
  }

  mirrorOnly = (await runTrigger(ctx.db.pool, runId)) === 'issue';
  await withTransaction(ctx.db.pool, async (tx) => {
    // Holds the run's row until commit, so no other worker can take the run over while it is being completed.
    if (!(await heartbeat(tx, runId, claim, ctx.clock.now()))) throw new Abandoned();
    if (!mirrorOnly) {
      // Customers read before this run started linking (the mirror-only part of a run that 連携 joined), or matched by an email
      // that arrived while the run was reading, are linked from the mirror now.
      const linked = await linkAllFromMirror(tx, tenantId, await ensureFieldIds(), ctx.clock.now());
      await addCounts(tx, runId, { linked });
    }
    if (mode === 'full') {
      // Deleted in Shopify: in the mirror, not seen by this complete full run, and already known before it started.
      const deleted = await markDeleted(tx, tenantId, await unseenCustomers(tx, row), ctx.clock.now());
      await addCounts(tx, runId, { deleted });
    }
    // The next incremental run starts at the newest updatedAt this run saw — never at "now", which could skip customers
    // changed while this run was reading.
    await advanceCursor(tx, tenantId, await maxUpdatedAt(tx, runId));
  });
}

/**
 * Links every friend to the mirror customer with its verified email (friends already linked keep their customer). Runs at the end
 * of every run, so it starts from the friends not linked yet and probes the mirror by email for each: its cost follows the
 * friends, not the store (joining the whole mirror took seconds per run at a million customers, for nothing new to link).
 */
export async function linkAllFromMirror(
  tx: import('pg').PoolClient,
  tenantId: string,
  fieldIds: number[],
  now: Date,
  /** Only this friend (its email just arrived); all unlinked friends when omitted. */
  friendId: number | null = null,
): Promise<number> {
  const { rows } = await tx.query<{ friend_id: string }>(
    `INSERT INTO shopify_links (tenant_id, friend_id, customer_id, matched_email, linked_at)
     SELECT f.tenant_id, f.id, c.customer_id, c.email_matchable, $2
     FROM friends f CROSS JOIN LATERAL (
       SELECT customer_id, email_matchable FROM shopify_customers c
       WHERE c.tenant_id = f.tenant_id AND c.email_matchable = f.email_normalized AND c.deleted_at IS NULL
       ORDER BY c.shopify_updated_at DESC LIMIT 1) c
     WHERE f.tenant_id = $1 AND f.email_normalized IS NOT NULL AND ($3::bigint IS NULL OR f.id = $3)
       AND NOT EXISTS (SELECT 1 FROM shopify_links l WHERE l.tenant_id = f.tenant_id AND l.friend_id = f.id)
     ON CONFLICT (tenant_id, friend_id) DO NOTHING
     RETURNING friend_id::text AS friend_id`,
    [tenantId, now, friendId],
  );
  if (rows.length) await writeLinkedValues(tx, { tenantId, fieldIds, customerIds: [], friendIds: rows.map((r) => r.friend_id), now });
  return rows.length;
}

/**
 * Maps a batch, filling 最終注文ID from REST for customers whose orders changed when GraphQL's lastOrder is not allowed (runs
 * and webhook follow-ups alike).
 */
export async function prepareBatch(
  ctx: AppContext,
  client: import('../shopify/client.js').ShopifyClient,
  tenantId: string,
  customers: ShopifyCustomer[],
  withLastOrder: boolean,
): Promise<PreparedCustomer[]> {
  if (withLastOrder) return customers.map((c) => prepareCustomer(c));
  const { rows } = await ctx.db.pool.query(
    `SELECT customer_id::text AS id, v_orders_count::text AS orders, v_last_order_id, last_order_source
     FROM shopify_customers WHERE tenant_id = $1 AND customer_id = ANY($2::bigint[])`,
    [tenantId, customers.map((c) => c.legacyResourceId)],
  );
  const known = new Map(rows.map((r) => [r.id as string, r]));
  const ask = customers
    .filter((c) => Number(c.numberOfOrders) > 0 && known.get(c.legacyResourceId)?.orders !== String(BigInt(c.numberOfOrders)))
    .map((c) => c.legacyResourceId);
  let fromRest = new Map<string, string | null>();
  if (ask.length) {
    try {
      fromRest = await fetchLastOrderIds(client, ask);
    } catch (e) {
      // One optional field never fails a sync: keep what we knew and try again on the next change.
      if (!(e instanceof ShopifyError) || e.code === ShopifyCodes.INVALID_TOKEN) throw e;
      ctx.log.warn({ tenantId, code: e.code }, 'last order ids unavailable from REST; keeping the known ones');
    }
  }
  return customers.map((c) => {
    const id = c.legacyResourceId;
    if (Number(c.numberOfOrders) === 0) return prepareCustomer(c, { id: null, source: null });
    if (fromRest.has(id)) return prepareCustomer(c, { id: fromRest.get(id) ?? null, source: 'rest' });
    const k = known.get(id);
    return prepareCustomer(c, { id: k?.v_last_order_id ?? null, source: k?.last_order_source ?? null });
  });
}

/** What two batches written at the same time must not share: customers and matchable emails (and so mirror rows, links, values). */
function batchKeys(prepared: PreparedCustomer[]): Set<string> {
  const keys = new Set<string>();
  for (const c of prepared) {
    keys.add(`c${c.customerId}`);
    if (c.emailMatchable) keys.add(`e${c.emailMatchable}`);
  }
  return keys;
}

function disjoint(a: Set<string>, b: Set<string>): boolean {
  for (const k of b) if (a.has(k)) return false;
  return true;
}
