// One way of calling LINE for every client here: a per-attempt timeout, LINE's answer read as JSON when it is JSON, and
// every failure turned into a LineApiError with a code. Messages name the endpoint, never the token.
import { LineApiError, LineCodes, type LineErrorDetails } from './errors.js';

export type FetchFn = typeof fetch;

export interface LineResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or null when LINE (or a proxy in front of it) answered with something else. */
  body: unknown;
  requestId?: string;
}

export async function callLine(fetchImpl: FetchFn, url: string, init: RequestInit, timeoutMs: number): Promise<LineResponse> {
  const what = `${init.method ?? 'GET'} ${new URL(url).pathname}`;
  let res: Response;
  try {
    res = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const timedOut = (e as Error)?.name === 'TimeoutError' || (e as Error)?.name === 'AbortError';
    const reason = timedOut ? `no answer within ${timeoutMs} ms` : networkReason(e);
    throw new LineApiError(LineCodes.LINE_UNAVAILABLE, `LINE could not be reached (${what}): ${reason}.`, {}, { cause: e });
  }
  let text = '';
  try {
    text = await res.text();
  } catch (e) {
    throw new LineApiError(LineCodes.LINE_UNAVAILABLE, `LINE's answer to ${what} broke off.`, { lineStatus: res.status }, { cause: e });
  }
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return { status: res.status, headers: res.headers, body, requestId: res.headers.get('x-line-request-id') ?? undefined };
}

function networkReason(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (e as Error)?.message ?? 'network error';
}

/** The error for a non-success answer from the Messaging API (`{"message", "details"}` bodies). */
export function messagingError(res: LineResponse, what: string, now: () => number): LineApiError {
  const body = (res.body ?? {}) as { message?: unknown; details?: unknown };
  const lineMessage = typeof body.message === 'string' ? body.message : undefined;
  const details: LineErrorDetails = { lineStatus: res.status, lineMessage, requestId: res.requestId };
  const said = lineMessage ? `: ${lineMessage}` : '';
  if (res.status === 401) {
    return new LineApiError(
      LineCodes.LINE_UNAUTHORIZED,
      `LINE refused the channel access token for ${what}${said}. Issue a new token in the LINE Developers Console and save it for this tenant.`,
      details,
    );
  }
  if (res.status === 403) {
    return new LineApiError(LineCodes.LINE_FORBIDDEN, `LINE does not allow ${what} for this channel${said}.`, details);
  }
  if (res.status === 429) {
    // LINE uses 429 both for its rate limit and for an exhausted monthly message allowance; only the first passes by waiting.
    if (lineMessage && /monthly limit/i.test(lineMessage)) {
      return new LineApiError(
        LineCodes.LINE_QUOTA_EXCEEDED,
        `The LINE channel has used up its monthly message allowance (${what}). Raise the plan's limit or wait for next month.`,
        details,
      );
    }
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), now);
    return new LineApiError(LineCodes.LINE_RATE_LIMITED, `LINE is rate limiting ${what}${said}.`, { ...details, retryAfterMs });
  }
  if (res.status >= 500) {
    return new LineApiError(LineCodes.LINE_UNAVAILABLE, `LINE answered ${res.status} to ${what}${said}.`, details);
  }
  return new LineApiError(LineCodes.LINE_BAD_REQUEST, `LINE rejected ${what} (${res.status})${said}.`, {
    ...details,
    lineDetails: body.details,
  });
}

/** Retry-After as delta-seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: () => number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now());
}

/**
 * Exponential backoff with "equal jitter": half the step is fixed so retries never bunch at zero, half is random so many
 * workers hitting the same 5xx don't come back in lockstep.
 */
export function backoffMs(attempt: number, random: () => number, baseMs = 500, capMs = 30_000): number {
  const step = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(step / 2 + (step / 2) * random());
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
