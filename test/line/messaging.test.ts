import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeLine, type FakeLine } from '../../src/dev/line/index.js';
import { LineApiError } from '../../src/line/errors.js';
import { batchRetryKey, MessagingApi, type MessagingApiOptions } from '../../src/line/messaging.js';

const TOKEN = 'fake-channel-access-token-0123456789';
const user = (n: number) => `U${n.toString(16).padStart(32, '0')}`;
const hello = [{ type: 'text', text: 'こんにちは' }];

let line: FakeLine;
let slept: number[];

function client(opts: Partial<MessagingApiOptions> = {}): MessagingApi {
  return new MessagingApi({
    origin: line.origin,
    channelAccessToken: TOKEN,
    sleep: async (ms) => {
      slept.push(ms);
    },
    random: () => 0.5,
    ...opts,
  });
}

beforeAll(async () => {
  line = await startFakeLine({ now: () => Date.parse('2026-11-28T03:00:00Z') });
  line.addChannel({ channelAccessToken: TOKEN, channelSecret: 'secret', loginChannelId: '1650000000' });
});
afterAll(() => line.close());
beforeEach(() => {
  line.reset();
  slept = [];
});

describe('getProfile', () => {
  it('returns the profile LINE knows', async () => {
    line.setProfile(user(1), { displayName: '山田 花子', pictureUrl: 'https://profile.line-scdn.net/abc', language: 'ja' });
    expect(await client().getProfile(user(1))).toEqual({
      userId: user(1),
      displayName: '山田 花子',
      pictureUrl: 'https://profile.line-scdn.net/abc',
      language: 'ja',
    });
  });

  it('returns null for a user LINE does not know for this channel (404)', async () => {
    expect(await client().getProfile(user(404))).toBeNull();
  });

  it('fails with LINE_UNAUTHORIZED, not retried, and without the token in the error', async () => {
    const err = await client({ channelAccessToken: 'revoked-token-XYZ' })
      .getProfile(user(1))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LineApiError);
    expect(err).toMatchObject({ code: 'LINE_UNAUTHORIZED', retryable: false, details: { lineStatus: 401 } });
    expect((err as LineApiError).lineDetails.lineMessage).toMatch(/Authentication failed/);
    expect(JSON.stringify(err) + String(err) + JSON.stringify((err as LineApiError).toJSON())).not.toContain('revoked-token-XYZ');
    expect(line.requests()).toHaveLength(1);
    expect(slept).toEqual([]);
  });

  it('does not expose the token when the client itself is logged or inspected', () => {
    const c = client();
    expect(JSON.stringify(c)).not.toContain(TOKEN);
    expect(Object.values(c)).not.toContain(TOKEN);
  });
});

describe('push', () => {
  it('sends with the caller\'s retry key and returns the sent message ids', async () => {
    const key = '123e4567-e89b-12d3-a456-426614174000';
    const res = await client().push(user(2), hello, key);
    expect(res).toMatchObject({ retryKey: key, duplicate: false });
    expect(res.sentMessages).toHaveLength(1);
    expect(res.requestId).toBeTruthy();
    expect(line.received()).toMatchObject([{ kind: 'push', to: [user(2)], messages: hello, retryKey: key }]);
  });

  it('always sends a retry key, so its own retries can never deliver twice', async () => {
    await client().push(user(2), hello);
    expect(line.received()[0]!.retryKey).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('retries a 429 after the Retry-After LINE gave, then succeeds', async () => {
    line.failNext({ status: 429, retryAfter: 7 });
    const res = await client().push(user(3), hello);
    expect(res.duplicate).toBe(false);
    expect(slept).toEqual([7000]);
    expect(line.requests().map((r) => r.status)).toEqual([429, 200]);
    expect(line.received()).toHaveLength(1);
  });

  it('hands a long Retry-After to the caller instead of blocking on it', async () => {
    line.failNext({ status: 429, retryAfter: 3600 });
    await expect(client().push(user(3), hello)).rejects.toMatchObject({
      code: 'LINE_RATE_LIMITED',
      retryable: true,
      details: { retryAfterMs: 3_600_000 },
    });
    expect(slept).toEqual([]);
  });

  it('retries 500s a bounded number of times with growing, jittered delays, then fails LINE_UNAVAILABLE', async () => {
    line.failNext({ status: 500, count: 10 });
    const err = await client({ maxRetries: 3 }).push(user(4), hello).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LINE_UNAVAILABLE', retryable: true, details: { lineStatus: 500 } });
    expect(line.requests()).toHaveLength(4);
    expect(slept).toHaveLength(3);
    expect(slept[0]!).toBeLessThan(slept[1]!);
    expect(slept[1]!).toBeLessThan(slept[2]!);
    // Equal jitter: with random() = 0.5, each delay is three quarters of its step (500, 1000, 2000 ms).
    expect(slept).toEqual([375, 750, 1500]);
    expect(line.received()).toHaveLength(0);
  });

  it('takes the 409 after a lost answer as success: the message arrives exactly once', async () => {
    // LINE delivered the first attempt but answered 500; the retry carries the same key and LINE answers 409.
    line.failNext({ status: 500, accept: true });
    const res = await client().push(user(5), hello);
    expect(res.duplicate).toBe(true);
    expect(line.requests().map((r) => r.status)).toEqual([500, 409]);
    expect(line.received()).toHaveLength(1);
    expect(res.requestId).toBe(line.received()[0]!.requestId);
    expect(res.sentMessages).toHaveLength(1);
  });

  it('a re-run job with the same retry key is a no-op', async () => {
    const key = '0b9a1c1e-2f3d-4e5f-8a6b-7c8d9e0f1a2b';
    await client().push(user(6), hello, key);
    const again = await client().push(user(6), hello, key);
    expect(again.duplicate).toBe(true);
    expect(line.received()).toHaveLength(1);
  });

  it('does not retry LINE rejecting the message, and passes on what LINE said', async () => {
    const err = await client()
      .push(user(7), [{ type: 'text', text: '' }])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LINE_BAD_REQUEST', status: 422, retryable: false });
    expect((err as LineApiError).lineDetails.lineDetails).toEqual([{ message: 'Must not be empty', property: 'messages[0].text' }]);
    expect(line.requests()).toHaveLength(1);
  });

  it('tells an exhausted monthly allowance from rate limiting: not retried', async () => {
    line.failNext({ status: 429, message: 'You have reached your monthly limit.' });
    await expect(client().push(user(8), hello)).rejects.toMatchObject({ code: 'LINE_QUOTA_EXCEEDED', retryable: false });
    expect(line.requests()).toHaveLength(1);
  });

  it('refuses 0 or more than 5 messages and malformed retry keys before calling LINE', async () => {
    await expect(client().push(user(9), [])).rejects.toMatchObject({ code: 'LINE_BAD_REQUEST' });
    await expect(client().push(user(9), Array(6).fill(hello[0]))).rejects.toMatchObject({ code: 'LINE_BAD_REQUEST' });
    await expect(client().push(user(9), hello, 'job-42')).rejects.toThrow(/UUID/);
    expect(line.requests()).toHaveLength(0);
  });

  it('times out a silent LINE and retries, then reports LINE_UNAVAILABLE', async () => {
    let calls = 0;
    const hang: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => {
        calls++;
        init?.signal?.addEventListener('abort', () => reject(init.signal!.reason));
      });
    const err = await client({ fetch: hang, timeoutMs: 20, maxRetries: 2 }).push(user(10), hello).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LINE_UNAVAILABLE' });
    expect((err as Error).message).toMatch(/no answer within 20 ms/);
    expect(calls).toBe(3);
  });
});

describe('multicast', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => user(1000 + i));

  it('splits 1,200 recipients into 3 requests of at most 500', async () => {
    const key = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';
    const res = await client().multicast(many(1200), hello, key);
    expect(res.batches.map((b) => b.recipients)).toEqual([500, 500, 200]);
    const got = line.received();
    expect(got.map((r) => r.to.length)).toEqual([500, 500, 200]);
    expect(new Set(got.flatMap((r) => r.to)).size).toBe(1200);
    expect(got.map((r) => r.retryKey)).toEqual([key, batchRetryKey(key, 1), batchRetryKey(key, 2)]);
    expect(new Set(got.map((r) => r.retryKey)).size).toBe(3);
  });

  it('sends nothing for no recipients, and each user once when listed twice', async () => {
    expect(await client().multicast([], hello)).toEqual({ batches: [] });
    await client().multicast([user(1), user(2), user(1)], hello);
    expect(line.received()[0]!.to).toEqual([user(1), user(2)]);
  });

  it('repeating a multicast that failed half-way sends only the batches LINE had not accepted', async () => {
    const key = '9d2c4b1a-6e5f-4a3b-9c8d-7e6f5a4b3c2d';
    // Batch 0 goes through; batch 1 meets a 500 and, with no retries allowed, the call fails there.
    let n = 0;
    const flaky: typeof fetch = async (url, init) => {
      if (++n === 2) line.failNext({ status: 500 });
      return fetch(url, init);
    };
    const err = await client({ fetch: flaky, maxRetries: 0 }).multicast(many(1200), hello, key).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LINE_UNAVAILABLE', details: { completedBatches: 1, totalBatches: 3, retryKey: key } });
    expect(line.received()).toHaveLength(1);

    const again = await client().multicast(many(1200), hello, key);
    expect(again.batches.map((b) => b.duplicate)).toEqual([true, false, false]);
    expect(line.received().map((r) => r.to.length)).toEqual([500, 500, 200]);
  });
});
