// CSV import as brands bring it: UTF-8, UTF-8 with BOM and Shift_JIS (Excel), quoted fields with commas, quotes and line
// breaks, bad lines reported by number while the good ones are imported, re-import updating by line_user_id, and a failure
// in the middle leaving whole batches only.
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/crm/csv.js';
import { importFriendsCsv } from '../../src/crm/import.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { lineUserId, makeTenant, type TestTenant } from './fixtures.js';

const U = (n: number) => lineUserId(`import-${n}`);

describe('CSV parsing', () => {
  it('keeps commas, doubled quotes and line breaks inside quoted fields and reports each record with its first line', () => {
    const text = 'a,b,c\r\n1,"x, y","say ""hi"""\r\n2,"two\r\nlines",z\n\n3,"never closed,q\n4,ok,\n5,"bad"x,y\n6,last,';
    expect(parseCsv(text)).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1', 'x, y', 'say "hi"'] },
      { line: 3, fields: ['2', 'two\nlines', 'z'] },
      { line: 6, error: 'unclosed-quote' },
      { line: 7, fields: ['4', 'ok', ''] },
      { line: 8, error: 'stray-quote' },
      { line: 9, fields: ['6', 'last', ''] },
    ]);
  });
});

describe('friend import', () => {
  let t: TestApp;
  let a: TestTenant;
  beforeAll(async () => {
    t = await createTestApp();
    a = await makeTenant(t);
  });
  afterAll(() => t.close());

  const post = (body: Buffer | string, tenant = a) =>
    t.app.inject({ method: 'POST', url: '/api/v1/friends/import', headers: { ...tenant.auth, 'content-type': 'text/csv' }, payload: body });

  const friendByLine = async (tenantId: string, lineUser: string) =>
    (await t.ctx.db.pool.query(`SELECT display_name, email, email_source, status FROM friends WHERE tenant_id = $1 AND line_user_id = $2`, [tenantId, lineUser]))
      .rows[0];

  it('imports Shift_JIS with quoted fields, reports every bad line by number, and imports the good ones', async () => {
    const csv = [
      'line_user_id,display_name,email',
      `${U(1)},"佐藤, 太郎",taro@example.jp`,
      `${U(2)},"髙橋 ""はしご"" 﨑",`,
      `${U(3)},"複数行の
名前",multi@example.jp`,
      `not-a-line-id,鈴木,suzuki@example.jp`,
      `${U(4)},田中,not-an-email`,
      `${U(5)},伊藤`,
      `${U(1)},重複,dup@example.jp`,
      `${U(6)},"閉じていない,x@example.jp`,
      `${U(7)},渡辺,Watanabe@Example.JP `,
    ].join('\r\n');
    const sjis = iconv.encode(csv, 'cp932');
    expect(sjis.includes(Buffer.from('佐藤'))).toBe(false); // really not UTF-8
    const res = await post(sjis);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ created: 4, updated: 0, encoding: 'shift_jis' });
    expect(body.errors.map((e: { line: number }) => e.line)).toEqual([6, 7, 8, 9, 10]);
    expect(body.errors[0].message).toMatch(/line_user_id/);
    expect(body.errors[1].message).toMatch(/メールアドレス/);
    expect(body.errors[2].message).toMatch(/列の数/);
    expect(body.errors[3].message).toMatch(/2行目と重複/);
    expect(body.errors[4].message).toMatch(/引用符/);
    expect(await friendByLine(a.id, U(1))).toEqual({ display_name: '佐藤, 太郎', email: 'taro@example.jp', email_source: 'import', status: 'active' });
    expect((await friendByLine(a.id, U(2))).display_name).toBe('髙橋 "はしご" 﨑');
    expect((await friendByLine(a.id, U(3))).display_name).toBe('複数行の\n名前');
    expect((await friendByLine(a.id, U(7))).email).toBe('Watanabe@Example.JP');
    expect(await friendByLine(a.id, U(4))).toBeUndefined();
    // the email index matches trimmed + lower-cased
    const found = await t.app.inject({ method: 'GET', url: '/api/v1/friends?email=watanabe@example.jp', headers: a.auth });
    expect(found.json().items.map((f: { lineUserId: string }) => f.lineUserId)).toEqual([U(7)]);
  });

  it('reads UTF-8 with and without BOM; re-import updates by line_user_id instead of duplicating and keeps unstated emails', async () => {
    const plain = `line_user_id,display_name,email\n${U(1)},佐藤 太郎,taro@example.jp\n${U(20)},新しい人,new@example.jp\n`;
    const r1 = (await post(Buffer.from(plain, 'utf8'))).json();
    expect(r1).toMatchObject({ created: 1, updated: 1, unchanged: 0, errors: [], encoding: 'utf-8' });
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`line_user_id,display_name,email\n${U(1)},佐藤 太郎,\n${U(20)},新しい人,changed@example.jp\n`)]);
    const r2 = (await post(bom)).json();
    expect(r2).toMatchObject({ created: 0, updated: 1, unchanged: 1, errors: [], encoding: 'utf-8-bom' });
    expect((await friendByLine(a.id, U(1))).email).toBe('taro@example.jp'); // empty email keeps the stored one
    expect((await friendByLine(a.id, U(20))).email).toBe('changed@example.jp');
    const { rows } = await t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM friends WHERE tenant_id = $1 AND line_user_id = $2`, [a.id, U(1)]);
    expect(rows[0].n).toBe(1);
  });

  it('records an email event (source import) for each email set or changed, and none for unchanged ones', async () => {
    const { rows } = await t.ctx.db.pool.query(
      `SELECT e.old_email, e.new_email, e.source FROM friend_email_events e JOIN friends f ON f.id = e.friend_id
       WHERE f.line_user_id = $1 ORDER BY e.id`,
      [U(20)],
    );
    expect(rows).toEqual([
      { old_email: null, new_email: 'new@example.jp', source: 'import' },
      { old_email: 'new@example.jp', new_email: 'changed@example.jp', source: 'import' },
    ]);
    const jobs = await t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'crm.friend-email-changed'`);
    const events = await t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM friend_email_events`);
    expect(jobs.rows[0].n).toBe(events.rows[0].n);
  });

  it('refuses a file without the expected header with 400 INVALID_CSV', async () => {
    for (const body of ['', 'name,email\nx,y', 'line_user_id,display_name,email,extra\n']) {
      const res = await post(body);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('INVALID_CSV');
    }
    const json = await t.app.inject({ method: 'POST', url: '/api/v1/friends/import', headers: a.auth, payload: { csv: 'x' } });
    expect(json.statusCode).toBe(415);
  });

  it('a failure inside a batch rolls back that whole batch only, says which lines are saved, and a re-run completes the file', async () => {
    const b = await makeTenant(t);
    // A real database failure on one row of the third batch: a trigger refusing a particular LINE user id.
    const poison = U(1025);
    await t.ctx.db.pool.query(`
      CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.line_user_id = '${poison}' AND current_setting('test.poison', true) IS DISTINCT FROM 'off' THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_poison BEFORE INSERT ON friends FOR EACH ROW EXECUTE FUNCTION refuse_poison();`);
    const lines = ['line_user_id,display_name,email'];
    for (let i = 1; i <= 1200; i++) lines.push(`${U(i)},友だち${i},f${i}@example.jp`);
    const file = Buffer.from(lines.join('\n'));
    let err: any;
    try {
      await importFriendsCsv(t.ctx, b.id, file, { batchSize: 500 });
    } catch (e) {
      err = e;
    }
    expect(err?.code).toBe('IMPORT_INTERRUPTED');
    expect(err.details).toMatchObject({ created: 1000, committedThroughLine: 1001, failedFromLine: 1002 });
    const count = async () => (await t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM friends WHERE tenant_id = $1`, [b.id])).rows[0].n;
    expect(await count()).toBe(1000); // batches 1 and 2 whole, nothing of batch 3

    await t.ctx.db.pool.query(`DROP TRIGGER refuse_poison ON friends`);
    const again = await importFriendsCsv(t.ctx, b.id, file, { batchSize: 500 });
    expect(again).toMatchObject({ created: 200, updated: 0, unchanged: 1000, errors: [] });
    expect(await count()).toBe(1200);
  });
});
