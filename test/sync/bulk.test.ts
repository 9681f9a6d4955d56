// Full runs of stores above the bulk threshold: a bulkOperationRunQuery export, polled, its JSONL streamed in batches with a
// checkpoint after each — and everything that goes wrong with one: FAILED, partial data (written, but the run fails and
// infers no deletions), EXPIRED, a download cut off in the middle of a line, a bulk query already running, lastOrder denied.
// The reference for "the right final state" is the same store and friends synced page by page in a separate world.
import { beforeAll, describe, expect, it } from 'vitest';
import { clientForTenant } from '../../src/shopify/integration.js';
import { BULK_RUN } from '../../src/shopify/queries.js';
import { storeDelivery } from '../../src/shopify/webhooks.js';
import { drainWebhooks } from '../../src/sync/realtime.js';
import { requestRun, type Run } from '../../src/sync/run-store.js';
import { syncWorld, type SyncSnapshot, type SyncWorld } from '../helpers/sync.js';

const N = 420;
const SEED = 21;
const BATCH = 100;

async function world(opts: { scopes?: string[]; customers?: number; bulkThreshold?: number } = {}): Promise<SyncWorld> {
  const w = await syncWorld({
    shopify: { customers: opts.customers ?? N, seed: SEED, scopes: opts.scopes },
    settings: { bulkThreshold: opts.bulkThreshold ?? 100 },
  });
  await w.addGeneratedFriends(opts.customers ?? N, 2);
  await w.issue();
  await w.link();
  return w;
}

const bulkStarts = (w: SyncWorld) => w.h.shop.requests().filter((r) => r.query?.includes('KizunaBulkRun'));
const downloads = (w: SyncWorld) => w.h.shop.requests().filter((r) => r.route === 'bulk');

/** One attempt (not the last) of a run. */
function attempt(w: SyncWorld, runId: string) {
  return w.execute(runId, { batchSize: BATCH });
}
/** One attempt that fails retryably: its error code (the run goes back to the queue). */
async function failingAttempt(w: SyncWorld, runId: string): Promise<string> {
  const e = await attempt(w, runId).then(
    (run) => ({ code: `no error: the run ended ${run.status}` }),
    (err: { code?: string }) => err,
  );
  return String(e.code);
}
async function newRun(w: SyncWorld) {
  return (await requestRun(w.t.ctx, w.tenant.id, { mode: 'full', trigger: 'manual', enqueue: false })).runId;
}

let reference: SyncSnapshot;
let referenceCounts: Run['counts'];
beforeAll(async () => {
  // The same store and friends, read page by page.
  const w = await world({ bulkThreshold: Number.MAX_SAFE_INTEGER });
  try {
    const run = await w.sync('full');
    expect(run.status).toBe('succeeded');
    expect(bulkStarts(w)).toHaveLength(0);
    reference = await w.snapshot();
    referenceCounts = run.counts;
  } finally {
    await w.close();
  }
});

describe('bulk export', () => {
  it('a full run above the threshold exports in bulk, streams the JSONL in batches, and ends as a paged run does', async () => {
    const w = await world();
    try {
      const progress: number[] = [];
      const run = await w.sync('full', { batchSize: BATCH, onProgress: (p) => progress.push(p.done) });
      expect(run.status).toBe('succeeded');
      expect(bulkStarts(w)).toHaveLength(1);
      expect(w.h.shop.requests().some((r) => r.query?.includes('KizunaCustomersPage'))).toBe(false);
      expect(progress.filter((d) => d > 0)).toEqual([100, 200, 300, 400, 420]);
      expect(run.counts).toEqual(referenceCounts);
      expect(await w.snapshot()).toEqual(reference);
      const { rows } = await w.t.ctx.db.pool.query(`SELECT checkpoint FROM sync_runs WHERE id = $1`, [run.id]);
      expect(rows[0].checkpoint).toMatchObject({ kind: 'bulk', linesDone: 420 });
    } finally {
      await w.close();
    }
  });

  it('FAILED: the attempt fails retryably; the retry exports again and completes', async () => {
    const w = await world();
    try {
      w.h.shop.failBulk('FAILED');
      const runId = await newRun(w);
      const first = await failingAttempt(w, runId);
      expect(first).toBe('SHOPIFY_BULK_FAILED');
      expect((await w.t.ctx.db.pool.query(`SELECT status FROM sync_runs WHERE id = $1`, [runId])).rows[0].status).toBe('queued');
      const run = await attempt(w, runId);
      expect(run.status).toBe('succeeded');
      expect(bulkStarts(w)).toHaveLength(2);
      expect(w.h.shop.bulkOperations().map((o) => o.status)).toEqual(['FAILED', 'COMPLETED']);
      expect(await w.snapshot()).toEqual(reference);
    } finally {
      await w.close();
    }
  });

  it('partial data: written, but the run fails and infers no deletions; the next complete run does', async () => {
    const w = await world();
    try {
      expect((await w.sync('full', { batchSize: BATCH })).status).toBe('succeeded');
      // Five customers deleted in Shopify without a webhook.
      const gone = [3, 50, 140, 260, 400].map((i) => w.h.shop.store.generator.idOf(i));
      for (const id of gone) w.h.shop.deleteCustomer(id, { silent: true });
      w.h.clock.advance(3600_000);
      w.h.shop.failBulk('PARTIAL');
      const run = await w.sync('full', { batchSize: BATCH, finalAttempt: true });
      expect(run.status).toBe('failed');
      expect(run.error?.code).toBe('SHOPIFY_BULK_FAILED');
      expect(w.h.shop.bulkOperations().at(-1)!.partialDataUrl).toBeTruthy();
      expect(run.counts.fetched).toBeGreaterThan(0);
      expect(run.counts.fetched).toBeLessThan(N - gone.length);
      expect(run.counts.deleted).toBe(0);
      const deleted = await w.t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM shopify_customers WHERE deleted_at IS NOT NULL`);
      expect(deleted.rows[0].n).toBe(0);

      const next = await w.sync('full', { batchSize: BATCH });
      expect(next.status).toBe('succeeded');
      expect(next.counts.deleted).toBe(gone.length);
      const marked = await w.t.ctx.db.pool.query(
        `SELECT customer_id::text AS id FROM shopify_customers WHERE deleted_at IS NOT NULL ORDER BY customer_id`,
      );
      expect(marked.rows.map((r) => r.id)).toEqual(gone.map(String));
    } finally {
      await w.close();
    }
  });

  it('partial data on an attempt that will be retried: the retry exports again and finds the deletions', async () => {
    const w = await world();
    try {
      expect((await w.sync('full', { batchSize: BATCH })).status).toBe('succeeded');
      const gone = w.h.shop.store.generator.idOf(7);
      w.h.shop.deleteCustomer(gone, { silent: true });
      w.h.clock.advance(3600_000);
      w.h.shop.failBulk('PARTIAL');
      const runId = await newRun(w);
      expect(await failingAttempt(w, runId)).toBe('SHOPIFY_BULK_FAILED');
      const run = await attempt(w, runId);
      expect(run.status).toBe('succeeded');
      expect(run.counts.deleted).toBe(1);
      expect(bulkStarts(w)).toHaveLength(3); // the first run's, the partial one, the retry's
    } finally {
      await w.close();
    }
  });

  it('EXPIRED: a new export is started in the same attempt', async () => {
    const w = await world();
    try {
      w.h.shop.failBulk('EXPIRED');
      const run = await w.sync('full', { batchSize: BATCH });
      expect(run.status).toBe('succeeded');
      expect(w.h.shop.bulkOperations().map((o) => o.status)).toEqual(['EXPIRED', 'COMPLETED']);
      expect(await w.snapshot()).toEqual(reference);
    } finally {
      await w.close();
    }
  });

  it('a download cut off in the middle of a line: the attempt fails after what it wrote; the retry resumes in the same file', async () => {
    const w = await world();
    try {
      w.h.shop.truncateJsonl();
      const runId = await newRun(w);
      const first = await failingAttempt(w, runId);
      expect(first).toBe('SHOPIFY_BULK_FAILED');
      const { rows } = await w.t.ctx.db.pool.query(`SELECT fetched, checkpoint FROM sync_runs WHERE id = $1`, [runId]);
      expect(rows[0].fetched).toBeGreaterThanOrEqual(BATCH);
      expect(rows[0].fetched).toBeLessThan(N);
      expect(rows[0].checkpoint.linesDone).toBe(rows[0].fetched);
      const run = await attempt(w, runId);
      expect(run.status).toBe('succeeded');
      expect(run.counts).toEqual(referenceCounts);
      expect(bulkStarts(w)).toHaveLength(1);
      expect(downloads(w)).toHaveLength(2);
      expect(await w.snapshot()).toEqual(reference);
    } finally {
      await w.close();
    }
  });

  it.each([
    ['502', { kind: '5xx', status: 502, on: 'bulk' }],
    ['a reset connection', { kind: 'reset', on: 'bulk' }],
  ] as const)('the download answering %s: the attempt fails retryably; the retry downloads the same export', async (_name, fault) => {
    const w = await world();
    try {
      w.h.shop.failNext({ ...fault });
      const runId = await newRun(w);
      expect(await failingAttempt(w, runId)).toBe('SHOPIFY_BULK_FAILED');
      const run = await attempt(w, runId);
      expect(run.status).toBe('succeeded');
      expect(bulkStarts(w)).toHaveLength(1);
      expect(downloads(w)).toHaveLength(2);
      expect(await w.snapshot()).toEqual(reference);
    } finally {
      await w.close();
    }
  });

  it('a customer changed and applied from a webhook while the run streams an older export keeps the newer data', async () => {
    const w = await world();
    try {
      const gen = w.h.shop.store.generator;
      let i = 300;
      while (!(gen.customerAt(i).verifiedEmail && gen.customerAt(i).email)) i += 2;
      const x = gen.customerAt(i);
      const run = await w.sync('full', {
        batchSize: BATCH,
        afterBatch: async (n) => {
          if (n !== 2) return; // the export is complete and its first lines written; customer x comes later in the file
          w.h.shop.changeCustomer(x.id, { note: 'Webhookで更新' }, { silent: true });
          await storeDelivery(w.t.ctx, {
            tenantId: w.tenant.id,
            webhookId: 'during-bulk',
            topic: 'customers/update',
            triggeredAt: w.h.clock.now().toISOString(),
            rawBody: Buffer.from(JSON.stringify({ id: x.id, admin_graphql_api_id: `gid://shopify/Customer/${x.id}` })),
          });
          expect(await drainWebhooks(w.t.ctx, w.tenant.id)).toBe(1);
        },
      });
      expect(run.status).toBe('succeeded');
      const snap = await w.snapshot();
      expect(snap.values[x.email!.toLowerCase()]!.note).toBe('Webhookで更新');
      const { rows } = await w.t.ctx.db.pool.query(`SELECT shopify_updated_at FROM shopify_customers WHERE customer_id = $1`, [x.id]);
      expect(new Date(rows[0].shopify_updated_at).getTime()).toBe(w.h.shop.customer(x.id)!.updatedAt);
    } finally {
      await w.close();
    }
  });

  it('a store with no customers: Shopify gives no URL, the run succeeds with nothing fetched', async () => {
    const w = await world({ customers: 0, bulkThreshold: 0 });
    try {
      const run = await w.sync('full', { batchSize: BATCH });
      expect(run.status).toBe('succeeded');
      expect(run.counts.fetched).toBe(0);
      expect(bulkStarts(w)).toHaveLength(1);
      expect(downloads(w)).toHaveLength(0);
    } finally {
      await w.close();
    }
  });

  it('a bulk query already running when Shopify refuses another (LIMIT_REACHED): the same export is adopted', async () => {
    const w = await world();
    try {
      // Our own export from an earlier run, plus four other queries of this app, all still running as far as Shopify says.
      expect((await w.sync('full', { batchSize: BATCH })).status).toBe('succeeded');
      const { client } = await clientForTenant(w.t.ctx, w.tenant.id);
      for (const field of ['id', 'note', 'tags', 'state']) {
        await client.graphql(BULK_RUN, { query: `{ customers { edges { node { id ${field} } } } }` }, 10);
      }
      await w.h.shop.bulkIdle();
      const ops = w.h.shop.bulkOperations();
      expect(ops).toHaveLength(5);
      // The fake finishes exports at once; hold them in RUNNING (its operation records are live objects) until our run has
      // polled once.
      for (const op of ops) op.status = 'RUNNING';
      let released = false;
      const sleep = w.h.clock.sleep.bind(w.h.clock);
      w.h.clock.sleep = async (ms: number) => {
        if (!released) for (const op of ops) op.status = 'COMPLETED';
        released = true;
        await sleep(ms);
      };
      const run = await w.sync('full', { batchSize: BATCH });
      expect(run.status).toBe('succeeded');
      expect(released).toBe(true);
      // Refused once, then adopted: no sixth operation.
      expect(w.h.shop.bulkOperations()).toHaveLength(5);
      expect(run.counts.fetched).toBe(N);
      expect(await w.snapshot()).toEqual(reference);
    } finally {
      await w.close();
    }
  });

  it('lastOrder denied in a bulk export (read_orders removed): exported again without it, 最終注文ID from REST', async () => {
    const w = await world({ scopes: ['read_customers', 'read_orders'] });
    try {
      w.h.shop.setScopes(['read_customers']);
      const run = await w.sync('full', { batchSize: BATCH });
      expect(run.error).toBeNull();
      expect(run.status).toBe('succeeded');
      expect(await w.snapshot()).toEqual(reference);
      const { rows } = await w.t.ctx.db.pool.query(`SELECT last_order_source FROM shopify_integrations`);
      expect(rows[0].last_order_source).toBe('rest');
    } finally {
      await w.close();
    }
  });
});
