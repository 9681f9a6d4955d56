// Requests for every route of the catalogue: path parameters filled with real ids (A's mostly, B's too) and hostile values,
// query strings, an authentication, and a body — shaped like what the route reads, with hostile values in each place, or any
// body at all. A route without a shape of its own here still gets hostile parameters, queries and generic bodies, so a route
// added later is fuzzed from the day it is registered.
import fc from 'fast-check';
import { OPS } from '../../src/delivery/segments.js';
import {
  contentType,
  csvFile,
  formBody,
  hostileDate,
  hostileDateTime,
  hostileEmail,
  hostileJson,
  hostileNumber,
  hostileString,
  KNOWN_KEYS,
  numericString,
  queryArb,
  rawBytes,
  rawJsonText,
  urlPart,
  wrongType,
} from './arbitraries.js';
import type { AuthKind, Plan, TenantIds, World } from './world.js';

export interface CatalogueRoute {
  method: string;
  url: string;
  auth: string | undefined;
}

type Body = NonNullable<Plan['body']>;

/** The longest URL generated: what a real HTTP request line can carry to the server (Node's limit is 16 KiB of headers). */
const MAX_URL = 8 * 1024;

const json = (arb: fc.Arbitrary<unknown>): fc.Arbitrary<Body> =>
  fc
    .tuple(arb, fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8'))
    .map(([v, ct]) => ({ payload: JSON.stringify(v) ?? '', contentType: ct }));

const form = (pairs: fc.Arbitrary<[string, string][]>): fc.Arbitrary<Body> =>
  fc.tuple(pairs, fc.boolean()).map(([p, raw]) => ({ payload: formBody(p, raw), contentType: 'application/x-www-form-urlencoded', form: true }));

/** Any body: JSON of any shape, deep or wide JSON text, a form, a CSV, bytes; with a matching, wrong or missing content type. */
export const genericBody: fc.Arbitrary<Body> = fc.oneof(
  { weight: 4, arbitrary: json(hostileJson) },
  { weight: 2, arbitrary: rawJsonText.map((payload) => ({ payload, contentType: 'application/json' })) },
  {
    weight: 2,
    arbitrary: form(fc.array(fc.tuple(fc.oneof(fc.constantFrom(...KNOWN_KEYS), hostileString), fc.oneof(hostileString, numericString)), { maxLength: 5 })),
  },
  { weight: 1, arbitrary: csvFile.map((payload) => ({ payload, contentType: 'text/csv' })) },
  { weight: 2, arbitrary: fc.tuple(rawBytes, contentType).map(([payload, ct]) => ({ payload, contentType: ct })) },
  { weight: 1, arbitrary: fc.tuple(hostileJson, contentType).map(([v, ct]) => ({ payload: JSON.stringify(v) ?? '', contentType: ct })) },
  { weight: 1, arbitrary: fc.constantFrom<Body>({ payload: '', contentType: 'application/json' }, { payload: '', contentType: 'application/x-www-form-urlencoded', form: true }, { payload: 'null', contentType: 'application/json' }, { payload: '[]', contentType: 'application/json' }) },
);

/** Query keys each route reads (others get hostile keys only). */
const QUERY_KEYS: Record<string, string[]> = {
  'GET /api/v1/friends': ['q', 'email', 'page', 'perPage'],
  'GET /api/v1/deliveries': ['segmentId'],
  'GET /login': ['next'],
  'GET /friends': ['q', 'page'],
  'GET /segments': ['ok'],
  'GET /segments/:id': ['ok'],
  'GET /settings/integrations/shopify': ['ok'],
  'GET /liff/sdk.js': ['v'],
};

/** Real ids a path parameter takes, by the segment before it (A's first, then B's: A fuzzes with B's ids too). */
export function realIds(w: World, url: string, param: string): { a: string[]; b: string[] } {
  const before = url.split('/:' + param)[0]!.split('/').at(-1);
  const pick = (k: keyof TenantIds) => ({ a: w.a.ids[k], b: w.b.ids[k] });
  if (param === 'tenantId') return { a: [w.a.id], b: [w.b.id] };
  // the text field five times in ten: it is the one whose values are strings, where hostile strings reach the database
  if (param === 'fieldId' || before === 'fields') return { a: [...Array<string>(4).fill(w.a.ids.textField[0]!), ...w.a.ids.field], b: w.b.ids.field };
  if (before === 'friends') return pick('friend');
  if (before === 'categories') return pick('category');
  if (before === 'segments') return pick('segment');
  if (before === 'deliveries') return pick('delivery');
  if (before === 'runs') return pick('run');
  const all = (t: World['a']) => [t.id, ...Object.values(t.ids).flat()];
  return { a: all(w.a), b: all(w.b) };
}

/** A path parameter: mostly one of A's real ids (so the route's deeper code runs), sometimes B's, or something hostile. */
function paramArb(ids: { a: string[]; b: string[] }): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.oneof(
        { weight: 16, arbitrary: fc.constantFrom(...ids.a) },
        { weight: 1, arbitrary: fc.constantFrom(...ids.b) },
        { weight: 2, arbitrary: hostileString },
        { weight: 2, arbitrary: numericString },
        { weight: 1, arbitrary: fc.uuid() },
        { weight: 1, arbitrary: fc.constantFrom('%00', '%ff', '%zz', '%2e%2e', '..', '.', '%2F', '1%00', '%c0%80', '%ed%a0%80', '1;x', '1.json') },
      ),
      fc.boolean(),
    )
    .map(([v, raw]) => urlPart(v, raw));
}

function authArb(r: CatalogueRoute): fc.Arbitrary<AuthKind> {
  const unsafe = r.method !== 'GET';
  if (r.method === 'POST' && r.url === '/logout') return fc.constantFrom<AuthKind>('fresh-cookie', 'fresh-cookie', 'fresh-cookie', 'none', 'bad-cookie', 'cookie-nocsrf');
  if (r.method === 'POST' && r.url === '/login') return fc.constantFrom<AuthKind>('login-csrf', 'login-csrf', 'login-csrf', 'none', 'cookie');
  if (r.auth === 'tenant') {
    return fc.oneof(
      { weight: 6, arbitrary: fc.constant<AuthKind>('bearer') },
      { weight: 2, arbitrary: fc.constant<AuthKind>('cookie') },
      { weight: 1, arbitrary: fc.constantFrom<AuthKind>('none', 'bad-bearer', 'bad-cookie', 'cookie-nocsrf', 'cookie-form') },
    );
  }
  if (r.auth === 'page') {
    return fc.oneof(
      { weight: 8, arbitrary: fc.constant<AuthKind>(unsafe ? 'cookie-form' : 'cookie') },
      { weight: 1, arbitrary: fc.constantFrom<AuthKind>('none', 'bad-cookie', 'cookie-nocsrf', 'bearer', 'cookie') },
    );
  }
  return fc.oneof({ weight: 8, arbitrary: fc.constant<AuthKind>('none') }, { weight: 1, arbitrary: fc.constantFrom<AuthKind>('bearer', 'cookie') });
}

// ------------------------------------------------------------------------------------------------------------ shapes

const name = fc.oneof({ weight: 6, arbitrary: hostileString }, { weight: 1, arbitrary: wrongType });
const anyValue = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 2, arbitrary: numericString },
  { weight: 2, arbitrary: hostileDate },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: wrongType },
);
const formValue = fc.oneof({ weight: 3, arbitrary: hostileString }, { weight: 1, arbitrary: numericString }, { weight: 1, arbitrary: hostileDate });
const opArb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom<string>(...OPS) }, { weight: 1, arbitrary: hostileString });
const fieldType = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('text', 'number', 'date') }, { weight: 1, arbitrary: hostileString });
const urlish = fc.oneof(
  fc.constantFrom(
    'https://example.com/a.png', 'http://example.com/a.png', 'https://例え.jp/😀.png', 'javascript:alert(1)', 'https://a\u0000b.example/x.png',
    `https://example.com/${'a'.repeat(2000)}`, 'https://', 'https://[::1]/x', 'https://user:pw@example.com/x', 'file:///etc/passwd',
  ),
  hostileString,
);

const asFormValue = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : (JSON.stringify(v) ?? ''));

/** Shapes of the bodies routes read, with hostile values in every place; keyed by "METHOD /pattern". */
function shapes(w: World): Record<string, fc.Arbitrary<Body>> {
  const fieldIds = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...w.a.ids.field) },
    { weight: 1, arbitrary: fc.constantFrom(...w.b.ids.field) },
    { weight: 1, arbitrary: numericString },
    { weight: 1, arbitrary: hostileNumber },
    { weight: 1, arbitrary: wrongType },
  );
  const segmentIds = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...w.a.ids.segment) },
    { weight: 1, arbitrary: fc.constantFrom(...w.b.ids.segment) },
    { weight: 1, arbitrary: numericString },
    { weight: 1, arbitrary: hostileNumber },
    { weight: 1, arbitrary: wrongType },
  );
  // Conditions that pass validation (so a segment is stored, with hostile text in it), and now and then a broken one.
  const [textF, numF, dateF] = [w.a.ids.textField[0]!, w.a.ids.numberField[0]!, w.a.ids.dateField[0]!];
  const condition = fc.oneof(
    { weight: 5, arbitrary: fc.record({ fieldId: fc.constant(textF), op: fc.constantFrom('eq', 'ne', 'contains'), value: hostileString.filter((v) => v !== '') }) },
    { weight: 2, arbitrary: fc.record({ fieldId: fc.constant(numF), op: fc.constantFrom('eq', 'ne', 'gt', 'gte', 'lt', 'lte'), value: fc.oneof(hostileNumber, numericString) }) },
    { weight: 2, arbitrary: fc.record({ fieldId: fc.constant(dateF), op: fc.constantFrom('eq', 'ne', 'before', 'after'), value: hostileDate }) },
    { weight: 1, arbitrary: fc.record({ fieldId: fc.constant(dateF), op: fc.constant('within_days'), value: fc.oneof(hostileNumber, numericString) }) },
    { weight: 1, arbitrary: fc.record({ fieldId: fieldIds, op: fc.constantFrom('exists', 'not_exists'), value: fc.constantFrom(null, '') }) },
    { weight: 2, arbitrary: fc.record({ fieldId: fieldIds, op: opArb, value: anyValue }) },
  );
  const conditions = fc.oneof(
    { weight: 8, arbitrary: fc.array(condition, { minLength: 1, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.array(condition, { minLength: 20, maxLength: 21 }) },
    { weight: 1, arbitrary: wrongType },
  );
  const message = fc.oneof(
    { weight: 8, arbitrary: fc.record({ type: fc.constant('text'), text: hostileString }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('image'), originalContentUrl: urlish, previewImageUrl: urlish }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('sticker'), packageId: numericString, stickerId: fc.oneof(numericString, wrongType) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        type: fc.constant('flex'),
        altText: hostileString,
        contents: fc.oneof(
          fc.record({ type: fc.constant('bubble'), body: hostileJson }),
          fc.record({ type: fc.constant('carousel'), contents: fc.array(hostileJson, { maxLength: 13 }) }),
          hostileJson,
        ),
      }),
    },
    { weight: 1, arbitrary: wrongType },
  );
  const shop = w.shopify.shop();
  const storeDomain = fc.oneof(
    fc.constantFrom(shop.domain, shop.domain.replace('.myshopify.com', ''), `https://admin.shopify.com/store/${shop.domain.replace('.myshopify.com', '')}/x`),
    fc.constantFrom('https://kizuna-dev.myshopify.com\u0000', 'kizuna-dev.myshopify.com/%00', 'xn--r8jz45g.myshopify.com', 'a'.repeat(61), 'shop.example.jp', 'https://[::1]'),
    hostileString,
    wrongType,
  );
  const token = fc.oneof(
    fc.constant(shop.credentials().accessToken),
    fc.stringMatching(/^shpat_[0-9a-f]{32}$/),
    hostileString,
    wrongType,
    fc.constant(undefined),
  );
  const credentials = fc.record({ storeDomain, accessToken: token, clientId: fc.oneof(fc.constant(undefined), hostileString), clientSecret: fc.oneof(fc.constant(undefined), hostileString), webhookSecret: fc.oneof(fc.constant(undefined), hostileString) });
  const pairs = (...entries: [string, fc.Arbitrary<string>][]) => fc.tuple(...entries.map(([k, v]) => v.map((x): [string, string] => [k, x])));

  const liffToken = fc.oneof(
    { weight: 2, arbitrary: hostileString },
    {
      weight: 3,
      arbitrary: fc
        .record({
          sub: fc.constantFrom(...w.a.lineUserIds, 'U' + '0'.repeat(32)),
          email: fc.oneof({ weight: 6, arbitrary: hostileEmail }, { weight: 1, arbitrary: fc.constant(null) }),
          aud: fc.constantFrom(w.a.lineLoginChannelId, w.a.lineLoginChannelId, w.a.lineLoginChannelId, w.b.lineLoginChannelId),
        })
        .map((c) => w.line.issueIdToken(c)),
    },
  );

  return {
    'POST /api/v1/custom-data/categories': json(fc.record({ name })),
    'PATCH /api/v1/custom-data/categories/:id': json(fc.record({ name })),
    'POST /api/v1/custom-data/categories/:id/fields': json(fc.record({ name, type: fieldType })),
    'PATCH /api/v1/custom-data/fields/:id': json(fc.record({ name })),
    'PUT /api/v1/friends/:id/custom-data/:fieldId': json(fc.record({ value: anyValue })),
    'PUT /api/v1/friends/:id/email': json(fc.record({ email: fc.oneof({ weight: 6, arbitrary: hostileEmail }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: wrongType }) })),
    'POST /api/v1/friends/import': fc
      .tuple(csvFile, fc.constantFrom('text/csv', 'text/csv', 'text/csv', 'text/plain', 'application/octet-stream', 'text/csv; charset=shift_jis'))
      .map(([payload, ct]) => ({ payload, contentType: ct })),
    'POST /api/v1/integrations/shopify/credentials': json(credentials),
    'POST /api/v1/integrations/shopify/sync': json(fc.record({ mode: fc.oneof(fc.constantFrom('full', 'incremental'), hostileString, wrongType) })),
    'POST /api/v1/segments': json(fc.record({ name, match: fc.oneof(fc.constantFrom('all', 'any'), hostileString), conditions })),
    'POST /api/v1/deliveries': json(
      fc.record({
        segmentId: segmentIds,
        messages: fc.oneof(
          { weight: 8, arbitrary: fc.array(message, { minLength: 1, maxLength: 3 }) },
          { weight: 1, arbitrary: fc.array(message, { minLength: 6, maxLength: 6 }) },
          { weight: 1, arbitrary: wrongType },
        ),
        scheduledAt: fc.oneof(
          { weight: 4, arbitrary: fc.constant(undefined) },
          { weight: 2, arbitrary: fc.constantFrom('2026-12-01T10:00:00+09:00', '2026-11-28T12:00:00Z') },
          { weight: 2, arbitrary: hostileDateTime },
        ),
      }),
    ),
    'POST /liff/:tenantId/email': json(fc.record({ idToken: liffToken })),
    'POST /login': fc.oneof(
      form(pairs(['email', hostileEmail], ['password', hostileString], ['next', fc.oneof(hostileString, hostileString.map((s) => '/' + s))])),
      json(fc.record({ email: fc.oneof(hostileEmail, wrongType), password: fc.oneof(hostileString, wrongType) })),
    ),
    'POST /friends/:id/custom-data/:fieldId': form(
      fc.oneof(
        { weight: 4, arbitrary: formValue.map((v): [string, string][] => [['value', v]]) },
        { weight: 1, arbitrary: fc.array(formValue.map((v): [string, string] => ['value', v]), { minLength: 2, maxLength: 3 }) },
      ),
    ),
    'POST /custom-data/categories': form(pairs(['name', hostileString])),
    'POST /custom-data/categories/:id/fields': form(pairs(['name', hostileString], ['type', fieldType])),
    'POST /segments': form(
      fc
        .tuple(hostileString, fc.oneof(fc.constantFrom('all', 'any'), hostileString), fc.array(condition, { minLength: 1, maxLength: 3 }))
        .map(([n, m, rows]): [string, string][] => [
          ['name', n],
          ['match', m],
          ...rows.flatMap((c): [string, string][] => [
            ['fieldId', asFormValue(c.fieldId)],
            ['op', asFormValue(c.op)],
            ['value', asFormValue(c.value)],
          ]),
        ]),
    ),
    'POST /segments/:id/deliveries': form(
      pairs(['text', hostileString], ['when', fc.oneof(fc.constantFrom('now', 'later'), hostileString)], ['scheduledAt', fc.oneof(fc.constantFrom('2026-12-01T10:00', '2026-11-28T12:00', '2027-12-01T10:00', '2026-02-30T25:61'), hostileString)]),
    ),
    'POST /settings/integrations/shopify/issue': form(
      credentials.map((c) => Object.entries(c).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? ''])),
    ),
    'POST /settings/integrations/shopify/sync': form(pairs(['full', fc.oneof(fc.constant('1'), hostileString)])),
  };
}

/** Routes that end or delete what later requests use (sessions, segments, deliveries, the link) go last within a file. */
export function destructive(r: CatalogueRoute): boolean {
  return r.method === 'DELETE' || /\/(delete|cancel|unlink|logout)$/.test(r.url);
}

/** Every request this suite makes to route `r`: parameters, query, authentication and body. */
export function requestArb(w: World, r: CatalogueRoute): fc.Arbitrary<Plan> {
  const key = `${r.method} ${r.url}`;
  const params = [...r.url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
  const shape = shapes(w)[key];
  const hasBody = r.method !== 'GET' && r.method !== 'HEAD';
  const body: fc.Arbitrary<Body | undefined> = !hasBody
    ? fc.constant(undefined)
    : shape
      ? fc.oneof({ weight: 4, arbitrary: shape }, { weight: 1, arbitrary: genericBody })
      : fc.oneof({ weight: 3, arbitrary: genericBody }, { weight: 1, arbitrary: fc.constant(undefined) });
  return fc
    .record({
      params: fc.tuple(...params.map((p) => paramArb(realIds(w, r.url, p)))),
      query: fc.oneof({ weight: 1, arbitrary: fc.constant('') }, { weight: QUERY_KEYS[key] ? 3 : 1, arbitrary: queryArb(QUERY_KEYS[key] ?? []) }),
      auth: authArb(r),
      body,
    })
    .map(({ params: values, query, auth, body: b }) => {
      let path = r.url;
      params.forEach((p, i) => {
        path = path.replace(`:${p}`, values[i] || '%20');
      });
      // Node's HTTP server refuses request lines past 16 KiB (431) before any route sees them; inject has no such limit
      const url = (path + query).slice(0, MAX_URL);
      return { method: r.method, route: r.url, url, auth, ...(b ? { body: b } : {}) };
    });
}

/** A plain, valid GET of route `r` with A's credentials and first ids (to warm up code paths before anything is measured). */
export function warmUpPlan(w: World, r: CatalogueRoute): Plan {
  let url = r.url;
  for (const [, p] of r.url.matchAll(/:([A-Za-z]+)/g)) url = url.replace(`:${p}`, realIds(w, r.url, p!).a[0]!);
  return { method: 'GET', route: r.url, url, auth: r.auth === 'tenant' ? 'bearer' : r.auth === 'page' ? 'cookie' : 'none' };
}
