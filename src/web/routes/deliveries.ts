// /api/v1/deliveries: LINE messages to a segment's active friends, now or at scheduledAt (src/delivery/deliveries.ts).
import type { FastifyInstance } from 'fastify';
import { authenticate } from '../../crm/auth.js';
import { cancelDelivery, createDelivery, deliveryJson, getDelivery, listDeliveries } from '../../delivery/deliveries.js';
import { requireSegment } from '../../delivery/segments.js';
import { AppError, Codes } from '../../errors.js';

const idParam = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } as const;

export default async function deliveryRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', authenticate);
  const ctx = app.ctx;

  app.post(
    '/api/v1/deliveries',
    {
      config: { auth: 'tenant' },
      schema: {
        summary: 'Send LINE messages to a segment: {"segmentId", "messages": [1 to 5 LINE message objects], "scheduledAt"?}',
        description:
          'Message types: text (≤ 5000 characters), image, sticker, flex. scheduledAt: ISO 8601 with offset, e.g. ' +
          '2026-12-01T10:00:00+09:00; omitted: now. The audience — the active friends of the segment — is fixed when sending ' +
          'starts. Without a LINE channel access token: 422 LINE_NOT_CONFIGURED.',
      },
    },
    async (req, reply) => {
      const d = await createDelivery(ctx, req.tenant.id, req.body ?? {});
      return reply.status(201).send(deliveryJson(d));
    },
  );

  app.get<{ Querystring: { segmentId?: string } }>(
    '/api/v1/deliveries',
    {
      config: { auth: 'tenant' },
      schema: {
        summary: 'Deliveries, newest first (optionally of one segment)',
        querystring: { type: 'object', properties: { segmentId: { type: 'string', maxLength: 20 } } },
      },
    },
    async (req) => {
      let segmentId: number | undefined;
      if (req.query.segmentId) segmentId = (await requireSegment(ctx.db.pool, req.tenant.id, req.query.segmentId)).id;
      return { items: (await listDeliveries(ctx.db.pool, req.tenant.id, { segmentId, limit: 100 })).map(deliveryJson) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/deliveries/:id',
    { config: { auth: 'tenant' }, schema: { summary: 'A delivery: status (queued|sending|sent|failed|canceled), targets, sent, failed', params: idParam } },
    async (req) => {
      const d = await getDelivery(ctx.db.pool, req.tenant.id, req.params.id);
      if (!d) throw new AppError(Codes.NOT_FOUND, `No delivery ${req.params.id}.`);
      return deliveryJson(d);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/deliveries/:id/cancel',
    {
      config: { auth: 'tenant' },
      schema: { summary: 'Cancel a delivery that has not started (409 DELIVERY_NOT_CANCELABLE otherwise)', params: idParam },
    },
    async (req) => deliveryJson(await cancelDelivery(ctx, req.tenant.id, req.params.id)),
  );
}
