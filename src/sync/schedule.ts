// When runs happen. Every linked tenant gets one nightly run inside SYNC_WINDOW (in SYNC_TIMEZONE), at a moment of the window
// derived from its id, so 10,000 tenants spread over the window instead of all starting at 00:00:00. A tick (every minute, in
// `serve`) starts the runs whose moment has come; a night missed while the service was down is caught up at the next tick.
// The tick also puts runs whose worker died back on the queue. Everything reads ctx.clock, so tests move time by hand.
import crypto from 'node:crypto';
import type { AppContext } from '../context.js';
import { defineJob, type JobHandler } from '../jobs/define.js';
import { z } from 'zod';
import { getTenant, hasShopifyPlan } from '../crm/tenants.js';
import { checkPlanForRuns, linkedIntegrations } from '../shopify/integration.js';
import { defaultSyncSettings, type SyncSettings } from './settings.js';
import { lastFullRuns, nightHasRun, requestRun, requeueStale, sendRunJob } from './run-store.js';
import { tzOffsetMs } from '../time.js';

interface Window {
  startMin: number;
  lengthMin: number;
}

export function parseWindow(w: string): Window {
  const [a, b] = w.split('-').map((t) => {
    const [h, m] = t.split(':').map(Number);
    return h! * 60 + m!;
  });
  const lengthMin = (b! - a! + 24 * 60) % (24 * 60) || 24 * 60;
  return { startMin: a!, lengthMin };
}

/** The UTC offset (minutes) of a time zone at an instant. */
function offsetMinutes(tz: string, at: Date): number {
  return Math.round(tzOffsetMs(tz, at.getTime()) / 60_000);
}

/** The instant at which the local wall time `date` (YYYY-MM-DD) + minutes occurs in tz. */
export function zonedInstant(date: string, minutes: number, tz: string): Date {
  const [y, m, d] = date.split('-').map(Number);
  const guess = Date.UTC(y!, m! - 1, d!, 0, minutes);
  let t = guess - offsetMinutes(tz, new Date(guess)) * 60_000;
  t = guess - offsetMinutes(tz, new Date(t)) * 60_000; // second pass settles DST edges
  return new Date(t);
}

/** The local calendar date in tz of an instant. */
export function zonedDate(at: Date, tz: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

function addDays(date: string, n: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Where in the window a tenant starts, as a stable fraction of it from a hash of its id. */
function tenantFraction(tenantId: string): number {
  return crypto.createHash('sha256').update(tenantId).digest().readUInt32BE(0) / 2 ** 32;
}

/** A night's window: from its start to its end as wall times in tz (on a DST night the two are not lengthMin apart). */
function nightWindow(night: string, w: Window, tz: string): { night: string; start: Date; end: Date } {
  const endMin = w.startMin + w.lengthMin;
  return { night, start: zonedInstant(night, w.startMin, tz), end: zonedInstant(addDays(night, Math.floor(endMin / 1440)), endMin % 1440, tz) };
}

/** The latest night (window start date) whose window has begun at `now`, with its start and end instants. */
export function currentNight(now: Date, windowSpec: string, tz: string): { night: string; start: Date; end: Date } {
  const w = parseWindow(windowSpec);
  const today = nightWindow(zonedDate(now, tz), w, tz);
  return today.start > now ? nightWindow(addDays(today.night, -1), w, tz) : today;
}

/** A tenant's moment in a night's window (the last 10 minutes kept free). */
function slotIn(tenantId: string, n: { start: Date; end: Date }): Date {
  const span = Math.max(60_000, n.end.getTime() - n.start.getTime() - 10 * 60_000);
  return new Date(n.start.getTime() + Math.floor(tenantFraction(tenantId) * span));
}

export function nightlySlot(tenantId: string, now: Date, windowSpec: string, tz: string) {
  const n = currentNight(now, windowSpec, tz);
  return { ...n, at: slotIn(tenantId, n) };
}

/** The next nightly start of a tenant after `now` (shown as nextRunAt). */
export function nextNightlyRun(tenantId: string, now: Date, windowSpec: string, tz: string): Date {
  const cur = nightlySlot(tenantId, now, windowSpec, tz);
  if (cur.at > now) return cur.at;
  return slotIn(tenantId, nightWindow(addDays(cur.night, 1), parseWindow(windowSpec), tz));
}

export interface TickResult {
  started: { tenantId: string; runId: string; trigger: string }[];
  resumed: string[];
}

/** One scheduler tick: start due nightly runs (or catch up a missed night), and requeue runs whose worker died. */
export async function tick(ctx: AppContext, tunables: Partial<SyncSettings> = {}): Promise<TickResult> {
  const settings = { ...defaultSyncSettings, ...tunables };
  const now = ctx.clock.now();
  const { SYNC_WINDOW, SYNC_TIMEZONE } = ctx.config;
  const result: TickResult = { started: [], resumed: [] };
  const linked = await linkedIntegrations(ctx.db.pool);
  const lastFull = await lastFullRuns(ctx.db.pool, linked.map((i) => i.tenantId));
  for (const { tenantId, linkedAt } of linked) {
    const slot = nightlySlot(tenantId, now, SYNC_WINDOW, SYNC_TIMEZONE);
    // Not yet tonight's moment, or a night from before 連携 (whose own run brought the data up to date).
    if (now < slot.at || (linkedAt && slot.at < linkedAt)) continue;
    const tenant = await getTenant(ctx.db.pool, tenantId);
    if (!tenant || !hasShopifyPlan(tenant)) {
      if (tenant) await checkPlanForRuns(ctx, tenant);
      continue;
    }
    // The night has its run — or a run requested since the tenant's moment (a manual one, after a night the service missed)
    // has done what it would do.
    if (await nightHasRun(ctx.db.pool, tenantId, slot.night, slot.at)) continue;
    const last = lastFull.get(tenantId);
    const full = !last || now.getTime() - new Date(last).getTime() >= settings.fullEveryMs;
    const trigger = now < slot.end ? 'nightly' : 'catch_up';
    const { runId, joined } = await requestRun(ctx, tenantId, { mode: full ? 'full' : 'incremental', trigger, night: slot.night });
    if (!joined) result.started.push({ tenantId, runId, trigger });
  }
  result.resumed.push(...(await sweepStaleRuns(ctx, settings)));
  return result;
}

/**
 * Runs whose worker stopped heartbeating go back to the queue with a new job; queued runs whose job was lost get a new one
 * after an hour (a queued run normally waits for a worker or its retry backoff, ≤ 16 min). Every worker process calls this
 * every `sweepMs` (startRunSweeper), not only `serve`'s scheduler: with workers alone, a dead worker's run still continues.
 * Each stale run is put back by exactly one caller (one UPDATE … RETURNING), which then sends its job.
 */
export async function sweepStaleRuns(ctx: AppContext, settings: Pick<SyncSettings, 'staleMs'> = defaultSyncSettings): Promise<string[]> {
  const now = ctx.clock.now();
  const stale = await requeueStale(ctx.db.pool, now, new Date(now.getTime() - settings.staleMs), new Date(now.getTime() - 3600_000));
  for (const runId of stale) await sendRunJob(ctx, runId);
  if (stale.length) ctx.log.info({ runIds: stale }, 'sync runs whose worker stopped were put back on the queue');
  return stale;
}

/** Sweeps for stale runs every `sweepMs` in this worker process until stopped. */
export function startRunSweeper(ctx: AppContext, settings: Pick<SyncSettings, 'staleMs' | 'sweepMs'> = defaultSyncSettings): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = sweepStaleRuns(ctx, settings).catch((e: Error) => ctx.log.warn({ err: { message: e.message } }, 'stale run sweep failed'));
  }, settings.sweepMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

export const syncTickJob = defineJob({
  name: 'shopify.sync-tick',
  schema: z.object({}).passthrough(),
  queue: { retryLimit: 0, expireInSeconds: 300 },
  handler: async () => handleTick,
});

const handleTick: JobHandler<object> = async (_p, ctx) => {
  const r = await tick(ctx);
  if (r.started.length || r.resumed.length) ctx.log.info(r, 'sync scheduler tick');
};
