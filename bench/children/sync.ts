// One Kizuna sync run in its own process, exactly as a worker runs it (requestRun + executeRun, real clock, real sleeps),
// reporting its wall time, counts and this process's peak resident memory.
import { executeRun } from '../../src/sync/runs.js';
import { requestRun, type RunMode } from '../../src/sync/run-store.js';
import { openContext } from '../lib/app.js';
import { childMain, memory } from '../lib/proc.js';

export interface SyncArgs {
  url: string;
  origin: string;
  tenantId: string;
  mode: RunMode;
  /** Customers per bulk batch (Kizuna's default when absent); for experiments. */
  batchSize?: number;
}

export interface SyncResult {
  status: string;
  mode: string;
  error: { code: string; message: string } | null;
  counts: Record<string, number>;
  total: number | null;
  wallMs: number;
  /** From the start until the first batch of customers was committed: count, bulk export on Shopify's side, first lines. */
  firstBatchMs: number | null;
  batches: number;
  baselineRssMb: number;
  peakRssMb: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Highest values seen by a 250 ms sampler of process.memoryUsage(), in MB: where the resident memory goes. */
  sampledPeakMb: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
  /** Every second: [s since start, RSS MB, heap used MB]. */
  series: [number, number, number][];
  /** When the run started (epoch ms), and after each batch of customers: [epoch ms, customers done]. */
  startedAtMs: number;
  timeline: [number, number][];
}

await childMain<SyncArgs, SyncResult>(async (args) => {
  const ctx = await openContext(args.url, { SHOPIFY_API_ORIGIN: args.origin });
  const baseline = memory();
  const t0 = performance.now();
  const startedAtMs = Date.now();
  const timeline: [number, number][] = [];
  const sampled = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const series: [number, number, number][] = [];
  let ticks = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    for (const k of Object.keys(sampled) as (keyof typeof sampled)[]) sampled[k] = Math.max(sampled[k], m[k] / 2 ** 20);
    if (ticks++ % 4 === 0) series.push([Math.round((performance.now() - t0) / 1000), Math.round(m.rss / 2 ** 20), Math.round(m.heapUsed / 2 ** 20)]);
  }, 250);
  const cpu0 = process.cpuUsage();
  let firstBatchMs: number | null = null;
  let batches = 0;
  const { runId } = await requestRun(ctx, args.tenantId, { mode: args.mode, trigger: 'manual', enqueue: false });
  const run = await executeRun(ctx, runId, {
    finalAttempt: true,
    batchSize: args.batchSize,
    onProgress: (p) => {
      if (!p.counts.fetched) return; // the bulk export's id saved as the checkpoint: no customers yet
      batches++;
      firstBatchMs ??= performance.now() - t0;
      timeline.push([Date.now(), p.done]);
    },
  });
  const wallMs = performance.now() - t0;
  clearInterval(sampler);
  const cpu = process.cpuUsage(cpu0);
  const mem = memory();
  await ctx.close();
  return {
    status: run.status,
    mode: run.mode,
    error: run.error,
    counts: { ...run.counts },
    total: run.total,
    wallMs,
    firstBatchMs,
    batches,
    baselineRssMb: baseline.rssMb,
    peakRssMb: mem.peakMb,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    sampledPeakMb: sampled,
    series,
    startedAtMs,
    timeline,
  };
});
