// The REST customer endpoints Kizuna may use for `last_order_id` (read_customers only): shapes like Shopify's sample,
// `ids` + `fields`, and `limit` with Link-header page_info pagination.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';

const sample = JSON.parse(readFileSync(new URL('./fixtures/customers_2024-10_list_response.json', import.meta.url), 'utf8'));

let h: Harness;
beforeAll(async () => {
  h = await harness({ customers: 30, seed: 11 });
});
afterAll(() => h.fake.close());

function keysOf(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? [keysOf(v[0])] : [];
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, keysOf(x)]).sort());
  return '·';
}

function nextLink(link: string | null, rel: 'next' | 'previous'): string | null {
  const m = link?.split(', ').find((part) => part.endsWith(`rel="${rel}"`))?.match(/^<([^>]+)>/);
  return m ? m[1] : null;
}

describe('REST customers', () => {
  it('GET customers/{id}.json has the keys of Shopify\'s REST customer', async () => {
    const withAddress = [...Array(30).keys()].map((i) => h.shop.store.generator.customerAt(i)).find((c) => c.addresses.length && c.email && c.phone && c.lastOrder)!;
    const res = await h.rest(`/customers/${withAddress.id}.json`);
    expect(res.status).toBe(200);
    const c = res.body.customer;
    expect(keysOf(c)).toEqual(keysOf(sample.customers[1]));
    expect(c).toMatchObject({
      id: withAddress.id,
      admin_graphql_api_id: `gid://shopify/Customer/${withAddress.id}`,
      last_order_id: withAddress.lastOrder!.id,
      last_order_name: withAddress.lastOrder!.name,
      orders_count: withAddress.numberOfOrders,
      verified_email: withAddress.verifiedEmail,
      state: withAddress.state.toLowerCase(),
      tags: withAddress.tags.join(', '),
      currency: 'JPY',
    });
    // Shop-local timestamps with the offset (Asia/Tokyo).
    expect(c.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+09:00$/);
    expect(Date.parse(c.created_at)).toBe(withAddress.createdAt);
    expect(c.default_address).toMatchObject({ province_code: withAddress.addresses[0].provinceCode, default: true, customer_id: withAddress.id });
    expect((await h.rest('/customers/123.json')).status).toBe(404);
  });

  it('GET customers.json?ids=…&fields=id,last_order_id answers just those fields for those customers', async () => {
    const gen = h.shop.store.generator;
    const ids = [gen.idOf(7), gen.idOf(2), gen.idOf(19)];
    const res = await h.rest(`/customers.json?ids=${ids.join(',')}&fields=id,last_order_id`);
    expect(res.status).toBe(200);
    expect(res.body.customers).toEqual(
      [2, 7, 19].map((i) => ({ id: gen.idOf(i), last_order_id: gen.customerAt(i).lastOrder?.id ?? null })),
    );
    expect(res.headers.get('x-shopify-shop-api-call-limit')).toMatch(/^\d+\/40$/);
  });

  it('pages with limit and Link page_info, forwards and back, naming the shop\'s own origin', async () => {
    const seen: number[] = [];
    let url: string | null = `/customers.json?limit=7&fields=id`;
    let pages = 0;
    let last = '';
    while (url) {
      const res = await h.rest(url);
      expect(res.status).toBe(200);
      seen.push(...res.body.customers.map((c: { id: number }) => c.id));
      expect(Object.keys(res.body.customers[0])).toEqual(['id']);
      const link = res.headers.get('link');
      if (pages > 0) expect(nextLink(link, 'previous')).toBeTruthy();
      const next = nextLink(link, 'next');
      if (next) expect(next.startsWith(`https://${h.shop.domain}/admin/api/2026-04/customers.json?`)).toBe(true);
      last = link ?? '';
      url = next ? next.replace(`https://${h.shop.domain}/admin/api/2026-04`, '') : null;
      pages++;
    }
    expect(pages).toBe(5);
    expect(seen).toEqual([...Array(30).keys()].map((i) => h.shop.store.generator.idOf(i)));
    // Back from the last page.
    const prev = nextLink(last, 'previous')!.replace(`https://${h.shop.domain}/admin/api/2026-04`, '');
    const back = await h.rest(prev);
    expect(back.body.customers.map((c: { id: number }) => c.id)).toEqual(seen.slice(21, 28));
    expect((await h.rest('/customers/count.json')).body).toEqual({ count: 30 });
  });

  it('has its own request-count bucket: 40 requests, then 429 with Retry-After until it leaks', async () => {
    h.clock.advance(60_000);
    for (let i = 0; i < 40; i++) expect((await h.rest('/customers/count.json')).status).toBe(200);
    const limited = await h.rest('/customers/count.json');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2.0');
    h.clock.advance(500); // 2 per second
    expect((await h.rest('/customers/count.json')).status).toBe(200);
  });
});
