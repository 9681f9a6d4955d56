// The banner at the top of a page: an error from the form just sent, or the success of the action that redirected here.
// A success travels through the redirect as a code (`?notice=segment-created`), never as text: a link someone else made
// cannot put words of their choosing into a green "done" banner. Unknown codes show nothing.
import type { FastifyRequest } from 'fastify';
import { html, type Html } from './html.js';

export const NOTICES = {
  'segment-created': 'セグメントを作成しました。',
  'segment-deleted': 'セグメントを削除しました。',
  'delivery-started': '配信を開始しました。',
  'delivery-scheduled': '配信を予約しました。予約日時は下の配信履歴で確認できます。',
  'delivery-canceled': '配信を取り消しました。',
  'delivery-not-cancelable': 'この配信はすでに開始されているため取り消せませんでした。',
  'shopify-issued': '発行しました。内容を確認して「連携」を押してください。',
  'shopify-credentials-updated': '認証情報を更新しました。次回の反映から新しい認証情報を使います。',
  'shopify-linked': '連携しました。カスタムデータに「データ連携(shopify)」を作成し、最初の反映を始めました。',
  'shopify-unlinked': '連携を解除しました。以降はShopifyのデータは反映されません。反映済みのデータは残っています。',
  'sync-started': '反映を開始しました。',
  'sync-already-running': 'すでに実行中の反映があります。その完了をお待ちください。',
} as const;

export type NoticeCode = keyof typeof NOTICES;

export interface Notice {
  ok?: string;
  error?: string;
}

/** `path` with the notice code to show after the redirect. */
export function withNotice(path: string, code: NoticeCode): string {
  return `${path}?notice=${code}`;
}

/** The success notice named by `?notice=`, if it is one of ours. */
export function noticeFromQuery(req: FastifyRequest): Notice | undefined {
  const code = (req.query as { notice?: unknown } | undefined)?.notice;
  return typeof code === 'string' && Object.hasOwn(NOTICES, code) ? { ok: NOTICES[code as NoticeCode] } : undefined;
}

export function noticeBanner(notice: Notice | undefined, opts: { card?: boolean } = {}): Html | string {
  const cls = opts.card === false ? '' : ' card';
  if (notice?.error) return html`<p class="${`error${cls}`}" role="alert">${notice.error}</p>`;
  if (notice?.ok) return html`<p class="${`notice${cls}`}" role="status">${notice.ok}</p>`;
  return '';
}
