// 外部データ連携 › shopify連携: the page of the user's specification — 発行 (store domain + Admin API access token), 連携,
// 連携を解除 — with what an operator needs around it: the status, where 最終注文ID comes from, the match preview before 連携,
// the next nightly run, and recent runs.
import type { FastifyRequest } from 'fastify';
import { formatDateTime } from '../../time.js';
import type { integrationView, matchPreview } from '../../shopify/view.js';
import { html, type Html } from './html.js';
import { RunStatus } from '../../sync/run-store.js';
import { csrfField, page } from './layout.js';
import { noticeBanner } from './notice.js';

type View = Awaited<ReturnType<typeof integrationView>>;
type Preview = Awaited<ReturnType<typeof matchPreview>>;
type RunItem = NonNullable<View['lastRun']>;

const STATUS_LABELS: Record<string, Html> = {
  none: html`<span class="badge">未発行</span>`,
  issued: html`<span class="badge">発行済み(未連携)</span>`,
  linked: html`<span class="badge ok">連携中</span>`,
  unlinked: html`<span class="badge ng">連携解除</span>`,
};
const RUN_STATUS: Record<RunStatus, string> = { queued: '待機中', running: '実行中', succeeded: '成功', failed: '失敗' };
const RUN_MODE: Record<string, string> = { full: '全件', incremental: '差分' };
const RUN_TRIGGER: Record<string, string> = {
  nightly: '定期', manual: '手動', link: '連携時', catch_up: '取りこぼし分', cli: 'コマンド', issue: 'プレビュー用',
};
const WEBHOOK_LABELS: Record<string, string> = {
  subscribed: '有効(Shopifyの変更をすぐに反映します)',
  needs_public_url: '無効',
  needs_webhook_secret: '無効',
  failed: '登録に失敗',
  off: '無効',
};

const n = (x: number) => x.toLocaleString('ja-JP');

function runRow(r: RunItem): Html {
  return html`<tr>
    <td>${formatDateTime(r.startedAt ?? r.queuedAt)}</td>
    <td>${RUN_TRIGGER[r.trigger] ?? r.trigger}・${RUN_MODE[r.mode] ?? r.mode}</td>
    <td>${r.status === RunStatus.failed ? html`<span class="badge ng">失敗</span>` : r.status === RunStatus.succeeded ? html`<span class="badge ok">成功</span>` : RUN_STATUS[r.status]}</td>
    <td>${n(r.counts.fetched)}${r.total !== null && r.status !== RunStatus.succeeded ? ` / ${n(r.total)}` : ''}</td>
    <td>${n(r.counts.matched)}</td>
    <td>${n(r.counts.linked)}</td>
    <td>${n(r.counts.updated)}</td>
    <td>${n(r.counts.deleted)}</td>
    <td class="${r.error ? 'error' : ''}">${r.error ? `${r.error.message}(${r.error.code})` : ''}</td>
  </tr>`;
}

function issueForm(req: FastifyRequest, view: View): Html {
  const store = view.status !== 'none' ? view.storeDomain ?? '' : '';
  return html`<form method="post" action="/settings/integrations/shopify/issue">
    ${csrfField(req)}
    <p><label>ストアドメイン<br>
      <input type="text" name="storeDomain" value="${store}" required placeholder="my-store" style="width:100%;max-width:420px" autocomplete="off"></label><br>
      <span class="muted">Shopify管理画面のURL「https://admin.shopify.com/store/」の後の部分です(例: my-store)。my-store.myshopify.com の形でも入力できます。</span></p>
    <p><label>Admin APIアクセストークン<br>
      <input type="password" name="accessToken" placeholder="shpat_…" style="width:100%;max-width:420px" autocomplete="off"></label><br>
      <span class="muted">Shopifyで作成したカスタムアプリ(Admin APIスコープ read_customers)の「トークンを一度開示」で表示されるトークンです。保存後は表示されません。</span></p>
    <details><summary>Dev Dashboard で作成したアプリの場合(クライアントIDとシークレット)</summary>
      <p class="muted">2026年1月以降、ストア管理画面では新しいカスタムアプリを作成できません。Dev Dashboard のアプリでは、アクセストークンの代わりにクライアントIDとシークレットを入力してください。トークンはKizunaが自動で取得・更新します。</p>
      <p><label>クライアントID<br><input type="text" name="clientId" style="width:100%;max-width:420px" autocomplete="off"></label></p>
      <p><label>クライアントシークレット<br><input type="password" name="clientSecret" style="width:100%;max-width:420px" autocomplete="off"></label></p>
    </details>
    <details><summary>リアルタイム反映(任意): APIシークレットキー</summary>
      <p class="muted">ストア管理画面で作成したカスタムアプリの「APIシークレットキー」を入力すると、Shopifyからの変更通知(Webhook)を確認して、夜間を待たずに反映できます。Dev Dashboard のアプリでは不要です。</p>
      <p><label>APIシークレットキー<br><input type="password" name="webhookSecret" style="width:100%;max-width:420px" autocomplete="off"></label></p>
    </details>
    <p><button type="submit">発行</button></p>
  </form>`;
}

export function shopifyPage(
  req: FastifyRequest,
  opts: { allowed: boolean; view: View; preview: Preview | null; runs: RunItem[]; notice?: { ok?: string; error?: string } },
): string {
  const { view, preview } = opts;
  const notice = noticeBanner(opts.notice);
  if (!opts.allowed) {
    return page({
      req,
      title: 'shopify連携',
      body: html`<h1>外部データ連携 › shopify連携</h1>
        <div class="card"><p>この機能のご利用には<strong>エンタープライズプラン</strong>と<strong>有料オプション(shopify連携)</strong>のご契約が必要です。</p>
        <p class="muted">ご契約については担当者までお問い合わせください。</p></div>`,
    });
  }
  const v = view.status === 'none' ? null : (view as Extract<View, { credentialKind: string }>);
  const csrf = csrfField(req);
  const current = view.currentRun;
  return page({
    req,
    title: 'shopify連携',
    body: html`<h1>外部データ連携 › shopify連携</h1>
      ${notice}
      <div class="card">
        <dl class="props">
          <dt>状態</dt><dd>${STATUS_LABELS[view.status]}</dd>
          ${v
            ? html`<dt>ストア</dt><dd>${v.storeDomain}${v.shop?.name ? `(${v.shop.name})` : ''}</dd>
              <dt>認証方式</dt><dd>${v.credentialKind === 'access_token' ? 'Admin APIアクセストークン' : 'クライアントIDとシークレット(Dev Dashboard)'}</dd>
              <dt>アクセス権限</dt><dd>${v.scopes.join(', ')}</dd>
              <dt>最終注文IDの取得元</dt><dd>${v.lastOrderIdSource.label}</dd>
              <dt>リアルタイム反映</dt><dd>${WEBHOOK_LABELS[v.webhooks.state] ?? v.webhooks.state}${v.webhooks.message ? html`<br><span class="muted">${v.webhooks.message}</span>` : ''}</dd>
              <dt>定期反映</dt><dd>${v.nextRunAt ? `次回 ${formatDateTime(v.nextRunAt)}(毎日 ${v.syncWindow.window} の間)` : '—'}</dd>
              ${v.paused ? html`<dt>停止中</dt><dd class="error">${v.paused.message}</dd>` : ''}
              ${v.category ? html`<dt>カスタムデータ</dt><dd><a href="/custom-data">${v.category.name}</a>(22項目・編集不可)</dd>` : ''}`
            : ''}
        </dl>
        ${current
          ? html`<p class="notice">反映を実行中です: ${n(current.counts.fetched)}${current.total !== null ? ` / ${n(current.total)}` : ''}件(ページを再読み込みすると進み具合を更新します)</p>`
          : ''}
      </div>

      ${view.status === 'linked'
        ? html`<div class="card"><h2 style="margin-top:0">連携中</h2>
            <p>毎日 ${v!.syncWindow.window} 頃に、Shopifyの顧客データを一致する友だちのカスタムデータへ反映(上書き)します。反映に失敗した場合は通知先メールアドレスへお知らせします。</p>
            <form class="inline" method="post" action="/settings/integrations/shopify/sync">${csrf}
              <button type="submit" class="secondary">今すぐ反映</button>
              <label class="muted"><input type="checkbox" name="full" value="1"> 全件を読み直す</label>
            </form>
            <form method="post" action="/settings/integrations/shopify/unlink" style="margin-top:12px"
              data-confirm="連携を解除すると、以降はShopifyのデータが反映されなくなります。すでに反映されたデータは残ります。解除しますか？">${csrf}
              <button type="submit" class="secondary">連携を解除</button>
            </form></div>`
        : ''}

      ${view.status === 'issued' || view.status === 'unlinked'
        ? html`<div class="card"><h2 style="margin-top:0">連携</h2>
            ${preview
              ? html`<p>いま連携すると、次のように反映されます${preview.refreshing ? '(Shopifyから顧客を読み込み中のため、数は増えることがあります)' : ''}。</p>
                <dl class="props">
                  <dt>Shopifyの顧客</dt><dd>${n(preview.customers)}人</dd>
                  <dt>メール確認済み</dt><dd>${n(preview.verified)}人(メールアドレスの確認が済んでいない顧客は対象外です)</dd>
                  <dt>友だちと一致</dt><dd><strong>${n(preview.matchable)}人</strong>(メールアドレスを取得済みの友だち ${n(preview.friendsWithEmail)}人のうち)</dd>
                  <dt>複数の友だちに一致</dt><dd>${n(preview.ambiguous)}人(同じメールアドレスの友だち全員に反映します)</dd>
                </dl>`
              : ''}
            <form method="post" action="/settings/integrations/shopify/link" style="margin-top:12px">${csrf}
              <button type="submit">連携</button>
              <span class="muted">カスタムデータに「データ連携(shopify)」カテゴリと22項目を作成し、反映を始めます。</span>
            </form></div>`
        : ''}

      <div class="card"><h2 style="margin-top:0">${view.status === 'none' ? '発行' : '認証情報の再発行'}</h2>
        ${view.status === 'none'
          ? html`<p>Shopifyのストアドメインと、カスタムアプリのAdmin APIアクセストークンを入力して「発行」してください。入力した内容はShopifyに問い合わせて確認してから保存します。</p>`
          : html`<p class="muted">トークンを入れ替えるときは、もう一度入力して「発行」してください。保存済みのトークンは表示されません。</p>`}
        ${issueForm(req, view)}
      </div>

      ${opts.runs.length
        ? html`<h2>反映の履歴</h2>
          <table><thead><tr><th>開始</th><th>種類</th><th>結果</th><th>取得</th><th>一致</th><th>新規連携</th><th>更新した友だち</th><th>削除</th><th>エラー</th></tr></thead>
          <tbody>${opts.runs.map(runRow)}</tbody></table>`
        : ''}`,
  });
}
