// The operator's side of the integration through the HTTP API against the development Shopify: 発行 with both kinds of
// credentials and every error code, encrypted storage, 連携 (the 22 read-only fields, idempotent), 連携を解除 (data kept), the
// match preview, sync now / runs, and the plan gate.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { normalizeStoreDomain } from '../../src/shopify/domain.js';
import { SHOPIFY_FIELDS } from '../../src/shopify/fields.js';
import { updateTenant } from '../../src/crm/tenants.js';
import { executeRun } from '../../src/sync/runs.js';
import { requestRun } from '../../src/sync/run-store.js';
import { syncWorld, type SyncWorld } from '../helpers/sync.js';

const API = '/api/v1/integrations/shopify';

describe('store domains as operators paste them', () => {
  it.each([
    ['my-store', 'my-store.myshopify.com'],
    ['My-Store.myshopify.com', 'my-store.myshopify.com'],
    ['https://my-store.myshopify.com/admin/customers', 'my-store.myshopify.com'],
    ['https://admin.shopify.com/store/my-store/settings/apps', 'my-store.myshopify.com'],
    ['admin.shopify.com/store/my-store', 'my-store.myshopify.com'],
    ['  my-store  ', 'my-store.myshopify.com'],
  ])('%s → %s', (input, out) => {
    expect(normalizeStoreDomain(input)).toBe(out);
  });

  it.each(['', 'shop.example.jp', 'https://example.com/store/x', 'https://admin.shopify.com/settings', 'my store', '-x', 42])(
    '%s is INVALID_STORE_DOMAIN with a Japanese explanation',
    (input) => {
      try {
        normalizeStoreDomain(input);
        expect.unreachable();
      } catch (e: any) {
        expect(e.code).toBe('INVALID_STORE_DOMAIN');
        expect(e.status).toBe(422);
        expect(e.message).toContain('https://admin.shopify.com/store/');
      }
    },
  );
});

describe('the integration API', () => {
  let w: SyncWorld;
  let auth: { authorization: string };
  const post = (url: string, payload?: unknown) => w.t.app.inject({ method: 'POST', url, headers: auth, payload: (payload ?? {}) as object });
  const get = (url: string) => w.t.app.inject({ method: 'GET', url, headers: auth });

  beforeAll(async () => {
    w = await syncWorld({ shopify: { customers: 0 }, customers: [
      { id: 501, email: 'a@example.jp', verifiedEmail: true, numberOfOrders: 2, amountSpent: '6400' },
      { id: 502, email: 'b@example.jp', verifiedEmail: true },
      { id: 503, email: 'c@example.jp', verifiedEmail: false },
      { id: 504, email: null },
    ] });
    auth = { authorization: `Bearer ${w.apiToken}` };
    await w.addFriend('A@example.jp');
    await w.addFriend('b@example.jp');
    await w.addFriend('B@Example.jp ');
    await w.addFriend('c@example.jp');
  });
  afterAll(() => w.close());
  beforeEach(() => {
    w.h.shop.setShopStatus(null);
    w.h.shop.setScopes(['read_customers']);
    w.h.shop.clearFaults();
  });

  it('starts with status none', async () => {
    const res = await get(API);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'none', storeDomain: null, lastRun: null, nextRunAt: null });
  });

  it('rejects what Shopify rejects, with a code and words for the operator, and stores nothing', async () => {
    const c = w.h.shop.credentials();
    const cases: [unknown, string][] = [
      [{ storeDomain: 'shop.example.jp', accessToken: c.accessToken }, 'INVALID_STORE_DOMAIN'],
      [{ storeDomain: w.h.shop.domain, accessToken: 'shpat_00000000000000000000000000000000' }, 'INVALID_TOKEN'],
      [{ storeDomain: w.h.shop.domain, clientId: c.clientId, clientSecret: 'shpss_wrongwrongwrong' }, 'INVALID_TOKEN'],
      [{ storeDomain: 'no-such-store', accessToken: c.accessToken }, 'SHOP_NOT_FOUND'],
    ];
    for (const [body, code] of cases) {
      const res = await post(`${API}/credentials`, body);
      expect(res.statusCode, code).toBe(422);
      expect(res.json().error.code).toBe(code);
      expect(res.json().error.message).toMatch(/[ぁ-んァ-ン]/);
      expect(res.body).not.toContain(c.accessToken);
    }
    w.h.shop.setScopes(['read_products']);
    let res = await post(`${API}/credentials`, { storeDomain: w.h.shop.domain, accessToken: c.accessToken });
    expect(res.json().error).toMatchObject({ code: 'MISSING_SCOPE' });
    expect(res.json().error.message).toContain('read_customers');
    w.h.shop.setScopes(['read_customers']);
    for (const status of [402, 423] as const) {
      w.h.shop.setShopStatus(status);
      res = await post(`${API}/credentials`, { storeDomain: w.h.shop.domain, accessToken: c.accessToken });
      expect(res.json().error.code).toBe('SHOP_UNAVAILABLE');
    }
    w.h.shop.setShopStatus(null);
    res = await post(`${API}/credentials`, { storeDomain: w.h.shop.domain });
    expect(res.statusCode).toBe(400);
    expect((await get(API)).json().status).toBe('none');
  });

  it('発行 with an Admin API access token stores it encrypted, shows it nowhere, and fills the mirror for the preview', async () => {
    const token = w.h.shop.credentials().accessToken!;
    const res = await post(`${API}/credentials`, { storeDomain: `https://admin.shopify.com/store/${w.h.shop.domain.split('.')[0]}`, accessToken: token });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      status: 'issued',
      storeDomain: w.h.shop.domain,
      credentialKind: 'access_token',
      scopes: ['read_customers'],
      lastOrderIdSource: { source: 'rest' },
      shop: { myshopifyDomain: w.h.shop.domain },
    });
    expect(res.body).not.toContain(token);
    expect((await get(API)).body).not.toContain(token);

    // A dump of every table in the database: the token is nowhere in plaintext.
    const { rows: tables } = await w.t.ctx.db.pool.query(
      `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
    );
    let dump = '';
    for (const { t } of tables) dump += (await w.t.ctx.db.pool.query(`SELECT coalesce(string_agg(x::text, E'\\n'), '') AS d FROM ${t} x`)).rows[0].d;
    expect(dump.length).toBeGreaterThan(1000);
    expect(dump).toContain('v1:'); // the ciphertext is there
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(token.slice(6, 20));

    // The mirror-only run after 発行 (a worker would run it; here we run it in the foreground).
    const run = (await w.t.ctx.db.pool.query(`SELECT id FROM sync_runs WHERE tenant_id = $1 AND trigger = 'issue'`, [w.tenant.id])).rows[0];
    const mirrorRun = await w.execute(run.id);
    expect(mirrorRun.error).toBeNull();
    expect((await get(`${API}/preview`)).json()).toMatchObject({ customers: 4, verified: 2, matchable: 2, ambiguous: 1, friendsWithEmail: 4 });
    expect((await w.t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM shopify_links`)).rows[0].n).toBe(0);
  });

  it('連携 creates データ連携(shopify) with the 22 read-only fields in order, and doing it twice changes nothing', async () => {
    const res = await post(`${API}/link`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('linked');
    expect(body.category.name).toBe('データ連携(shopify)');
    expect(body.category.readOnly).toBe(true);
    expect(body.category.fields.map((f: any) => [f.name, f.type, f.readOnly])).toEqual(SHOPIFY_FIELDS.map((f) => [f.name, f.type, true]));
    const again = await post(`${API}/link`);
    expect(again.json().category).toEqual(body.category);
    const { rows } = await w.t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM custom_fields WHERE tenant_id = $1`, [w.tenant.id]);
    expect(rows[0].n).toBe(22);
    // Without a public https PUBLIC_URL, the status says why near-real-time updates are off.
    expect((await get(API)).json().webhooks).toMatchObject({ state: 'needs_public_url' });
    expect((await get(API)).json().nextRunAt).not.toBeNull();
  });

  it('the first run after 連携 writes values; Shopify fields refuse edits with 403 READ_ONLY_FIELD', async () => {
    const { rows } = await w.t.ctx.db.pool.query(`SELECT id FROM sync_runs WHERE tenant_id = $1 AND status = 'queued'`, [w.tenant.id]);
    for (const r of rows) await w.execute(r.id);
    const sync = await post(`${API}/sync`, { mode: 'full' });
    expect(sync.statusCode).toBe(202);
    const again = await post(`${API}/sync`, { mode: 'incremental' });
    expect(again.json()).toEqual({ runId: sync.json().runId, joined: true });
    const run = await w.execute(sync.json().runId);
    expect(run.status).toBe('succeeded');
    const detail = await get(`${API}/runs/${run.id}`);
    expect(detail.json()).toMatchObject({ id: run.id, status: 'succeeded', mode: 'full', error: null });
    expect(Object.keys(detail.json().counts).sort()).toEqual(['deleted', 'fetched', 'linked', 'matched', 'unchanged', 'unmatched', 'unverified', 'updated']);
    expect((await get(`${API}/runs`)).json().items.length).toBeGreaterThanOrEqual(2);

    const friends = (await w.t.app.inject({ method: 'GET', url: '/api/v1/friends?email=a@example.jp', headers: auth })).json();
    const friend = (await w.t.app.inject({ method: 'GET', url: `/api/v1/friends/${friends.items[0].id}`, headers: auth })).json();
    const avg = friend.customData.find((d: any) => d.name === '平均購入金額(shopify)');
    expect(avg).toMatchObject({ type: 'number', value: 3200, readOnly: true });
    const put = await w.t.app.inject({ method: 'PUT', url: `/api/v1/friends/${friend.id}/custom-data/${avg.fieldId}`, headers: auth, payload: { value: 1 } });
    expect(put.statusCode).toBe(403);
    expect(put.json().error.code).toBe('READ_ONLY_FIELD');
  });

  it('連携を解除 stops syncing and keeps the data; 連携 again reuses the same category and fields', async () => {
    const before = (await w.t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM custom_values WHERE tenant_id = $1`, [w.tenant.id])).rows[0].n;
    expect(before).toBeGreaterThan(0);
    const cat = (await get(API)).json().category;
    expect((await post(`${API}/unlink`)).json()).toEqual({ status: 'unlinked' });
    expect((await get(API)).json()).toMatchObject({ status: 'unlinked', nextRunAt: null });
    expect((await post(`${API}/sync`)).statusCode).toBe(409);
    const after = (await w.t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM custom_values WHERE tenant_id = $1`, [w.tenant.id])).rows[0].n;
    expect(after).toBe(before);
    expect((await post(`${API}/link`)).json().category.id).toBe(cat.id);
  });

  it('without the enterprise plan and the Shopify option every integration endpoint answers 403 PLAN_REQUIRED', async () => {
    const routes = w.t.app.routeCatalogue.filter((r) => r.url.startsWith(API));
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const plan of [{ plan: 'standard' as const }, { plan: 'enterprise' as const, shopifyOption: false }]) {
      await updateTenant(w.t.ctx, w.tenant.id, plan);
      for (const r of routes) {
        const res = await w.t.app.inject({ method: r.method as 'GET', url: r.url.replace(':id', '00000000-0000-0000-0000-000000000000'), headers: auth, payload: r.method === 'GET' ? undefined : {} });
        expect(res.statusCode, `${r.method} ${r.url}`).toBe(403);
        expect(res.json().error.code).toBe('PLAN_REQUIRED');
      }
    }
    // A downgrade while linked stops the runs and says why.
    const { runId } = await requestRun(w.t.ctx, w.tenant.id, { mode: 'incremental', trigger: 'manual', enqueue: false });
    const run = await executeRun(w.t.ctx, runId);
    expect(run).toMatchObject({ status: 'failed', error: { code: 'PLAN_REQUIRED' } });
    const { rows } = await w.t.ctx.db.pool.query(`SELECT paused_code, paused_message FROM shopify_integrations WHERE tenant_id = $1`, [w.tenant.id]);
    expect(rows[0].paused_code).toBe('PLAN_REQUIRED');
    await updateTenant(w.t.ctx, w.tenant.id, { plan: 'enterprise', shopifyOption: true });
    expect((await get(API)).statusCode).toBe(200);
  });
});

describe('発行 with a Dev Dashboard app and a public URL', () => {
  let w: SyncWorld;
  beforeAll(async () => {
    w = await syncWorld({ env: { PUBLIC_URL: 'https://crm.example.jp' }, customers: [{ id: 9, email: 'x@example.jp', verifiedEmail: true }] });
  });
  afterAll(() => w.close());

  it('gets tokens by the client-credentials grant, subscribes the webhooks at 連携 and removes them at 連携を解除', async () => {
    const auth = { authorization: `Bearer ${w.apiToken}` };
    const c = w.h.shop.credentials();
    const res = await w.t.app.inject({ method: 'POST', url: `${API}/credentials`, headers: auth, payload: { storeDomain: w.h.shop.domain, clientId: c.clientId, clientSecret: c.clientSecret } });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ credentialKind: 'client_credentials', status: 'issued' });
    expect(res.body).not.toContain(c.clientSecret);
    await w.t.app.inject({ method: 'POST', url: `${API}/link`, headers: auth });
    const status = (await w.t.app.inject({ method: 'GET', url: API, headers: auth })).json();
    expect(status.webhooks).toMatchObject({ state: 'subscribed', callbackUrl: `https://crm.example.jp/webhooks/shopify/${w.tenant.id}` });
    const subs = w.h.shop.webhookSubscriptions();
    expect(subs.map((s: any) => s.topic).sort()).toEqual(
      ['CUSTOMERS_CREATE', 'CUSTOMERS_DELETE', 'CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE', 'CUSTOMERS_MARKETING_CONSENT_UPDATE', 'CUSTOMERS_PURCHASING_SUMMARY', 'CUSTOMERS_UPDATE'],
    );
    expect(subs.every((s: any) => (s.uri ?? s.callbackUrl) === status.webhooks.callbackUrl)).toBe(true);
    await w.t.app.inject({ method: 'POST', url: `${API}/unlink`, headers: auth });
    expect(w.h.shop.webhookSubscriptions()).toEqual([]);
  });
});
