// Runs: one sync of one tenant from claim to end (its record and transitions: run-store.ts). An execution claims the run, feeds
// it batch by batch from fetch.ts into write.ts with its checkpoint, completes it (links from the mirror, deletions, cursor) and
// ends it (succeeded or failed with a code). A run whose worker died is noticed by its stale heartbeat and resumed from its
// checkpoint by another worker.
import crypto from 'node:crypto';
import type { AppContext } from '../context.js';
import { withTransaction, type Queryable } from '../db/index.js';
import { AppError, Codes } from '../errors.js';
import { defineJob, type JobHandler } from '../jobs/define.js';
import { getTenant } from '../crm/tenants.js';
import type { ShopifyClient } from '../shopify/client.js';
import { ShopifyCodes } from '../shopify/errors.js';
import {
  advanceCursor,
  checkPlanForRuns,
  clientForTenant,
  integrationStatus,
  setLastOrderSourceRest,
  type Integration,
} from '../shopify/integration.js';
import type { ClientOverrides } from '../shopify/credentials.js';
import { shopifyFieldIds } from '../shopify/fields.js';
import type { ShopifyCustomer } from '../shopify/queries.js';
import { countCustomers, fetchCustomers, readsBulk, updatedSinceFilter, type FetchBatch, type FetchCheckpoint } from './fetch.js';
import {
  batchKeys,
  linkAllFromMirror,
  markDeleted,
  prepareBatch,
  writeBatch,
  type BatchCounts,
  type PreparedCustomer,
} from './write.js';
import { readAhead, writeInOrder } from './pipeline.js';
import { closeIncident, openIncident } from './incidents.js';
import { Abandoned, asRunError, HandedBack } from './run-errors.js';
import { defaultSyncSettings, type SyncSettings } from './settings.js';
import {
  addCounts,
  checkpointOf,
  claimRun,
  finishRun,
  heartbeat,
  loadRun,
  maxUpdatedAt,
  recordBatch,
  recordPlan,
  recordSeen,
  recordUsage,
  requeueRun,
  sendRunJob,
  RunStatus,
  runJobSpec,
  runTrigger,
  unseenCustomers,
  type ClaimedRun,
  type Run,
  type RunMode,
} from './run-store.js';

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
  /** Tunables other than the defaults (defaultSyncSettings). */
  settings?: Partial<SyncSettings>;
  /** Called after each batch has committed (tests use it to kill a run between batches). */
  afterBatch?: (batchNo: number) => Promise<void> | void;
}

/** Claims and executes a run to its end. Returns the run as it ended (or as another worker holds it). */
export async function executeRun(ctx: AppContext, runId: string, opts: ExecuteOptions = {}): Promise<Run> {
  const now = () => ctx.clock.now();
  // Every execution claims the run under its own name, not its process's: two deliveries of the run's job — even to one
  // process running jobs concurrently — never both execute it. A running run is taken over only once its heartbeat is stale.
  const claim = `${ctx.workerId}/${crypto.randomUUID().slice(0, 8)}`;
  const settings: SyncSettings = { ...defaultSyncSettings, ...opts.settings };
  const row = await claimRun(ctx.db.pool, runId, claim, now(), new Date(now().getTime() - settings.staleMs));
  if (!row) return loadRun(ctx.db.pool, runId);
  const tenantId = row.tenantId;
  const log = ctx.log.child({ tenantId, runId });
  const beating = setInterval(() => {
    heartbeat(ctx.db.pool, runId, claim, now()).catch(() => {});
  }, settings.heartbeatMs);
  beating.unref();
  // What this attempt costs at Shopify, recorded on the run whatever its outcome (metrics).
  const usage: AttemptUsage = { client: null, exportWaitMs: 0 };
  try {
    await runBody(ctx, row, claim, log, { ...opts, settings, usage });
    await recordAttemptUsage(ctx, runId, usage);
    const done = await finishRun(ctx.db.pool, runId, claim, { status: RunStatus.succeeded, error: null, now: now() });
    if (!done) return loadRun(ctx.db.pool, runId);
    await closeIncident(ctx, tenantId, done);
    log.info({ counts: done.counts }, 'sync run succeeded');
    return done;
  } catch (e) {
    await recordAttemptUsage(ctx, runId, usage);
    if (e instanceof HandedBack) {
      if (await requeueRun(ctx.db.pool, runId, claim, { code: 'HANDED_BACK', message: e.message })) await sendRunJob(ctx, runId);
      log.info({}, 'worker stopping: sync run handed back to the queue');
      return loadRun(ctx.db.pool, runId);
    }
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

/** What an execution reads, decided when the run starts (a resumed run keeps what its first attempt decided). */
interface Plan {
  mode: RunMode;
  /** Only customers updated since then (incremental runs, with an overlap); null for all. */
  since: Date | null;
  /** Customers expected (customersCount when the run started). */
  total: number | null;
  /** A new run reads bulk exports (a large store or many changes); a resumed one reads the way its checkpoint says. */
  bulk: boolean;
  resume: FetchCheckpoint | null;
}

/** A batch ready to be written, and what the run does with it. */
interface ReadyBatch {
  prepared: PreparedCustomer[];
  /** Where to resume once this batch is written. */
  checkpoint: FetchCheckpoint;
  /** false while the run is the mirror-only run after 発行: the mirror only, no links and no values. */
  linking: boolean;
  /** What a batch written at the same time must not share (see pipeline.ts); null: written alone. */
  keys: Set<string> | null;
  /** The newest updatedAt of the batch, never past its export's start: how far the cursor may move. */
  maxUpdated: string | null;
}

/** The Shopify client of an attempt (its stats count points and THROTTLED answers) and its wait for bulk exports. */
interface AttemptUsage {
  client: ShopifyClient | null;
  exportWaitMs: number;
}

async function recordAttemptUsage(ctx: AppContext, runId: string, usage: AttemptUsage): Promise<void> {
  const stats = usage.client?.stats;
  await recordUsage(ctx.db.pool, runId, { points: stats?.pointsUsed ?? 0, throttled: stats?.throttled ?? 0, exportWaitMs: usage.exportWaitMs }).catch(
    (e: Error) => ctx.log.warn({ runId, err: { message: e.message } }, 'could not record the run’s Shopify usage'),
  );
  usage.client = null;
  usage.exportWaitMs = 0;
}

/** One run: plan → fetch → prepare → write → finish. */
async function runBody(
  ctx: AppContext,
  run: ClaimedRun,
  claim: string,
  log: AppContext['log'],
  opts: ExecuteOptions & { settings: SyncSettings; usage: AttemptUsage },
): Promise<void> {
  const { settings, usage } = opts;
  // Plan: the run may go on (plan, integration), and what it reads.
  const { client, integration } = await openIntegration(ctx, run, opts);
  usage.client = client;
  // The 22 fields exist from 連携 on; the mirror-only run after 発行 needs none (and may become a linking run midway).
  const fieldIds = fieldIdsOnce(ctx, run.tenantId);
  if (run.trigger !== 'issue') await fieldIds();
  const plan = await planReading(ctx, run, client, integration, settings);

  // Fetch: batches of customers, each with the checkpoint that resumes after it.
  const lastOrder = { fromGraphql: integration.lastOrderSource === 'graphql' };
  const fetched = fetchCustomers({
    client,
    withLastOrder: lastOrder.fromGraphql,
    onLastOrderDenied: async () => {
      // read_orders was taken away after 発行: from now on (this run, later runs, webhooks) 最終注文ID comes from REST.
      lastOrder.fromGraphql = false;
      await setLastOrderSourceRest(ctx.db.pool, run.tenantId);
    },
    since: plan.since,
    bulk: plan.bulk,
    total: plan.total,
    bulkParts: Math.min(settings.bulkMaxParts, Math.max(1, Math.ceil((plan.total ?? 0) / settings.bulkCustomersPerPart))),
    resume: plan.resume,
    clock: ctx.clock,
    stats: usage,
    batchSize: opts.batchSize,
    log,
  });

  // Prepare: each batch mapped as soon as it is read. A bulk file is read one batch ahead (the database never waits for
  // Node); pages are read one at a time, each after the previous one is written — Shopify's cost limit sets their pace, and a
  // page read ahead would only spend points early.
  const prepared = prepareEach(fetched, (customers) => prepareBatch(ctx, client, run.tenantId, customers, lastOrder.fromGraphql));
  const ready = checkEach(ctx, run, readsBulk(plan) ? readAhead(prepared) : prepared);

  // Write: each batch in its own transaction with its checkpoint. A bulk export's batches of a linking run that share no
  // customer and no email — so no row — are written two at a time, on two connections (pipeline.ts); pages, the mirror-only
  // run and the export's first checkpoint one at a time. At most two batches in flight and one read ahead (plus the lines
  // being parsed): the memory stays that of a few batches.
  const reportBatch = progressReporter(run, plan.total, opts);
  await writeInOrder(
    ready,
    (batch) => batch.keys,
    async (batch, after) => reportBatch(await writeOne(ctx, run, claim, plan, batch, batch.linking ? await fieldIds() : [], after)),
  );

  // Finish: links from the mirror, deletions, the cursor.
  await completeRun(ctx, run, claim, plan, fieldIds);
}

/** The tenant may still run (plan), and its integration is linked — or issued, for the mirror-only run after 発行. */
async function openIntegration(ctx: AppContext, run: ClaimedRun, opts: ExecuteOptions) {
  const tenant = await getTenant(ctx.db.pool, run.tenantId);
  if (!tenant) throw new AppError(Codes.NOT_FOUND, 'The tenant no longer exists.');
  if (!(await checkPlanForRuns(ctx, tenant))) {
    throw new AppError('PLAN_REQUIRED', 'エンタープライズプランとShopify連携オプションのご契約がないため、反映を停止しました。');
  }
  const opened = await clientForTenant(ctx, run.tenantId, opts.client);
  const status = opened.integration.status;
  if (status !== 'linked' && !(run.trigger === 'issue' && status === 'issued')) {
    throw new AppError(ShopifyCodes.UNLINKED, '連携が解除されているため中止しました。');
  }
  return opened;
}

/** The tenant's 22 field ids, read once when first needed. */
function fieldIdsOnce(ctx: AppContext, tenantId: string): () => Promise<number[]> {
  let ids: Promise<number[]> | null = null;
  return () => (ids ??= shopifyFieldIds(ctx.db.pool, tenantId));
}

/** A new run counts what it will read and records its plan; a resumed run reads on from its checkpoint. */
async function planReading(ctx: AppContext, run: ClaimedRun, client: ShopifyClient, integration: Integration, settings: SyncSettings): Promise<Plan> {
  const resume = checkpointOf(run);
  const mode: RunMode = run.mode === 'incremental' && integration.syncCursor ? 'incremental' : 'full';
  const since = run.since ?? (mode === 'incremental' ? new Date(new Date(integration.syncCursor!).getTime() - settings.overlapMs) : null);
  if (resume) return { mode, since, total: run.total, bulk: false, resume };
  const total = await countCustomers(client, updatedSinceFilter(since));
  await recordPlan(ctx.db.pool, run.id, { total, since, mode });
  return { mode, since, total, bulk: total >= (mode === 'full' ? settings.bulkThreshold : settings.incrementalBulkThreshold), resume };
}

/**
 * Each fetched batch prepared as soon as it is read; the parsed Shopify records are let go then (nothing here keeps a
 * reference to them while the batch waits and is written), which keeps the worker's memory at what the writes need.
 */
async function* prepareEach(
  batches: AsyncGenerator<FetchBatch>,
  prepare: (customers: ShopifyCustomer[]) => Promise<PreparedCustomer[]>,
): AsyncGenerator<{ checkpoint: FetchCheckpoint; prepared: PreparedCustomer[] }> {
  const next = async () => {
    const r = await batches.next();
    return r.done ? null : { checkpoint: r.value.checkpoint, prepared: await prepare(r.value.customers) };
  };
  try {
    for (let item = await next(); item; item = await next()) yield item;
  } finally {
    await batches.return(undefined);
  }
}

/** Re-reads the run before each batch: 連携を解除 stops it; 連携 during the mirror-only run after 発行 turns it into a linking run. */
async function* checkEach(
  ctx: AppContext,
  run: ClaimedRun,
  batches: AsyncIterable<{ checkpoint: FetchCheckpoint; prepared: PreparedCustomer[] }>,
): AsyncGenerator<ReadyBatch> {
  for await (const { checkpoint, prepared } of batches) {
    if (ctx.stopping?.aborted) throw new HandedBack();
    await stopIfUnlinked(ctx.db.pool, run.tenantId);
    const linking = (await runTrigger(ctx.db.pool, run.id)) !== 'issue';
    const keys = linking && checkpoint.kind === 'bulk' && prepared.length ? batchKeys(prepared) : null;
    let maxUpdated = prepared.reduce<string | null>((m, x) => (!m || Date.parse(x.updatedAt) > Date.parse(m) ? x.updatedAt : m), null);
    // A bulk read holds what Shopify had when its (first) export started: a customer changed after that and seen here in a
    // later export must not move the cursor past changes the earlier export could not see.
    const exportedAt = checkpoint.kind === 'bulk' ? checkpoint.startedAt : null;
    if (maxUpdated && exportedAt && Date.parse(exportedAt) < Date.parse(maxUpdated)) maxUpdated = exportedAt;
    yield { checkpoint, prepared, linking, keys, maxUpdated };
  }
}

async function stopIfUnlinked(db: Queryable, tenantId: string): Promise<void> {
  if ((await integrationStatus(db, tenantId)) === 'unlinked') throw new AppError(ShopifyCodes.UNLINKED, '連携が解除されたため中止しました。');
}

/**
 * Writes one batch in its own transaction with its counts and checkpoint. `after`: the batch before it, still being written;
 * this one commits only once that one has committed and been reported, so checkpoints advance in order.
 */
async function writeOne(
  ctx: AppContext,
  run: ClaimedRun,
  claim: string,
  plan: Plan,
  batch: ReadyBatch,
  fieldIds: number[],
  after: Promise<void> | null,
): Promise<BatchCounts> {
  return withTransaction(ctx.db.pool, async (tx) => {
    // A batch commits without waiting for its WAL to reach the disk: a crash can lose only the last batches together with
    // their checkpoint, which the resumed run then simply reads again (the run's own end is a normal, durable commit, which
    // also makes every batch before it durable). Spares a disk flush per batch on the path every batch waits on.
    await tx.query('SET LOCAL synchronous_commit = off');
    const counts = await writeBatch(tx, { tenantId: run.tenantId, fieldIds, customers: batch.prepared, now: ctx.clock.now(), link: batch.linking });
    if (plan.mode === 'full') await recordSeen(tx, run.id, batch.prepared.map((p) => p.customerId));
    if (after) {
      await after;
      // 連携を解除 while the previous batch was being written stops the run before this one counts.
      await stopIfUnlinked(tx, run.tenantId);
    }
    const written = { counts, checkpoint: batch.checkpoint, maxUpdated: batch.maxUpdated, now: ctx.clock.now() };
    // Taken over while this worker was presumed dead: the batch is rolled back, the other worker carries on.
    if (!(await recordBatch(tx, run.id, claim, written))) throw new Abandoned();
    return counts;
  });
}

/** Reports each committed batch: progress, then the test hook that may kill the execution between batches. */
function progressReporter(run: ClaimedRun, total: number | null, opts: ExecuteOptions): (counts: BatchCounts) => Promise<void> {
  let done = run.counts.fetched;
  let batchNo = 0;
  return async (counts) => {
    done += counts.fetched;
    opts.onProgress?.({ runId: run.id, done, total, counts });
    try {
      await opts.afterBatch?.(++batchNo);
    } catch (e) {
      throw new Abandoned(e);
    }
  };
}

/**
 * Completes a run whose batches are all written, in one transaction holding the run's row until commit, so no other worker
 * can take the run over meanwhile.
 */
async function completeRun(ctx: AppContext, run: ClaimedRun, claim: string, plan: Plan, fieldIds: () => Promise<number[]>): Promise<void> {
  const linking = (await runTrigger(ctx.db.pool, run.id)) !== 'issue';
  await withTransaction(ctx.db.pool, async (tx) => {
    if (!(await heartbeat(tx, run.id, claim, ctx.clock.now()))) throw new Abandoned();
    if (linking) {
      // Customers read before this run started linking (the mirror-only part of a run that 連携 joined), or matched by an email
      // that arrived while the run was reading, are linked from the mirror now.
      await addCounts(tx, run.id, { linked: await linkAllFromMirror(tx, run.tenantId, await fieldIds(), ctx.clock.now()) });
    }
    if (plan.mode === 'full') {
      // Deleted in Shopify: in the mirror, not seen by this complete full run, and already known before it started.
      await addCounts(tx, run.id, { deleted: await markDeleted(tx, run.tenantId, await unseenCustomers(tx, run), ctx.clock.now()) });
    }
    // The next incremental run starts at the newest updatedAt this run saw — never at "now", which could skip customers
    // changed while this run was reading.
    await advanceCursor(tx, run.tenantId, await maxUpdatedAt(tx, run.id));
  });
}
