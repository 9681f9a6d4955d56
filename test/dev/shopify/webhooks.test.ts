// Outgoing webhooks: subscriptions through GraphQL and the scenario API, payloads shaped like Shopify's samples, headers,
// an HMAC verifiable with the shop's secret, duplicates, out-of-order delivery, failures and retries.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';

const sample = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: any;
}

let h: Harness;
let receiver: Server;
let base: string;
let received: Received[] = [];
let answer: (r: Received) => number | null = () => 200;

beforeAll(async () => {
  h = await harness({ customers: 20, seed: 4, webhookTimeoutMs: 300 });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const r = { path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')) };
      received.push(r);
      const status = answer(r);
      if (status === null) return; // never answer
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await h.fake.close();
  receiver.closeAllConnections();
  await new Promise((r) => receiver.close(r));
});
beforeEach(() => {
  received = [];
  answer = () => 200;
});

const CREATE = `mutation Create($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: { uri: $uri, format: JSON }) {
    webhookSubscription { id topic uri format apiVersion { handle } }
    userErrors { field message }
  }
}`;

function verify(r: Received, secret: string): boolean {
  const expected = createHmac('sha256', secret).update(r.raw).digest();
  const got = Buffer.from(String(r.headers['x-shopify-hmac-sha256']), 'base64');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

const keys = (o: object) => Object.keys(o).sort();

describe('subscriptions', () => {
  it('webhookSubscriptionCreate / webhookSubscriptions / webhookSubscriptionDelete', async () => {
    const topics = ['CUSTOMERS_CREATE', 'CUSTOMERS_UPDATE', 'CUSTOMERS_DELETE', 'CUSTOMERS_PURCHASING_SUMMARY', 'CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE', 'CUSTOMERS_MARKETING_CONSENT_UPDATE', 'BULK_OPERATIONS_FINISH'];
    for (const topic of topics) {
      const res = await h.gql(CREATE, { topic, uri: `${base}/hooks/${topic.toLowerCase()}` });
      expect(res.body.data.webhookSubscriptionCreate.userErrors).toEqual([]);
      expect(res.body.data.webhookSubscriptionCreate.webhookSubscription).toMatchObject({ topic, format: 'JSON', apiVersion: { handle: '2026-04' } });
    }
    const again = await h.gql(CREATE, { topic: 'CUSTOMERS_UPDATE', uri: `${base}/hooks/customers_update` });
    expect(again.body.data.webhookSubscriptionCreate).toEqual({ webhookSubscription: null, userErrors: [{ field: ['webhookSubscription', 'callbackUrl'], message: 'Address for this topic has already been taken' }] });
    const plainHttp = await h.gql(CREATE, { topic: 'CUSTOMERS_UPDATE', uri: 'http://example.com/hooks' });
    expect(plainHttp.body.data.webhookSubscriptionCreate.userErrors[0].message).toMatch(/http/);

    const list = await h.gql('query($uri: String) { webhookSubscriptions(first: 50, uri: $uri) { nodes { id topic uri } } }', { uri: `${base}/hooks/customers_update` });
    expect(list.body.data.webhookSubscriptions.nodes).toHaveLength(1);
    const all = await h.gql('{ webhookSubscriptions(first: 50) { nodes { id topic } } }');
    expect(all.body.data.webhookSubscriptions.nodes.map((n: { topic: string }) => n.topic)).toEqual(topics);

    const extra = await h.gql(CREATE, { topic: 'CUSTOMERS_DISABLE', uri: `${base}/hooks/extra` });
    const id = extra.body.data.webhookSubscriptionCreate.webhookSubscription.id;
    const del = await h.gql('mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } } }', { id });
    expect(del.body.data.webhookSubscriptionDelete).toEqual({ deletedWebhookSubscriptionId: id, userErrors: [] });
    const twice = await h.gql('mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } } }', { id });
    expect(twice.body.data.webhookSubscriptionDelete.userErrors).toHaveLength(1);
  });
});

describe('deliveries', () => {
  it('customers/update: Shopify headers, payload like the sample, HMAC verifiable with the shop secret', async () => {
    const id = h.shop.store.generator.idOf(3);
    h.clock.advance(5000);
    const changed = h.shop.changeCustomer(id, { firstName: '花子', note: 'メモ 📝\n<b>太字</b>' });
    await h.shop.webhooksIdle();
    expect(received).toHaveLength(1);
    const r = received[0];
    expect(r.path).toBe('/hooks/customers_update');
    expect(r.headers['x-shopify-topic']).toBe('customers/update');
    expect(r.headers['x-shopify-shop-domain']).toBe('kizuna-dev.myshopify.com');
    expect(r.headers['x-shopify-api-version']).toBe('2026-04');
    expect(r.headers['x-shopify-webhook-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers['x-shopify-event-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers['x-shopify-triggered-at']).toBe('2026-04-01T00:00:05.000000Z');
    expect(r.headers['content-type']).toBe('application/json');
    expect(verify(r, h.shop.credentials().clientSecret)).toBe(true);
    expect(verify(r, 'shpss_not_the_secret')).toBe(false);
    expect(keys(r.body)).toEqual(keys(sample('customers_update.json')));
    expect(r.body).toMatchObject({ id, first_name: '花子', note: 'メモ 📝\n<b>太字</b>', admin_graphql_api_id: `gid://shopify/Customer/${id}` });
    // updatedAt moved forward on the fake's clock.
    expect(changed.updatedAt).toBe(h.clock.now());
    expect(Date.parse(r.body.updated_at)).toBe(h.clock.now());
  });

  it('consent and purchasing-summary topics fire when those parts change, shaped like the samples', async () => {
    const id = h.shop.store.generator.idOf(0); // has email and phone, both SUBSCRIBED
    h.clock.advance(1000);
    h.shop.changeCustomer(id, {
      emailMarketing: { state: 'UNSUBSCRIBED' },
      smsMarketing: { state: 'PENDING' },
      numberOfOrders: 9,
      amountSpent: '45600',
      lastOrder: { id: 5_500_000_999_999, name: '#9999' },
    });
    await h.shop.webhooksIdle();
    const byTopic = Object.fromEntries(received.map((r) => [r.headers['x-shopify-topic'], r.body]));
    expect(Object.keys(byTopic).sort()).toEqual(['customers/purchasing_summary', 'customers/update', 'customers_email_marketing_consent/update', 'customers_marketing_consent/update']);
    const email = byTopic['customers_email_marketing_consent/update'];
    expect(keys(email)).toEqual(keys(sample('customers_email_marketing_consent_update.json')));
    expect(keys(email.email_marketing_consent)).toEqual(keys(sample('customers_email_marketing_consent_update.json').email_marketing_consent));
    expect(email).toMatchObject({ customer_id: id, email_marketing_consent: { state: 'unsubscribed' } });
    const sms = byTopic['customers_marketing_consent/update'];
    expect(keys(sms.sms_marketing_consent)).toEqual(keys(sample('customers_marketing_consent_update.json').sms_marketing_consent));
    expect(sms.sms_marketing_consent.state).toBe('pending');
    const summary = byTopic['customers/purchasing_summary'];
    expect(keys(summary)).toEqual(keys(sample('customers_purchasing_summary.json')));
    expect(summary).toEqual({
      customerId: `gid://shopify/Customer/${id}`,
      numberOfOrders: 9,
      amountSpent: { amount: '45600.00', currencyCode: 'JPY' },
      lastOrderId: 'gid://shopify/Order/5500000999999',
      occurredAt: new Date(h.clock.now()).toISOString(),
    });
  });

  it('customers/create on a new customer, customers/delete on deletion', async () => {
    const c = h.shop.upsertCustomer({ firstName: '新', lastName: '規', email: 'New.Customer@Example.jp' });
    expect(h.shop.deleteCustomer(c.id)).toBe(true);
    await h.shop.webhooksIdle();
    expect(received.map((r) => r.headers['x-shopify-topic'])).toEqual(['customers/create', 'customers/delete']);
    expect(keys(received[0].body)).toEqual(keys(sample('customers_create.json')));
    expect(received[0].body.email).toBe('New.Customer@Example.jp');
    expect(received[1].body).toEqual({ id: c.id, tax_exemptions: [], admin_graphql_api_id: `gid://shopify/Customer/${c.id}` });
    expect(keys(received[1].body)).toEqual(keys(sample('customers_delete.json')));
    expect(h.shop.customer(c.id)).toBeUndefined();
  });

  it('sendWebhook: explicit deliveries, to subscribers or one URL, duplicated on request (same webhook id)', async () => {
    const id = h.shop.store.generator.idOf(5);
    const deliveries = await h.shop.sendWebhook('customers/update', id, { duplicate: true });
    expect(deliveries).toHaveLength(2);
    expect(received).toHaveLength(2);
    expect(received[0].headers['x-shopify-webhook-id']).toBe(received[1].headers['x-shopify-webhook-id']);
    expect(deliveries.map((d) => d.duplicate)).toEqual([false, true]);
    await h.shop.sendWebhook('customers/update', { id: 1, custom: 'payload ✓' }, { url: `${base}/elsewhere` });
    expect(received[2]).toMatchObject({ path: '/elsewhere', body: { id: 1, custom: 'payload ✓' } });
    expect(verify(received[2], h.shop.credentials().clientSecret)).toBe(true);
  });

  it('out of order: held deliveries released in reverse; a delayed one is overtaken', async () => {
    const id = h.shop.store.generator.idOf(6);
    h.shop.holdWebhooks();
    h.clock.advance(1000);
    h.shop.changeCustomer(id, { note: 'first' });
    h.clock.advance(1000);
    h.shop.changeCustomer(id, { note: 'second' });
    await h.shop.webhooksIdle();
    expect(received).toHaveLength(0);
    await h.shop.releaseWebhooks('reverse');
    expect(received.map((r) => r.body.note)).toEqual(['second', 'first']);
    expect(Date.parse(received[0].body.updated_at)).toBeGreaterThan(Date.parse(received[1].body.updated_at));

    received = [];
    void h.shop.sendWebhook('customers/update', { seq: 1 }, { url: `${base}/late`, delayMs: 80 });
    void h.shop.sendWebhook('customers/update', { seq: 2 }, { url: `${base}/late` });
    await h.shop.webhooksIdle();
    expect(received.map((r) => r.body.seq)).toEqual([2, 1]);
  });

  it('records every attempt; failed and timed-out deliveries are retried with the same webhook id', async () => {
    answer = (r) => (r.path === '/hooks/customers_update' ? 500 : 200);
    const id = h.shop.store.generator.idOf(7);
    h.clock.advance(1000);
    h.shop.changeCustomer(id, { note: 'will fail first' });
    await h.shop.webhooksIdle();
    const failed = h.shop.webhookDeliveries().at(-1)!;
    expect(failed).toMatchObject({ topic: 'customers/update', status: 500, ok: false, error: 'HTTP 500', attempt: 1 });

    answer = () => 200;
    const retried = await h.shop.retryFailedWebhooks();
    expect(retried).toHaveLength(1);
    expect(retried[0]).toMatchObject({ webhookId: failed.webhookId, eventId: failed.eventId, attempt: 2, ok: true, status: 200 });

    answer = () => null; // the receiver hangs
    await h.shop.sendWebhook('customers/update', { slow: true }, { url: `${base}/slow` });
    expect(h.shop.webhookDeliveries().at(-1)).toMatchObject({ ok: false, status: null, error: 'timeout after 300 ms' });
  });

  it('bulk_operations/finish reaches its subscriber', async () => {
    const res = await h.gql('mutation { bulkOperationRunQuery(query: "{ customers { edges { node { id } } } }", groupObjects: false) { bulkOperation { id } } }');
    await h.shop.bulkIdle();
    await h.shop.webhooksIdle();
    const finish = received.find((r) => r.headers['x-shopify-topic'] === 'bulk_operations/finish')!;
    expect(finish.body).toMatchObject({ admin_graphql_api_id: res.body.data.bulkOperationRunQuery.bulkOperation.id, status: 'completed', type: 'query', error_code: null });
    expect(keys(finish.body)).toEqual(keys(sample('bulk_operations_finish.json')));
  });

  it('subscriptions made through the scenario API receive too', async () => {
    h.shop.subscribeWebhook('customers/delete', `${base}/scenario`);
    h.shop.deleteCustomer(h.shop.store.generator.idOf(8));
    await h.shop.webhooksIdle();
    expect(received.map((r) => r.path).sort()).toEqual(['/hooks/customers_delete', '/scenario']);
  });
});
