// Incoming Shopify webhooks: verify, deduplicate, keep. The HMAC (base64 HMAC-SHA256 of the raw body with the app's secret) is
// checked on the exact bytes before anything is parsed, in constant time. Deliveries are at-least-once: X-Shopify-Webhook-Id
// is the key of the inbox, so a redelivery changes nothing. Applying them is a job's work (sync/realtime.ts); the HTTP answer
// only needs one indexed INSERT, so Shopify gets its 200 fast.
import crypto from 'node:crypto';
import type { AppContext } from '../context.js';

export function verifyShopifyHmac(rawBody: Buffer, secret: string, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !secret) return false;
  const given = Buffer.from(header, 'base64');
  const expected = crypto.createHmac('sha256', secret).update(rawBody).digest();
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

export function signShopifyBody(rawBody: Buffer | string, secret: string): string {
  return crypto.createHmac('sha256', secret).update(rawBody).digest('base64');
}

/**
 * The customer a delivery is about, as a decimal string. Read from the raw text, not from JSON.parse: Shopify ids exceed 2^53
 * and would lose digits as JavaScript numbers.
 */
export function webhookCustomerId(raw: string): string | null {
  const gid = /"(?:admin_graphql_api_id|customerId)"\s*:\s*"gid:\/\/shopify\/Customer\/(\d+)"/.exec(raw);
  if (gid) return gid[1]!;
  const cid = /"customer_id"\s*:\s*"?(\d+)/.exec(raw);
  if (cid) return cid[1]!;
  const id = /^\s*\{\s*"id"\s*:\s*(\d+)/.exec(raw);
  return id ? id[1]! : null;
}

interface WebhookTarget {
  status: string;
  secret: string | null;
  shop: string;
}

/** Secrets per tenant for a few seconds: a burst of deliveries costs one SELECT and one decryption, not one per request. */
const cache = new Map<string, { at: number; target: WebhookTarget | null }>();
const CACHE_MS = 5_000;

export async function webhookTarget(ctx: Pick<AppContext, 'db' | 'secrets'>, tenantId: string): Promise<WebhookTarget | null> {
  const hit = cache.get(tenantId);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.target;
  const { rows } = await ctx.db.pool.query(
    `SELECT status, store_domain, webhook_secret_enc FROM shopify_integrations WHERE tenant_id = $1`,
    [tenantId],
  );
  const r = rows[0];
  const target = r ? { status: r.status, shop: r.store_domain, secret: r.webhook_secret_enc ? ctx.secrets.decrypt(r.webhook_secret_enc) : null } : null;
  cache.set(tenantId, { at: Date.now(), target });
  return target;
}

export function forgetWebhookTarget(tenantId: string): void {
  cache.delete(tenantId);
}

export interface Delivery {
  tenantId: string;
  webhookId: string;
  topic: string;
  triggeredAt: string | undefined;
  rawBody: Buffer;
}

/** Stores a verified delivery; false when it was already there (a redelivery). */
export async function storeDelivery(ctx: Pick<AppContext, 'db' | 'clock'>, d: Delivery): Promise<boolean> {
  const raw = d.rawBody.toString('utf8');
  const triggered = d.triggeredAt && !Number.isNaN(Date.parse(d.triggeredAt)) ? new Date(d.triggeredAt) : null;
  const { rowCount } = await ctx.db.pool.query(
    `INSERT INTO shopify_webhook_inbox (webhook_id, tenant_id, topic, customer_id, triggered_at, payload, received_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) ON CONFLICT (webhook_id) DO NOTHING`,
    [d.webhookId, d.tenantId, d.topic, webhookCustomerId(raw), triggered, raw, ctx.clock.now()],
  );
  return (rowCount ?? 0) > 0;
}
