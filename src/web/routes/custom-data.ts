// /api/v1/custom-data: the tenant's categories and typed fields. Integration-owned (read-only) ones cannot be edited: 403 READ_ONLY_FIELD.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { authenticate } from '../../crm/auth.js';
import { categoryJson, createCategory, createField, fieldJson, listCustomData, renameCategory, renameField } from '../../crm/custom-data.js';

const idParam = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } as const;
const nameBody = z.object({ name: z.string() }).strict();

export default async function customDataRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', authenticate);

  app.get('/api/v1/custom-data', { config: { auth: 'tenant' }, schema: { summary: 'Categories and their fields' } }, async (req) => {
    const categories = await listCustomData(app.ctx.db.pool, req.tenant.id);
    return { categories: categories.map(categoryJson) };
  });

  app.post('/api/v1/custom-data/categories', { config: { auth: 'tenant' }, schema: { summary: 'Create a category' } }, async (req, reply) => {
    const body = nameBody.parse(req.body ?? {});
    const c = await createCategory(app.ctx.db.pool, req.tenant.id, body);
    return reply.status(201).send(categoryJson(c));
  });

  app.patch<{ Params: { id: string } }>(
    '/api/v1/custom-data/categories/:id',
    { config: { auth: 'tenant' }, schema: { summary: 'Rename a category', params: idParam } },
    async (req) => {
      const body = nameBody.parse(req.body ?? {});
      await renameCategory(app.ctx.db.pool, req.tenant.id, req.params.id, body.name);
      const c = (await listCustomData(app.ctx.db.pool, req.tenant.id)).find((x) => String(x.id) === req.params.id)!;
      return categoryJson(c);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/custom-data/categories/:id/fields',
    { config: { auth: 'tenant' }, schema: { summary: 'Add a field (text | number | date) to a category', params: idParam } },
    async (req, reply) => {
      const body = z.object({ name: z.string(), type: z.enum(['text', 'number', 'date']) }).strict().parse(req.body ?? {});
      const f = await createField(app.ctx.db.pool, req.tenant.id, req.params.id, body);
      return reply.status(201).send(fieldJson(f));
    },
  );

  app.patch<{ Params: { id: string } }>(
    '/api/v1/custom-data/fields/:id',
    { config: { auth: 'tenant' }, schema: { summary: 'Rename a field (its type cannot change)', params: idParam } },
    async (req) => {
      const body = nameBody.parse(req.body ?? {});
      await renameField(app.ctx.db.pool, req.tenant.id, req.params.id, body.name);
      const all = await listCustomData(app.ctx.db.pool, req.tenant.id);
      return fieldJson(all.flatMap((c) => c.fields).find((f) => String(f.id) === req.params.id)!);
    },
  );
}
