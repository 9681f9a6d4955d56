// A whole world for sync tests: the development Shopify and Kizuna on one ManualClock, a tenant on the enterprise plan with the
// Shopify option, friends with emails, and shortcuts for 発行 / 連携 and for running a sync in the foreground.
import type { LightMyRequestResponse } from 'fastify';
import type { CustomerInput } from '../../src/dev/shopify/shop.js';
import type { FakeShopifyOptions } from '../../src/dev/shopify/index.js';
import { createTenant, type Tenant } from '../../src/crm/tenants.js';
import { recordFollow, setFriendEmail } from '../../src/crm/friends.js';
import { issueCredentials, linkIntegration } from '../../src/shopify/integration.js';
import { signShopifyBody } from '../../src/shopify/webhooks.js';
import { SHOPIFY_FIELDS } from '../../src/shopify/fields.js';
import { executeRun, type ExecuteOptions } from '../../src/sync/runs.js';
import type { SyncSettings } from '../../src/sync/settings.js';
import { requestRun, type Run, type RunMode } from '../../src/sync/run-store.js';
import { createTestApp, type TestApp } from './app.js';
import { shopifyHarness, type ShopifyHarness } from './shopify.js';

export interface SyncWorld {
  h: ShopifyHarness;
  t: TestApp;
  tenant: Tenant;
  apiToken: string;
  addFriend(email: string | null, lineUserId?: string): Promise<number>;
  issue(kind?: 'access_token' | 'client_credentials'): Promise<void>;
  link(): Promise<void>;
  /** Requests a run and executes it here, in the foreground, on the shared clock (with the world's settings). */
  sync(mode?: RunMode, opts?: ExecuteOptions): Promise<Run>;
  execute(runId: string, opts?: ExecuteOptions): Promise<Run>;
  /** A friend's Shopify values by field key (only fields that have a value). */
  values(friendId: number): Promise<Record<string, string>>;
  /** Friends with the emails of the first `n` generated customers of the store (every `every`-th); returns their ids by email. */
  addGeneratedFriends(n: number, every?: number): Promise<Map<string, number>>;
  /** What a sync leaves behind — mirror, links and values — keyed so that two worlds with the same store and friends compare equal. */
  snapshot(): Promise<SyncSnapshot>;
  /** Mails waiting in the job queue or already delivered, by subject. */
  mails(): Promise<{ subject: string; to: string[]; text: string }[]>;
  /** POSTs a Shopify webhook delivery built here to /webhooks/shopify/:tenantId, signed with the shop's secret (or `secret`). */
  deliverWebhook(topic: string, body: unknown, o?: WebhookDeliveryOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface WebhookDeliveryOptions {
  /** The key to sign with; null sends no signature. Default: the development Shopify's client secret. */
  secret?: string | null;
  webhookId?: string;
  tenantId?: string;
  /** Changes the body after it was signed (a tampered delivery). */
  alter?: (raw: string) => string;
  /** Sends (and signs) exactly this text instead of JSON.stringify(body). */
  raw?: string;
}

let deliveries = 0;

export interface SyncSnapshot {
  mirror: { customer_id: string; data_hash: string; deleted: boolean }[];
  links: { email: string; customer_id: string; deleted: boolean }[];
  values: Record<string, Record<string, string>>;
}

let seq = 0;
export function lineUserId(): string {
  seq++;
  return 'U' + seq.toString(16).padStart(32, '0');
}

export async function syncWorld(
  opts: {
    shopify?: FakeShopifyOptions;
    customers?: CustomerInput[];
    env?: Record<string, string>;
    work?: boolean;
    notify?: string[];
    /** Tunables for every run executed through the world (a low bulk threshold, small export parts). */
    settings?: Partial<SyncSettings>;
  } = {},
): Promise<SyncWorld> {
  const h = await shopifyHarness({ customers: 0, ...opts.shopify });
  if (opts.customers) h.shop.serveCustomers(opts.customers);
  const t = await createTestApp({ env: { SHOPIFY_API_ORIGIN: h.fake.origin, ...opts.env }, clock: h.clock, work: opts.work });
  const { tenant, apiToken } = await createTenant(t.ctx, {
    name: 'テスト商店',
    plan: 'enterprise',
    options: ['shopify'],
    notifyEmails: opts.notify ?? ['ops@example.jp'],
  });
  const clientOpts = { random: () => 0.5, timeoutMs: 1_000 };
  const execute = (runId: string, o: ExecuteOptions = {}) =>
    executeRun(t.ctx, runId, { client: clientOpts, ...o, settings: { ...opts.settings, ...o.settings } });
  return {
    h,
    t,
    tenant,
    apiToken,
    async addFriend(email, id = lineUserId()) {
      const { friendId } = await recordFollow(t.ctx.db.pool, tenant.id, id, h.clock.now());
      if (email !== null) await setFriendEmail(t.ctx, tenant.id, friendId, email, 'liff');
      return friendId;
    },
    async issue(kind = 'access_token') {
      const c = h.shop.credentials();
      await issueCredentials(
        t.ctx,
        tenant,
        kind === 'access_token'
          ? { storeDomain: h.shop.domain, accessToken: c.accessToken }
          : { storeDomain: h.shop.domain, clientId: c.clientId, clientSecret: c.clientSecret },
        { client: clientOpts, startRuns: false },
      );
    },
    async link() {
      await linkIntegration(t.ctx, tenant, { startRuns: false });
    },
    async sync(mode = 'full', o = {}) {
      const { runId } = await requestRun(t.ctx, tenant.id, { mode, trigger: 'manual', enqueue: false });
      return execute(runId, o);
    },
    execute,
    async values(friendId) {
      const { rows } = await t.ctx.db.pool.query(
        `SELECT f.key, coalesce(v.value_text, v.value_number::text, v.value_date::text) AS v
         FROM custom_values v JOIN custom_fields f ON f.id = v.field_id JOIN custom_categories c ON c.id = f.category_id
         WHERE v.tenant_id = $1 AND v.friend_id = $2 AND c.key = 'shopify'`,
        [tenant.id, friendId],
      );
      const out: Record<string, string> = {};
      for (const k of SHOPIFY_FIELDS.map((f) => f.key)) {
        const r = rows.find((x) => x.key === k);
        if (r) out[k] = r.v;
      }
      return out;
    },
    async addGeneratedFriends(n, every = 1) {
      const gen = h.shop.store.generator;
      const out = new Map<string, number>();
      for (let i = 0; i < Math.min(n, gen.count); i += every) {
        const email = gen.customerAt(i).email;
        if (!email || out.has(email.toLowerCase())) continue;
        const { friendId } = await recordFollow(t.ctx.db.pool, tenant.id, lineUserId(), h.clock.now());
        await setFriendEmail(t.ctx, tenant.id, friendId, email.toLowerCase(), 'import');
        out.set(email.toLowerCase(), friendId);
      }
      return out;
    },
    async snapshot() {
      const db = t.ctx.db.pool;
      const mirror = await db.query(
        `SELECT customer_id::text AS customer_id, data_hash, deleted_at IS NOT NULL AS deleted FROM shopify_customers
         WHERE tenant_id = $1 ORDER BY customer_id`,
        [tenant.id],
      );
      const links = await db.query(
        `SELECT f.email, l.customer_id::text AS customer_id, l.customer_deleted_at IS NOT NULL AS deleted
         FROM shopify_links l JOIN friends f ON f.id = l.friend_id WHERE l.tenant_id = $1 ORDER BY f.email, f.id`,
        [tenant.id],
      );
      const vals = await db.query(
        `SELECT fr.email, f.key, coalesce(v.value_text, v.value_number::text, v.value_date::text) AS v
         FROM custom_values v JOIN custom_fields f ON f.id = v.field_id JOIN custom_categories c ON c.id = f.category_id
         JOIN friends fr ON fr.id = v.friend_id
         WHERE v.tenant_id = $1 AND c.key = 'shopify' ORDER BY fr.email, f.key`,
        [tenant.id],
      );
      const values: SyncSnapshot['values'] = {};
      for (const r of vals.rows) (values[r.email] ??= {})[r.key] = r.v;
      return { mirror: mirror.rows, links: links.rows, values };
    },
    deliverWebhook(topic, body, o = {}) {
      const raw = o.raw ?? JSON.stringify(body);
      const secret = o.secret === undefined ? h.shop.credentials().clientSecret : o.secret;
      return t.app.inject({
        method: 'POST',
        url: `/webhooks/shopify/${o.tenantId ?? tenant.id}`,
        headers: {
          'content-type': 'application/json',
          'x-shopify-topic': topic,
          'x-shopify-shop-domain': h.shop.domain,
          'x-shopify-webhook-id': o.webhookId ?? `wh-${++deliveries}`,
          'x-shopify-triggered-at': h.clock.now().toISOString(),
          ...(secret === null ? {} : { 'x-shopify-hmac-sha256': signShopifyBody(raw, secret) }),
        },
        payload: o.alter ? o.alter(raw) : raw,
      });
    },
    async mails() {
      const { rows } = await t.ctx.db.pool.query(
        `SELECT data FROM pgboss.job WHERE name = 'mail.send' ORDER BY created_on, id`,
      );
      return rows.map((r) => ({ subject: r.data.subject, to: r.data.to, text: r.data.text }));
    },
    async close() {
      await t.close();
      await h.close();
    },
  };
}
