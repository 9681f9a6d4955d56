// Every fault the fake can inject, and the refusals Shopify itself gives: transport faults armed by count, shop states,
// bad or revoked tokens, unknown shops, and ACCESS_DENIED on fields outside the granted scopes.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, shapeOf, VERSION, type Harness } from './helpers.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const UNAUTHORIZED = { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' };
const Q = '{ customers(first: 2) { nodes { id } } }';

let h: Harness;
beforeAll(async () => {
  h = await harness({ customers: 50, seed: 5 });
});
afterAll(() => h.fake.close());

function raw(init: RequestInit & { path?: string; shop?: string; token?: string | null } = {}) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (init.shop !== '') headers['X-Shopify-Shop-Domain'] = init.shop ?? h.shop.domain;
  if (init.token !== null) headers['X-Shopify-Access-Token'] = init.token ?? h.shop.credentials().accessToken!;
  return fetch(`${h.fake.origin}${init.path ?? `/admin/api/${VERSION}/graphql.json`}`, {
    method: init.method ?? 'POST',
    headers,
    body: init.method === 'GET' ? undefined : (init.body ?? JSON.stringify({ query: Q })),
    signal: init.signal,
  });
}

describe('transport faults, armed by count', () => {
  it('5xx: a JSON 500, then an HTML 503 with Retry-After; the count is honoured and then the API answers again', async () => {
    h.shop.failNext({ kind: '5xx', count: 2 });
    h.shop.failNext({ kind: '5xx', status: 503, retryAfter: 7 });
    for (let i = 0; i < 2; i++) {
      const res = await raw();
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ errors: 'Internal Server Error' });
    }
    const html = await raw();
    expect(html.status).toBe(503);
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    expect(html.headers.get('retry-after')).toBe('7');
    expect((await h.gql(Q)).status).toBe(200);
    expect(h.shop.pendingFaults()).toEqual([]);
  });

  it('429 with Retry-After (seconds)', async () => {
    h.shop.failNext({ kind: '429', retryAfter: 3 });
    const res = await raw();
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect((await res.json()).errors).toBeTruthy();
    h.shop.failNext({ kind: '429', on: 'rest' });
    expect((await h.gql(Q)).status).toBe(200); // GraphQL unaffected by a REST-only fault
    const rest = await h.rest('/customers.json?limit=1');
    expect(rest.status).toBe(429);
    expect(rest.headers.get('retry-after')).toBe('2');
    expect(rest.body).toEqual({ errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' });
  });

  it('timeout: the request is never answered; the client gives up', async () => {
    h.shop.failNext({ kind: 'timeout' });
    await expect(raw({ signal: AbortSignal.timeout(300) })).rejects.toThrow(/aborted|timeout/i);
    expect((await h.gql(Q)).status).toBe(200);
  });

  it('malformed: HTTP 200 with a body that is not JSON', async () => {
    h.shop.failNext({ kind: 'malformed' });
    const res = await raw();
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(() => JSON.parse(text)).toThrow();
  });

  it('reset: the connection is torn down without an answer', async () => {
    h.shop.failNext({ kind: 'reset' });
    await expect(raw()).rejects.toThrow(/fetch failed/);
    expect((await h.gql(Q)).status).toBe(200);
  });

  it('faults can target the token endpoint only', async () => {
    h.shop.failNext({ kind: '5xx', status: 502, on: 'oauth' });
    expect((await h.gql(Q)).status).toBe(200);
    const c = h.shop.credentials();
    const res = await raw({ path: '/admin/oauth/access_token', token: null, body: new URLSearchParams({ client_id: c.clientId, client_secret: c.clientSecret, grant_type: 'client_credentials' }).toString() });
    expect(res.status).toBe(502);
  });

  it('the request log records faulted requests', async () => {
    h.shop.clearRequests();
    h.shop.failNext({ kind: '5xx' });
    await raw();
    expect(h.shop.requests()[0]).toMatchObject({ route: 'graphql', status: 500, fault: '5xx' });
  });
});

describe('shop states and credentials', () => {
  it('402 (frozen) and 423 (locked) answer "Unavailable Shop" on GraphQL and REST until reopened', async () => {
    for (const status of [402, 423] as const) {
      h.shop.setShopStatus(status);
      const res = await raw();
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual({ errors: 'Unavailable Shop' });
      expect((await h.rest('/customers.json')).status).toBe(status);
    }
    h.shop.setShopStatus(null);
    expect((await h.gql(Q)).status).toBe(200);
  });

  it('a wrong, missing or revoked token gets Shopify\'s 401 body', async () => {
    const wrong = await raw({ token: 'shpat_00000000000000000000000000000000' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual(UNAUTHORIZED);
    const missing = await raw({ token: null });
    expect(missing.status).toBe(401);

    const { access_token } = h.shop.issueToken();
    expect((await h.gql(Q, {}, { token: access_token })).status).toBe(200);
    h.shop.revokeToken(access_token);
    expect((await h.gql(Q, {}, { token: access_token })).status).toBe(401);
    expect((await h.gql(Q)).status).toBe(200); // only that token

    h.shop.revokeToken(); // all of them, the shop's long-lived token included
    const revoked = await raw();
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toEqual(UNAUTHORIZED);
    expect((await h.rest('/customers.json')).status).toBe(401);
  });

  it('an unknown shop, or no shop header, is a 404 "Not Found"', async () => {
    const res = await raw({ shop: 'no-such-shop.myshopify.com' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ errors: 'Not Found' });
    expect((await raw({ shop: '' })).status).toBe(404);
  });
});

describe('access scopes', () => {
  let token: string;
  beforeAll(() => {
    token = h.shop.issueToken().access_token;
  });
  const CUSTOMER = '{ customers(first: 3) { nodes { id legacyResourceId email lastOrder { id legacyResourceId name } } } }';

  it('lastOrder without read_orders: ACCESS_DENIED on that field, the rest of the data returned', async () => {
    const res = await h.gql(CUSTOMER, {}, { token });
    expect(res.status).toBe(200);
    expect(res.body.data.customers.nodes).toHaveLength(3);
    expect(res.body.data.customers.nodes[0]).toMatchObject({ id: expect.stringMatching(/^gid:\/\/shopify\/Customer\/\d+$/), lastOrder: null });
    expect(res.body.errors).toHaveLength(3);
    expect(res.body.errors[0]).toEqual({
      message: 'Access denied for lastOrder field.',
      locations: [{ line: 1, column: CUSTOMER.indexOf('lastOrder') + 1 }],
      path: ['customers', 'nodes', 0, 'lastOrder'],
      extensions: { code: 'ACCESS_DENIED', documentation: 'https://shopify.dev/api/usage/access-scopes' },
    });
    const sample = fixture('access_denied_response.json').errors[0];
    expect(shapeOf({ ...res.body.errors[0], path: sample.path })).toEqual(shapeOf(sample));
  });

  it('with read_orders, lastOrder comes back', async () => {
    h.shop.setScopes(['read_customers', 'read_orders']);
    const res = await h.gql(CUSTOMER, {}, { token });
    expect(res.body.errors).toBeUndefined();
    const withOrder = res.body.data.customers.nodes.find((n: { lastOrder: unknown }) => n.lastOrder);
    expect(withOrder.lastOrder).toMatchObject({ id: expect.stringMatching(/^gid:\/\/shopify\/Order\/\d+$/), name: expect.stringMatching(/^#\d+$/) });
    expect(withOrder.lastOrder.id.endsWith(`/${withOrder.lastOrder.legacyResourceId}`)).toBe(true);
    const scopes = await h.gql('{ currentAppInstallation { accessScopes { handle } } }', {}, { token });
    expect(scopes.body.data.currentAppInstallation.accessScopes).toEqual([{ handle: 'read_customers' }, { handle: 'read_orders' }]);
  });

  it('without read_customers, customers are denied as a whole while shop still answers; write_customers implies read', async () => {
    h.shop.setScopes(['read_products']);
    const res = await h.gql('{ shop { name } customers(first: 1) { nodes { id } } }', {}, { token });
    expect(res.body.data).toBeNull(); // customers is non-null, so the denial nulls the whole answer, as in Shopify
    expect(res.body.errors[0]).toMatchObject({ message: 'Access denied for customers field.', path: ['customers'], extensions: { code: 'ACCESS_DENIED' } });
    const shopOnly = await h.gql('{ shop { name } customersCount { count } }', {}, { token });
    expect(shopOnly.body.data).toEqual({ shop: { name: 'kizuna-dev' }, customersCount: null });
    const id = `gid://shopify/Customer/${h.shop.store.generator.idOf(0)}`;
    const node = await h.gql(`{ node(id: "${id}") { id } }`, {}, { token });
    expect(node.body.errors[0].extensions.code).toBe('ACCESS_DENIED');
    const rest = await h.rest('/customers.json', { token });
    expect(rest.status).toBe(403);

    h.shop.setScopes(['write_customers']);
    expect((await h.gql('{ customers(first: 1) { nodes { id } } }', {}, { token })).body.errors).toBeUndefined();
    h.shop.setScopes(['read_customers']);
  });
});
