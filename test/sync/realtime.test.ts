// Near real time, through the real job queue (workers running): a friend whose email arrives — from LIFF or a CSV import —
// is matched against the mirror at once, without waiting for the night; a Shopify webhook delivered to the endpoint is
// applied by the drain job. Waiting is a bounded poll of the database, never a sleep of wall time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setFriendEmail } from '../../src/crm/friends.js';
import { updateTenant } from '../../src/crm/tenants.js';
import { syncWorld, type SyncWorld } from '../helpers/sync.js';

/** Polls `probe` every 50 ms until it returns something truthy (at most ~15 s). */
async function eventually<T>(probe: () => Promise<T>, what: string): Promise<NonNullable<T>> {
  for (let i = 0; i < 300; i++) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Waits until every job of `name` has been handled, so that "nothing happened" is a result and not a race. */
async function jobsDone(w: SyncWorld, name: string): Promise<void> {
  await eventually(async () => {
    const { rows } = await w.t.ctx.db.pool.query(
      `SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state NOT IN ('completed', 'failed', 'cancelled')`,
      [name],
    );
    return rows[0].n === 0;
  }, `${name} jobs to finish`);
}

const EMAIL_JOB = 'crm.friend-email-changed';

const customers = [
  { id: 2001, firstName: '花子', email: 'Hanako@Example.JP', verifiedEmail: true, numberOfOrders: 2, amountSpent: '6000', tags: ['VIP'] },
  { id: 2002, firstName: '未確認', email: 'unverified@example.jp', verifiedEmail: false },
  { id: 2003, firstName: '削除', email: 'gone@example.jp', verifiedEmail: true },
  { id: 2004, firstName: '一郎', email: 'ichiro@example.jp', verifiedEmail: true, note: '一郎さん' },
  { id: 2005, firstName: '取込', email: 'import@example.jp', verifiedEmail: true },
];

describe('near real time through the job queue', () => {
  let w: SyncWorld;
  beforeAll(async () => {
    w = await syncWorld({ customers, work: true });
    await w.issue('client_credentials');
    await w.link();
    expect((await w.sync('full')).status).toBe('succeeded');
    w.h.shop.deleteCustomer(2003, { silent: true });
    w.h.clock.advance(3600_000);
    expect((await w.sync('full')).counts.deleted).toBe(1);
  });
  afterAll(() => w.close());

  it('an email acquired through LIFF matches the friend from the mirror at once (trimmed, case-insensitive)', async () => {
    const before = w.h.shop.requests().length;
    const friendId = await w.addFriend('  hanako@example.jp ');
    const values = await eventually(async () => {
      const v = await w.values(friendId);
      return v.customer_id ? v : null;
    }, 'the friend to be linked');
    expect(values).toMatchObject({ customer_id: '2001', first_name: '花子', tags: 'VIP', orders_count: '2', average_order_amount: '3000' });
    // From the mirror: Shopify was not asked.
    expect(w.h.shop.requests().length).toBe(before);
  });

  it('an unverified customer, a deleted one, or no customer: no link', async () => {
    const ids = [await w.addFriend('unverified@example.jp'), await w.addFriend('gone@example.jp'), await w.addFriend('nobody@example.jp')];
    await jobsDone(w, EMAIL_JOB);
    for (const id of ids) expect(await w.values(id)).toEqual({});
    const { rows } = await w.t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM shopify_links WHERE friend_id = ANY($1::bigint[])`, [ids]);
    expect(rows[0].n).toBe(0);
  });

  it('a friend already linked keeps its customer when its email changes to another customer’s', async () => {
    const friendId = await w.addFriend('ichiro@example.jp');
    await eventually(async () => (await w.values(friendId)).customer_id === '2004', 'the first link');
    await setFriendEmail(w.t.ctx, w.tenant.id, friendId, 'hanako@example.jp', 'liff');
    await jobsDone(w, EMAIL_JOB);
    expect((await w.values(friendId)).customer_id).toBe('2004');
  });

  it('emails from a CSV import are matched the same way', async () => {
    const res = await w.t.app.inject({
      method: 'POST',
      url: '/api/v1/friends/import',
      headers: { authorization: `Bearer ${w.apiToken}`, 'content-type': 'text/csv' },
      payload: `line_user_id,display_name,email\nU${'a'.repeat(32)},取込さん,IMPORT@example.jp\n`,
    });
    expect(res.statusCode).toBe(200);
    const friendId = Number((await w.t.ctx.db.pool.query(`SELECT id FROM friends WHERE display_name = '取込さん'`)).rows[0].id);
    await eventually(async () => (await w.values(friendId)).customer_id === '2005', 'the imported friend to be linked');
  });

  it('a webhook delivered to the endpoint is applied by the drain job', async () => {
    const friendId = Number((await w.t.ctx.db.pool.query(`SELECT friend_id FROM shopify_links WHERE customer_id = 2001 LIMIT 1`)).rows[0].friend_id);
    w.h.shop.changeCustomer(2001, { tags: ['VIP', 'リアルタイム'] }, { silent: true });
    const res = await w.deliverWebhook('customers/update', { id: 2001, admin_graphql_api_id: 'gid://shopify/Customer/2001' }, { webhookId: 'realtime-1' });
    expect(res.statusCode).toBe(200);
    await eventually(async () => (await w.values(friendId)).tags === 'VIP,リアルタイム', 'the webhook to be applied');
    const { rows } = await w.t.ctx.db.pool.query(`SELECT processed_at FROM shopify_webhook_inbox WHERE webhook_id = 'realtime-1'`);
    expect(rows[0].processed_at).not.toBeNull();
  });

  it('no match while the tenant’s plan no longer includes the integration', async () => {
    await updateTenant(w.t.ctx, w.tenant.id, { plan: 'standard' });
    try {
      w.h.shop.upsertCustomer({ id: 2006, email: 'late@example.jp', verifiedEmail: true }, { silent: true });
      w.h.clock.advance(3600_000);
      await updateTenant(w.t.ctx, w.tenant.id, { plan: 'enterprise' });
      expect((await w.sync('incremental')).status).toBe('succeeded');
      await updateTenant(w.t.ctx, w.tenant.id, { plan: 'standard' });
      const friendId = await w.addFriend('late@example.jp');
      await jobsDone(w, EMAIL_JOB);
      expect(await w.values(friendId)).toEqual({});
    } finally {
      await updateTenant(w.t.ctx, w.tenant.id, { plan: 'enterprise' });
    }
  });
});
