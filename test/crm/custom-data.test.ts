// Typed custom data: values stored in the column of their type, wrong types refused with a code, integration (read-only)
// fields refused with 403 READ_ONLY_FIELD, ensureCategory idempotent, set-based writes that only touch changed values.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCategory, fieldByKey, fieldByName, writeCustomValues, type FieldSpec } from '../../src/crm/custom-data.js';
import { requireShopifyPlan } from '../../src/crm/tenants.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeFriend, makeTenant, type TestTenant } from './fixtures.js';

// The integration's 22 fields as docs/shopify-fields.md lists them (src/shopify/fields.ts owns the real list; this checks the helper's shape).
const shopifyFields: FieldSpec[] = [
  ['customer_id', '顧客ID(shopify)', 'text'],
  ['email', 'メールアドレス(shopify)', 'text'],
  ['first_name', '名(shopify)', 'text'],
  ['last_name', '姓(shopify)', 'text'],
  ['state', '状態(shopify)', 'text'],
  ['orders_count', '購入回数(shopify)', 'number'],
  ['average_order_amount', '平均購入金額(shopify)', 'number'],
  ['total_spent', '合計購入金額(shopify)', 'number'],
  ['last_order_id', '最終注文ID(shopify)', 'text'],
  ['tags', 'タグ(shopify)', 'text'],
  ['phone', '電話番号(shopify)', 'text'],
  ['company', '会社名(shopify)', 'text'],
  ['zip', '郵便番号(shopify)', 'text'],
  ['province', '都道府県(shopify)', 'text'],
  ['city', '市区町村(shopify)', 'text'],
  ['address1', '住所1(shopify)', 'text'],
  ['address2', '住所2(shopify)', 'text'],
  ['email_marketing', 'メールマーケティングの同意(shopify)', 'text'],
  ['sms_marketing', 'SMSマーケティングの同意(shopify)', 'text'],
  ['note', 'メモ(shopify)', 'text'],
  ['created_at', '作成日(shopify)', 'date'],
  ['updated_at', '更新日(shopify)', 'date'],
].map(([key, name, type]) => ({ key: key!, name: name!, type: type as FieldSpec['type'] }));

describe('custom data', () => {
  let t: TestApp;
  let a: TestTenant;
  let friendId: number;
  let ids: { rank: string; points: string; birthday: string };

  beforeAll(async () => {
    t = await createTestApp();
    a = await makeTenant(t, { plan: 'enterprise', options: ['shopify'] });
    friendId = await makeFriend(t, a.id, { displayName: '山田 花子' });
    const cat = await t.app.inject({ method: 'POST', url: '/api/v1/custom-data/categories', headers: a.auth, payload: { name: '会員情報' } });
    expect(cat.statusCode).toBe(201);
    const catId = cat.json().id;
    const add = async (name: string, type: string) => {
      const r = await t.app.inject({ method: 'POST', url: `/api/v1/custom-data/categories/${catId}/fields`, headers: a.auth, payload: { name, type } });
      expect(r.statusCode).toBe(201);
      return r.json().id as string;
    };
    ids = { rank: await add('会員ランク', 'text'), points: await add('ポイント', 'number'), birthday: await add('誕生日', 'date') };
  });
  afterAll(() => t.close());

  const put = (fieldId: string, value: unknown, fid: number | string = friendId) =>
    t.app.inject({ method: 'PUT', url: `/api/v1/friends/${fid}/custom-data/${fieldId}`, headers: a.auth, payload: { value } });

  it('stores text, number and date values in their typed columns and shows them in the friend detail', async () => {
    expect((await put(ids.rank, 'ゴールド')).statusCode).toBe(200);
    expect((await put(ids.points, 3500.5)).statusCode).toBe(200);
    expect((await put(ids.birthday, '1990-02-28')).statusCode).toBe(200);
    const { rows } = await t.ctx.db.pool.query(
      `SELECT field_id, value_text, value_number::text AS n, value_date FROM custom_values WHERE friend_id = $1 ORDER BY field_id`,
      [friendId],
    );
    expect(rows).toEqual([
      { field_id: Number(ids.rank), value_text: 'ゴールド', n: null, value_date: null },
      { field_id: Number(ids.points), value_text: null, n: '3500.5', value_date: null },
      { field_id: Number(ids.birthday), value_text: null, n: null, value_date: '1990-02-28' },
    ]);
    const detail = await t.app.inject({ method: 'GET', url: `/api/v1/friends/${friendId}`, headers: a.auth });
    expect(detail.statusCode).toBe(200);
    expect(detail.json()).toMatchObject({ id: String(friendId), displayName: '山田 花子', email: null, status: 'active' });
    expect(detail.json().customData).toEqual([
      expect.objectContaining({ fieldId: ids.rank, category: '会員情報', name: '会員ランク', type: 'text', value: 'ゴールド', readOnly: false }),
      expect.objectContaining({ fieldId: ids.points, name: 'ポイント', type: 'number', value: 3500.5, readOnly: false }),
      expect.objectContaining({ fieldId: ids.birthday, name: '誕生日', type: 'date', value: '1990-02-28', readOnly: false }),
    ]);
  });

  it('compares numbers as numbers (3000 ≤ 10000 although "10000" < "3000" as text)', async () => {
    const other = await makeFriend(t, a.id);
    expect((await put(ids.points, '10000', other)).statusCode).toBe(200); // numeric strings from forms are accepted
    const { rows } = await t.ctx.db.pool.query(
      `SELECT friend_id FROM custom_values WHERE field_id = $1 AND value_number >= 3000 ORDER BY friend_id`,
      [ids.points],
    );
    expect(rows.map((r) => r.friend_id)).toEqual([friendId, other].sort((x, y) => x - y));
  });

  it('refuses a value of the wrong type with 400 INVALID_VALUE and keeps the stored one', async () => {
    for (const [field, value] of [
      [ids.points, 'たくさん'],
      [ids.points, true],
      [ids.points, { n: 1 }],
      [ids.birthday, '2026-02-30'],
      [ids.birthday, '2026/01/01'],
      [ids.birthday, 20260101],
      [ids.rank, 42],
    ] as const) {
      const res = await put(field, value);
      expect(res.statusCode, `${field} ${JSON.stringify(value)}`).toBe(400);
      expect(res.json().error.code).toBe('INVALID_VALUE');
    }
    const detail = (await t.app.inject({ method: 'GET', url: `/api/v1/friends/${friendId}`, headers: a.auth })).json();
    expect(detail.customData.map((d: { value: unknown }) => d.value)).toEqual(['ゴールド', 3500.5, '1990-02-28']);
  });

  it('null clears a value', async () => {
    const other = await makeFriend(t, a.id);
    await put(ids.rank, 'シルバー', other);
    expect((await put(ids.rank, null, other)).json()).toMatchObject({ value: null });
    const { rows } = await t.ctx.db.pool.query(`SELECT 1 FROM custom_values WHERE friend_id = $1`, [other]);
    expect(rows).toHaveLength(0);
  });

  it('unknown friends and fields are 404; a body without "value" is 400', async () => {
    expect((await put(ids.rank, 'x', 999999)).statusCode).toBe(404);
    expect((await put('999999', 'x')).statusCode).toBe(404);
    expect((await put('abc', 'x')).statusCode).toBe(404);
    const bad = await t.app.inject({ method: 'PUT', url: `/api/v1/friends/${friendId}/custom-data/${ids.rank}`, headers: a.auth, payload: { valeu: 1 } });
    expect(bad.statusCode).toBe(400);
  });

  it('ensureCategory creates the integration category and its 22 read-only fields in order; twice changes nothing', async () => {
    const spec = { key: 'shopify', name: 'データ連携(shopify)', readOnly: true, fields: shopifyFields };
    const first = await ensureCategory(t.ctx.db.pool, a.id, spec);
    expect(first.fields.map((f) => f.name)).toEqual(shopifyFields.map((f) => f.name));
    expect(first.fields.every((f) => f.readOnly)).toBe(true);
    const snapshot = async () =>
      (await t.ctx.db.pool.query(`SELECT * FROM custom_fields WHERE category_id = $1 ORDER BY id`, [first.id])).rows;
    const before = await snapshot();
    const second = await ensureCategory(t.ctx.db.pool, a.id, spec);
    expect(second).toEqual(first);
    expect(await snapshot()).toEqual(before);

    // found by key even after a rename (done here behind the API's back, as a migration might)
    await t.ctx.db.pool.query(`UPDATE custom_fields SET name = '顧客番号(shopify)' WHERE category_id = $1 AND key = 'customer_id'`, [first.id]);
    const third = await ensureCategory(t.ctx.db.pool, a.id, spec);
    expect(third.fields).toHaveLength(22);
    expect((await fieldByKey(t.ctx.db.pool, a.id, 'shopify', 'customer_id'))!.name).toBe('顧客番号(shopify)');
    expect((await fieldByName(t.ctx.db.pool, a.id, '合計購入金額(shopify)'))!).toMatchObject({ key: 'total_spent', type: 'number', readOnly: true });

    const list = (await t.app.inject({ method: 'GET', url: '/api/v1/custom-data', headers: a.auth })).json();
    const shop = list.categories.find((c: { name: string }) => c.name === 'データ連携(shopify)');
    expect(shop).toMatchObject({ readOnly: true });
    expect(shop.fields).toHaveLength(22);
    expect(shop.fields[5]).toMatchObject({ name: '購入回数(shopify)', type: 'number', readOnly: true });
  });

  it('read-only fields and categories refuse edits with 403 READ_ONLY_FIELD, while the integration can write', async () => {
    const total = (await fieldByKey(t.ctx.db.pool, a.id, 'shopify', 'total_spent'))!;
    const res = await put(String(total.id), 5000);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('READ_ONLY_FIELD');

    const shop = (await t.ctx.db.pool.query(`SELECT category_id FROM custom_fields WHERE id = $1`, [total.id])).rows[0].category_id;
    for (const req of [
      { method: 'PATCH' as const, url: `/api/v1/custom-data/fields/${total.id}`, payload: { name: '改名' } },
      { method: 'PATCH' as const, url: `/api/v1/custom-data/categories/${shop}`, payload: { name: '改名' } },
      { method: 'POST' as const, url: `/api/v1/custom-data/categories/${shop}/fields`, payload: { name: '追加', type: 'text' } },
    ]) {
      const r = await t.app.inject({ ...req, headers: a.auth });
      expect(r.statusCode, req.url).toBe(403);
      expect(r.json().error.code).toBe('READ_ONLY_FIELD');
    }

    expect(await writeCustomValues(t.ctx.db.pool, a.id, [{ friendId, fieldId: total.id, value: 12800 }])).toBe(1);
    const detail = (await t.app.inject({ method: 'GET', url: `/api/v1/friends/${friendId}`, headers: a.auth })).json();
    expect(detail.customData.find((d: { fieldId: string }) => d.fieldId === String(total.id))).toMatchObject({ value: 12800, readOnly: true });
  });

  it('writeCustomValues writes in bulk and counts only values that changed', async () => {
    const orders = (await fieldByKey(t.ctx.db.pool, a.id, 'shopify', 'orders_count'))!;
    const created = (await fieldByKey(t.ctx.db.pool, a.id, 'shopify', 'created_at'))!;
    const tags = (await fieldByKey(t.ctx.db.pool, a.id, 'shopify', 'tags'))!;
    const friends: number[] = [];
    for (let i = 0; i < 300; i++) friends.push(await makeFriend(t, a.id));
    const rows = friends.flatMap((f, i) => [
      { friendId: f, fieldId: orders.id, value: i },
      { friendId: f, fieldId: created.id, value: '2025-12-31' },
      { friendId: f, fieldId: tags.id, value: i % 2 ? 'VIP,リピーター' : 'new' },
    ]);
    expect(await writeCustomValues(t.ctx.db.pool, a.id, rows)).toBe(900);
    expect(await writeCustomValues(t.ctx.db.pool, a.id, rows)).toBe(0);
    const xmin = async () => (await t.ctx.db.pool.query(`SELECT xmin::text AS x FROM custom_values WHERE field_id = $1 AND friend_id = $2`, [orders.id, friends[0]])).rows[0].x;
    const before = await xmin();
    // one changed, one equal number written differently (numeric equality), one removed
    const changed = await writeCustomValues(t.ctx.db.pool, a.id, [
      { friendId: friends[1]!, fieldId: orders.id, value: 99 },
      { friendId: friends[0]!, fieldId: orders.id, value: '0.00' },
      { friendId: friends[2]!, fieldId: tags.id, value: null },
    ]);
    expect(changed).toBe(2);
    expect(await xmin()).toBe(before); // the unchanged row was not rewritten
  });

  it('the database refuses a value that joins one tenant\'s field to another tenant\'s friend, or a value of the wrong column', async () => {
    const b = await makeTenant(t);
    const bFriend = await makeFriend(t, b.id);
    await expect(writeCustomValues(t.ctx.db.pool, a.id, [{ friendId: bFriend, fieldId: Number(ids.rank), value: 'x' }])).rejects.toThrow(/foreign key/);
    await expect(writeCustomValues(t.ctx.db.pool, b.id, [{ friendId: bFriend, fieldId: Number(ids.rank), value: 'x' }])).rejects.toThrow(/No field/);
    await expect(
      t.ctx.db.pool.query(
        `INSERT INTO custom_values (tenant_id, field_id, friend_id, field_type, value_text, updated_at) VALUES ($1, $2, $3, 'number', '1', now())`,
        [a.id, ids.points, friendId],
      ),
    ).rejects.toThrow();
  });

  it('requireShopifyPlan needs the enterprise plan and the shopify option', () => {
    expect(() => requireShopifyPlan({ plan: 'enterprise', options: ['shopify'] })).not.toThrow();
    for (const t of [{ plan: 'standard' as const, options: ['shopify' as const] }, { plan: 'enterprise' as const, options: [] }]) {
      expect(() => requireShopifyPlan(t)).toThrow(expect.objectContaining({ code: 'PLAN_REQUIRED', status: 403 }));
    }
  });
});

describe('friend list', () => {
  let t: TestApp;
  let a: TestTenant;
  beforeAll(async () => {
    t = await createTestApp();
    a = await makeTenant(t);
    for (let i = 1; i <= 120; i++) await makeFriend(t, a.id, { displayName: i % 40 === 0 ? `検索 太郎${i}` : `友だち${i}`, email: i === 7 ? ' Seven@Example.JP' : null });
  });
  afterAll(() => t.close());

  const get = (qs: string) => t.app.inject({ method: 'GET', url: `/api/v1/friends${qs}`, headers: a.auth });

  it('pages through every friend, 50 at a time, with the total', async () => {
    const seen = new Set<string>();
    for (const page of [1, 2, 3]) {
      const body = (await get(`?page=${page}`)).json();
      expect(body.total).toBe(120);
      expect(body.items).toHaveLength(page < 3 ? 50 : 20);
      for (const f of body.items) seen.add(f.id);
    }
    expect(seen.size).toBe(120);
    expect((await get('?email=&q=&page=')).json()).toMatchObject({ total: 120, page: 1 });
    expect((await get('?page=abc')).statusCode).toBe(400);
  });

  it('searches by part of the name or email, and by exact email (trimmed, case-insensitive)', async () => {
    const byName = (await get(`?q=${encodeURIComponent('検索')}`)).json();
    expect(byName.total).toBe(3);
    expect(byName.items.every((f: { displayName: string }) => f.displayName.startsWith('検索'))).toBe(true);
    expect((await get('?q=seven@')).json().total).toBe(1);
    const exact = (await get('?email=seven@example.jp')).json();
    expect(exact.items).toEqual([expect.objectContaining({ email: ' Seven@Example.JP', status: 'active', lineUserId: expect.stringMatching(/^U[0-9a-f]{32}$/) })]);
    expect((await get('?q=100%25')).json().total).toBe(0); // % is literal, not a wildcard
  });
});
