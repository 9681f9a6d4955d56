// What an attacker's inputs get: one input boundary (U+0000, unpaired surrogates and absurd nesting are 400 INVALID_INPUT
// naming the field, on every way in), authentication before any body is read, small body limits, security headers on every
// answer, notices by code only, and a `next=` that can only lead to a path of this site.
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addOperator } from '../../src/crm/operators.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeFriend, makeTenant, type TestTenant } from '../crm/fixtures.js';

describe('hardening', () => {
  let t: TestApp;
  let a: TestTenant;
  let session: { cookie: string; csrf: string };
  let friendId: number;
  let textField: string;
  let categoryId: string;

  beforeAll(async () => {
    t = await createTestApp();
    a = await makeTenant(t, { plan: 'enterprise', options: ['shopify'], lineAccessToken: 'token', lineLoginChannelId: '1650000001', liffId: '1650000001-AbCdEfGh' });
    await addOperator(t.ctx.db.pool, a.id, 'ops@example.jp', 'password of the ops');
    const login = await t.app.inject({ method: 'POST', url: '/login', payload: { email: 'ops@example.jp', password: 'password of the ops' } });
    session = { cookie: `kizuna_session=${/kizuna_session=([^;]+)/.exec(String(login.headers['set-cookie']))![1]!}`, csrf: login.json().csrfToken };
    friendId = await makeFriend(t, a.id, { displayName: '花子' });
    categoryId = (await t.app.inject({ method: 'POST', url: '/api/v1/custom-data/categories', headers: a.auth, payload: { name: '会員情報' } })).json().id;
    textField = (
      await t.app.inject({ method: 'POST', url: `/api/v1/custom-data/categories/${categoryId}/fields`, headers: a.auth, payload: { name: 'ランク', type: 'text' } })
    ).json().id;
  });
  afterAll(() => t.close());

  const form = (url: string, fields: Record<string, string>, headers: Record<string, string> = { cookie: session.cookie }) =>
    t.app.inject({
      method: 'POST',
      url,
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ ...fields, _csrf: session.csrf }).toString(),
    });

  describe('one input boundary', () => {
    it('U+0000 anywhere — JSON, query strings, path parameters, forms, the unauthenticated login — is 400 INVALID_INPUT naming the field', async () => {
      const nul = 'a\u0000b';
      const cases = [
        { name: 'custom text value', req: { method: 'PUT', url: `/api/v1/friends/${friendId}/custom-data/${textField}`, headers: a.auth, payload: { value: nul } }, field: 'body.value' },
        { name: 'category name', req: { method: 'POST', url: '/api/v1/custom-data/categories', headers: a.auth, payload: { name: nul } }, field: 'body.name' },
        {
          name: 'field name',
          req: { method: 'POST', url: `/api/v1/custom-data/categories/${categoryId}/fields`, headers: a.auth, payload: { name: nul, type: 'text' } },
          field: 'body.name',
        },
        {
          name: 'segment condition value',
          req: { method: 'POST', url: '/api/v1/segments', headers: a.auth, payload: { name: 's', match: 'all', conditions: [{ fieldId: textField, op: 'eq', value: nul }] } },
          field: 'body.conditions[0].value',
        },
        { name: 'friend email', req: { method: 'PUT', url: `/api/v1/friends/${friendId}/email`, headers: a.auth, payload: { email: `x${nul}@example.jp` } }, field: 'body.email' },
        { name: 'q', req: { method: 'GET', url: '/api/v1/friends?q=%00', headers: a.auth }, field: 'query.q' },
        { name: 'email query', req: { method: 'GET', url: '/api/v1/friends?email=a%00b', headers: a.auth }, field: 'query.email' },
        { name: 'path parameter', req: { method: 'GET', url: '/api/v1/friends/1%00', headers: a.auth }, field: 'params.id' },
        { name: 'unauthenticated login', req: { method: 'POST', url: '/login', payload: { email: nul, password: 'x' } }, field: 'body.email' },
      ] as { name: string; req: InjectOptions; field: string }[];
      for (const c of cases) {
        const res = await t.app.inject(c.req);
        expect(res.statusCode, c.name).toBe(400);
        expect(res.json().error.code, c.name).toBe('INVALID_INPUT');
        expect(res.json().error.message, c.name).toContain(`${c.field}: contains U+0000`);
      }
      const ui = await form('/custom-data/categories', { name: nul });
      expect(ui.statusCode).toBe(400);
      expect(ui.json().error.message).toContain('body.name');
      const delivery = await t.app.inject({ method: 'POST', url: '/api/v1/deliveries', headers: a.auth, payload: { segmentId: '1', messages: [{ type: 'text', text: nul }] } });
      expect(delivery.json().error).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('body.messages[0].text') });
      const { rows } = await t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM custom_categories WHERE tenant_id = $1`, [a.id]);
      expect(rows[0].n).toBe(1);
    });

    it('an unpaired surrogate and nesting deeper than 64 levels are refused the same way', async () => {
      const lone = await t.app.inject({
        method: 'POST',
        url: '/api/v1/custom-data/categories',
        headers: { ...a.auth, 'content-type': 'application/json' },
        payload: '{"name":"\\ud800 lone"}',
      });
      expect(lone.statusCode).toBe(400);
      expect(lone.json().error.message).toContain('body.name: contains an unpaired UTF-16 surrogate');
      const deep = '{"value":' + '['.repeat(100) + ']'.repeat(100) + '}';
      const res = await t.app.inject({
        method: 'PUT',
        url: `/api/v1/friends/${friendId}/custom-data/${textField}`,
        headers: { ...a.auth, 'content-type': 'application/json' },
        payload: deep,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(/nested more than 64 levels/);
      // a surrogate pair (an emoji) is fine
      const ok = await t.app.inject({ method: 'POST', url: '/api/v1/custom-data/categories', headers: a.auth, payload: { name: '絵文字😀' } });
      expect(ok.statusCode).toBe(201);
    });
  });

  describe('bodies', () => {
    it('a request without credentials is refused before its body is read; an authenticated one over 1 MB answers 413', async () => {
      const big = JSON.stringify({ name: 'x'.repeat(18 * 1024 * 1024) });
      const anonymous = await t.app.inject({ method: 'POST', url: '/api/v1/custom-data/categories', headers: { 'content-type': 'application/json' }, payload: big });
      expect(anonymous.statusCode).toBe(401);
      const badToken = await t.app.inject({
        method: 'POST',
        url: '/api/v1/segments',
        headers: { authorization: 'Bearer kz_wrong', 'content-type': 'application/json' },
        payload: big,
      });
      expect(badToken.statusCode).toBe(401);
      const page = await t.app.inject({ method: 'POST', url: '/custom-data/categories', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: big });
      expect(page.statusCode).toBe(303);
      expect(page.headers.location).toBe('/login');
      const tooLarge = await t.app.inject({
        method: 'POST',
        url: '/api/v1/custom-data/categories',
        headers: { ...a.auth, 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'x'.repeat(1024 * 1024) }),
      });
      expect(tooLarge.statusCode).toBe(413);
      expect(tooLarge.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('a cookie request without the CSRF header has its form field checked once parsed', async () => {
      const missing = await t.app.inject({
        method: 'POST',
        url: '/custom-data/categories',
        headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'name=%E6%9D%A5%E5%BA%97',
      });
      expect(missing.statusCode).toBe(403);
      expect(missing.json().error.code).toBe('CSRF_INVALID');
      const wrongHeader = await t.app.inject({
        method: 'POST',
        url: '/api/v1/custom-data/categories',
        headers: { cookie: session.cookie, 'x-csrf-token': 'wrong' },
        payload: { name: '来店' },
      });
      expect(wrongHeader.statusCode).toBe(403);
      expect((await form('/custom-data/categories', { name: '来店' })).statusCode).toBe(303);
    });
  });

  describe('security headers', () => {
    it('admin pages and the API: a CSP without inline script, no framing, nosniff, no Referer; every page script is a file', async () => {
      for (const res of [
        await t.app.inject({ method: 'GET', url: '/friends', headers: { cookie: session.cookie } }),
        await t.app.inject({ method: 'GET', url: '/segments', headers: { cookie: session.cookie } }),
        await t.app.inject({ method: 'GET', url: '/settings/integrations/shopify', headers: { cookie: session.cookie } }),
        await t.app.inject({ method: 'GET', url: '/login' }),
        await t.app.inject({ method: 'GET', url: '/api/v1/friends', headers: a.auth }),
        await t.app.inject({ method: 'GET', url: '/no/such/route' }),
      ]) {
        const csp = String(res.headers['content-security-policy']);
        expect(csp).toContain("frame-ancestors 'none'");
        expect(csp).toMatch(/script-src 'self'(;|$)/);
        expect(csp).not.toContain('unsafe-eval');
        expect(res.headers['x-frame-options']).toBe('DENY');
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['referrer-policy']).toBe('no-referrer');
        expect(res.headers['strict-transport-security']).toBeUndefined(); // PUBLIC_URL is http here
        if (String(res.headers['content-type']).startsWith('text/html')) {
          expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
          expect(res.body).not.toMatch(/\son[a-z]+=/i); // no inline event handler
        }
      }
      const page = await t.app.inject({ method: 'GET', url: '/segments', headers: { cookie: session.cookie } });
      const src = /<script src="([^"]+)"/.exec(page.body)![1]!;
      const script = await t.app.inject({ method: 'GET', url: src });
      expect(script.statusCode).toBe(200);
      expect(script.headers['content-type']).toMatch(/javascript/);
      expect(script.body).toContain("document.getElementById('conditions')");
      expect((await t.app.inject({ method: 'GET', url: '/favicon.ico' })).statusCode).toBe(200);
    });

    it('the LIFF page allows what the LIFF SDK needs from LINE, and nothing inline', async () => {
      const res = await t.app.inject({ method: 'GET', url: `/liff/${a.id}/email` });
      expect(res.statusCode).toBe(200);
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self' https://static.line-scdn.net");
      expect(csp).toContain('connect-src');
      expect(csp).toContain('https://api.line.me');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.body).not.toMatch(/<script(?![^>]*\b(src|type="application\/json")=?)[^>]*>/);
      const script = /<script src="(\/liff\/email\.js[^"]+)"/.exec(res.body)![1]!;
      expect((await t.app.inject({ method: 'GET', url: script })).body).toContain('liff.init');
    });

    it('HSTS when PUBLIC_URL is https', async () => {
      const https = await createTestApp({ env: { PUBLIC_URL: 'https://crm.example.jp' } });
      try {
        const res = await https.app.inject({ method: 'GET', url: '/healthz' });
        expect(res.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
      } finally {
        await https.close();
      }
    });
  });

  describe('what the URL may say', () => {
    it('next= leads only to a path of this site; non-ASCII or control characters fall back to the friends list instead of a 500', async () => {
      const loginWith = async (next: string) => {
        const loginPage = await t.app.inject({ method: 'GET', url: '/login' });
        const token = /name="_login_csrf" value="([^"]+)"/.exec(loginPage.body)![1]!;
        return t.app.inject({
          method: 'POST',
          url: '/login',
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `kizuna_login_csrf=${token}` },
          payload: new URLSearchParams({ email: 'ops@example.jp', password: 'password of the ops', _login_csrf: token, next }).toString(),
        });
      };
      const where = async (next: string) => {
        const res = await loginWith(next);
        expect(res.statusCode, next).toBe(303);
        return res.headers.location;
      };
      expect(await where('/segments?x=1')).toBe('/segments?x=1');
      expect(await where('/友だち')).toBe('/friends');
      expect(await where('/friends\u0007')).toBe('/friends');
      expect(await where('/a\r\nSet-Cookie: x=1')).toBe('/friends');
      expect(await where('//evil.example/')).toBe('/friends');
      expect(await where('/\\evil.example')).toBe('/friends');
      expect(await where('https://evil.example/')).toBe('/friends');
    });

    it('a success notice is a code from the redirect: free text in the URL never appears as a banner', async () => {
      for (const url of ['/segments', '/settings/integrations/shopify', `/segments/1`]) {
        const res = await t.app.inject({
          method: 'GET',
          url: `${url}?ok=${encodeURIComponent('当選しました！こちらへ')}&notice=${encodeURIComponent('偽のお知らせ')}`,
          headers: { cookie: session.cookie },
        });
        expect(res.body).not.toContain('当選しました');
        expect(res.body).not.toContain('偽のお知らせ');
        expect(res.body).not.toContain('role="status"');
      }
      const real = await t.app.inject({ method: 'GET', url: '/segments?notice=segment-deleted', headers: { cookie: session.cookie } });
      expect(real.body).toContain('<p class="notice card" role="status">セグメントを削除しました。</p>');
    });
  });
});
