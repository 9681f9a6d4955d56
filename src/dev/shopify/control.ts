// /__control: the scenario API over JSON HTTP, for the CLI and for processes that run the fake elsewhere (benchmarks).
// Every scenario method of a shop is reachable as POST /__control/shops/{domain}/{method} with `{"args": [...]}` (or a
// single object, or nothing); `connectFakeShopify(origin)` wraps the same routes in a typed client.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from './server.js';
import { CONTROL_METHODS, type ControlMethod, type FakeShop, type ShopCredentials, type ShopOptions } from './shop.js';

export interface ControlHost {
  shops(): FakeShop[];
  findShop(domain: string): FakeShop | undefined;
  addShop(opts: ShopOptions): FakeShop;
  removeShop(domain: string): boolean;
  now(): number;
  advanceClock(ms: number): number;
}

const READ_ONLY = new Set<ControlMethod>([
  'credentials',
  'customerCount',
  'bucketStatus',
  'pendingFaults',
  'bulkOperations',
  'webhookSubscriptions',
  'webhookDeliveries',
  'requests',
]);

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req);
  if (!raw.trim()) return undefined;
  return JSON.parse(raw);
}

function shopSummary(shop: FakeShop) {
  return { ...shop.credentials(), customers: shop.customerCount(), status: shop.status, bucket: shop.bucketStatus() };
}

export function controlHandler(host: ControlHost) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const parts = url.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    try {
      if (parts[0] === 'health' && parts.length === 1) return sendJson(res, 200, { ok: true, now: new Date(host.now()).toISOString(), shops: host.shops().map((s) => s.domain) });
      if (parts[0] === 'clock' && parts.length === 1) {
        if (method === 'POST') {
          const body = ((await jsonBody(req)) ?? {}) as { advanceMs?: number };
          host.advanceClock(Number(body.advanceMs ?? 0));
        }
        return sendJson(res, 200, { now: host.now(), iso: new Date(host.now()).toISOString() });
      }
      if (parts[0] !== 'shops') return fail(res, 404, 'NOT_FOUND', `no control route ${url.pathname}`);
      if (parts.length === 1) {
        if (method === 'GET') return sendJson(res, 200, { shops: host.shops().map(shopSummary) });
        if (method === 'POST') {
          const opts = (await jsonBody(req)) as ShopOptions | undefined;
          if (!opts?.domain) return fail(res, 400, 'BAD_REQUEST', 'body needs at least {"domain": "..."}');
          if (host.findShop(opts.domain)) return fail(res, 409, 'SHOP_EXISTS', `shop ${opts.domain} already exists`);
          return sendJson(res, 201, shopSummary(host.addShop(opts)));
        }
        return fail(res, 405, 'METHOD_NOT_ALLOWED', `${method} ${url.pathname}`);
      }
      const shop = host.findShop(parts[1]);
      if (!shop) return fail(res, 404, 'SHOP_NOT_FOUND', `no shop ${parts[1]}`);
      if (parts.length === 2) {
        if (method === 'GET') return sendJson(res, 200, shopSummary(shop));
        if (method === 'DELETE') return sendJson(res, 200, { deleted: host.removeShop(shop.domain) });
        return fail(res, 405, 'METHOD_NOT_ALLOWED', `${method} ${url.pathname}`);
      }
      const name = parts[2] as ControlMethod;
      if (parts.length !== 3 || !(CONTROL_METHODS as readonly string[]).includes(name)) {
        return fail(res, 404, 'NOT_FOUND', `no scenario method ${parts.slice(2).join('/')}; known: ${CONTROL_METHODS.join(', ')}`);
      }
      let args: unknown[] = [];
      if (method === 'POST') {
        const body = await jsonBody(req);
        args = body === undefined ? [] : body && typeof body === 'object' && !Array.isArray(body) && 'args' in body ? ((body as { args: unknown[] }).args ?? []) : [body];
      } else if (method !== 'GET' || !READ_ONLY.has(name)) {
        return fail(res, 405, 'METHOD_NOT_ALLOWED', `use POST for ${name}`);
      }
      const fn = shop[name] as (...a: unknown[]) => unknown;
      const result = await fn.apply(shop, args);
      return sendJson(res, 200, { result: result === undefined ? null : result });
    } catch (err) {
      if (res.headersSent) return;
      return fail(res, err instanceof SyntaxError ? 400 : 422, err instanceof SyntaxError ? 'BAD_JSON' : 'SCENARIO_ERROR', (err as Error).message);
    }
  };
}

// ----------------------------------------------------------------------------------------------------------- client

type Method<K extends ControlMethod> = FakeShop[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
export type RemoteShop = { [K in ControlMethod]: Method<K> };

export interface FakeShopifyClient {
  origin: string;
  health(): Promise<{ ok: boolean; now: string; shops: string[] }>;
  addShop(opts: ShopOptions): Promise<ShopCredentials>;
  shop(domain: string): RemoteShop;
  advanceClock(ms: number): Promise<number>;
}

/** A typed client for a fake running in another process (`kizuna fake-shopify`), over /__control. */
export function connectFakeShopify(origin: string): FakeShopifyClient {
  const base = origin.replace(/\/+$/, '');
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}/__control${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as { error?: { message: string } } & Record<string, unknown>;
    if (!res.ok) throw new Error(`fake Shopify control ${method} ${path}: ${json.error?.message ?? res.status}`);
    return json;
  };
  return {
    origin: base,
    health: async () => (await call('GET', '/health')) as never,
    addShop: async (opts) => (await call('POST', '/shops', opts)) as never,
    advanceClock: async (ms) => ((await call('POST', '/clock', { advanceMs: ms })) as { now: number }).now,
    shop: (domain) =>
      new Proxy({} as RemoteShop, {
        get: (_t, prop) => {
          if (typeof prop !== 'string' || !(CONTROL_METHODS as readonly string[]).includes(prop)) return undefined;
          return async (...args: unknown[]) => ((await call('POST', `/shops/${encodeURIComponent(domain)}/${prop}`, { args })) as { result: unknown }).result;
        },
      }),
  };
}
