import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { followEvent, startFakeLine, textMessageEvent, unfollowEvent, type FakeChannel, type FakeLine } from '../../src/dev/line/index.js';
import { verifyLineSignature } from '../../src/line/signature.js';
import { parseLineWebhook } from '../../src/line/webhook.js';

const TOKEN = 'fake-token-for-the-fake';
const U1 = `U${'1'.repeat(32)}`;
let t = Date.parse('2026-11-28T03:00:00Z');
let line: FakeLine;
let channel: FakeChannel;

const call = (path: string, init: RequestInit = {}, token: string | null = TOKEN) =>
  fetch(line.origin + path, {
    ...init,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) },
  }).then(async (r) => ({ status: r.status, headers: r.headers, body: (await r.json()) as Record<string, unknown> }));
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(path, { method: 'POST', body: JSON.stringify(body), headers });

beforeAll(async () => {
  line = await startFakeLine({ now: () => t });
  channel = line.addChannel({ channelAccessToken: TOKEN, channelSecret: 'channel-secret', loginChannelId: '1650000002' });
});
afterAll(() => line.close());
beforeEach(() => line.reset());

describe('fake LINE: authentication', () => {
  it('answers a missing or unknown token with LINE\'s 401 bodies', async () => {
    expect(await call(`/v2/bot/profile/${U1}`, {}, null)).toMatchObject({ status: 401, body: { message: expect.stringMatching(/^Authorization header required/) } });
    expect(await call(`/v2/bot/profile/${U1}`, {}, 'nope')).toMatchObject({
      status: 401,
      body: { message: 'Authentication failed. Confirm that the access token in the authorization header is valid.' },
    });
  });

  it('never records the Authorization header', async () => {
    await call(`/v2/bot/profile/${U1}`);
    expect(JSON.stringify(line.requests())).not.toContain(TOKEN);
  });
});

describe('fake LINE: sends', () => {
  const text = { type: 'text', text: 'hi' };

  it('validates multicast like LINE: at most 500 recipients, 1 to 5 messages, real user IDs', async () => {
    const many = Array.from({ length: 501 }, (_, i) => `U${i.toString(16).padStart(32, '0')}`);
    const r = await post('/v2/bot/message/multicast', { to: many, messages: [text] });
    expect(r).toMatchObject({ status: 400, body: { message: 'The request body has 1 error(s)', details: [{ property: 'to' }] } });
    const six = await post('/v2/bot/message/multicast', { to: [U1], messages: Array(6).fill(text) });
    expect(six.body.details).toEqual([{ message: 'Size must be between 1 and 5', property: 'messages' }]);
    const name = await post('/v2/bot/message/multicast', { to: ['山田'], messages: [text] });
    expect(name.body.details).toEqual([{ message: 'Invalid user ID', property: 'to[0]' }]);
    expect(await post('/v2/bot/message/multicast', { to: [U1], messages: [text] })).toMatchObject({ status: 200, body: {} });
    expect(line.received()).toHaveLength(1);
  });

  it('answers a repeated retry key with 409 and the accepted request id, for 24 hours', async () => {
    const key = { 'x-line-retry-key': '123e4567-e89b-12d3-a456-426614174000' };
    const first = await post('/v2/bot/message/push', { to: U1, messages: [text] }, key);
    expect(first.status).toBe(200);
    const again = await post('/v2/bot/message/push', { to: U1, messages: [text] }, key);
    expect(again).toMatchObject({ status: 409, body: { message: 'The retry key is already accepted', sentMessages: first.body.sentMessages } });
    expect(again.headers.get('x-line-accepted-request-id')).toBe(first.headers.get('x-line-request-id'));
    t += 24 * 3600 * 1000;
    expect((await post('/v2/bot/message/push', { to: U1, messages: [text] }, key)).status).toBe(200);
    expect(line.received()).toHaveLength(2);
  });

  it('refuses a retry key that is not a UUID', async () => {
    expect((await post('/v2/bot/message/push', { to: U1, messages: [text] }, { 'x-line-retry-key': 'abc' })).status).toBe(400);
  });

  it('injects faults in order, with Retry-After, then recovers', async () => {
    line.failNext({ status: 429, retryAfter: 2, count: 2 });
    const a = await post('/v2/bot/message/push', { to: U1, messages: [text] });
    expect(a).toMatchObject({ status: 429, body: { message: 'Too Many Requests' } });
    expect(a.headers.get('retry-after')).toBe('2');
    expect((await post('/v2/bot/message/push', { to: U1, messages: [text] })).status).toBe(429);
    expect((await post('/v2/bot/message/push', { to: U1, messages: [text] })).status).toBe(200);
  });
});

describe('fake LINE: webhooks', () => {
  it('builds a signed body that Kizuna\'s own checks accept', () => {
    const { body, headers } = line.webhookRequest([followEvent(U1), textMessageEvent(U1, 'こんにちは'), unfollowEvent(U1)]);
    expect(verifyLineSignature(Buffer.from(body), channel.channelSecret, headers['x-line-signature'])).toBe(true);
    expect(line.signature(body, channel.channelSecret)).toBe(headers['x-line-signature']);
    const hook = parseLineWebhook(JSON.parse(body));
    expect(hook.destination).toBe(channel.botUserId);
    expect(hook.events.map((e) => e.type)).toEqual(['follow', 'message', 'unfollow']);
    expect(hook.events[0]).toMatchObject({ timestamp: t, deliveryContext: { isRedelivery: false }, source: { userId: U1 } });
    const ids = hook.events.map((e) => (e as { webhookEventId: string }).webhookEventId);
    expect(new Set(ids).size).toBe(3);
    expect(ids.every((id) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(id))).toBe(true);
  });

  it('delivers a webhook over HTTP the way LINE does', async () => {
    const got: { headers: http.IncomingHttpHeaders; body: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        got.push({ headers: req.headers, body });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/line/t1`;
    expect(await line.sendWebhook(url, [followEvent(U1, { isUnblocked: true })])).toEqual({ status: 200, body: 'ok' });
    server.close();
    expect(verifyLineSignature(Buffer.from(got[0]!.body), 'channel-secret', got[0]!.headers['x-line-signature'])).toBe(true);
    expect(JSON.parse(got[0]!.body).events[0].follow).toEqual({ isUnblocked: true });
  });
});
