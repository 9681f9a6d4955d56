// docs/shopify-fields.md is the field list the code creates and fills: names, keys, types and order from
// src/shopify/fields.ts, sources that exist in Shopify's 2026-04 schema and in the query Kizuna sends, and the labels the
// mapping really writes for every value of Shopify's enums.
import { GraphQLEnumType, GraphQLObjectType, getNamedType, parse, type GraphQLSchema, type SelectionSetNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { adminSchema } from '../../src/dev/shopify/schema.js';
import { SHOPIFY_CATEGORY_NAME, SHOPIFY_FIELDS } from '../../src/shopify/fields.js';
import { customerFields, ShopifyCustomerSchema } from '../../src/shopify/queries.js';
import { mapCustomer, matchableEmail } from '../../src/sync/map.js';
import { readDoc, tableAfter } from './helpers.js';

const doc = readDoc('docs/shopify-fields.md');
const fields = tableAfter(doc, '<!-- test/docs/shopify-fields.test.ts');
const stateLabels = tableAfter(doc, '`状態(shopify)` — ').map((r) => [r[0]!.replace(/`/g, ''), r[1]!] as const);
const consentLabels = tableAfter(doc, '`CustomerEmailAddressMarketingState`').map((r) => [r[0]!.replace(/`/g, ''), r[1]!] as const);

const customer = (over: Record<string, unknown>) =>
  ShopifyCustomerSchema.parse({
    id: 'gid://shopify/Customer/1',
    legacyResourceId: '1',
    state: 'ENABLED',
    verifiedEmail: true,
    numberOfOrders: '0',
    amountSpent: { amount: '0', currencyCode: 'JPY' },
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    ...over,
  });

/** Dotted paths (`defaultAddress.company`) of the GraphQL sources named in a row's last column. */
function sourcePaths(row: string[]): string[] {
  return [...row[4]!.matchAll(/`([a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)*)`/g)].map((m) => m[1]!);
}

function existsInSchema(schema: GraphQLSchema, path: string): boolean {
  let type = schema.getType('Customer');
  for (const name of path.split('.')) {
    if (!(type instanceof GraphQLObjectType)) return false;
    const field = type.getFields()[name];
    if (!field) return false;
    type = getNamedType(field.type);
  }
  return true;
}

function selectedPaths(set: SelectionSetNode, prefix = ''): string[] {
  return set.selections.flatMap((s) => {
    if (s.kind !== 'Field') return [];
    const path = prefix + s.name.value;
    return [path, ...(s.selectionSet ? selectedPaths(s.selectionSet, `${path}.`) : [])];
  });
}

function enumValues(name: string): string[] {
  const t = adminSchema().schema.getType(name);
  if (!(t instanceof GraphQLEnumType)) throw new Error(`${name} is not an enum in the schema`);
  return t.getValues().map((v) => v.name).sort();
}

describe('docs/shopify-fields.md', () => {
  it('lists the 22 fields of src/shopify/fields.ts: number, name, key and type, in order', () => {
    expect(fields.map((r) => [Number(r[0]), r[1], r[2]!.replace(/`/g, ''), r[3]])).toEqual(
      SHOPIFY_FIELDS.map((f, i) => [i + 1, f.name, f.key, f.type]),
    );
    expect(doc).toContain(`**\`${SHOPIFY_CATEGORY_NAME}\`**`);
  });

  it("names sources that are fields of Shopify's 2026-04 Customer and that Kizuna's query selects", () => {
    expect(fields.filter((r) => !sourcePaths(r).length).map((r) => r[1])).toEqual([]);
    const paths = fields.flatMap(sourcePaths);
    const schema = adminSchema().schema;
    expect(paths.filter((p) => !existsInSchema(schema, p))).toEqual([]);
    const query = parse(`{ c { ${customerFields(true)} } }`);
    const op = query.definitions[0]!;
    const selected = new Set(op.kind === 'OperationDefinition' ? selectedPaths((op.selectionSet.selections[0] as { selectionSet: SelectionSetNode }).selectionSet) : []);
    expect(paths.filter((p) => !selected.has(p))).toEqual([]);
  });

  it("labels every CustomerState value as the mapping does", () => {
    expect(stateLabels.map(([v]) => v).sort()).toEqual(enumValues('CustomerState'));
    for (const [value, label] of stateLabels) expect(mapCustomer(customer({ state: value })).state, value).toBe(label);
  });

  it('labels every email and SMS marketing state as the mapping does', () => {
    const documented = consentLabels.map(([v]) => v).sort();
    expect(documented).toEqual([...new Set([...enumValues('CustomerEmailAddressMarketingState'), ...enumValues('CustomerSmsMarketingState')])].sort());
    for (const [value, label] of consentLabels) {
      const c = mapCustomer(
        customer({
          defaultEmailAddress: { emailAddress: 'a@example.jp', marketingState: value },
          defaultPhoneNumber: { phoneNumber: '+819012345678', marketingState: value },
        }),
      );
      expect([c.email_marketing_consent, c.sms_marketing_consent], value).toEqual([label, label]);
    }
  });

  it('describes the matching rule the code applies', () => {
    expect(matchableEmail(customer({ defaultEmailAddress: { emailAddress: ' Hanako@Example.JP' } }))).toBe('hanako@example.jp');
    expect(doc).toContain('` Hanako@Example.JP` and `hanako@example.jp` match');
    expect(matchableEmail(customer({ verifiedEmail: false, defaultEmailAddress: { emailAddress: 'a@example.jp' } }))).toBeNull();
    expect(doc).toContain('(`verifiedEmail: true`)');
  });
});
