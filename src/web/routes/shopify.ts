// /api/v1/integrations/shopify — 発行 (credentials), 連携 (link), 連携を解除 (unlink), status, match preview, runs, sync now.
// Every endpoint needs the enterprise plan and the Shopify option (403 PLAN_REQUIRED).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authenticate } from '../../crm/auth.js';
import { categoryJson } from '../../crm/custom-data.js';
import { requireShopifyPlan } from '../../crm/tenants.js';
import { AppError, Codes } from '../../errors.js';
import { getIntegration, issueCredentials, linkIntegration, unlinkIntegration } from '../../shopify/integration.js';
import { integrationView, matchPreview } from '../../shopify/view.js';
import { getRun, listRuns, requestRun, runJson } from '../../sync/run-store.js';

const base = '/api/v1/integrations/shopify';

export default async function shopifyRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', authenticate);
  app.addHook('onRequest', async (req: FastifyRequest) => requireShopifyPlan(req.tenant));
  const ctx = app.ctx;

  app.get(base, { config: { auth: 'tenant' }, schema: { summary: 'Integration status (no secrets)' } }, async (req) =>
    integrationView(ctx, req.tenant),
  );

  app.post(
    `${base}/credentials`,
    {
      config: { auth: 'tenant' },
      schema: {
        summary: '発行: check the store domain and credentials with Shopify, store them encrypted',
        description:
          'Body: {"storeDomain", "accessToken"} (custom app made in the store admin) or {"storeDomain", "clientId", "clientSecret"} ' +
          '(Dev Dashboard app). Optional "webhookSecret": the API secret key of an admin custom app, for near-real-time updates.',
      },
    },
    async (req, reply) => {
      const body = z
        .object({
          storeDomain: z.unknown(),
          accessToken: z.unknown().optional(),
          clientId: z.unknown().optional(),
          clientSecret: z.unknown().optional(),
          webhookSecret: z.unknown().optional(),
        })
        .parse(req.body ?? {});
      await issueCredentials(ctx, req.tenant, body);
      return reply.status(201).send(await integrationView(ctx, req.tenant));
    },
  );

  app.post(`${base}/link`, { config: { auth: 'tenant' }, schema: { summary: '連携: create the read-only category and start syncing' } }, async (req) => {
    const { category } = await linkIntegration(ctx, req.tenant);
    return { status: 'linked', category: categoryJson(category) };
  });

  app.post(`${base}/unlink`, { config: { auth: 'tenant' }, schema: { summary: '連携を解除: stop syncing; imported data stays' } }, async (req) => {
    await unlinkIntegration(ctx, req.tenant);
    return { status: 'unlinked' };
  });

  app.get(`${base}/preview`, { config: { auth: 'tenant' }, schema: { summary: 'Match preview: customers, verified, matchable, ambiguous' } }, async (req) =>
    matchPreview(ctx, req.tenant.id),
  );

  app.post(`${base}/sync`, { config: { auth: 'tenant' }, schema: { summary: 'Sync now (joins a run already queued or running)' } }, async (req, reply) => {
    const body = z.object({ mode: z.enum(['full', 'incremental']).default('incremental') }).strict().parse(req.body ?? {});
    if ((await getIntegration(ctx.db.pool, req.tenant.id))?.status !== 'linked') throw new AppError(Codes.CONFLICT, '先に「連携」してください。');
    const { runId, joined } = await requestRun(ctx, req.tenant.id, { mode: body.mode, trigger: 'manual' });
    return reply.status(202).send({ runId, joined });
  });

  app.get(`${base}/runs`, { config: { auth: 'tenant' }, schema: { summary: 'Recent sync runs, newest first' } }, async (req) => {
    const items = (await listRuns(ctx, req.tenant.id, 50)).map(runJson);
    return { items, total: items.length };
  });

  app.get<{ Params: { id: string } }>(
    `${base}/runs/:id`,
    { config: { auth: 'tenant' }, schema: { summary: 'One sync run with its counts', params: { type: 'object', properties: { id: { type: 'string' } } } } },
    async (req) => {
      const run = await getRun(ctx, req.tenant.id, req.params.id);
      if (!run) throw new AppError(Codes.NOT_FOUND, `No sync run ${req.params.id}.`);
      return runJson(run);
    },
  );
}
