// Complete pagination over 10,000 customers (generated ones, changed, deleted and added ones) in every sort order, both
// directions, with and without search filters: every matching id exactly once, in order, compared with an independently
// computed expectation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerRecord } from '../../../src/dev/shopify/index.js';
import { harness, unlimited, type Harness } from './helpers.js';

let h: Harness;
/** Every customer as the test itself expects it to be, independent of the store's paging code. */
const truth = new Map<number, CustomerRecord>();

beforeAll(async () => {
  h = await harness({ customers: 10_000, seed: 42 });
  unlimited(h.shop);
  const gen = h.shop.store.generator;
  for (let i = 0; i < gen.count; i++) {
    const c = gen.customerAt(i);
    truth.set(c.id, c);
  }
  // Changes move customers to the end of UPDATED_AT order; deletions and additions change the set.
  for (let k = 0; k < 60; k++) {
    h.clock.advance(1000);
    const id = gen.idOf((k * 163) % gen.count);
    const c = h.shop.changeCustomer(id, { note: `changed ${k}`, state: k % 2 ? 'ENABLED' : 'DECLINED' }, { silent: true });
    truth.set(c.id, c);
  }
  for (let k = 0; k < 25; k++) {
    const id = gen.idOf((k * 397 + 5) % gen.count);
    if (h.shop.deleteCustomer(id, { silent: true })) truth.delete(id);
  }
  for (let k = 0; k < 40; k++) {
    h.clock.advance(1000);
    const c = h.shop.upsertCustomer({ firstName: `追加${k}`, email: `added${k}@example.jp`, state: 'ENABLED' }, { silent: true });
    truth.set(c.id, c);
  }
});
afterAll(() => h.fake.close());

type Key = 'ID' | 'UPDATED_AT' | 'CREATED_AT';
const keyOf = (c: CustomerRecord, k: Key) => (k === 'ID' ? c.id : k === 'UPDATED_AT' ? c.updatedAt : c.createdAt);

function expected(k: Key, reverse: boolean, pred: (c: CustomerRecord) => boolean = () => true): string[] {
  const list = [...truth.values()].filter(pred).sort((a, b) => keyOf(a, k) - keyOf(b, k) || a.id - b.id);
  if (reverse) list.reverse();
  return list.map((c) => `gid://shopify/Customer/${c.id}`);
}

const PAGE = `query Page($first: Int, $after: String, $last: Int, $before: String, $sortKey: CustomerSortKeys, $reverse: Boolean, $query: String) {
  customers(first: $first, after: $after, last: $last, before: $before, sortKey: $sortKey, reverse: $reverse, query: $query) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id updatedAt }
  }
}`;

async function forward(sortKey: Key, reverse: boolean, query?: string, first = 250): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let page = 0; ; page++) {
    const res = await h.gql(PAGE, { first, after, sortKey, reverse, query });
    expect(res.body.errors).toBeUndefined();
    const conn = res.body.data.customers;
    ids.push(...conn.nodes.map((n: { id: string }) => n.id));
    expect(conn.pageInfo.hasPreviousPage).toBe(page > 0);
    if (!conn.pageInfo.hasNextPage) {
      expect(conn.nodes.length).toBeLessThanOrEqual(first);
      return ids;
    }
    expect(conn.nodes).toHaveLength(first);
    after = conn.pageInfo.endCursor;
  }
}

async function backward(sortKey: Key, reverse: boolean, query?: string, last = 250): Promise<string[]> {
  const ids: string[] = [];
  let before: string | null = null;
  for (let page = 0; ; page++) {
    const res = await h.gql(PAGE, { last, before, sortKey, reverse, query });
    expect(res.body.errors).toBeUndefined();
    const conn = res.body.data.customers;
    ids.unshift(...conn.nodes.map((n: { id: string }) => n.id));
    expect(conn.pageInfo.hasNextPage).toBe(page > 0);
    if (!conn.pageInfo.hasPreviousPage) return ids;
    before = conn.pageInfo.startCursor;
  }
}

function onceEach(ids: string[]): void {
  expect(new Set(ids).size).toBe(ids.length);
}

describe('customers pagination over 10,000 customers', () => {
  it('has the expected store: 10,000 generated − 25 deleted + 40 added', () => {
    expect(h.shop.customerCount()).toBe(truth.size);
    expect(truth.size).toBe(10_015);
  });

  it('UPDATED_AT: every id exactly once, oldest update first; changed and added customers come last', async () => {
    const ids = await forward('UPDATED_AT', false);
    onceEach(ids);
    expect(ids).toEqual(expected('UPDATED_AT', false));
    expect(ids.slice(-40).every((id) => truth.get(Number(id.split('/').pop()))!.firstName?.startsWith('追加'))).toBe(true);
  });

  it('UPDATED_AT reversed, and ID in both directions', async () => {
    expect(await forward('UPDATED_AT', true)).toEqual(expected('UPDATED_AT', true));
    expect(await forward('ID', false)).toEqual(expected('ID', false));
    expect(await forward('ID', true, undefined, 97)).toEqual(expected('ID', true));
  });

  it('CREATED_AT, and backwards with last/before', async () => {
    expect(await forward('CREATED_AT', false, undefined, 200)).toEqual(expected('CREATED_AT', false));
    expect(await backward('UPDATED_AT', false)).toEqual(expected('UPDATED_AT', false));
    expect(await backward('ID', true, undefined, 111)).toEqual(expected('ID', true));
  });

  it('with updated_at range filters (>= is inclusive, < exclusive), in both orders', async () => {
    const sorted = [...truth.values()].sort((a, b) => a.updatedAt - b.updatedAt);
    const from = sorted[3000].updatedAt;
    const to = sorted[7000].updatedAt;
    const iso = (ms: number) => new Date(ms).toISOString();
    const query = `updated_at:>='${iso(from)}' updated_at:<'${iso(to)}'`;
    const pred = (c: CustomerRecord) => c.updatedAt >= from && c.updatedAt < to;
    const ids = await forward('UPDATED_AT', false, query);
    expect(ids).toHaveLength(4000);
    expect(ids).toEqual(expected('UPDATED_AT', false, pred));
    expect(await forward('ID', true, query)).toEqual(expected('ID', true, pred));
    // The incremental-sync form: everything updated since an instant, which includes the changed and added customers.
    const since = sorted[9900].updatedAt;
    expect(await forward('UPDATED_AT', false, `updated_at:>'${iso(since)}'`)).toEqual(expected('UPDATED_AT', false, (c) => c.updatedAt > since));
  });

  it('with state and email filters (case-insensitive, wildcards), created_at and negation', async () => {
    expect(await forward('UPDATED_AT', false, 'state:enabled')).toEqual(expected('UPDATED_AT', false, (c) => c.state === 'ENABLED'));
    expect(await forward('ID', false, 'email:*@example.jp')).toEqual(expected('ID', false, (c) => !!c.email && c.email.toLowerCase().endsWith('@example.jp')));
    expect(await forward('ID', false, '-email:*')).toEqual(expected('ID', false, (c) => !c.email));
    const c = [...truth.values()].find((x) => x.email && x.email !== x.email.toLowerCase())!;
    expect(await forward('ID', false, `email:${c.email!.toLowerCase()}`)).toEqual([`gid://shopify/Customer/${c.id}`]);
    const created = [...truth.values()].map((x) => x.createdAt).sort((a, b) => a - b)[5000];
    expect(await forward('CREATED_AT', true, `created_at:<=${new Date(created).toISOString()} state:DISABLED`)).toEqual(
      expected('CREATED_AT', true, (x) => x.createdAt <= created && x.state === 'DISABLED'),
    );
  });

  it('cursors are opaque and tied to the sort: a cursor from another sort is refused', async () => {
    const res = await h.gql(PAGE, { first: 2, sortKey: 'UPDATED_AT' });
    const cursor = res.body.data.customers.pageInfo.endCursor as string;
    expect(cursor).toMatch(/^[A-Za-z0-9+/=]+$/);
    const wrong = await h.gql(PAGE, { first: 2, sortKey: 'ID', after: 'not-a-cursor' });
    expect(wrong.body.errors[0].message).toBe('Invalid cursor for current pagination sort.');
  });

  it('edges carry a cursor per node, and warns about unknown search fields like Shopify', async () => {
    const res = await h.gql('{ customers(first: 3, query: "favourite:blue state:enabled") { edges { cursor node { id } } nodes { id } } }');
    const conn = res.body.data.customers;
    expect(conn.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual(conn.nodes.map((n: { id: string }) => n.id));
    expect(new Set(conn.edges.map((e: { cursor: string }) => e.cursor)).size).toBe(3);
    expect(res.body.extensions.search).toEqual([
      { path: ['customers'], query: 'favourite:blue state:enabled', warnings: [{ field: 'favourite', message: 'Invalid search field for this query.' }] },
    ]);
  });

  it('customersCount stops at 10,000 unless limit: null, and counts filters', async () => {
    const def = await h.gql('{ customersCount { count precision } }');
    expect(def.body.data.customersCount).toEqual({ count: 10_000, precision: 'AT_LEAST' });
    const all = await h.gql('{ customersCount(limit: null) { count precision } }');
    expect(all.body.data.customersCount).toEqual({ count: truth.size, precision: 'EXACT' });
    const enabled = [...truth.values()].filter((c) => c.state === 'ENABLED').length;
    const q = await h.gql('{ customersCount(query: "state:ENABLED", limit: null) { count precision } }');
    expect(q.body.data.customersCount).toEqual({ count: enabled, precision: 'EXACT' });
    const since = [...truth.values()].map((c) => c.updatedAt).sort((a, b) => a - b)[2500];
    const r = await h.gql(`{ customersCount(query: "updated_at:>='${new Date(since).toISOString()}'", limit: null) { count } }`);
    expect(r.body.data.customersCount.count).toBe([...truth.values()].filter((c) => c.updatedAt >= since).length);
  });
});
