// The HTTP face of the fake: Shopify's Admin API paths (GraphQL, the REST customer endpoints, the client-credentials token
// endpoint), the bulk result files, and /__control. Shops are told apart by X-Shopify-Shop-Domain (Kizuna sends every
// `https://{shop}.myshopify.com/...` call to SHOPIFY_API_ORIGIN with that header) or, failing that, a myshopify Host.
import { createReadStream, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { applyFault, type Route } from './faults.js';
import { handleGraphql } from './graphql.js';
import { ADMIN_API_VERSION } from './schema.js';
import { restCustomer } from './shapes.js';
import type { FakeShop, RequestLogEntry } from './shop.js';
import type { CustomerRecord } from './generator.js';
import type { CustomerFilter, Range } from './search.js';
import { inRange, parseSearchDate } from './search.js';

export const UNAUTHORIZED = { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' };
const NOT_FOUND = { errors: 'Not Found' };
const UNAVAILABLE_SHOP = { errors: 'Unavailable Shop' };
const MAX_BODY = 10 * 1024 * 1024;

export interface ServerContext {
  findShop(domain: string): FakeShop | undefined;
  /** The shop whose bulk operation wrote the result file named `key`. */
  bulkOwner(key: string): FakeShop | undefined;
  handleControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
}

type BaseEntry = Omit<RequestLogEntry, 'seq' | 'at' | 'status' | 'fault'>;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function shopDomainOf(req: IncomingMessage): string | null {
  const header = req.headers['x-shopify-shop-domain'];
  if (typeof header === 'string' && header) return header.trim().toLowerCase();
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  return host.endsWith('.myshopify.com') ? host : null;
}

const API_PATH = /^\/admin\/api\/(\d{4}-\d{2}|unstable)\/(graphql\.json|customers\.json|customers\/count\.json|customers\/(\d+)\.json)$/;

export async function handleRequest(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://fake.invalid');
  const path = url.pathname;
  if (path.startsWith('/__control')) return ctx.handleControl(req, res, url);
  if (path.startsWith('/__bulk/')) return serveBulk(ctx, req, res, path);

  const api = API_PATH.exec(path);
  const isToken = path === '/admin/oauth/access_token';
  if (!api && !isToken) return sendJson(res, 404, NOT_FOUND);
  const domain = shopDomainOf(req);
  const shop = domain ? ctx.findShop(domain) : undefined;
  if (!shop) {
    await readBody(req).catch(() => '');
    return sendJson(res, 404, NOT_FOUND);
  }
  const route: Route = isToken ? 'oauth' : api![2] === 'graphql.json' ? 'graphql' : 'rest';
  const base: BaseEntry = { method: req.method ?? 'GET', path: `${path}${url.search}`, route, operationName: null, query: null, variables: null, requestedQueryCost: null, actualQueryCost: null, throttled: false };

  const fault = shop.faults.take(route);
  if (fault) {
    shop.record({ ...base, status: fault.kind === '5xx' ? (fault.status ?? 500) : fault.kind === '429' ? 429 : fault.kind === 'malformed' ? 200 : 0, fault: fault.kind });
    if (fault.kind !== 'timeout' && fault.kind !== 'reset') await readBody(req).catch(() => '');
    return applyFault(fault, route, req, res);
  }

  if (isToken) return handleToken(shop, req, res, base);

  const headers = { 'X-Shopify-API-Version': ADMIN_API_VERSION, 'X-Request-Id': randomUUID() };
  if (shop.status) {
    await readBody(req).catch(() => '');
    shop.record({ ...base, status: shop.status, fault: null });
    return sendJson(res, shop.status, UNAVAILABLE_SHOP, headers);
  }
  const token = req.headers['x-shopify-access-token'];
  if (!shop.authenticate(typeof token === 'string' ? token : undefined)) {
    await readBody(req).catch(() => '');
    shop.record({ ...base, status: 401, fault: null });
    return sendJson(res, 401, UNAUTHORIZED, headers);
  }

  if (route === 'graphql') {
    if (req.method !== 'POST') return sendJson(res, 405, { errors: 'Method Not Allowed' }, headers);
    const raw = await readBody(req);
    let payload: Record<string, unknown>;
    const type = String(req.headers['content-type'] ?? '');
    if (type.includes('application/graphql')) payload = { query: raw };
    else {
      try {
        payload = JSON.parse(raw) as Record<string, unknown>;
        if (!payload || typeof payload !== 'object') throw new Error('not an object');
      } catch {
        shop.record({ ...base, status: 400, fault: null });
        return sendJson(res, 400, { errors: { query: 'Required parameter missing or invalid' } }, headers);
      }
    }
    const out = handleGraphql(shop, payload);
    shop.record({
      ...base,
      status: 200,
      operationName: out.operationName,
      query: typeof payload.query === 'string' ? payload.query : null,
      variables: payload.variables ?? null,
      requestedQueryCost: out.requestedQueryCost,
      actualQueryCost: out.actualQueryCost,
      throttled: out.throttled,
      fault: null,
    });
    return sendJson(res, 200, out.body, headers);
  }

  // REST
  await readBody(req).catch(() => '');
  if (req.method !== 'GET') return sendJson(res, 405, { errors: 'Method Not Allowed' }, headers);
  const restLimit = () => {
    const s = shop.restBucket.status();
    return `${s.maximumAvailable - s.currentlyAvailable}/${s.maximumAvailable}`;
  };
  if (!shop.restBucket.tryTake(1)) {
    shop.record({ ...base, status: 429, fault: null });
    return sendJson(
      res,
      429,
      { errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' },
      { ...headers, 'Retry-After': '2.0', 'X-Shopify-Shop-Api-Call-Limit': restLimit() },
    );
  }
  const restHeaders = { ...headers, 'X-Shopify-Shop-Api-Call-Limit': restLimit() };
  if (!shop.grantedScopes().has('read_customers')) {
    shop.record({ ...base, status: 403, fault: null });
    return sendJson(res, 403, { errors: '[API] This action requires merchant approval for read_customers scope.' }, restHeaders);
  }
  const result = restCustomers(shop, api![1], api![2], api![3], url);
  shop.record({ ...base, status: result.status, fault: null });
  return sendJson(res, result.status, result.body, { ...restHeaders, ...result.headers });
}

async function handleToken(shop: FakeShop, req: IncomingMessage, res: ServerResponse, base: BaseEntry): Promise<void> {
  const finish = (status: number, body: unknown) => {
    shop.record({ ...base, status, fault: null });
    sendJson(res, status, body);
  };
  if (req.method !== 'POST') return finish(405, { error: 'invalid_request', error_description: 'Use POST.' });
  const raw = await readBody(req);
  let params: Record<string, string> = {};
  const type = String(req.headers['content-type'] ?? '');
  try {
    if (type.includes('application/json')) params = JSON.parse(raw) as Record<string, string>;
    else params = Object.fromEntries(new URLSearchParams(raw));
  } catch {
    return finish(400, { error: 'invalid_request', error_description: 'The request body could not be parsed.' });
  }
  if (!params.client_id || !params.client_secret || !params.grant_type) {
    return finish(400, { error: 'invalid_request', error_description: 'The request is missing a required parameter: client_id, client_secret and grant_type.' });
  }
  if (params.grant_type !== 'client_credentials') {
    return finish(400, { error: 'unsupported_grant_type', error_description: `The grant type ${params.grant_type} is not supported here.` });
  }
  if (params.client_id !== shop.clientId) {
    return finish(400, { error: 'app_not_installed', error_description: 'The application is not installed on this shop.' });
  }
  if (params.client_secret !== shop.clientSecret) {
    return finish(401, { error: 'invalid_client', error_description: 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.' });
  }
  if (shop.status) return finish(shop.status, UNAVAILABLE_SHOP);
  return finish(200, shop.issueToken());
}

// -------------------------------------------------------------------------------------------------------------- REST

interface PageInfo {
  dir: 'next' | 'prev';
  id: number;
  since?: number;
  ranges?: Record<string, Range>;
}

function restCustomers(shop: FakeShop, version: string, which: string, idText: string | undefined, url: URL): { status: number; body: unknown; headers?: Record<string, string> } {
  const q = url.searchParams;
  const fields = q.get('fields')?.split(',').map((f) => f.trim()).filter(Boolean);
  const shape = (c: CustomerRecord) => {
    const full = restCustomer(c, shop.info) as Record<string, unknown>;
    return fields?.length ? Object.fromEntries(fields.filter((f) => f in full).map((f) => [f, full[f]])) : full;
  };
  if (idText) {
    const c = shop.store.get(Number(idText));
    return c ? { status: 200, body: { customer: shape(c) } } : { status: 404, body: NOT_FOUND };
  }

  const ranges: Record<string, Range> = {};
  const dateParam = (name: string, field: 'createdAt' | 'updatedAt', bound: 'min' | 'max') => {
    const v = q.get(name);
    if (!v) return;
    const d = parseSearchDate(v, shop.info.timeZone);
    if (!d) return;
    const r = (ranges[field] ??= { min: -Infinity, minIncl: true, max: Infinity, maxIncl: true });
    if (bound === 'min') r.min = d.at;
    else r.max = d.at;
  };
  let pageInfo: PageInfo | null = null;
  const token = q.get('page_info');
  if (token) {
    try {
      pageInfo = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as PageInfo;
    } catch {
      return { status: 400, body: { errors: { page_info: 'Invalid value.' } } };
    }
    Object.assign(ranges, pageInfo.ranges ?? {});
  } else {
    dateParam('created_at_min', 'createdAt', 'min');
    dateParam('created_at_max', 'createdAt', 'max');
    dateParam('updated_at_min', 'updatedAt', 'min');
    dateParam('updated_at_max', 'updatedAt', 'max');
    const since = q.get('since_id');
    if (since) ranges.id = { min: Number(since), minIncl: false, max: Infinity, maxIncl: true };
  }
  const filter: CustomerFilter = {
    all: Object.keys(ranges).length === 0,
    ranges,
    rangesOnly: true,
    test: (c) => Object.entries(ranges).every(([f, r]) => inRange(r, f === 'id' ? c.id : c[f as 'createdAt' | 'updatedAt'])),
  };

  if (which === 'customers/count.json') return { status: 200, body: { count: shop.store.count(filter, null).count } };

  const limit = Math.min(250, Math.max(1, Number(q.get('limit') ?? 50) || 50));
  const ids = q.get('ids');
  if (ids && !pageInfo) {
    // Shopify answers `ids` with those customers, ordered by id, without paging past `limit`.
    const list = [...new Set(ids.split(',').map((s) => Number(s.trim())).filter(Number.isSafeInteger))]
      .sort((a, b) => a - b)
      .map((id) => shop.store.get(id))
      .filter((c): c is CustomerRecord => !!c)
      .slice(0, limit);
    return { status: 200, body: { customers: list.map(shape) } };
  }

  const items: CustomerRecord[] = [];
  let more = false;
  const backwards = pageInfo?.dir === 'prev';
  const from = pageInfo ? { k: pageInfo.id, id: pageInfo.id } : null;
  for (const c of shop.store.scan('ID', backwards, filter, from)) {
    if (items.length === limit) {
      more = true;
      break;
    }
    items.push(c);
  }
  if (backwards) items.reverse();
  const hasNext = backwards ? true : more;
  const hasPrev = backwards ? more : !!pageInfo;
  const link = (dir: 'next' | 'prev', id: number) => {
    const info: PageInfo = { dir, id, ranges };
    const params = new URLSearchParams({ limit: String(limit), page_info: Buffer.from(JSON.stringify(info)).toString('base64url') });
    if (fields?.length) params.set('fields', fields.join(','));
    // Like Shopify, the links name the shop's own origin; a client behind SHOPIFY_API_ORIGIN rewrites them.
    return `<https://${shop.domain}/admin/api/${version}/customers.json?${params}>; rel="${dir === 'next' ? 'next' : 'previous'}"`;
  };
  const links: string[] = [];
  if (items.length && hasPrev) links.push(link('prev', items[0].id));
  if (items.length && hasNext) links.push(link('next', items[items.length - 1].id));
  return { status: 200, body: { customers: items.map(shape) }, headers: links.length ? { Link: links.join(', ') } : {} };
}

// -------------------------------------------------------------------------------------------------------------- bulk

async function serveBulk(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const m = /^\/__bulk\/([0-9a-f]+)\.jsonl$/.exec(path);
  const shop = m ? ctx.bulkOwner(m[1]) : undefined;
  if (!m || !shop) return sendJson(res, 404, NOT_FOUND);
  const base: BaseEntry = { method: req.method ?? 'GET', path, route: 'bulk', operationName: null, query: null, variables: null, requestedQueryCost: null, actualQueryCost: null, throttled: false };
  const fault = shop.faults.take('bulk');
  if (fault) {
    shop.record({ ...base, status: 0, fault: fault.kind });
    return applyFault(fault, 'bulk', req, res);
  }
  const dl = shop.bulk.download(m[1]);
  if (!dl) return sendJson(res, 404, NOT_FOUND);
  if (dl.expired) {
    // The signed storage URL has lapsed (seven days after completion).
    shop.record({ ...base, status: 403, fault: null });
    res.writeHead(403, { 'Content-Type': 'application/xml; charset=UTF-8' });
    res.end("<?xml version='1.0' encoding='UTF-8'?><Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message><Details>Request signature expired</Details></Error>");
    return;
  }
  shop.record({ ...base, status: 200, fault: null });
  res.writeHead(200, { 'Content-Type': 'application/jsonl' });
  if (dl.truncate) {
    // The body stops in the middle of a line and the response ends normally: only parsing the last line reveals it.
    const content = readFileSync(dl.file);
    let cut = Math.max(1, Math.floor(content.length * 0.6));
    while (cut > 1 && (content[cut - 1] === 0x0a || content[cut] === 0x0a)) cut--;
    res.end(content.subarray(0, cut));
    return;
  }
  // 1 MB reads (not 64 KB): a storage service streams the file at full speed, while this process shares its event loop with the
  // exports it is running; with small chunks a download crawled whenever an export was busy.
  createReadStream(dl.file, { highWaterMark: 1 << 20 }).pipe(res);
}
