// Who is calling, for every tenant-scoped route: an API client with `Authorization: Bearer <tenant apiToken>`, or an operator
// with the `kizuna_session` cookie. Either way the route gets `req.tenant` and must scope every query by `req.tenant.id`;
// ids of another tenant's rows then simply are not found (404, never 403, so existence does not leak).
// Authentication runs in `onRequest`, before the body is read: a caller without valid credentials never gets a body parsed.
// Cookie requests that change state must carry the session's CSRF token (header x-csrf-token, or form field _csrf); the header
// is checked with the credentials, the form field once the form is parsed (preValidation); bearer requests need none — a
// browser never attaches a bearer token by itself.
import crypto from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { AppError, Codes } from '../errors.js';
import { CrmCodes } from './codes.js';
import { findSession, type Operator } from './operators.js';
import { findTenantByApiToken, type Tenant } from './tenants.js';

export const SESSION_COOKIE = 'kizuna_session';
/** Readable by the page's own script (not httpOnly): the CSRF token to echo in x-csrf-token. It grants nothing by itself. */
export const CSRF_COOKIE = 'kizuna_csrf';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated tenant; set by authenticate / authenticatePage. */
    tenant: Tenant;
    /** The operator when authenticated by session cookie; null for API tokens. */
    operator: Operator | null;
    /** The session's CSRF token (cookie sessions only), for forms rendered in this request. */
    csrfToken: string | null;
    /** A cookie request that changes state without the x-csrf-token header: its form's _csrf field is checked once parsed. */
    csrfPending: boolean;
  }
  interface FastifyInstance {
    /** onRequest hook for the JSON API: bearer token or session cookie (+ CSRF on unsafe methods); 401 otherwise. */
    authenticate: typeof authenticate;
    /** onRequest hook for admin UI pages: session cookie (+ CSRF on unsafe methods); redirects to /login otherwise. */
    authenticatePage: typeof authenticatePage;
    /** Every route registered after the CRM plugin (method, url), for tests that must cover all of them. */
    routeCatalogue: { method: string; url: string; auth: string | undefined }[];
  }
  interface FastifyContextConfig {
    /** How a route authenticates, recorded in routeCatalogue: 'tenant' (API), 'page' (UI), 'line-signature', 'liff', 'none'. */
    auth?: 'tenant' | 'page' | 'line-signature' | 'liff' | 'none';
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameToken(a: string | undefined, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

const csrfError = () =>
  new AppError(CrmCodes.CSRF_INVALID, 'This request needs the CSRF token of your session (header x-csrf-token); reload the page and try again.');

/** Resolves the caller; false when there is no (valid) credential. Throws CSRF_INVALID for a cookie request with a wrong token. */
async function resolveCaller(req: FastifyRequest, allowBearer: boolean): Promise<boolean> {
  const ctx = req.server.ctx;
  const auth = req.headers.authorization;
  if (allowBearer && auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    const tenant = m ? await findTenantByApiToken(ctx.db.pool, m[1]!) : null;
    if (!tenant) throw new AppError(Codes.UNAUTHORIZED, 'The API token is not valid.');
    req.tenant = tenant;
    req.operator = null;
    req.csrfToken = null;
    return true;
  }
  const sid = req.cookies?.[SESSION_COOKIE];
  if (!sid) return false;
  const s = await findSession(ctx, sid);
  if (!s) return false;
  if (!SAFE_METHODS.has(req.method)) {
    const header = req.headers['x-csrf-token'];
    if (header === undefined) req.csrfPending = true;
    else if (typeof header !== 'string' || !sameToken(header, s.csrfToken)) throw csrfError();
  }
  req.tenant = s.tenant;
  req.operator = s.operator;
  req.csrfToken = s.csrfToken;
  return true;
}

export async function authenticate(req: FastifyRequest): Promise<void> {
  if (!(await resolveCaller(req, true))) {
    throw new AppError(Codes.UNAUTHORIZED, 'Authenticate with "Authorization: Bearer <tenant apiToken>" or log in.');
  }
}

export async function authenticatePage(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!(await resolveCaller(req, false))) {
    const next = req.method === 'GET' ? `?next=${encodeURIComponent(req.url)}` : '';
    return reply.redirect(`/login${next}`, 303);
  }
}

export function sessionCookieOptions(publicUrl: string, maxAgeSeconds: number) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: publicUrl.startsWith('https:'),
    maxAge: maxAgeSeconds,
  };
}

/**
 * Registered first (routes/index.ts) and without encapsulation: cookies, form bodies, the request decorations above, and the
 * route catalogue, for every route plugin after it.
 */
async function crmPlugin(app: FastifyInstance): Promise<void> {
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  app.decorateRequest('tenant', null as unknown as Tenant);
  app.decorateRequest('operator', null);
  app.decorateRequest('csrfToken', null);
  app.decorateRequest('csrfPending', false);
  app.addHook('preValidation', async (req) => {
    if (!req.csrfPending) return;
    const field = (req.body as Record<string, unknown> | undefined)?._csrf;
    if (typeof field !== 'string' || !req.csrfToken || !sameToken(field, req.csrfToken)) throw csrfError();
    req.csrfPending = false;
  });
  app.decorate('authenticate', authenticate);
  app.decorate('authenticatePage', authenticatePage);
  const catalogue: FastifyInstance['routeCatalogue'] = [];
  app.decorate('routeCatalogue', catalogue);
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD') continue;
      catalogue.push({ method, url: route.url, auth: (route.config as { auth?: string } | undefined)?.auth });
    }
  });
}
(crmPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
export default crmPlugin;
