// A worker that dies in the middle of a run: its run keeps status running with the checkpoint of the last batch it wrote;
// the scheduler's tick notices the stale heartbeat, puts it back on the queue, and another worker resumes it from that
// checkpoint — to exactly the state (mirror, links, values, counts) an uninterrupted run reaches. Also: a checkpoint after
// every page, incremental runs with their overlap, and one execution per run even when its job is delivered twice.
import { beforeAll, describe, expect, it } from 'vitest';
import { sweepStaleRuns, tick } from '../../src/sync/schedule.js';
import { executeRun } from '../../src/sync/runs.js';
import { defaultSyncSettings } from '../../src/sync/settings.js';
import { requestRun, type Run } from '../../src/sync/run-store.js';
import { syncWorld, type SyncSnapshot, type SyncWorld } from '../helpers/sync.js';

const N = 500; // three pages of 199
const SEED = 31;
const BATCH = 120;

async function world(settings: { bulkThreshold?: number } = {}): Promise<SyncWorld> {
  const w = await syncWorld({ shopify: { customers: N, seed: SEED }, settings });
  await w.addGeneratedFriends(N, 2);
  await w.issue();
  await w.link();
  return w;
}

const pageRequests = (w: SyncWorld) => w.h.shop.requests().filter((r) => r.query?.includes('KizunaCustomersPage'));
const bulkStarts = (w: SyncWorld) => w.h.shop.requests().filter((r) => r.query?.includes('KizunaBulkRun'));

class Killed extends Error {}
/** afterBatch hook: the worker process dies right after batch `n` has committed. */
const killAfter = (n: number) => (batch: number) => {
  if (batch === n) throw new Killed(`worker killed after batch ${n}`);
};

/** Another worker process (its own worker id) executing the run from the job tick sent. */
function otherWorker(w: SyncWorld, runId: string, o: Parameters<typeof executeRun>[2] = {}) {
  const clientOpts = { random: () => 0.5, timeoutMs: 1_000 };
  return executeRun({ ...w.t.ctx, workerId: 'worker-2' }, runId, { client: clientOpts, ...o });
}

async function runRow(w: SyncWorld, runId: string) {
  const { rows } = await w.t.ctx.db.pool.query(`SELECT status, worker_id, fetched, checkpoint, error_code FROM sync_runs WHERE id = $1`, [runId]);
  return rows[0];
}

async function syncJobs(w: SyncWorld, runId: string): Promise<number> {
  const { rows } = await w.t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'shopify.sync-run' AND data->>'runId' = $1`, [runId]);
  return rows[0].n;
}

/** Kills a fresh full run after batch `n`, lets tick requeue it once the heartbeat is stale, and resumes it on worker-2. */
async function killAndResume(w: SyncWorld, n: number, o: { batchSize?: number } = {}) {
  const { runId } = await requestRun(w.t.ctx, w.tenant.id, { mode: 'full', trigger: 'manual', enqueue: false });
  const died = await w.execute(runId, { batchSize: o.batchSize, afterBatch: killAfter(n) }).catch((e) => e);
  expect(died).toBeInstanceOf(Killed);
  // Nobody told the database: the run is still "running" on the dead worker, with the checkpoint of its last batch.
  const dead = await runRow(w, runId);
  expect(dead.status).toBe('running');
  expect(dead.worker_id).toMatch(/^test\//);
  expect(dead.checkpoint).not.toBeNull();
  expect(dead.error_code).toBeNull();
  expect(await w.mails()).toEqual([]);

  // Within the stale limit the run is left alone; past it, tick requeues it and sends its job.
  w.h.clock.advance(defaultSyncSettings.staleMs - 1000);
  expect((await tick(w.t.ctx)).resumed).toEqual([]);
  w.h.clock.advance(2000);
  expect((await tick(w.t.ctx)).resumed).toEqual([runId]);
  expect((await runRow(w, runId)).status).toBe('queued');
  expect(await syncJobs(w, runId)).toBe(1);

  const run = await otherWorker(w, runId, { batchSize: o.batchSize });
  return { runId, dead, run };
}

let reference: SyncSnapshot;
let referenceCounts: Run['counts'];
beforeAll(async () => {
  const w = await world();
  try {
    const run = await w.sync('full');
    expect(run.status).toBe('succeeded');
    reference = await w.snapshot();
    referenceCounts = run.counts;
  } finally {
    await w.close();
  }
});

describe('a worker killed in the middle of a run', () => {
  it('page by page: resumed after the last page it wrote, to the same final state as an uninterrupted run', async () => {
    const w = await world();
    try {
      const { dead, run } = await killAndResume(w, 1);
      expect(dead.fetched).toBe(199);
      expect(run.status).toBe('succeeded');
      expect(run.counts).toEqual(referenceCounts);
      expect(await w.snapshot()).toEqual(reference);
      // 3 pages before the kill would be 1; after: the two remaining pages, the first right after the saved cursor.
      const pages = pageRequests(w);
      expect(pages).toHaveLength(3);
      expect((pages[1]!.variables as { after: string }).after).toBe(dead.checkpoint.after);
      expect(await w.mails()).toEqual([]);
    } finally {
      await w.close();
    }
  });

  it('bulk: resumed in the same export after the lines it wrote, to the same final state', async () => {
    const w = await world({ bulkThreshold: 100 });
    try {
      const { dead, run } = await killAndResume(w, 3, { batchSize: BATCH });
      expect(dead.checkpoint).toMatchObject({ kind: 'bulk' });
      expect(dead.checkpoint.linesDone).toBeGreaterThan(0);
      expect(dead.checkpoint.linesDone).toBeLessThan(N);
      expect(run.status).toBe('succeeded');
      expect(run.counts).toEqual(referenceCounts);
      expect(await w.snapshot()).toEqual(reference);
      expect(bulkStarts(w)).toHaveLength(1);
    } finally {
      await w.close();
    }
  });

  it('bulk: killed while the export was still running, the resumed run adopts that export instead of starting another', async () => {
    const w = await world({ bulkThreshold: 100 });
    try {
      const { dead, run } = await killAndResume(w, 1, { batchSize: BATCH });
      expect(dead.fetched).toBe(0);
      expect(dead.checkpoint).toMatchObject({ kind: 'bulk', linesDone: 0 });
      expect(run.status).toBe('succeeded');
      expect(bulkStarts(w)).toHaveLength(1);
      expect(run.counts).toEqual(referenceCounts);
      expect(await w.snapshot()).toEqual(reference);
    } finally {
      await w.close();
    }
  });

  it('a worker told to stop (SIGTERM) hands its run back after the batch it was writing: queued with a new job, continued elsewhere to the same state', async () => {
    const w = await world();
    try {
      const { runId } = await requestRun(w.t.ctx, w.tenant.id, { mode: 'full', trigger: 'manual', enqueue: false });
      const stopping = new AbortController();
      const clientOpts = { random: () => 0.5, timeoutMs: 1_000 };
      const handed = await executeRun({ ...w.t.ctx, workerId: 'worker-1', stopping: stopping.signal }, runId, {
        client: clientOpts,
        afterBatch: (n) => {
          if (n === 1) stopping.abort();
        },
      });
      expect(handed.status).toBe('queued');
      const row = await runRow(w, runId);
      expect(row).toMatchObject({ status: 'queued', worker_id: null, fetched: 199, error_code: 'HANDED_BACK' });
      expect(row.checkpoint).not.toBeNull();
      expect(await syncJobs(w, runId)).toBe(1); // no waiting for the heartbeat to go stale
      const run = await otherWorker(w, runId);
      expect(run.status).toBe('succeeded');
      expect(run.error).toBeNull();
      expect(run.counts).toEqual(referenceCounts);
      expect(await w.snapshot()).toEqual(reference);
      expect(await w.mails()).toEqual([]);
    } finally {
      await w.close();
    }
  });

  it('any worker puts a dead worker\'s run back (sweepStaleRuns), not only the scheduler\'s tick; exactly one of several does', async () => {
    const w = await world();
    try {
      const { runId } = await requestRun(w.t.ctx, w.tenant.id, { mode: 'full', trigger: 'manual', enqueue: false });
      expect(await w.execute(runId, { afterBatch: killAfter(1) }).catch((e) => e)).toBeInstanceOf(Killed);
      w.h.clock.advance(defaultSyncSettings.staleMs + 1000);
      const sweeps = await Promise.all([sweepStaleRuns(w.t.ctx), sweepStaleRuns(w.t.ctx), sweepStaleRuns(w.t.ctx)]);
      expect(sweeps.flat()).toEqual([runId]);
      expect(await syncJobs(w, runId)).toBe(1);
      expect((await otherWorker(w, runId)).counts).toEqual(referenceCounts);
    } finally {
      await w.close();
    }
  });

  it('a queued run whose job was lost is sent again by tick after an hour', async () => {
    const w = await world();
    try {
      const { runId } = await requestRun(w.t.ctx, w.tenant.id, { mode: 'full', trigger: 'manual', enqueue: false });
      w.h.clock.advance(59 * 60_000);
      expect((await tick(w.t.ctx)).resumed).toEqual([]);
      w.h.clock.advance(2 * 60_000);
      expect((await tick(w.t.ctx)).resumed).toEqual([runId]);
      expect(await syncJobs(w, runId)).toBe(1);
      // And not again at the next tick: one job is enough.
      w.h.clock.advance(60_000);
      expect((await tick(w.t.ctx)).resumed).toEqual([]);
      expect(await syncJobs(w, runId)).toBe(1);
    } finally {
      await w.close();
    }
  });
});

describe('one execution per run', () => {
  it('the same run delivered twice to one worker process is executed once', async () => {
    const w = await world();
    try {
      const { runId } = await requestRun(w.t.ctx, w.tenant.id, { mode: 'full', trigger: 'manual', enqueue: false });
      const [a, b] = await Promise.all([w.execute(runId), w.execute(runId)]);
      const done = await w.t.ctx.db.pool.query(`SELECT status, fetched FROM sync_runs WHERE id = $1`, [runId]);
      expect(done.rows[0]).toEqual({ status: 'succeeded', fetched: N });
      expect(pageRequests(w)).toHaveLength(3);
      expect([a.status, b.status].sort()).toEqual(['running', 'succeeded']);
      expect(await w.snapshot()).toEqual(reference);
    } finally {
      await w.close();
    }
  });

  it('a worker presumed dead that comes back after another took its run over writes nothing more', async () => {
    const w = await world();
    try {
      const { runId } = await requestRun(w.t.ctx, w.tenant.id, { mode: 'full', trigger: 'manual', enqueue: false });
      let takeover: Run | undefined;
      const slow = await w.execute(runId, {
        afterBatch: async (n) => {
          if (n !== 1) return;
          // This worker stalls past the stale limit; tick requeues its run and worker-2 completes it.
          w.h.clock.advance(defaultSyncSettings.staleMs + 1000);
          expect((await tick(w.t.ctx)).resumed).toEqual([runId]);
          takeover = await otherWorker(w, runId);
        },
      });
      expect(takeover!.status).toBe('succeeded');
      // The stalled worker's next batch was refused; it reports the run as worker-2 left it.
      expect(slow).toEqual(takeover);
      expect(slow.counts).toEqual(referenceCounts);
      expect(await w.snapshot()).toEqual(reference);
    } finally {
      await w.close();
    }
  });

  it('a second request while a run is queued or running joins it', async () => {
    const w = await world();
    try {
      const first = await requestRun(w.t.ctx, w.tenant.id, { mode: 'full', trigger: 'manual', enqueue: false });
      const second = await requestRun(w.t.ctx, w.tenant.id, { mode: 'incremental', trigger: 'manual', enqueue: false });
      expect(second).toEqual({ runId: first.runId, joined: true });
      let during: { runId: string; joined: boolean } | undefined;
      const run = await w.execute(first.runId, {
        afterBatch: async (n) => {
          if (n === 1) during = await requestRun(w.t.ctx, w.tenant.id, { mode: 'full', trigger: 'manual', enqueue: false });
        },
      });
      expect(during).toEqual({ runId: first.runId, joined: true });
      expect(run.status).toBe('succeeded');
      const next = await requestRun(w.t.ctx, w.tenant.id, { mode: 'full', trigger: 'manual', enqueue: false });
      expect(next.joined).toBe(false);
      expect(next.runId).not.toBe(first.runId);
    } finally {
      await w.close();
    }
  });
});

describe('checkpoints and incremental runs', () => {
  it('a checkpoint is committed with every page', async () => {
    const w = await world();
    try {
      const seen: { fetched: number; after: string }[] = [];
      const { runId } = await requestRun(w.t.ctx, w.tenant.id, { mode: 'full', trigger: 'manual', enqueue: false });
      await w.execute(runId, {
        afterBatch: async () => {
          const r = await runRow(w, runId);
          seen.push({ fetched: r.fetched, after: r.checkpoint.after });
        },
      });
      expect(seen.map((s) => s.fetched)).toEqual([199, 398, 500]);
      expect(new Set(seen.map((s) => s.after)).size).toBe(3);
    } finally {
      await w.close();
    }
  });

  it('a corrupt checkpoint fails the run with a message that names it, without retries or a crash in fetch', async () => {
    const w = await world();
    try {
      const { runId } = await requestRun(w.t.ctx, w.tenant.id, { mode: 'full', trigger: 'manual', enqueue: false });
      await w.t.ctx.db.pool.query(`UPDATE sync_runs SET checkpoint = $2 WHERE id = $1`, [runId, JSON.stringify({ kind: 'bulk', linesDone: 'many' })]);
      const run = await w.execute(runId);
      expect(run.status).toBe('failed');
      expect(run.error?.code).toBe('INTERNAL_ERROR');
      expect(run.error?.message).toMatch(/^The checkpoint of sync run .* cannot be read \(.*operationId.*linesDone/);
      expect(pageRequests(w)).toHaveLength(0);
      expect(bulkStarts(w)).toHaveLength(0);
    } finally {
      await w.close();
    }
  });

  it('an incremental run re-reads an overlap before the cursor, writes only what changed, and a customer changed while it reads ends newest', async () => {
    const w = await world();
    try {
      expect((await w.sync('full')).status).toBe('succeeded');
      const cursor = (await w.t.ctx.db.pool.query(`SELECT sync_cursor FROM shopify_integrations`)).rows[0].sync_cursor as Date;
      w.h.clock.advance(86_400_000);
      // 250 linked customers change: two pages. While the run reads page 1, one of them changes again (it moves to the end).
      const gen = w.h.shop.store.generator;
      const ids = Array.from({ length: 250 }, (_, i) => gen.idOf(i));
      for (const id of ids) w.h.shop.changeCustomer(id, { tags: ['夜間'] }, { silent: true });
      const { rows: linked } = await w.t.ctx.db.pool.query(`SELECT customer_id::text AS id FROM shopify_links ORDER BY customer_id LIMIT 1`);
      const again = Number(linked[0].id);
      expect(ids).toContain(again);
      const run = await w.sync('incremental', {
        afterBatch: (n) => void (n === 1 ? w.h.shop.changeCustomer(again, { tags: ['夜間', '再変更'] }, { silent: true }) : undefined),
      });
      expect(run.status).toBe('succeeded');
      expect(run.mode).toBe('incremental');
      const firstPage = pageRequests(w).filter((r) => (r.variables as { query: string | null }).query !== null)[0]!;
      const since = new Date(cursor.getTime() - defaultSyncSettings.overlapMs).toISOString();
      expect((firstPage.variables as { query: string }).query).toBe(`updated_at:>='${since}'`);
      // The overlap re-read the last customer of the full run (the cursor's), unchanged; the changed ones were written once
      // each, the one changed twice twice (friends updated: the linked ones among them).
      const { rows: n } = await w.t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM shopify_links WHERE customer_id = ANY($1::bigint[])`, [ids]);
      expect(run.counts).toMatchObject({ fetched: 252, unchanged: 1, updated: n[0].n + 1, linked: 0 });
      const snap = await w.snapshot();
      const email = gen.customerAt(gen.indexOf(again)).email!.toLowerCase();
      expect(snap.values[email]!.tags?.split(',').sort()).toEqual(['再変更', '夜間'].sort());
      // The cursor moved to the newest updatedAt read.
      const after = (await w.t.ctx.db.pool.query(`SELECT sync_cursor FROM shopify_integrations`)).rows[0].sync_cursor as Date;
      expect(after.getTime()).toBe(w.h.shop.customer(again)!.updatedAt);
    } finally {
      await w.close();
    }
  });
});
