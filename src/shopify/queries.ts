// Every GraphQL document Kizuna sends to Shopify, in one place, using only current (non-deprecated) 2026-04 fields, and the
// shape a customer comes back in (ShopifyCustomerSchema). test/shopify/queries.test.ts validates each document against
// Shopify's own schema and prices it with Shopify's cost rules.
import { z } from 'zod';
import type { GraphQLErrorShape } from './client.js';
import { ShopifyCodes, ShopifyError } from './errors.js';

/** https://shopify.dev/docs/api/admin-graphql/latest/queries/shop · …/queries/currentAppInstallation */
export const SHOP_CHECK = /* GraphQL */ `
  query KizunaShopCheck {
    shop { name myshopifyDomain currencyCode ianaTimezone plan { publicDisplayName } }
    currentAppInstallation { accessScopes { handle } }
  }
`;

/** https://shopify.dev/docs/api/admin-graphql/latest/queries/customersCount — `limit: null` counts past 10,000. */
export const CUSTOMERS_COUNT = /* GraphQL */ `
  query KizunaCustomersCount($query: String) {
    customersCount(query: $query, limit: null) { count precision }
  }
`;

/**
 * The lowest and highest customer ids (https://shopify.dev/docs/api/admin-graphql/latest/queries/customers, sortKey ID): the ends
 * of the id range a large full export is split across.
 */
export const CUSTOMER_ID_ENDS = /* GraphQL */ `
  query KizunaCustomerIdEnds {
    lowest: customers(first: 1, sortKey: ID) { nodes { legacyResourceId } }
    highest: customers(first: 1, sortKey: ID, reverse: true) { nodes { legacyResourceId } }
  }
`;

/** How many customers have an id at or below each of `n` thresholds, in one call (`id:<=…` is a documented customers filter). */
export function customersCountsUpTo(n: number): string {
  const vars = Array.from({ length: n }, (_, i) => `$q${i}: String!`).join(', ');
  const fields = Array.from({ length: n }, (_, i) => `c${i}: customersCount(query: $q${i}, limit: null) { count }`).join('\n    ');
  return /* GraphQL */ `
  query KizunaCustomersCountsUpTo(${vars}) {
    ${fields}
  }
`;
}

// The customer fields behind the 22 custom data fields (docs/shopify-fields.md). `lastOrder` needs read_orders: it is only asked for when
// that scope is granted; otherwise the last order id comes from REST `last_order_id` (read_customers) — see sync/fetch.ts.
const CUSTOMER_FIELDS = `
  id legacyResourceId firstName lastName state verifiedEmail note tags numberOfOrders createdAt updatedAt
  amountSpent { amount currencyCode }
  defaultEmailAddress { emailAddress marketingState }
  defaultPhoneNumber { phoneNumber marketingState }
  defaultAddress { company zip province provinceCode city address1 address2 countryCodeV2 }`;
const LAST_ORDER = `lastOrder { legacyResourceId }`;

export function customerFields(withLastOrder: boolean): string {
  return withLastOrder ? `${CUSTOMER_FIELDS}\n  ${LAST_ORDER}` : CUSTOMER_FIELDS;
}

const marketingState = z.string();
/** A customer as those fields come back: validated where it enters (zod), lenient about absent optional objects. */
export const ShopifyCustomerSchema = z.object({
  id: z.string(),
  legacyResourceId: z.string(),
  firstName: z.string().nullable().optional(),
  lastName: z.string().nullable().optional(),
  state: z.string(),
  verifiedEmail: z.boolean(),
  note: z.string().nullable().optional(),
  tags: z.array(z.string()).default([]),
  numberOfOrders: z.union([z.string(), z.number()]).transform(String),
  amountSpent: z.object({ amount: z.union([z.string(), z.number()]).transform(String), currencyCode: z.string() }),
  defaultEmailAddress: z.object({ emailAddress: z.string().nullable(), marketingState: marketingState.nullable().optional() }).nullable().optional(),
  defaultPhoneNumber: z.object({ phoneNumber: z.string().nullable(), marketingState: marketingState.nullable().optional() }).nullable().optional(),
  defaultAddress: z
    .object({
      company: z.string().nullable().optional(),
      zip: z.string().nullable().optional(),
      province: z.string().nullable().optional(),
      provinceCode: z.string().nullable().optional(),
      city: z.string().nullable().optional(),
      address1: z.string().nullable().optional(),
      address2: z.string().nullable().optional(),
      countryCodeV2: z.string().nullable().optional(),
    })
    .nullable()
    .optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Present only when the query asked for it (read_orders granted); null when denied or no orders. */
  lastOrder: z.object({ legacyResourceId: z.string() }).nullable().optional(),
});
export type ShopifyCustomer = z.output<typeof ShopifyCustomerSchema>;

/** A customer node as Kizuna reads it; SHOPIFY_QUERY_REJECTED when Shopify sent something else. */
export function parseShopifyCustomer(node: unknown): ShopifyCustomer {
  const parsed = ShopifyCustomerSchema.safeParse(node);
  if (!parsed.success) {
    throw new ShopifyError(
      ShopifyCodes.SHOPIFY_QUERY_REJECTED,
      `Shopify sent a customer Kizuna cannot read: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/** Whether Shopify answered ACCESS_DENIED for `lastOrder` (the rest of the data came with it). */
export function lastOrderDenied(errors: GraphQLErrorShape[]): boolean {
  return errors.some((e) => e.extensions?.code === 'ACCESS_DENIED' && e.path?.includes('lastOrder'));
}

/** A customer node as if `lastOrder` had not been asked for (undefined, not null: null would mean "no orders"). */
export function withoutLastOrder(node: unknown): unknown {
  if (!node || typeof node !== 'object') return node;
  const { lastOrder: _denied, ...rest } = node as Record<string, unknown>;
  return rest;
}

/** "gid://shopify/Order/123" or 123 → "123". */
export function numericId(id: string | number | null | undefined): string | null {
  if (id === null || id === undefined || id === '') return null;
  const m = /(\d+)$/.exec(String(id));
  return m ? m[1]! : null;
}

/**
 * One page of customers in updatedAt order. https://shopify.dev/docs/api/admin-graphql/latest/queries/customers
 * Page size: a single query may cost at most 1000 points; a customer costs 5 objects (6 with lastOrder), the connection 2
 * and pageInfo 1, so 166 customers a page fit with lastOrder and 199 without (checked in the test).
 */
export function customersPage(withLastOrder: boolean): string {
  return /* GraphQL */ `
    query KizunaCustomersPage($first: Int!, $after: String, $query: String) {
      customers(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {
        pageInfo { hasNextPage endCursor }
        nodes { ${customerFields(withLastOrder)} }
      }
    }
  `;
}

export function customersPageSize(withLastOrder: boolean): number {
  return withLastOrder ? 166 : 199;
}

/** One customer by id (webhook follow-up: webhooks since 2025-01 lack tags, consent and order totals). */
export function customerById(withLastOrder: boolean): string {
  return /* GraphQL */ `
    query KizunaCustomer($id: ID!) {
      customer(id: $id) { ${customerFields(withLastOrder)} }
    }
  `;
}

/** Up to 250 customers by id in one call (webhook follow-ups, batched). https://shopify.dev/docs/api/admin-graphql/latest/queries/nodes */
export function customersByIds(withLastOrder: boolean): string {
  return /* GraphQL */ `
    query KizunaCustomersByIds($ids: [ID!]!) {
      nodes(ids: $ids) { ... on Customer { ${customerFields(withLastOrder)} } }
    }
  `;
}

/** The inner query of a bulk export; bulk queries page by themselves, so the connection takes no `first`. */
export function bulkCustomersQuery(withLastOrder: boolean, filter?: string): string {
  const args = filter ? `(query: ${JSON.stringify(filter)})` : '';
  return `{ customers${args} { edges { node { ${customerFields(withLastOrder)} } } } }`;
}

/** https://shopify.dev/docs/api/admin-graphql/latest/mutations/bulkOperationRunQuery */
export const BULK_RUN = /* GraphQL */ `
  mutation KizunaBulkRun($query: String!) {
    bulkOperationRunQuery(query: $query, groupObjects: false) {
      bulkOperation { id status }
      userErrors { field message code }
    }
  }
`;

/** https://shopify.dev/docs/api/admin-graphql/latest/queries/bulkOperation */
export const BULK_STATUS = /* GraphQL */ `
  query KizunaBulkStatus($id: ID!) {
    bulkOperation(id: $id) { id status errorCode objectCount rootObjectCount url partialDataUrl createdAt completedAt }
  }
`;

/** Bulk queries already running for this app on this shop (an earlier run of ours that died, or another one still going). */
export const BULK_RUNNING = /* GraphQL */ `
  query KizunaBulkRunning {
    bulkOperations(first: 5, query: "status:RUNNING OR status:CREATED", sortKey: CREATED_AT, reverse: true) {
      nodes { id status query createdAt type }
    }
  }
`;

/** https://shopify.dev/docs/api/admin-graphql/latest/mutations/bulkOperationCancel */
export const BULK_CANCEL = /* GraphQL */ `
  mutation KizunaBulkCancel($id: ID!) {
    bulkOperationCancel(id: $id) { bulkOperation { id status } userErrors { field message } }
  }
`;

/** https://shopify.dev/docs/api/admin-graphql/latest/mutations/webhookSubscriptionCreate */
export const WEBHOOK_CREATE = /* GraphQL */ `
  mutation KizunaWebhookCreate($topic: WebhookSubscriptionTopic!, $uri: String!) {
    webhookSubscriptionCreate(topic: $topic, webhookSubscription: { uri: $uri, format: JSON }) {
      webhookSubscription { id topic uri }
      userErrors { field message }
    }
  }
`;

/** https://shopify.dev/docs/api/admin-graphql/latest/queries/webhookSubscriptions */
export const WEBHOOK_LIST = /* GraphQL */ `
  query KizunaWebhookList($uri: String) {
    webhookSubscriptions(first: 50, uri: $uri) { nodes { id topic uri } }
  }
`;

/** https://shopify.dev/docs/api/admin-graphql/latest/mutations/webhookSubscriptionDelete */
export const WEBHOOK_DELETE = /* GraphQL */ `
  mutation KizunaWebhookDelete($id: ID!) {
    webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
  }
`;

/** The topics Kizuna subscribes to on 連携. */
export const WEBHOOK_TOPICS = [
  'CUSTOMERS_CREATE',
  'CUSTOMERS_UPDATE',
  'CUSTOMERS_DELETE',
  'CUSTOMERS_PURCHASING_SUMMARY',
  'CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE',
  'CUSTOMERS_MARKETING_CONSENT_UPDATE',
] as const;

/** Every document above, for the schema test. */
export function allDocuments(): Record<string, string> {
  return {
    SHOP_CHECK,
    CUSTOMERS_COUNT,
    CUSTOMER_ID_ENDS,
    customersCountsUpTo_15: customersCountsUpTo(15),
    customersPage_withLastOrder: customersPage(true),
    customersPage_withoutLastOrder: customersPage(false),
    customerById_withLastOrder: customerById(true),
    customerById_withoutLastOrder: customerById(false),
    customersByIds_withLastOrder: customersByIds(true),
    customersByIds_withoutLastOrder: customersByIds(false),
    BULK_RUN,
    BULK_STATUS,
    BULK_RUNNING,
    BULK_CANCEL,
    WEBHOOK_CREATE,
    WEBHOOK_LIST,
    WEBHOOK_DELETE,
  };
}
