// Deliveries against the development LINE Platform (src/dev/line): a segment of 1,200 active friends arrives as 3 multicasts,
// blocked friends are skipped, a job that dies (or loses LINE's answer) mid-delivery resumes without sending any batch twice,
// a scheduled delivery waits for its time, LINE's refusals fail the delivery with LINE's code, and the API validates early.
// The job handler's work (executeDelivery) is called here directly with the shared ManualClock; one test goes through the
// real job queue.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { writeCustomValues, type ValueWrite } from '../../src/crm/custom-data.js';
import { createTenant } from '../../src/crm/tenants.js';
import { deliverySettings, executeDelivery, type ExecuteDeliveryOptions } from '../../src/delivery/deliveries.js';
import { startFakeLine, type FakeLine } from '../../src/dev/line/index.js';
import { batchRetryKey } from '../../src/line/messaging.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { makeFriend, makeTenant, type TestTenant } from './fixtures.js';

const START = '2026-11-28T03:00:00.000Z';
const coupon = [{ type: 'text', text: '平均購入金額3000円以上の方に、特別クーポンをお届けします🎁' }];
const fast: ExecuteDeliveryOptions['client'] = { sleep: async () => {}, random: () => 0.5, maxRetries: 0 };

describe('deliveries', () => {
  const clock = new ManualClock(START);
  let line: FakeLine;
  let t: TestApp;
  let a: TestTenant;
  let avgField: string;
  /** A segment "平均購入金額 ≥ 3000" whose audience is 1,200 active friends (plus blocked and low spenders outside it). */
  let bigSegment: string;
  const users = new Map<string, number>(); // LINE user id → friend id, of the 1,200

  const api = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, who: TestTenant = a) =>
    t.app.inject({ method, url, headers: who.auth, ...(payload === undefined ? {} : { payload: payload as object }) });
  const deliver = async (body: unknown, who: TestTenant = a) => {
    const res = await api('POST', '/api/v1/deliveries', body, who);
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };
  const status = async (id: string, who: TestTenant = a) => (await api('GET', `/api/v1/deliveries/${id}`, undefined, who)).json();
  const run = (id: string, opts: ExecuteDeliveryOptions = {}) => executeDelivery(t.ctx, id, { client: fast, ...opts });
  const multicasts = () => line.requests().filter((r) => r.path === '/v2/bot/message/multicast');

  /** Friends of tenant `who` with an average order amount; returns their ids and LINE user ids. */
  async function friendsWith(tenantId: string, fieldId: string, n: number, amount: (i: number) => number | null, status: 'active' | 'blocked' = 'active') {
    const { rows } = await t.ctx.db.pool.query(
      `INSERT INTO friends (tenant_id, line_user_id, status)
       SELECT $1, 'U' || md5($2 || g), $3 FROM generate_series(1, $4) g RETURNING id, line_user_id`,
      [tenantId, `${tenantId}-${fieldId}-${status}-${Math.random()}`, status, n],
    );
    const writes: ValueWrite[] = rows.map((r, i) => ({ friendId: r.id, fieldId: Number(fieldId), value: amount(i) }));
    await writeCustomValues(t.ctx.db.pool, tenantId, writes, { now: clock.now() });
    return rows as { id: number; line_user_id: string }[];
  }

  async function segmentOf(tenant: TestTenant, fieldId: string, min = 3000) {
    const res = await api('POST', '/api/v1/segments', { name: `${min}円以上`, match: 'all', conditions: [{ fieldId, op: 'gte', value: min }] }, tenant);
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  }

  async function numberField(tenant: TestTenant) {
    const cat = (await api('POST', '/api/v1/custom-data/categories', { name: '購買' }, tenant)).json();
    return (await api('POST', `/api/v1/custom-data/categories/${cat.id}/fields`, { name: '平均購入金額', type: 'number' }, tenant)).json().id as string;
  }

  beforeAll(async () => {
    line = await startFakeLine({ now: () => clock.now().getTime() });
    line.addChannel({ channelAccessToken: 'token-a', channelSecret: 'a'.repeat(32), loginChannelId: '1650000001' });
    t = await createTestApp({ clock, env: { LINE_API_ORIGIN: line.origin } });
    a = await makeTenant(t, { lineChannelId: '2000000001', lineChannelSecret: 'a'.repeat(32), lineAccessToken: 'token-a' });
    avgField = await numberField(a);
    for (const r of await friendsWith(a.id, avgField, 1200, (i) => 3000 + i)) users.set(r.line_user_id, r.id);
    await friendsWith(a.id, avgField, 150, (i) => 5000 + i, 'blocked');
    await friendsWith(a.id, avgField, 100, (i) => (i % 2 ? 2999 : null));
    bigSegment = await segmentOf(a, avgField);
  });
  afterAll(async () => {
    await t?.close();
    await line?.close();
  });
  beforeEach(() => {
    line.reset();
    clock.set(START);
  });

  it('1,200 active friends arrive as 3 multicasts (500, 500, 200) with retry keys derived from the delivery; blocked friends are skipped', async () => {
    const count = (await api('GET', `/api/v1/segments/${bigSegment}/count`)).json();
    expect(count).toMatchObject({ count: 1350, activeCount: 1200 });

    const id = await deliver({ segmentId: bigSegment, messages: coupon });
    expect(await status(id)).toMatchObject({ id, status: 'queued', targets: 0, sent: 0, failed: 0, segmentId: bigSegment, scheduledAt: null });
    const out = await run(id);
    expect(out.state).toBe('done');

    const got = line.received();
    expect(got.map((s) => s.kind)).toEqual(['multicast', 'multicast', 'multicast']);
    expect(got.map((s) => s.to.length)).toEqual([500, 500, 200]);
    expect(got.map((s) => s.retryKey)).toEqual([0, 1, 2].map((i) => batchRetryKey(id, i)));
    for (const s of got) expect(s.messages).toEqual(coupon);
    const to = got.flatMap((s) => s.to);
    expect(new Set(to).size).toBe(1200);
    expect([...to].sort()).toEqual([...users.keys()].sort());

    expect(await status(id)).toMatchObject({ status: 'sent', targets: 1200, sent: 1200, failed: 0, error: null, startedAt: START, finishedAt: START });
    // running the job again sends nothing
    await run(id);
    expect(line.requests()).toHaveLength(3);
  });

  it('a worker dying after LINE accepted a batch, before recording it: the retry gets 409 for that batch and sends none twice', async () => {
    const id = await deliver({ segmentId: bigSegment, messages: coupon });
    const crash = new Error('worker killed');
    await expect(run(id, { afterSend: (n) => { if (n === 1) throw crash; } })).rejects.toBe(crash);
    expect(await status(id)).toMatchObject({ status: 'sending', targets: 1200, sent: 500, failed: 0 });
    expect(line.received()).toHaveLength(2);

    await run(id);
    expect(await status(id)).toMatchObject({ status: 'sent', targets: 1200, sent: 1200, failed: 0 });
    // LINE saw batch 1 twice (the second time answered 409) and delivered each batch once
    expect(multicasts().map((r) => [r.retryKey, r.status])).toEqual([
      [batchRetryKey(id, 0), 200],
      [batchRetryKey(id, 1), 200],
      [batchRetryKey(id, 1), 409],
      [batchRetryKey(id, 2), 200],
    ]);
    const to = line.received().flatMap((s) => s.to);
    expect(to).toHaveLength(1200);
    expect(new Set(to).size).toBe(1200);
    const batches = await t.ctx.db.pool.query(`SELECT batch_no, status, duplicate FROM delivery_batches WHERE delivery_id = $1 ORDER BY batch_no`, [id]);
    expect(batches.rows).toEqual([
      { batch_no: 0, status: 'sent', duplicate: false },
      { batch_no: 1, status: 'sent', duplicate: true },
      { batch_no: 2, status: 'sent', duplicate: false },
    ]);
  });

  it('LINE 5xx mid-delivery — even one LINE delivered but whose answer was lost — fails the attempt retryably; the retry resumes there', async () => {
    const id = await deliver({ segmentId: bigSegment, messages: coupon });
    const err = await run(id, {
      afterSend: (n) => {
        if (n === 0) line.failNext({ status: 500, accept: true });
      },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LINE_UNAVAILABLE', retryable: true });
    expect(await status(id)).toMatchObject({ status: 'sending', sent: 500, failed: 0, error: { code: 'LINE_UNAVAILABLE' } });

    line.failNext({ status: 503 }); // still down at the next attempt
    await expect(run(id)).rejects.toMatchObject({ code: 'LINE_UNAVAILABLE' });
    await run(id);
    expect(await status(id)).toMatchObject({ status: 'sent', targets: 1200, sent: 1200, failed: 0, error: null });
    expect(multicasts().map((r) => r.status)).toEqual([200, 500, 503, 409, 200]);
    const to = line.received().flatMap((s) => s.to);
    expect(to).toHaveLength(1200);
    expect(new Set(to).size).toBe(1200);
  });

  it('LINE 429 is retried by the job; on its last attempt the delivery fails with the code and the rest counted as failed', async () => {
    const id = await deliver({ segmentId: bigSegment, messages: coupon });
    await run(id, { afterSend: (n) => { if (n === 0) line.failNext({ status: 429, count: 5 }); } }).catch(() => {});
    expect(await status(id)).toMatchObject({ status: 'sending', sent: 500, error: { code: 'LINE_RATE_LIMITED' } });
    await run(id, { finalAttempt: true });
    expect(await status(id)).toMatchObject({ status: 'failed', targets: 1200, sent: 500, failed: 700, error: { code: 'LINE_RATE_LIMITED' } });
    expect(line.received()).toHaveLength(1);
  });

  it('LINE 401 (a revoked channel token) fails the delivery with LINE_UNAUTHORIZED; nothing is sent, nothing retried', async () => {
    const b = await makeTenant(t, { lineAccessToken: 'revoked-token' });
    const f = await numberField(b);
    await friendsWith(b.id, f, 3, () => 4000);
    const id = await deliver({ segmentId: await segmentOf(b, f), messages: coupon }, b);
    await run(id);
    const d = await status(id, b);
    expect(d).toMatchObject({ status: 'failed', targets: 3, sent: 0, failed: 3, error: { code: 'LINE_UNAUTHORIZED' } });
    expect(d.error.message).not.toContain('revoked-token');
    expect(multicasts().map((r) => r.status)).toEqual([401]);
  });

  it("LINE 400 (messages LINE refuses) and the monthly quota fail with LINE's code", async () => {
    const id = await deliver({ segmentId: bigSegment, messages: coupon });
    line.failNext({ status: 400, message: 'The request body has 1 error(s)' });
    await run(id);
    expect(await status(id)).toMatchObject({ status: 'failed', sent: 0, failed: 1200, error: { code: 'LINE_BAD_REQUEST' } });

    const q = await deliver({ segmentId: bigSegment, messages: coupon });
    await run(q, { afterSend: (n) => { if (n === 1) line.failNext({ status: 429, message: 'You have reached your monthly limit.' }); } });
    expect(await status(q)).toMatchObject({ status: 'failed', sent: 1000, failed: 200, error: { code: 'LINE_QUOTA_EXCEEDED' } });
  });

  it('a scheduled delivery waits for scheduledAt; its audience is fixed when it starts (a friend who blocked meanwhile is skipped)', async () => {
    const b = await makeTenant(t, { lineAccessToken: 'token-a' });
    const f = await numberField(b);
    const [x, y] = await friendsWith(b.id, f, 2, () => 3500);
    const seg = await segmentOf(b, f);
    const id = await deliver({ segmentId: seg, messages: coupon, scheduledAt: '2026-11-28T13:00:00+09:00' }, b);
    expect(await status(id, b)).toMatchObject({ status: 'queued', scheduledAt: '2026-11-28T04:00:00.000Z' });
    // the job is queued to start an hour from now
    const job = await t.ctx.db.pool.query(
      `SELECT round(extract(epoch FROM start_after - created_on)) AS delay FROM pgboss.job WHERE name = 'line.delivery' AND data->>'deliveryId' = $1`,
      [id],
    );
    expect(Number(job.rows[0].delay)).toBeGreaterThanOrEqual(3599);

    // woken early: nothing happens, the job goes back to sleep
    clock.set('2026-11-28T03:59:59Z');
    expect(await run(id)).toEqual({ state: 'not_due', dueInMs: 1000 });
    expect(line.requests()).toHaveLength(0);
    expect(await status(id, b)).toMatchObject({ status: 'queued', targets: 0 });

    // meanwhile: y blocks the account, a new friend z joins the segment
    await t.ctx.db.pool.query(`UPDATE friends SET status = 'blocked' WHERE id = $1`, [y!.id]);
    const [z] = await friendsWith(b.id, f, 1, () => 9000);

    clock.set('2026-11-28T04:00:00Z');
    await run(id);
    expect(line.received().flatMap((s) => s.to).sort()).toEqual([x!.line_user_id, z!.line_user_id].sort());
    expect(await status(id, b)).toMatchObject({ status: 'sent', targets: 2, sent: 2, failed: 0, startedAt: '2026-11-28T04:00:00.000Z' });
  });

  it('cancel: only before it starts; a canceled delivery is never sent; a segment with a waiting delivery cannot be deleted', async () => {
    const seg = await segmentOf(a, avgField, 9000);
    const id = await deliver({ segmentId: seg, messages: coupon, scheduledAt: '2026-11-29T09:00:00+09:00' });
    const del = await api('DELETE', `/api/v1/segments/${seg}`);
    expect(del.statusCode).toBe(409);
    expect(del.json().error.code).toBe('SEGMENT_IN_USE');

    const c = await api('POST', `/api/v1/deliveries/${id}/cancel`);
    expect(c.statusCode).toBe(200);
    expect(c.json()).toMatchObject({ status: 'canceled', canceledAt: START });
    clock.set('2026-11-29T01:00:00Z');
    await run(id);
    expect(line.requests()).toHaveLength(0);
    expect(await status(id)).toMatchObject({ status: 'canceled', targets: 0, sent: 0 });
    const again = await api('POST', `/api/v1/deliveries/${id}/cancel`);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('DELIVERY_NOT_CANCELABLE');

    const sent = await deliver({ segmentId: seg, messages: coupon });
    await run(sent);
    expect((await api('POST', `/api/v1/deliveries/${sent}/cancel`)).json().error.code).toBe('DELIVERY_NOT_CANCELABLE');

    // with nothing waiting, the segment can go; its deliveries stay readable
    expect((await api('DELETE', `/api/v1/segments/${seg}`)).statusCode).toBe(204);
    expect(await status(sent)).toMatchObject({ status: 'sent', segmentId: seg, segmentName: '9000円以上' });
    expect((await api('POST', '/api/v1/deliveries', { segmentId: seg, messages: coupon })).statusCode).toBe(404);
  });

  it('a batch handed to LINE more than 23 hours ago without an answer is not sent again (LINE forgets retry keys after 24 h)', async () => {
    const id = await deliver({ segmentId: bigSegment, messages: coupon });
    await run(id, { afterSend: (n) => { if (n === 1) throw new Error('worker killed'); } }).catch(() => {});
    clock.advance(deliverySettings.retryKeyTrustMs + 1000);
    line.reset(); // as if LINE had forgotten the key
    await run(id);
    expect(line.received().map((s) => s.to.length)).toEqual([200]);
    expect(await status(id)).toMatchObject({ status: 'failed', sent: 700, failed: 500, error: { code: 'DELIVERY_OUTCOME_UNKNOWN' } });
  });

  it('one execution at a time: a second one while the first runs is refused as busy (the job retries later)', async () => {
    const id = await deliver({ segmentId: bigSegment, messages: coupon });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const first = run(id, { afterSend: async (n) => { if (n === 0) { entered(); await gate; } } });
    await inside;
    await expect(run(id)).rejects.toMatchObject({ code: 'DELIVERY_BUSY', retryable: true });
    release();
    await first;
    expect(await status(id)).toMatchObject({ status: 'sent', sent: 1200 });
    expect(line.received()).toHaveLength(3);
  });

  it('the LINE token removed after queuing: the delivery fails with LINE_NOT_CONFIGURED', async () => {
    const b = await makeTenant(t, { lineAccessToken: 'token-a' });
    const f = await numberField(b);
    await friendsWith(b.id, f, 1, () => 3000);
    const id = await deliver({ segmentId: await segmentOf(b, f), messages: coupon }, b);
    await t.ctx.db.pool.query(`UPDATE tenants SET line_access_token_enc = NULL WHERE id = $1`, [b.id]);
    await run(id);
    expect(await status(id, b)).toMatchObject({ status: 'failed', error: { code: 'LINE_NOT_CONFIGURED' } });
  });

  describe('validation when queuing', () => {
    const err = async (body: unknown, who: TestTenant = a) => {
      const res = await api('POST', '/api/v1/deliveries', body, who);
      return { status: res.statusCode, ...res.json().error };
    };
    it('messages: 1 to 5 sendable LINE message objects (400 INVALID_MESSAGE naming the problem)', async () => {
      const bad: [unknown, string][] = [
        [[], 'messages'],
        [undefined, 'messages'],
        [Array(6).fill(coupon[0]), 'messages'],
        [[{ type: 'text', text: '' }], 'messages[0].text'],
        [[{ type: 'text', text: 'あ'.repeat(5001) }], 'messages[0].text'],
        [[coupon[0], { type: 'video' }], 'messages[1].type'],
        [[{ text: 'no type' }], 'messages[0].type'],
        [['hello'], 'messages[0]'],
        [[{ type: 'image', originalContentUrl: 'http://example.jp/a.jpg', previewImageUrl: 'https://example.jp/a.jpg' }], 'messages[0].originalContentUrl'],
        [[{ type: 'image', originalContentUrl: 'https://example.jp/a.jpg' }], 'messages[0].previewImageUrl'],
        [[{ type: 'sticker', packageId: '446' }], 'messages[0].stickerId'],
        [[{ type: 'flex', contents: { type: 'bubble' } }], 'messages[0].altText'],
        [[{ type: 'flex', altText: 'クーポン', contents: { type: 'box' } }], 'messages[0].contents'],
        [[{ type: 'flex', altText: 'クーポン', contents: { type: 'carousel', contents: [] } }], 'messages[0].contents.contents'],
      ];
      for (const [messages, path] of bad) {
        const e = await err({ segmentId: bigSegment, messages });
        expect(e, JSON.stringify(messages)?.slice(0, 80)).toMatchObject({ status: 400, code: 'INVALID_MESSAGE', details: { path } });
      }
      const ok = [
        { type: 'text', text: '🎁'.repeat(5000) },
        { type: 'image', originalContentUrl: 'https://example.jp/a.jpg', previewImageUrl: 'https://example.jp/p.jpg' },
        { type: 'sticker', packageId: '446', stickerId: '1988' },
        { type: 'flex', altText: 'クーポン', contents: { type: 'bubble', body: { type: 'box', layout: 'vertical', contents: [] } } },
      ];
      const id = await deliver({ segmentId: bigSegment, messages: ok, scheduledAt: '2026-12-01T10:00:00+09:00' });
      expect((await status(id)).messages).toEqual(ok);
      await api('POST', `/api/v1/deliveries/${id}/cancel`);
    });

    it('scheduledAt: a time with its offset, not in the past, within a year', async () => {
      for (const scheduledAt of ['2026-12-01 10:00', '2026-12-01T10:00:00', 'tomorrow', '2026-11-28T11:58:00+09:00', '2028-01-01T00:00:00Z', 12]) {
        expect(await err({ segmentId: bigSegment, messages: coupon, scheduledAt }), String(scheduledAt)).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
      }
    });

    it('the segment must be the tenant’s (404); the tenant needs a LINE token (422 LINE_NOT_CONFIGURED); no unknown properties', async () => {
      const b = await makeTenant(t);
      expect(await err({ segmentId: bigSegment, messages: coupon }, b)).toMatchObject({ status: 404, code: 'NOT_FOUND' });
      expect(await err({ segmentId: '99999999', messages: coupon })).toMatchObject({ status: 404 });
      expect(await err({ segmentId: 'x', messages: coupon })).toMatchObject({ status: 404 });
      expect(await err({ messages: coupon })).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
      expect(await err({ segmentId: bigSegment, messages: coupon, to: ['U1'] })).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
      const f = await numberField(b);
      const e = await err({ segmentId: await segmentOf(b, f), messages: coupon }, b);
      expect(e).toMatchObject({ status: 422, code: 'LINE_NOT_CONFIGURED' });
      expect(e.message).toMatch(/--line-access-token/);
      const none = await t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM deliveries WHERE tenant_id = $1`, [b.id]);
      expect(none.rows[0].n).toBe(0);
    });

    it('GET of an unknown, malformed or other tenant’s delivery: 404', async () => {
      const id = await deliver({ segmentId: bigSegment, messages: coupon, scheduledAt: '2026-12-01T10:00:00+09:00' });
      const b = await makeTenant(t);
      expect((await api('GET', `/api/v1/deliveries/${id}`, undefined, b)).statusCode).toBe(404);
      expect((await api('POST', `/api/v1/deliveries/${id}/cancel`, undefined, b)).statusCode).toBe(404);
      expect((await api('GET', '/api/v1/deliveries/nope')).statusCode).toBe(404);
      expect((await api('GET', `/api/v1/deliveries/${crypto.randomUUID()}`)).statusCode).toBe(404);
      const list = (await api('GET', `/api/v1/deliveries?segmentId=${bigSegment}`)).json();
      expect(list.items.map((d: { id: string }) => d.id)).toContain(id);
      expect((await api('GET', `/api/v1/deliveries?segmentId=${bigSegment}`, undefined, b)).statusCode).toBe(404);
      await api('POST', `/api/v1/deliveries/${id}/cancel`);
    });
  });
});

describe('deliveries through the job queue', () => {
  it('POST /api/v1/deliveries is sent by a worker', async () => {
    const line = await startFakeLine();
    line.addChannel({ channelAccessToken: 'token-q', channelSecret: 'q'.repeat(32), loginChannelId: '1650000009' });
    const t = await createTestApp({ work: true, env: { LINE_API_ORIGIN: line.origin } });
    try {
      const { tenant, apiToken } = await createTenant(t.ctx, { name: 'キュー商店', lineAccessToken: 'token-q' });
      const auth = { authorization: `Bearer ${apiToken}` };
      const cat = (await t.app.inject({ method: 'POST', url: '/api/v1/custom-data/categories', headers: auth, payload: { name: 'c' } })).json();
      const field = (await t.app.inject({ method: 'POST', url: `/api/v1/custom-data/categories/${cat.id}/fields`, headers: auth, payload: { name: 'n', type: 'number' } })).json();
      const friend = await makeFriend(t, tenant.id);
      await writeCustomValues(t.ctx.db.pool, tenant.id, [{ friendId: friend, fieldId: Number(field.id), value: 3000 }]);
      const seg = (
        await t.app.inject({ method: 'POST', url: '/api/v1/segments', headers: auth, payload: { name: 's', match: 'all', conditions: [{ fieldId: field.id, op: 'gte', value: 3000 }] } })
      ).json();
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/deliveries', headers: auth, payload: { segmentId: seg.id, messages: coupon } });
      expect(res.statusCode).toBe(201);
      const until = Date.now() + 15_000;
      let d: { status: string };
      do {
        await new Promise((r) => setTimeout(r, 100));
        d = (await t.app.inject({ method: 'GET', url: `/api/v1/deliveries/${res.json().id}`, headers: auth })).json();
      } while (d.status !== 'sent' && Date.now() < until);
      expect(d).toMatchObject({ status: 'sent', targets: 1, sent: 1, failed: 0 });
      expect(line.received()).toHaveLength(1);
    } finally {
      await t.close();
      await line.close();
    }
  });
});
