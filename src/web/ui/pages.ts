// The admin UI's pages (Japanese): ログイン, 友だち一覧, 友だち詳細, カスタムデータ.
import type { FastifyRequest } from 'fastify';
import { formatDateTime } from '../../time.js';
import type { CustomCategory, FriendCustomDatum } from '../../crm/custom-data.js';
import type { Friend } from '../../crm/friends.js';
import { html, type Html } from './html.js';
import { csrfField, page } from './layout.js';
import { noticeBanner } from './notice.js';

const typeLabels: Record<string, string> = { text: 'テキスト', number: '数値', date: '日付' };
const sourceLabels: Record<string, string> = { liff: 'LIFF', import: 'インポート', api: 'API' };

export function loginPage(opts: { error?: string; email?: string; next?: string; loginCsrf: string }): string {
  return page({
    title: 'ログイン',
    body: html`<div class="card" style="max-width:380px;margin:64px auto">
      <h1>Kizuna にログイン</h1>
      ${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
      <form method="post" action="/login">
        <input type="hidden" name="_login_csrf" value="${opts.loginCsrf}">
        <input type="hidden" name="next" value="${opts.next ?? ''}">
        <p><label>メールアドレス<br><input type="email" name="email" value="${opts.email ?? ''}" required autofocus style="width:100%" autocomplete="username"></label></p>
        <p><label>パスワード<br><input type="password" name="password" required style="width:100%" autocomplete="current-password"></label></p>
        <p><button type="submit" style="width:100%">ログイン</button></p>
      </form>
    </div>`,
  });
}

function statusBadge(status: string): Html {
  return status === 'active' ? html`<span class="badge ok">友だち</span>` : html`<span class="badge ng">ブロック</span>`;
}

export function friendsPage(
  req: FastifyRequest,
  opts: { items: Friend[]; total: number; page: number; perPage: number; q: string },
): string {
  const pages = Math.max(1, Math.ceil(opts.total / opts.perPage));
  const link = (p: number) => `/friends?${new URLSearchParams({ ...(opts.q ? { q: opts.q } : {}), page: String(p) })}`;
  return page({
    req,
    title: '友だち一覧',
    body: html`<h1>友だち一覧</h1>
      <div class="card">
        <form class="inline" method="get" action="/friends">
          <input type="search" name="q" value="${opts.q}" placeholder="名前またはメールアドレス" style="min-width:280px">
          <button type="submit">検索</button>
          ${opts.q ? html`<a href="/friends">クリア</a>` : ''}
          <span class="muted">${opts.total.toLocaleString('ja-JP')}人</span>
        </form>
      </div>
      <table>
        <thead><tr><th>表示名</th><th>メールアドレス</th><th>状態</th><th>登録日時</th></tr></thead>
        <tbody>
          ${opts.items.length
            ? opts.items.map(
                (f) => html`<tr>
                  <td><a href="/friends/${f.id}">${f.displayName ?? '（名前未取得）'}</a></td>
                  <td>${f.email ?? html`<span class="muted">未取得</span>`}</td>
                  <td>${statusBadge(f.status)}</td>
                  <td>${formatDateTime(f.createdAt)}</td>
                </tr>`,
              )
            : html`<tr><td colspan="4" class="muted">該当する友だちはいません</td></tr>`}
        </tbody>
      </table>
      <div class="pager">
        ${opts.page > 1 ? html`<a href="${link(opts.page - 1)}">← 前へ</a>` : ''}
        <span class="muted">${opts.page} / ${pages} ページ</span>
        ${opts.page < pages ? html`<a href="${link(opts.page + 1)}">次へ →</a>` : ''}
      </div>
      <h2>CSVインポート</h2>
      <div class="card">
        <p class="muted">1行目は <code>line_user_id,display_name,email</code>（emailは空でも可）。UTF-8（BOM付き可）とShift_JIS（Excel）に対応しています。同じ line_user_id は更新されます。</p>
        <form class="inline" id="import-form">
          <input type="file" id="import-file" accept=".csv,text/csv" required>
          <button type="submit">インポート</button>
        </form>
        <pre id="import-result" class="muted" style="white-space:pre-wrap"></pre>
      </div>`,
  });
}

function valueInput(d: FriendCustomDatum): Html {
  const v = d.value === null ? '' : String(d.value);
  if (d.type === 'number') return html`<input type="number" step="any" name="value" value="${v}">`;
  if (d.type === 'date') return html`<input type="date" name="value" value="${v}">`;
  return html`<input type="text" name="value" value="${v}" style="min-width:280px">`;
}

function displayValue(d: FriendCustomDatum): Html | string {
  if (d.value === null) return html`<span class="muted">—</span>`;
  if (d.type === 'number') return Number(d.value).toLocaleString('ja-JP', { maximumFractionDigits: 10 });
  return String(d.value);
}

export function friendDetailPage(req: FastifyRequest, friend: Friend, data: FriendCustomDatum[], notice?: { error?: string; ok?: string }): string {
  const groups = new Map<number, { name: string; readOnly: boolean; items: FriendCustomDatum[] }>();
  for (const d of data) {
    const g = groups.get(d.categoryId) ?? { name: d.category, readOnly: true, items: [] };
    g.items.push(d);
    g.readOnly &&= d.readOnly;
    groups.set(d.categoryId, g);
  }
  return page({
    req,
    title: `${friend.displayName ?? '友だち'} | 友だち詳細`,
    body: html`<p><a href="/friends">← 友だち一覧</a></p>
      <h1>${friend.displayName ?? '（名前未取得）'} ${statusBadge(friend.status)}</h1>
      ${noticeBanner(notice, { card: false })}
      <div class="card">
        <dl class="props">
          <dt>メールアドレス</dt><dd>${friend.email ?? html`<span class="muted">未取得</span>`}</dd>
          <dt>メールアドレス取得日時</dt><dd>${friend.emailAcquiredAt ? formatDateTime(friend.emailAcquiredAt) : html`<span class="muted">—</span>`}
            ${friend.emailSource ? html`<span class="badge">${sourceLabels[friend.emailSource] ?? friend.emailSource}</span>` : ''}</dd>
          <dt>LINEユーザーID</dt><dd><code>${friend.lineUserId}</code></dd>
          <dt>登録日時</dt><dd>${formatDateTime(friend.createdAt)}</dd>
        </dl>
      </div>
      <h2>カスタムデータ</h2>
      ${groups.size
        ? [...groups.values()].map(
            (g) => html`<div class="card">
              <h2 style="margin-top:0">${g.name} ${g.readOnly ? html`<span class="badge">連携データ（編集不可）</span>` : ''}</h2>
              <table>
                <thead><tr><th style="width:30%">項目</th><th style="width:10%">種類</th><th>値</th></tr></thead>
                <tbody>${g.items.map(
                  (d) => html`<tr>
                    <td>${d.name} ${d.readOnly ? html`<span class="badge" title="外部データ連携で更新されます">編集不可</span>` : ''}</td>
                    <td class="muted">${typeLabels[d.type]}</td>
                    <td>${d.readOnly
                      ? displayValue(d)
                      : html`<form class="inline" method="post" action="/friends/${friend.id}/custom-data/${d.fieldId}">
                          ${csrfField(req)}${valueInput(d)}
                          <button class="secondary" type="submit">保存</button></form>`}</td>
                  </tr>`,
                )}</tbody>
              </table>
            </div>`,
          )
        : html`<p class="muted">カスタムデータの項目はまだありません。<a href="/custom-data">カスタムデータ</a>で作成できます。</p>`}`,
  });
}

export function customDataPage(req: FastifyRequest, categories: CustomCategory[], notice?: { error?: string }): string {
  const csrf = csrfField(req);
  return page({
    req,
    title: 'カスタムデータ',
    body: html`<h1>カスタムデータ</h1>
      ${noticeBanner(notice, { card: false })}
      ${categories.map(
        (c) => html`<div class="card">
          <h2 style="margin-top:0">${c.name} ${c.readOnly ? html`<span class="badge">連携データ（編集不可）</span>` : ''}</h2>
          <table>
            <thead><tr><th>項目名</th><th>種類</th><th></th></tr></thead>
            <tbody>${c.fields.length
              ? c.fields.map(
                  (f) => html`<tr><td>${f.name}</td><td>${typeLabels[f.type]}</td><td>${f.readOnly ? html`<span class="badge">編集不可</span>` : ''}</td></tr>`,
                )
              : html`<tr><td colspan="3" class="muted">項目はまだありません</td></tr>`}</tbody>
          </table>
          ${c.readOnly
            ? ''
            : html`<form class="inline" method="post" action="/custom-data/categories/${c.id}/fields" style="margin-top:12px">${csrf}
                <input type="text" name="name" placeholder="項目名" required maxlength="100">
                <select name="type"><option value="text">テキスト</option><option value="number">数値</option><option value="date">日付</option></select>
                <button class="secondary" type="submit">項目を追加</button></form>`}
        </div>`,
      )}
      <div class="card">
        <form class="inline" method="post" action="/custom-data/categories">${csrf}
          <input type="text" name="name" placeholder="カテゴリ名" required maxlength="100">
          <button type="submit">カテゴリを追加</button>
        </form>
      </div>`,
  });
}

export function notFoundPage(req: FastifyRequest): string {
  return page({ req, title: '見つかりません', body: html`<h1>見つかりません</h1><p>お探しのページは見つかりませんでした。</p><p><a href="/friends">友だち一覧へ</a></p>` });
}
