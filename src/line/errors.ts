// The error codes of everything that talks to LINE. Upstream failures are not the API caller's fault, so LINE rejecting our
// channel token is a 502 rather than a 401 (a 401 would tell the caller their own Kizuna token is wrong). Token problems in
// the LIFF flow are the end user's request being refused, hence 4xx.
import { AppError, defineErrorCodes } from '../errors.js';

export const LineCodes = defineErrorCodes({
  /** LINE refused the channel access token (LINE answered 401): the tenant's token must be replaced. */
  LINE_UNAUTHORIZED: { status: 502, retryable: false },
  /** LINE refused the operation for this channel (LINE answered 403), e.g. the plan does not include it. */
  LINE_FORBIDDEN: { status: 502, retryable: false },
  /** LINE rejected the request itself (400/422/other 4xx), usually invalid message objects. */
  LINE_BAD_REQUEST: { status: 422, retryable: false },
  /** LINE's rate limit (429); the same request can succeed later. */
  LINE_RATE_LIMITED: { status: 503, retryable: true },
  /** The channel's monthly message allowance is used up (429 with LINE's "monthly limit" message); waiting minutes won't help. */
  LINE_QUOTA_EXCEEDED: { status: 429, retryable: false },
  /** LINE did not answer usably: 5xx, timeout, connection refused. */
  LINE_UNAVAILABLE: { status: 503, retryable: true },
  /** The LIFF ID token's lifetime is over; the user reopens the page to get a fresh one. */
  LIFF_TOKEN_EXPIRED: { status: 401, retryable: false },
  /** The ID token was issued for another LINE Login channel than the tenant's. */
  LIFF_AUDIENCE_MISMATCH: { status: 401, retryable: false },
  /** The ID token is malformed, forged or otherwise refused by LINE. */
  LIFF_TOKEN_INVALID: { status: 401, retryable: false },
  /** The token is valid but carries no email (none registered in LINE, or the user did not allow sharing it). */
  LIFF_EMAIL_MISSING: { status: 422, retryable: false },
  /** The user is not (or no longer) a friend of the tenant's official account. */
  LIFF_NOT_FRIEND: { status: 403, retryable: false },
});

export type LineCode = (typeof LineCodes)[keyof typeof LineCodes];

export interface LineErrorDetails {
  /** The HTTP status LINE answered with, when it answered. */
  lineStatus?: number;
  /** LINE's own message (`message` or `error_description`), safe to show operators. */
  lineMessage?: string;
  /** LINE's per-property problems for a 400 (`details`). */
  lineDetails?: unknown;
  /** LINE's x-line-request-id, what LINE support asks for. */
  requestId?: string;
  /** How long LINE asked us to wait (Retry-After), in ms. */
  retryAfterMs?: number;
  [key: string]: unknown;
}

/** An AppError raised for a LINE answer; `details` carries what LINE said, never the token. */
export class LineApiError extends AppError {
  constructor(code: LineCode, message: string, details: LineErrorDetails = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
    this.name = 'LineApiError';
  }

  get lineDetails(): LineErrorDetails {
    return (this.details ?? {}) as LineErrorDetails;
  }
}
