// Validation against Shopify's schema, query cost by Shopify's rules, and the leaky bucket on an injected clock.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, shapeOf, type Harness } from './helpers.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

let h: Harness;
beforeAll(async () => {
  h = await harness({ customers: 10_000, seed: 3 });
});
afterAll(() => h.fake.close());

describe('validation against the 2026-04 schema', () => {
  it('rejects an unknown field the way Shopify does: HTTP 200, errors[], no data', async () => {
    const res = await h.gql('{ customers(first: 1) { nodes { id favouriteColour } } }');
    expect(res.status).toBe(200);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toEqual([
      {
        message: "Field 'favouriteColour' doesn't exist on type 'Customer'",
        locations: [{ line: 1, column: 36 }],
        extensions: { code: 'undefinedField', typeName: 'Customer', fieldName: 'favouriteColour' },
      },
    ]);
    expect(res.body.extensions.cost.throttleStatus.maximumAvailable).toBe(2000);
  });

  it('accepts deprecated fields that still exist (email, phone, emailMarketingConsent)', async () => {
    const res = await h.gql('{ customers(first: 2) { nodes { id email phone emailMarketingConsent { marketingState } } } }');
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.customers.nodes).toHaveLength(2);
    expect(res.body.data.customers.nodes[0]).toHaveProperty('email');
  });

  it('rejects unknown arguments, missing required arguments, bad enum values and syntax errors', async () => {
    const arg = await h.gql('{ customers(frist: 1) { nodes { id } } }');
    expect(arg.body.errors[0]).toMatchObject({ message: "Field 'customers' doesn't accept argument 'frist'", extensions: { code: 'argumentNotAccepted' } });
    const missing = await h.gql('{ customer { id } }');
    expect(missing.body.errors[0]).toMatchObject({ message: "Field 'customer' is missing required arguments: id", extensions: { code: 'missingRequiredArguments' } });
    const bulkArgs = await h.gql('mutation { bulkOperationRunQuery { userErrors { message } } }');
    expect(bulkArgs.body.errors[0].message).toBe("Field 'bulkOperationRunQuery' is missing required arguments: query");
    const sortKey = await h.gql('{ customers(first: 1, sortKey: EMAIL) { nodes { id } } }');
    expect(sortKey.body.errors[0].message).toMatch(/EMAIL/);
    const syntax = await h.gql('{ customers(first: 1) { nodes { id } }');
    expect(syntax.body.errors[0].message).toMatch(/^syntax error/);
    expect(syntax.body.errors[0].locations).toEqual([{ line: 1, column: 39 }]);
    const variables = await h.gql('query($n: Int!) { customers(first: $n) { nodes { id } } }', { n: 'ten' });
    expect(variables.body.errors[0].message).toMatch(/\$n/);
  });

  it('refuses a connection without first or last, and pages over 250', async () => {
    const none = await h.gql('{ customers { nodes { id } } }');
    expect(none.body.errors[0]).toMatchObject({ message: 'you must provide one of first or last', path: ['customers'] });
    expect(none.body.data).toBeNull();
    const big = await h.gql('{ customers(first: 251) { nodes { id } } }');
    expect(big.body.errors[0].message).toMatch(/250/);
  });
});

describe('query cost (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits)', () => {
  const cost = async (query: string, variables?: Record<string, unknown>) => {
    h.shop.throttle({ currentlyAvailable: 2000 });
    const res = await h.gql(query, variables);
    expect(res.body.errors).toBeUndefined();
    return res.body.extensions.cost as { requestedQueryCost: number; actualQueryCost: number };
  };

  it('connections cost 2 + first × node; objects 1; scalars and enums 0', async () => {
    expect(await cost('{ customers(first: 250) { nodes { id } } }')).toMatchObject({ requestedQueryCost: 252, actualQueryCost: 252 });
    // edges/node/cursor and pageInfo are part of the connection's own 2 points.
    expect(await cost('{ customers(first: 250) { pageInfo { hasNextPage endCursor } edges { cursor node { id state } } } }')).toMatchObject({ requestedQueryCost: 252 });
    // Customer 1 + amountSpent 1 + defaultEmailAddress 1 + defaultAddress 1 = 4 per node.
    expect(
      await cost('query($n: Int!) { customers(first: $n) { nodes { id tags amountSpent { amount } defaultEmailAddress { marketingState } defaultAddress { zip } } } }', { n: 10 }),
    ).toMatchObject({ requestedQueryCost: 42, actualQueryCost: 42 });
    expect(await cost('{ shop { name plan { publicDisplayName } } }')).toMatchObject({ requestedQueryCost: 2, actualQueryCost: 2 });
    expect(await cost('{ customersCount { count precision } }')).toMatchObject({ requestedQueryCost: 1 });
  });

  it('nested connections multiply; interfaces cost their most expensive member', async () => {
    // 2 + 10 × (1 customer + (2 + 5 × 1 address))
    expect(await cost('{ customers(first: 10) { nodes { id addressesV2(first: 5) { nodes { id } } } } }')).toMatchObject({ requestedQueryCost: 82 });
    const id = `gid://shopify/Customer/${h.shop.store.generator.idOf(0)}`;
    expect(await cost(`{ node(id: "${id}") { id ... on Customer { defaultAddress { zip } amountSpent { amount } } } }`)).toMatchObject({ requestedQueryCost: 3, actualQueryCost: 3 });
  });

  it('actual cost counts the nodes really returned', async () => {
    // A filter that matches 3 customers: 2 + 3.
    const ids = [0, 1, 2].map((i) => h.shop.store.generator.idOf(i));
    const res = await cost(`{ customers(first: 250, query: "id:<=${ids[2]}") { nodes { id } } }`);
    expect(res).toMatchObject({ requestedQueryCost: 252, actualQueryCost: 5 });
    // An empty page still costs one node, as Shopify reports (actual 3 for first: 10 returning nothing).
    expect(await cost('{ customers(first: 10, query: "email:nobody@example.invalid") { nodes { id } } }')).toMatchObject({ requestedQueryCost: 12, actualQueryCost: 3 });
  });

  it('mutations cost 10', async () => {
    const res = await cost('mutation { webhookSubscriptionDelete(id: "gid://shopify/WebhookSubscription/1") { deletedWebhookSubscriptionId userErrors { field message } } }');
    expect(res).toMatchObject({ requestedQueryCost: 10, actualQueryCost: 10 });
  });

  it('refuses a query over 1000 points before running it (MAX_COST_EXCEEDED), without charging the bucket', async () => {
    h.shop.throttle({ currentlyAvailable: 2000 });
    const res = await h.gql('{ customers(first: 250) { nodes { id amountSpent { amount } defaultAddress { zip } defaultEmailAddress { emailAddress } } } }');
    expect(res.status).toBe(200);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors[0].message).toMatch(/^Query cost is 1002, which exceeds the single query max cost limit \(1000\)\./);
    expect(res.body.errors[0].extensions).toEqual({ code: 'MAX_COST_EXCEEDED', cost: 1002, maxCost: 1000, documentation: 'https://shopify.dev/api/usage/rate-limits' });
    expect(res.body.extensions.cost).toMatchObject({ requestedQueryCost: 1002, actualQueryCost: null, throttleStatus: { currentlyAvailable: 2000 } });
  });

  it('puts extensions.cost on every answer in the shape of Shopify\'s sample', async () => {
    const res = await h.gql('{ shop { name } }');
    expect(shapeOf(res.body.extensions)).toEqual(shapeOf(fixture('cost_extension_2026-01.json').extensions));
  });

  it('logs each request with its cost', async () => {
    h.shop.clearRequests();
    await h.gql('query Named { customers(first: 5) { nodes { id } } }');
    const [entry] = h.shop.requests();
    expect(entry).toMatchObject({ route: 'graphql', status: 200, operationName: null, requestedQueryCost: 7, actualQueryCost: 7, throttled: false });
    expect(entry.query).toContain('customers(first: 5)');
  });
});

describe('leaky bucket', () => {
  it('drains, answers THROTTLED (HTTP 200, Shopify\'s body) and restores with the clock', async () => {
    h.shop.throttle({ maximumAvailable: 2000, restoreRate: 100, currentlyAvailable: 2000 });
    const page = '{ customers(first: 250) { nodes { id } } }';
    const seen: number[] = [];
    for (let i = 0; i < 7; i++) seen.push((await h.gql(page)).body.extensions.cost.throttleStatus.currentlyAvailable);
    expect(seen).toEqual([1748, 1496, 1244, 992, 740, 488, 236]);

    const throttled = await h.gql(page);
    expect(throttled.status).toBe(200);
    expect(throttled.body.data).toBeUndefined();
    expect(throttled.body).toEqual({
      errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }],
      extensions: { cost: { requestedQueryCost: 252, actualQueryCost: null, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 236, restoreRate: 100 } } },
    });
    expect(shapeOf(throttled.body)).toEqual(shapeOf({ ...fixture('throttled_response_legacy_limits.json') }));
    expect(h.shop.requests().at(-1)).toMatchObject({ throttled: true, actualQueryCost: null });

    h.clock.advance(150); // +15 points: 251, still one short
    expect((await h.gql(page)).body.errors?.[0].extensions.code).toBe('THROTTLED');
    h.clock.advance(10); // +1 point
    const ok = await h.gql(page);
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.extensions.cost.throttleStatus.currentlyAvailable).toBe(0);

    h.clock.advance(60_000); // refills to the maximum, never beyond
    expect(h.shop.bucketStatus().currentlyAvailable).toBe(2000);
  });

  it('takes the requested cost up front and gives back the difference after the run', async () => {
    h.shop.throttle({ currentlyAvailable: 300 });
    const res = await h.gql('{ customers(first: 250, query: "state:ENABLED email:nobody@example.invalid") { nodes { id } } }');
    expect(res.body.extensions.cost).toMatchObject({ requestedQueryCost: 252, actualQueryCost: 3, throttleStatus: { currentlyAvailable: 297 } });
  });

  it('is configurable per shop (Plus: 20 000 points, 1000 per second)', async () => {
    const status = h.shop.throttle({ maximumAvailable: 20_000, restoreRate: 1000, currentlyAvailable: 20_000 });
    expect(status).toEqual({ maximumAvailable: 20_000, currentlyAvailable: 20_000, restoreRate: 1000 });
    const res = await h.gql('{ shop { name } }');
    expect(res.body.extensions.cost.throttleStatus).toEqual({ maximumAvailable: 20_000, currentlyAvailable: 19_999, restoreRate: 1000 });
    h.shop.throttle({ maximumAvailable: 2000, restoreRate: 100, currentlyAvailable: 2000 });
  });
});
