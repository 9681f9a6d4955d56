// POST /admin/api/{version}/graphql.json: parse and validate against Shopify's schema, refuse what Shopify refuses (in its
// error shapes, HTTP 200), price the query, take it from the shop's bucket, then execute with graphql-js over plain
// objects. The schema is a client schema (no resolvers), so a single field resolver reads each field from the object
// built for it — after checking the access scope Shopify documents for that field.
import {
  GraphQLError,
  Kind,
  execute,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isAbstractType,
  parse,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type FragmentDefinitionNode,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type Source,
} from 'graphql';
import { actualCost, MAX_SINGLE_QUERY_COST, requestedCost, type CostInput } from './cost.js';
import { adminSchema, ADMIN_API_VERSION, requiredScopes } from './schema.js';
import type { CustomerRecord } from './generator.js';
import { parseCustomerQuery } from './search.js';
import { sortValue, type Position, type SortKey } from './store.js';
import { connection, customerView, gid, isoDateTime, listPage, parseGid } from './shapes.js';
import type { BulkOperation } from './bulk.js';
import type { WebhookSubscription } from './webhooks.js';
import type { FakeShop } from './shop.js';

const DOCS_RATE_LIMITS = 'https://shopify.dev/api/usage/rate-limits';
const DOCS_SCOPES = 'https://shopify.dev/api/usage/access-scopes';

export interface GraphqlRequest {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

export interface GraphqlOutcome {
  body: Record<string, unknown>;
  operationName: string | null;
  requestedQueryCost: number | null;
  actualQueryCost: number | null;
  throttled: boolean;
}

interface ParsedDocument {
  document?: DocumentNode;
  errors?: Record<string, unknown>[];
}

// Parsing and validating against the 2026-04 schema is the slow part of a small query; clients repeat the same few
// documents (a sync sends one query thousands of times), so results are kept per query text.
const documentCache = new Map<string, ParsedDocument>();
const DOCUMENT_CACHE_SIZE = 500;

export function parseAndValidate(query: string): ParsedDocument {
  const hit = documentCache.get(query);
  if (hit) return hit;
  let out: ParsedDocument;
  try {
    const document = parse(query as string | Source);
    const errors = validate(adminSchema().schema, document);
    out = errors.length ? { errors: errors.map(shopifyValidationError) } : { document };
  } catch (err) {
    if (!(err instanceof GraphQLError)) throw err;
    out = { errors: [{ message: err.message.replace(/^Syntax Error: /, 'syntax error, '), locations: err.locations ?? [] }] };
  }
  if (documentCache.size >= DOCUMENT_CACHE_SIZE) documentCache.delete(documentCache.keys().next().value!);
  documentCache.set(query, out);
  return out;
}

/** graphql-js finds the same problems as Shopify's graphql-ruby; these are the messages and codes Shopify puts on them. */
function shopifyValidationError(err: GraphQLError): Record<string, unknown> {
  const locations = err.locations ?? [];
  let m = /^Cannot query field "([^"]+)" on type "([^"]+)"\./.exec(err.message);
  if (m) return { message: `Field '${m[1]}' doesn't exist on type '${m[2]}'`, locations, extensions: { code: 'undefinedField', typeName: m[2], fieldName: m[1] } };
  m = /^Unknown argument "([^"]+)" on field "[^".]+\.([^"]+)"\./.exec(err.message);
  if (m) return { message: `Field '${m[2]}' doesn't accept argument '${m[1]}'`, locations, extensions: { code: 'argumentNotAccepted', name: m[2], typeName: 'Field', argumentName: m[1] } };
  m = /^Field "([^"]+)" argument "([^"]+)" of type "[^"]+" is required, but it was not provided\./.exec(err.message);
  if (m) return { message: `Field '${m[1]}' is missing required arguments: ${m[2]}`, locations, extensions: { code: 'missingRequiredArguments', className: 'Field', name: m[1], arguments: m[2] } };
  m = /^Field "([^"]+)" of type "([^"]+)" must have a selection of subfields\./.exec(err.message);
  if (m) {
    const type = m[2].replace(/[[\]!]/g, '');
    return {
      message: `Field must have selections (field '${m[1]}' returns ${type} but has no selections. Did you mean '${m[1]} { ... }'?)`,
      locations,
      extensions: { code: 'selectionMismatch', nodeName: `field '${m[1]}'`, typeName: type },
    };
  }
  m = /^Field "([^"]+)" must not have a selection since type "([^"]+)" has no subfields\./.exec(err.message);
  if (m) return { message: `Selections can't be made on scalars (field '${m[1]}' returns ${m[2].replace(/[[\]!]/g, '')} but has selections)`, locations, extensions: { code: 'selectionMismatch', nodeName: `field '${m[1]}'`, typeName: m[2] } };
  return { message: err.message, locations };
}

function fragmentsOf(document: DocumentNode): Record<string, FragmentDefinitionNode> {
  const out: Record<string, FragmentDefinitionNode> = {};
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) out[def.name.value] = def;
  return out;
}

export function accessDenied(field: string, nodes: GraphQLError['nodes'], path: ReadonlyArray<string | number>): GraphQLError {
  return new GraphQLError(`Access denied for ${field} field.`, {
    nodes,
    path,
    extensions: { code: 'ACCESS_DENIED', documentation: DOCS_SCOPES },
  });
}

function pathArray(path: { prev: unknown; key: string | number } | undefined): (string | number)[] {
  const out: (string | number)[] = [];
  for (let p = path; p; p = p.prev as typeof path) out.unshift(p.key);
  return out;
}

export interface ExecContext {
  shop: FakeShop;
  granted: Set<string>;
  now: number;
  search: { path: (string | number)[]; query: string; warnings: { field: string; message: string }[] }[];
  /** Set while a bulk operation pages through the root connection. */
  bulk?: { after: Position | null; pageSize: number; last: Position | null; hasNext: boolean };
}

const NOT_SERVED = 'FAKE_SHOPIFY_NOT_IMPLEMENTED';

/**
 * Reads `source[field]` (calling it with the arguments when it is a function) once the field's access scope is granted.
 * A field the fake has no data for is an explicit error rather than a silent null, so a test never passes by accident.
 */
interface FieldInfo {
  needs: string[][];
  abstract: boolean;
}

// Per schema field, computed once: resolving a bulk export asks this for every field of every customer.
const fieldInfo = new WeakMap<object, Map<string, FieldInfo>>();

function infoFor(parentType: GraphQLObjectType, fieldName: string, returnType: Parameters<typeof requiredScopes>[2]): FieldInfo {
  let fields = fieldInfo.get(parentType);
  if (!fields) fieldInfo.set(parentType, (fields = new Map<string, FieldInfo>()));
  let info = fields.get(fieldName);
  if (!info) {
    info = { needs: requiredScopes(parentType.name, fieldName, returnType), abstract: isAbstractType(getNamedType(returnType)) };
    fields.set(fieldName, info);
  }
  return info;
}

/**
 * Reads `source[field]` (calling it with the arguments when it is a function) once the field's access scope is granted.
 * A field the fake has no data for is an explicit error rather than a silent null, so a test never passes by accident.
 */
export const fieldResolver: GraphQLFieldResolver<unknown, ExecContext> = (source, args, ctx, info) => {
  const { needs, abstract } = infoFor(info.parentType, info.fieldName, info.returnType);
  for (const anyOf of needs) {
    if (!anyOf.some((s) => ctx.granted.has(s))) throw accessDenied(info.fieldName, info.fieldNodes, pathArray(info.path as never));
  }
  const obj = source as Record<string, unknown>;
  const value = obj[info.fieldName];
  if (value === undefined) {
    throw new GraphQLError(`The development Shopify does not serve ${info.parentType.name}.${info.fieldName}.`, {
      nodes: info.fieldNodes,
      path: pathArray(info.path as never),
      extensions: { code: NOT_SERVED },
    });
  }
  const result = typeof value === 'function' ? (value as (a: unknown, c: ExecContext, i: unknown) => unknown).call(obj, args, ctx, info) : value;
  // Through `node`/`nodes` an abstract field can return a protected type; its own scope applies.
  if (abstract && result && typeof result === 'object' && '__typename' in result) {
    const scopes = adminSchema().typeScopes.get(String((result as { __typename: string }).__typename));
    if (scopes && !scopes.some((s) => ctx.granted.has(s))) throw accessDenied(info.fieldName, info.fieldNodes, pathArray(info.path as never));
  }
  return result;
};

// -------------------------------------------------------------------------------------------------------------- cursors

export function encodeCursor(c: CustomerRecord, key: SortKey): string {
  const v = sortValue(c, key);
  const lastValue = key === 'ID' ? String(v) : new Date(v).toISOString();
  return Buffer.from(JSON.stringify({ last_id: c.id, last_value: lastValue })).toString('base64');
}

function decodeCursor(cursor: string | null | undefined, key: SortKey): Position | null {
  if (cursor == null) return null;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64').toString('utf8')) as { last_id?: unknown; last_value?: unknown };
    const id = Number(v.last_id);
    const k = key === 'ID' ? Number(v.last_value) : Date.parse(String(v.last_value));
    if (Number.isSafeInteger(id) && Number.isFinite(k)) return { k, id };
  } catch {
    /* falls through */
  }
  throw new GraphQLError('Invalid cursor for current pagination sort.', { extensions: { code: 'BAD_REQUEST' } });
}

// ------------------------------------------------------------------------------------------------------------ resolvers

function sortKeyOf(value: unknown): SortKey {
  // NAME, LOCATION and RELEVANCE are valid in the schema; the fake orders them by ID.
  return value === 'UPDATED_AT' || value === 'CREATED_AT' ? value : 'ID';
}

interface ConnArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
  reverse?: boolean | null;
  sortKey?: string | null;
  query?: string | null;
}

function customersField(shop: FakeShop) {
  return (args: ConnArgs, ctx: ExecContext, info: { path: unknown }) => {
    const sortKey = sortKeyOf(args.sortKey);
    const reverse = !!args.reverse;
    const { filter, warnings } = parseCustomerQuery(args.query, shop.info.timeZone);
    if (warnings.length) ctx.search.push({ path: pathArray(info.path as never), query: args.query ?? '', warnings });
    let page;
    if (ctx.bulk) {
      page = shop.store.page({ sortKey, reverse, filter, first: ctx.bulk.pageSize, after: ctx.bulk.after });
      const lastItem = page.items[page.items.length - 1];
      ctx.bulk.last = lastItem ? { k: sortValue(lastItem, sortKey), id: lastItem.id } : null;
      ctx.bulk.hasNext = page.hasNextPage;
    } else {
      page = shop.store.page({
        sortKey,
        reverse,
        filter,
        first: args.first,
        last: args.last,
        after: decodeCursor(args.after, sortKey),
        before: decodeCursor(args.before, sortKey),
      });
    }
    return connection({ ...page, cursors: page.items.map((c) => encodeCursor(c, sortKey)) }, (c) => customerView(c, ctx.now));
  };
}

export function bulkOperationView(op: BulkOperation) {
  return {
    __typename: 'BulkOperation',
    id: gid('BulkOperation', op.id),
    status: op.status,
    errorCode: op.errorCode,
    createdAt: isoDateTime(op.createdAt),
    completedAt: isoDateTime(op.completedAt),
    objectCount: String(op.objectCount),
    rootObjectCount: String(op.rootObjectCount),
    fileSize: op.fileSize === null ? null : String(op.fileSize),
    url: op.url,
    partialDataUrl: op.partialDataUrl,
    query: op.query,
    type: 'QUERY',
  };
}

export function webhookSubscriptionView(sub: WebhookSubscription) {
  return {
    __typename: 'WebhookSubscription',
    id: gid('WebhookSubscription', sub.id),
    legacyResourceId: String(sub.id),
    topic: sub.topic,
    uri: sub.uri,
    callbackUrl: sub.uri,
    endpoint: { __typename: 'WebhookHttpEndpoint', callbackUrl: sub.uri },
    format: sub.format,
    includeFields: sub.includeFields,
    metafieldNamespaces: [],
    metafields: [],
    filter: sub.filter,
    name: sub.name,
    apiVersion: { handle: sub.apiVersion, displayName: sub.apiVersion, supported: true },
    createdAt: isoDateTime(sub.createdAt),
    updatedAt: isoDateTime(sub.updatedAt),
  };
}

function shopView(shop: FakeShop) {
  const i = shop.info;
  const offsetMin = shop.timezoneOffsetMinutes();
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return {
    __typename: 'Shop',
    id: gid('Shop', i.id),
    name: i.name,
    email: i.email,
    contactEmail: i.email,
    shopOwnerName: i.ownerName,
    description: null,
    myshopifyDomain: shop.domain,
    url: `https://${shop.domain}`,
    primaryDomain: { __typename: 'Domain', id: gid('Domain', i.id), host: shop.domain, url: `https://${shop.domain}`, sslEnabled: true, localization: null, marketWebPresence: null },
    currencyCode: i.currencyCode,
    enabledPresentmentCurrencies: [i.currencyCode],
    ianaTimezone: i.timeZone,
    timezoneAbbreviation: i.timeZone === 'Asia/Tokyo' ? 'JST' : 'UTC',
    timezoneOffset: `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`,
    timezoneOffsetMinutes: offsetMin,
    plan: { __typename: 'ShopPlan', displayName: i.plan, publicDisplayName: i.plan, partnerDevelopment: i.plan === 'Development', shopifyPlus: /plus/i.test(i.plan) },
    createdAt: isoDateTime(i.createdAt),
    updatedAt: isoDateTime(i.createdAt),
    taxesIncluded: true,
    taxShipping: false,
    setupRequired: false,
    checkoutApiSupported: true,
    transactionalSmsDisabled: false,
    marketingSmsConsentEnabledAtCheckout: false,
    customerAccounts: 'OPTIONAL',
    unitSystem: 'METRIC_SYSTEM',
    weightUnit: 'KILOGRAMS',
    orderNumberFormatPrefix: '#',
    orderNumberFormatSuffix: '',
    shipsToCountries: ['JP'],
    alerts: [],
  };
}

function appInstallationView(shop: FakeShop) {
  const scopes = shop.scopes.map((handle) => ({ handle, description: `The ${handle} access scope.` }));
  return {
    __typename: 'AppInstallation',
    id: gid('AppInstallation', shop.info.id),
    accessScopes: scopes,
    activeSubscriptions: [],
    launchUrl: `https://admin.shopify.com/store/${shop.domain.replace('.myshopify.com', '')}/apps/kizuna`,
    uninstallUrl: null,
    app: {
      __typename: 'App',
      id: gid('App', shop.info.id),
      title: shop.appTitle,
      handle: 'kizuna',
      apiKey: shop.clientId,
      requestedAccessScopes: scopes,
      availableAccessScopes: scopes,
      optionalAccessScopes: [],
      embedded: false,
      webhookApiVersion: ADMIN_API_VERSION,
    },
  };
}

/** A malformed id is an error; a well-formed id of another type or of nothing simply finds nothing. */
function assertGid(id: string): void {
  if (!/^gid:\/\/shopify\/\w+\/\d+/.test(id)) throw new GraphQLError(`Invalid global id '${id}'`, { extensions: { code: 'argumentLiteralsIncompatible', typeName: 'CoercionError' } });
}

function nodeById(shop: FakeShop, ctx: ExecContext, id: string): unknown {
  assertGid(id);
  const customerId = parseGid(id, 'Customer');
  if (customerId !== null) {
    const c = shop.store.get(customerId);
    return c ? customerView(c, ctx.now) : null;
  }
  const bulkId = parseGid(id, 'BulkOperation');
  if (bulkId !== null) {
    const op = shop.bulk.get(bulkId);
    return op ? bulkOperationView(op) : null;
  }
  const subId = parseGid(id, 'WebhookSubscription');
  if (subId !== null) {
    const sub = shop.webhooks.subscription(subId);
    return sub ? webhookSubscriptionView(sub) : null;
  }
  return null;
}

function queryRoot(shop: FakeShop) {
  return {
    shop: () => shopView(shop),
    currentAppInstallation: () => appInstallationView(shop),
    customers: customersField(shop),
    customer: ({ id }: { id: string }, ctx: ExecContext) => {
      assertGid(id);
      const n = parseGid(id, 'Customer');
      const c = n === null ? undefined : shop.store.get(n);
      return c ? customerView(c, ctx.now) : null;
    },
    customersCount: ({ query, limit }: { query?: string | null; limit?: number | null }, ctx: ExecContext, info: { path: unknown }) => {
      const { filter, warnings } = parseCustomerQuery(query, shop.info.timeZone);
      if (warnings.length) ctx.search.push({ path: pathArray(info.path as never), query: query ?? '', warnings });
      return shop.store.count(filter, limit === undefined ? 10_000 : limit);
    },
    node: ({ id }: { id: string }, ctx: ExecContext) => nodeById(shop, ctx, id),
    nodes: ({ ids }: { ids: string[] }, ctx: ExecContext) => ids.map((id) => nodeById(shop, ctx, id)),
    bulkOperation: ({ id }: { id: string }) => {
      const n = parseGid(id, 'BulkOperation');
      const op = n === null ? undefined : shop.bulk.get(n);
      return op ? bulkOperationView(op) : null;
    },
    bulkOperations: (args: ConnArgs) => {
      // `status:RUNNING OR status:CREATED`, `operation_type:QUERY`: groups joined by OR, terms within a group by AND.
      const groups = (args.query ?? '')
        .split(/\s+OR\s+/)
        .map((g) => g.split(/\s+/).filter((t) => t && t !== 'AND'))
        .filter((g) => g.length);
      const matches = (o: BulkOperation, term: string) => {
        const [field, raw] = term.split(':');
        const value = (raw ?? '').replace(/^['"]|['"]$/g, '').toUpperCase();
        if (field === 'status') return o.status === value;
        if (field === 'operation_type') return value === 'QUERY';
        return true;
      };
      const ops = shop.bulk.list().filter((o) => !groups.length || groups.some((g) => g.every((t) => matches(o, t))));
      const key = args.sortKey === 'COMPLETED_AT' ? (o: BulkOperation) => o.completedAt ?? Infinity : (o: BulkOperation) => o.createdAt;
      ops.sort((a, b) => key(a) - key(b) || a.id - b.id);
      return connection(listPage(ops, args), bulkOperationView);
    },
    currentBulkOperation: ({ type }: { type?: string }) => {
      if (type === 'MUTATION') return null;
      const ops = shop.bulk.list();
      return ops.length ? bulkOperationView(ops[ops.length - 1]) : null;
    },
    webhookSubscriptions: (args: ConnArgs & { topics?: string[] | null; uri?: string | null; callbackUrl?: string | null; format?: string | null }) => {
      let subs = shop.webhooks.subscriptions();
      if (args.topics?.length) subs = subs.filter((s) => args.topics!.includes(s.topic));
      const uri = args.uri ?? args.callbackUrl;
      if (uri) subs = subs.filter((s) => s.uri === uri);
      if (args.format) subs = subs.filter((s) => s.format === args.format);
      return connection(listPage(subs, args), webhookSubscriptionView);
    },
    webhookSubscription: ({ id }: { id: string }) => {
      const n = parseGid(id, 'WebhookSubscription');
      const sub = n === null ? undefined : shop.webhooks.subscription(n);
      return sub ? webhookSubscriptionView(sub) : null;
    },
  };
}

function mutationRoot(shop: FakeShop) {
  return {
    bulkOperationRunQuery: ({ query, groupObjects }: { query: string; groupObjects: boolean }, ctx: ExecContext) => {
      const res = shop.bulk.runQuery(query, { groupObjects, granted: ctx.granted });
      return { bulkOperation: res.operation ? bulkOperationView(res.operation) : null, userErrors: res.userErrors };
    },
    bulkOperationCancel: ({ id }: { id: string }) => {
      const n = parseGid(id, 'BulkOperation');
      const res = shop.bulk.cancel(n ?? -1);
      return { bulkOperation: res.operation ? bulkOperationView(res.operation) : null, userErrors: res.userErrors };
    },
    webhookSubscriptionCreate: (
      { topic, webhookSubscription: input }: { topic: string; webhookSubscription: { uri?: string | null; callbackUrl?: string | null; format?: string | null; includeFields?: string[] | null; filter?: string | null; name?: string | null } },
      ctx: ExecContext,
    ) => {
      const res = shop.webhooks.create({ topic, uri: input.uri ?? input.callbackUrl ?? '', format: input.format ?? 'JSON', includeFields: input.includeFields ?? [], filter: input.filter ?? null, name: input.name ?? null, granted: ctx.granted });
      return { webhookSubscription: res.subscription ? webhookSubscriptionView(res.subscription) : null, userErrors: res.userErrors };
    },
    webhookSubscriptionDelete: ({ id }: { id: string }) => {
      const n = parseGid(id, 'WebhookSubscription');
      const deleted = n !== null && shop.webhooks.delete(n);
      return deleted
        ? { deletedWebhookSubscriptionId: id, userErrors: [] }
        : { deletedWebhookSubscriptionId: null, userErrors: [{ field: ['id'], message: 'Webhook subscription does not exist' }] };
    },
  };
}

// ------------------------------------------------------------------------------------------------------------- requests

function costExtension(shop: FakeShop, requested: number | null, actual: number | null) {
  return { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus: shop.bucket.status() };
}

function errorJson(err: GraphQLError): Record<string, unknown> {
  const json = { ...err.toJSON() } as Record<string, unknown>;
  if (!json.locations) delete json.locations;
  return json;
}

export function handleGraphql(shop: FakeShop, request: GraphqlRequest): GraphqlOutcome {
  const operationName = typeof request.operationName === 'string' ? request.operationName : null;
  const outcome = (body: Record<string, unknown>, requested: number | null = null, actual: number | null = null, throttled = false): GraphqlOutcome => ({
    body,
    operationName,
    requestedQueryCost: requested,
    actualQueryCost: actual,
    throttled,
  });
  // Refused before pricing: nothing is charged, the answer still reports the bucket.
  const refuse = (errors: unknown[]) => outcome({ errors, extensions: { cost: costExtension(shop, 0, 0) } }, 0, 0);
  if (typeof request.query !== 'string' || !request.query.trim()) return refuse([{ message: 'No query string was present' }]);
  const parsed = parseAndValidate(request.query);
  if (!parsed.document) return refuse(parsed.errors ?? []);
  const document = parsed.document;
  const operation = getOperationAST(document, operationName);
  if (!operation) return refuse([{ message: operationName ? `No operation named "${operationName}"` : 'An operation name is required' }]);
  if (operation.operation === 'subscription') return refuse([{ message: 'Subscriptions are not supported by the Admin API' }]);
  const { schema } = adminSchema();
  const inputs = request.variables && typeof request.variables === 'object' ? (request.variables as Record<string, unknown>) : {};
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], inputs);
  if (coerced.errors) return refuse(coerced.errors.map(errorJson));

  const costInput: CostInput = { schema, operation, fragments: fragmentsOf(document), variables: coerced.coerced };
  const requested = requestedCost(costInput);
  if (requested.errors.length) {
    return outcome({ errors: requested.errors.map(errorJson), data: null, extensions: { cost: costExtension(shop, requested.cost, 0) } }, requested.cost, 0);
  }
  if (requested.cost > MAX_SINGLE_QUERY_COST) {
    const message =
      `Query cost is ${requested.cost}, which exceeds the single query max cost limit (${MAX_SINGLE_QUERY_COST}).\n\n` +
      'See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\n' +
      'To query larger amounts of data with fewer limits, bulk operations should be used instead.\n' +
      'See https://shopify.dev/api/usage/bulk-operations/queries for usage details.\n';
    return outcome(
      {
        errors: [{ message, extensions: { code: 'MAX_COST_EXCEEDED', cost: requested.cost, maxCost: MAX_SINGLE_QUERY_COST, documentation: DOCS_RATE_LIMITS } }],
        extensions: { cost: costExtension(shop, requested.cost, null) },
      },
      requested.cost,
      null,
    );
  }
  if (!shop.bucket.tryTake(requested.cost)) {
    return outcome(
      {
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: DOCS_RATE_LIMITS } }],
        extensions: { cost: costExtension(shop, requested.cost, null) },
      },
      requested.cost,
      null,
      true,
    );
  }

  const ctx: ExecContext = { shop, granted: shop.grantedScopes(), now: shop.now(), search: [] };
  const result = execute({
    schema,
    document,
    operationName: operationName ?? undefined,
    rootValue: operation.operation === 'mutation' ? mutationRoot(shop) : queryRoot(shop),
    contextValue: ctx,
    variableValues: inputs,
    fieldResolver,
  }) as ExecutionResult;
  const actual = Math.min(requested.cost, actualCost(costInput, result.data as Record<string, unknown> | null));
  shop.bucket.refund(requested.cost - actual);
  const body: Record<string, unknown> = {};
  if (result.errors?.length) body.errors = result.errors.map(errorJson);
  body.data = result.data ?? null;
  const extensions: Record<string, unknown> = { cost: costExtension(shop, requested.cost, actual) };
  if (ctx.search.length) extensions.search = ctx.search;
  body.extensions = extensions;
  return outcome(body, requested.cost, actual);
}

/** One page of a bulk query: the same execution, with the root connection paged by the bulk runner instead of `first`. */
export function executeBulkPage(
  shop: FakeShop,
  document: DocumentNode,
  granted: Set<string>,
  after: Position | null,
  pageSize: number,
): { result: ExecutionResult; last: Position | null; hasNext: boolean } {
  const ctx: ExecContext = { shop, granted, now: shop.now(), search: [], bulk: { after, pageSize, last: null, hasNext: false } };
  const result = execute({ schema: adminSchema().schema, document, rootValue: queryRoot(shop), contextValue: ctx, fieldResolver }) as ExecutionResult;
  return { result, last: ctx.bulk!.last, hasNext: ctx.bulk!.hasNext };
}

