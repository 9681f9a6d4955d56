// Every GraphQL document Kizuna sends is valid against Shopify's own 2026-04 schema, uses no deprecated field, and fits
// Shopify's single-query cost limit at the page sizes we use.
import { Kind, parse, validate, NoDeprecatedCustomRule, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { adminSchema } from '../../src/dev/shopify/schema.js';
import { MAX_SINGLE_QUERY_COST, requestedCost } from '../../src/dev/shopify/cost.js';
import { allDocuments, bulkCustomersQuery, customersPageSize, WEBHOOK_TOPICS } from '../../src/shopify/queries.js';

const { schema } = adminSchema();

function cost(doc: string, variables: Record<string, unknown>): number {
  const ast = parse(doc);
  const operation = ast.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
  const fragments = Object.fromEntries(
    ast.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [(d as FragmentDefinitionNode).name.value, d]),
  ) as Record<string, FragmentDefinitionNode>;
  const r = requestedCost({ schema, operation, fragments, variables });
  expect(r.errors).toEqual([]);
  return r.cost;
}

describe('Kizuna’s GraphQL documents', () => {
  for (const [name, doc] of Object.entries(allDocuments())) {
    it(`${name} is valid against the 2026-04 schema and uses no deprecated field`, () => {
      const errors = validate(schema, parse(doc), undefined, undefined).concat(validate(schema, parse(doc), [NoDeprecatedCustomRule]));
      expect(errors.map((e) => e.message)).toEqual([]);
    });
  }

  it('bulk inner queries are valid too (with and without a filter)', () => {
    for (const withLastOrder of [true, false]) {
      for (const filter of [undefined, "updated_at:>='2026-11-27T00:00:00.000Z'"]) {
        const errors = validate(schema, parse(bulkCustomersQuery(withLastOrder, filter)), undefined, undefined);
        // Bulk queries omit `first` on connections; graphql-js only validates the shape.
        expect(errors.map((e) => e.message)).toEqual([]);
      }
    }
  });

  it('a page of customers costs at most 1000 points, and one more customer would not fit', () => {
    const docs = allDocuments();
    for (const withLastOrder of [true, false]) {
      const doc = withLastOrder ? docs.customersPage_withLastOrder! : docs.customersPage_withoutLastOrder!;
      const size = customersPageSize(withLastOrder);
      expect(cost(doc, { first: size })).toBeLessThanOrEqual(MAX_SINGLE_QUERY_COST);
      expect(cost(doc, { first: size + 1 })).toBeGreaterThan(MAX_SINGLE_QUERY_COST);
    }
  });

  it('subscribes only to topics that exist in the schema', () => {
    const topics = schema.getType('WebhookSubscriptionTopic') as import('graphql').GraphQLEnumType;
    const names = new Set(topics.getValues().map((v) => v.name));
    for (const t of WEBHOOK_TOPICS) expect(names.has(t)).toBe(true);
  });
});
