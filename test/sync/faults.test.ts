// Every fault the development Shopify can produce, armed in the middle of a sync run against real PostgreSQL: the run either
// rides it out and ends in exactly the state an undisturbed run reaches, or stops with the right error code — retryable ones
// back on the queue with their checkpoint, the others failed for good with one failure mail.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Fault } from '../../src/dev/shopify/index.js';
import { ClientCredentialsToken } from '../../src/shopify/credentials.js';
import { clientForTenant } from '../../src/shopify/integration.js';
import { syncWorld, type SyncWorld } from '../helpers/sync.js';

const CUSTOMERS = 450; // three pages of 199

/** Pages of customers the run asked Shopify for (GraphQL, after the fault's own answer). */
const pageRequests = (w: SyncWorld) => w.h.shop.requests().filter((r) => r.query?.includes('KizunaCustomersPage'));

describe('transport faults in the middle of a run', () => {
  let w: SyncWorld;
  let seqBefore = 0;
  let changed: { email: string; note: string };
  beforeAll(async () => {
    w = await syncWorld({ shopify: { customers: CUSTOMERS, seed: 5 } });
    await w.addGeneratedFriends(CUSTOMERS, 3);
    await w.issue();
    await w.link();
    const first = await w.sync('full');
    expect(first.status).toBe('succeeded');
    expect(first.counts.linked).toBeGreaterThan(50);
  });
  afterAll(() => w.close());
  beforeEach(async () => {
    w.h.shop.clearFaults();
    w.h.shop.setShopStatus(null);
    w.h.shop.throttle({ maximumAvailable: 2000, restoreRate: 100, currentlyAvailable: 2000 });
    w.h.clock.advance(3600_000);
    // Something for every run to carry: the linked customer read last changes its note.
    const { rows } = await w.t.ctx.db.pool.query(
      `SELECT l.customer_id::text AS id, f.email FROM shopify_links l JOIN friends f ON f.id = l.friend_id ORDER BY l.customer_id DESC LIMIT 1`,
    );
    changed = { email: rows[0].email, note: `メモ <b>${w.h.clock.now().toISOString()}</b> 🎁` };
    w.h.shop.changeCustomer(Number(rows[0].id), { note: changed.note }, { silent: true });
    seqBefore = w.h.shop.requests().at(-1)?.seq ?? 0;
  });

  /**
   * Runs a full sync with `arm` called after the first batch has been written, checks that the run got through, and that it
   * left exactly the state an undisturbed run leaves: a clean full run right after finds nothing to change.
   */
  async function survives(arm: () => void) {
    const run = await w.sync('full', { afterBatch: (n) => (n === 1 ? arm() : undefined) });
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    expect(run.counts).toMatchObject({ fetched: CUSTOMERS, updated: 1, unchanged: CUSTOMERS - 1 });
    expect(w.h.shop.pendingFaults()).toEqual([]);
    const after = await w.snapshot();
    expect(after.values[changed.email]!.note).toBe(changed.note);
    const clean = await w.sync('full');
    expect(clean.counts).toMatchObject({ fetched: CUSTOMERS, updated: 0, linked: 0, deleted: 0 });
    expect(await w.snapshot()).toEqual(after);
    return run;
  }
  const since = () => w.h.shop.requests().filter((r) => r.seq > seqBefore);

  it('THROTTLED: waits for the bucket and carries on', async () => {
    const t0 = w.h.clock.now().getTime();
    await survives(() => void w.h.shop.throttle({ currentlyAvailable: 0 }));
    expect(since().some((r) => r.throttled)).toBe(true);
    // The wait was the bucket's refill, on the shared clock.
    expect(w.h.clock.now().getTime() - t0).toBeGreaterThanOrEqual(9_000);
  });

  it('429: honours Retry-After (seconds) and carries on', async () => {
    w.h.sleeps.length = 0;
    await survives(() => w.h.shop.failNext({ kind: '429', retryAfter: 13, count: 2 }));
    expect(since().filter((r) => r.fault === '429')).toHaveLength(2);
    expect(w.h.sleeps.filter((s) => s === 13_000)).toHaveLength(2);
  });

  it.each([500, 502, 503])('HTTP %i: retried with backoff, the run carries on', async (status) => {
    await survives(() => w.h.shop.failNext({ kind: '5xx', status, count: 3 }));
    expect(since().filter((r) => r.fault === '5xx')).toHaveLength(3);
  });

  it.each([
    ['timeout', { kind: 'timeout' }],
    ['malformed JSON', { kind: 'malformed', count: 2 }],
    ['connection reset', { kind: 'reset', count: 2 }],
  ] as [string, Fault][])('%s: retried, the run carries on', async (_name, fault) => {
    await survives(() => w.h.shop.failNext(fault));
    expect(since().filter((r) => r.fault === fault.kind)).toHaveLength(fault.count ?? 1);
  });

  it('a fault that outlasts the retries puts the run back on the queue with its checkpoint; the retry resumes there', async () => {
    const { runId } = await (await import('../../src/sync/run-store.js')).requestRun(w.t.ctx, w.tenant.id, { mode: 'full', trigger: 'manual', enqueue: false });
    const attempt = await w
      .execute(runId, { afterBatch: (n) => (n === 1 ? w.h.shop.failNext({ kind: '5xx', status: 503, count: 100 }) : undefined) })
      .catch((e) => e);
    expect(attempt.code).toBe('SHOPIFY_UNAVAILABLE');
    const { rows } = await w.t.ctx.db.pool.query(`SELECT status, error_code, fetched, checkpoint FROM sync_runs WHERE id = $1`, [runId]);
    expect(rows[0]).toMatchObject({ status: 'queued', error_code: 'SHOPIFY_UNAVAILABLE', fetched: 199 });
    expect(rows[0].checkpoint).toMatchObject({ kind: 'pages' });
    expect(await w.mails()).toHaveLength(0);

    w.h.shop.clearFaults();
    const before = pageRequests(w).length;
    const run = await w.execute(runId);
    expect(run.status).toBe('succeeded');
    expect(run.error).toBeNull();
    expect(run.counts.fetched).toBe(CUSTOMERS);
    // Resumed after page 1: two more pages, the first of them after the saved cursor.
    const resumed = pageRequests(w).slice(before);
    expect(resumed).toHaveLength(2);
    expect((resumed[0]!.variables as { after: string }).after).toBe(rows[0].checkpoint.after);
  });

  it('on the last attempt a lasting outage fails the run with SHOPIFY_UNAVAILABLE and one mail', async () => {
    const run = await w.sync('full', {
      finalAttempt: true,
      afterBatch: (n) => (n === 2 ? w.h.shop.failNext({ kind: '5xx', status: 502, count: 100 }) : undefined),
    });
    expect(run.status).toBe('failed');
    expect(run.error?.code).toBe('SHOPIFY_UNAVAILABLE');
    expect(run.counts.fetched).toBe(398);
    const mails = await w.mails();
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain('SHOPIFY_UNAVAILABLE');
    // Recovery closes the incident.
    w.h.shop.clearFaults();
    expect((await w.sync('full')).status).toBe('succeeded');
    expect((await w.mails()).map((m) => m.subject)).toEqual([expect.stringContaining('失敗'), expect.stringContaining('復旧')]);
    await w.t.ctx.db.pool.query(`DELETE FROM pgboss.job WHERE name = 'mail.send'`);
  });

  it.each([402, 423] as const)('a shop answering %i stops the run with SHOP_UNAVAILABLE, not retried', async (status) => {
    const run = await w.sync('full', { afterBatch: (n) => (n === 1 ? w.h.shop.setShopStatus(status) : undefined) });
    expect(run.status).toBe('failed');
    expect(run.error?.code).toBe('SHOP_UNAVAILABLE');
    w.h.shop.setShopStatus(null);
    await w.sync('full');
    await w.t.ctx.db.pool.query(`DELETE FROM pgboss.job WHERE name = 'mail.send'`);
  });
});

describe('401 in the middle of a run', () => {
  it('an Admin API token revoked mid-run fails the run with INVALID_TOKEN at once, without retries', async () => {
    const w = await syncWorld({ shopify: { customers: CUSTOMERS, seed: 6 } });
    try {
      await w.addGeneratedFriends(60);
      await w.issue();
      await w.link();
      const run = await w.sync('full', { afterBatch: (n) => (n === 1 ? w.h.shop.revokeToken() : undefined) });
      expect(run.status).toBe('failed');
      expect(run.error?.code).toBe('INVALID_TOKEN');
      expect(run.counts.fetched).toBe(199);
      // One 401, no retry storm.
      expect(w.h.shop.requests().filter((r) => r.status === 401)).toHaveLength(1);
      expect(await w.mails()).toHaveLength(1);
    } finally {
      await w.close();
    }
  });

  it('client credentials: a token revoked mid-run is renewed once and the run succeeds; a rotated secret is INVALID_TOKEN', async () => {
    const w = await syncWorld({ shopify: { customers: CUSTOMERS, seed: 7 } });
    try {
      await w.addGeneratedFriends(60);
      await w.issue('client_credentials');
      await w.link();
      const oauth = () => w.h.shop.requests().filter((r) => r.route === 'oauth').length;
      const before = oauth();
      const run = await w.sync('full', { afterBatch: (n) => (n === 1 ? w.h.shop.revokeToken() : undefined) });
      expect(run.status).toBe('succeeded');
      expect(run.counts.fetched).toBe(CUSTOMERS);
      expect(oauth() - before).toBe(2); // the run's first token and the renewal after the 401

      const failed = await w.sync('full', {
        afterBatch: (n) => {
          if (n !== 1) return;
          w.h.shop.setClientSecret('shpss_rotated_rotated_rotated_00');
          w.h.shop.revokeToken();
        },
      });
      expect(failed.status).toBe('failed');
      expect(failed.error?.code).toBe('INVALID_TOKEN');
    } finally {
      await w.close();
    }
  });

  it('client credentials: a token that expires during a long run is renewed before it is used again', async () => {
    const w = await syncWorld({ shopify: { customers: 1200, seed: 8 } });
    try {
      await w.addGeneratedFriends(100);
      w.h.shop.setTokenLifetime(30);
      await w.issue('client_credentials');
      await w.link();
      const t0 = w.h.clock.now().getTime();
      const run = await w.sync('full');
      expect(run.status).toBe('succeeded');
      expect(run.counts.fetched).toBe(1200);
      // Pacing by the bucket (about 10 s a page) carried the run past the 30 s lifetime.
      expect(w.h.clock.now().getTime() - t0).toBeGreaterThan(40_000);
      const { token } = await clientForTenant(w.t.ctx, w.tenant.id);
      expect(token).toBeInstanceOf(ClientCredentialsToken);
      expect((token as ClientCredentialsToken).issued).toBeGreaterThan(1);
      // Renewed ahead of expiry: Shopify never had to answer 401.
      expect(w.h.shop.requests().filter((r) => r.status === 401)).toHaveLength(0);
    } finally {
      await w.close();
    }
  });
});

describe('ACCESS_DENIED on lastOrder', () => {
  it('read_orders taken away after 発行: the run still succeeds and 最終注文ID comes from REST, nothing is lost', async () => {
    const w = await syncWorld({ shopify: { customers: 300, seed: 9, scopes: ['read_customers', 'read_orders'] } });
    try {
      const friends = await w.addGeneratedFriends(300);
      await w.issue();
      await w.link();
      const first = await w.sync('full');
      expect(first.status).toBe('succeeded');
      const withOrder = Object.entries((await w.snapshot()).values).filter(([, v]) => v.last_order_id);
      expect(withOrder.length).toBeGreaterThan(20);

      // The merchant removes read_orders; then one linked customer places an order.
      w.h.shop.setScopes(['read_customers']);
      w.h.clock.advance(3600_000);
      const [email] = withOrder[0]!;
      const gen = w.h.shop.store.generator;
      let idx = 0;
      while (gen.customerAt(idx).email?.toLowerCase() !== email) idx++;
      const c = gen.customerAt(idx);
      w.h.shop.changeCustomer(c.id, { numberOfOrders: c.numberOfOrders + 1, lastOrder: { id: 9_900_000_001, name: '#9999' } }, { silent: true });

      const seq = w.h.shop.requests().at(-1)!.seq;
      const run = await w.sync('full');
      expect(run.error).toBeNull();
      expect(run.status).toBe('succeeded');
      // The first page asked for lastOrder and was denied it; the next ones no longer ask, and later runs neither.
      const pages = pageRequests(w).filter((r) => r.seq > seq);
      expect(pages.map((r) => r.query!.includes('lastOrder'))).toEqual([true, false]);
      const { rows } = await w.t.ctx.db.pool.query(`SELECT last_order_source FROM shopify_integrations`);
      expect(rows[0].last_order_source).toBe('rest');
      const snap = await w.snapshot();
      expect(snap.values[email]!.last_order_id).toBe('9900000001');
      // Everyone else keeps the last order id they had.
      for (const [e] of withOrder.slice(1)) expect(snap.values[e]!.last_order_id).toBeTruthy();
      expect(friends.size).toBeGreaterThan(0);
    } finally {
      await w.close();
    }
  });
});
