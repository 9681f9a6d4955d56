// Bulk operations: run → poll → download JSONL from the fake's own URL, nested connections as `__parentId` lines, and each
// bulk fault (FAILED, partial data, EXPIRED, truncated file, expired URL, ACCESS_DENIED).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, unlimited, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness({ customers: 600, seed: 9 });
  unlimited(h.shop);
});
afterAll(() => h.fake.close());

const RUN = `mutation Run($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: false) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}`;
const STATUS = `query Status($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount rootObjectCount fileSize url partialDataUrl createdAt completedAt query type }
}`;

async function run(query: string) {
  const res = await h.gql(RUN, { query });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.bulkOperationRunQuery as { bulkOperation: { id: string; status: string } | null; userErrors: { field: string[]; message: string; code: string }[] };
}

/** Polls as a client would; awaiting the runner between polls keeps the test free of sleeps. */
async function poll(id: string) {
  for (let i = 0; i < 50; i++) {
    const op = (await h.gql(STATUS, { id })).body.data.bulkOperation;
    if (op.status !== 'CREATED' && op.status !== 'RUNNING') return op;
    await h.shop.bulkIdle();
  }
  throw new Error('bulk operation never finished');
}

async function download(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

const NESTED = `{
  customers {
    edges { node {
      id legacyResourceId email updatedAt
      defaultAddress { provinceCode }
      addressesV2 { edges { node { id city provinceCode } } }
    } }
  }
}`;

describe('bulk query round trip', () => {
  it('runs, completes, and serves JSONL with nested connection nodes as __parentId lines', async () => {
    const started = await run(NESTED);
    expect(started.userErrors).toEqual([]);
    expect(started.bulkOperation!.status).toBe('CREATED');
    expect(started.bulkOperation!.id).toMatch(/^gid:\/\/shopify\/BulkOperation\/\d+$/);

    const op = await poll(started.bulkOperation!.id);
    expect(op).toMatchObject({ status: 'COMPLETED', errorCode: null, rootObjectCount: '600', type: 'QUERY', partialDataUrl: null });
    expect(op.url.startsWith(`${h.fake.origin}/`)).toBe(true);

    const file = await download(op.url);
    expect(file.status).toBe(200);
    expect(Number(op.fileSize)).toBe(Buffer.byteLength(file.text));
    const lines = file.text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBe(Number(op.objectCount));

    const roots = lines.filter((l) => !('__parentId' in l));
    const children = lines.filter((l) => '__parentId' in l);
    expect(roots).toHaveLength(600);
    expect(new Set(roots.map((r) => r.id)).size).toBe(600);
    // The nested connection is cut out of its parent; the parent line keeps its plain nested objects.
    expect(roots.every((r) => !('addressesV2' in r) && 'defaultAddress' in r)).toBe(true);
    const expectedChildren = [...h.shop.store.scan('ID', false, { all: true, ranges: {}, rangesOnly: true, test: () => true })].reduce((n, c) => n + c.addresses.length, 0);
    expect(children.length).toBe(expectedChildren);
    expect(children.length).toBeGreaterThan(400);
    const rootIds = new Set(roots.map((r) => r.id));
    for (const child of children) {
      expect(rootIds.has(child.__parentId)).toBe(true);
      expect(child.id).toMatch(/^gid:\/\/shopify\/MailingAddress\//);
    }
    // Children follow their parent.
    const firstChild = lines.findIndex((l) => '__parentId' in l);
    expect(lines[firstChild - 1].id === lines[firstChild].__parentId || '__parentId' in lines[firstChild - 1]).toBe(true);
  });

  it('honours the query filter of the bulk query and lists operations', async () => {
    const since = h.shop.store.generator.updatedAtOf(450);
    const started = await run(`{ customers(query: "updated_at:>='${new Date(since).toISOString()}'") { edges { node { id } } } }`);
    const op = await poll(started.bulkOperation!.id);
    expect(op.rootObjectCount).toBe('150');
    const list = await h.gql('{ bulkOperations(first: 10, query: "status:COMPLETED OR status:RUNNING", sortKey: CREATED_AT, reverse: true) { nodes { id status type } } }');
    expect(list.body.data.bulkOperations.nodes[0]).toEqual({ id: op.id, status: 'COMPLETED', type: 'QUERY' });
    expect(list.body.data.bulkOperations.nodes.length).toBeGreaterThanOrEqual(2);
  });

  it('refuses queries Shopify refuses, as userErrors', async () => {
    const invalid = await run('{ customers { edges { node { id shoeSize } } } }');
    expect(invalid.bulkOperation).toBeNull();
    expect(invalid.userErrors[0]).toMatchObject({ field: ['query'], code: 'INVALID' });
    expect(invalid.userErrors[0].message).toMatch(/shoeSize/);
    const noConnection = await run('{ shop { name } }');
    expect(noConnection.userErrors[0].message).toMatch(/connection/);
    const noParentId = await run('{ customers { edges { node { email addressesV2 { edges { node { id } } } } } } }');
    expect(noParentId.userErrors[0].message).toMatch(/'id'/);
  });

  it('allows five concurrent bulk queries per shop', () => {
    const q = '{ customers { edges { node { id } } } }';
    const granted = h.shop.grantedScopes();
    const results = Array.from({ length: 6 }, () => h.shop.bulk.runQuery(q, { groupObjects: false, granted }));
    expect(results.slice(0, 5).every((r) => r.operation)).toBe(true);
    expect(results[5].userErrors[0].code).toBe('LIMIT_REACHED');
    return h.shop.bulkIdle();
  });

  it('cancels', async () => {
    // Cancelled in the same tick as it was started, so the export cannot finish first.
    const r = h.shop.bulk.runQuery('{ customers { edges { node { id } } } }', { groupObjects: false, granted: h.shop.grantedScopes() });
    expect(h.shop.bulk.cancel(r.operation!.id)).toMatchObject({ operation: { status: 'CANCELING' }, userErrors: [] });
    const id = `gid://shopify/BulkOperation/${r.operation!.id}`;
    expect((await poll(id)).status).toBe('CANCELED');
    const again = await h.gql('mutation($id: ID!) { bulkOperationCancel(id: $id) { bulkOperation { status } userErrors { field message } } }', { id });
    expect(again.body.data.bulkOperationCancel).toEqual({
      bulkOperation: { status: 'CANCELED' },
      userErrors: [{ field: ['id'], message: 'A bulk operation cannot be canceled when it is canceled' }],
    });
  });
});

describe('bulk faults', () => {
  const SIMPLE = '{ customers { edges { node { id email } } } }';

  it('FAILED: no url, no partial data', async () => {
    h.shop.failBulk('FAILED');
    const op = await poll((await run(SIMPLE)).bulkOperation!.id);
    expect(op).toMatchObject({ status: 'FAILED', errorCode: 'INTERNAL_SERVER_ERROR', url: null, partialDataUrl: null });
    // Armed for one operation only.
    expect((await poll((await run(SIMPLE)).bulkOperation!.id)).status).toBe('COMPLETED');
  });

  it('PARTIAL: FAILED with a partialDataUrl holding part of the export', async () => {
    h.shop.failBulk('PARTIAL');
    const op = await poll((await run(SIMPLE)).bulkOperation!.id);
    expect(op).toMatchObject({ status: 'FAILED', errorCode: 'TIMEOUT', url: null });
    const file = await download(op.partialDataUrl);
    const lines = file.text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThan(600);
  });

  it('EXPIRED: the operation ends EXPIRED without a url', async () => {
    h.shop.failBulk('EXPIRED');
    const op = await poll((await run(SIMPLE)).bulkOperation!.id);
    expect(op).toMatchObject({ status: 'EXPIRED', url: null });
  });

  it('truncated JSONL: the next download stops mid-line; the one after is whole', async () => {
    const op = await poll((await run(SIMPLE)).bulkOperation!.id);
    h.shop.truncateJsonl();
    const cut = await download(op.url);
    expect(cut.status).toBe(200);
    const lines = cut.text.split('\n');
    expect(cut.text.endsWith('\n')).toBe(false);
    expect(() => JSON.parse(lines[lines.length - 1])).toThrow();
    expect(lines.length - 1).toBeLessThan(Number(op.objectCount));
    const whole = await download(op.url);
    expect(whole.text.trimEnd().split('\n').map((l) => JSON.parse(l))).toHaveLength(600);
  });

  it('result URLs expire seven days after completion', async () => {
    const op = await poll((await run(SIMPLE)).bulkOperation!.id);
    h.clock.advance(8 * 86_400_000);
    const res = await download(op.url);
    expect(res.status).toBe(403);
    expect(res.text).toContain('ExpiredToken');
  });

  it('a bulk query touching a field without its scope fails with ACCESS_DENIED; with read_orders it completes', async () => {
    const withOrder = '{ customers { edges { node { id lastOrder { id name } } } } }';
    const denied = await poll((await run(withOrder)).bulkOperation!.id);
    expect(denied).toMatchObject({ status: 'FAILED', errorCode: 'ACCESS_DENIED' });
    h.shop.setScopes(['read_customers', 'read_orders']);
    try {
      const op = await poll((await run(withOrder)).bulkOperation!.id);
      expect(op.status).toBe('COMPLETED');
      const lines = (await download(op.url)).text.trimEnd().split('\n').map((l) => JSON.parse(l));
      expect(lines.some((l) => l.lastOrder?.id?.startsWith('gid://shopify/Order/'))).toBe(true);
    } finally {
      h.shop.setScopes(['read_customers']);
    }
  });
});
