// The セグメント配信 pages as an operator uses them: the nav item, a segment made from the form (several conditions, a blank
// row, すべて/いずれか), its count, a message sent now and one scheduled at a JST wall time, cancel, delete, and errors shown
// in Japanese with the form kept — every form with the session's CSRF token, every value escaped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCustomValues } from '../../src/crm/custom-data.js';
import { addOperator } from '../../src/crm/operators.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeFriend, makeTenant, type TestTenant } from './fixtures.js';

describe('セグメント配信 pages', () => {
  let t: TestApp;
  let a: TestTenant;
  let session: { cookie: string; csrf: string };
  let amount: string;
  let rank: string;
  let since: string;

  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: { cookie: session.cookie } });
  const post = (url: string, form: Record<string, string | string[]>) => {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) for (const x of ([] as string[]).concat(v)) body.append(k, x);
    body.append('_csrf', session.csrf);
    return t.app.inject({
      method: 'POST',
      url,
      headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: body.toString(),
    });
  };

  beforeAll(async () => {
    t = await createTestApp();
    a = await makeTenant(t, { lineAccessToken: 'token-ui' });
    await addOperator(t.ctx.db.pool, a.id, 'marketer@example.jp', 'password of the marketer');
    const login = await t.app.inject({ method: 'POST', url: '/login', payload: { email: 'marketer@example.jp', password: 'password of the marketer' } });
    const sid = /kizuna_session=([^;]+)/.exec(String(login.headers['set-cookie']))![1]!;
    session = { cookie: `kizuna_session=${sid}`, csrf: login.json().csrfToken };

    const api = (url: string, payload: object) => t.app.inject({ method: 'POST', url, headers: a.auth, payload });
    const cat = (await api('/api/v1/custom-data/categories', { name: '購買データ' })).json();
    amount = (await api(`/api/v1/custom-data/categories/${cat.id}/fields`, { name: '平均購入金額', type: 'number' })).json().id;
    rank = (await api(`/api/v1/custom-data/categories/${cat.id}/fields`, { name: '会員ランク', type: 'text' })).json().id;
    since = (await api(`/api/v1/custom-data/categories/${cat.id}/fields`, { name: '最終購入日', type: 'date' })).json().id;
    const values = [4000, 3000, 2999, 8000];
    for (const [i, v] of values.entries()) {
      const f = await makeFriend(t, a.id, { status: i === 3 ? 'blocked' : 'active' });
      await writeCustomValues(t.ctx.db.pool, a.id, [
        { friendId: f, fieldId: Number(amount), value: v },
        { friendId: f, fieldId: Number(rank), value: i === 0 ? 'ゴールド' : 'シルバー' },
      ]);
    }
  });
  afterAll(() => t.close());

  it('the nav leads to the page; without segments it explains itself and offers the form with fields grouped by category', async () => {
    const res = await get('/segments');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<a href="/segments" class="current">セグメント配信</a>');
    expect(res.body).toContain('セグメントはまだありません');
    expect(res.body).toContain('<optgroup label="購買データ">');
    expect(res.body).toContain(`<option value="${amount}" data-type="number" >平均購入金額（数値）</option>`);
    expect(res.body).toContain(`name="_csrf" value="${session.csrf}"`);
    expect((await get('/friends')).body).toContain('href="/segments"');
  });

  it('a segment from the form: blank rows ignored, numbers and texts typed, then its page shows the count', async () => {
    const res = await post('/segments', {
      name: '平均3000円以上 <b>VIP</b>',
      match: 'all',
      fieldId: [amount, '', rank],
      op: ['gte', 'gte', 'ne'],
      value: ['3000', '', 'ブロンズ'],
    });
    expect(res.statusCode).toBe(303);
    const location = res.headers.location as string;
    expect(location).toMatch(/^\/segments\/\d+\?notice=segment-created$/);
    const id = /\/segments\/(\d+)/.exec(location)![1]!;
    const api = (await t.app.inject({ method: 'GET', url: `/api/v1/segments/${id}`, headers: a.auth })).json();
    expect(api).toMatchObject({ match: 'all', conditions: [{ fieldId: amount, op: 'gte', value: 3000 }, { fieldId: rank, op: 'ne', value: 'ブロンズ' }] });

    const page = await get(location);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('セグメントを作成しました。');
    expect(page.body).toContain('平均3000円以上 &lt;b&gt;VIP&lt;/b&gt;');
    expect(page.body).not.toContain('<b>VIP</b>');
    expect(page.body).toContain('平均購入金額 が 3,000 以上');
    expect(page.body).toContain('会員ランク が 「ブロンズ」 と等しくない');
    expect(page.body).toContain('すべての条件に一致');
    expect(page.body).toMatch(/該当する友だち<\/dt><dd>3人/);
    expect(page.body).toMatch(/配信できる人数<\/dt><dd><strong>2人/);

    const list = await get('/segments');
    expect(list.body).toContain(`<a href="/segments/${id}">平均3000円以上 &lt;b&gt;VIP&lt;/b&gt;</a>`);
    expect(list.body).toContain("<strong>2人</strong>");
  });

  it('exists / not_exists ignore the value box; いずれか makes an any-segment', async () => {
    const res = await post('/segments', { name: 'どちらか', match: 'any', fieldId: [since, rank], op: ['not_exists', 'eq'], value: ['2026-01-01', 'ゴールド'] });
    expect(res.statusCode).toBe(303);
    const id = /\/segments\/(\d+)/.exec(res.headers.location as string)![1]!;
    const seg = (await t.app.inject({ method: 'GET', url: `/api/v1/segments/${id}`, headers: a.auth })).json();
    expect(seg).toMatchObject({ match: 'any', conditions: [{ fieldId: since, op: 'not_exists', value: null }, { fieldId: rank, op: 'eq', value: 'ゴールド' }] });
    expect((await get(`/segments/${id}`)).body).toContain('最終購入日 の値がない');
  });

  it('mistakes are shown in Japanese next to the form, which keeps what was typed', async () => {
    const cases: [Record<string, string | string[]>, string][] = [
      [{ name: '', match: 'all', fieldId: [amount], op: ['gte'], value: ['3000'] }, 'セグメント名（1〜100文字）と条件を入力してください。'],
      [{ name: '数字', match: 'all', fieldId: [amount], op: ['gte'], value: ['三千'] }, '1番目の条件: 値を入力してください'],
      [{ name: '種類', match: 'all', fieldId: [amount, rank], op: ['gte', 'gt'], value: ['1', 'a'] }, '2番目の条件: テキストの項目には「より大きい」は使えません。'],
      [{ name: '日数', match: 'all', fieldId: [since], op: ['within_days'], value: ['-3'] }, '1番目の条件: 日数は0以上の整数で入力してください。'],
      [{ name: '空', match: 'all', fieldId: [''], op: ['gte'], value: [''] }, '条件は1件以上、20件以内で指定してください。'],
      [{ name: '他', match: 'all', fieldId: ['999999'], op: ['exists'], value: [''] }, '1番目の条件: 選択した項目が見つかりません。'],
    ];
    for (const [form, message] of cases) {
      const res = await post('/segments', form);
      expect(res.statusCode, message).toBe(400);
      expect(res.body, message).toContain(message);
    }
    const kept = await post('/segments', { name: '残る名前', match: 'any', fieldId: [amount], op: ['lt'], value: ['abc'] });
    expect(kept.body).toContain('value="残る名前"');
    expect(kept.body).toContain('value="abc"');
    expect(kept.body).toMatch(/<option value="lt" data-types="number" selected>/);
    expect(kept.body).toMatch(/value="any" checked/);
  });

  it('send now, schedule at a JST wall time, cancel, and delete only when nothing waits', async () => {
    const created = await post('/segments', { name: '配信テスト', match: 'all', fieldId: [amount], op: ['gte'], value: ['3000'] });
    const id = /\/segments\/(\d+)/.exec(created.headers.location as string)![1]!;
    const page = await get(`/segments/${id}`);
    expect(page.body).toContain(`action="/segments/${id}/deliveries"`);
    expect(page.body).toContain('min="2026-11-28T12:00"'); // now, in Tokyo

    const now = await post(`/segments/${id}/deliveries`, { text: '今だけのクーポンです', when: 'now', scheduledAt: '' });
    expect(now.statusCode).toBe(303);
    expect(now.headers.location).toBe(`/segments/${id}?notice=delivery-started`);
    expect((await get(now.headers.location as string)).body).toContain('配信を開始しました。');
    const later = await post(`/segments/${id}/deliveries`, { text: '週末のご案内', when: 'later', scheduledAt: '2026-11-29T10:30' });
    expect(later.statusCode).toBe(303);
    expect(later.headers.location).toBe(`/segments/${id}?notice=delivery-scheduled`);
    const scheduledPage = (await get(later.headers.location as string)).body;
    expect(scheduledPage).toContain('配信を予約しました。');
    expect(scheduledPage).toContain('2026/11/29 10:30');

    type Item = { id: string; status: string; scheduledAt: string | null; messages: unknown };
    const list: Item[] = (await t.app.inject({ method: 'GET', url: `/api/v1/deliveries?segmentId=${id}`, headers: a.auth })).json().items;
    list.sort((x, y) => String(x.scheduledAt).localeCompare(String(y.scheduledAt)));
    expect(list.map((d) => [d.scheduledAt, d.messages])).toEqual([
      ['2026-11-29T01:30:00.000Z', [{ type: 'text', text: '週末のご案内' }]],
      [null, [{ type: 'text', text: '今だけのクーポンです' }]],
    ]);
    const detail = await get(`/segments/${id}`);
    expect(detail.body).toContain('予約済み');
    expect(detail.body).toContain('週末のご案内');
    expect(detail.body).toContain(`action="/deliveries/${list[0]!.id}/cancel"`);

    const del = await post(`/segments/${id}/delete`, {});
    expect(del.statusCode).toBe(400);
    expect(del.body).toContain('予約中または配信中の配信があるため削除できません。');

    for (const d of list) {
      const c = await post(`/deliveries/${d.id}/cancel`, {});
      expect(c.statusCode).toBe(303);
      expect(c.headers.location).toBe(`/segments/${id}?notice=delivery-canceled`);
    }
    const after = (await t.app.inject({ method: 'GET', url: `/api/v1/deliveries?segmentId=${id}`, headers: a.auth })).json().items;
    expect(after.map((d: Item) => d.status)).toEqual(['canceled', 'canceled']);
    const gone = await post(`/segments/${id}/delete`, {});
    expect(gone.statusCode).toBe(303);
    expect(gone.headers.location).toBe('/segments?notice=segment-deleted');
    expect((await get(`/segments/${id}`)).statusCode).toBe(404);
  });

  it('delivery mistakes: empty text, a time in the past or missing; no LINE token disables the form', async () => {
    const created = await post('/segments', { name: '誤り', match: 'all', fieldId: [amount], op: ['exists'], value: [''] });
    const id = /\/segments\/(\d+)/.exec(created.headers.location as string)![1]!;
    const empty = await post(`/segments/${id}/deliveries`, { text: '   ', when: 'now' });
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toContain('メッセージを入力してください（5000文字まで）。');
    const past = await post(`/segments/${id}/deliveries`, { text: 'こんにちは', when: 'later', scheduledAt: '2026-11-28T09:00' });
    expect(past.statusCode).toBe(400);
    expect(past.body).toContain('配信日時を確認してください');
    expect(past.body).toContain('こんにちは'); // kept
    const missing = await post(`/segments/${id}/deliveries`, { text: 'こんにちは', when: 'later', scheduledAt: '' });
    expect(missing.statusCode).toBe(400);

    await t.ctx.db.pool.query(`UPDATE tenants SET line_access_token_enc = NULL WHERE id = $1`, [a.id]);
    try {
      const page = await get(`/segments/${id}`);
      expect(page.body).toContain('LINEチャネルアクセストークンが設定されていないため配信できません。');
      expect(page.body).not.toContain(`action="/segments/${id}/deliveries"`);
      const res = await post(`/segments/${id}/deliveries`, { text: 'こんにちは', when: 'now' });
      expect(res.statusCode).toBe(400);
    } finally {
      const { updateTenant } = await import('../../src/crm/tenants.js');
      await updateTenant(t.ctx, a.id, { lineAccessToken: 'token-ui' });
    }
  });

  it('pages need a session and forms need its CSRF token', async () => {
    const anon = await t.app.inject({ method: 'GET', url: '/segments' });
    expect(anon.statusCode).toBe(303);
    expect(anon.headers.location).toBe('/login?next=%2Fsegments');
    const noCsrf = await t.app.inject({
      method: 'POST',
      url: '/segments',
      headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=x&match=all&fieldId=1&op=exists&value=',
    });
    expect(noCsrf.statusCode).toBe(403);
    expect((await get('/segments/abc')).statusCode).toBe(404);
    expect((await get('/segments/99999999')).statusCode).toBe(404);
  });
});
