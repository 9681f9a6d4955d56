// Shopify webhooks end to end: POST /webhooks/shopify/:tenantId (HMAC over the raw body with the stored secret — for a
// client-credentials integration the client secret —, dedupe by X-Shopify-Webhook-Id), then drainWebhooks applies them to the
// mirror and to linked friends: create, update, delete, purchasing summary, consent. Deliveries come from the development
// Shopify itself (real HTTP to a listening Kizuna) or are built and signed here; older deliveries never overwrite newer data.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { forgetWebhookTarget, unlinkIntegration } from '../../src/shopify/integration.js';
import { drainWebhooks } from '../../src/sync/realtime.js';
import { makeTenant } from '../crm/fixtures.js';
import { syncWorld, type SyncWorld } from '../helpers/sync.js';

const TOPICS = [
  'customers/create',
  'customers/update',
  'customers/delete',
  'customers/purchasing_summary',
  'customers_email_marketing_consent/update',
  'customers_marketing_consent/update',
];

async function drain(w: SyncWorld): Promise<number> {
  let total = 0;
  for (let i = 0; i < 20; i++) {
    const handled = await drainWebhooks(w.t.ctx, w.tenant.id);
    if (!handled) return total;
    total += handled;
  }
  throw new Error('the inbox did not empty');
}

async function inbox(w: SyncWorld) {
  const { rows } = await w.t.ctx.db.pool.query(
    `SELECT webhook_id, topic, customer_id::text AS customer_id, processed_at, error FROM shopify_webhook_inbox ORDER BY received_at, webhook_id`,
  );
  return rows;
}

/** A generated customer's index whose email a friend has (linked after the first sync), with or without orders. */
function linkedCustomer(w: SyncWorld, friends: Map<string, number>, pred: (c: ReturnType<SyncWorld['h']['shop']['store']['generator']['customerAt']>) => boolean, skip = 0) {
  const gen = w.h.shop.store.generator;
  for (let i = 0; i < gen.count; i++) {
    const c = gen.customerAt(i);
    if (c.verifiedEmail && c.email && friends.has(c.email.toLowerCase()) && pred(c) && skip-- <= 0) {
      return { id: c.id, email: c.email.toLowerCase(), friendId: friends.get(c.email.toLowerCase())! };
    }
  }
  throw new Error('no such customer');
}

describe('Shopify webhooks', () => {
  let w: SyncWorld;
  let friends: Map<string, number>;
  let url: string;
  beforeAll(async () => {
    w = await syncWorld({ shopify: { customers: 80, seed: 51 } });
    friends = await w.addGeneratedFriends(80);
    await w.issue('client_credentials');
    await w.link();
    expect((await w.sync('full')).status).toBe('succeeded');
    await w.t.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(w.t.app.server.address() as AddressInfo).port}/webhooks/shopify/${w.tenant.id}`;
    for (const topic of TOPICS) w.h.shop.subscribeWebhook(topic, url);
  });
  afterAll(() => w.close());
  beforeEach(async () => {
    await drain(w);
    w.h.clock.advance(600_000);
  });

  describe('the endpoint', () => {
    it('refuses a wrong or missing HMAC with 401 and stores nothing', async () => {
      const before = (await inbox(w)).length;
      const body = { id: 1, admin_graphql_api_id: 'gid://shopify/Customer/1' };
      expect((await w.deliverWebhook('customers/update', body, { secret: 'not-the-secret' })).statusCode).toBe(401);
      expect((await w.deliverWebhook('customers/update', body, { secret: null })).statusCode).toBe(401);
      // A body altered after signing.
      const res = await w.deliverWebhook('customers/update', body, { webhookId: 'tampered', alter: (raw) => raw.replace('"id":1,', '"id":2,') });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHORIZED');
      expect((await inbox(w)).length).toBe(before);
    });

    it('answers 404 for a tenant without an integration', async () => {
      const res = await w.deliverWebhook('customers/update', { id: 1 }, { tenantId: '00000000-0000-4000-8000-000000000000' });
      expect(res.statusCode).toBe(404);
    });

    it('drops a redelivery with the same X-Shopify-Webhook-Id', async () => {
      const c = linkedCustomer(w, friends, () => true);
      const body = { id: c.id, admin_graphql_api_id: `gid://shopify/Customer/${c.id}` };
      const first = await w.deliverWebhook('customers/update', body, { webhookId: 'same-id' });
      const again = await w.deliverWebhook('customers/update', body, { webhookId: 'same-id' });
      expect(first.json()).toEqual({ ok: true, duplicate: false });
      expect(again.json()).toEqual({ ok: true, duplicate: true });
      expect((await inbox(w)).filter((r) => r.webhook_id === 'same-id')).toHaveLength(1);
      // Sent twice by the development Shopify itself (same id both times): one row.
      w.h.shop.changeCustomer(c.id, { note: '二度届く' }, { silent: true });
      const deliveries = await w.h.shop.sendWebhook('customers/update', c.id, { url, duplicate: true });
      expect(deliveries.map((d) => d.status)).toEqual([200, 200]);
      expect(new Set(deliveries.map((d) => d.webhookId)).size).toBe(1);
      expect((await inbox(w)).filter((r) => r.webhook_id === deliveries[0]!.webhookId)).toHaveLength(1);
      expect(await drain(w)).toBe(2);
      expect((await w.values(c.friendId)).note).toBe('二度届く');
    });

    it('a signed delivery Kizuna cannot use (not JSON, U+0000, an id beyond bigint) is acknowledged and kept as rejected, never a 5xx', async () => {
      const cases: [string, string][] = [
        ['not-json', 'this is not JSON'],
        ['nul', JSON.stringify({ id: 1, admin_graphql_api_id: 'gid://shopify/Customer/1', note: 'a\u0000b' })],
        ['huge-id', '{"id":99999999999999999999999,"admin_graphql_api_id":"gid://shopify/Customer/99999999999999999999999"}'],
        ['array', '[{"id":1}]'],
      ];
      for (const [id, raw] of cases) {
        const res = await w.deliverWebhook('customers/update', null, { webhookId: `bad-${id}`, raw });
        expect(res.statusCode, id).toBe(200);
        expect(res.json().rejected, id).toMatch(/not JSON|U\+0000|out of range|not a JSON object/);
      }
      const rows = (await inbox(w)).filter((r) => r.webhook_id.startsWith('bad-'));
      expect(rows).toHaveLength(cases.length);
      for (const r of rows) {
        expect(r.processed_at).not.toBeNull();
        expect(r.error).toMatch(/^rejected: /);
      }
      // Shopify retrying one of them changes nothing; nothing is applied
      expect((await w.deliverWebhook('customers/update', null, { webhookId: 'bad-nul', raw: cases[1]![1] })).statusCode).toBe(200);
      expect(await drain(w)).toBe(0);
    });

    it('deduplicates per tenant: the same X-Shopify-Webhook-Id already seen for another tenant does not hide this delivery', async () => {
      const other = await makeTenant(w.t);
      await w.t.ctx.db.pool.query(
        `INSERT INTO shopify_webhook_inbox (webhook_id, tenant_id, topic, payload, received_at, processed_at) VALUES ('shared-id', $1, 'customers/update', '{}', now(), now())`,
        [other.id],
      );
      const c = linkedCustomer(w, friends, () => true, 3);
      const res = await w.deliverWebhook('customers/update', { id: c.id, admin_graphql_api_id: `gid://shopify/Customer/${c.id}` }, { webhookId: 'shared-id' });
      expect(res.json()).toEqual({ ok: true, duplicate: false });
      expect(await drain(w)).toBe(1);
    });
  });

  describe('applied to the mirror and linked friends', () => {
    it('customers/create: a new customer with a friend’s email is mirrored and linked at once', async () => {
      const friendId = await w.addFriend('New.Shopper@Example.jp');
      w.h.shop.upsertCustomer({ firstName: '新規', lastName: '顧客', email: 'new.shopper@example.jp', verifiedEmail: true, tags: ['初回'] });
      await w.h.shop.webhooksIdle();
      expect((await inbox(w)).filter((r) => !r.processed_at).map((r) => r.topic)).toEqual(['customers/create']);
      await drain(w);
      expect(await w.values(friendId)).toMatchObject({ first_name: '新規', last_name: '顧客', tags: '初回', email: 'new.shopper@example.jp' });
    });

    it('customers/update: re-read from Shopify, so what the payload lacks (tags) arrives too', async () => {
      const c = linkedCustomer(w, friends, () => true, 1);
      w.h.shop.changeCustomer(c.id, { tags: ['VIP', '春'], note: '<p>メモ</p> 🌸', firstName: '更新' });
      await w.h.shop.webhooksIdle();
      const body = JSON.parse(w.h.shop.webhookDeliveries().at(-1)!.body);
      expect(body.tags).toBeUndefined();
      await drain(w);
      expect(await w.values(c.friendId)).toMatchObject({ tags: 'VIP,春', note: '<p>メモ</p> 🌸', first_name: '更新' });
    });

    it('consent updates (email and SMS) reach the friend', async () => {
      const c = linkedCustomer(w, friends, (x) => !!x.phone && x.emailMarketing?.state !== 'UNSUBSCRIBED' && x.smsMarketing?.state !== 'SUBSCRIBED', 0);
      w.h.shop.changeCustomer(c.id, { emailMarketing: { state: 'UNSUBSCRIBED' }, smsMarketing: { state: 'SUBSCRIBED' } });
      await w.h.shop.webhooksIdle();
      const topics = (await inbox(w)).filter((r) => !r.processed_at).map((r) => r.topic).sort();
      expect(topics).toEqual(['customers/update', 'customers_email_marketing_consent/update', 'customers_marketing_consent/update']);
      await drain(w);
      expect(await w.values(c.friendId)).toMatchObject({ email_marketing_consent: '配信停止', sms_marketing_consent: '同意済み' });
    });

    it('customers/purchasing_summary: orders, totals and 最終注文ID', async () => {
      const c = linkedCustomer(w, friends, (x) => x.numberOfOrders === 1 && x.currencyCode === 'JPY');
      const before = w.h.shop.customer(c.id)!;
      w.h.shop.changeCustomer(c.id, { numberOfOrders: 2, amountSpent: String(Number(before.amountSpent) + 3001), lastOrder: { id: 8_800_000_001, name: '#8801' } });
      await w.h.shop.webhooksIdle();
      await drain(w);
      expect(await w.values(c.friendId)).toMatchObject({
        orders_count: '2',
        total_spent: String(Number(before.amountSpent) + 3001),
        average_order_amount: String(Math.round((Number(before.amountSpent) + 3001) / 2)),
        last_order_id: '8800000001',
      });
    });

    it('customers/delete: the customer is marked deleted, the link marked, the imported values kept', async () => {
      const c = linkedCustomer(w, friends, () => true, 5);
      const kept = await w.values(c.friendId);
      expect(kept.customer_id).toBe(String(c.id));
      w.h.shop.deleteCustomer(c.id);
      await w.h.shop.webhooksIdle();
      await drain(w);
      const { rows } = await w.t.ctx.db.pool.query(
        `SELECT c.deleted_at IS NOT NULL AS gone, l.customer_deleted_at IS NOT NULL AS link_gone
         FROM shopify_customers c JOIN shopify_links l ON l.customer_id = c.customer_id WHERE c.customer_id = $1`,
        [c.id],
      );
      expect(rows).toEqual([{ gone: true, link_gone: true }]);
      expect(await w.values(c.friendId)).toEqual(kept);
      // A late update for the deleted customer (Shopify retries for hours) does not bring it back.
      await w.deliverWebhook('customers/update', { id: c.id, admin_graphql_api_id: `gid://shopify/Customer/${c.id}` });
      await drain(w);
      const after = await w.t.ctx.db.pool.query(`SELECT deleted_at IS NOT NULL AS gone FROM shopify_customers WHERE customer_id = $1`, [c.id]);
      expect(after.rows[0].gone).toBe(true);
    });
  });

  describe('older deliveries never overwrite newer data', () => {
    it('two updates delivered in reverse order: the friend ends with the newest values', async () => {
      const c = linkedCustomer(w, friends, () => true, 6);
      w.h.shop.holdWebhooks();
      w.h.shop.changeCustomer(c.id, { note: '一回目' });
      w.h.clock.advance(5000);
      w.h.shop.changeCustomer(c.id, { note: '二回目' });
      const released = await w.h.shop.releaseWebhooks('reverse');
      expect(released.map((d) => JSON.parse(d.body).note)).toEqual(['二回目', '一回目']);
      // Applied one at a time in the order they came.
      for (let i = 0; i < released.length; i++) await drainWebhooks(w.t.ctx, w.tenant.id);
      expect((await w.values(c.friendId)).note).toBe('二回目');
    });

    it('a purchasing summary delivered late, after a sync read a newer order, does not bring back the older order', async () => {
      const c = linkedCustomer(w, friends, (x) => x.numberOfOrders >= 1, 2);
      const start = w.h.shop.customer(c.id)!;
      w.h.shop.holdWebhooks();
      w.h.shop.changeCustomer(c.id, { numberOfOrders: start.numberOfOrders + 1, lastOrder: { id: 8_800_000_101, name: '#A' } });
      w.h.clock.advance(60_000);
      // The second order's webhooks are lost; the nightly run reads it.
      w.h.shop.changeCustomer(c.id, { numberOfOrders: start.numberOfOrders + 2, lastOrder: { id: 8_800_000_102, name: '#B' } }, { silent: true });
      w.h.clock.advance(3600_000);
      expect((await w.sync('incremental')).status).toBe('succeeded');
      expect((await w.values(c.friendId)).last_order_id).toBe('8800000102');
      // Shopify's retries of the first order's webhooks arrive hours later.
      w.h.clock.advance(3600_000);
      await w.h.shop.releaseWebhooks();
      await drain(w);
      expect(await w.values(c.friendId)).toMatchObject({ last_order_id: '8800000102', orders_count: String(start.numberOfOrders + 2) });
    });

    it('an update whose purchasing summary never arrives still brings the new 最終注文ID', async () => {
      const c = linkedCustomer(w, friends, (x) => x.numberOfOrders >= 1, 3);
      const start = w.h.shop.customer(c.id)!;
      w.h.shop.changeCustomer(c.id, { numberOfOrders: start.numberOfOrders + 1, lastOrder: { id: 8_800_000_201, name: '#C' } }, { silent: true });
      await w.h.shop.sendWebhook('customers/update', c.id);
      await w.h.shop.webhooksIdle();
      await drain(w);
      expect(await w.values(c.friendId)).toMatchObject({ last_order_id: '8800000201', orders_count: String(start.numberOfOrders + 1) });
      // And the next nightly run keeps it.
      w.h.clock.advance(3600_000);
      await w.sync('incremental');
      expect((await w.values(c.friendId)).last_order_id).toBe('8800000201');
    });
  });

  describe('after 連携を解除', () => {
    it('deliveries are acknowledged and ignored', async () => {
      const c = linkedCustomer(w, friends, () => true, 7);
      const before = await w.values(c.friendId);
      await unlinkIntegration(w.t.ctx, w.tenant);
      forgetWebhookTarget(w.tenant.id);
      const res = await w.deliverWebhook('customers/update', { id: c.id, admin_graphql_api_id: `gid://shopify/Customer/${c.id}` });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ ignored: true });
      w.h.shop.changeCustomer(c.id, { note: '解除後' }, { silent: true });
      await drain(w);
      expect(await w.values(c.friendId)).toEqual(before);
    });
  });
});

describe('webhooks when read_orders is taken away', () => {
  it('a customer re-read for a webhook keeps its 最終注文ID although Shopify denies lastOrder', async () => {
    const w = await syncWorld({ shopify: { customers: 30, seed: 52, scopes: ['read_customers', 'read_orders'] } });
    try {
      const friends = await w.addGeneratedFriends(30);
      await w.issue('client_credentials');
      await w.link();
      expect((await w.sync('full')).status).toBe('succeeded');
      const c = linkedCustomer(w, friends, (x) => x.numberOfOrders >= 1);
      const lastOrder = (await w.values(c.friendId)).last_order_id;
      expect(lastOrder).toBeTruthy();
      w.h.shop.setScopes(['read_customers']);
      w.h.shop.changeCustomer(c.id, { note: '権限変更後' }, { silent: true });
      const res = await w.deliverWebhook('customers/update', { id: c.id, admin_graphql_api_id: `gid://shopify/Customer/${c.id}` });
      expect(res.statusCode).toBe(200);
      await drain(w);
      expect(await w.values(c.friendId)).toMatchObject({ note: '権限変更後', last_order_id: lastOrder });
    } finally {
      await w.close();
    }
  });
});
