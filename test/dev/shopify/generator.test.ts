// The deterministic Japanese store: same seed, same store; every edge case present even in a small store; a million
// customers served without holding them.
import { describe, expect, it } from 'vitest';
import { CustomerGenerator, JP_PREFECTURES, type CustomerRecord } from '../../../src/dev/shopify/index.js';
import { harness, unlimited } from './helpers.js';

const sampleOf = (gen: CustomerGenerator, n: number): CustomerRecord[] => [...gen.customers(0, n)];

describe('data generator', () => {
  it('is a pure function of (seed, i)', () => {
    const a = new CustomerGenerator({ seed: 7, count: 1_000_000 });
    const b = new CustomerGenerator({ seed: 7, count: 1_000_000 });
    const c = new CustomerGenerator({ seed: 8, count: 1_000_000 });
    for (const i of [0, 1, 2, 500, 123_456, 999_999]) expect(b.customerAt(i)).toEqual(a.customerAt(i));
    expect(JSON.stringify(sampleOf(a, 200))).toBe(JSON.stringify(sampleOf(b, 200)));
    expect(c.customerAt(500)).not.toEqual(a.customerAt(500));
    // Random access matches sequential generation.
    expect(a.customerAt(123_456)).toEqual([...a.customers(123_456, 123_457)][0]);
  });

  it('id, createdAt and updatedAt rise strictly with i, and updatedAt ≥ createdAt', () => {
    const gen = new CustomerGenerator({ seed: 3, count: 1_000_000 });
    const spots = [0, 1, 2, 3, 999, 1000, 54_321, 500_000, 777_777, 999_998];
    for (const i of spots) {
      expect(gen.idOf(i + 1)).toBeGreaterThan(gen.idOf(i));
      expect(gen.createdAtOf(i + 1)).toBeGreaterThan(gen.createdAtOf(i));
      expect(gen.updatedAtOf(i + 1)).toBeGreaterThan(gen.updatedAtOf(i));
      expect(gen.updatedAtOf(i)).toBeGreaterThanOrEqual(gen.createdAtOf(i));
      expect(gen.indexOf(gen.idOf(i))).toBe(i);
      expect(gen.createdAtOf(i) % 1000).toBe(0);
    }
    expect(gen.indexOf(gen.idOf(5) + 1)).toBe(-1);
    expect(gen.updatedAtOf(999_999)).toBeLessThan(Date.UTC(2026, 2, 1));
  });

  it('a store of 1000 has every case Kizuna must handle', () => {
    const all = sampleOf(new CustomerGenerator({ seed: 1, count: 1000 }), 1000);
    const jp = all.flatMap((c) => c.addresses.slice(0, 1)).filter((a) => a.countryCodeV2 === 'JP');
    expect(new Set(jp.map((a) => a.provinceCode))).toEqual(new Set(JP_PREFECTURES.map((p) => p.code)));
    expect(JP_PREFECTURES).toHaveLength(47);
    for (const a of jp) expect(a.province).toBe(JP_PREFECTURES.find((p) => p.code === a.provinceCode)!.province);
    expect(jp.find((a) => a.provinceCode === 'JP-13')!.province).toBe('Tokyo');
    expect(jp.find((a) => a.provinceCode === 'JP-01')!.province).toBe('Hokkaidō');
    const countries = new Set(all.flatMap((c) => c.addresses.map((a) => a.countryCodeV2)));
    expect([...countries].filter((c) => c !== 'JP').length).toBeGreaterThanOrEqual(3);

    expect(new Set(all.map((c) => c.state))).toEqual(new Set(['DISABLED', 'INVITED', 'DECLINED', 'ENABLED']));
    expect(new Set(all.flatMap((c) => (c.emailMarketing ? [c.emailMarketing.state] : [])))).toEqual(new Set(['NOT_SUBSCRIBED', 'PENDING', 'SUBSCRIBED', 'UNSUBSCRIBED', 'INVALID']));
    expect(new Set(all.flatMap((c) => (c.smsMarketing ? [c.smsMarketing.state] : [])))).toEqual(new Set(['NOT_SUBSCRIBED', 'PENDING', 'SUBSCRIBED', 'UNSUBSCRIBED', 'REDACTED']));

    const withEmail = all.filter((c) => c.email);
    expect(withEmail.some((c) => c.verifiedEmail) && withEmail.some((c) => !c.verifiedEmail)).toBe(true);
    expect(withEmail.some((c) => c.email !== c.email!.toLowerCase())).toBe(true);
    expect(new Set(withEmail.map((c) => c.email!.toLowerCase())).size).toBe(withEmail.length);
    expect(all.some((c) => !c.email)).toBe(true);
    expect(all.some((c) => !c.email && c.verifiedEmail)).toBe(true); // "verified" but nothing to match on
    expect(all.some((c) => c.addresses.length === 0)).toBe(true);
    expect(all.some((c) => c.numberOfOrders === 0 && c.lastOrder === null && c.amountSpent === '0')).toBe(true);
    expect(all.every((c) => (c.numberOfOrders > 0) === (c.lastOrder !== null))).toBe(true);
    expect(all.some((c) => c.firstName === null)).toBe(true);

    const jpy = all.filter((c) => c.currencyCode === 'JPY' && c.numberOfOrders > 0);
    expect(jpy.every((c) => /^\d+$/.test(c.amountSpent))).toBe(true);
    expect(all.some((c) => c.currencyCode === 'USD' && c.numberOfOrders > 0 && /^\d+(\.\d{1,2})?$/.test(c.amountSpent))).toBe(true);

    const tags = new Set(all.flatMap((c) => c.tags));
    expect([...tags].some((t) => /[\u3040-\u30ff\u4e00-\u9fff]/.test(t)) && [...tags].some((t) => /^[A-Za-z0-9 ]+$/.test(t))).toBe(true);
    const notes = all.flatMap((c) => (c.note ? [c.note] : []));
    expect(notes.some((n) => /\p{Extended_Pictographic}/u.test(n))).toBe(true);
    expect(notes.some((n) => n.includes('\n'))).toBe(true);
    expect(notes.some((n) => /<[a-z]+>/.test(n))).toBe(true);
    expect(all.some((c) => /^[\u4e00-\u9fff\u{20000}-\u{2ffff}]+$/u.test(c.lastName ?? ''))).toBe(true);
    expect(new Set(all.map((c) => c.id)).size).toBe(1000);
    const phones = all.flatMap((c) => (c.phone ? [c.phone] : []));
    expect(new Set(phones).size).toBe(phones.length);
    expect(phones.every((p) => /^\+81[789]0\d{8}$/.test(p))).toBe(true);
  });

  it('serves a million customers without holding them: counts, far pages, lookups and filters stay cheap', async () => {
    const before = process.memoryUsage().heapUsed;
    const h = await harness({ customers: 1_000_000, seed: 21 });
    try {
      unlimited(h.shop);
      const gen = h.shop.store.generator;
      const started = Date.now();
      const count = await h.gql('{ customersCount(limit: null) { count precision } }');
      expect(count.body.data.customersCount).toEqual({ count: 1_000_000, precision: 'EXACT' });

      const newest = await h.gql('{ customers(first: 250, sortKey: UPDATED_AT, reverse: true) { nodes { id updatedAt } } }');
      expect(newest.body.data.customers.nodes[0].id).toBe(`gid://shopify/Customer/${gen.idOf(999_999)}`);
      expect(newest.body.data.customers.nodes[249].id).toBe(`gid://shopify/Customer/${gen.idOf(999_750)}`);

      const one = await h.gql(`{ customer(id: "gid://shopify/Customer/${gen.idOf(654_321)}") { legacyResourceId } }`);
      expect(one.body.data.customer.legacyResourceId).toBe(String(gen.idOf(654_321)));

      // An incremental window in the middle of the store: binary search, not a scan.
      const from = new Date(gen.updatedAtOf(500_000)).toISOString();
      const to = new Date(gen.updatedAtOf(500_300)).toISOString();
      const window = await h.gql(`{ customers(first: 250, sortKey: UPDATED_AT, query: "updated_at:>='${from}' updated_at:<'${to}'") { pageInfo { hasNextPage } nodes { id } } }`);
      expect(window.body.data.customers.nodes[0].id).toBe(`gid://shopify/Customer/${gen.idOf(500_000)}`);
      expect(window.body.data.customers.pageInfo.hasNextPage).toBe(true);
      const windowCount = await h.gql(`{ customersCount(query: "updated_at:>='${from}' updated_at:<'${to}'", limit: null) { count } }`);
      expect(windowCount.body.data.customersCount.count).toBe(300);

      // A change moves the customer to the end of UPDATED_AT order, over a million generated ones.
      h.clock.advance(1000);
      h.shop.changeCustomer(gen.idOf(10), { note: 'moved' });
      const last = await h.gql('{ customers(first: 1, sortKey: UPDATED_AT, reverse: true) { nodes { id note } } }');
      expect(last.body.data.customers.nodes[0]).toEqual({ id: `gid://shopify/Customer/${gen.idOf(10)}`, note: 'moved' });

      // A bulk export of the newest thousand.
      const since = new Date(gen.updatedAtOf(999_000)).toISOString();
      const run = await h.gql(`mutation { bulkOperationRunQuery(query: "{ customers(query: \\"updated_at:>='${since}'\\") { edges { node { id } } } }", groupObjects: false) { bulkOperation { id } userErrors { message } } }`);
      expect(run.body.data.bulkOperationRunQuery.userErrors).toEqual([]);
      await h.shop.bulkIdle();
      expect(h.shop.bulkOperations()[0]).toMatchObject({ status: 'COMPLETED', rootObjectCount: 1001 });

      expect(Date.now() - started).toBeLessThan(10_000);
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(150 * 1024 * 1024);
    } finally {
      await h.fake.close();
    }
  });
});
