// Verifying a LIFF ID token through LINE Login's verify endpoint (https://developers.line.biz/en/reference/line-login/#verify-id-token).
// LINE checks the signature, issuer, expiry and audience; Kizuna checks audience and expiry again on the answer, so that a
// misbehaving proxy, a misconfigured LINE_API_ORIGIN or a token for another tenant's channel can never yield a stored email.
import { z } from 'zod';
import { LineApiError, LineCodes } from './errors.js';
import { callLine, type FetchFn } from './http.js';

export interface VerifyIdTokenOptions {
  /** LINE_API_ORIGIN. */
  origin: string;
  idToken: string;
  /** The tenant's LINE Login channel ID (the LIFF app's channel), which must be the token's audience. */
  channelId: string;
  /** When the page sent one, LINE compares it with the token's nonce. */
  nonce?: string;
  fetch?: FetchFn;
  /** The clock for the expiry re-check (epoch ms or a Date). */
  now?: () => number | Date;
  timeoutMs?: number;
}

export interface VerifiedIdToken {
  /** The LINE user ID. */
  sub: string;
  /** null when the user has no email in LINE or did not allow the channel to have it. */
  email: string | null;
  name?: string;
  picture?: string;
  aud: string;
  /** Seconds since the epoch, as in the token. */
  exp: number;
  iat: number;
}

const claims = z.looseObject({
  iss: z.string(),
  sub: z.string().min(1),
  aud: z.union([z.string(), z.number()]).transform(String),
  exp: z.number(),
  iat: z.number(),
  name: z.string().optional(),
  picture: z.string().optional(),
  email: z.string().optional(),
});

const ISSUER = 'https://access.line.me';
// LIFF ID tokens are around 1 KB; anything far larger is not one and is not worth sending to LINE.
const MAX_TOKEN_LENGTH = 16 * 1024;

export async function verifyIdToken(opts: VerifyIdTokenOptions): Promise<VerifiedIdToken> {
  const { idToken, channelId } = opts;
  // A tenant without a LINE Login channel is a configuration gap, not the user's fault: fail loudly instead of blaming the token.
  if (!channelId) throw new TypeError('verifyIdToken needs the LINE Login channel ID (channelId)');
  if (typeof idToken !== 'string' || idToken.length === 0 || idToken.length > MAX_TOKEN_LENGTH) {
    throw invalid('The ID token is missing or is not a LINE ID token.');
  }
  const form = new URLSearchParams({ id_token: idToken, client_id: channelId });
  if (opts.nonce) form.set('nonce', opts.nonce);
  const res = await callLine(
    opts.fetch ?? fetch,
    `${opts.origin.replace(/\/+$/, '')}/oauth2/v2.1/verify`,
    { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() },
    opts.timeoutMs ?? 10_000,
  );

  if (res.status !== 200) throw verifyError(res.status, res.body, res.requestId);

  const parsed = claims.safeParse(res.body);
  if (!parsed.success) {
    throw new LineApiError(LineCodes.LINE_UNAVAILABLE, 'LINE answered the ID token check with an unreadable body.', {
      lineStatus: res.status,
      requestId: res.requestId,
    });
  }
  const c = parsed.data;
  if (c.iss !== ISSUER) throw invalid(`The ID token was not issued by LINE (iss ${c.iss}).`);
  if (c.aud !== channelId) {
    throw new LineApiError(LineCodes.LIFF_AUDIENCE_MISMATCH, "The ID token was issued for another LINE Login channel than this tenant's.");
  }
  const now = opts.now?.() ?? Date.now();
  if (c.exp * 1000 <= (typeof now === 'number' ? now : now.getTime())) {
    throw new LineApiError(LineCodes.LIFF_TOKEN_EXPIRED, 'The ID token has expired; open the page again for a new one.');
  }
  return {
    sub: c.sub,
    email: c.email?.trim() ? c.email.trim() : null,
    ...(c.name !== undefined ? { name: c.name } : {}),
    ...(c.picture !== undefined ? { picture: c.picture } : {}),
    aud: c.aud,
    exp: c.exp,
    iat: c.iat,
  };
}

function invalid(message: string, details: Record<string, unknown> = {}): LineApiError {
  return new LineApiError(LineCodes.LIFF_TOKEN_INVALID, message, details);
}

// LINE answers a refused token with 400 {"error": "invalid_request", "error_description": "IdToken expired." |
// "Invalid IdToken Audience." | "Invalid IdToken." | "Invalid IdToken Issuer." | "Invalid IdToken Nonce." | ...}.
function verifyError(status: number, body: unknown, requestId: string | undefined): LineApiError {
  const b = (body ?? {}) as { error?: unknown; error_description?: unknown; message?: unknown };
  const description = typeof b.error_description === 'string' ? b.error_description : typeof b.message === 'string' ? b.message : undefined;
  const details = { lineStatus: status, lineMessage: description, requestId };
  if (status === 429) return new LineApiError(LineCodes.LINE_RATE_LIMITED, 'LINE is rate limiting ID token checks.', details);
  if (status >= 500) return new LineApiError(LineCodes.LINE_UNAVAILABLE, `LINE answered ${status} to the ID token check.`, details);
  if (status === 400 && description) {
    if (/expired/i.test(description)) {
      return new LineApiError(LineCodes.LIFF_TOKEN_EXPIRED, 'The ID token has expired; open the page again for a new one.', details);
    }
    if (/audience/i.test(description)) {
      return new LineApiError(LineCodes.LIFF_AUDIENCE_MISMATCH, "The ID token was issued for another LINE Login channel than this tenant's.", details);
    }
  }
  return invalid(`LINE refused the ID token${description ? `: ${description}` : ` (${status})`}.`, details);
}
