// What the operator sees of the integration — the API's GET /integrations/shopify, the settings page and `kizuna shopify
// status` all show this one shape. Never any secret.
import type { AppContext } from '../context.js';
import { hasShopifyPlan, type Tenant } from '../crm/tenants.js';
import { getIntegration } from './integration.js';
import { webhookCallbackUrl } from './webhooks.js';
import { nextNightlyRun } from '../sync/schedule.js';
import { isActive, isFinished, listRuns, RunStatus, runJson } from '../sync/run-store.js';

export const LAST_ORDER_SOURCE_LABELS = {
  graphql: 'Shopify GraphQL API の lastOrder(read_orders 権限あり)',
  rest: 'Shopify REST API の last_order_id と購入サマリーWebhook(read_customers 権限のみ)',
} as const;

export async function integrationView(ctx: AppContext, tenant: Tenant) {
  const i = await getIntegration(ctx.db.pool, tenant.id);
  const runs = await listRuns(ctx, tenant.id, 5);
  const current = runs.find(isActive) ?? null;
  const last = runs.find(isFinished) ?? null;
  if (!i) {
    return { status: 'none' as const, storeDomain: null, shop: null, lastRun: null, nextRunAt: null, currentRun: null };
  }
  const active = i.status === 'linked' && hasShopifyPlan(tenant);
  const { rows } = await ctx.db.pool.query<{ id: number; name: string }>(`SELECT id, name FROM custom_categories WHERE tenant_id = $1 AND id = $2`, [tenant.id, i.categoryId]);
  return {
    status: i.status,
    storeDomain: i.storeDomain,
    shop: i.shop,
    lastRun: last ? runJson(last) : null,
    nextRunAt: active ? nextNightlyRun(tenant.id, ctx.clock.now(), ctx.config.SYNC_WINDOW, ctx.config.SYNC_TIMEZONE).toISOString() : null,
    currentRun: current ? runJson(current) : null,
    credentialKind: i.credentialKind,
    scopes: i.scopes,
    lastOrderIdSource: { source: i.lastOrderSource, label: LAST_ORDER_SOURCE_LABELS[i.lastOrderSource] },
    webhooks: { state: i.webhookState, message: i.webhookMessage, callbackUrl: webhookCallbackUrl(ctx, tenant.id) },
    paused: i.pausedCode ? { code: i.pausedCode, message: i.pausedMessage } : null,
    category: rows[0] ? { id: String(rows[0].id), name: rows[0].name } : null,
    issuedAt: i.issuedAt.toISOString(),
    linkedAt: i.linkedAt?.toISOString() ?? null,
    unlinkedAt: i.unlinkedAt?.toISOString() ?? null,
    syncWindow: { window: ctx.config.SYNC_WINDOW, timeZone: ctx.config.SYNC_TIMEZONE },
  };
}

/** Match preview from the mirror (filled by the run that follows 発行): what 連携 will do with today's friends. */
export async function matchPreview(ctx: AppContext, tenantId: string) {
  const { rows } = await ctx.db.pool.query<{ customers: number; verified: number; matchable: number; ambiguous: number; friends_with_email: number }>(
    `WITH c AS (SELECT customer_id, email_matchable FROM shopify_customers WHERE tenant_id = $1 AND deleted_at IS NULL),
          m AS (SELECT c.customer_id, count(f.id) AS friends
                FROM c JOIN friends f ON f.tenant_id = $1 AND f.email_normalized = c.email_matchable
                WHERE c.email_matchable IS NOT NULL GROUP BY c.customer_id)
     SELECT (SELECT count(*) FROM c)::int AS customers,
            (SELECT count(*) FROM c WHERE email_matchable IS NOT NULL)::int AS verified,
            (SELECT count(*) FROM m)::int AS matchable,
            (SELECT count(*) FROM m WHERE friends > 1)::int AS ambiguous,
            (SELECT count(*) FROM friends WHERE tenant_id = $1 AND email_normalized IS NOT NULL)::int AS friends_with_email`,
    [tenantId],
  );
  const runs = await listRuns(ctx, tenantId, 5);
  const refreshing = runs.find(isActive) ?? null;
  const asOf = runs.find((r) => r.status === RunStatus.succeeded)?.finishedAt ?? null;
  const r = rows[0]!;
  return {
    customers: r.customers,
    verified: r.verified,
    matchable: r.matchable,
    ambiguous: r.ambiguous,
    friendsWithEmail: r.friends_with_email,
    asOf,
    refreshing: refreshing ? { runId: refreshing.id, done: refreshing.counts.fetched, total: refreshing.total } : null,
  };
}
