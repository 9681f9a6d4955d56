// The client-credentials grant (tokens that expire on the fake's clock) and several shops on one server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness({
    shops: [
      { domain: 'kizuna-dev', customers: 30, seed: 1 },
      { domain: 'other-store.myshopify.com', customers: 5, seed: 2, currencyCode: 'USD', timeZone: 'America/New_York', accessToken: null },
    ],
  });
});
afterAll(() => h.fake.close());

async function grant(body: Record<string, string>, opts: { json?: boolean; shop?: string } = {}) {
  const res = await fetch(`${h.fake.origin}/admin/oauth/access_token`, {
    method: 'POST',
    headers: {
      'Content-Type': opts.json ? 'application/json' : 'application/x-www-form-urlencoded',
      'X-Shopify-Shop-Domain': opts.shop ?? 'kizuna-dev.myshopify.com',
    },
    body: opts.json ? JSON.stringify(body) : new URLSearchParams(body).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const Q = '{ shop { name myshopifyDomain currencyCode ianaTimezone } customersCount { count } }';

describe('client credentials grant', () => {
  const creds = () => {
    const c = h.fake.shop('kizuna-dev').credentials();
    return { client_id: c.clientId, client_secret: c.clientSecret, grant_type: 'client_credentials' };
  };

  it('issues a token (form body) valid for 24 h: expires_in 86399, then 401 on the clock', async () => {
    const res = await grant(creds());
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'scope']);
    expect(res.body).toMatchObject({ scope: 'read_customers', expires_in: 86399 });
    const token = res.body.access_token as string;
    expect(token).toMatch(/^shpat_[0-9a-f]{32}$/);
    expect((await h.gql(Q, {}, { token })).body.data.customersCount.count).toBe(30);
    h.clock.advance(86_398_000);
    expect((await h.gql(Q, {}, { token })).status).toBe(200);
    h.clock.advance(1000);
    const expired = await h.gql(Q, {}, { token });
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({ errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
    // The shop's long-lived token does not expire.
    expect((await h.gql(Q)).status).toBe(200);
  });

  it('accepts a JSON body; a shorter lifetime can be requested through the scenario API', async () => {
    h.fake.shop('kizuna-dev').setTokenLifetime(60);
    try {
      const res = await grant(creds(), { json: true });
      expect(res.body.expires_in).toBe(60);
      const token = res.body.access_token as string;
      h.clock.advance(59_000);
      expect((await h.gql(Q, {}, { token })).status).toBe(200);
      h.clock.advance(1000);
      expect((await h.gql(Q, {}, { token })).status).toBe(401);
    } finally {
      h.fake.shop('kizuna-dev').setTokenLifetime(86399);
    }
  });

  it('the granted scope follows the installation', async () => {
    h.fake.shop('kizuna-dev').setScopes(['read_customers', 'read_orders']);
    expect((await grant(creds())).body.scope).toBe('read_customers,read_orders');
    h.fake.shop('kizuna-dev').setScopes(['read_customers']);
  });

  it('refuses a wrong secret (401 invalid_client), an unknown app (400), another grant type and missing fields (400)', async () => {
    const wrongSecret = await grant({ ...creds(), client_secret: 'shpss_wrong' });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.body.error).toBe('invalid_client');
    const wrongApp = await grant({ ...creds(), client_id: 'nope' });
    expect(wrongApp.status).toBe(400);
    expect(wrongApp.body.error).toBe('app_not_installed');
    expect((await grant({ ...creds(), grant_type: 'authorization_code' })).body.error).toBe('unsupported_grant_type');
    expect((await grant({ client_id: creds().client_id })).status).toBe(400);
    // Credentials of one shop are not valid on another.
    expect((await grant(creds(), { shop: 'other-store.myshopify.com' })).status).toBe(400);
  });
});

describe('several shops on one server', () => {
  it('tells shops apart by X-Shopify-Shop-Domain, each with its own data, settings and tokens', async () => {
    const other = h.fake.shop('other-store');
    expect(other.credentials().accessToken).toBeNull();
    const { access_token } = other.issueToken();
    const a = await h.gql(Q);
    const b = await h.gql(Q, {}, { shop: 'other-store', token: access_token });
    expect(a.body.data).toEqual({ shop: { name: 'kizuna-dev', myshopifyDomain: 'kizuna-dev.myshopify.com', currencyCode: 'JPY', ianaTimezone: 'Asia/Tokyo' }, customersCount: { count: 30 } });
    expect(b.body.data).toEqual({ shop: { name: 'other-store', myshopifyDomain: 'other-store.myshopify.com', currencyCode: 'USD', ianaTimezone: 'America/New_York' }, customersCount: { count: 5 } });
    // A token is valid for its own shop only, and each shop has its own bucket.
    expect((await h.gql(Q, {}, { shop: 'other-store' })).status).toBe(401);
    expect((await h.gql(Q, {}, { token: access_token })).status).toBe(401);
    expect(b.body.extensions.cost.throttleStatus.currentlyAvailable).toBe(1998);
  });

  it('adds and removes shops at run time', async () => {
    const added = h.fake.addShop({ domain: 'pop-up', customers: 3 });
    expect((await h.gql(Q, {}, { shop: 'pop-up', token: added.credentials().accessToken! })).body.data.customersCount.count).toBe(3);
    expect(h.fake.removeShop('pop-up')).toBe(true);
    const gone = await fetch(`${h.fake.origin}/admin/api/2026-04/graphql.json`, {
      method: 'POST',
      headers: { 'X-Shopify-Shop-Domain': 'pop-up.myshopify.com', 'X-Shopify-Access-Token': 'x', 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: Q }),
    });
    expect(gone.status).toBe(404);
  });
});
