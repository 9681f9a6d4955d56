// The admin UI (server-rendered, Japanese): login/logout and the pages. Pages authenticate with the session cookie only;
// every form carries the session's CSRF token. Each page reads through the same tenant-scoped functions as the API.
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticatePage, CSRF_COOKIE, SESSION_COOKIE, sessionCookieOptions } from '../../crm/auth.js';
import { createCategory, createField, friendCustomData, listCustomData, setCustomValue } from '../../crm/custom-data.js';
import { getFriend, listFriends, PAGE_SIZE } from '../../crm/friends.js';
import { deleteSession, login, SESSION_TTL_MS } from '../../crm/operators.js';
import { AppError } from '../../errors.js';
import { sendHtml } from '../ui/layout.js';
import { customDataPage, friendDetailPage, friendsPage, loginPage, notFoundPage } from '../ui/pages.js';

const LOGIN_CSRF_COOKIE = 'kizuna_login_csrf';

/** What an operator reads for an error code raised by a form. */
const formMessages: Record<string, string> = {
  READ_ONLY_FIELD: 'この項目は外部データ連携で管理されているため編集できません。',
  INVALID_VALUE: '値の形式が正しくありません（数値は半角数字、日付は YYYY-MM-DD）。',
  CONFLICT: '同じ名前がすでにあります。',
  VALIDATION_FAILED: '入力内容を確認してください（名前は1〜100文字）。',
};

function formMessage(e: unknown): string {
  if (e instanceof AppError) return formMessages[e.code] ?? e.message;
  throw e;
}

/**
 * Where to go after logging in: a path on this site made only of the characters a URL may carry as they are (RFC 3986:
 * unreserved, sub-delims, ':', '@', '/', '?', '%'); anything else — another origin (`//x`, `/\\x`), a scheme, spaces, control
 * or non-ASCII characters that cannot go into a Location header — falls back to the friends list.
 */
function localPath(next: unknown): string {
  return typeof next === 'string' && next.length <= 2000 && /^\/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/.test(next) ? next : '/friends';
}

export default async function uiRoutes(app: FastifyInstance): Promise<void> {
  const cookieBase = () => sessionCookieOptions(app.ctx.config.PUBLIC_URL, SESSION_TTL_MS / 1000);

  app.get('/', { config: { auth: 'none' }, schema: { hide: true } }, async (_req, reply) => reply.redirect('/friends', 303));

  app.get<{ Querystring: { next?: string } }>('/login', { config: { auth: 'none' }, schema: { hide: true } }, async (req, reply) => {
    // Login CSRF: a cross-site form cannot know this cookie's value, so it cannot log the victim into the attacker's account.
    const token = crypto.randomBytes(18).toString('base64url');
    void reply.setCookie(LOGIN_CSRF_COOKIE, token, { ...cookieBase(), maxAge: 3600 });
    return sendHtml(reply, loginPage({ loginCsrf: token, next: req.query.next }));
  });

  app.post<{ Body: Record<string, string | undefined> }>(
    '/login',
    // Anyone may post here, so the body is kept small: an email, a password, two tokens and next=.
    { config: { auth: 'none' }, schema: { hide: true }, bodyLimit: 16 * 1024 },
    async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, string | undefined>;
      const isForm = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
      if (isForm && (!body._login_csrf || body._login_csrf !== req.cookies[LOGIN_CSRF_COOKIE])) {
        const token = crypto.randomBytes(18).toString('base64url');
        void reply.setCookie(LOGIN_CSRF_COOKIE, token, { ...cookieBase(), maxAge: 3600 });
        return sendHtml(reply, loginPage({ loginCsrf: token, email: body.email, error: 'ページの有効期限が切れました。もう一度ログインしてください。' }), 403);
      }
      try {
        const { session } = await login(app.ctx, { email: String(body.email ?? ''), password: String(body.password ?? ''), ip: req.ip });
        void reply.setCookie(SESSION_COOKIE, session.id, cookieBase());
        void reply.setCookie(CSRF_COOKIE, session.csrfToken, { ...cookieBase(), httpOnly: false });
        void reply.clearCookie(LOGIN_CSRF_COOKIE, { path: '/' });
        if (isForm) return reply.redirect(localPath(body.next), 303);
        return { ok: true, csrfToken: session.csrfToken };
      } catch (e) {
        if (!isForm || !(e instanceof AppError)) throw e;
        const waitSeconds = Number(e.details?.retryAfterSeconds ?? 60);
        if (e.code === 'RATE_LIMITED') void reply.header('retry-after', String(waitSeconds));
        const message =
          e.code === 'RATE_LIMITED'
            ? `ログインの失敗が続いたため、一時的にログインできません。${Math.ceil(waitSeconds / 60)}分ほど待ってからもう一度お試しください。`
            : 'メールアドレスまたはパスワードが正しくありません。';
        return sendHtml(reply, loginPage({ loginCsrf: body._login_csrf!, email: body.email, next: body.next, error: message }), e.status);
      }
    },
  );

  app.post('/logout', { config: { auth: 'page' }, onRequest: authenticatePage, schema: { hide: true } }, async (req, reply) => {
    const sid = req.cookies[SESSION_COOKIE];
    if (sid) await deleteSession(app.ctx.db.pool, sid);
    void reply.clearCookie(SESSION_COOKIE, { path: '/' }).clearCookie(CSRF_COOKIE, { path: '/' });
    return reply.redirect('/login', 303);
  });

  // ------------------------------------------------------------------------------------------------------------ pages
  await app.register(async (pages) => {
    pages.addHook('onRequest', authenticatePage);
    const pageOpts = { config: { auth: 'page' as const }, schema: { hide: true } };

    pages.get<{ Querystring: { q?: string; page?: string } }>('/friends', pageOpts, async (req, reply) => {
      const q = String(req.query.q ?? '').slice(0, 200);
      const pageNo = Math.min(Math.max(Number.parseInt(String(req.query.page ?? '1'), 10) || 1, 1), 100000);
      const { items, total } = await listFriends(app.ctx.db.pool, req.tenant.id, { q, page: pageNo, perPage: PAGE_SIZE });
      return sendHtml(reply, friendsPage(req, { items, total, page: pageNo, perPage: PAGE_SIZE, q }));
    });

    const detail = async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply, notice?: { error?: string; ok?: string }) => {
      const friend = await getFriend(app.ctx.db.pool, req.tenant.id, req.params.id);
      if (!friend) return sendHtml(reply, notFoundPage(req), 404);
      const data = await friendCustomData(app.ctx.db.pool, req.tenant.id, friend.id);
      return sendHtml(reply, friendDetailPage(req, friend, data, notice), notice?.error ? 400 : 200);
    };

    pages.get<{ Params: { id: string } }>('/friends/:id', pageOpts, (req, reply) => detail(req, reply));

    pages.post<{ Params: { id: string; fieldId: string }; Body: { value?: string } }>(
      '/friends/:id/custom-data/:fieldId',
      pageOpts,
      async (req, reply) => {
        try {
          await setCustomValue(app.ctx.db.pool, req.tenant.id, req.params.id, req.params.fieldId, req.body?.value ?? null, app.ctx.clock.now());
        } catch (e) {
          if (e instanceof AppError && e.code === 'NOT_FOUND') return sendHtml(reply, notFoundPage(req), 404);
          return detail(req, reply, { error: formMessage(e) });
        }
        return reply.redirect(`/friends/${encodeURIComponent(req.params.id)}`, 303);
      },
    );

    pages.get('/custom-data', pageOpts, async (req, reply) => {
      return sendHtml(reply, customDataPage(req, await listCustomData(app.ctx.db.pool, req.tenant.id)));
    });

    const customDataError = async (req: FastifyRequest, reply: FastifyReply, e: unknown) => {
      if (e instanceof AppError && e.code === 'NOT_FOUND') return sendHtml(reply, notFoundPage(req), 404);
      const error = formMessage(e);
      return sendHtml(reply, customDataPage(req, await listCustomData(app.ctx.db.pool, req.tenant.id), { error }), 400);
    };

    pages.post<{ Body: { name?: string } }>('/custom-data/categories', pageOpts, async (req, reply) => {
      try {
        await createCategory(app.ctx.db.pool, req.tenant.id, { name: String(req.body?.name ?? '') });
      } catch (e) {
        return customDataError(req, reply, e);
      }
      return reply.redirect('/custom-data', 303);
    });

    pages.post<{ Params: { id: string }; Body: { name?: string; type?: string } }>(
      '/custom-data/categories/:id/fields',
      pageOpts,
      async (req, reply) => {
        try {
          await createField(app.ctx.db.pool, req.tenant.id, req.params.id, { name: String(req.body?.name ?? ''), type: String(req.body?.type ?? '') });
        } catch (e) {
          return customDataError(req, reply, e);
        }
        return reply.redirect('/custom-data', 303);
      },
    );
  });
}
