// Shared by the fake Shopify tests: a fake on a hand-driven clock and thin HTTP helpers that speak to it the way Kizuna
// does (same path as on myshopify.com, plus X-Shopify-Shop-Domain).
import { manualClock, startFakeShopify, type FakeShopify, type FakeShopifyOptions } from '../../../src/dev/shopify/index.js';
import type { FakeShop } from '../../../src/dev/shopify/shop.js';

export const VERSION = '2026-04';

export interface Harness {
  fake: FakeShopify;
  shop: FakeShop;
  clock: ReturnType<typeof manualClock>;
  gql: (query: string, variables?: Record<string, unknown>, opts?: { token?: string; shop?: string }) => Promise<GqlResponse>;
  rest: (path: string, opts?: { token?: string; shop?: string }) => Promise<{ status: number; headers: Headers; body: any }>;
}

export interface GqlResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function harness(options: FakeShopifyOptions = {}): Promise<Harness> {
  const clock = manualClock('2026-04-01T00:00:00Z');
  const fake = await startFakeShopify({ now: clock.now, ...options });
  const shop = fake.shop(fake.shops()[0].domain);
  const gql: Harness['gql'] = async (query, variables, opts = {}) => {
    const target = opts.shop ? fake.shop(opts.shop) : shop;
    const res = await fetch(`${fake.origin}/admin/api/${VERSION}/graphql.json`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Shopify-Shop-Domain': target.domain,
        'X-Shopify-Access-Token': opts.token ?? target.credentials().accessToken!,
      },
      body: JSON.stringify({ query, variables }),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* a fault's HTML or cut-off body stays text */
    }
    return { status: res.status, headers: res.headers, body };
  };
  const rest: Harness['rest'] = async (path, opts = {}) => {
    const target = opts.shop ? fake.shop(opts.shop) : shop;
    const res = await fetch(`${fake.origin}/admin/api/${VERSION}${path}`, {
      headers: { 'X-Shopify-Shop-Domain': target.domain, 'X-Shopify-Access-Token': opts.token ?? target.credentials().accessToken! },
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* keep text */
    }
    return { status: res.status, headers: res.headers, body };
  };
  return { fake, shop, clock, gql, rest };
}

/** A bucket big enough that paging tests are never throttled. */
export function unlimited(shop: FakeShop): void {
  shop.throttle({ maximumAvailable: 1e12, restoreRate: 1e9, currentlyAvailable: 1e12 });
}

/** Shape of a JSON value: keys and value types, recursively (to compare with Shopify's samples). */
export function shapeOf(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? [shapeOf(v[0])] : [];
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shapeOf(x)]));
  return v === null ? 'null' : typeof v;
}
