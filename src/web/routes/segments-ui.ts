// The セグメント配信 pages (admin UI): the same functions as /api/v1/segments and /api/v1/deliveries, with answers an operator
// reads in Japanese. Every lookup is scoped by the session's tenant first, so another tenant's ids are 404 pages.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticatePage } from '../../crm/auth.js';
import { listCustomData } from '../../crm/custom-data.js';
import { tenantLineSecrets } from '../../crm/tenants.js';
import { DeliveryCodes } from '../../delivery/codes.js';
import { cancelDelivery, createDelivery, getDelivery, listDeliveries } from '../../delivery/deliveries.js';
import { countSegment, createSegment, deleteSegment, getSegment, listSegments, OP_LABELS, type Op, type Segment, type SegmentCount } from '../../delivery/segments.js';
import { AppError, Codes } from '../../errors.js';
import { noticeFromQuery, withNotice } from '../ui/notice.js';
import { addNavItem, sendHtml, TYPE_LABELS } from '../ui/layout.js';
import { notFoundPage } from '../ui/pages.js';
import { segmentDetailPage, segmentsPage, type SegmentForm, type SendForm } from '../ui/segments-page.js';

addNavItem({ href: '/segments', label: 'セグメント配信', match: '/segments' }, { after: '/custom-data' });


/** What an operator reads for an error of the segment form. */
function segmentError(e: unknown): string {
  if (!(e instanceof AppError) || e.status >= 500) throw e;
  const d = (e.details ?? {}) as { index?: number; op?: Op; type?: string };
  const where = d.index !== undefined ? `${d.index + 1}番目の条件: ` : '';
  switch (e.code) {
    case DeliveryCodes.UNKNOWN_FIELD:
      return `${where}選択した項目が見つかりません。ページを再読み込みしてください。`;
    case DeliveryCodes.OPERATOR_NOT_ALLOWED:
      return `${where}${TYPE_LABELS[d.type ?? ''] ?? ''}の項目には「${d.op ? OP_LABELS[d.op] : ''}」は使えません。`;
    case DeliveryCodes.INVALID_CONDITION:
      if (d.index === undefined) return '条件は1件以上、20件以内で指定してください。';
      if (d.op === 'exists' || d.op === 'not_exists') return `${where}「値がある」「値がない」には値を入力しません。`;
      if (d.op === 'within_days') return `${where}日数は0以上の整数で入力してください。`;
      return `${where}値を入力してください（数値は半角数字、日付は YYYY-MM-DD）。値のない友だちを選ぶときは「値がない」を使います。`;
    case Codes.VALIDATION_FAILED:
      return 'セグメント名（1〜100文字）と条件を入力してください。';
    default:
      return e.message;
  }
}

function deliveryError(e: unknown): string {
  if (!(e instanceof AppError) || e.status >= 500) throw e;
  switch (e.code) {
    case DeliveryCodes.INVALID_MESSAGE:
      return 'メッセージを入力してください（5000文字まで）。';
    case DeliveryCodes.LINE_NOT_CONFIGURED:
      return 'LINEチャネルアクセストークンが設定されていないため配信できません。';
    case Codes.VALIDATION_FAILED:
      return '配信日時を確認してください（現在より後、1年以内の日時）。';
    default:
      return e.message;
  }
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : [String(v)]);

export default async function segmentUiRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.ctx;
  app.addHook('onRequest', authenticatePage);
  const opts = { config: { auth: 'page' as const }, schema: { hide: true } };

  const safeCount = async (s: Segment): Promise<{ count: SegmentCount | null; countError?: string }> => {
    try {
      return { count: await countSegment(ctx, s) };
    } catch (e) {
      if (e instanceof AppError && e.status < 500) return { count: null, countError: e.message };
      throw e;
    }
  };

  const renderList = async (req: FastifyRequest, reply: FastifyReply, extra: { form?: SegmentForm; notice?: { ok?: string; error?: string } } = {}) => {
    const [segments, categories, deliveries] = await Promise.all([
      listSegments(ctx.db.pool, req.tenant.id, 50),
      listCustomData(ctx.db.pool, req.tenant.id),
      listDeliveries(ctx.db.pool, req.tenant.id, { limit: 10 }),
    ]);
    const items = [];
    for (const segment of segments) items.push({ segment, ...(await safeCount(segment)) });
    return sendHtml(reply, segmentsPage(req, { items, categories, deliveries, ...extra }), extra.notice?.error ? 400 : 200);
  };

  const renderDetail = async (
    req: FastifyRequest,
    reply: FastifyReply,
    segment: Segment,
    extra: { form?: SendForm; notice?: { ok?: string; error?: string } } = {},
  ) => {
    const [categories, deliveries, secrets, counted] = await Promise.all([
      listCustomData(ctx.db.pool, req.tenant.id),
      listDeliveries(ctx.db.pool, req.tenant.id, { segmentId: segment.id, limit: 50 }),
      tenantLineSecrets(ctx, req.tenant.id),
      safeCount(segment),
    ]);
    const body = segmentDetailPage(req, {
      segment,
      categories,
      deliveries,
      ...counted,
      lineConfigured: !!secrets.accessToken,
      now: ctx.clock.now(),
      ...extra,
    });
    return sendHtml(reply, body, extra.notice?.error ? 400 : 200);
  };

  app.get('/segments', opts, async (req, reply) => renderList(req, reply, { notice: noticeFromQuery(req) }));

  app.post<{ Body: Record<string, unknown> }>('/segments', opts, async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const fieldIds = list(b.fieldId);
    const ops = list(b.op);
    const values = list(b.value);
    // Form rows without a field are blank rows; the value of exists / not_exists is whatever the disabled input left.
    const rows = fieldIds.map((fieldId, i) => ({ fieldId, op: ops[i] ?? '', value: values[i] ?? '' }));
    const form: SegmentForm = { name: String(b.name ?? ''), match: String(b.match ?? 'all'), rows: rows.filter((r) => r.fieldId) };
    try {
      const s = await createSegment(ctx, req.tenant.id, {
        name: form.name,
        match: form.match === 'any' ? 'any' : 'all',
        conditions: form.rows!.map((r) => ({
          fieldId: r.fieldId,
          op: r.op,
          value: r.op === 'exists' || r.op === 'not_exists' || r.value.trim() === '' ? null : r.value,
        })),
      });
      return reply.redirect(withNotice(`/segments/${s.id}`, 'segment-created'), 303);
    } catch (e) {
      return renderList(req, reply, { form, notice: { error: segmentError(e) } });
    }
  });

  app.get<{ Params: { id: string } }>('/segments/:id', opts, async (req, reply) => {
    const s = await getSegment(ctx.db.pool, req.tenant.id, req.params.id);
    if (!s) return sendHtml(reply, notFoundPage(req), 404);
    return renderDetail(req, reply, s, { notice: noticeFromQuery(req) });
  });

  app.post<{ Params: { id: string }; Body: Record<string, unknown> }>('/segments/:id/deliveries', opts, async (req, reply) => {
    const s = await getSegment(ctx.db.pool, req.tenant.id, req.params.id);
    if (!s) return sendHtml(reply, notFoundPage(req), 404);
    const b = (req.body ?? {}) as Record<string, unknown>;
    const form: SendForm = { text: String(b.text ?? ''), when: b.when === 'later' ? 'later' : 'now', scheduledAt: String(b.scheduledAt ?? '') };
    try {
      let scheduledAt: string | undefined;
      if (form.when === 'later') {
        // datetime-local gives the wall time the operator typed, in Japan
        if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(form.scheduledAt ?? '')) throw new AppError(Codes.VALIDATION_FAILED, 'scheduledAt');
        scheduledAt = `${form.scheduledAt}:00+09:00`;
      }
      const d = await createDelivery(ctx, req.tenant.id, {
        segmentId: s.id,
        messages: [{ type: 'text', text: form.text ?? '' }],
        ...(scheduledAt ? { scheduledAt } : {}),
      });
      return reply.redirect(withNotice(`/segments/${s.id}`, d.scheduledAt ? 'delivery-scheduled' : 'delivery-started'), 303);
    } catch (e) {
      return renderDetail(req, reply, s, { form, notice: { error: deliveryError(e) } });
    }
  });

  app.post<{ Params: { id: string } }>('/segments/:id/delete', opts, async (req, reply) => {
    const s = await getSegment(ctx.db.pool, req.tenant.id, req.params.id);
    if (!s) return sendHtml(reply, notFoundPage(req), 404);
    try {
      await deleteSegment(ctx, req.tenant.id, s.id);
    } catch (e) {
      if (!(e instanceof AppError) || e.code !== DeliveryCodes.SEGMENT_IN_USE) throw e;
      return renderDetail(req, reply, s, { notice: { error: '予約中または配信中の配信があるため削除できません。先に予約を取り消してください。' } });
    }
    return reply.redirect(withNotice('/segments', 'segment-deleted'), 303);
  });

  app.post<{ Params: { id: string } }>('/deliveries/:id/cancel', opts, async (req, reply) => {
    const d = await getDelivery(ctx.db.pool, req.tenant.id, req.params.id);
    if (!d) return sendHtml(reply, notFoundPage(req), 404);
    const back = `/segments/${d.segmentId}`;
    try {
      await cancelDelivery(ctx, req.tenant.id, d.id);
    } catch (e) {
      if (!(e instanceof AppError) || e.code !== DeliveryCodes.DELIVERY_NOT_CANCELABLE) throw e;
      return reply.redirect(withNotice(back, 'delivery-not-cancelable'), 303);
    }
    return reply.redirect(withNotice(back, 'delivery-canceled'), 303);
  });
}
