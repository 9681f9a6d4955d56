// A thin Messaging API client: profile lookups and push/multicast sends, with bounded retries for the failures LINE says
// are temporary (429, 5xx, timeouts). Every send carries an X-Line-Retry-Key, generated when the caller gives none, because
// a 5xx or a timeout does not mean the message was not delivered: with the key, LINE answers a repeat with 409 instead of
// delivering twice, and the client takes that 409 as the success it is.
import crypto from 'node:crypto';
import type { Logger } from '../log.js';
import { LineApiError, LineCodes, type LineCode } from './errors.js';
import { backoffMs, callLine, messagingError, realSleep, type FetchFn, type LineResponse } from './http.js';

/** LINE's limits per request (https://developers.line.biz/en/reference/messaging-api/#send-multicast-message). */
export const MULTICAST_MAX_RECIPIENTS = 500;
export const MAX_MESSAGES_PER_REQUEST = 5;

/** A LINE message object ({"type": "text", "text": "..."} and friends); LINE validates the rest. */
export type LineMessage = { type: string } & Record<string, unknown>;

export interface LineProfile {
  userId: string;
  displayName: string;
  pictureUrl?: string;
  statusMessage?: string;
  language?: string;
}

export interface PushResult {
  sentMessages: { id: string; quoteToken?: string }[];
  retryKey: string;
  requestId: string | null;
  /** LINE had already accepted this retry key (409): nothing was sent again. */
  duplicate: boolean;
}

export interface MulticastBatch {
  recipients: number;
  retryKey: string;
  requestId: string | null;
  duplicate: boolean;
}

export interface MessagingApiOptions {
  /** LINE_API_ORIGIN, e.g. https://api.line.me or the fake's origin. */
  origin: string;
  channelAccessToken: string;
  fetch?: FetchFn;
  /** Per attempt. Default 10 s. */
  timeoutMs?: number;
  /** Retries after the first attempt for retryable failures. Default 3. */
  maxRetries?: number;
  /** A Retry-After longer than this is not waited out here; the LINE_RATE_LIMITED error carries it to the caller. Default 60 s. */
  maxRetryAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  log?: Pick<Logger, 'warn'>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class MessagingApi {
  private readonly origin: string;
  // Kept off the instance's enumerable properties so that logging or inspecting a client never prints it.
  readonly #token: string;
  private readonly fetchImpl: FetchFn;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxRetryAfterMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly log?: Pick<Logger, 'warn'>;

  constructor(opts: MessagingApiOptions) {
    this.origin = opts.origin.replace(/\/+$/, '');
    this.#token = opts.channelAccessToken;
    this.fetchImpl = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxRetries = opts.maxRetries ?? 3;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.sleep = opts.sleep ?? realSleep;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.log = opts.log;
  }

  /** The friend's LINE profile; null when LINE does not know the user for this channel (not a friend, blocked, or no such user). */
  async getProfile(userId: string): Promise<LineProfile | null> {
    const res = await this.request('GET', `/v2/bot/profile/${encodeURIComponent(userId)}`, undefined, undefined, [404]);
    if (res.status === 404) return null;
    const p = (res.body ?? {}) as Partial<LineProfile>;
    if (typeof p.userId !== 'string' || typeof p.displayName !== 'string') {
      throw new LineApiError(LineCodes.LINE_UNAVAILABLE, 'LINE answered the profile request with an unreadable body.', {
        lineStatus: res.status,
        requestId: res.requestId,
      });
    }
    return {
      userId: p.userId,
      displayName: p.displayName,
      ...(typeof p.pictureUrl === 'string' ? { pictureUrl: p.pictureUrl } : {}),
      ...(typeof p.statusMessage === 'string' ? { statusMessage: p.statusMessage } : {}),
      ...(typeof p.language === 'string' ? { language: p.language } : {}),
    };
  }

  /** Sends up to 5 messages to one user, group or room. Pass a stable `retryKey` (a UUID) to make re-runs of a job idempotent. */
  async push(to: string, messages: LineMessage[], retryKey?: string): Promise<PushResult> {
    checkMessages(messages);
    const key = retryKey ?? crypto.randomUUID();
    checkRetryKey(key);
    const res = await this.request('POST', '/v2/bot/message/push', { to, messages }, key);
    const sent = (res.body as { sentMessages?: unknown } | null)?.sentMessages;
    return {
      sentMessages: Array.isArray(sent) ? (sent as PushResult['sentMessages']) : [],
      retryKey: key,
      requestId: acceptedRequestId(res),
      duplicate: res.status === 409,
    };
  }

  /**
   * Sends the same messages to many users, 500 per request. Each batch gets its own retry key derived from `retryKey`, so
   * repeating a call that failed half-way with the same key sends only the batches LINE had not accepted yet.
   */
  async multicast(to: string[], messages: LineMessage[], retryKey?: string): Promise<{ batches: MulticastBatch[] }> {
    checkMessages(messages);
    const key = retryKey ?? crypto.randomUUID();
    checkRetryKey(key);
    // A user listed twice would otherwise receive the message twice when the copies fall into different batches.
    const recipients = [...new Set(to)];
    const batches: MulticastBatch[] = [];
    const total = Math.ceil(recipients.length / MULTICAST_MAX_RECIPIENTS);
    for (let i = 0; i < total; i++) {
      const chunk = recipients.slice(i * MULTICAST_MAX_RECIPIENTS, (i + 1) * MULTICAST_MAX_RECIPIENTS);
      const batchKey = batchRetryKey(key, i);
      try {
        const res = await this.request('POST', '/v2/bot/message/multicast', { to: chunk, messages }, batchKey);
        batches.push({ recipients: chunk.length, retryKey: batchKey, requestId: acceptedRequestId(res), duplicate: res.status === 409 });
      } catch (e) {
        if (!(e instanceof LineApiError) || i === 0) throw e;
        throw new LineApiError(
          e.code as LineCode,
          `${e.message} ${i} of ${total} batches had been accepted; repeat the multicast with retryKey ${key} to send the rest without duplicates.`,
          { ...e.lineDetails, retryKey: key, completedBatches: i, totalBatches: total },
          { cause: e },
        );
      }
    }
    return { batches };
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    retryKey: string | undefined,
    alsoOk: number[] = [],
  ): Promise<LineResponse> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (retryKey) headers['x-line-retry-key'] = retryKey;
    const init: RequestInit = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
    const what = `${method} ${path.startsWith('/v2/bot/profile/') ? '/v2/bot/profile' : path}`;

    for (let attempt = 0; ; attempt++) {
      let error: LineApiError;
      try {
        const res = await callLine(this.fetchImpl, this.origin + path, init, this.timeoutMs);
        if (res.status < 300 || alsoOk.includes(res.status)) return res;
        // Only a request carrying a retry key can be "already accepted"; on a retry it means an earlier attempt got through.
        if (res.status === 409 && retryKey) return res;
        error = messagingError(res, what, this.now);
      } catch (e) {
        if (!(e instanceof LineApiError)) throw e;
        error = e;
      }
      const retryAfterMs = error.lineDetails.retryAfterMs;
      if (!error.retryable || attempt >= this.maxRetries) throw error;
      if (retryAfterMs !== undefined && retryAfterMs > this.maxRetryAfterMs) throw error;
      const delayMs = retryAfterMs ?? backoffMs(attempt, this.random);
      this.log?.warn({ line: what, code: error.code, lineStatus: error.lineDetails.lineStatus, attempt: attempt + 1, delayMs }, 'LINE request failed; retrying');
      await this.sleep(delayMs);
    }
  }
}

function checkMessages(messages: LineMessage[]): void {
  if (!Array.isArray(messages) || messages.length < 1 || messages.length > MAX_MESSAGES_PER_REQUEST) {
    throw new LineApiError(
      LineCodes.LINE_BAD_REQUEST,
      `A LINE send takes 1 to ${MAX_MESSAGES_PER_REQUEST} messages; got ${Array.isArray(messages) ? messages.length : 'none'}.`,
    );
  }
}

function checkRetryKey(key: string): void {
  // LINE refuses any other format with a 400, which would otherwise surface only at the first send.
  if (!UUID.test(key)) throw new TypeError('retryKey must be a UUID such as 123e4567-e89b-12d3-a456-426614174000');
}

/** Batch 0 uses the caller's key as given; later batches a UUID derived from it, the same on every run. */
export function batchRetryKey(key: string, index: number): string {
  if (index === 0) return key;
  const h = crypto.createHash('sha256').update(`${key.toLowerCase()}#${index}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50; // version 5 (name-based)
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function acceptedRequestId(res: LineResponse): string | null {
  // For a 409 LINE names the request that was accepted earlier; that, not the refused repeat, is the delivery's id.
  return res.headers.get('x-line-accepted-request-id') ?? res.requestId ?? null;
}
