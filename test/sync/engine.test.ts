// The sync engine end to end against the development Shopify and real PostgreSQL: the exact 22 values for edge-case
// customers, matching rules, unchanged customers costing no write, incremental runs, lasting links and deletions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerInput } from '../../src/dev/shopify/shop.js';
import { syncWorld, type SyncWorld } from '../helpers/sync.js';

const addr = (over: Record<string, unknown> = {}) => ({
  company: '株式会社キズナ',
  zip: '150-0001',
  province: 'Tokyo',
  provinceCode: 'JP-13',
  city: '渋谷区',
  address1: '神宮前1-2-3',
  address2: 'キズナビル5F',
  country: 'Japan',
  countryCodeV2: 'JP',
  ...over,
});

const customers: CustomerInput[] = [
  {
    id: 1001,
    firstName: '花子',
    lastName: '山田',
    email: 'Hanako.Yamada@Example.JP',
    verifiedEmail: true,
    state: 'ENABLED',
    numberOfOrders: 3,
    amountSpent: '10000',
    currencyCode: 'JPY',
    lastOrder: { id: 5550001, name: '#1001' },
    tags: ['VIP', 'リピーター'],
    note: '<b>大切なお客様</b> 🎁\n2行目',
    phone: '+819012345678',
    emailMarketing: { state: 'SUBSCRIBED', optInLevel: 'SINGLE_OPT_IN' },
    smsMarketing: { state: 'NOT_SUBSCRIBED', optInLevel: null, collectedFrom: null },
    addresses: [addr()],
    createdAt: '2026-01-31T15:00:00Z', // 2026-02-01 in Tokyo
    updatedAt: '2026-11-27T14:59:59Z', // 2026-11-27 23:59:59 in Tokyo
  },
  { id: 1002, firstName: '太郎', lastName: '佐藤', email: 'taro@example.jp', verifiedEmail: false, numberOfOrders: 1, amountSpent: '5000' },
  { id: 1003, firstName: 'No', lastName: 'Email', email: null, verifiedEmail: false, numberOfOrders: 0, amountSpent: '0' },
  {
    id: 1004,
    firstName: 'John',
    lastName: 'Smith',
    email: 'john@example.com',
    verifiedEmail: true,
    numberOfOrders: 4,
    amountSpent: '100.50',
    currencyCode: 'USD',
    addresses: [addr({ province: 'California', provinceCode: 'CA', country: 'United States', countryCodeV2: 'US', company: null })],
    state: 'INVITED',
  },
  { id: 1005, firstName: '次郎', lastName: '鈴木', email: 'jiro@example.jp', verifiedEmail: true, numberOfOrders: 0, amountSpent: '0', addresses: [] },
  { id: 1006, firstName: '共有', lastName: '家族', email: 'family@example.jp', verifiedEmail: true, numberOfOrders: 2, amountSpent: '5001' },
  { id: 1007, firstName: '未', lastName: '一致', email: 'nobody@example.jp', verifiedEmail: true, numberOfOrders: 1, amountSpent: '100' },
];

describe('a full sync', () => {
  let w: SyncWorld;
  const friends: Record<string, number> = {};
  beforeAll(async () => {
    w = await syncWorld({ customers, shopify: { scopes: ['read_customers', 'read_orders'] } });
    friends.hanako = await w.addFriend('  hanako.yamada@example.jp ');
    friends.taro = await w.addFriend('taro@example.jp');
    friends.john = await w.addFriend('JOHN@example.com');
    friends.jiro = await w.addFriend('jiro@example.jp');
    friends.family1 = await w.addFriend('family@example.jp');
    friends.family2 = await w.addFriend('Family@Example.jp');
    friends.none = await w.addFriend(null);
    await w.issue();
    await w.link();
  });
  afterAll(() => w.close());

  it('links by verified email, trimmed and lower-cased, and counts every customer once', async () => {
    const run = await w.sync('full');
    expect(run.status).toBe('succeeded');
    expect(run.counts).toEqual({
      fetched: 7,
      matched: 4, // 1001, 1004, 1005, 1006 (two friends)
      linked: 5,
      updated: 5,
      unchanged: 0,
      unverified: 2, // 1002 (unverified), 1003 (no email)
      unmatched: 1, // 1007
      deleted: 0,
    });
    expect(await w.values(friends.taro!)).toEqual({});
    expect(await w.values(friends.none!)).toEqual({});
  });

  it('writes the exact 22 values of a full Japanese customer', async () => {
    expect(await w.values(friends.hanako!)).toEqual({
      customer_id: '1001',
      email: 'Hanako.Yamada@Example.JP',
      first_name: '花子',
      last_name: '山田',
      state: '有効',
      orders_count: '3',
      average_order_amount: '3333',
      total_spent: '10000',
      last_order_id: '5550001',
      tags: 'VIP,リピーター',
      phone: '+819012345678',
      company: '株式会社キズナ',
      zip: '150-0001',
      province: '東京都',
      city: '渋谷区',
      address1: '神宮前1-2-3',
      address2: 'キズナビル5F',
      email_marketing_consent: '同意済み',
      sms_marketing_consent: '未同意',
      note: '<b>大切なお客様</b> 🎁\n2行目',
      created_at: '2026-02-01',
      updated_at: '2026-11-27',
    });
  });

  it('rounds a USD average to cents, keeps foreign provinces, and leaves out what a customer does not have', async () => {
    const john = await w.values(friends.john!);
    expect(john).toMatchObject({ total_spent: '100.50', average_order_amount: '25.13', province: 'California', state: '招待済' });
    expect(john.company).toBeUndefined();
    const jiro = await w.values(friends.jiro!);
    expect(jiro).toMatchObject({ orders_count: '0', total_spent: '0' });
    expect(jiro.average_order_amount).toBeUndefined();
    expect(jiro.province).toBeUndefined();
    expect(jiro.last_order_id).toBeUndefined();
  });

  it('links every friend that gave the same email', async () => {
    expect((await w.values(friends.family1!)).customer_id).toBe('1006');
    expect((await w.values(friends.family2!)).customer_id).toBe('1006');
  });

  it('writes nothing for customers that did not change', async () => {
    const before = (await w.t.ctx.db.pool.query(`SELECT max(updated_at) AS m, count(*)::int AS n FROM custom_values`)).rows[0];
    w.h.clock.advance(60_000);
    const run = await w.sync('full');
    expect(run.counts).toMatchObject({ fetched: 7, unchanged: 7, updated: 0, linked: 0 });
    const after = (await w.t.ctx.db.pool.query(`SELECT max(updated_at) AS m, count(*)::int AS n FROM custom_values`)).rows[0];
    expect(after).toEqual(before);
  });

  it('an incremental run picks up a change and overwrites only the changed values', async () => {
    w.h.clock.advance(3600_000);
    w.h.shop.changeCustomer(1001, { tags: ['VIP'], numberOfOrders: 4, amountSpent: '14000' });
    const run = await w.sync('incremental');
    expect(run.mode).toBe('incremental');
    // Customers created at the cursor fall inside the overlap window and are re-read, unchanged.
    expect(run.counts).toMatchObject({ updated: 1, unchanged: run.counts.fetched - 1 });
    const { rows: since } = await w.t.ctx.db.pool.query(`SELECT since FROM sync_runs WHERE id = $1`, [run.id]);
    expect(since[0].since).not.toBeNull();
    expect(await w.values(friends.hanako!)).toMatchObject({ tags: 'VIP', orders_count: '4', average_order_amount: '3500', total_spent: '14000' });
    const { rows } = await w.t.ctx.db.pool.query(
      `SELECT f.key FROM custom_values v JOIN custom_fields f ON f.id = v.field_id WHERE v.friend_id = $1 AND v.updated_at = $2`,
      [friends.hanako, w.h.clock.now()],
    );
    expect(rows.map((r) => r.key).sort()).toEqual(['average_order_amount', 'orders_count', 'tags', 'total_spent', 'updated_at'].sort());
  });

  it('keeps a link when either email changes later, and never moves a friend to another customer', async () => {
    w.h.clock.advance(3600_000);
    w.h.shop.changeCustomer(1001, { email: 'hanako.new@example.jp' });
    // Another customer now has the friend's old email: the friend stays with 1001.
    w.h.shop.upsertCustomer({ id: 1008, email: 'hanako.yamada@example.jp', verifiedEmail: true, firstName: '別人' });
    await w.sync('incremental');
    expect(await w.values(friends.hanako!)).toMatchObject({ customer_id: '1001', email: 'hanako.new@example.jp' });
    // The friend's own email changes too: still 1001.
    await w.t.ctx.db.pool.query(`UPDATE friends SET email = 'x@example.jp', email_normalized = 'x@example.jp' WHERE id = $1`, [friends.hanako]);
    w.h.clock.advance(60_000);
    w.h.shop.changeCustomer(1001, { note: '更新' });
    await w.sync('incremental');
    expect(await w.values(friends.hanako!)).toMatchObject({ customer_id: '1001', note: '更新' });
  });

  it('marks customers deleted in Shopify on a full run, keeping the imported values', async () => {
    w.h.clock.advance(3600_000);
    w.h.shop.deleteCustomer(1006, { silent: true });
    const before = await w.values(friends.family1!);
    const run = await w.sync('full');
    expect(run.counts.deleted).toBe(1);
    expect(await w.values(friends.family1!)).toEqual(before);
    const { rows } = await w.t.ctx.db.pool.query(`SELECT customer_deleted_at FROM shopify_links WHERE friend_id = $1`, [friends.family1]);
    expect(rows[0].customer_deleted_at).not.toBeNull();
  });

  it('moves the incremental cursor to the highest updatedAt seen, never to now', async () => {
    const { rows } = await w.t.ctx.db.pool.query(`SELECT sync_cursor FROM shopify_integrations WHERE tenant_id = $1`, [w.tenant.id]);
    const maxUpdated = Math.max(...[1001, 1002, 1003, 1004, 1005, 1007, 1008].map((id) => w.h.shop.customer(id)!.updatedAt));
    expect(new Date(rows[0].sync_cursor).getTime()).toBe(maxUpdated);
    expect(new Date(rows[0].sync_cursor).getTime()).toBeLessThan(w.h.clock.now().getTime());
  });
});
