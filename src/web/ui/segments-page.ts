// セグメント配信: the marketer's page of the user's specification — 「平均購入金額が3000円以上の友だちにクーポンなどの特典を配信する」.
// The list of segments with how many friends each selects, a form to make one from custom data conditions, and on a segment
// its count, a form to send a text message now or at a time (JST), and its deliveries with their progress.
import type { FastifyRequest } from 'fastify';
import { formatDateTime, tokyoDateTimeInput } from '../../time.js';
import type { CustomCategory } from '../../crm/custom-data.js';
import type { Delivery } from '../../delivery/deliveries.js';
import { messagesSummary } from '../../delivery/messages.js';
import { MAX_CONDITIONS, OP_LABELS, OPS_BY_TYPE, type Condition, type Op, type Segment, type SegmentCount } from '../../delivery/segments.js';
import { html, raw, type Html } from './html.js';
import { csrfField, page, TYPE_LABELS } from './layout.js';
import { noticeBanner } from './notice.js';

const n = (x: number) => x.toLocaleString('ja-JP');
/** The order operators appear in the select; each option is enabled only for the types that take it. */
const OP_ORDER: Op[] = ['gte', 'gt', 'lte', 'lt', 'eq', 'ne', 'contains', 'before', 'after', 'within_days', 'exists', 'not_exists'];

export interface FieldInfo {
  id: number;
  name: string;
  type: 'text' | 'number' | 'date';
  category: string;
}

export function fieldsOf(categories: CustomCategory[]): Map<number, FieldInfo> {
  const m = new Map<number, FieldInfo>();
  for (const c of categories) for (const f of c.fields) m.set(f.id, { id: f.id, name: f.name, type: f.type, category: c.name });
  return m;
}

/** 「平均購入金額(shopify) が 3,000 以上」 */
export function describeCondition(c: Condition, fields: Map<number, FieldInfo>): string {
  const f = fields.get(c.fieldId);
  const name = f ? f.name : `（削除された項目 ${c.fieldId}）`;
  if (c.op === 'exists') return `${name} の値がある`;
  if (c.op === 'not_exists') return `${name} の値がない`;
  if (c.op === 'within_days') return `${name} が ${c.value}日前〜今日`;
  const v = typeof c.value === 'number' ? n(c.value) : f?.type === 'text' ? `「${c.value}」` : String(c.value);
  return `${name} が ${v} ${OP_LABELS[c.op]}`;
}

function describeMatch(s: Segment): string {
  return s.conditions.length < 2 ? '' : s.match === 'all' ? 'すべての条件に一致' : 'いずれかの条件に一致';
}


const STATUS: Record<string, Html> = {
  queued: html`<span class="badge">待機中</span>`,
  scheduled: html`<span class="badge">予約済み</span>`,
  sending: html`<span class="badge ok">配信中</span>`,
  sent: html`<span class="badge ok">配信完了</span>`,
  failed: html`<span class="badge ng">失敗</span>`,
  canceled: html`<span class="badge">取消済み</span>`,
};

function deliveryRows(req: FastifyRequest, items: Delivery[], withSegment: boolean): Html {
  const csrf = csrfField(req);
  const cols = withSegment ? 9 : 8;
  return html`<table>
    <thead><tr>${withSegment ? html`<th>セグメント</th>` : ''}<th>登録</th><th>配信日時</th><th>状態</th><th>対象</th><th>送信済み</th><th>失敗</th><th>メッセージ</th><th></th></tr></thead>
    <tbody>${items.length
      ? items.map(
          (d) => html`<tr>
            ${withSegment ? html`<td><a href="/segments/${d.segmentId}">${d.segmentName}</a></td>` : ''}
            <td>${formatDateTime(d.createdAt)}</td>
            <td>${d.scheduledAt ? formatDateTime(d.scheduledAt) : 'すぐに'}${d.startedAt ? html`<br><span class="muted">開始 ${formatDateTime(d.startedAt)}</span>` : ''}</td>
            <td style="white-space:nowrap">${d.status === 'queued' && d.scheduledAt ? STATUS.scheduled : STATUS[d.status]}
              ${d.error ? html`<br><span class="${d.status === 'failed' ? 'error' : 'muted'}">${d.error.message}（${d.error.code}）</span>` : ''}</td>
            <td style="white-space:nowrap">${d.status === 'queued' || d.status === 'canceled' ? html`<span class="muted">—</span>` : `${n(d.targets)}人`}</td>
            <td>${n(d.sent)}</td>
            <td>${d.failed ? html`<span class="error">${n(d.failed)}</span>` : '0'}</td>
            <td>${messagesSummary(d.messages)}</td>
            <td style="white-space:nowrap">${d.status === 'queued'
              ? html`<form method="post" action="/deliveries/${d.id}/cancel" data-confirm="この配信を取り消しますか？">${csrf}<button class="secondary" type="submit">取消</button></form>`
              : ''}</td>
          </tr>`,
        )
      : html`<tr><td colspan="${cols}" class="muted">配信はまだありません</td></tr>`}</tbody>
  </table>`;
}

function fieldSelect(categories: CustomCategory[], selected?: string): Html {
  return html`<select name="fieldId" class="cond-field"><option value="">（項目を選択）</option>${categories
    .filter((c) => c.fields.length)
    .map(
      (c) => html`<optgroup label="${c.name}">${c.fields.map(
        (f) => html`<option value="${f.id}" data-type="${f.type}" ${String(f.id) === selected ? raw('selected') : ''}>${f.name}（${TYPE_LABELS[f.type]}）</option>`,
      )}</optgroup>`,
    )}</select>`;
}

function opSelect(selected?: string): Html {
  return html`<select name="op" class="cond-op">${OP_ORDER.map((op) => {
    const types = (Object.keys(OPS_BY_TYPE) as (keyof typeof OPS_BY_TYPE)[]).filter((t) => OPS_BY_TYPE[t].includes(op));
    return html`<option value="${op}" data-types="${types.join(' ')}" ${op === selected ? raw('selected') : ''}>${OP_LABELS[op]}</option>`;
  })}</select>`;
}

export interface SegmentForm {
  name?: string;
  match?: string;
  rows?: { fieldId: string; op: string; value: string }[];
}

function segmentForm(req: FastifyRequest, categories: CustomCategory[], form: SegmentForm = {}): Html {
  const rows = form.rows?.length ? form.rows : [{ fieldId: '', op: 'gte', value: '' }];
  const hasFields = categories.some((c) => c.fields.length);
  if (!hasFields) {
    return html`<p class="muted">条件に使うカスタムデータの項目がまだありません。<a href="/custom-data">カスタムデータ</a>で作成するか、外部データ連携でShopifyと連携してください。</p>`;
  }
  return html`<form method="post" action="/segments" id="segment-form">
    ${csrfField(req)}
    <p><label>セグメント名<br><input type="text" name="name" value="${form.name ?? ''}" required maxlength="100" placeholder="例: 平均購入金額3000円以上" style="width:100%;max-width:420px"></label></p>
    <p>条件 <span class="muted">（友だちのカスタムデータで絞り込みます。値のない友だちは「値がない」以外の条件に一致しません）</span></p>
    <div id="conditions">${rows.map(
      (r) => html`<div class="cond" style="display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin-bottom:8px">
        ${fieldSelect(categories, r.fieldId)} <span>が</span>
        <input type="text" name="value" class="cond-value" value="${r.value}" placeholder="値" style="width:180px">
        ${opSelect(r.op)}
        <button type="button" class="secondary cond-remove" title="この条件を削除">×</button>
      </div>`,
    )}</div>
    <p><button type="button" class="secondary" id="cond-add">＋ 条件を追加</button> <span class="muted">最大${MAX_CONDITIONS}件。日付は YYYY-MM-DD、「日前〜今日」は日数（0 = 今日のみ、日本時間）。</span></p>
    <p>条件が複数のとき:
      <label><input type="radio" name="match" value="all" ${form.match !== 'any' ? raw('checked') : ''}> すべてに一致</label>
      <label><input type="radio" name="match" value="any" ${form.match === 'any' ? raw('checked') : ''}> いずれかに一致</label></p>
    <p><button type="submit">セグメントを作成</button></p>
  </form>`;
}

export interface SegmentListItem {
  segment: Segment;
  count: SegmentCount | null;
  countError?: string;
}

export function segmentsPage(
  req: FastifyRequest,
  opts: {
    items: SegmentListItem[];
    categories: CustomCategory[];
    deliveries: Delivery[];
    form?: SegmentForm;
    notice?: { ok?: string; error?: string };
  },
): string {
  const fields = fieldsOf(opts.categories);
  return page({
    req,
    title: 'セグメント配信',
    body: html`<h1>セグメント配信</h1>
      ${noticeBanner(opts.notice)}
      <p class="muted">カスタムデータの条件で友だちを絞り込み（セグメント）、LINEでメッセージを配信します。例:「平均購入金額(shopify) が 3,000 以上」の友だちにクーポンを送る。</p>
      <h2>セグメント</h2>
      <table>
        <thead><tr><th>名前</th><th>条件</th><th>該当</th><th>配信できる人数</th><th>作成</th><th></th></tr></thead>
        <tbody>${opts.items.length
          ? opts.items.map(
              ({ segment: s, count, countError }) => html`<tr>
                <td><a href="/segments/${s.id}">${s.name}</a></td>
                <td>${s.conditions.map((c) => html`${describeCondition(c, fields)}<br>`)}<span class="muted">${describeMatch(s)}</span></td>
                <td style="white-space:nowrap">${count ? `${n(count.count)}人` : html`<span class="error">${countError ?? ''}</span>`}</td>
                <td style="white-space:nowrap">${count ? html`<strong>${n(count.activeCount)}人</strong>` : ''}</td>
                <td>${formatDateTime(s.createdAt)}</td>
                <td><a href="/segments/${s.id}">配信する →</a></td>
              </tr>`,
            )
          : html`<tr><td colspan="6" class="muted">セグメントはまだありません。下のフォームから作成してください。</td></tr>`}</tbody>
      </table>
      <p class="muted">「配信できる人数」はブロック中の友だちを除いた人数です。</p>
      <h2>セグメントを作成</h2>
      <div class="card">${segmentForm(req, opts.categories, opts.form)}</div>
      <h2>最近の配信</h2>
      ${deliveryRows(req, opts.deliveries, true)}`,
  });
}

export interface SendForm {
  text?: string;
  when?: string;
  scheduledAt?: string;
}

export function segmentDetailPage(
  req: FastifyRequest,
  opts: {
    segment: Segment;
    categories: CustomCategory[];
    count: SegmentCount | null;
    countError?: string;
    deliveries: Delivery[];
    lineConfigured: boolean;
    now: Date;
    form?: SendForm;
    notice?: { ok?: string; error?: string };
  },
): string {
  const s = opts.segment;
  const fields = fieldsOf(opts.categories);
  const csrf = csrfField(req);
  const form = opts.form ?? {};
  const later = form.when === 'later';
  const confirmText = opts.count ? `${n(opts.count.activeCount)}人（現時点）に配信します。よろしいですか？` : '配信します。よろしいですか？';
  return page({
    req,
    title: `${s.name} | セグメント配信`,
    body: html`<p><a href="/segments">← セグメント配信</a></p>
      <h1>${s.name}</h1>
      ${noticeBanner(opts.notice)}
      <div class="card">
        <dl class="props">
          <dt>条件</dt><dd>${s.conditions.map((c) => html`${describeCondition(c, fields)}<br>`)}<span class="muted">${describeMatch(s)}</span></dd>
          ${opts.count
            ? html`<dt>該当する友だち</dt><dd>${n(opts.count.count)}人</dd>
              <dt>配信できる人数</dt><dd><strong>${n(opts.count.activeCount)}人</strong> <span class="muted">（ブロック中の友だちを除く）</span></dd>
              <dt>データの更新日時</dt><dd>${formatDateTime(opts.count.dataAsOf)} <span class="muted">（条件の項目が最後に更新された日時）</span></dd>`
            : html`<dt>該当する友だち</dt><dd class="error">${opts.countError ?? ''}</dd>`}
          <dt>作成</dt><dd>${formatDateTime(s.createdAt)}</dd>
        </dl>
      </div>

      <h2>メッセージを配信</h2>
      <div class="card">
        ${opts.lineConfigured
          ? html`<form method="post" action="/segments/${s.id}/deliveries" data-confirm="${confirmText}">${csrf}
              <p><label>メッセージ（テキスト、5000文字まで）<br>
                <textarea name="text" required maxlength="5000" rows="6" style="width:100%;font:inherit;padding:8px;border:1px solid var(--line);border-radius:6px"
                  placeholder="例: いつもありがとうございます。特別クーポンをお届けします…">${form.text ?? ''}</textarea></label></p>
              <p>配信日時:
                <label><input type="radio" name="when" value="now" ${!later ? raw('checked') : ''}> すぐに配信</label>
                <label><input type="radio" name="when" value="later" ${later ? raw('checked') : ''}> 日時を指定</label>
                <input type="datetime-local" name="scheduledAt" value="${form.scheduledAt ?? ''}" min="${tokyoDateTimeInput(opts.now)}">
                <span class="muted">（日本時間）</span></p>
              <p class="muted">配信先は配信を開始した時点でこのセグメントに該当し、ブロックしていない友だちです。</p>
              <p><button type="submit">配信する</button></p>
            </form>`
          : html`<p class="error">LINEチャネルアクセストークンが設定されていないため配信できません。Kizunaの管理者に設定を依頼してください（kizuna tenant update … --line-access-token）。</p>`}
      </div>

      <h2>このセグメントへの配信</h2>
      ${deliveryRows(req, opts.deliveries, false)}

      <form method="post" action="/segments/${s.id}/delete" style="margin-top:24px"
        data-confirm="このセグメントを削除しますか？（配信の履歴は残ります）">${csrf}
        <button class="secondary" type="submit">セグメントを削除</button>
      </form>`,
  });
}
