// LINE at the HTTP edge, with the development LINE Platform (src/dev/line) as the other side: webhook signatures, follow /
// unfollow / redelivery, the profile fetched by a job, and email acquisition through LIFF ID tokens — plus the email event
// reaching a listener through the real job queue.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { onFriendEmailChanged, type FriendEmailChangedEvent } from '../../src/crm/events.js';
import { fetchProfileJob } from '../../src/crm/line-friends.js';
import { followEvent, startFakeLine, unfollowEvent, textMessageEvent, type FakeChannel, type FakeLine } from '../../src/dev/line/index.js';
import { liffMessages } from '../../src/line/liff-messages.js';
import { signLineBody } from '../../src/line/signature.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { lineUserId, makeTenant, type TestTenant } from './fixtures.js';

/** Polls until check() passes (the job queue works on its own time); fails after timeoutMs. */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('LINE webhook and LIFF email', () => {
  const clock = new ManualClock('2026-11-28T03:00:00Z');
  let fake: FakeLine;
  let t: TestApp;
  let a: TestTenant;
  let chA: FakeChannel;
  let chB: FakeChannel;
  const events: FriendEmailChangedEvent[] = [];
  let unlisten: () => void;

  beforeAll(async () => {
    fake = await startFakeLine({ now: () => clock.now().getTime() });
    t = await createTestApp({ clock, work: true, env: { LINE_API_ORIGIN: fake.origin } });
    chA = fake.addChannel({ channelAccessToken: 'token-a', channelSecret: 'a'.repeat(32), loginChannelId: '1650000001' });
    chB = fake.addChannel({ channelAccessToken: 'token-b', channelSecret: 'b'.repeat(32), loginChannelId: '1650000002' });
    a = await makeTenant(t, {
      lineChannelId: '2000000001',
      lineChannelSecret: chA.channelSecret,
      lineAccessToken: chA.channelAccessToken,
      lineLoginChannelId: chA.loginChannelId,
      liffId: '1650000001-AbCdEfGh',
    });
    unlisten = onFriendEmailChanged(async (e) => {
      events.push(e);
    });
  });
  afterAll(async () => {
    unlisten();
    await t.close();
    await fake.close();
  });

  const webhook = (body: string, headers: Record<string, string>, tenantId = a.id) =>
    t.app.inject({ method: 'POST', url: `/webhooks/line/${tenantId}`, headers: { 'content-type': 'application/json', ...headers }, payload: body });

  const friend = async (userId: string) =>
    (await t.ctx.db.pool.query(`SELECT id, display_name, status, email, email_source, email_acquired_at FROM friends WHERE tenant_id = $1 AND line_user_id = $2`, [a.id, userId])).rows[0];
  const stored = async () =>
    (await t.ctx.db.pool.query(`SELECT (SELECT count(*)::int FROM friends) AS friends, (SELECT count(*)::int FROM line_webhook_events) AS events`)).rows[0];

  describe('signature', () => {
    it('missing, wrong, or over a tampered body: 401 and nothing stored', async () => {
      const user = lineUserId('sig');
      const { body, headers } = fake.webhookRequest([followEvent(user)], chA);
      const before = await stored();

      const missing = await webhook(body, {});
      expect(missing.statusCode).toBe(401);
      expect(missing.json().error.code).toBe('INVALID_SIGNATURE');

      const otherChannel = fake.webhookRequest([followEvent(user)], chB); // signed with another channel's secret
      expect((await webhook(otherChannel.body, otherChannel.headers)).statusCode).toBe(401);

      const tampered = body.replace(user, lineUserId('someone else'));
      expect((await webhook(tampered, headers)).statusCode).toBe(401);
      expect((await webhook(body, { 'x-line-signature': 'not base64 at all' })).statusCode).toBe(401);

      expect(await stored()).toEqual(before);
    });

    it('an unknown tenant or one without a LINE channel is 404', async () => {
      const { body, headers } = fake.webhookRequest([followEvent(lineUserId('x'))], chA);
      expect((await webhook(body, headers, '00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
      expect((await webhook(body, headers, 'not-a-uuid')).statusCode).toBe(404);
      const bare = await makeTenant(t);
      expect((await webhook(body, headers, bare.id)).statusCode).toBe(404);
    });

    it("LINE's Verify button (no events) answers 200", async () => {
      const { body, headers } = fake.webhookRequest([], chA);
      expect((await webhook(body, headers)).statusCode).toBe(200);
    });
  });

  describe('follow, unfollow, redelivery', () => {
    const user = lineUserId('follower');

    it('follow creates an active friend; the display name comes from the profile endpoint through a job', async () => {
      fake.setProfile(user, { displayName: 'LINE 花子' });
      const { body, headers } = fake.webhookRequest([followEvent(user)], chA);
      const res = await webhook(body, headers);
      expect(res.statusCode).toBe(200);
      expect(await friend(user)).toMatchObject({ status: 'active' });
      await eventually(async () => expect((await friend(user)).display_name).toBe('LINE 花子'));
      expect(fake.requests().some((r) => r.path === `/v2/bot/profile/${user}` && r.status === 200)).toBe(true);
    });

    it('unfollow marks the friend blocked; a redelivered older follow changes nothing', async () => {
      clock.advance(1000);
      const followed = fake.webhookRequest([followEvent(user, { isUnblocked: true })], chA);
      expect((await webhook(followed.body, followed.headers)).statusCode).toBe(200);
      clock.advance(60_000);
      const unfollowed = fake.webhookRequest([unfollowEvent(user)], chA);
      expect((await webhook(unfollowed.body, unfollowed.headers)).statusCode).toBe(200);
      expect((await friend(user)).status).toBe('blocked');

      const before = await stored();
      // LINE redelivers the earlier follow (same webhookEventId, isRedelivery: true): it must not re-activate the friend.
      const again = JSON.parse(followed.body);
      again.events[0].deliveryContext.isRedelivery = true;
      const body = JSON.stringify(again);
      const res = await webhook(body, { 'x-line-signature': fake.signature(body, chA.channelSecret) });
      expect(res.statusCode).toBe(200);
      expect((await friend(user)).status).toBe('blocked');
      // and the unfollow redelivered as is: nothing either
      expect((await webhook(unfollowed.body, unfollowed.headers)).statusCode).toBe(200);
      expect(await stored()).toEqual(before);
    });

    it('a follow after the unfollow re-activates the same friend (no duplicate)', async () => {
      clock.advance(60_000);
      const { body, headers } = fake.webhookRequest([followEvent(user, { isUnblocked: true })], chA);
      expect((await webhook(body, headers)).statusCode).toBe(200);
      const { rows } = await t.ctx.db.pool.query(`SELECT status FROM friends WHERE line_user_id = $1`, [user]);
      expect(rows).toEqual([{ status: 'active' }]);
    });

    it('events Kizuna does not act on are acknowledged', async () => {
      const { body, headers } = fake.webhookRequest([textMessageEvent(user, 'こんにちは')], chA);
      expect((await webhook(body, headers)).statusCode).toBe(200);
    });

    it('a signed event Kizuna cannot store (timestamp 1e20, U+0000 in its id or values) is acknowledged and set aside; the others apply', async () => {
      const good = lineUserId('after-hostile');
      const base = JSON.parse(fake.webhookBody([followEvent(good)], { destination: 'Ubot' })) as { destination: string; events: Record<string, unknown>[] };
      const events = [
        { ...base.events[0], webhookEventId: 'EV-HUGE-TIME', timestamp: 1e20, source: { type: 'user', userId: lineUserId('huge') } },
        { ...base.events[0], webhookEventId: 'EV\u0000NUL', source: { type: 'user', userId: lineUserId('nul-id') } },
        { ...base.events[0], webhookEventId: 'EV-NUL-TYPE', type: 'fol\u0000low' },
        { ...base.events[0], webhookEventId: 'EV-LONE-SURROGATE', source: { type: 'user', userId: '\ud800' } },
        base.events[0],
      ];
      const body = JSON.stringify({ destination: base.destination, events });
      const res = await webhook(body, { 'x-line-signature': signLineBody(body, chA.channelSecret) });
      expect(res.statusCode).toBe(200);
      expect((await friend(good)).status).toBe('active');
      expect(await friend(lineUserId('huge'))).toBeUndefined();
      expect(await friend(lineUserId('nul-id'))).toBeUndefined();
      const { rows } = await t.ctx.db.pool.query(
        `SELECT webhook_event_id, type FROM line_webhook_events WHERE tenant_id = $1 AND webhook_event_id LIKE 'EV-%' ORDER BY 1`,
        [a.id],
      );
      expect(rows).toEqual([
        { webhook_event_id: 'EV-HUGE-TIME', type: 'ignored:follow' },
        { webhook_event_id: 'EV-LONE-SURROGATE', type: 'ignored:follow' },
        { webhook_event_id: 'EV-NUL-TYPE', type: 'ignored:' },
      ]);
    });

    it('a failing profile endpoint does not lose the follow: the friend is stored and the job fills the name later', async () => {
      const late = lineUserId('late-profile');
      fake.setProfile(late, { displayName: '遅れて届く名前' });
      fake.failNext({ status: 500, count: 1000 });
      const { body, headers } = fake.webhookRequest([followEvent(late)], chA);
      expect((await webhook(body, headers)).statusCode).toBe(200);
      const f = await friend(late);
      expect(f).toMatchObject({ status: 'active', display_name: null });
      // the job failed against LINE's 500s and is waiting for its retry
      await eventually(async () => {
        const { rows } = await t.ctx.db.pool.query(`SELECT state FROM pgboss.job WHERE name = $1 AND data->>'friendId' = $2`, [fetchProfileJob.name, String(f.id)]);
        expect(rows.map((r) => r.state)).toEqual(['retry']);
      });
      expect((await friend(late)).display_name).toBeNull();
      fake.reset(); // LINE is back; run what the retry will run
      const handler = await fetchProfileJob.handler();
      await handler({ tenantId: a.id, friendId: f.id }, { ...t.ctx, jobId: 'manual', retryCount: 1 });
      expect((await friend(late)).display_name).toBe('遅れて届く名前');
    });
  });

  describe('LIFF email acquisition', () => {
    const member = lineUserId('liff-member');
    const post = (idToken: string, tenantId = a.id) =>
      t.app.inject({ method: 'POST', url: `/liff/${tenantId}/email`, payload: { idToken } });

    beforeAll(async () => {
      const { body, headers } = fake.webhookRequest([followEvent(member)], chA);
      expect((await webhook(body, headers)).statusCode).toBe(200);
    });

    it('serves the page with the tenant’s LIFF id; 404 for a tenant without LIFF', async () => {
      const page = await t.app.inject({ method: 'GET', url: `/liff/${a.id}/email` });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      expect(page.body).toContain('1650000001-AbCdEfGh');
      expect(page.body).toContain(`/liff/${a.id}/email`);
      const bare = await makeTenant(t);
      expect((await t.app.inject({ method: 'GET', url: `/liff/${bare.id}/email` })).statusCode).toBe(404);
    });

    it('no email in the token: a clear Japanese message, nothing stored', async () => {
      const res = await post(fake.issueIdToken({ sub: member, aud: chA.loginChannelId, email: null }));
      expect(res.statusCode).toBe(422);
      expect(res.json().error).toEqual({ code: 'LIFF_EMAIL_MISSING', message: liffMessages.noEmail });
      expect((await friend(member)).email).toBeNull();
    });

    it('a token for another channel (wrong audience) is refused, nothing stored', async () => {
      const res = await post(fake.issueIdToken({ sub: member, aud: chB.loginChannelId, email: 'wrong@example.jp' }));
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('LIFF_AUDIENCE_MISMATCH');
      expect((await friend(member)).email).toBeNull();
    });

    it('an expired token is refused, nothing stored', async () => {
      const token = fake.issueIdToken({ sub: member, aud: chA.loginChannelId, email: 'late@example.jp', expiresInSec: 60 });
      clock.advance(61_000);
      const res = await post(token);
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toEqual({ code: 'LIFF_TOKEN_EXPIRED', message: liffMessages.expired });
      expect((await friend(member)).email).toBeNull();
    });

    it('a forged token or a user who is not a friend is refused', async () => {
      expect((await post('eyJhbGciOiJIUzI1NiJ9.e30.forged')).json().error.code).toBe('LIFF_TOKEN_INVALID');
      const stranger = await post(fake.issueIdToken({ sub: lineUserId('stranger'), aud: chA.loginChannelId, email: 's@example.jp' }));
      expect(stranger.statusCode).toBe(403);
      expect(stranger.json().error.code).toBe('LIFF_NOT_FRIEND');
      const { rows } = await t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM friends WHERE email = 's@example.jp'`);
      expect(rows[0].n).toBe(0);
    });

    it('a valid token stores the email on the friend and the event reaches a listener through the job queue', async () => {
      const res = await post(fake.issueIdToken({ sub: member, aud: chA.loginChannelId, email: 'Hanako@Example.jp' }));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ ok: true, email: 'Hanako@Example.jp' });
      const f = await friend(member);
      expect(f).toMatchObject({ email: 'Hanako@Example.jp', email_source: 'liff' });
      expect(new Date(f.email_acquired_at).toISOString()).toBe(clock.now().toISOString());
      const verify = fake.requests().filter((r) => r.path === '/oauth2/v2.1/verify').at(-1)!;
      expect(verify.body).toMatchObject({ client_id: chA.loginChannelId });

      const event = await eventually(async () => {
        const e = events.find((x) => x.friendId === f.id);
        expect(e).toBeDefined();
        return e!;
      });
      expect(event).toMatchObject({ tenantId: a.id, oldEmail: null, newEmail: 'Hanako@Example.jp', newEmailNormalized: 'hanako@example.jp', source: 'liff' });

      // The same email again changes nothing and emits nothing.
      const count = events.length;
      expect((await post(fake.issueIdToken({ sub: member, aud: chA.loginChannelId, email: 'Hanako@Example.jp' }))).statusCode).toBe(200);
      const { rows } = await t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM friend_email_events WHERE friend_id = $1`, [f.id]);
      expect(rows[0].n).toBe(1);
      expect(events.length).toBe(count);
    });

    it('changing the email through the API emits the event too', async () => {
      const f = await friend(member);
      const res = await t.app.inject({ method: 'PUT', url: `/api/v1/friends/${f.id}/email`, headers: a.auth, payload: { email: 'new@example.jp' } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ email: 'new@example.jp', changed: true });
      await eventually(async () =>
        expect(events.find((e) => e.friendId === f.id && e.newEmail === 'new@example.jp')).toMatchObject({ oldEmail: 'Hanako@Example.jp', source: 'api' }),
      );
    });

    it('each POST costs a call to LINE, so one client may send 10 a minute (429 with Retry-After, LINE not called); the next minute it may again', async () => {
      const client = '198.51.100.44';
      const verifyCalls = () => fake.requests().filter((r) => r.path.includes('/verify')).length;
      const before = verifyCalls();
      for (let i = 0; i < 10; i++) {
        const res = await t.app.inject({ method: 'POST', url: `/liff/${a.id}/email`, remoteAddress: client, payload: { idToken: `forged.${i}.token` } });
        expect(res.statusCode).not.toBe(429);
      }
      expect(verifyCalls() - before).toBe(10);
      const limited = await t.app.inject({ method: 'POST', url: `/liff/${a.id}/email`, remoteAddress: client, payload: { idToken: 'forged.11.token' } });
      expect(limited.statusCode).toBe(429);
      expect(limited.json().error).toEqual({ code: 'RATE_LIMITED', message: liffMessages.unavailable, details: { retryAfterSeconds: 60 } });
      expect(limited.headers['retry-after']).toBe('60');
      expect(verifyCalls() - before).toBe(10);
      // another client of the same tenant is not affected; the same client may try again in the next minute
      expect((await t.app.inject({ method: 'POST', url: `/liff/${a.id}/email`, remoteAddress: '198.51.100.45', payload: { idToken: 'x.y.z' } })).statusCode).not.toBe(429);
      clock.advance(60_000);
      expect((await t.app.inject({ method: 'POST', url: `/liff/${a.id}/email`, remoteAddress: client, payload: { idToken: 'x.y.z' } })).statusCode).not.toBe(429);
    });

    it('a blocked friend cannot register an email', async () => {
      clock.advance(60_000);
      const { body, headers } = fake.webhookRequest([unfollowEvent(member)], chA);
      await webhook(body, headers);
      const res = await post(fake.issueIdToken({ sub: member, aud: chA.loginChannelId, email: 'blocked@example.jp' }));
      expect(res.json().error.code).toBe('LIFF_NOT_FRIEND');
    });
  });
});
