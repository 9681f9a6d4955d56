// Probes and metrics. /healthz is liveness (the process answers, its database too); /readyz is readiness (the database
// answers, its migrations are current, the job system runs) — a load balancer sends traffic only while it says 200;
// /metrics is Prometheus text, off unless METRICS_TOKEN is set, and then only for `Authorization: Bearer <METRICS_TOKEN>`.
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { migrationsCurrent } from '../../db/migrate.js';
import { AppError, Codes } from '../../errors.js';
import { jobSystemRunning } from '../../jobs/index.js';

function sameSecret(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

export default async function healthRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.ctx;
  const ok = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } as const;

  app.get('/healthz', { config: { auth: 'none' }, schema: { summary: 'Liveness: the process and its database answer', security: [], response: { 200: ok } } }, async () => {
    try {
      await ctx.db.pool.query('SELECT 1');
    } catch {
      throw new AppError(Codes.DATABASE_UNAVAILABLE, 'The database is not answering.');
    }
    return { ok: true };
  });

  app.get(
    '/readyz',
    {
      config: { auth: 'none' },
      schema: { summary: 'Readiness: database reachable, migrations current, job system running (503 otherwise)', security: [] },
    },
    async (_req, reply) => {
      const checks = { database: false, migrations: false, jobs: jobSystemRunning(ctx.boss) };
      try {
        checks.migrations = await migrationsCurrent(ctx.db.pool);
        checks.database = true;
      } catch {
        /* unreachable, or the migrations table is missing: not ready */
      }
      const ready = checks.database && checks.migrations && checks.jobs;
      return reply.status(ready ? 200 : 503).send({ ok: ready, checks });
    },
  );

  app.get('/metrics', { config: { auth: 'none' }, schema: { hide: true } }, async (req, reply) => {
    const token = ctx.config.METRICS_TOKEN;
    if (!token) throw new AppError(Codes.NOT_FOUND, 'Metrics are off; set METRICS_TOKEN to expose them.');
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m || !sameSecret(m[1]!, token)) throw new AppError(Codes.UNAUTHORIZED, 'Send Authorization: Bearer <METRICS_TOKEN>.');
    const body = await app.metrics.registry.metrics();
    return reply.header('content-type', app.metrics.registry.contentType).header('cache-control', 'no-store').send(body);
  });
}
