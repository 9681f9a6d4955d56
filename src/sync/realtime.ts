// Near real time, between nightly runs:
//   - a friend whose email arrives (LIFF, import) is matched at once against the mirror — no waiting for the night;
//   - Shopify webhooks (already verified and deduplicated into shopify_webhook_inbox by the HTTP route) are applied in small
//     batches per tenant: the customers they name are re-read from Shopify (webhook payloads since 2025-01 lack tags, consent and
//     order totals, and re-reading always yields the newest state, so out-of-order deliveries cannot regress anything), deletes mark
//     the customer deleted and keep the imported values; 最終注文ID is taken as runs take it (GraphQL lastOrder, or REST for customers
//     whose number of orders changed), never from a purchasing summary's payload, which may be older than what is known.
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { withTransaction } from '../db/index.js';
import { defineJob, sendJob, type JobHandler } from '../jobs/define.js';
import { onFriendEmailChanged } from '../crm/events.js';
import { getTenant, hasShopifyPlan } from '../crm/tenants.js';
import { shopifyFieldIds } from '../shopify/fields.js';
import { clientForTenant, getIntegration, setLastOrderSourceRest } from '../shopify/integration.js';
import { customersByIds, lastOrderDenied, ShopifyCustomerSchema, withoutLastOrder, type ShopifyCustomer } from '../shopify/queries.js';
import { linkAllFromMirror, markDeleted, prepareBatch, writeBatch } from './write.js';

async function activeIntegration(ctx: AppContext, tenantId: string) {
  const integration = await getIntegration(ctx.db.pool, tenantId);
  if (integration?.status !== 'linked') return null;
  const tenant = await getTenant(ctx.db.pool, tenantId);
  return tenant && hasShopifyPlan(tenant) ? integration : null;
}

/** Links a friend whose email was just acquired or changed to the customer in the mirror with that verified email. */
export async function matchFriendFromMirror(ctx: AppContext, tenantId: string, friendId: number): Promise<boolean> {
  if (!(await activeIntegration(ctx, tenantId))) return false;
  const fieldIds = await shopifyFieldIds(ctx.db.pool, tenantId);
  return withTransaction(ctx.db.pool, async (tx) => (await linkAllFromMirror(tx, tenantId, fieldIds, ctx.clock.now(), friendId)) > 0);
}

onFriendEmailChanged(async (event, ctx) => {
  if (!event.newEmailNormalized) return;
  const linked = await matchFriendFromMirror(ctx, event.tenantId, event.friendId);
  if (linked) ctx.log.info({ tenantId: event.tenantId, friendId: event.friendId }, 'friend matched to a Shopify customer from the mirror');
});

// ------------------------------------------------------------------------------------------------------------- webhooks

const drainPayload = z.object({ tenantId: z.string().uuid() });

export const webhookDrainJob = defineJob({
  name: 'shopify.webhook-drain',
  schema: drainPayload,
  queue: { retryLimit: 10, retryDelay: 15, retryBackoff: true, expireInSeconds: 600 },
  handler: async () => handleDrain,
});

/** Asks a worker to apply the tenant's pending webhooks; several asks within a second collapse into one job. */
export async function requestDrain(ctx: Pick<AppContext, 'boss'>, tenantId: string): Promise<void> {
  await sendJob(ctx.boss, webhookDrainJob, { tenantId }, { singletonKey: tenantId, singletonSeconds: 1 });
}

const handleDrain: JobHandler<z.output<typeof drainPayload>> = async ({ tenantId }, ctx) => {
  while ((await drainWebhooks(ctx, tenantId)) > 0) {
    /* until the inbox is empty */
  }
};

const TOPIC_DELETE = 'customers/delete';

/** Applies up to 200 pending deliveries of one tenant; returns how many were handled. */
export async function drainWebhooks(ctx: AppContext, tenantId: string): Promise<number> {
  const integration = await activeIntegration(ctx, tenantId);
  if (!integration) {
    // Unlinked (or plan gone): deliveries are acknowledged and ignored.
    await ctx.db.pool.query(
      `UPDATE shopify_webhook_inbox SET processed_at = $2, error = 'ignored: integration not active' WHERE tenant_id = $1 AND processed_at IS NULL`,
      [tenantId, ctx.clock.now()],
    );
    return 0;
  }
  return withTransaction(ctx.db.pool, async (tx) => {
    const { rows } = await tx.query<{ webhook_id: string; topic: string; customer_id: string | null }>(
      `SELECT webhook_id, topic, customer_id::text AS customer_id FROM shopify_webhook_inbox
       WHERE tenant_id = $1 AND processed_at IS NULL ORDER BY received_at LIMIT 200 FOR UPDATE SKIP LOCKED`,
      [tenantId],
    );
    if (!rows.length) return 0;
    const now = ctx.clock.now();
    const named = (deleted: boolean) => rows.filter((r) => (r.topic === TOPIC_DELETE) === deleted && r.customer_id).map((r) => r.customer_id!);
    const deletes = named(true);
    const refresh = new Set(named(false));
    for (const id of deletes) refresh.delete(id);

    await markDeleted(tx, tenantId, deletes, now);

    if (refresh.size) {
      const fieldIds = await shopifyFieldIds(tx, tenantId);
      let withLastOrder = integration.lastOrderSource === 'graphql';
      const { client } = await clientForTenant(ctx, tenantId);
      const ids = [...refresh];
      const { data, errors } = await client.graphql<{ nodes: (unknown | null)[] }>(
        customersByIds(withLastOrder),
        { ids: ids.map((id) => `gid://shopify/Customer/${id}`) },
        ids.length * 7,
      );
      let nodes = data.nodes;
      if (withLastOrder && lastOrderDenied(errors)) {
        // read_orders was taken away: a null lastOrder here means "denied", not "no orders"; from now on, REST.
        nodes = nodes.map(withoutLastOrder);
        withLastOrder = false;
        await setLastOrderSourceRest(tx, tenantId);
      }
      const found: ShopifyCustomer[] = [];
      const missing: string[] = [];
      nodes.forEach((n, i) => {
        const parsed = n ? ShopifyCustomerSchema.safeParse(n) : null;
        if (parsed?.success) found.push(parsed.data);
        else missing.push(ids[i]!);
      });
      // 最終注文ID as a run takes it: from REST for customers whose number of orders changed. Purchasing summaries only ask
      // for this re-read: their payload's lastOrderId may be older than what a run has read since (they are retried for hours).
      const prepared = await prepareBatch(ctx, client, tenantId, found, withLastOrder);
      await writeBatch(tx, { tenantId, fieldIds, customers: prepared, now });
      // Named by a webhook but gone from Shopify when re-read: deleted meanwhile.
      await markDeleted(tx, tenantId, missing, now);
    }
    await tx.query(`UPDATE shopify_webhook_inbox SET processed_at = $3 WHERE tenant_id = $1 AND webhook_id = ANY($2::text[])`, [
      tenantId,
      rows.map((r) => r.webhook_id),
      now,
    ]);
    return rows.length;
  });
}
