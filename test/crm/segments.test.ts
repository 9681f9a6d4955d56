// Segments through the API on a real PostgreSQL: every operator on each field type with its boundaries, friends without a
// value, all vs any, validation errors with their codes, counts (with blocked friends and dataAsOf), and the plan PostgreSQL
// picks for "平均購入金額(shopify) ≥ 3000" — an index scan of the partial index, not a scan of every value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCategory, writeCustomValues, type ValueWrite } from '../../src/crm/custom-data.js';
import { compileSegment, requireSegment, segmentFriendIds } from '../../src/delivery/segments.js';
import { SHOPIFY_FIELDS } from '../../src/shopify/fields.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeFriend, makeTenant, type TestTenant } from './fixtures.js';

const LONG = 'x'.repeat(250);

describe('segments', () => {
  let t: TestApp;
  let a: TestTenant;
  let b: TestTenant;
  const field = { num: '', text: '', date: '', bText: '' };
  /** f1…f7 carry designed values; f6 has none of the three; f7 is blocked; f8 has no custom data at all. */
  const f: Record<string, number> = {};

  const api = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, who: TestTenant = a) =>
    t.app.inject({ method, url, headers: who.auth, ...(payload === undefined ? {} : { payload: payload as object }) });

  async function create(body: unknown, who: TestTenant = a) {
    const res = await api('POST', '/api/v1/segments', body, who);
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  }

  /** The friends (by fixture name) a segment of these conditions selects. */
  async function members(conditions: unknown[], match: 'all' | 'any' = 'all'): Promise<string[]> {
    const id = await create({ name: 'テスト', match, conditions });
    const ids = await segmentFriendIds(t.ctx, await requireSegment(t.ctx.db.pool, a.id, id));
    const byId = new Map(Object.entries(f).map(([k, v]) => [v, k]));
    return ids.map((i) => byId.get(i) ?? `other:${i}`).sort();
  }

  async function errorOf(body: unknown, who: TestTenant = a) {
    const res = await api('POST', '/api/v1/segments', body, who);
    expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
    expect(res.statusCode, res.body).toBeLessThan(500);
    return { status: res.statusCode, ...res.json().error };
  }

  beforeAll(async () => {
    t = await createTestApp();
    a = await makeTenant(t);
    b = await makeTenant(t);
    const cat = (await api('POST', '/api/v1/custom-data/categories', { name: '会員情報' })).json();
    for (const [k, type] of [['num', 'number'], ['text', 'text'], ['date', 'date']] as const) {
      const res = await api('POST', `/api/v1/custom-data/categories/${cat.id}/fields`, { name: `項目${k}`, type });
      field[k] = res.json().id;
    }
    const bCat = (await api('POST', '/api/v1/custom-data/categories', { name: 'B' }, b)).json();
    field.bText = (await api('POST', `/api/v1/custom-data/categories/${bCat.id}/fields`, { name: 'B項目', type: 'text' }, b)).json().id;

    for (let i = 1; i <= 8; i++) f[`f${i}`] = await makeFriend(t, a.id, { status: i === 7 ? 'blocked' : 'active' });
    const rows: [string, number | null, string | null, string | null][] = [
      ['f1', 2999.99, 'Gold', '2026-11-28'], // today in Tokyo (the clock: 2026-11-28T03:00Z = 12:00 JST)
      ['f2', 3000, 'gold', '2026-11-21'], // 7 days ago
      ['f3', 3000.01, 'Silver 100%', '2026-11-20'], // 8 days ago
      ['f4', -5, LONG, '2026-11-29'], // tomorrow
      ['f5', 0, LONG + 'y', '2020-01-01'], // shares its first 200 characters with f4's
      ['f6', null, null, null],
      ['f7', 5000, 'GOLD', '2026-11-27'],
    ];
    const writes: ValueWrite[] = [];
    for (const [name, n, s, d] of rows) {
      writes.push({ friendId: f[name]!, fieldId: Number(field.num), value: n });
      writes.push({ friendId: f[name]!, fieldId: Number(field.text), value: s });
      writes.push({ friendId: f[name]!, fieldId: Number(field.date), value: d });
    }
    await writeCustomValues(t.ctx.db.pool, a.id, writes, { now: new Date('2026-11-27T20:00:00Z') });
    // B's friends have values too, in a field of B's: never part of A's segments
    const bf = await makeFriend(t, b.id);
    await writeCustomValues(t.ctx.db.pool, b.id, [{ friendId: bf, fieldId: Number(field.bText), value: 'Gold' }]);
  });
  afterAll(() => t.close());

  describe('number', () => {
    const c = (op: string, value?: unknown) => [{ fieldId: field.num, op, value }];
    it('eq, ne: exact numbers; ne only among friends with a value', async () => {
      expect(await members(c('eq', 3000))).toEqual(['f2']);
      expect(await members(c('eq', '3000'))).toEqual(['f2']); // a numeric string, as forms send
      expect(await members(c('eq', 2999.99))).toEqual(['f1']);
      expect(await members(c('ne', 3000))).toEqual(['f1', 'f3', 'f4', 'f5', 'f7']);
    });
    it('gt, gte, lt, lte at the boundary', async () => {
      expect(await members(c('gt', 3000))).toEqual(['f3', 'f7']);
      expect(await members(c('gte', 3000))).toEqual(['f2', 'f3', 'f7']);
      expect(await members(c('lt', 3000))).toEqual(['f1', 'f4', 'f5']);
      expect(await members(c('lte', 3000))).toEqual(['f1', 'f2', 'f4', 'f5']);
      expect(await members(c('gte', -5))).toEqual(['f1', 'f2', 'f3', 'f4', 'f5', 'f7']);
      expect(await members(c('lt', 0))).toEqual(['f4']);
    });
    it('exists and not_exists', async () => {
      expect(await members(c('exists'))).toEqual(['f1', 'f2', 'f3', 'f4', 'f5', 'f7']);
      expect(await members(c('not_exists'))).toEqual(['f6', 'f8']);
      expect(await members(c('exists', null))).toEqual(['f1', 'f2', 'f3', 'f4', 'f5', 'f7']);
    });
  });

  describe('text', () => {
    const c = (op: string, value?: unknown) => [{ fieldId: field.text, op, value }];
    it('eq is exact and case-sensitive; ne is every other value', async () => {
      expect(await members(c('eq', 'Gold'))).toEqual(['f1']);
      expect(await members(c('eq', 'gold'))).toEqual(['f2']);
      expect(await members(c('eq', 'Gold '))).toEqual([]);
      expect(await members(c('ne', 'Gold'))).toEqual(['f2', 'f3', 'f4', 'f5', 'f7']);
    });
    it('eq on values longer than the 200-character index prefix compares the whole value', async () => {
      expect(await members(c('eq', LONG))).toEqual(['f4']);
      expect(await members(c('eq', LONG + 'y'))).toEqual(['f5']);
      expect(await members(c('eq', 'x'.repeat(200)))).toEqual([]); // equal to both prefixes, to neither value
      expect(await members(c('ne', LONG))).toEqual(['f1', 'f2', 'f3', 'f5', 'f7']);
    });
    it('contains ignores letter case and takes % and _ literally', async () => {
      expect(await members(c('contains', 'gold'))).toEqual(['f1', 'f2', 'f7']);
      expect(await members(c('contains', 'OL'))).toEqual(['f1', 'f2', 'f7']);
      expect(await members(c('contains', '100%'))).toEqual(['f3']);
      expect(await members(c('contains', '%'))).toEqual(['f3']);
      expect(await members(c('contains', '_'))).toEqual([]);
      expect(await members(c('contains', 'xy'))).toEqual(['f5']);
    });
    it('exists and not_exists', async () => {
      expect(await members(c('exists'))).toEqual(['f1', 'f2', 'f3', 'f4', 'f5', 'f7']);
      expect(await members(c('not_exists'))).toEqual(['f6', 'f8']);
    });
  });

  describe('date', () => {
    const c = (op: string, value?: unknown) => [{ fieldId: field.date, op, value }];
    it('eq, ne, before, after are strict calendar comparisons', async () => {
      expect(await members(c('eq', '2026-11-21'))).toEqual(['f2']);
      expect(await members(c('ne', '2026-11-21'))).toEqual(['f1', 'f3', 'f4', 'f5', 'f7']);
      expect(await members(c('before', '2026-11-21'))).toEqual(['f3', 'f5']);
      expect(await members(c('after', '2026-11-21'))).toEqual(['f1', 'f4', 'f7']);
    });
    it('within_days N: from N days before today (Asia/Tokyo) to today, both included, never the future', async () => {
      expect(await members(c('within_days', 7))).toEqual(['f1', 'f2', 'f7']);
      expect(await members(c('within_days', 8))).toEqual(['f1', 'f2', 'f3', 'f7']);
      expect(await members(c('within_days', 0))).toEqual(['f1']);
      expect(await members(c('within_days', '1'))).toEqual(['f1', 'f7']);
    });
    it('within_days uses the date in Tokyo, not UTC: at 00:30 JST the day has already changed', async () => {
      const id = await create({ name: '今日', match: 'all', conditions: c('within_days', 0) });
      const seg = await requireSegment(t.ctx.db.pool, a.id, id);
      const was = t.ctx.clock.now();
      try {
        t.ctx.clock.set('2026-11-28T15:30:00Z'); // 2026-11-29 00:30 in Tokyo, still the 28th in UTC
        expect(await segmentFriendIds(t.ctx, seg)).toEqual([f.f4]);
        t.ctx.clock.set('2026-11-28T14:59:59Z'); // 23:59:59 on the 28th in Tokyo
        expect(await segmentFriendIds(t.ctx, seg)).toEqual([f.f1]);
      } finally {
        t.ctx.clock.set(was);
      }
    });
    it('exists and not_exists', async () => {
      expect(await members(c('not_exists'))).toEqual(['f6', 'f8']);
    });
  });

  describe('all and any', () => {
    const gte3000 = () => ({ fieldId: field.num, op: 'gte', value: 3000 });
    const gold = () => ({ fieldId: field.text, op: 'contains', value: 'gold' });
    it('all: every condition holds; any: at least one does', async () => {
      expect(await members([gte3000(), gold()], 'all')).toEqual(['f2', 'f7']);
      expect(await members([gte3000(), gold()], 'any')).toEqual(['f1', 'f2', 'f3', 'f7']);
    });
    it('not_exists combines: with values (all), alone (all), and in a union (any)', async () => {
      const noDate = { fieldId: field.date, op: 'not_exists' };
      const noNum = { fieldId: field.num, op: 'not_exists' };
      expect(await members([{ fieldId: field.text, op: 'exists' }, noDate], 'all')).toEqual([]);
      expect(await members([noNum, noDate], 'all')).toEqual(['f6', 'f8']);
      expect(await members([{ fieldId: field.num, op: 'eq', value: 3000 }, noDate], 'any')).toEqual(['f2', 'f6', 'f8']);
      expect(await members([gte3000(), { fieldId: field.date, op: 'within_days', value: 7 }, { fieldId: field.text, op: 'ne', value: 'GOLD' }], 'all')).toEqual(['f2']);
    });
    it('the same field twice: a range', async () => {
      expect(await members([{ fieldId: field.num, op: 'gt', value: 0 }, { fieldId: field.num, op: 'lt', value: 3000.01 }], 'all')).toEqual(['f1', 'f2']);
      expect(await members([{ fieldId: field.num, op: 'lt', value: 0 }, { fieldId: field.num, op: 'gt', value: 3000 }], 'any')).toEqual(['f3', 'f4', 'f7']);
    });
    it('a single condition under any is the same as under all', async () => {
      expect(await members([{ fieldId: field.num, op: 'not_exists' }], 'any')).toEqual(['f6', 'f8']);
    });
  });

  describe('count', () => {
    it('count includes blocked friends, activeCount does not; dataAsOf is when the fields were last written', async () => {
      const id = await create({ name: '3000円以上', match: 'all', conditions: [{ fieldId: field.num, op: 'gte', value: 3000 }] });
      const res = await api('GET', `/api/v1/segments/${id}/count`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ segmentId: id, name: '3000円以上', count: 3, activeCount: 2, dataAsOf: '2026-11-27T20:00:00.000Z' });

      // a later write to a field the segment reads moves dataAsOf; a write to another field does not
      await writeCustomValues(t.ctx.db.pool, a.id, [{ friendId: f.f8!, fieldId: Number(field.date), value: '2000-01-01' }], {
        now: new Date('2026-11-28T01:00:00Z'),
      });
      expect((await api('GET', `/api/v1/segments/${id}/count`)).json().dataAsOf).toBe('2026-11-27T20:00:00.000Z');
      await writeCustomValues(t.ctx.db.pool, a.id, [{ friendId: f.f8!, fieldId: Number(field.num), value: 1 }], { now: new Date('2026-11-28T02:00:00Z') });
      expect((await api('GET', `/api/v1/segments/${id}/count`)).json()).toMatchObject({ count: 3, activeCount: 2, dataAsOf: '2026-11-28T02:00:00.000Z' });
      await writeCustomValues(t.ctx.db.pool, a.id, [{ friendId: f.f8!, fieldId: Number(field.num), value: null }]);
    });

    it('fields without any value: count 0 and dataAsOf is the time of counting', async () => {
      const cat = (await api('POST', '/api/v1/custom-data/categories', { name: '空' })).json();
      const empty = (await api('POST', `/api/v1/custom-data/categories/${cat.id}/fields`, { name: '空の項目', type: 'number' })).json();
      const id = await create({ name: '空', match: 'any', conditions: [{ fieldId: empty.id, op: 'gt', value: 1 }] });
      expect((await api('GET', `/api/v1/segments/${id}/count`)).json()).toMatchObject({ count: 0, activeCount: 0, dataAsOf: t.ctx.clock.now().toISOString() });
    });

    it('not_exists counts friends with no custom data at all, blocked ones apart', async () => {
      const id = await create({ name: 'なし', match: 'all', conditions: [{ fieldId: field.text, op: 'not_exists' }] });
      expect((await api('GET', `/api/v1/segments/${id}/count`)).json()).toMatchObject({ count: 2, activeCount: 2 });
    });
  });

  describe('the Shopify field 平均購入金額(shopify) ≥ 3000', () => {
    it('is counted through the partial index custom_values_number (an index scan, not every value)', async () => {
      const tenant = await makeTenant(t);
      const cat = await ensureCategory(t.ctx.db.pool, tenant.id, { key: 'shopify', name: 'データ連携(shopify)', readOnly: true, fields: [...SHOPIFY_FIELDS] });
      const avg = cat.fields.find((x) => x.name === '平均購入金額(shopify)')!;
      const orders = cat.fields.find((x) => x.name === '購入回数(shopify)')!;
      const state = cat.fields.find((x) => x.name === '状態(shopify)')!;
      const { rows } = await t.ctx.db.pool.query(
        `INSERT INTO friends (tenant_id, line_user_id, status)
         SELECT $1, 'U' || md5('shopify-' || g), CASE WHEN g % 10 = 0 THEN 'blocked' ELSE 'active' END FROM generate_series(1, 4000) g
         RETURNING id`,
        [tenant.id],
      );
      const ids: number[] = rows.map((r) => r.id).sort((x, y) => x - y);
      const writes: ValueWrite[] = [];
      ids.forEach((id, i) => {
        // every 4th customer has no orders (no average); the others 100 … 9,900 yen
        if (i % 4 !== 3) writes.push({ friendId: id, fieldId: avg.id, value: (i % 100) * 100 });
        writes.push({ friendId: id, fieldId: orders.id, value: i % 4 === 3 ? 0 : 1 + (i % 7) });
        writes.push({ friendId: id, fieldId: state.id, value: '有効' });
      });
      await writeCustomValues(t.ctx.db.pool, tenant.id, writes, { now: new Date('2026-11-28T00:30:00Z') });
      const expected = ids.filter((_, i) => i % 4 !== 3 && (i % 100) * 100 >= 3000);
      const expectedActive = expected.filter((id) => ids.indexOf(id) % 10 !== 9);

      const id = (
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/segments',
          headers: tenant.auth,
          payload: { name: '平均購入金額3000円以上', match: 'all', conditions: [{ fieldId: String(avg.id), op: 'gte', value: 3000 }] },
        })
      ).json().id;
      const res = await t.app.inject({ method: 'GET', url: `/api/v1/segments/${id}/count`, headers: tenant.auth });
      expect(res.json()).toEqual({
        segmentId: id,
        name: '平均購入金額3000円以上',
        count: expected.length,
        activeCount: expectedActive.length,
        dataAsOf: '2026-11-28T00:30:00.000Z',
      });

      await t.ctx.db.pool.query('VACUUM ANALYZE custom_values');
      await t.ctx.db.pool.query('ANALYZE friends');
      const seg = await requireSegment(t.ctx.db.pool, tenant.id, id);
      const c = compileSegment(tenant.id, 'all', [{ fieldId: avg.id, op: 'gte', value: 3000, type: 'number' }], '2026-11-28');
      const plan = await t.ctx.db.pool.query(`EXPLAIN SELECT count(*) FROM (${c.sql}) s WHERE ${c.tenantParam} IS NOT NULL`, c.params);
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(text, text).toMatch(/Index (Only )?Scan using custom_values_number on custom_values/);
      expect(text).not.toMatch(/Seq Scan on custom_values/);
      expect(await segmentFriendIds(t.ctx, seg)).toEqual(expected);
    });
  });

  describe('validation', () => {
    const num = () => field.num;
    it('a field of another tenant, or none, is an unknown field (400 UNKNOWN_FIELD)', async () => {
      expect(await errorOf({ name: 'x', match: 'all', conditions: [{ fieldId: field.bText, op: 'eq', value: 'Gold' }] })).toMatchObject({
        status: 400,
        code: 'UNKNOWN_FIELD',
      });
      expect(await errorOf({ name: 'x', match: 'all', conditions: [{ fieldId: '999999', op: 'exists' }] })).toMatchObject({ code: 'UNKNOWN_FIELD' });
      const e = await errorOf({ name: 'x', match: 'all', conditions: [{ fieldId: 'abc', op: 'exists' }] });
      expect(e).toMatchObject({ status: 400, code: 'INVALID_CONDITION' });
      expect(e.message).toMatch(/conditions\[0\]/);
    });

    it('the operator must fit the field type (400 OPERATOR_NOT_ALLOWED)', async () => {
      const bad: [string, string, unknown][] = [
        [field.num, 'contains', '3'],
        [field.num, 'before', '2026-01-01'],
        [field.num, 'within_days', 3],
        [field.text, 'gt', 'a'],
        [field.text, 'gte', 'a'],
        [field.text, 'after', '2026-01-01'],
        [field.date, 'gt', '2026-01-01'],
        [field.date, 'lte', '2026-01-01'],
        [field.date, 'contains', '2026'],
      ];
      for (const [fieldId, op, value] of bad) {
        const e = await errorOf({ name: 'x', match: 'all', conditions: [{ fieldId: field.num, op: 'exists' }, { fieldId, op, value }] });
        expect(e, `${op}`).toMatchObject({ status: 400, code: 'OPERATOR_NOT_ALLOWED', details: { index: 1, op } });
      }
    });

    it('the value must fit the operator and type (400 INVALID_CONDITION)', async () => {
      const bad: [string, string, unknown][] = [
        [num(), 'gte', 'abc'],
        [num(), 'gte', ''],
        [num(), 'gte', null],
        [num(), 'eq', true],
        [num(), 'lt', '1e999'],
        [num(), 'exists', 3],
        [field.text, 'eq', ''],
        [field.text, 'eq', 3],
        [field.text, 'contains', 'x'.repeat(10_001)],
        [field.text, 'not_exists', 'a'],
        [field.date, 'eq', '2026-02-30'],
        [field.date, 'before', '2026/01/01'],
        [field.date, 'after', 20260101],
        [field.date, 'within_days', -1],
        [field.date, 'within_days', 1.5],
        [field.date, 'within_days', 36_501],
        [field.date, 'within_days', 'seven'],
        [field.num, 'between', 1],
      ];
      for (const [fieldId, op, value] of bad) {
        const e = await errorOf({ name: 'x', match: 'all', conditions: [{ fieldId, op, value }] });
        expect(e, `${op} ${JSON.stringify(value)}`).toMatchObject({ status: 400, code: 'INVALID_CONDITION' });
      }
    });

    it('1 to 20 conditions, a name, match all|any, no unknown properties', async () => {
      const cond = { fieldId: field.num, op: 'exists' };
      expect(await errorOf({ name: 'x', match: 'all', conditions: [] })).toMatchObject({ code: 'INVALID_CONDITION' });
      expect(await errorOf({ name: 'x', match: 'all', conditions: Array(21).fill(cond) })).toMatchObject({ code: 'INVALID_CONDITION' });
      expect(await create({ name: '20件', match: 'all', conditions: Array(20).fill(cond) })).toMatch(/^\d+$/);
      expect(await errorOf({ name: ' ', match: 'all', conditions: [cond] })).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(await errorOf({ name: 'x'.repeat(101), match: 'all', conditions: [cond] })).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(await errorOf({ name: 'x', match: 'some', conditions: [cond] })).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(await errorOf({ name: 'x', match: 'all', conditions: 'all' })).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(await errorOf({ name: 'x', match: 'all', conditions: [cond], extra: 1 })).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(await errorOf({ name: 'x', match: 'all', conditions: [{ ...cond, extra: 1 }] })).toMatchObject({ code: 'INVALID_CONDITION' });
      expect(await errorOf([cond])).toMatchObject({ code: 'VALIDATION_FAILED' });
    });
  });

  describe('reading and deleting', () => {
    it('GET shows the normalised segment; unknown or malformed ids are 404; DELETE removes it from the API', async () => {
      const id = await create({ name: ' 平均3000以上 ', match: 'any', conditions: [{ fieldId: Number(field.num), op: 'gte', value: '3000' }] });
      const got = await api('GET', `/api/v1/segments/${id}`);
      expect(got.json()).toMatchObject({
        id,
        name: '平均3000以上',
        match: 'any',
        conditions: [{ fieldId: field.num, op: 'gte', value: 3000 }],
        createdAt: '2026-11-28T03:00:00.000Z',
      });
      expect((await api('GET', '/api/v1/segments')).json().items.map((s: { id: string }) => s.id)).toContain(id);
      for (const bad of ['0', 'abc', '99999999', '1e3', '-1']) {
        expect((await api('GET', `/api/v1/segments/${bad}`)).statusCode).toBe(404);
        expect((await api('GET', `/api/v1/segments/${bad}/count`)).statusCode).toBe(404);
      }
      expect((await api('DELETE', `/api/v1/segments/${id}`)).statusCode).toBe(204);
      expect((await api('GET', `/api/v1/segments/${id}`)).statusCode).toBe(404);
      expect((await api('GET', `/api/v1/segments/${id}/count`)).statusCode).toBe(404);
      expect((await api('DELETE', `/api/v1/segments/${id}`)).statusCode).toBe(404);
      expect((await api('GET', '/api/v1/segments')).json().items.map((s: { id: string }) => s.id)).not.toContain(id);
    });

    it("another tenant's segment is not found", async () => {
      const id = await create({ name: 'A', match: 'all', conditions: [{ fieldId: field.num, op: 'exists' }] });
      expect((await api('GET', `/api/v1/segments/${id}`, undefined, b)).statusCode).toBe(404);
      expect((await api('GET', `/api/v1/segments/${id}/count`, undefined, b)).statusCode).toBe(404);
      expect((await api('DELETE', `/api/v1/segments/${id}`, undefined, b)).statusCode).toBe(404);
      expect((await api('GET', `/api/v1/segments/${id}`)).statusCode).toBe(200);
    });
  });
});
