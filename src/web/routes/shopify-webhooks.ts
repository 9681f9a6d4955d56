// POST /webhooks/shopify/:tenantId — Shopify's deliveries for one tenant (see shopify/webhooks.ts and sync/realtime.ts).
import type { FastifyInstance } from 'fastify';
import { AppError, Codes } from '../../errors.js';
import { isUuid } from '../../crm/tenants.js';
import { webhookTarget } from '../../shopify/integration.js';
import { storeDelivery, verifyShopifyHmac } from '../../shopify/webhooks.js';
import { requestDrain } from '../../sync/realtime.js';

const TOPICS = new Set([
  'customers/create',
  'customers/update',
  'customers/delete',
  'customers/enable',
  'customers/disable',
  'customers/purchasing_summary',
  'customers_email_marketing_consent/update',
  'customers_marketing_consent/update',
]);

/**
 * Drain requests, at most one per tenant and second from this process. pg-boss keeps one drain job per tenant and second
 * anyway (singletonSeconds: 1), so asking again within the second only cost a round trip per delivery — two thirds of the
 * ingest's time under load. Deliveries skipped within the second are covered by one more request at its end (or when the
 * server closes), so none waits for a later delivery to be applied.
 */
const DRAIN_WINDOW_MS = 1000;

function drainRequester(app: FastifyInstance) {
  const recent = new Map<string, { at: number; trailing: NodeJS.Timeout | null }>();
  const send = (tenantId: string) =>
    requestDrain(app.ctx, tenantId).catch((err: Error) => app.log.warn({ tenantId, err: { message: err.message } }, 'could not request a webhook drain'));
  app.addHook('onClose', async () => {
    const pending = [...recent].filter(([, r]) => r.trailing);
    for (const [, r] of pending) clearTimeout(r.trailing!);
    await Promise.all(pending.map(([tenantId]) => send(tenantId)));
  });
  return async (tenantId: string): Promise<void> => {
    const now = Date.now();
    const r = recent.get(tenantId);
    if (r && now - r.at < DRAIN_WINDOW_MS) {
      r.trailing ??= setTimeout(() => {
        r.trailing = null;
        r.at = Date.now();
        void send(tenantId);
      }, DRAIN_WINDOW_MS - (now - r.at)).unref();
      return;
    }
    await requestDrain(app.ctx, tenantId);
    if (r) r.at = now;
    else recent.set(tenantId, { at: now, trailing: null });
  };
}

export default async function shopifyWebhookRoutes(app: FastifyInstance): Promise<void> {
  const drainSoon = drainRequester(app);

  // The signature covers the exact bytes: keep the body as a Buffer in this scope only.
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));

  app.post<{ Params: { tenantId: string } }>(
    '/webhooks/shopify/:tenantId',
    { schema: { hide: true }, logLevel: 'warn' },
    async (req, reply) => {
      const { tenantId } = req.params;
      const target = isUuid(tenantId) ? await webhookTarget(app.ctx, tenantId) : null;
      if (!target) throw new AppError(Codes.NOT_FOUND, 'No Shopify integration for this tenant.');
      const body = req.body;
      if (!Buffer.isBuffer(body)) throw new AppError(Codes.BAD_REQUEST, 'Expected a JSON body.');
      if (!target.secret || !verifyShopifyHmac(body, target.secret, req.headers['x-shopify-hmac-sha256'])) {
        app.metrics.webhooks.inc({ source: 'shopify', outcome: 'unauthorized' });
        throw new AppError(Codes.UNAUTHORIZED, 'X-Shopify-Hmac-Sha256 is missing or does not match.');
      }
      const webhookId = req.headers['x-shopify-webhook-id'];
      const topic = req.headers['x-shopify-topic'];
      if (typeof webhookId !== 'string' || !webhookId || typeof topic !== 'string') {
        throw new AppError(Codes.BAD_REQUEST, 'X-Shopify-Webhook-Id and X-Shopify-Topic are required.');
      }
      // Unlinked, or a topic we do not use (e.g. a subscription left over): acknowledge so Shopify stops retrying, do nothing.
      if (target.status !== 'linked' || !TOPICS.has(topic)) return reply.status(200).send({ ok: true, ignored: true });
      const triggeredAt = req.headers['x-shopify-triggered-at'];
      const { fresh, rejected } = await storeDelivery(app.ctx, {
        tenantId,
        webhookId,
        topic,
        triggeredAt: typeof triggeredAt === 'string' ? triggeredAt : undefined,
        rawBody: body,
      });
      if (rejected) {
        app.metrics.webhooks.inc({ source: 'shopify', outcome: 'rejected' });
        req.log.warn({ tenantId, webhookId: webhookId.slice(0, 100), topic, reason: rejected }, 'signed Shopify webhook rejected');
        return reply.status(200).send({ ok: true, rejected });
      }
      app.metrics.webhooks.inc({ source: 'shopify', outcome: fresh ? 'accepted' : 'duplicate' });
      if (fresh) await drainSoon(tenantId);
      return reply.status(200).send({ ok: true, duplicate: !fresh });
    },
  );
}
