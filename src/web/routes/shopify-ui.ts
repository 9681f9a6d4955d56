// The settings page for the Shopify integration (admin UI): the same functions as the API, with answers an operator reads.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticatePage } from '../../crm/auth.js';
import { hasShopifyPlan } from '../../crm/tenants.js';
import { AppError } from '../../errors.js';
import { issueCredentials, linkIntegration, unlinkIntegration } from '../../shopify/integration.js';
import { integrationView, matchPreview } from '../../shopify/view.js';
import { listRuns, requestRun, runJson } from '../../sync/run-store.js';
import { addNavItem } from '../ui/layout.js';
import { noticeFromQuery, withNotice, type NoticeCode } from '../ui/notice.js';
import { shopifyPage } from '../ui/shopify-page.js';

const PATH = '/settings/integrations/shopify';

addNavItem({ href: PATH, label: '外部データ連携', match: '/settings/integrations' });

export default async function shopifyUiRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.ctx;
  app.addHook('onRequest', authenticatePage);
  const opts = { config: { auth: 'page' as const }, schema: { hide: true } };

  const render = async (req: FastifyRequest, reply: FastifyReply, notice?: { ok?: string; error?: string }) => {
    const allowed = hasShopifyPlan(req.tenant);
    const view = await integrationView(ctx, req.tenant);
    const preview = allowed && (view.status === 'issued' || view.status === 'unlinked') ? await matchPreview(ctx, req.tenant.id) : null;
    const runs = allowed ? (await listRuns(ctx, req.tenant.id, 10)).map(runJson) : [];
    const body = shopifyPage(req, { allowed, view, preview, runs, notice });
    return reply
      .status(notice?.error ? 422 : 200)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(body);
  };

  /** Runs a form action; errors are shown on the page in the operator's words, success redirects with a notice. */
  const action = (fn: (req: FastifyRequest) => Promise<NoticeCode>) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (!hasShopifyPlan(req.tenant)) return render(req, reply, { error: 'この機能のご利用にはエンタープライズプランと有料オプションのご契約が必要です。' });
    try {
      return reply.redirect(withNotice(PATH, await fn(req)), 303);
    } catch (e) {
      if (!(e instanceof AppError) || e.status >= 500) throw e;
      return render(req, reply, { error: e.message });
    }
  };

  app.get(PATH, opts, async (req, reply) => render(req, reply, noticeFromQuery(req)));

  app.post<{ Body: Record<string, string | undefined> }>(
    `${PATH}/issue`,
    opts,
    action(async (req) => {
      const b = (req.body ?? {}) as Record<string, string | undefined>;
      const byClient = !b.accessToken?.trim() && (b.clientId?.trim() || b.clientSecret?.trim());
      const integration = await issueCredentials(ctx, req.tenant, {
        storeDomain: b.storeDomain,
        ...(byClient ? { clientId: b.clientId, clientSecret: b.clientSecret } : { accessToken: b.accessToken }),
        webhookSecret: b.webhookSecret,
      });
      return integration.status === 'linked' ? 'shopify-credentials-updated' : 'shopify-issued';
    }),
  );

  app.post(
    `${PATH}/link`,
    opts,
    action(async (req) => {
      await linkIntegration(ctx, req.tenant);
      return 'shopify-linked';
    }),
  );

  app.post(
    `${PATH}/unlink`,
    opts,
    action(async (req) => {
      await unlinkIntegration(ctx, req.tenant);
      return 'shopify-unlinked';
    }),
  );

  app.post<{ Body: { full?: string } }>(
    `${PATH}/sync`,
    opts,
    action(async (req) => {
      const full = (req.body as { full?: string } | undefined)?.full === '1';
      const view = await integrationView(ctx, req.tenant);
      if (view.status !== 'linked') throw new AppError('CONFLICT', '先に「連携」してください。');
      const { joined } = await requestRun(ctx, req.tenant.id, { mode: full ? 'full' : 'incremental', trigger: 'manual' });
      return joined ? 'sync-already-running' : 'sync-started';
    }),
  );
}
