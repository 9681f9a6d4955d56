// Email acquisition through LIFF: GET /liff/:tenantId/email serves the page (opened inside LINE, it gets an ID token with the
// `openid email` scopes and posts it back); POST verifies the token with LINE (audience = the tenant's LINE Login channel,
// expiry), requires its `sub` to be a friend of this tenant, and stores the email (emitting the email-changed event).
// Errors answer with the LINE module's codes and its Japanese sentences, which the page shows as they are.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { getFriendByLineUserId, setFriendEmail } from '../../crm/friends.js';
import { getTenant } from '../../crm/tenants.js';
import { AppError, Codes } from '../../errors.js';
import { LineCodes } from '../../line/errors.js';
import { liffMessageForCode, liffMessages, liffSdkPath, renderLiffEmailPage } from '../../line/liff-page.js';
import { verifyIdToken } from '../../line/login.js';
import { RateLimiter } from '../rate-limit.js';
import { liffScriptAsset } from './assets.js';
import { liffHelmet } from '../security-headers.js';
import { isEmail } from '../../crm/operators.js';
import { unstorableReason } from '../../input.js';

/**
 * Each POST costs a call to LINE's verify endpoint, and anyone may send one: a phone registering its email needs a few tries
 * at most, a whole tenant's audience answering a campaign at once needs a few hundred a minute.
 */
const PER_CLIENT = { limit: 10, windowMs: 60_000 };
const PER_TENANT = { limit: 600, windowMs: 60_000 };

function liffError(code: string): AppError {
  return new AppError(code, liffMessageForCode(code));
}

export default async function liffRoutes(app: FastifyInstance): Promise<void> {
  const now = () => app.ctx.clock.now().getTime();
  const perClient = new RateLimiter(PER_CLIENT.limit, PER_CLIENT.windowMs, now);
  const perTenant = new RateLimiter(PER_TENANT.limit, PER_TENANT.windowMs, now);

  app.get<{ Params: { tenantId: string } }>(
    '/liff/:tenantId/email',
    { config: { auth: 'none' }, schema: { hide: true }, helmet: liffHelmet(app.ctx.config) },
    async (req, reply) => {
      const tenant = await getTenant(app.ctx.db.pool, req.params.tenantId);
      void reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store');
      if (!tenant?.line.liffId || !tenant.line.loginChannelId) {
        return reply
          .status(404)
          .send(`<!doctype html><html lang="ja"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>メールアドレスの登録</title><p style="font-family:sans-serif;padding:24px">${liffMessages.notConfigured}</p></html>`);
      }
      return renderLiffEmailPage({
        liffId: tenant.line.liffId,
        tenantId: tenant.id,
        postUrl: `/liff/${tenant.id}/email`,
        sdkUrl: liffSdkPath,
        scriptUrl: liffScriptAsset.url,
      });
    },
  );

  app.post<{ Params: { tenantId: string } }>(
    '/liff/:tenantId/email',
    // Anyone may post here: the body is an ID token (a few kB) and nothing else.
    { config: { auth: 'liff' }, schema: { summary: 'Store the email of a LIFF ID token on the friend', security: [] }, bodyLimit: 32 * 1024 },
    async (req) => {
      const body = z.object({ idToken: z.string().min(1).max(16 * 1024) }).safeParse(req.body ?? {});
      if (!body.success) throw liffError(LineCodes.LIFF_TOKEN_INVALID);
      const tenant = await getTenant(app.ctx.db.pool, req.params.tenantId);
      if (!tenant?.line.loginChannelId) throw liffError(Codes.NOT_FOUND);
      for (const [limiter, key] of [[perClient, `${tenant.id} ${req.ip}`], [perTenant, tenant.id]] as const) {
        try {
          limiter.take(key);
        } catch (e) {
          throw new AppError(Codes.RATE_LIMITED, liffMessageForCode(Codes.RATE_LIMITED), (e as AppError).details);
        }
      }
      let verified;
      try {
        verified = await verifyIdToken({
          origin: app.ctx.config.LINE_API_ORIGIN,
          idToken: body.data.idToken,
          channelId: tenant.line.loginChannelId,
          now: () => app.ctx.clock.now(),
        });
      } catch (e) {
        if (e instanceof AppError) throw liffError(e.code);
        throw e;
      }
      // LINE vouches for the address, but it is stored and matched: it must be one, and storable.
      if (!verified.email || !isEmail(verified.email) || unstorableReason(verified.email)) throw liffError(LineCodes.LIFF_EMAIL_MISSING);
      const friend = await getFriendByLineUserId(app.ctx.db.pool, tenant.id, verified.sub);
      if (!friend || friend.status !== 'active') throw liffError(LineCodes.LIFF_NOT_FRIEND);
      await setFriendEmail(app.ctx, tenant.id, friend.id, verified.email, 'liff');
      return { ok: true, email: verified.email };
    },
  );
}
