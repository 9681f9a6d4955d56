// CSV import as brands bring it: UTF-8, UTF-8 with BOM and Shift_JIS (Excel), quoted fields with commas, quotes and line
// breaks, bad lines reported by number while the good ones are imported, re-import updating by line_user_id, and a failure
// in the middle leaving whole batches only. And as nobody should bring it: quotes never closed, endless lines, NULs, floods
// of bad lines, oversized bodies — each costs its own line (or a bounded 4xx), never the import nor the server's attention.
import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvReader, MAX_LINE_BYTES, MAX_RECORD_LINES, parseCsv, type CsvRecord } from '../../src/crm/csv.js';
import { importFriendsCsv, MAX_DATA_ROWS, MAX_FILE_BYTES, MAX_REPORTED_ERRORS } from '../../src/crm/import.js';
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

  /** The reader fed `size` bytes at a time. */
  function parseInChunks(bytes: Buffer, size: number): CsvRecord[] {
    const reader = new CsvReader();
    const out: CsvRecord[] = [];
    const take = () => {
      for (let recs; (recs = reader.read()) !== null; ) out.push(...recs);
    };
    for (let i = 0; i < bytes.length; i += size) {
      reader.write(bytes.subarray(i, i + size));
      take();
    }
    reader.end();
    take();
    return out;
  }

  it('reads the same records however the bytes are cut (inside CRLF, inside a character, across long lines)', () => {
    const text =
      'a,b,c\r\n1,"x, y","say ""hi"""\r\n2,"two\r\nlines",z\r\r\n3,"never closed,q\r4,漢字,\n' +
      `${'長い行,'.repeat(5000)}\r\n5,"bad"x,y\n6,"最後\r",`;
    const whole = parseCsv(text);
    expect(whole.map((r) => r.line)).toEqual([1, 2, 3, 6, 7, 8, 9, 10]);
    for (const size of [1, 2, 3, 7, 4096, 16 * 1024 + 1]) expect(parseInChunks(Buffer.from(text), size)).toEqual(whole);
  });

  it(`a quoted field runs over at most ${MAX_RECORD_LINES} lines; beyond, its first line is reported and the next lines are read`, () => {
    const inside = (lines: number) => Array.from({ length: lines }, (_, i) => `l${i}`).join('\n');
    expect(parseCsv(`a,"${inside(MAX_RECORD_LINES)}"\nb,c`)).toEqual([
      { line: 1, fields: ['a', inside(MAX_RECORD_LINES)] },
      { line: MAX_RECORD_LINES + 1, fields: ['b', 'c'] },
    ]);
    const records = parseCsv(`a,"${inside(MAX_RECORD_LINES + 1)}"\nb,c`);
    expect(records[0]).toEqual({ line: 1, error: 'unclosed-quote' });
    expect(records[1]).toEqual({ line: 2, fields: ['l1'] });
    expect(records.at(-2)).toEqual({ line: MAX_RECORD_LINES + 1, fields: ['l100"'] }); // a quote inside an unquoted field is a character
    expect(records.at(-1)).toEqual({ line: MAX_RECORD_LINES + 2, fields: ['b', 'c'] });
  });

  it('a line longer than the limit is reported and skipped, with or without a line break after it', () => {
    const long = 'x'.repeat(MAX_LINE_BYTES + 1);
    expect(parseCsv(`a,b\n${long}\nc,d\n${long}`)).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, error: 'line-too-long' },
      { line: 3, fields: ['c', 'd'] },
      { line: 4, error: 'line-too-long' },
    ]);
    expect(parseCsv(`${'y'.repeat(MAX_LINE_BYTES)}\n`)).toEqual([{ line: 1, fields: ['y'.repeat(MAX_LINE_BYTES)] }]);
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

  const csvOf = (...lines: string[]) => ['line_user_id,display_name,email', ...lines].join('\n');
  const count = async (tenantId: string) => (await t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM friends WHERE tenant_id = $1`, [tenantId])).rows[0].n;

  it('an unclosed quote in the middle of a file costs its line only: every good line after it is imported', async () => {
    const c = await makeTenant(t);
    const lines = [`${U(301)},一郎,`, `${U(302)},"閉じていない,x@example.jp`];
    // more lines than a quoted field may run over, one of them with a quoted name of its own
    for (let i = 303; i < 303 + MAX_RECORD_LINES + 50; i++) lines.push(i === 310 ? `${U(i)},"引用, 名前",` : `${U(i)},友だち${i},`);
    const res = await post(csvOf(...lines), c);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.errors).toEqual([{ line: 3, message: expect.stringMatching(/引用符/) }]);
    expect(body).toMatchObject({ created: lines.length - 1, errorCount: 1 });
    expect((await friendByLine(c.id, U(310))).display_name).toBe('引用, 名前');
    expect(await friendByLine(c.id, U(302))).toBeUndefined();
  });

  it('a value PostgreSQL cannot store (U+0000) is an error for its line naming the column; the rest of the batch is imported', async () => {
    const c = await makeTenant(t);
    const res = await post(csvOf(`${U(401)},一,`, `${U(402)},ni\u0000l,`, `${U(403)},三,san\u0000@example.jp`, `${U(404)},四,`), c);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      created: 2,
      errorCount: 2,
      errors: [
        { line: 3, message: expect.stringMatching(/display_name.*U\+0000/) },
        { line: 4, message: expect.stringMatching(/email.*U\+0000/) },
      ],
    });
    expect(await count(c.id)).toBe(2);
  });

  it('a line over the length limit is reported and skipped; the others are imported', async () => {
    const c = await makeTenant(t);
    const res = await post(csvOf(`${U(501)},一,`, `${U(502)},${'長'.repeat(MAX_LINE_BYTES / 3 + 1)},`, `${U(503)},三,`), c);
    expect(res.json()).toMatchObject({ created: 2, errorCount: 1, errors: [{ line: 3, message: expect.stringMatching(/行が長すぎます/) }] });
  });

  it('a header that is too long or wrong: 400 INVALID_CSV, quoting at most a little of it', async () => {
    const noLineBreak = await post(`line_user_id,display_name,email${'x'.repeat(1024 * 1024)}`);
    expect(noLineBreak.statusCode).toBe(400);
    expect(noLineBreak.json().error.code).toBe('INVALID_CSV');
    expect(noLineBreak.body.length).toBeLessThan(400);
    const wrong = await post(`line_user_id,display_name,${'e'.repeat(5000)}\n${U(1)},x,`);
    expect(wrong.statusCode).toBe(400);
    const quoted = `line_user_id,display_name,${'e'.repeat(5000)}`.slice(0, 200);
    expect(wrong.json().error.message).toBe(`The CSV header is "${quoted}…"; it must be line_user_id,display_name,email (email values may be empty).`);
    expect(wrong.body.length).toBeLessThan(600);
  });

  it(`more than ${MAX_REPORTED_ERRORS} bad lines: the first ${MAX_REPORTED_ERRORS} are listed, all are counted`, async () => {
    const c = await makeTenant(t);
    const lines: string[] = [];
    for (let i = 0; i < 250; i++) lines.push(`bad-${i},名前,`, `${U(1000 + i)},名前${i},`);
    const body = (await post(csvOf(...lines), c)).json();
    expect(body).toMatchObject({ created: 250, errorCount: 250 });
    expect(body.errors).toHaveLength(MAX_REPORTED_ERRORS);
    expect(body.errors.map((e: { line: number }) => e.line)).toEqual(Array.from({ length: MAX_REPORTED_ERRORS }, (_, i) => 2 + 2 * i));
  });

  it('a line_user_id repeated in a later batch is reported with the line of the first, which wins', async () => {
    const c = await makeTenant(t);
    const file = Buffer.from(csvOf(`${U(601)},最初,`, `${U(602)},二,`, `bad,x,`, `${U(603)},三,`, `${U(601)},二度目,`, `${U(604)},四,`));
    const report = await importFriendsCsv(t.ctx, c.id, file, { batchSize: 2 });
    expect(report).toMatchObject({
      created: 4,
      errorCount: 2,
      errors: [
        { line: 4, message: expect.stringMatching(/line_user_id/) },
        { line: 6, message: 'line_user_id が2行目と重複しています' },
      ],
    });
    expect((await friendByLine(c.id, U(601))).display_name).toBe('最初');
  });

  it('a body over the size limit: 413 at once when announced, and when a stream passes the limit (earlier batches saved)', async () => {
    const c = await makeTenant(t);
    const announced = await t.app.inject({
      method: 'POST',
      url: '/api/v1/friends/import',
      headers: { ...c.auth, 'content-type': 'text/csv', 'content-length': String(MAX_FILE_BYTES + 1) },
      payload: Readable.from([Buffer.from(csvOf(`${U(701)},x,`))]),
    });
    expect(announced.statusCode).toBe(413);
    expect(announced.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await count(c.id)).toBe(0);

    // a stream without a length: refused once it has passed the limit (here 2 MiB, given to the same code)
    async function* chunks() {
      yield Buffer.from(csvOf(`${U(702)},x,`, `${U(703)},y,`) + '\n');
      for (let i = 0; i < 100; i++) yield Buffer.alloc(32 * 1024, 'bad line\n');
    }
    let err: any;
    try {
      await importFriendsCsv(t.ctx, c.id, chunks(), { maxBytes: 2 * 1024 * 1024, batchSize: 2 });
    } catch (e) {
      err = e;
    }
    expect(err?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(err.details).toMatchObject({ created: 2, committedThroughLine: 3 });
    expect(err.message).toMatch(/Lines through 3 were saved/);
    expect(await count(c.id)).toBe(2);
  });

  it('the encoding is decided from the start of the file: Shift_JIS after 80 KB of ASCII; a later line not valid in it is its own error', async () => {
    const c = await makeTenant(t);
    const ascii = Array.from({ length: 1500 }, (_, i) => `${U(2000 + i)},Romaji ${i},r${i}@example.jp`);
    const sjis = iconv.encode(csvOf(...ascii, `${U(4001)},日本語の名前,`, `${U(4002)},"髙橋",`) + '\n', 'cp932');
    // a lead byte without its second byte: not Shift_JIS
    const broken = Buffer.concat([sjis, Buffer.from(`${U(4003)},`), Buffer.from([0x82]), Buffer.from(`,\n${U(4004)},saigo,\n`)]);
    expect(broken.length).toBeGreaterThan(80_000);
    const res = await post(broken, c);
    expect(res.json()).toMatchObject({
      encoding: 'shift_jis',
      created: 1503,
      errorCount: 1,
      errors: [{ line: 1504, message: expect.stringMatching(/Shift_JIS として読めない/) }],
    });
    expect((await friendByLine(c.id, U(4001))).display_name).toBe('日本語の名前');
    expect((await friendByLine(c.id, U(4002))).display_name).toBe('髙橋');

    // UTF-8 decided from the first MiB (here blank lines); a line after it that is not UTF-8 is reported, the next imported
    const d = await makeTenant(t);
    const utf8 = Buffer.concat([
      Buffer.from(`line_user_id,display_name,email\n${U(3101)},一,\n${'\n'.repeat(1024 * 1024)}`),
      Buffer.from(`${U(3102)},`),
      iconv.encode('二', 'cp932'),
      Buffer.from(`,\n${U(3103)},三,\n`),
    ]);
    const r2 = (await post(utf8, d)).json();
    expect(r2).toMatchObject({ encoding: 'utf-8', created: 2, errorCount: 1, errors: [{ line: 1024 * 1024 + 3, message: expect.stringMatching(/UTF-8 として読めない/) }] });
  });

  it(`reads at most ${MAX_DATA_ROWS} data lines: the next one says the rest was not read`, async () => {
    const c = await makeTenant(t);
    const file = Buffer.from(`line_user_id,display_name,email\n${'x\n'.repeat(MAX_DATA_ROWS)}${U(900)},after the limit,\n`);
    const report = await importFriendsCsv(t.ctx, c.id, file);
    expect(report.created).toBe(0);
    expect(report.errorCount).toBe(MAX_DATA_ROWS + 1);
    expect(report.errors).toHaveLength(MAX_REPORTED_ERRORS);
    expect(report.errors.at(-1)).toEqual({ line: MAX_DATA_ROWS + 2, message: expect.stringMatching(/取り込んでいません/) });
    expect(await count(c.id)).toBe(0);
  });
});
