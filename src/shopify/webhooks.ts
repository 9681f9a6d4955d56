// Incoming Shopify webhooks: verify, deduplicate, keep. The HMAC (base64 HMAC-SHA256 of the raw body with the app's secret) is
// checked on the exact bytes before anything is parsed, in constant time. Deliveries are at-least-once: X-Shopify-Webhook-Id
// is the key of the inbox, so a redelivery changes nothing. Applying them is a job's work (sync/realtime.ts); the HTTP answer
// only needs one indexed INSERT, so Shopify gets its 200 fast.
import crypto from 'node:crypto';
import type { AppContext } from '../context.js';
import { findInputProblem } from '../input.js';

/** Whether PUBLIC_URL can receive Shopify's webhooks: https and not a loopback or private address. */
export function isPublicHttps(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'https:') return false;
  const h = u.hostname;
  return !(
    h === 'localhost' ||
    h.endsWith('.localhost') ||
    /^127\./.test(h) ||
    /^10\./.test(h) ||
    /^192\.168\./.test(h) ||
    /^172\.(1[6-9]|2\d|3[01])\./.test(h) ||
    h === '[::1]'
  );
}

export function webhookCallbackUrl(ctx: Pick<AppContext, 'config'>, tenantId: string): string {
  return `${ctx.config.PUBLIC_URL}/webhooks/shopify/${tenantId}`;
}

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

const MAX_BIGINT = 2n ** 63n - 1n;

/**
 * What Kizuna keeps of a signed delivery: its text and the customer it names — or why it cannot be used (not UTF-8, not a
 * JSON object, U+0000, a customer id beyond bigint). Shopify signed it, so it is acknowledged either way; an unusable one is
 * recorded as rejected instead of failing with a 5xx that Shopify would retry for hours.
 */
export function readDelivery(rawBody: Buffer): { text: string; customerId: string | null } | { rejected: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(rawBody);
  } catch {
    return { rejected: 'the body is not UTF-8' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { rejected: 'the body is not JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { rejected: 'the body is not a JSON object' };
  const problem = findInputProblem(json, 'body');
  if (problem) return { rejected: `${problem.path} ${problem.reason}` };
  const customerId = webhookCustomerId(text);
  if (customerId !== null && BigInt(customerId) > MAX_BIGINT) return { rejected: `the customer id ${customerId.slice(0, 40)} is out of range` };
  return { text, customerId };
}

export interface Delivery {
  tenantId: string;
  webhookId: string;
  topic: string;
  triggeredAt: string | undefined;
  rawBody: Buffer;
}

/** A time PostgreSQL can store and Shopify could mean; anything else is treated as absent. */
function triggeredAt(header: string | undefined): Date | null {
  const ms = header ? Date.parse(header) : NaN;
  return Number.isFinite(ms) && ms >= 0 && ms < Date.UTC(10000, 0, 1) ? new Date(ms) : null;
}

/**
 * Stores a verified delivery; false when it was already there (a redelivery). A delivery readDelivery refuses is stored as
 * processed with its reason, so a redelivery of it is recognised too and nothing tries to apply it.
 */
export async function storeDelivery(ctx: Pick<AppContext, 'db' | 'clock'>, d: Delivery): Promise<{ fresh: boolean; rejected?: string }> {
  const read = readDelivery(d.rawBody);
  const now = ctx.clock.now();
  const rejected = 'rejected' in read ? read.rejected : undefined;
  const { rowCount } = await ctx.db.pool.query(
    `INSERT INTO shopify_webhook_inbox (webhook_id, tenant_id, topic, customer_id, triggered_at, payload, received_at, processed_at, error)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9) ON CONFLICT (tenant_id, webhook_id) DO NOTHING`,
    [
      d.webhookId,
      d.tenantId,
      d.topic,
      rejected ? null : (read as { customerId: string | null }).customerId,
      triggeredAt(d.triggeredAt),
      rejected ? null : (read as { text: string }).text,
      now,
      rejected ? now : null,
      rejected ? `rejected: ${rejected}` : null,
    ],
  );
  return { fresh: (rowCount ?? 0) > 0, ...(rejected ? { rejected } : {}) };
}
