// The Admin API client against the development Shopify: pacing by the cost bucket, and every fault it must survive or report.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ShopifyError } from '../../src/shopify/errors.js';
import { customersPage, customersPageSize, SHOP_CHECK } from '../../src/shopify/queries.js';
import { shopifyHarness, type ShopifyHarness } from '../helpers/shopify.js';

let h: ShopifyHarness;
beforeAll(async () => {
  h = await shopifyHarness({ customers: 3000, seed: 11 });
});
afterAll(() => h.close());
beforeEach(() => {
  h.shop.clearFaults();
  h.shop.setShopStatus(null);
  h.shop.throttle({ maximumAvailable: 2000, restoreRate: 100, currentlyAvailable: 2000 });
  h.sleeps.length = 0;
});

const page = customersPage(false);
const first = customersPageSize(false);

async function readAll(client = h.client()) {
  let after: string | null = null;
  let n = 0;
  for (;;) {
    const { data }: { data: any } = await client.graphql(page, { first, after }, 998);
    n += data.customers.nodes.length;
    if (!data.customers.pageInfo.hasNextPage) return { n, client };
    after = data.customers.pageInfo.endCursor;
  }
}

describe('Shopify client', () => {
  it('paces itself by the cost bucket: reads 3000 customers without a single THROTTLED answer', async () => {
    const { n, client } = await readAll();
    expect(n).toBe(3000);
    expect(client.stats.throttled).toBe(0);
    // 16 pages × ~998 points with a 2000-point bucket refilling at 100/s: it had to wait, and waited about what the bucket needs.
    const waitedSeconds = h.sleeps.reduce((a, b) => a + b, 0) / 1000;
    const points = client.stats.pointsUsed;
    expect(waitedSeconds).toBeGreaterThan((points - 2000) / 100 - 20);
    expect(waitedSeconds).toBeLessThan((points - 2000) / 100 + 20);
  });

  it('waits out THROTTLED answers and succeeds', async () => {
    h.shop.throttle({ currentlyAvailable: 0 });
    const client = h.client();
    // The first request has no bucket estimate yet, so it is sent and throttled; then the client waits for the points.
    const { data } = await client.graphql<any>(page, { first: 10 }, 0);
    expect(data.customers.nodes).toHaveLength(10);
    expect(client.stats.throttled).toBe(1);
    expect(h.sleeps.length).toBeGreaterThan(0);
  });

  it('honours 429 Retry-After in seconds', async () => {
    h.shop.failNext({ kind: '429', retryAfter: 7 });
    const { data } = await h.client().graphql<any>(SHOP_CHECK);
    expect(data.shop.myshopifyDomain).toBe(h.shop.domain);
    expect(h.sleeps).toContain(7000);
  });

  it.each([
    ['500', { kind: '5xx', status: 500 }],
    ['502', { kind: '5xx', status: 502 }],
    ['503', { kind: '5xx', status: 503 }],
    ['malformed JSON', { kind: 'malformed' }],
    ['reset connection', { kind: 'reset' }],
    ['timeout', { kind: 'timeout' }],
  ] as const)('retries a %s and succeeds', async (_name, fault) => {
    h.shop.failNext({ ...fault, count: 2 } as any);
    const client = h.client({ timeoutMs: 300 });
    const { data } = await client.graphql<any>(SHOP_CHECK);
    expect(data.shop.name).toBeTruthy();
    expect(client.stats.retries).toBe(2);
  });

  it('gives up after a bounded number of attempts with a retryable SHOPIFY_UNAVAILABLE', async () => {
    h.shop.failNext({ kind: '5xx', status: 503, count: 10 });
    const err = await h.client({ maxAttempts: 4 }).graphql(SHOP_CHECK).catch((e) => e);
    expect(err).toBeInstanceOf(ShopifyError);
    expect(err.code).toBe('SHOPIFY_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(h.shop.pendingFaults()[0]?.count).toBe(6);
  });

  it('reports a bad token as INVALID_TOKEN without retrying', async () => {
    const { staticToken } = await import('../../src/shopify/credentials.js');
    const err = await h.client({ token: staticToken('shpat_wrong_wrong_wrong_wrong') }).graphql(SHOP_CHECK).catch((e) => e);
    expect(err.code).toBe('INVALID_TOKEN');
    expect(err.retryable).toBe(false);
    expect(err.message).not.toContain('shpat_wrong');
  });

  it.each([402, 423] as const)('reports a shop answering %i as SHOP_UNAVAILABLE', async (status) => {
    h.shop.setShopStatus(status);
    const err = await h.client().graphql(SHOP_CHECK).catch((e) => e);
    expect(err.code).toBe('SHOP_UNAVAILABLE');
  });

  it('returns the data with ACCESS_DENIED errors when lastOrder is selected without read_orders', async () => {
    const { data, errors } = await h.client().graphql<any>(customersPage(true), { first: 3 });
    expect(data.customers.nodes).toHaveLength(3);
    expect(data.customers.nodes[0].lastOrder ?? null).toBeNull();
    expect(errors.some((e) => e.extensions?.code === 'ACCESS_DENIED')).toBe(true);
  });
});

describe('client-credentials tokens', () => {
  it('are obtained, reused, renewed before they expire, and renewed at once after a 401 mid-run', async () => {
    const source = h.clientCredentials();
    const client = h.client({ token: source });
    await client.graphql(SHOP_CHECK);
    await client.graphql(SHOP_CHECK);
    expect(source.issued).toBe(1);
    // Almost a day later: renewed before use.
    h.clock.advance(23.9 * 3600_000);
    await client.graphql(SHOP_CHECK);
    expect(source.issued).toBe(2);
    // Revoked behind our back (the merchant rotated the secret's tokens): one 401, one renewal, success.
    h.shop.revokeToken();
    const { data } = await client.graphql<any>(SHOP_CHECK);
    expect(data.shop.name).toBeTruthy();
    expect(source.issued).toBe(3);
  });

  it('a wrong client secret is INVALID_TOKEN', async () => {
    const { ClientCredentialsToken } = await import('../../src/shopify/credentials.js');
    const bad = new ClientCredentialsToken(
      { shop: h.shop.domain, apiVersion: '2026-04', apiOrigin: h.fake.origin },
      h.shop.credentials().clientId,
      'not-the-secret',
      h.clock,
    );
    const err = await h.client({ token: bad }).graphql(SHOP_CHECK).catch((e) => e);
    expect(err.code).toBe('INVALID_TOKEN');
  });
});
