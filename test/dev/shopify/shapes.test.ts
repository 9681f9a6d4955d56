// Customers in Shopify's GraphQL shapes, from hand-made customers served with serveCustomers / upsertCustomer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness({ scopes: ['read_customers', 'read_orders'] });
  h.shop.serveCustomers([
    {
      id: 123,
      firstName: '太郎',
      lastName: '山田',
      email: 'Taro.Yamada@Example.JP',
      verifiedEmail: true,
      emailMarketing: { state: 'SUBSCRIBED', optInLevel: 'CONFIRMED_OPT_IN', updatedAt: '2025-05-01T09:30:00+09:00' },
      phone: '+819012345678',
      smsMarketing: { state: 'UNSUBSCRIBED' },
      state: 'ENABLED',
      numberOfOrders: 3,
      amountSpent: '12800',
      lastOrder: { id: 4500, name: '#1004' },
      tags: ['VIP', 'リピーター'],
      note: '配送は午前中 🚚\n<b>重要</b>',
      addresses: [{ company: '株式会社サンプル', zip: '150-0041', province: 'Tokyo', provinceCode: 'JP-13', city: '渋谷区', address1: '神南1-2-3', address2: 'サンプルビル5F' }],
      createdAt: '2024-01-02T03:04:05Z',
      updatedAt: '2025-06-07T08:09:10Z',
    },
    { id: 124, state: 'DISABLED', currencyCode: 'USD', amountSpent: '199.5', numberOfOrders: 1, createdAt: '2024-02-01T00:00:00Z' },
  ]);
});
afterAll(() => h.fake.close());

const FIELDS = `
  id legacyResourceId firstName lastName email phone verifiedEmail state numberOfOrders note tags createdAt updatedAt displayName
  amountSpent { amount currencyCode }
  defaultEmailAddress { emailAddress marketingState marketingUpdatedAt marketingOptInLevel }
  defaultPhoneNumber { phoneNumber marketingState }
  defaultAddress { company zip province provinceCode city address1 address2 countryCodeV2 }
  lastOrder { id legacyResourceId name }`;

describe('customer shapes', () => {
  it('gids, UnsignedInt64 and Decimal as strings, UTC DateTimes, nested objects as Shopify gives them', async () => {
    const res = await h.gql(`{ customer(id: "gid://shopify/Customer/123") { ${FIELDS} } }`);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.customer).toEqual({
      id: 'gid://shopify/Customer/123',
      legacyResourceId: '123',
      firstName: '太郎',
      lastName: '山田',
      email: 'Taro.Yamada@Example.JP',
      phone: '+819012345678',
      verifiedEmail: true,
      state: 'ENABLED',
      numberOfOrders: '3',
      note: '配送は午前中 🚚\n<b>重要</b>',
      tags: ['VIP', 'リピーター'],
      createdAt: '2024-01-02T03:04:05Z',
      updatedAt: '2025-06-07T08:09:10Z',
      displayName: '太郎 山田',
      amountSpent: { amount: '12800.0', currencyCode: 'JPY' },
      defaultEmailAddress: { emailAddress: 'Taro.Yamada@Example.JP', marketingState: 'SUBSCRIBED', marketingUpdatedAt: '2025-05-01T00:30:00Z', marketingOptInLevel: 'CONFIRMED_OPT_IN' },
      defaultPhoneNumber: { phoneNumber: '+819012345678', marketingState: 'UNSUBSCRIBED' },
      defaultAddress: { company: '株式会社サンプル', zip: '150-0041', province: 'Tokyo', provinceCode: 'JP-13', city: '渋谷区', address1: '神南1-2-3', address2: 'サンプルビル5F', countryCodeV2: 'JP' },
      lastOrder: { id: 'gid://shopify/Order/4500', legacyResourceId: '4500', name: '#1004' },
    });
  });

  it('a bare customer: nulls where Shopify has nulls, another currency, no last order', async () => {
    const res = await h.gql(`{ customer(id: "gid://shopify/Customer/124") { ${FIELDS} } }`);
    expect(res.body.data.customer).toMatchObject({
      email: null,
      phone: null,
      verifiedEmail: false,
      defaultEmailAddress: null,
      defaultPhoneNumber: null,
      defaultAddress: null,
      lastOrder: null,
      note: null,
      tags: [],
      firstName: null,
      displayName: '',
      amountSpent: { amount: '199.5', currencyCode: 'USD' },
    });
  });

  it('unknown or foreign ids find nothing; malformed ids are an error', async () => {
    const res = await h.gql('{ a: customer(id: "gid://shopify/Customer/999") { id } b: customer(id: "gid://shopify/Order/123") { id } }');
    expect(res.body.data).toEqual({ a: null, b: null });
    const bad = await h.gql('{ customer(id: "123") { id } }');
    expect(bad.body.errors[0].message).toBe("Invalid global id '123'");
  });

  it('a field the fake does not serve is an explicit error, not a silent null', async () => {
    const res = await h.gql('{ customer(id: "gid://shopify/Customer/123") { id image { url } } }');
    expect(res.body.errors[0]).toMatchObject({ message: 'The development Shopify does not serve Customer.image.', extensions: { code: 'FAKE_SHOPIFY_NOT_IMPLEMENTED' } });
  });

  it('upsertCustomer adds after the served ones; changeCustomer moves updatedAt forward even when the clock stands still', async () => {
    const added = h.shop.upsertCustomer({ firstName: '次郎', email: 'jiro@example.jp' });
    expect(added.id).toBeGreaterThan(124);
    expect(added.createdAt).toBe(h.clock.now());
    const once = h.shop.changeCustomer(added.id, { note: 'a' });
    const twice = h.shop.changeCustomer(`gid://shopify/Customer/${added.id}`, { note: 'b' });
    expect(once.updatedAt).toBe(added.updatedAt + 1000);
    expect(twice.updatedAt).toBe(once.updatedAt + 1000);
    const byUpdate = await h.gql('{ customers(first: 5, sortKey: UPDATED_AT) { nodes { legacyResourceId note } } }');
    expect(byUpdate.body.data.customers.nodes.map((n: { legacyResourceId: string }) => n.legacyResourceId)).toEqual(['124', '123', String(added.id)]);
    expect(() => h.shop.changeCustomer(999, { note: 'x' })).toThrow(/no customer 999/);
  });
});
