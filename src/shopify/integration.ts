// The operator's side of the integration (the user's specification): 発行 (check and store the credentials), 連携 (create the
// read-only category with the 22 fields, subscribe to webhooks, start the first full sync), 連携を解除 (stop syncing, keep the
// data), the status shown on the settings page, and the match preview.
import type { AppContext } from '../context.js';
import type { Queryable } from '../db/index.js';
import { AppError, Codes } from '../errors.js';
import { ensureCategory, type CustomCategory } from '../crm/custom-data.js';
import { hasShopifyPlan, type Tenant } from '../crm/tenants.js';
import type { ShopifyClient } from './client.js';
import {
  checkCredentials,
  newClient,
  parseCredentials,
  tokenSource,
  webhookSecretFor,
  type AccessTokenSource,
  type ClientOverrides,
  type Credentials,
  type IssueInput,
  type ShopInfo,
} from './credentials.js';
import { normalizeStoreDomain } from './domain.js';
import { ShopifyCodes } from './errors.js';
import { shopifyCategorySpec } from './fields.js';
import { WEBHOOK_CREATE, WEBHOOK_DELETE, WEBHOOK_LIST, WEBHOOK_TOPICS } from './queries.js';
import { isPublicHttps, webhookCallbackUrl } from './webhooks.js';
import { cancelQueuedRuns, requestRun } from '../sync/run-store.js';

export type IntegrationStatus = 'none' | 'issued' | 'linked' | 'unlinked';

export interface Integration {
  tenantId: string;
  status: Exclude<IntegrationStatus, 'none'>;
  storeDomain: string;
  credentialKind: 'access_token' | 'client_credentials';
  scopes: string[];
  shop: ShopInfo;
  categoryId: number | null;
  lastOrderSource: 'graphql' | 'rest';
  webhookState: string;
  webhookMessage: string | null;
  webhookIds: string[];
  syncCursor: Date | null;
  pausedCode: string | null;
  pausedMessage: string | null;
  issuedAt: Date;
  linkedAt: Date | null;
  unlinkedAt: Date | null;
  updatedAt: Date;
}

/** A row of shopify_integrations. */
interface IntegrationRow {
  tenant_id: string;
  status: Integration['status'];
  store_domain: string;
  credential_kind: Integration['credentialKind'];
  access_token_enc: string | null;
  client_id: string | null;
  client_secret_enc: string | null;
  webhook_secret_enc: string | null;
  scopes: string[];
  shop: ShopInfo;
  category_id: string | null;
  last_order_source: Integration['lastOrderSource'];
  webhook_state: string;
  webhook_message: string | null;
  webhook_ids: string[];
  sync_cursor: Date | null;
  paused_code: string | null;
  paused_message: string | null;
  issued_at: Date;
  linked_at: Date | null;
  unlinked_at: Date | null;
  updated_at: Date;
}

function toIntegration(r: IntegrationRow): Integration {
  return {
    tenantId: r.tenant_id,
    status: r.status,
    storeDomain: r.store_domain,
    credentialKind: r.credential_kind,
    scopes: r.scopes,
    shop: r.shop,
    categoryId: r.category_id === null ? null : Number(r.category_id),
    lastOrderSource: r.last_order_source,
    webhookState: r.webhook_state,
    webhookMessage: r.webhook_message,
    webhookIds: r.webhook_ids,
    syncCursor: r.sync_cursor,
    pausedCode: r.paused_code,
    pausedMessage: r.paused_message,
    issuedAt: r.issued_at,
    linkedAt: r.linked_at,
    unlinkedAt: r.unlinked_at,
    updatedAt: r.updated_at,
  };
}

export async function getIntegration(db: Queryable, tenantId: string): Promise<Integration | null> {
  const { rows } = await db.query<IntegrationRow>(`SELECT * FROM shopify_integrations WHERE tenant_id = $1`, [tenantId]);
  return rows[0] ? toIntegration(rows[0]) : null;
}

/** The integration's status alone (read before every batch of a run: 連携を解除 stops it). */
export async function integrationStatus(db: Queryable, tenantId: string): Promise<Integration['status'] | null> {
  const { rows } = await db.query<Pick<IntegrationRow, 'status'>>(`SELECT status FROM shopify_integrations WHERE tenant_id = $1`, [tenantId]);
  return rows[0]?.status ?? null;
}

/** Every linked integration, for the nightly schedule. */
export async function linkedIntegrations(db: Queryable): Promise<{ tenantId: string; linkedAt: Date | null }[]> {
  const { rows } = await db.query<Pick<IntegrationRow, 'tenant_id' | 'linked_at'>>(
    `SELECT tenant_id, linked_at FROM shopify_integrations WHERE status = 'linked'`,
  );
  return rows.map((r) => ({ tenantId: r.tenant_id, linkedAt: r.linked_at }));
}

/** read_orders was taken away after 発行: from now on (runs and webhooks) 最終注文ID comes from REST. */
export async function setLastOrderSourceRest(db: Queryable, tenantId: string): Promise<void> {
  await db.query(`UPDATE shopify_integrations SET last_order_source = 'rest' WHERE tenant_id = $1`, [tenantId]);
}

/** Moves the cursor of incremental runs forward to `to` (never back; null leaves it). */
export async function advanceCursor(db: Queryable, tenantId: string, to: Date | null): Promise<void> {
  await db.query(`UPDATE shopify_integrations SET sync_cursor = greatest(sync_cursor, $2::timestamptz) WHERE tenant_id = $1`, [tenantId, to]);
}

// ------------------------------------------------------------------------------------------------ webhook verification

export interface WebhookTarget {
  status: string;
  secret: string | null;
  shop: string;
}

/** Secrets per tenant for a few seconds: a burst of deliveries costs one SELECT and one decryption, not one per request. */
const targets = new Map<string, { at: number; target: WebhookTarget | null }>();
const TARGET_CACHE_MS = 5_000;

/** What a webhook delivery for the tenant is checked against: the integration's status, shop and webhook secret. */
export async function webhookTarget(ctx: Pick<AppContext, 'db' | 'secrets'>, tenantId: string): Promise<WebhookTarget | null> {
  const hit = targets.get(tenantId);
  if (hit && Date.now() - hit.at < TARGET_CACHE_MS) return hit.target;
  const { rows } = await ctx.db.pool.query<Pick<IntegrationRow, 'status' | 'store_domain' | 'webhook_secret_enc'>>(
    `SELECT status, store_domain, webhook_secret_enc FROM shopify_integrations WHERE tenant_id = $1`,
    [tenantId],
  );
  const r = rows[0];
  const target = r ? { status: r.status, shop: r.store_domain, secret: r.webhook_secret_enc ? ctx.secrets.decrypt(r.webhook_secret_enc) : null } : null;
  targets.set(tenantId, { at: Date.now(), target });
  return target;
}

export function forgetWebhookTarget(tenantId: string): void {
  targets.delete(tenantId);
}

// ------------------------------------------------------------------------------------------------------------ clients

/** A client for the tenant's stored credentials. */
export async function clientForTenant(
  ctx: Pick<AppContext, 'config' | 'clock' | 'log' | 'db' | 'secrets'>,
  tenantId: string,
  overrides: ClientOverrides = {},
): Promise<{ client: ShopifyClient; integration: Integration; token: AccessTokenSource }> {
  const { rows } = await ctx.db.pool.query<IntegrationRow>(`SELECT * FROM shopify_integrations WHERE tenant_id = $1`, [tenantId]);
  const r = rows[0];
  if (!r) throw new AppError(Codes.NOT_FOUND, 'Shopify連携の認証情報がまだ発行されていません。');
  const integration = toIntegration(r);
  // 発行 stores the secrets of the kind it stores (access_token_enc, or client_id and client_secret_enc).
  const creds: Credentials =
    r.credential_kind === 'access_token'
      ? { kind: 'access_token', accessToken: ctx.secrets.decrypt(r.access_token_enc!) }
      : { kind: 'client_credentials', clientId: r.client_id!, clientSecret: ctx.secrets.decrypt(r.client_secret_enc!) };
  const token = tokenSource(ctx, integration.storeDomain, creds, `${tenantId}:${new Date(r.updated_at).getTime()}`);
  return { client: newClient(ctx, integration.storeDomain, token, overrides), integration, token };
}

// ---------------------------------------------------------------------------------------------------------------- 発行

export interface OperationOptions {
  /** For the live check at 発行 (tests: a hand-driven clock, no jitter). */
  client?: ClientOverrides;
  /** false: request no run after 発行 or 連携 (tests and benchmarks run their syncs in the foreground). */
  startRuns?: boolean;
}

/**
 * 発行: checks the credentials live, then stores them encrypted, and requests the mirror-only run that feeds the match preview
 * (unless already linked). Re-issuing replaces the stored credentials.
 */
export async function issueCredentials(
  ctx: AppContext,
  tenant: Tenant,
  input: IssueInput,
  opts: OperationOptions = {},
): Promise<Integration> {
  const shop = normalizeStoreDomain(input.storeDomain);
  const creds = parseCredentials(input);
  const checked = await checkCredentials(ctx, shop, creds, opts.client);
  const webhookSecret = webhookSecretFor(input, creds);
  const now = ctx.clock.now();
  const enc = (s: string | undefined) => (s ? ctx.secrets.encrypt(s) : null);
  const { rows } = await ctx.db.pool.query<IntegrationRow>(
    `INSERT INTO shopify_integrations (tenant_id, status, store_domain, credential_kind, access_token_enc, client_id, client_secret_enc,
        webhook_secret_enc, scopes, shop, last_order_source, issued_at, updated_at)
     VALUES ($1, 'issued', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
     ON CONFLICT (tenant_id) DO UPDATE SET
       store_domain = EXCLUDED.store_domain, credential_kind = EXCLUDED.credential_kind, access_token_enc = EXCLUDED.access_token_enc,
       client_id = EXCLUDED.client_id, client_secret_enc = EXCLUDED.client_secret_enc, webhook_secret_enc = EXCLUDED.webhook_secret_enc,
       scopes = EXCLUDED.scopes, shop = EXCLUDED.shop, last_order_source = EXCLUDED.last_order_source,
       issued_at = EXCLUDED.issued_at, updated_at = EXCLUDED.updated_at,
       -- another shop's mirror and cursor mean nothing for this one
       sync_cursor = CASE WHEN shopify_integrations.store_domain = EXCLUDED.store_domain THEN shopify_integrations.sync_cursor END,
       status = CASE WHEN shopify_integrations.status = 'linked' THEN 'linked' ELSE 'issued' END
     RETURNING *`,
    [
      tenant.id,
      shop,
      creds.kind,
      enc(creds.accessToken),
      creds.clientId ?? null,
      enc(creds.clientSecret),
      enc(webhookSecret),
      checked.scopes,
      checked.shop,
      checked.scopes.includes('read_orders') || checked.scopes.includes('write_orders') ? 'graphql' : 'rest',
      now,
    ],
  );
  ctx.log.info({ tenantId: tenant.id, shop, kind: creds.kind, scopes: checked.scopes }, 'Shopify credentials issued');
  forgetWebhookTarget(tenant.id);
  const integration = toIntegration(rows[0]);
  // Fill the mirror now so the match preview can answer before 連携; a linked integration simply uses the new credentials.
  if (integration.status !== 'linked' && opts.startRuns !== false) await requestRun(ctx, tenant.id, { mode: 'full', trigger: 'issue' });
  return integration;
}

// ---------------------------------------------------------------------------------------------------------------- 連携

/** 連携: the read-only category with its 22 fields, webhook subscriptions, and the first full run (unless already linked). */
export async function linkIntegration(
  ctx: AppContext,
  tenant: Tenant,
  opts: Pick<OperationOptions, 'startRuns'> = {},
): Promise<{ integration: Integration; category: CustomCategory }> {
  const current = await getIntegration(ctx.db.pool, tenant.id);
  if (!current) {
    throw new AppError(Codes.CONFLICT, '先に「発行」でストアドメインとAdmin APIアクセストークンを登録してください。');
  }
  const category = await ensureCategory(ctx.db.pool, tenant.id, shopifyCategorySpec());
  const now = ctx.clock.now();
  await ctx.db.pool.query(
    `UPDATE shopify_integrations SET status = 'linked', category_id = $2, linked_at = coalesce(CASE WHEN status = 'linked' THEN linked_at END, $3),
       unlinked_at = NULL, paused_code = NULL, paused_message = NULL, updated_at = $3
     WHERE tenant_id = $1`,
    [tenant.id, category.id, now],
  );
  await subscribeWebhooks(ctx, tenant.id);
  forgetWebhookTarget(tenant.id);
  if (current.status !== 'linked' && opts.startRuns !== false) await requestRun(ctx, tenant.id, { mode: 'full', trigger: 'link' });
  return { integration: (await getIntegration(ctx.db.pool, tenant.id))!, category };
}

async function setWebhookState(ctx: AppContext, tenantId: string, state: string, message: string | null, ids?: string[]) {
  await ctx.db.pool.query(
    `UPDATE shopify_integrations SET webhook_state = $2, webhook_message = $3, webhook_ids = coalesce($4, webhook_ids) WHERE tenant_id = $1`,
    [tenantId, state, message, ids ?? null],
  );
}

/** Subscribes to customer webhooks when Shopify can reach us and we can verify what it sends; otherwise says why not. */
async function subscribeWebhooks(ctx: AppContext, tenantId: string): Promise<void> {
  const { rows } = await ctx.db.pool.query<{ webhook_secret_enc: string | null }>(`SELECT webhook_secret_enc FROM shopify_integrations WHERE tenant_id = $1`, [tenantId]);
  if (!isPublicHttps(ctx.config.PUBLIC_URL)) {
    await setWebhookState(
      ctx,
      tenantId,
      'needs_public_url',
      `リアルタイム反映にはShopifyから届く公開URL(https)が必要です(現在の PUBLIC_URL: ${ctx.config.PUBLIC_URL})。毎日の定期反映はこのまま動きます。`,
    );
    return;
  }
  if (!rows[0]?.webhook_secret_enc) {
    await setWebhookState(
      ctx,
      tenantId,
      'needs_webhook_secret',
      'リアルタイム反映には、ShopifyアプリのAPIシークレットキーの登録が必要です(Webhookの署名確認に使います)。毎日の定期反映はこのまま動きます。',
    );
    return;
  }
  const uri = webhookCallbackUrl(ctx, tenantId);
  try {
    const { client } = await clientForTenant(ctx, tenantId, { maxAttempts: 3 });
    const existing = await client.graphql<{ webhookSubscriptions: { nodes: { id: string; topic: string }[] } }>(WEBHOOK_LIST, { uri }, 12);
    const have = new Map(existing.data.webhookSubscriptions.nodes.map((n) => [n.topic, n.id]));
    const ids: string[] = [];
    for (const topic of WEBHOOK_TOPICS) {
      const known = have.get(topic);
      if (known) {
        ids.push(known);
        continue;
      }
      const { data } = await client.graphql<{
        webhookSubscriptionCreate: { webhookSubscription: { id: string } | null; userErrors: { message: string }[] };
      }>(WEBHOOK_CREATE, { topic, uri }, 10);
      const sub = data.webhookSubscriptionCreate.webhookSubscription;
      if (!sub) throw new Error(`${topic}: ${data.webhookSubscriptionCreate.userErrors.map((e) => e.message).join('; ')}`);
      ids.push(sub.id);
    }
    await setWebhookState(ctx, tenantId, 'subscribed', null, ids);
  } catch (e) {
    ctx.log.warn({ tenantId, err: { message: (e as Error).message } }, 'Shopify webhook subscription failed');
    await setWebhookState(
      ctx,
      tenantId,
      'failed',
      `ShopifyへのWebhook登録に失敗しました(${(e as Error).message})。毎日の定期反映は動きます。「連携」をもう一度押すと再登録します。`,
    );
  }
}

// ------------------------------------------------------------------------------------------------------------ 連携を解除

/** 連携を解除: no more runs or webhook processing; Kizuna's webhook subscriptions are removed (best effort); data is kept. */
export async function unlinkIntegration(ctx: AppContext, tenant: Tenant): Promise<Integration> {
  const current = await getIntegration(ctx.db.pool, tenant.id);
  if (!current) throw new AppError(Codes.CONFLICT, 'Shopify連携はまだ発行されていません。');
  const now = ctx.clock.now();
  await ctx.db.pool.query(
    `UPDATE shopify_integrations SET status = 'unlinked', unlinked_at = $2, updated_at = $2 WHERE tenant_id = $1`,
    [tenant.id, now],
  );
  // Queued runs are cancelled; a running one stops at its next batch (it re-reads the status).
  await cancelQueuedRuns(ctx.db.pool, tenant.id, { code: ShopifyCodes.UNLINKED, message: '連携が解除されたため中止しました。' }, now);
  if (current.webhookIds.length) {
    try {
      const { client } = await clientForTenant(ctx, tenant.id, { maxAttempts: 2 });
      for (const id of current.webhookIds) await client.graphql(WEBHOOK_DELETE, { id }, 10);
      await setWebhookState(ctx, tenant.id, 'off', null, []);
    } catch (e) {
      ctx.log.warn({ tenantId: tenant.id, err: { message: (e as Error).message } }, 'could not remove Shopify webhooks; deliveries will be ignored');
      await setWebhookState(ctx, tenant.id, 'off', 'Shopify側のWebhook登録を削除できませんでした。届いた通知は無視されます。', []);
    }
  } else {
    await setWebhookState(ctx, tenant.id, 'off', null, []);
  }
  forgetWebhookTarget(tenant.id);
  return (await getIntegration(ctx.db.pool, tenant.id))!;
}

/** Whether the tenant's plan still allows runs; records why not on the integration (a downgrade while linked). */
export async function checkPlanForRuns(ctx: Pick<AppContext, 'db' | 'clock'>, tenant: Tenant): Promise<boolean> {
  if (hasShopifyPlan(tenant)) {
    await ctx.db.pool.query(
      `UPDATE shopify_integrations SET paused_code = NULL, paused_message = NULL WHERE tenant_id = $1 AND paused_code = 'PLAN_REQUIRED'`,
      [tenant.id],
    );
    return true;
  }
  await ctx.db.pool.query(
    `UPDATE shopify_integrations SET paused_code = 'PLAN_REQUIRED',
       paused_message = 'エンタープライズプランとShopify連携オプションのご契約がないため、Shopifyからの反映を停止しています。'
     WHERE tenant_id = $1 AND paused_code IS DISTINCT FROM 'PLAN_REQUIRED'`,
    [tenant.id],
  );
  return false;
}
