// The development Shopify: a fake Admin API true to Shopify's 2026-04 schema, query costs and faults, for Kizuna's
// tests, benchmarks and demo. Start it, point SHOPIFY_API_ORIGIN at `origin`, and drive each store with `shop(domain)`.
//
//   const fake = await startFakeShopify({ customers: 10_000, seed: 7, now: clock.now });
//   const shop = fake.shop('kizuna-dev');            // kizuna-dev.myshopify.com
//   shop.changeCustomer(id, { firstName: '花子' });   // updatedAt moves forward, customers/update goes out
//   shop.failNext({ kind: '429', retryAfter: 2 });
//   await fake.close();
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { controlHandler } from './control.js';
import { adminSchema, ADMIN_API_VERSION } from './schema.js';
import { handleRequest, sendJson } from './server.js';
import { FakeShop, type ShopOptions } from './shop.js';

export interface FakeShopifyOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Loopback only; 127.0.0.1 by default. */
  host?: string;
  /** The clock every bucket, token expiry and timestamp reads (default Date.now). `advanceClock` adds to it. */
  now?: () => number;
  /** Stores to open; without it, one store from `shop`, `customers` and `seed`. */
  shops?: ShopOptions[];
  shop?: string;
  customers?: number;
  seed?: number;
  scopes?: string[];
  accessToken?: string | null;
  /** Requests kept per shop for `requests()` (default 10 000). */
  requestLogLimit?: number;
  /** Timeout of each outgoing webhook delivery (default 5000 ms). */
  webhookTimeoutMs?: number;
}

export interface FakeShopify {
  /** `http://127.0.0.1:{port}`: the value for SHOPIFY_API_ORIGIN. */
  origin: string;
  /** The GraphQL endpoint of the pinned API version on this origin. */
  url: string;
  port: number;
  /** A hosted store by domain (`kizuna-dev` or `kizuna-dev.myshopify.com`), the first one without; throws if unknown. */
  shop(domain?: string): FakeShop;
  shops(): FakeShop[];
  addShop(opts: ShopOptions): FakeShop;
  removeShop(domain: string): boolean;
  now(): number;
  /** Moves the fake's clock forward (on top of `now`): token expiry, bucket refill, updatedAt. */
  advanceClock(ms: number): number;
  close(): Promise<void>;
}

export const DEFAULT_SHOP = 'kizuna-dev.myshopify.com';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startFakeShopify(options: FakeShopifyOptions = {}): Promise<FakeShopify> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new Error(`the fake Shopify listens on loopback only, not ${host}`);
  adminSchema(); // load once up front so the first request is not the slow one
  const base = options.now ?? Date.now;
  let offset = 0;
  const now = () => base() + offset;
  let origin = '';
  let dir: string | null = null;
  const shopHost = {
    now,
    origin: () => origin,
    dir: () => (dir ??= mkdtempSync(path.join(os.tmpdir(), 'kizuna-fake-shopify-'))),
    requestLogLimit: options.requestLogLimit ?? 10_000,
    webhookTimeoutMs: options.webhookTimeoutMs ?? 5000,
  };
  const shops = new Map<string, FakeShop>();
  const addShop = (opts: ShopOptions) => {
    const shop = new FakeShop(shopHost, opts);
    if (shops.has(shop.domain)) throw new Error(`shop ${shop.domain} already exists`);
    shops.set(shop.domain, shop);
    return shop;
  };
  const findShop = (domain: string) => shops.get(domain.includes('.') ? domain.toLowerCase() : `${domain.toLowerCase()}.myshopify.com`);
  for (const opts of options.shops ?? [
    { domain: options.shop ?? DEFAULT_SHOP, customers: options.customers ?? 0, seed: options.seed ?? 1, scopes: options.scopes, accessToken: options.accessToken },
  ]) {
    addShop(opts);
  }

  const fake: FakeShopify = {
    origin: '',
    url: '',
    port: 0,
    shop: (domain) => {
      const s = domain === undefined ? shops.values().next().value : findShop(domain);
      if (!s) throw new Error(`the fake Shopify hosts no shop ${domain} (hosted: ${[...shops.keys()].join(', ')})`);
      return s;
    },
    shops: () => [...shops.values()],
    addShop,
    removeShop: (domain) => {
      const s = findShop(domain);
      if (!s) return false;
      s.close();
      return shops.delete(s.domain);
    },
    now,
    advanceClock: (ms) => {
      offset += ms;
      return now();
    },
    close: async () => {},
  };

  const control = controlHandler({ shops: fake.shops, findShop, addShop, removeShop: fake.removeShop, now, advanceClock: fake.advanceClock });
  const ctx = {
    findShop,
    bulkOwner: (key: string) => [...shops.values()].find((s) => s.bulk.has(key)),
    handleControl: control,
  };
  const server: Server = createServer((req, res) => {
    handleRequest(ctx, req, res).catch((err: Error) => {
      if (!res.headersSent) sendJson(res, 500, { errors: 'Internal Server Error', fake: err.message });
      else res.destroy();
      process.emitWarning(`fake Shopify: ${req.method} ${req.url}: ${err.stack ?? err.message}`);
    });
  });
  server.keepAliveTimeout = 5_000;
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  fake.origin = origin;
  fake.port = port;
  fake.url = `${origin}/admin/api/${ADMIN_API_VERSION}/graphql.json`;
  fake.close = async () => {
    for (const s of shops.values()) s.close();
    await Promise.all([...shops.values()].map((s) => s.bulkIdle().catch(() => undefined)));
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Held ("timeout") requests and keep-alive connections would keep close() waiting.
    for (const s of sockets) s.destroy();
    await closed;
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  return fake;
}

export { connectFakeShopify, type FakeShopifyClient, type RemoteShop } from './control.js';
export { CustomerGenerator, JP_PREFECTURES, type CustomerRecord, type Address } from './generator.js';
export { FakeShop, CONTROL_METHODS, type ShopOptions, type CustomerInput, type RequestLogEntry, type ShopCredentials } from './shop.js';
export type { Fault, FaultKind, FaultTarget } from './faults.js';
export type { BulkOperation, BulkFailure } from './bulk.js';
export type { WebhookDelivery, WebhookSubscription } from './webhooks.js';
export { webhookHmac, topicHeader, topicEnum } from './webhooks.js';
export { ADMIN_API_VERSION } from './schema.js';
export { UNAUTHORIZED } from './server.js';

/** A hand-driven clock for deterministic tests: pass `clock.now` as `now`. */
export function manualClock(start: number | string | Date = Date.UTC(2026, 3, 1)): { now: () => number; advance(ms: number): number; set(t: number | string | Date): void } {
  const ms = (t: number | string | Date) => (t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : t);
  let t = ms(start);
  return {
    now: () => t,
    advance: (d) => (t += d),
    set: (v) => {
      t = ms(v);
    },
  };
}
