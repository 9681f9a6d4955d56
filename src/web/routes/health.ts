import type { FastifyInstance } from 'fastify';
import { AppError, Codes } from '../../errors.js';

/** Liveness and readiness in one: 200 only when the database answers. */
export default async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Health check',
        security: [],
        response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } },
      },
    },
    async () => {
      try {
        await app.ctx.db.pool.query('SELECT 1');
      } catch {
        throw new AppError(Codes.DATABASE_UNAVAILABLE, 'The database is not answering.');
      }
      return { ok: true };
    },
  );
}
