import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLine, type FakeLine } from '../../src/dev/line/index.js';
import { verifyIdToken } from '../../src/line/login.js';

const CHANNEL = '1650000001';
const SUB = `U${'ab'.repeat(16)}`;
let t = Date.parse('2026-11-28T03:00:00Z');
const clock = () => t;
let line: FakeLine;

beforeAll(async () => {
  line = await startFakeLine({ now: clock });
  line.addChannel({ channelAccessToken: 'tok', channelSecret: 'sec', loginChannelId: CHANNEL });
});
afterAll(() => line.close());

const verify = (idToken: string, extra: Partial<Parameters<typeof verifyIdToken>[0]> = {}) =>
  verifyIdToken({ origin: line.origin, idToken, channelId: CHANNEL, now: clock, ...extra });

describe('verifyIdToken', () => {
  it('returns the user and the email LINE vouches for', async () => {
    const token = line.issueIdToken({ sub: SUB, aud: CHANNEL, email: 'Hanako@Example.jp', name: '花子' });
    const v = await verify(token);
    expect(v).toEqual({ sub: SUB, email: 'Hanako@Example.jp', name: '花子', aud: CHANNEL, exp: t / 1000 + 3600, iat: t / 1000 });
  });

  it('sends the form exactly as LINE documents it', async () => {
    line.reset();
    const token = line.issueIdToken({ sub: SUB, aud: CHANNEL });
    await verify(token);
    expect(line.requests()).toMatchObject([{ method: 'POST', path: '/oauth2/v2.1/verify', body: { id_token: token, client_id: CHANNEL } }]);
  });

  it('gives email null when the user has none or did not allow it', async () => {
    const v = await verify(line.issueIdToken({ sub: SUB, aud: CHANNEL, email: null }));
    expect(v.email).toBeNull();
    expect(v.sub).toBe(SUB);
  });

  it('refuses a token for another channel: LIFF_AUDIENCE_MISMATCH', async () => {
    const token = line.issueIdToken({ sub: SUB, aud: '1659999999', email: 'x@example.jp' });
    await expect(verify(token)).rejects.toMatchObject({ code: 'LIFF_AUDIENCE_MISMATCH', status: 401, retryable: false });
  });

  it('refuses an expired token as LINE says (the fake\'s clock moved on): LIFF_TOKEN_EXPIRED', async () => {
    const token = line.issueIdToken({ sub: SUB, aud: CHANNEL, expiresInSec: 600 });
    t += 601_000;
    await expect(verify(token)).rejects.toMatchObject({ code: 'LIFF_TOKEN_EXPIRED', status: 401, details: { lineMessage: 'IdToken expired.' } });
  });

  it('re-checks expiry itself when LINE (or whatever answers at its origin) still accepts the token', async () => {
    const token = line.issueIdToken({ sub: SUB, aud: CHANNEL, expiresInSec: 60 });
    await expect(verify(token, { now: () => t + 61_000 })).rejects.toMatchObject({ code: 'LIFF_TOKEN_EXPIRED' });
  });

  it('re-checks the audience itself', async () => {
    const claims = { iss: 'https://access.line.me', sub: SUB, aud: '1659999999', exp: t / 1000 + 60, iat: t / 1000, email: 'a@b.jp' };
    const liar: typeof fetch = async () => Response.json(claims);
    await expect(verify('x.y.z', { fetch: liar })).rejects.toMatchObject({ code: 'LIFF_AUDIENCE_MISMATCH' });
    await expect(verify('x.y.z', { fetch: async () => Response.json({ ...claims, aud: CHANNEL, iss: 'https://evil.example' }) })).rejects.toMatchObject({
      code: 'LIFF_TOKEN_INVALID',
    });
  });

  it('refuses garbage, forged and empty tokens: LIFF_TOKEN_INVALID', async () => {
    await expect(verify('garbage')).rejects.toMatchObject({ code: 'LIFF_TOKEN_INVALID', details: { lineMessage: 'Invalid IdToken.' } });
    const real = line.issueIdToken({ sub: SUB, aud: CHANNEL, email: 'a@b.jp' });
    const [h, , s] = real.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ iss: 'https://access.line.me', sub: 'Uevil', aud: CHANNEL, exp: 9e9, iat: 0, email: 'victim@example.jp' })).toString('base64url')}.${s}`;
    await expect(verify(forged)).rejects.toMatchObject({ code: 'LIFF_TOKEN_INVALID' });
    await expect(verify('')).rejects.toMatchObject({ code: 'LIFF_TOKEN_INVALID' });
  });

  it('maps LINE being down (connection refused) to LINE_UNAVAILABLE, retryable', async () => {
    const port = await freePort();
    await expect(verifyIdToken({ origin: `http://127.0.0.1:${port}`, idToken: 'a.b.c', channelId: CHANNEL })).rejects.toMatchObject({
      code: 'LINE_UNAVAILABLE',
      status: 503,
      retryable: true,
    });
  });

  it('maps a LINE 5xx to LINE_UNAVAILABLE', async () => {
    line.failNext({ status: 503, on: 'login' });
    await expect(verify(line.issueIdToken({ sub: SUB, aud: CHANNEL }))).rejects.toMatchObject({ code: 'LINE_UNAVAILABLE', retryable: true });
  });
});

/** A port nothing listens on: bind one, note it, release it. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
