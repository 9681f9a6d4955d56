// Failure mail: one mail per incident, not per retry or per night. An incident opens when a run fails for good (after its
// retries) and no incident is open; it closes, with a short recovery mail, at the next successful run.
import type { AppContext } from '../context.js';
import { getTenant } from '../crm/tenants.js';
import { enqueueMail } from '../notify/mail.js';
import type { Run } from './run-store.js';

/** What happened and what the operator should do, per error code, in Japanese. */
const ADVICE: Record<string, { cause: string; action: string }> = {
  INVALID_TOKEN: {
    cause: 'ShopifyがアクセストークンまたはクライアントIDとシークレットを受け付けませんでした(トークンの失効、アプリのアンインストールなど)。',
    action: 'Kizunaの「外部データ連携 > shopify連携」で「発行」から認証情報を入力し直してください。入力し直すと次回から反映が再開します。',
  },
  MISSING_SCOPE: {
    cause: 'ShopifyアプリからKizunaが必要とする権限(read_customers)が外されました。',
    action: 'Shopifyのアプリ設定で read_customers を付与してアプリを更新し、Kizunaで「発行」をやり直してください。',
  },
  SHOP_UNAVAILABLE: {
    cause: 'Shopifyのストアが利用できない状態です(支払い待ちによる凍結、またはロック)。',
    action: 'Shopifyの管理画面でストアの状態を確認してください。ストアが利用可能になれば、次回の反映で自動的に再開します。',
  },
  SHOP_NOT_FOUND: {
    cause: '登録されたストアドメインのShopifyストアが見つかりません。',
    action: 'ストアドメインを確認し、「発行」から登録し直してください。',
  },
  SHOPIFY_UNAVAILABLE: {
    cause: 'Shopify側の障害または通信の問題で、何度か再試行しても応答が得られませんでした。',
    action: '対応は不要です。次回の反映で自動的に再試行します。続く場合はShopifyの稼働状況(https://www.shopifystatus.com/)をご確認ください。',
  },
  SHOPIFY_THROTTLED: {
    cause: 'Shopify APIの利用上限に達した状態が続き、反映を完了できませんでした。',
    action: '対応は不要です。次回の反映で自動的に再試行します。他のアプリがAPIを多く使っていないかもご確認ください。',
  },
  SHOPIFY_BULK_FAILED: {
    cause: 'Shopifyの一括エクスポート(バルクオペレーション)が失敗しました。',
    action: '対応は不要です。次回の反映で自動的に再試行します。',
  },
};
const DEFAULT_ADVICE = {
  cause: 'Kizuna内部で予期しないエラーが発生しました。',
  action: '次回の反映で自動的に再試行します。続く場合はKizunaの管理者にお問い合わせください。',
};

export async function openIncident(ctx: AppContext, tenantId: string, run: Run): Promise<void> {
  const { rows } = await ctx.db.pool.query(
    `INSERT INTO sync_incidents (tenant_id, code, message, run_id, opened_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id) WHERE closed_at IS NULL DO NOTHING RETURNING id`,
    [tenantId, run.error!.code, run.error!.message, run.id, ctx.clock.now()],
  );
  if (!rows[0]) return; // already told
  const advice = ADVICE[run.error!.code] ?? DEFAULT_ADVICE;
  const sent = await mailOperators(ctx, tenantId, 'Shopify連携の反映に失敗しました', [
    'Shopifyの顧客データをKizunaのカスタムデータへ反映する処理が失敗しました。',
    '',
    `■ 原因`,
    advice.cause,
    `(エラーコード: ${run.error!.code} / ${run.error!.message})`,
    '',
    `■ ご対応`,
    advice.action,
    '',
    `■ 対象の反映`,
    `実行ID: ${run.id}`,
    `開始: ${run.startedAt ?? run.queuedAt}`,
    `取得済み: ${run.counts.fetched}件`,
    '',
    'この件についてのお知らせは、復旧するまで繰り返し送りません。復旧したときに改めてお知らせします。',
  ]);
  if (!sent) ctx.log.warn({ tenantId, runId: run.id }, 'Shopify sync failed and the tenant has no notification address');
}

export async function closeIncident(ctx: AppContext, tenantId: string, run: Run): Promise<void> {
  const { rows } = await ctx.db.pool.query<{ code: string }>(
    `UPDATE sync_incidents SET closed_at = $2 WHERE tenant_id = $1 AND closed_at IS NULL RETURNING code`,
    [tenantId, ctx.clock.now()],
  );
  if (!rows[0]) return;
  await mailOperators(ctx, tenantId, 'Shopify連携の反映が復旧しました', [
    `先にお知らせしたShopify連携の反映の失敗(${rows[0].code})は解消し、反映が正常に完了しました。`,
    '',
    `実行ID: ${run.id}`,
    `取得: ${run.counts.fetched}件 / 更新した友だち: ${run.counts.updated}人`,
  ]);
}

/** A mail to the tenant's notification addresses, addressed and signed; false when the tenant has none. */
async function mailOperators(ctx: AppContext, tenantId: string, subject: string, body: string[]): Promise<boolean> {
  const tenant = await getTenant(ctx.db.pool, tenantId);
  if (!tenant?.notifyEmails.length) return false;
  await enqueueMail(ctx, {
    tenantId,
    to: tenant.notifyEmails,
    subject: `【Kizuna】${subject}(${tenant.name})`,
    text: [`${tenant.name} ご担当者様`, '', ...body, '', '— Kizuna'].join('\n'),
  });
  return true;
}
