// Property-based fuzzing of the webhooks with bodies signed by the tenant's own secrets — so the hostile bytes get past the
// signature check to the code that parses and stores them — and, for every route of the catalogue, a caller without
// credentials announcing a large body: the server must answer without reading it.
import net from 'node:net';
import fc from 'fast-check';
import { expect } from 'vitest';
import { signLineBody } from '../../src/line/signature.js';
import { signShopifyBody } from '../../src/shopify/webhooks.js';
import { hostileDateTime, hostileEmail, hostileJson, hostileNumber, hostileString, lineUserIdish, numericString, rawBytes, rawJsonText, wrongType } from './arbitraries.js';
import type { CatalogueRoute } from './routes.js';
import { defineFuzzSuite } from './suite.js';
import type { Plan, World } from './world.js';

/** Header values must be latin-1 without control characters (other than tab): hostile strings squeezed into that. */
const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '').trim();

/** A signature header: right (most of the time), missing, wrong, or sent twice. */
const signing = fc.constantFrom('right', 'right', 'right', 'right', 'right', 'right', 'missing', 'wrong', 'twice');

const SHOPIFY_TOPICS = ['customers/create', 'customers/update', 'customers/delete', 'customers/enable', 'customers/disable', 'customers/purchasing_summary', 'customers_marketing_consent/update'];

/** Customer ids as digits in the raw text: normal, at and beyond bigint, beyond any integer type. */
const rawId = fc.oneof(
  fc.constantFrom('1', '0', '007', '9007199254740993', '9223372036854775807', '9223372036854775808', '18446744073709551616', '99999999999999999999999999999999999999999'),
  fc.bigInt({ min: 0n, max: 2n ** 80n }).map(String),
);

function lineWebhook(w: World): fc.Arbitrary<Plan> {
  const event = fc.record(
    {
      type: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('follow', 'unfollow', 'message') }, { weight: 1, arbitrary: hostileString }, { weight: 1, arbitrary: wrongType }),
      webhookEventId: fc.oneof({ weight: 3, arbitrary: fc.stringMatching(/^01[0-9A-HJKMNP-TV-Z]{24}$/) }, { weight: 3, arbitrary: hostileString }, { weight: 1, arbitrary: wrongType }),
      timestamp: fc.oneof({ weight: 3, arbitrary: fc.constant(1_764_300_000_000) }, { weight: 4, arbitrary: hostileNumber }, { weight: 1, arbitrary: numericString }),
      mode: fc.oneof(fc.constantFrom('active', 'standby'), hostileString),
      source: fc.oneof(
        { weight: 6, arbitrary: fc.record({ type: fc.constant('user'), userId: fc.oneof(fc.constantFrom(...w.a.lineUserIds, ...w.b.lineUserIds), lineUserIdish, hostileString) }) },
        { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('group', 'room'), groupId: hostileString, userId: fc.option(lineUserIdish, { nil: undefined }) }) },
        { weight: 1, arbitrary: wrongType },
      ),
      deliveryContext: fc.oneof({ weight: 6, arbitrary: fc.record({ isRedelivery: fc.boolean() }) }, { weight: 1, arbitrary: wrongType }),
      replyToken: hostileString,
      follow: fc.oneof(fc.record({ isUnblocked: fc.boolean() }), wrongType),
      message: fc.oneof(fc.record({ id: fc.oneof(numericString, hostileString), type: fc.constantFrom('text', 'image', 'sticker'), text: hostileString }), wrongType),
    },
    { requiredKeys: ['type', 'webhookEventId', 'timestamp', 'source', 'deliveryContext'] },
  );
  const body = fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .record({ destination: fc.oneof(fc.constant('U' + 'f'.repeat(32)), hostileString), events: fc.array(event, { minLength: 1, maxLength: 3 }) })
        .map((b) => Buffer.from(JSON.stringify(b), 'utf8')),
    },
    { weight: 1, arbitrary: fc.record({ destination: hostileString, events: wrongType }).map((b) => Buffer.from(JSON.stringify(b), 'utf8')) },
    { weight: 1, arbitrary: fc.oneof(rawBytes, rawJsonText.map((s) => Buffer.from(s, 'utf8')), hostileJson.map((v) => Buffer.from(JSON.stringify(v) ?? '', 'utf8'))) },
  );
  return fc
    .record({
      body,
      signing,
      tenant: fc.constantFrom('a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'b', 'unknown'),
      contentType: fc.constantFrom('application/json; charset=utf-8', 'application/json', 'text/plain', 'application/octet-stream'),
    })
    .map(({ body: raw, signing: how, tenant, contentType }): Plan => {
      const sig = signLineBody(raw, w.a.lineChannelSecret);
      const headers: Record<string, string> = {};
      if (how === 'right') headers['x-line-signature'] = sig;
      if (how === 'wrong') headers['x-line-signature'] = signLineBody(raw, 'not the channel secret'); // never B's: B is the bystander
      if (how === 'twice') headers['x-line-signature'] = `${sig}, ${sig}`;
      const id = tenant === 'a' ? w.a.id : tenant === 'b' ? w.b.id : '00000000-0000-4000-8000-000000000000';
      return { method: 'POST', route: '/webhooks/line/:tenantId', url: `/webhooks/line/${id}`, auth: 'none', headers, body: { payload: raw, contentType } };
    });
}

function shopifyWebhook(w: World): fc.Arbitrary<Plan> {
  const customer = fc
    .record({
      id: rawId,
      gid: rawId,
      email: fc.oneof(hostileEmail, fc.constant(null)),
      firstName: hostileString,
      updatedAt: hostileDateTime,
      extra: hostileJson,
      idFirst: fc.boolean(),
    })
    .map(({ id, gid, email, firstName, updatedAt, extra, idFirst }) => {
      const rest = `"admin_graphql_api_id":"gid://shopify/Customer/${gid}","email":${JSON.stringify(email)},"first_name":${JSON.stringify(firstName)},"updated_at":${JSON.stringify(updatedAt)},"note":${JSON.stringify(extra) ?? 'null'}`;
      return idFirst ? `{"id":${id},${rest}}` : `{${rest},"customer_id":${id}}`;
    });
  const body = fc.oneof(
    { weight: 6, arbitrary: customer.map((s) => Buffer.from(s, 'utf8')) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '{"id":1,"email":"a\\u0000b@example.jp"}', '{"id":1,"note":"\\u0000"}', '{"id":1,"note":"\\ud800"}', '{"id":1,"note":"a\u0000b"}',
        '{"id":99999999999999999999999}', '{"customer_id":"18446744073709551616"}', 'not json', '{"id":1', '', ' ', 'null', '[]', '"x"',
        '{"id":1}\u0000', '{"id":-1}', '{"id":1e400}',
      ).map((s) => Buffer.from(s, 'utf8')),
    },
    { weight: 2, arbitrary: fc.oneof(rawBytes, rawJsonText.map((s) => Buffer.from(s, 'utf8')), hostileJson.map((v) => Buffer.from(JSON.stringify(v) ?? '', 'utf8'))) },
  );
  return fc
    .record({
      body,
      signing,
      tenant: fc.constantFrom('a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'b', 'not-a-uuid'),
      topic: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...SHOPIFY_TOPICS) }, { weight: 1, arbitrary: hostileString.map(headerSafe) }, { weight: 1, arbitrary: fc.constant(undefined) }),
      webhookId: fc.oneof({ weight: 4, arbitrary: fc.uuid() }, { weight: 2, arbitrary: hostileString.map(headerSafe) }, { weight: 1, arbitrary: fc.constant(undefined) }),
      triggeredAt: fc.oneof(fc.constant(undefined), hostileDateTime.map(headerSafe)),
      contentType: fc.constantFrom('application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/octet-stream', undefined),
    })
    .map(({ body: raw, signing: how, tenant, topic, webhookId, triggeredAt, contentType }): Plan => {
      const sig = signShopifyBody(raw, w.a.shopifyWebhookSecret);
      const headers: Record<string, string> = {};
      if (how === 'right') headers['x-shopify-hmac-sha256'] = sig;
      if (how === 'wrong') headers['x-shopify-hmac-sha256'] = signShopifyBody(raw, 'not the secret');
      if (how === 'twice') headers['x-shopify-hmac-sha256'] = `${sig}, ${sig}`;
      if (topic !== undefined) headers['x-shopify-topic'] = topic;
      if (webhookId !== undefined) headers['x-shopify-webhook-id'] = webhookId;
      if (triggeredAt !== undefined) headers['x-shopify-triggered-at'] = triggeredAt;
      const id = tenant === 'a' ? w.a.id : tenant === 'b' ? w.b.id : tenant;
      return { method: 'POST', route: '/webhooks/shopify/:tenantId', url: `/webhooks/shopify/${id}`, auth: 'none', headers, body: { payload: raw, contentType } };
    });
}

// ------------------------------------------------------------------------------------------------------------ large bodies

const DECLARED = 4 * 1024 * 1024;
const SENT = 64 * 1024;
const WAIT_MS = 3_000;

/** Sends the head of a request that announces DECLARED bytes and only SENT of them; the status line, or null if none came. */
function statusBeforeBody(origin: string, method: string, path: string, contentType: string): Promise<string | null> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve) => {
    const sock = net.connect(Number(port), hostname);
    let got = '';
    const done = (v: string | null) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), WAIT_MS);
    sock.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) done(got.split('\r\n')[0]!);
    });
    // A reset or close before any answer also means the body was not read to the end.
    sock.on('error', () => done(got.split('\r\n')[0] || 'connection reset'));
    sock.on('close', () => done(got.split('\r\n')[0] || 'connection closed'));
    sock.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${contentType}\r\nContent-Length: ${DECLARED}\r\n\r\n`);
    sock.write(Buffer.alloc(SENT, 0x20));
  });
}

async function largeUnauthenticatedBodies(w: World): Promise<void> {
  const fill = (url: string) =>
    url
      .replace(':tenantId', w.a.id)
      .replace(':fieldId', w.a.ids.textField[0]!)
      .replace(/\/(friends)\/:id/, `/$1/${w.a.ids.friend[0]}`)
      .replace(/\/(categories)\/:id/, `/$1/${w.a.ids.category[0]}`)
      .replace(/\/(fields)\/:id/, `/$1/${w.a.ids.field[0]}`)
      .replace(/\/(segments)\/:id/, `/$1/${w.a.ids.segment[0]}`)
      .replace(/\/(deliveries)\/:id/, `/$1/${w.a.ids.delivery[0]}`)
      .replace(/\/(runs)\/:id/, `/$1/${w.a.ids.run[0]}`)
      .replace(/:[A-Za-z]+/g, '1');
  const routes = (w.app.routeCatalogue as CatalogueRoute[]).filter((r) => !['GET', 'HEAD'].includes(r.method));
  expect(routes.length).toBeGreaterThan(20);
  const cases = routes.flatMap((r) =>
    ['application/json', 'application/x-www-form-urlencoded', ...(r.url.endsWith('/import') ? ['text/csv'] : [])].map((ct) => ({ r, ct, path: fill(r.url) })),
  );
  const answers = await Promise.all(cases.map(async (c) => ({ ...c, status: await statusBeforeBody(w.origin, c.r.method, c.path, c.ct) })));
  const read = answers.filter((a) => a.status === null).map((a) => `${a.r.method} ${a.path} (${a.ct}, route ${a.r.url})`);
  expect(
    read,
    `without credentials, these waited for a ${DECLARED}-byte body (no answer within ${WAIT_MS} ms after ${SENT} bytes): ` +
      'a caller who is not authenticated should be answered (401, 303, 413…) before its body is read',
  ).toEqual([]);
}

defineFuzzSuite('webhooks', {
  extras: [
    { name: 'POST /webhooks/line/:tenantId signed with the channel secret', weight: 3, arb: lineWebhook },
    { name: 'POST /webhooks/shopify/:tenantId signed with the webhook secret', weight: 3, arb: shopifyWebhook },
  ],
  checks: [{ name: `every route answers a caller without credentials before reading a ${DECLARED / 1024 / 1024} MiB body`, run: largeUnauthenticatedBodies }],
});
