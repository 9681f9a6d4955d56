// Tenant isolation over every route. The routes are enumerated from Fastify itself (app.routeCatalogue, filled by an onRoute
// hook), so a route added later is walked too: tenant B — with its API token, and with its operator's session cookie — calls
// each of them with tenant A's ids. Every answer must be 404 (never 403: existence must not leak) or B's own data, must not
// contain anything of A's, and A's rows must be byte-for-byte unchanged afterwards.
// A new resource: add its ids for A to `aIds` below (and a body to `bodies` if the route needs one to get past validation).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCategory, writeCustomValues } from '../../src/crm/custom-data.js';
import { addOperator } from '../../src/crm/operators.js';
import { updateTenant } from '../../src/crm/tenants.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { lineUserId, makeFriend, makeTenant, type TestTenant } from './fixtures.js';

const MARK = 'AAAsecretAAA';

describe('tenant isolation', () => {
  let t: TestApp;
  let a: TestTenant;
  let b: TestTenant;
  const aIds: Record<string, string[]> = {};
  const markers: string[] = [];
  let bCookie: { cookie: string; 'x-csrf-token': string };

  beforeAll(async () => {
    t = await createTestApp();
    a = await makeTenant(t, { name: `${MARK} brand`, plan: 'enterprise', options: ['shopify'] });
    // B has the Shopify plan too, so the integration routes answer B (not 403 PLAN_REQUIRED) and isolation is what is tested.
    b = await makeTenant(t, { plan: 'enterprise', options: ['shopify'] });
    const aLine = lineUserId('tenant-a-friend');
    const aFriend = await makeFriend(t, a.id, { lineUserId: aLine, displayName: `${MARK} 名前`, email: `${MARK.toLowerCase()}@example.jp` });
    // (A's LINE user id is not a marker: B's import below legitimately gives B a friend with the same one)
    markers.push(MARK, MARK.toLowerCase());
    const cat = (await t.app.inject({ method: 'POST', url: '/api/v1/custom-data/categories', headers: a.auth, payload: { name: `${MARK} カテゴリ` } })).json();
    const field = (
      await t.app.inject({ method: 'POST', url: `/api/v1/custom-data/categories/${cat.id}/fields`, headers: a.auth, payload: { name: `${MARK} 項目`, type: 'text' } })
    ).json();
    const ro = await ensureCategory(t.ctx.db.pool, a.id, { key: 'shopify', name: `${MARK} 連携`, readOnly: true, fields: [{ key: 'n', name: `${MARK} 数値`, type: 'number' }] });
    await writeCustomValues(t.ctx.db.pool, a.id, [
      { friendId: aFriend, fieldId: Number(field.id), value: `${MARK} 値` },
      { friendId: aFriend, fieldId: ro.fields[0]!.id, value: 4242 },
    ]);
    const run = await t.ctx.db.pool.query(
      `INSERT INTO sync_runs (tenant_id, mode, trigger, status, error_code, error_message, queued_at, finished_at)
       VALUES ($1, 'full', 'manual', 'failed', 'SHOPIFY_UNAVAILABLE', $2, now(), now()) RETURNING id`,
      [a.id, `${MARK} run`],
    );
    aIds.run = [run.rows[0].id];
    aIds.friend = [String(aFriend)];
    aIds.category = [String(cat.id), String(ro.id)];
    aIds.field = [String(field.id), String(ro.fields[0]!.id)];
    const segment = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/segments',
        headers: a.auth,
        payload: { name: `${MARK} セグメント`, match: 'all', conditions: [{ fieldId: ro.fields[0]!.id, op: 'gte', value: 3000 }] },
      })
    ).json();
    aIds.segment = [segment.id];
    // B's attempt to build a segment on A's field: an unknown field for B
    bodies['POST /api/v1/segments'] = { payload: { name: 'B', match: 'all', conditions: [{ fieldId: ro.fields[0]!.id, op: 'exists' }] } };
    // A scheduled delivery of A's (queued, so a cancel would change it)
    await updateTenant(t.ctx, a.id, { lineAccessToken: 'a-line-token' });
    const delivery = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/deliveries',
        headers: a.auth,
        payload: { segmentId: segment.id, messages: [{ type: 'text', text: `${MARK} クーポン` }], scheduledAt: '2026-12-24T10:00:00+09:00' },
      })
    ).json();
    aIds.delivery = [delivery.id];
    bodies['POST /api/v1/deliveries'] = { payload: { segmentId: segment.id, messages: [{ type: 'text', text: 'B was here' }] } };
    bodies['POST /segments'] = { payload: `name=B&match=all&fieldId=${ro.fields[0]!.id}&op=exists&value=`, contentType: 'application/x-www-form-urlencoded' };
    bodies['POST /segments/:id/deliveries'] = { payload: 'text=B%20was%20here&when=now', contentType: 'application/x-www-form-urlencoded' };

    // B has data of its own, so "empty" answers are not mistaken for isolation.
    await makeFriend(t, b.id, { displayName: 'B の友だち' });
    await addOperator(t.ctx.db.pool, b.id, 'b-ops@example.jp', 'password of b ops');
    const login = await t.app.inject({ method: 'POST', url: '/login', payload: { email: 'b-ops@example.jp', password: 'password of b ops' } });
    const sid = /kizuna_session=([^;]+)/.exec(String(login.headers['set-cookie']))![1]!;
    bCookie = { cookie: `kizuna_session=${sid}`, 'x-csrf-token': login.json().csrfToken };
  });
  afterAll(() => t.close());

  /** Every row of A, in every table that holds tenant data. */
  async function snapshotA(): Promise<unknown> {
    const q = (sql: string) => t.ctx.db.pool.query(sql, [a.id]).then((r) => r.rows);
    return {
      tenant: await q(`SELECT * FROM tenants WHERE id = $1`),
      friends: await q(`SELECT * FROM friends WHERE tenant_id = $1 ORDER BY id`),
      categories: await q(`SELECT * FROM custom_categories WHERE tenant_id = $1 ORDER BY id`),
      fields: await q(`SELECT * FROM custom_fields WHERE tenant_id = $1 ORDER BY id`),
      values: await q(`SELECT * FROM custom_values WHERE tenant_id = $1 ORDER BY field_id, friend_id`),
      emailEvents: await q(`SELECT * FROM friend_email_events WHERE tenant_id = $1 ORDER BY id`),
      operators: await q(`SELECT * FROM operators WHERE tenant_id = $1 ORDER BY id`),
      shopify: await q(`SELECT * FROM shopify_integrations WHERE tenant_id = $1`),
      runs: await q(`SELECT * FROM sync_runs WHERE tenant_id = $1 ORDER BY id`),
      links: await q(`SELECT * FROM shopify_links WHERE tenant_id = $1 ORDER BY friend_id`),
      segments: await q(`SELECT * FROM segments WHERE tenant_id = $1 ORDER BY id`),
      deliveries: await q(`SELECT * FROM deliveries WHERE tenant_id = $1 ORDER BY id`),
      deliveryBatches: await q(`SELECT b.* FROM delivery_batches b JOIN deliveries d ON d.id = b.delivery_id WHERE d.tenant_id = $1`),
    };
  }

  /** Which of A's ids a path parameter takes, from the segment before it. */
  function candidates(url: string, param: string): string[] {
    const before = url.split('/:' + param)[0]!.split('/').at(-1);
    if (param === 'fieldId' || before === 'fields') return aIds.field!;
    if (before === 'friends') return aIds.friend!;
    if (before === 'categories') return aIds.category!;
    if (before === 'runs') return aIds.run!;
    if (before === 'segments') return aIds.segment!;
    if (before === 'deliveries') return aIds.delivery!;
    return Object.values(aIds).flat(); // an unknown resource: at least every id A has
  }

  /** Concrete URLs for a route pattern: each parameter replaced by each of A's ids. */
  function expand(url: string): string[] {
    const params = [...url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
    let urls = [url];
    for (const p of params) urls = urls.flatMap((u) => candidates(url, p).map((id) => u.replace(`:${p}`, id)));
    return urls;
  }

  const bodies: Record<string, { payload: unknown; contentType?: string }> = {
    'PUT /api/v1/friends/:id/custom-data/:fieldId': { payload: { value: 'B was here' } },
    'PUT /api/v1/friends/:id/email': { payload: { email: 'b-was-here@example.jp' } },
    'POST /api/v1/friends/import': {
      // A's LINE user id in B's import: it must become B's friend, never touch A's
      payload: `line_user_id,display_name,email\n${lineUserId('tenant-a-friend')},B の名前,b-import@example.jp\n`,
      contentType: 'text/csv',
    },
    'POST /api/v1/custom-data/categories': { payload: { name: 'B のカテゴリ' } },
    'PATCH /api/v1/custom-data/categories/:id': { payload: { name: 'B was here' } },
    'POST /api/v1/custom-data/categories/:id/fields': { payload: { name: 'B の項目', type: 'text' } },
    'PATCH /api/v1/custom-data/fields/:id': { payload: { name: 'B was here' } },
    'POST /friends/:id/custom-data/:fieldId': { payload: 'value=B', contentType: 'application/x-www-form-urlencoded' },
    'POST /custom-data/categories/:id/fields': { payload: 'name=B&type=text', contentType: 'application/x-www-form-urlencoded' },
    'POST /custom-data/categories': { payload: 'name=B2', contentType: 'application/x-www-form-urlencoded' },
  };

  function request(method: string, pattern: string, url: string, headers: Record<string, string>) {
    const body = bodies[`${method} ${pattern}`];
    const isForm = body?.contentType === 'application/x-www-form-urlencoded';
    const payload = isForm && headers['x-csrf-token'] ? `${body!.payload}&_csrf=${headers['x-csrf-token']}` : body?.payload;
    return t.app.inject({
      method: method as 'GET',
      url,
      headers: { ...headers, ...(body?.contentType ? { 'content-type': body.contentType } : {}) },
      ...(method === 'GET' || method === 'DELETE' ? {} : { payload: (payload ?? {}) as object }),
    });
  }

  it('every /api/v1 route requires authentication', async () => {
    const api = t.app.routeCatalogue.filter((r) => r.url.startsWith('/api/v1'));
    expect(api.length).toBeGreaterThanOrEqual(9);
    for (const r of api) {
      expect(r.auth, `${r.method} ${r.url} must declare config.auth`).toBe('tenant');
      for (const url of expand(r.url)) {
        const res = await request(r.method, r.url, url, {});
        expect(res.statusCode, `${r.method} ${url} without credentials`).toBe(401);
      }
    }
  });

  it("A's own token reaches A's ids on every GET route (so the 404s below are isolation, not broken URLs)", async () => {
    for (const r of t.app.routeCatalogue.filter((x) => x.url.startsWith('/api/v1') && x.method === 'GET')) {
      for (const url of expand(r.url)) {
        const res = await request('GET', r.url, url, a.auth);
        expect(res.statusCode, `${url} with A's token`).toBe(200);
        if (r.url.includes(':')) expect(res.body).toContain(MARK);
      }
    }
  });

  for (const who of ['API token', 'operator session'] as const) {
    it(`tenant B's ${who} can neither read nor change anything of tenant A's, on every route`, async () => {
      const before = await snapshotA();
      const headers = who === 'API token' ? b.auth : bCookie;
      const routes = t.app.routeCatalogue.filter(
        (r) => r.url.startsWith('/api/v1') || (who === 'operator session' && r.auth === 'page' && r.url !== '/logout'),
      );
      let calls = 0;
      for (const r of routes) {
        for (const url of expand(r.url)) {
          const res = await request(r.method, r.url, url, headers);
          calls++;
          const label = `${who}: ${r.method} ${url}`;
          if (r.url.includes(':')) expect(res.statusCode, label).toBe(404);
          else expect(res.statusCode, label).toBeLessThan(500);
          for (const m of markers) expect(res.body, label).not.toContain(m);
        }
      }
      expect(calls).toBeGreaterThanOrEqual(12);
      expect(await snapshotA()).toEqual(before);
    });
  }

  it("B's import of A's LINE user id created B's own friend", async () => {
    const { rows } = await t.ctx.db.pool.query(`SELECT tenant_id, display_name FROM friends WHERE line_user_id = $1 ORDER BY tenant_id = $2 DESC`, [
      lineUserId('tenant-a-friend'),
      a.id,
    ]);
    expect(rows).toEqual([
      { tenant_id: a.id, display_name: `${MARK} 名前` },
      { tenant_id: b.id, display_name: 'B の名前' },
    ]);
  });
});
