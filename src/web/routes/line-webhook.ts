// POST /webhooks/line/:tenantId — the LINE Messaging API webhook. The signature (x-line-signature) is an HMAC over the exact
// bytes received, so this plugin keeps the body as a Buffer (its own content-type parser, encapsulated: other routes still get
// parsed JSON) and checks it before parsing anything. Bad or missing signature: 401 and nothing stored.
import type { FastifyInstance } from 'fastify';
import { CrmCodes } from '../../crm/codes.js';
import { applyLineWebhook } from '../../crm/line-friends.js';
import { getTenant, tenantLineSecrets } from '../../crm/tenants.js';
import { AppError, Codes } from '../../errors.js';
import { verifyLineSignature } from '../../line/signature.js';
import { parseLineWebhook } from '../../line/webhook.js';

export default async function lineWebhookRoutes(app: FastifyInstance): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));

  app.post<{ Params: { tenantId: string } }>(
    '/webhooks/line/:tenantId',
    {
      config: { auth: 'line-signature' },
      schema: { summary: 'LINE Messaging API webhook (x-line-signature checked)', security: [], hide: false },
    },
    async (req, reply) => {
      const tenant = await getTenant(app.ctx.db.pool, req.params.tenantId);
      const secret = tenant ? (await tenantLineSecrets(app.ctx, tenant.id)).channelSecret : null;
      if (!tenant || !secret) throw new AppError(Codes.NOT_FOUND, 'No LINE channel is configured for this webhook URL.');
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (!verifyLineSignature(raw, secret, req.headers['x-line-signature'])) {
        app.metrics.webhooks.inc({ source: 'line', outcome: 'unauthorized' });
        throw new AppError(CrmCodes.INVALID_SIGNATURE, 'The x-line-signature header is missing or does not match the channel secret.');
      }
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        app.metrics.webhooks.inc({ source: 'line', outcome: 'rejected' });
        throw new AppError(Codes.BAD_REQUEST, 'The webhook body is not JSON.');
      }
      const outcome = await applyLineWebhook(app.ctx, tenant.id, parseLineWebhook(json));
      req.log.info({ tenantId: tenant.id, ...outcome }, 'LINE webhook handled');
      app.metrics.webhooks.inc({ source: 'line', outcome: 'accepted' });
      return reply.status(200).send({ ok: true });
    },
  );
}
