// Measures 1, 2 and 4: the full sync (against COPY and against a naive pipeline), the sync process's peak memory at two store
// sizes, and an incremental run after 1 % of the customers changed.
import pg from 'pg';
import { CustomerGenerator } from '../../src/dev/shopify/index.js';
import type { NaiveArgs, NaiveResult } from '../children/naive.js';
import type { SyncArgs, SyncResult } from '../children/sync.js';
import { copyBaseline, type CopyResult } from '../lib/copy.js';
import { dropDatabase, type BenchPostgres } from '../lib/db.js';
import { startFake, type BenchFake } from '../lib/fake.js';
import type { Figure } from '../lib/format.js';
import { runChild } from '../lib/proc.js';
import { openContext } from '../lib/app.js';
import { clientForTenant } from '../../src/shopify/integration.js';
import { BULK_RUN, BULK_STATUS, bulkCustomersQuery } from '../../src/shopify/queries.js';
import { setupWorld, type World } from '../lib/world.js';

export interface SyncOptions {
  customers: number;
  /** The smaller store whose peak memory is compared with the main one's. */
  smallCustomers: number;
  naiveSample: number;
  share: number;
  seed: number;
  log: (s: string) => void;
}

interface Prepared {
  fake: BenchFake;
  url: string;
  world: World;
}

async function prepare(pgs: BenchPostgres, name: string, customers: number, o: SyncOptions): Promise<Prepared> {
  const fake = await startFake(customers, ['read_customers', 'read_orders'], o.seed);
  try {
    const url = await pgs.freshDatabase(name);
    const world = await setupWorld(url, fake.info, { customers, seed: o.seed, share: o.share });
    return { fake, url, world };
  } catch (e) {
    await fake.stop();
    throw e;
  }
}

async function checkpoint(url: string, opts: { vacuum?: boolean } = {}): Promise<void> {
  const c = new pg.Client(url);
  await c.connect();
  if (opts.vacuum) await c.query('VACUUM ANALYZE');
  await c.query('CHECKPOINT');
  await c.end();
}

function sync(p: Prepared, mode: 'full' | 'incremental'): Promise<SyncResult> {
  return runChild<SyncResult>('bench/children/sync.ts', { url: p.url, origin: p.fake.info.origin, tenantId: p.world.tenantId, mode } satisfies SyncArgs, {
    timeoutMs: 3 * 3600_000,
  });
}

type FakeOp = { id: number; completedAt: number | null; createdAt: number; url: string | null; query: string; objectCount: number };

/**
 * One bulk export of the whole store, as a hand-made integration does it (Kizuna splits its full export into parts written
 * while the next one exports): the naive pipeline reads its file and waits for its duration.
 */
async function wholeStoreExport(p: Prepared): Promise<{ ms: number; url: string }> {
  const ctx = await openContext(p.url, { SHOPIFY_API_ORIGIN: p.fake.info.origin });
  try {
    const { client } = await clientForTenant(ctx, p.world.tenantId);
    const { data } = await client.graphql<{ bulkOperationRunQuery: { bulkOperation: { id: string } | null } }>(BULK_RUN, {
      query: bulkCustomersQuery(true),
    });
    const id = data.bulkOperationRunQuery.bulkOperation?.id;
    if (!id) throw new Error('the development Shopify would not start the whole-store export');
    for (;;) {
      const st = await client.graphql<{ bulkOperation: { status: string } }>(BULK_STATUS, { id });
      if (st.data.bulkOperation.status === 'COMPLETED') break;
      if (st.data.bulkOperation.status !== 'RUNNING' && st.data.bulkOperation.status !== 'CREATED') throw new Error(`the whole-store export ended ${st.data.bulkOperation.status}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const op = ((await p.fake.shop.bulkOperations()) as FakeOp[]).find((o) => id.endsWith(`/${o.id}`))!;
    return { ms: op.completedAt! - op.createdAt, url: op.url! };
  } finally {
    await ctx.close();
  }
}

/**
 * How long the run had nothing to write because Shopify was still exporting: from its start to the first part's completion,
 * plus, for each later part, the time between the run finishing the part before it and that part's export completing.
 */
function waitedForShopify(run: SyncResult, parts: FakeOp[]): number {
  let wait = Math.max(0, (parts[0]?.completedAt ?? run.startedAtMs) - run.startedAtMs);
  let cumulative = 0;
  for (let k = 0; k + 1 < parts.length; k++) {
    cumulative += parts[k]!.objectCount;
    const written = run.timeline.find(([, done]) => done >= cumulative)?.[0] ?? run.startedAtMs;
    wait += Math.max(0, (parts[k + 1]!.completedAt ?? written) - written);
  }
  return wait;
}

function assertSucceeded(r: SyncResult, what: string): void {
  if (r.status !== 'succeeded') throw new Error(`${what} ended ${r.status}: ${r.error?.code} ${r.error?.message}`);
}

/** Changes 1 % of the customers the way a new order does (order count, total, last order; updatedAt moves to now). */
async function changeOnePercent(fake: BenchFake, customers: number, seed: number): Promise<number> {
  const gen = new CustomerGenerator({ seed, count: customers });
  const picks: number[] = [];
  for (let i = 37 % 100; i < customers; i += 100) picks.push(i);
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < picks.length; k = next++) {
      const i = picks[k]!;
      const c = gen.customerAt(i);
      const jpy = c.currencyCode === 'JPY';
      const amount = Number(c.amountSpent) + (jpy ? 3000 : 30);
      await fake.shop.changeCustomer(c.id, {
        numberOfOrders: c.numberOfOrders + 1,
        amountSpent: jpy ? String(amount) : amount.toFixed(2),
        lastOrder: { id: 9_900_000_000_000 + i, name: `#B${i}` },
      }, { silent: true });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return picks.length;
}

export async function syncMeasures(pgs: BenchPostgres, o: SyncOptions): Promise<{ figures: Figure[]; details: Record<string, unknown> }> {
  const n = o.customers;
  const k = (x: number) => (x >= 1_000_000 ? `${x / 1_000_000} M` : `${x / 1000} k`);

  // Measure 2, the smaller store: only its peak memory is needed (and its rate, for context).
  o.log(`sync: full run of ${k(o.smallCustomers)} customers (peak memory at the smaller size)`);
  const small = await prepare(pgs, 'bench_sync_small', o.smallCustomers, o);
  let smallRun: SyncResult;
  try {
    await checkpoint(small.url);
    smallRun = await sync(small, 'full');
    assertSucceeded(smallRun, 'the small full sync');
  } finally {
    await small.fake.stop();
    await dropDatabase(pgs.server.adminUrl, 'bench_sync_small');
  }

  o.log(`sync: full run of ${k(n)} customers, ${o.share * 100} % matched to friends`);
  const p = await prepare(pgs, 'bench_sync', n, o);
  let full: SyncResult;
  let incremental: SyncResult;
  let changed: number;
  let copy: CopyResult;
  let naive: NaiveResult;
  let firstExportMs: number | null = null;
  let fullParts = 0;
  let shopifyWaitMs = 0;
  let whole: { ms: number; url: string };
  try {
    await checkpoint(p.url);
    full = await sync(p, 'full');
    assertSucceeded(full, 'the full sync');
    // Kizuna's full export, split in parts: the run waited for the first part only; the others exported while it wrote.
    const parts = (await p.fake.shop.bulkOperations()) as FakeOp[];
    const first = parts[0]!;
    firstExportMs = first.completedAt !== null ? first.completedAt - first.createdAt : null;
    fullParts = parts.length;
    shopifyWaitMs = waitedForShopify(full, parts);

    o.log(`sync: incremental run after 1 % of ${k(n)} customers changed`);
    changed = await changeOnePercent(p.fake, n, o.seed);
    // The incremental run comes a night after the full one: by then autovacuum has visited the million rows the full run
    // wrote. Done here, so that it does not run during the measured seconds (it did, in some runs, and took a third of them).
    await checkpoint(p.url, { vacuum: true });
    incremental = await sync(p, 'incremental');
    assertSucceeded(incremental, 'the incremental sync');

    o.log(`sync: COPY of the same rows into the same tables`);
    copy = await copyBaseline(p.url);

    o.log(`sync: one export of the whole store, as a hand-made integration waits for it`);
    whole = await wholeStoreExport(p);

    o.log(`sync: naive pipeline on the first ${o.naiveSample} customers of that export`);
    const c = new pg.Client(p.url);
    await c.connect();
    await c.query('TRUNCATE shopify_customers, shopify_links, custom_values');
    await c.query('VACUUM ANALYZE');
    await c.query('CHECKPOINT');
    await c.end();
    naive = await runChild<NaiveResult>('bench/children/naive.ts', {
      url: p.url,
      jsonlUrl: whole.url,
      tenantId: p.world.tenantId,
      fieldIds: p.world.fieldIds,
      sample: o.naiveSample,
    } satisfies NaiveArgs);
  } finally {
    await p.fake.stop();
    await dropDatabase(pgs.server.adminUrl, 'bench_sync');
  }

  const syncRate = (n / full.wallMs) * 1000;
  const copyRate = (n / copy.totalMs) * 1000;
  // The naive pipeline read an export that was already complete; end to end it waits for that export first.
  const exportMs = whole.ms;
  const naiveProcessingRate = (naive.customers / naive.ms) * 1000;
  const naiveRate = (n / (exportMs + (n / naiveProcessingRate) * 1000)) * 1000;
  // Kizuna's own part: the run minus the wait for Shopify's first export part (a wait every pipeline has, if longer).
  const processingRate = firstExportMs === null ? syncRate : (n / (full.wallMs - firstExportMs)) * 1000;
  const incRatio = incremental.wallMs / full.wallMs;
  const growth = full.peakRssMb / smallRun.peakRssMb;
  const m = (id: string, measure: string, figure: string, value: number, unit: string, goal: string | null, met: boolean | null): Figure => ({ id, measure, figure, value, unit, goal, met });
  const figures: Figure[] = [
    m('sync.rate', '1', `full sync of ${k(n)} customers, end to end (bulk export, download, write)`, syncRate, 'customers/s', null, null),
    m('sync.wall', '1', `  its wall time: ${fullParts} exports, ${(shopifyWaitMs / 1000).toFixed(1)} s waiting for them, ${firstExportMs === null ? '?' : (firstExportMs / 1000).toFixed(1)} s of it for the first (one export of the whole store: ${(exportMs / 1000).toFixed(1)} s)`, full.wallMs / 1000, 's', null, null),
    m('sync.processing', '1', `  the same without that wait: ${(processingRate / copyRate).toFixed(2)} × COPY, ${(processingRate / naiveProcessingRate).toFixed(1)} × naive`, processingRate, 'customers/s', null, null),
    m('copy.rate', '1a', `PostgreSQL COPY of the same rows (mirror, links, values)`, copyRate, 'customers/s', null, null),
    m('sync.vsCopy', '1a', `full sync ÷ COPY`, syncRate / copyRate, '×', '≥ 0.5', syncRate / copyRate >= 0.5),
    m('naive.rate', '1b', `naive pipeline: one export of the whole store, one statement per value (${naive.customers.toLocaleString('en-US')} sampled)`, naiveRate, 'customers/s', null, null),
    m('sync.vsNaive', '1b', `full sync ÷ naive`, syncRate / naiveRate, '×', '≥ 20', syncRate / naiveRate >= 20),
    m('memory.small', '2', `peak RSS of the sync process, ${k(o.smallCustomers)} customers`, smallRun.peakRssMb, 'MB', '≤ 256 MB', smallRun.peakRssMb <= 256),
    m('memory.large', '2', `peak RSS of the sync process, ${k(n)} customers`, full.peakRssMb, 'MB', '≤ 256 MB', full.peakRssMb <= 256),
    m('memory.growth', '2', `peak RSS ${k(n)} ÷ ${k(o.smallCustomers)}`, growth, '×', '≤ 1.1 (no growth)', growth <= 1.1),
    m('incremental.wall', '4', `incremental run, ${changed.toLocaleString('en-US')} of ${k(n)} changed (1 %)`, incremental.wallMs / 1000, 's', null, null),
    m('incremental.ratio', '4', `incremental ÷ full`, incRatio, '×', '≤ 0.02', incRatio <= 0.02),
  ];
  return {
    figures,
    details: { customers: n, share: o.share, small: smallRun, full: { ...full, timeline: undefined }, fullParts, firstExportMs, shopifyWaitMs, exportMs, incremental: { ...incremental, changed }, copy, naive, syncRate, copyRate, naiveRate, naiveProcessingRate, processingRate },
  };
}
