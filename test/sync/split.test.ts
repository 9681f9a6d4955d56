// A full export of a large store split into id ranges (fetch.ts, planBulkParts): each part exported by its own bulk operation,
// the next one started as soon as the previous one is complete, so Shopify exports while Kizuna writes. The result must be
// exactly that of a run page by page — every customer once, whatever the id distribution — and a run killed in the middle
// of a part resumes in that part. The cursor never passes the moment the first export started.
import { beforeAll, describe, expect, it } from 'vitest';
import { ID_BASE } from '../../src/dev/shopify/generator.js';
import { bulkPartShares } from '../../src/sync/fetch.js';
import { defaultSyncSettings } from '../../src/sync/settings.js';
import { requestRun, type Run } from '../../src/sync/run-store.js';
import { syncWorld, type SyncSnapshot, type SyncWorld } from '../helpers/sync.js';

const N = 420;
const SEED = 41;
const BATCH = 50;

/** Full runs of the store split into 5 parts (420 customers, 100 a part) — or, `split` false, read page by page. */
function splitSettings(split: boolean) {
  return { bulkThreshold: split ? 100 : Number.MAX_SAFE_INTEGER, bulkCustomersPerPart: 100, bulkMaxParts: 5 };
}

/** The generated store, plus (bunched) customers far above the generated ids when `outliers` is set. */
async function world(outliers = 0, split = true): Promise<SyncWorld> {
  const w = await syncWorld({ shopify: { customers: N, seed: SEED }, settings: splitSettings(split) });
  for (let k = 0; k < outliers; k++) {
    w.h.shop.upsertCustomer({ id: ID_BASE + 10 ** 12 + k * 7, email: `far${k}@example.jp`, verifiedEmail: true }, { silent: true });
    await w.addFriend(`far${k}@example.jp`);
  }
  await w.addGeneratedFriends(N, 2);
  await w.issue();
  await w.link();
  return w;
}

const bulkQueries = (w: SyncWorld) =>
  w.h.shop
    .requests()
    .filter((r) => r.query?.includes('KizunaBulkRun'))
    .map((r) => String((r.variables as { query: string }).query));
const idFilter = (q: string) => /customers\(query: "([^"]*)"\)/.exec(q)?.[1] ?? null;

const references = new Map<number, { snapshot: SyncSnapshot; counts: Run['counts'] }>();
beforeAll(async () => {
  // The same stores and friends, read page by page.
  for (const outliers of [0, 8]) {
    const w = await world(outliers, false);
    try {
      const run = await w.sync('full');
      expect(run.status).toBe('succeeded');
      references.set(outliers, { snapshot: await w.snapshot(), counts: run.counts });
    } finally {
      await w.close();
    }
  }
});

describe('a full export split into id ranges', () => {
  it('exports 5 parts one after another, each 1.5 times the one before, and ends exactly as a paged run does', async () => {
    const w = await world();
    try {
      const progress: number[] = [];
      const run = await w.sync('full', { batchSize: BATCH, onProgress: (p) => progress.push(p.done) });
      expect(run.status).toBe('succeeded');
      expect(run.counts).toEqual(references.get(0)!.counts);
      expect(await w.snapshot()).toEqual(references.get(0)!.snapshot);
      const filters = bulkQueries(w).map(idFilter);
      expect(filters).toHaveLength(5);
      expect(filters[0]).toMatch(/^id:<=\d+$/);
      expect(filters[4]).toMatch(/^id:>=\d+$/);
      for (const f of filters.slice(1, 4)) expect(f).toMatch(/^id:>=\d+ id:<=\d+$/);
      // Consecutive, gap-free ranges.
      const nums = filters.map((f) => f!.match(/\d+/g)!.map(BigInt));
      for (let k = 1; k < 5; k++) expect(nums[k]![0]).toBe(nums[k - 1]!.at(-1)! + 1n);
      // 7.6 %, 11.4 %, 17.1 %, 25.6 %, 38.4 % of the store, within a tenth of the first part.
      const ops = w.h.shop.bulkOperations();
      const sizes = ops.map((o) => o.objectCount);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(N);
      const shares = bulkPartShares(5);
      expect(shares[1]! / shares[0]!).toBeCloseTo(1.5);
      shares.forEach((share, k) => expect(Math.abs(sizes[k]! - N * share)).toBeLessThanOrEqual(Math.max(2, (N * shares[0]!) / 5)));
      // Each export started only once the one before it was complete.
      for (let k = 1; k < 5; k++) expect(ops[k]!.createdAt).toBeGreaterThanOrEqual(ops[k - 1]!.completedAt!);
      expect(progress.at(-1)).toBe(N);
      const { rows } = await w.t.ctx.db.pool.query(`SELECT checkpoint FROM sync_runs WHERE id = $1`, [run.id]);
      expect(rows[0].checkpoint).toMatchObject({ kind: 'bulk', part: 4, parts: filters });
    } finally {
      await w.close();
    }
  });

  it('bunched ids (a few customers far above the rest) still split by customers, and every customer is read once', async () => {
    const w = await world(8);
    try {
      const run = await w.sync('full', { batchSize: BATCH });
      expect(run.status).toBe('succeeded');
      expect(run.counts).toEqual(references.get(8)!.counts);
      expect(run.counts.deleted).toBe(0);
      expect(await w.snapshot()).toEqual(references.get(8)!.snapshot);
      const sizes = w.h.shop.bulkOperations().map((o) => o.objectCount);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(N + 8);
      // Without following the customers, the first part would hold all 420 generated ones.
      expect(sizes[0]).toBeLessThan(N / 10);
      expect(sizes.at(-1)).toBeGreaterThan(N / 3);
    } finally {
      await w.close();
    }
  });

  it('a worker killed in the middle of the third part: resumed in that part’s export, to the same final state', async () => {
    const w = await world();
    try {
      const { runId } = await requestRun(w.t.ctx, w.tenant.id, { mode: 'full', trigger: 'manual', enqueue: false });
      let killed = false;
      const died = await w
        .execute(runId, {
          batchSize: 20,
          afterBatch: async () => {
            const { rows } = await w.t.ctx.db.pool.query(`SELECT checkpoint FROM sync_runs WHERE id = $1`, [runId]);
            const cp = rows[0].checkpoint;
            if (cp.part === 2 && cp.linesDone > 0) {
              killed = true;
              throw new Error('worker killed');
            }
          },
        })
        .catch((e: Error) => e);
      expect(killed).toBe(true);
      expect(died).toBeInstanceOf(Error);
      const dead = (await w.t.ctx.db.pool.query(`SELECT fetched, checkpoint FROM sync_runs WHERE id = $1`, [runId])).rows[0];
      const third = dead.checkpoint.operationId;
      // Another worker takes the run over once its heartbeat is stale.
      w.h.clock.advance(defaultSyncSettings.staleMs + 1000);
      const run = await w.execute(runId, { batchSize: BATCH });
      expect(run.status).toBe('succeeded');
      expect(run.counts).toEqual(references.get(0)!.counts);
      expect(await w.snapshot()).toEqual(references.get(0)!.snapshot);
      // The third part was downloaded again (not exported again); parts 1 and 2 were not touched again.
      const filters = bulkQueries(w).map(idFilter);
      expect(filters.slice(0, 4)).toEqual([...new Set(filters)].slice(0, 4));
      const downloads = w.h.shop.requests().filter((r) => r.route === 'bulk');
      expect(downloads.length).toBe(6);
      expect(w.h.shop.bulkOperations().filter((o) => String(o.id) === third.split('/').at(-1))).toHaveLength(1);
    } finally {
      await w.close();
    }
  });

  it('the cursor stays at the first export’s start: a change to an early part during the run is read by the next incremental run', async () => {
    const w = await world();
    try {
      const gen = w.h.shop.store.generator;
      const early = gen.idOf(1); // in the first part
      const late = gen.idOf(N - 2); // in the last part, exported after the change
      let changed = false;
      const run = await w.sync('full', {
        batchSize: BATCH,
        afterBatch: async () => {
          const { rows } = await w.t.ctx.db.pool.query(`SELECT checkpoint FROM sync_runs WHERE status = 'running'`);
          if (changed || rows[0]?.checkpoint?.part !== 1) return;
          changed = true;
          w.h.clock.advance(3600_000);
          w.h.shop.changeCustomer(early, { note: 'changed while the run was writing' }, { silent: true });
          w.h.clock.advance(3600_000);
          w.h.shop.changeCustomer(late, { note: 'changed later' }, { silent: true });
        },
      });
      expect(run.status).toBe('succeeded');
      expect(changed).toBe(true);
      const first = w.h.shop.bulkOperations()[0]!;
      const mirror = async (id: number) =>
        (await w.t.ctx.db.pool.query(`SELECT v_note FROM shopify_customers WHERE customer_id = $1`, [id])).rows[0].v_note;
      expect(await mirror(late)).toBe('changed later');
      expect(await mirror(early)).not.toBe('changed while the run was writing');
      const cursor = (await w.t.ctx.db.pool.query(`SELECT sync_cursor FROM shopify_integrations`)).rows[0].sync_cursor as Date;
      expect(cursor.getTime()).toBeLessThanOrEqual(first.createdAt);

      const next = await w.sync('incremental', { batchSize: BATCH });
      expect(next.status).toBe('succeeded');
      expect(await mirror(early)).toBe('changed while the run was writing');
    } finally {
      await w.close();
    }
  });
});
