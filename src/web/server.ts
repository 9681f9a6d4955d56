// The HTTP side: Fastify with one error shape for everything ({"error": {"code", "message"}}), bad input always 4xx,
// an OpenAPI description at /api/docs built from the routes' own schemas, and logs with secrets redacted.
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { ZodError } from 'zod';
import { AppError, Codes } from '../errors.js';
import { assertStorable, inputErrorFromDatabase } from '../input.js';
import { createMetrics, type Metrics } from '../ops/metrics.js';
import { registerSecurityHeaders } from './security-headers.js';
import type { Config } from '../config.js';
import type { AppContext } from '../context.js';
import { routes } from './routes/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    ctx: AppContext;
    metrics: Metrics;
  }
}

export async function buildServer(ctx: AppContext, opts: { logLevel?: string } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    // The process's logger (stderr, redacted, pretty on a terminal); tests quiet it per server.
    loggerInstance: (opts.logLevel ? ctx.log.child({}, { level: opts.logLevel }) : ctx.log) as FastifyBaseLogger,
    // Small by default: nothing but the CSV import (which streams, with its own limit) needs more than a LINE flex message.
    bodyLimit: DEFAULT_BODY_LIMIT,
    // Off unless configured: trusting X-Forwarded-For from anyone would let a client choose the address rate limits key on.
    trustProxy: trustProxyOption(ctx.config.TRUST_PROXY),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
  });
  app.decorate('ctx', ctx);
  app.decorate('metrics', createMetrics(ctx));
  await registerSecurityHeaders(app, ctx.config);

  // The input boundary (src/input.ts): every parsed body, query string and path parameter, before any handler or SQL sees it.
  // Bodies a route keeps as bytes (webhooks, CSV) are checked by the code that parses them.
  app.addHook('preValidation', async (req) => {
    assertStorable(req.params, 'params');
    assertStorable(req.query, 'query');
    assertStorable(req.body, 'body');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Kizuna API',
        version: '1',
        description:
          'LINE CRM with a Shopify integration. Authenticate with `Authorization: Bearer <tenant apiToken>`. ' +
          'Errors are `{"error": {"code": "UPPER_SNAKE", "message": "..."}}`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    const fromDatabase = inputErrorFromDatabase(err);
    const { status, body } = toErrorResponse(fromDatabase ?? err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    // A database error caused by input means the boundary let something through: worth a look, not a 500.
    else if (fromDatabase) req.log.warn({ err: { message: err.message, code: (err as { code?: string }).code }, url: req.routeOptions.url }, 'input rejected by the database');
    else req.log.info({ code: body.error.code, status }, 'request rejected');
    const retryAfter = (body.error.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    if (status === 429 && typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(new AppError(Codes.NOT_FOUND, `No route for ${req.method} ${req.url.split('?')[0]}`).toJSON());
  });

  for (const route of routes) await app.register(route);

  app.get('/api/docs', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

/**
 * TRUST_PROXY as Fastify takes it. A hop count trusts the nearest N hops whoever they are (Fastify's own number form trusts
 * none), so it is only right when every request reaches Kizuna through those proxies; addresses/CIDRs are safer.
 */
function trustProxyOption(tp: Config['TRUST_PROXY']): boolean | string | ((address: string, hop: number) => boolean) {
  if (typeof tp === 'number') return (_address, hop) => hop < tp;
  return tp;
}

const MAX_ISSUES = 20;
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** Request bodies above this answer 413 unless the route sets its own limit. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export function toErrorResponse(err: unknown): { status: number; body: { error: { code: string; message: string; details?: unknown } } } {
  if (err instanceof AppError) return { status: err.status, body: err.toJSON() };
  if (err instanceof ZodError) {
    // A body with thousands of unknown keys must not get an answer thousands of lines long: the first issues, the count.
    const shown = err.issues.slice(0, MAX_ISSUES).map((i) => ({ path: i.path.slice(0, 10), message: clip(i.message, 300) }));
    const more = err.issues.length - shown.length;
    return {
      status: 400,
      body: {
        error: {
          code: Codes.VALIDATION_FAILED,
          message: shown.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') + (more > 0 ? `; and ${more} more` : ''),
          details: { issues: shown, ...(more > 0 ? { moreIssues: more } : {}) },
        },
      },
    };
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    return { status: 400, body: { error: { code: Codes.VALIDATION_FAILED, message: clip(fe.message, 2000) } } };
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code =
      status === 413
        ? Codes.PAYLOAD_TOO_LARGE
        : status === 415
          ? Codes.UNSUPPORTED_MEDIA_TYPE
          : status === 404
            ? Codes.NOT_FOUND
            : status === 429
              ? Codes.RATE_LIMITED
              : status === 401
                ? Codes.UNAUTHORIZED
                : status === 403
                  ? Codes.FORBIDDEN
                  : Codes.BAD_REQUEST;
    return { status, body: { error: { code, message: fe.message } } };
  }
  const dbDown = /ECONNREFUSED|Connection terminated|timeout exceeded when trying to connect/i.test(String(fe.message));
  if (dbDown) {
    return { status: 503, body: { error: { code: Codes.DATABASE_UNAVAILABLE, message: 'The database is unavailable; retry shortly.' } } };
  }
  return { status: 500, body: { error: { code: Codes.INTERNAL_ERROR, message: 'An unexpected error occurred; it has been logged.' } } };
}
