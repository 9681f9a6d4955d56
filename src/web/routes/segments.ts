// /api/v1/segments: friends selected by custom data (src/delivery/segments.ts). Every query is scoped by req.tenant.id; another
// tenant's segment ids are not found (404) and its field ids are unknown fields (400 UNKNOWN_FIELD).
import type { FastifyInstance } from 'fastify';
import { authenticate } from '../../crm/auth.js';
import { countSegment, createSegment, deleteSegment, listSegments, requireSegment, segmentJson } from '../../delivery/segments.js';

const idParam = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } as const;

export default async function segmentRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', authenticate);
  const ctx = app.ctx;

  app.post(
    '/api/v1/segments',
    {
      config: { auth: 'tenant' },
      schema: {
        summary: 'Create a segment: {"name", "match": "all|any", "conditions": [{"fieldId", "op", "value"}]} (1 to 20 conditions)',
        description:
          'ops by field type — text: eq ne contains exists not_exists; number: eq ne gt gte lt lte exists not_exists; ' +
          'date: eq ne before after within_days exists not_exists. A friend without a value matches only not_exists. ' +
          'within_days N: from N days before today to today (Asia/Tokyo). Segments cannot be edited; create another one.',
      },
    },
    async (req, reply) => {
      const s = await createSegment(ctx, req.tenant.id, req.body ?? {});
      return reply.status(201).send(segmentJson(s));
    },
  );

  app.get('/api/v1/segments', { config: { auth: 'tenant' }, schema: { summary: 'Segments, newest first' } }, async (req) => {
    return { items: (await listSegments(ctx.db.pool, req.tenant.id)).map(segmentJson) };
  });

  app.get<{ Params: { id: string } }>(
    '/api/v1/segments/:id',
    { config: { auth: 'tenant' }, schema: { summary: 'One segment', params: idParam } },
    async (req) => segmentJson(await requireSegment(ctx.db.pool, req.tenant.id, req.params.id)),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/segments/:id/count',
    {
      config: { auth: 'tenant' },
      schema: {
        summary: 'How many friends the segment selects now',
        description:
          '`count`: matching friends whatever their status; `activeCount`: those who have not blocked the account (whom a ' +
          'delivery reaches); `dataAsOf`: when the newest value of the fields the segment reads was written (the time of counting ' +
          'when they have no values).',
        params: idParam,
      },
    },
    async (req) => {
      const s = await requireSegment(ctx.db.pool, req.tenant.id, req.params.id);
      const c = await countSegment(ctx, s);
      return { segmentId: String(s.id), name: s.name, ...c };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/segments/:id',
    {
      config: { auth: 'tenant' },
      schema: { summary: 'Delete a segment (409 SEGMENT_IN_USE while one of its deliveries is queued or sending)', params: idParam },
    },
    async (req, reply) => {
      await deleteSegment(ctx, req.tenant.id, req.params.id);
      return reply.status(204).send();
    },
  );
}
