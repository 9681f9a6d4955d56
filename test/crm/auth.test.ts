// Operators: login with a slow salted hash, the session cookie (httpOnly, SameSite=Lax, Secure behind https), CSRF on
// state-changing cookie requests, the login rate limit counted in the database on ctx.clock, and the admin UI pages.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCategory } from '../../src/crm/custom-data.js';
import { announceFirstOperator } from '../../src/crm/first-operator.js';
import { addOperator, hashPassword, verifyPassword } from '../../src/crm/operators.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeFriend, makeTenant, type TestTenant } from './fixtures.js';

const PASSWORD = 'correct horse battery';

function cookiesOf(res: { headers: Record<string, unknown> }): Record<string, string> {
  const set = ([] as string[]).concat((res.headers['set-cookie'] as string | string[] | undefined) ?? []);
  return Object.fromEntries(set.map((c) => c.split(';')[0]!.split('=') as [string, string]));
}

describe('operators', () => {
  let t: TestApp;
  let a: TestTenant;

  beforeAll(async () => {
    t = await createTestApp({ env: { PUBLIC_URL: 'https://crm.example.jp' } });
    a = await makeTenant(t);
    await addOperator(t.ctx.db.pool, a.id, 'Ops@Example.jp', PASSWORD);
  });
  afterAll(() => t.close());

  async function formLogin(email: string, password: string, ip = '203.0.113.1') {
    const page = await t.app.inject({ method: 'GET', url: '/login', remoteAddress: ip });
    const loginCsrf = /name="_login_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    return t.app.inject({
      method: 'POST',
      url: '/login',
      remoteAddress: ip,
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `kizuna_login_csrf=${loginCsrf}` },
      payload: new URLSearchParams({ email, password, _login_csrf: loginCsrf }).toString(),
    });
  }

  it('stores passwords as salted scrypt hashes (OWASP minimum N=2^17, r=8, p=1) with their parameters', async () => {
    const h1 = await hashPassword(PASSWORD);
    const h2 = await hashPassword(PASSWORD);
    expect(h1).not.toBe(h2);
    expect(h1).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect(h1).not.toContain(PASSWORD);
    expect(await verifyPassword(PASSWORD, h1)).toBe(true);
    expect(await verifyPassword('wrong', h1)).toBe(false);
  });

  it('logs in with the form and sets an httpOnly, SameSite=Lax, Secure session cookie', async () => {
    const res = await formLogin('ops@example.jp', PASSWORD);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/friends');
    const set = ([] as string[]).concat(res.headers['set-cookie'] as string[]);
    const session = set.find((c) => c.startsWith('kizuna_session='))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Lax/);
    expect(session).toMatch(/Secure/);
    const { rows } = await t.ctx.db.pool.query(`SELECT encode(id_hash, 'hex') AS h FROM operator_sessions`);
    expect(rows.map((r) => r.h)).not.toContain(cookiesOf(res).kizuna_session); // only the hash is stored
  });

  it('the session cookie reads the API; state changes need the CSRF token; bearer requests need none', async () => {
    const friendId = await makeFriend(t, a.id, { displayName: '友だち' });
    const cat = await t.app.inject({ method: 'POST', url: '/api/v1/custom-data/categories', headers: a.auth, payload: { name: 'メモ' } });
    const field = await t.app.inject({ method: 'POST', url: `/api/v1/custom-data/categories/${cat.json().id}/fields`, headers: a.auth, payload: { name: 'メモ', type: 'text' } });
    const url = `/api/v1/friends/${friendId}/custom-data/${field.json().id}`;

    const c = cookiesOf(await formLogin('ops@example.jp', PASSWORD));
    const cookie = `kizuna_session=${c.kizuna_session}`;
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/friends', headers: { cookie } });
    expect(list.statusCode).toBe(200);
    expect(list.json().total).toBeGreaterThan(0);

    const noCsrf = await t.app.inject({ method: 'PUT', url, headers: { cookie }, payload: { value: 'x' } });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().error.code).toBe('CSRF_INVALID');
    const wrongCsrf = await t.app.inject({ method: 'PUT', url, headers: { cookie, 'x-csrf-token': 'nope' }, payload: { value: 'x' } });
    expect(wrongCsrf.statusCode).toBe(403);
    const ok = await t.app.inject({ method: 'PUT', url, headers: { cookie, 'x-csrf-token': c.kizuna_csrf! }, payload: { value: 'x' } });
    expect(ok.statusCode).toBe(200);
    const bearer = await t.app.inject({ method: 'PUT', url, headers: a.auth, payload: { value: 'y' } });
    expect(bearer.statusCode).toBe(200);

    expect((await t.app.inject({ method: 'GET', url: '/api/v1/friends' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/friends', headers: { authorization: 'Bearer kz_wrong' } })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/friends', headers: { cookie: 'kizuna_session=forged' } })).statusCode).toBe(401);
  });

  it('a JSON login answers the CSRF token; logout ends the session', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/login', payload: { email: 'ops@example.jp', password: PASSWORD } });
    expect(res.statusCode).toBe(200);
    const { csrfToken } = res.json();
    const cookie = `kizuna_session=${cookiesOf(res).kizuna_session}`;
    const out = await t.app.inject({ method: 'POST', url: '/logout', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${csrfToken}` });
    expect(out.statusCode).toBe(303);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/friends', headers: { cookie } })).statusCode).toBe(401);
  });

  it('sessions expire after 7 days (ctx.clock)', async () => {
    const cookie = `kizuna_session=${cookiesOf(await formLogin('ops@example.jp', PASSWORD)).kizuna_session}`;
    t.ctx.clock.advance(7 * 24 * 3600 * 1000 + 1000);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/friends', headers: { cookie } })).statusCode).toBe(401);
  });

  it('a hash made with the earlier parameters (N=2^15) still logs in and is replaced by one with today\'s', async () => {
    const op = await addOperator(t.ctx.db.pool, a.id, 'legacy@example.jp', PASSWORD);
    const salt = crypto.randomBytes(16);
    const key = crypto.scryptSync(PASSWORD, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const old = ['scrypt', 2 ** 15, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
    await t.ctx.db.pool.query(`UPDATE operators SET password_hash = $2 WHERE id = $1`, [op.id, old]);
    expect((await formLogin('legacy@example.jp', PASSWORD, '203.0.113.20')).statusCode).toBe(303);
    const { rows } = await t.ctx.db.pool.query(`SELECT password_hash FROM operators WHERE id = $1`, [op.id]);
    expect(rows[0].password_hash).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect(await verifyPassword(PASSWORD, rows[0].password_hash)).toBe(true);
    expect((await formLogin('legacy@example.jp', PASSWORD, '203.0.113.20')).statusCode).toBe(303);
  });

  it('throttles one email from one address with growing waits — even the right password — and nothing else', async () => {
    const ip = '198.51.100.7';
    for (let i = 0; i < 5; i++) {
      const bad = await formLogin('ops@example.jp', 'wrong password', ip);
      expect(bad.statusCode).toBe(401);
      expect(bad.body).toContain('メールアドレスまたはパスワードが正しくありません');
    }
    const limited = await formLogin('ops@example.jp', PASSWORD, ip);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('60');
    expect(limited.body).toContain('1分ほど待って');
    const json = await t.app.inject({ method: 'POST', url: '/login', remoteAddress: ip, payload: { email: 'ops@example.jp', password: PASSWORD } });
    expect(json.statusCode).toBe(429);
    expect(json.json().error.code).toBe('RATE_LIMITED');
    expect(json.headers['retry-after']).toBe('60');
    // another address is not affected
    expect((await formLogin('ops@example.jp', PASSWORD, '198.51.100.8')).statusCode).toBe(303);
    // each further failure doubles the wait: the 6th waits 2 minutes, the 7th 4
    t.ctx.clock.advance(60 * 1000);
    expect((await formLogin('ops@example.jp', 'wrong again', ip)).statusCode).toBe(401);
    expect((await formLogin('ops@example.jp', PASSWORD, ip)).headers['retry-after']).toBe('120');
    t.ctx.clock.advance(120 * 1000);
    expect((await formLogin('ops@example.jp', 'and again', ip)).statusCode).toBe(401);
    t.ctx.clock.advance(239 * 1000);
    expect((await formLogin('ops@example.jp', PASSWORD, ip)).statusCode).toBe(429);
    t.ctx.clock.advance(1000);
    // the wait is over: the right password works and clears this client's record
    expect((await formLogin('ops@example.jp', PASSWORD, ip)).statusCode).toBe(303);
    expect((await formLogin('ops@example.jp', 'one slip', ip)).statusCode).toBe(401);
    expect((await formLogin('ops@example.jp', PASSWORD, ip)).statusCode).toBe(303);
  });

  it('a stranger cannot lock an operator out: X-Forwarded-For is not believed, and failures from any number of other addresses leave the operator in', async () => {
    const operatorIp = '203.0.113.77';
    // The stranger claims to be the operator's address; without TRUST_PROXY the socket's address is what counts.
    for (let i = 0; i < 6; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/login',
        remoteAddress: '192.0.2.66',
        headers: { 'x-forwarded-for': operatorIp },
        payload: { email: 'ops@example.jp', password: `guess ${i}` },
      });
      expect(res.statusCode).toBe(i < 5 ? 401 : 429);
    }
    const { rows } = await t.ctx.db.pool.query(`SELECT DISTINCT ip FROM login_failures WHERE email_normalized = 'ops@example.jp'`);
    expect(rows.map((r) => r.ip)).toEqual(['192.0.2.66']);
    // A distributed guess: 300 failures for this email from 300 addresses within the last minutes.
    await t.ctx.db.pool.query(
      `INSERT INTO login_failures (email_normalized, ip, failed_at) SELECT 'ops@example.jp', '100.64.0.' || i, $1 FROM generate_series(1, 300) i`,
      [new Date(t.ctx.clock.now().getTime() - 60_000)],
    );
    expect((await formLogin('ops@example.jp', PASSWORD, operatorIp)).statusCode).toBe(303);
  });

  it('one address failing for many emails (password spraying) must wait, for every email', async () => {
    const sprayer = '192.0.2.99';
    await t.ctx.db.pool.query(
      `INSERT INTO login_failures (email_normalized, ip, failed_at) SELECT 'user' || i || '@example.jp', $2, $1 FROM generate_series(1, 50) i`,
      [new Date(t.ctx.clock.now().getTime() - 60_000), sprayer],
    );
    const res = await formLogin('ops@example.jp', PASSWORD, sprayer);
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe(String(14 * 60));
    expect((await formLogin('ops@example.jp', PASSWORD, '192.0.2.100')).statusCode).toBe(303);
    t.ctx.clock.advance(14 * 60 * 1000);
    expect((await formLogin('ops@example.jp', PASSWORD, sprayer)).statusCode).toBe(303);
  });

  it('with TRUST_PROXY, only the configured proxies may name the client address', async () => {
    const behind = await createTestApp({ env: { TRUST_PROXY: '10.0.0.0/8' } });
    try {
      const tenant = await makeTenant(behind);
      await addOperator(behind.ctx.db.pool, tenant.id, 'proxy@example.jp', PASSWORD);
      const attempt = (remoteAddress: string, xff: string) =>
        behind.app.inject({ method: 'POST', url: '/login', remoteAddress, headers: { 'x-forwarded-for': xff }, payload: { email: 'proxy@example.jp', password: 'wrong' } });
      expect((await attempt('10.1.2.3', '198.51.100.20')).statusCode).toBe(401); // through our proxy: the client it names
      expect((await attempt('203.0.113.9', '198.51.100.21')).statusCode).toBe(401); // straight in: the header is a claim
      const { rows } = await behind.ctx.db.pool.query(`SELECT ip FROM login_failures ORDER BY id`);
      expect(rows.map((r) => r.ip)).toEqual(['198.51.100.20', '203.0.113.9']);
    } finally {
      await behind.close();
    }
  });

  it('a login form posted from another site (no login CSRF cookie) is refused', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ email: 'ops@example.jp', password: PASSWORD, _login_csrf: 'guess' }).toString(),
    });
    expect(res.statusCode).toBe(403);
    expect(res.headers['set-cookie']?.toString() ?? '').not.toContain('kizuna_session=');
  });

  it('renders the admin pages in Japanese: 友だち一覧 with search and paging, 友だち詳細, カスタムデータ', async () => {
    const c = cookiesOf(await formLogin('ops@example.jp', PASSWORD));
    const cookie = `kizuna_session=${c.kizuna_session}`;
    expect((await t.app.inject({ method: 'GET', url: '/friends' })).headers.location).toMatch(/^\/login/);

    for (let i = 0; i < 55; i++) await makeFriend(t, a.id, { displayName: `ページ送り${i}` });
    const special = await makeFriend(t, a.id, { displayName: '<script>alert(1)</script>', email: 'Special@Example.jp' });
    await ensureCategory(t.ctx.db.pool, a.id, { key: 'shopify', name: 'データ連携(shopify)', readOnly: true, fields: [{ key: 'total', name: '合計購入金額(shopify)', type: 'number' }] });

    const list = await t.app.inject({ method: 'GET', url: '/friends', headers: { cookie } });
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('友だち一覧');
    expect(list.body).toContain('次へ');
    expect(list.body).not.toContain('<script>alert(1)</script>');
    expect(list.body).toContain('&lt;script&gt;');
    expect(list.body).toContain('href="/settings/integrations/shopify"'); // the nav leads to a page that exists
    expect((await t.app.inject({ method: 'GET', url: '/settings/integrations/shopify', headers: { cookie } })).statusCode).toBe(200);

    const search = await t.app.inject({ method: 'GET', url: '/friends?q=special@example', headers: { cookie } });
    expect(search.body).toContain(`/friends/${special}`);
    expect(search.body).not.toContain('ページ送り');

    const detail = await t.app.inject({ method: 'GET', url: `/friends/${special}`, headers: { cookie } });
    expect(detail.statusCode).toBe(200);
    expect(detail.body).toContain('Special@Example.jp');
    expect(detail.body).toContain('メールアドレス取得日時');
    expect(detail.body).toContain('合計購入金額(shopify)');
    expect(detail.body).toContain('編集不可');

    const cd = await t.app.inject({ method: 'GET', url: '/custom-data', headers: { cookie } });
    expect(cd.body).toContain('データ連携(shopify)');
    const add = await t.app.inject({
      method: 'POST',
      url: '/custom-data/categories',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ name: '来店情報', _csrf: c.kizuna_csrf! }).toString(),
    });
    expect(add.statusCode).toBe(303);
    expect((await t.app.inject({ method: 'GET', url: '/custom-data', headers: { cookie } })).body).toContain('来店情報');
    expect((await t.app.inject({ method: 'GET', url: '/friends/99999999', headers: { cookie } })).statusCode).toBe(404);
  });

  it('the first operator is created and printed once, with the login URL', async () => {
    const fresh = await createTestApp({ env: { PUBLIC_URL: 'https://crm.example.jp' } });
    try {
      let out = '';
      const sink = { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream;
      await announceFirstOperator(fresh.ctx, sink);
      expect(out).toContain('https://crm.example.jp/login');
      expect(out).toContain('admin@localhost');
      const password = /password: (\S+)/.exec(out)![1]!;
      const { rows } = await fresh.ctx.db.pool.query(`SELECT t.name, t.plan, t.options FROM operators o JOIN tenants t ON t.id = o.tenant_id`);
      expect(rows).toEqual([{ name: 'マイブランド', plan: 'enterprise', options: [] }]);
      const login = await fresh.app.inject({ method: 'POST', url: '/login', payload: { email: 'admin@localhost', password } });
      expect(login.statusCode).toBe(200);
      let again = '';
      await announceFirstOperator(fresh.ctx, { write: (s: string) => ((again += s), true) } as unknown as NodeJS.WritableStream);
      expect(again).toBe('');
    } finally {
      await fresh.close();
    }
  });
});
