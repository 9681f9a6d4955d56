// A development LINE Platform on 127.0.0.1: the Messaging API endpoints Kizuna calls (profile, push, multicast) and LINE
// Login's ID token verify endpoint, answering with LINE's status codes and bodies. Tests and `kizuna demo` point
// LINE_API_ORIGIN here and drive scenarios through the returned handle: channels, profiles, ID tokens, injected faults, and
// a record of every message "delivered". Time comes from the injected clock only, so nothing here ever needs a sleep.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signLineBody } from '../../line/signature.js';
import { ulid, type WebhookEventInput } from './events.js';
import { decodeJwt, hs256Valid, signHs256 } from './jwt.js';
import { checkSend, USER_ID } from './validate.js';

export interface FakeLineOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Epoch ms; drives token lifetimes, retry-key expiry and event timestamps. */
  now?: () => number;
}

export interface FakeChannelInput {
  channelAccessToken: string;
  /** The Messaging API channel's secret: signs webhooks. */
  channelSecret: string;
  /** The LINE Login channel (the LIFF app's) ID: the `aud` of its ID tokens. */
  loginChannelId: string;
  /** Signs the login channel's ID tokens; derived from the channel ID when not given, since only the fake uses it. */
  loginChannelSecret?: string;
}

export interface FakeChannel extends Required<FakeChannelInput> {
  /** The bot's user ID: what LINE puts in a webhook's `destination`. */
  botUserId: string;
}

export interface FakeProfile {
  displayName: string;
  pictureUrl?: string;
  statusMessage?: string;
  language?: string;
}

export interface Fault {
  status: number;
  /** Seconds (or an HTTP date) for the Retry-After header. */
  retryAfter?: number | string;
  /** How many consecutive requests fail this way. Default 1. */
  count?: number;
  /** Body message; LINE's usual one for the status when not given (e.g. "You have reached your monthly limit." for quota). */
  message?: string;
  /** Process the request first, then answer with the fault: a send LINE delivered but whose answer was lost. */
  accept?: boolean;
  /** Which side fails. Default 'messaging' (profile, push, multicast); 'login' is the verify endpoint. */
  on?: 'messaging' | 'login';
}

export interface ReceivedSend {
  kind: 'push' | 'multicast';
  /** The bot that sent it. */
  botUserId: string;
  to: string[];
  messages: unknown[];
  retryKey: string | null;
  requestId: string;
  at: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  retryKey: string | null;
  /** Parsed JSON or form body; the Authorization header is never recorded. */
  body: unknown;
  at: number;
}

export interface FakeLine {
  origin: string;
  close(): Promise<void>;
  addChannel(input: FakeChannelInput): FakeChannel;
  setProfile(userId: string, profile: FakeProfile | null): void;
  issueIdToken(claims: { sub: string; aud: string; email?: string | null; name?: string; picture?: string; nonce?: string; expiresInSec?: number }): string;
  failNext(fault: Fault): void;
  received(): ReceivedSend[];
  requests(): LoggedRequest[];
  /** A webhook body as LINE would send it (defaults filled in); sign the exact string with signature(). */
  webhookBody(events: WebhookEventInput[], opts?: { destination?: string; redelivery?: boolean }): string;
  signature(body: string | Buffer, channelSecret: string): string;
  /** Body plus headers for a signed webhook request from `channel` (default: the first channel added). */
  webhookRequest(events: WebhookEventInput[], channel?: FakeChannel): { body: string; headers: Record<string, string> };
  /** POSTs a signed webhook to `url`, as LINE does. */
  sendWebhook(url: string, events: WebhookEventInput[], channel?: FakeChannel): Promise<{ status: number; body: string }>;
  /** Forgets messages, requests and faults; channels and profiles stay. */
  reset(): void;
}

const ISSUER = 'https://access.line.me';
const RETRY_KEY_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_BODY = 2 * 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MSG = {
  noAuth: "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'",
  badToken: 'Authentication failed. Confirm that the access token in the authorization header is valid.',
  retryAccepted: 'The retry key is already accepted',
  status: { 400: 'Bad Request', 403: 'Forbidden', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' } as Record<number, string>,
};

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export async function startFakeLine(opts: FakeLineOptions = {}): Promise<FakeLine> {
  const now = opts.now ?? Date.now;
  const byToken = new Map<string, FakeChannel>();
  const channels: FakeChannel[] = [];
  const loginSecrets = new Map<string, string>();
  const profiles = new Map<string, FakeProfile>();
  const acceptedKeys = new Map<string, { at: number; requestId: string; sentMessages?: unknown[] }>();
  let faults: Fault[] = [];
  let sends: ReceivedSend[] = [];
  let log: LoggedRequest[] = [];
  let seq = 0;

  const nextRequestId = () => `${(++seq).toString(16).padStart(8, '0')}-0000-4000-8000-${'0'.repeat(12)}`;
  const loginSecretFor = (channelId: string) =>
    loginSecrets.get(channelId) ?? crypto.createHash('sha256').update(`fake-line-login:${channelId}`).digest('hex').slice(0, 32);

  function takeFault(on: 'messaging' | 'login'): Fault | undefined {
    const i = faults.findIndex((f) => (f.on ?? 'messaging') === on);
    if (i < 0) return undefined;
    const f = faults[i]!;
    if ((f.count ?? 1) <= 1) faults.splice(i, 1);
    else faults[i] = { ...f, count: (f.count ?? 1) - 1 };
    return f;
  }

  function faultReply(f: Fault, login: boolean): Reply {
    const message = f.message ?? MSG.status[f.status] ?? 'Error';
    const headers: Record<string, string> = f.retryAfter !== undefined ? { 'retry-after': String(f.retryAfter) } : {};
    return { status: f.status, headers, body: login ? { error: 'server_error', error_description: message } : { message } };
  }

  function send(kind: 'push' | 'multicast', channel: FakeChannel, body: unknown, retryKey: string | null): Reply {
    const problems = checkSend(kind, body);
    if (problems.length) return { status: 400, body: { message: `The request body has ${problems.length} error(s)`, details: problems } };
    const storeKey = retryKey && `${channel.channelAccessToken}\n${retryKey.toLowerCase()}`;
    const earlier = storeKey ? acceptedKeys.get(storeKey) : undefined;
    if (storeKey && earlier && now() - earlier.at < RETRY_KEY_TTL_MS) {
      return {
        status: 409,
        headers: { 'x-line-accepted-request-id': earlier.requestId },
        body: { message: MSG.retryAccepted, ...(earlier.sentMessages ? { sentMessages: earlier.sentMessages } : {}) },
      };
    }
    const b = body as { to: string | string[]; messages: unknown[] };
    const requestId = nextRequestId();
    const to = Array.isArray(b.to) ? b.to : [b.to];
    sends.push({ kind, botUserId: channel.botUserId, to, messages: b.messages, retryKey, requestId, at: now() });
    const sentMessages =
      kind === 'push' ? b.messages.map(() => ({ id: String(500_000_000_000_000_000n + BigInt(++seq)), quoteToken: `q${seq}` })) : undefined;
    if (storeKey) acceptedKeys.set(storeKey, { at: now(), requestId, sentMessages });
    return { status: 200, headers: { 'x-line-request-id': requestId }, body: sentMessages ? { sentMessages } : {} };
  }

  function messaging(method: string, path: string, headers: http.IncomingHttpHeaders, body: unknown): Reply {
    const auth = headers.authorization;
    if (!auth || !/^Bearer .+/.test(auth)) return { status: 401, body: { message: MSG.noAuth } };
    const channel = byToken.get(auth.slice('Bearer '.length));
    if (!channel) return { status: 401, body: { message: MSG.badToken } };

    const retryKeyHeader = headers['x-line-retry-key'];
    const retryKey = typeof retryKeyHeader === 'string' ? retryKeyHeader : null;
    const isSend = method === 'POST' && (path === '/v2/bot/message/push' || path === '/v2/bot/message/multicast');
    if (retryKey !== null && (!isSend || !UUID.test(retryKey))) {
      return { status: 400, body: { message: "The value for the 'X-Line-Retry-Key' header is invalid" } };
    }

    const fault = takeFault('messaging');
    if (fault && !fault.accept) return faultReply(fault, false);
    const reply = route();
    return fault ? faultReply(fault, false) : reply;

    function route(): Reply {
      const profile = /^\/v2\/bot\/profile\/([^/]+)$/.exec(path);
      if (profile && method === 'GET') {
        const userId = decodeURIComponent(profile[1]!);
        if (!USER_ID.test(userId)) return { status: 400, body: { message: "The value for the 'userId' parameter is invalid" } };
        const p = profiles.get(userId);
        return p ? { status: 200, body: { userId, ...p } } : { status: 404, body: { message: 'Not found' } };
      }
      if (isSend) return send(path.endsWith('/push') ? 'push' : 'multicast', channel!, body, retryKey);
      return { status: 404, body: { message: 'Not found' } };
    }
  }

  function verify(form: Record<string, string>): Reply {
    const fault = takeFault('login');
    if (fault) return faultReply(fault, true);
    const refuse = (description: string): Reply => ({ status: 400, body: { error: 'invalid_request', error_description: description } });
    if (!form.id_token) return refuse('id_token is required.');
    if (!form.client_id) return refuse('client_id is required.');
    const jwt = decodeJwt(form.id_token);
    if (!jwt || typeof jwt.payload.aud !== 'string' || !hs256Valid(jwt, loginSecretFor(jwt.payload.aud))) return refuse('Invalid IdToken.');
    const c = jwt.payload;
    if (c.iss !== ISSUER) return refuse('Invalid IdToken Issuer.');
    if (typeof c.exp !== 'number' || c.exp * 1000 <= now()) return refuse('IdToken expired.');
    if (c.aud !== form.client_id) return refuse('Invalid IdToken Audience.');
    if (form.nonce !== undefined && c.nonce !== form.nonce) return refuse('Invalid IdToken Nonce.');
    if (form.user_id !== undefined && c.sub !== form.user_id) return refuse('Invalid IdToken Subject Identifier.');
    return { status: 200, body: c };
  }

  async function handle(req: http.IncomingMessage): Promise<Reply & { parsed: unknown; path: string }> {
    const url = new URL(req.url ?? '/', 'http://fake-line');
    const raw = await readBody(req);
    if (raw === null) return { status: 413, body: { message: 'Request Entity Too Large' }, parsed: null, path: url.pathname };
    const type = req.headers['content-type'] ?? '';
    let parsed: unknown = null;
    if (type.startsWith('application/x-www-form-urlencoded')) parsed = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
    else if (raw.length) {
      try {
        parsed = JSON.parse(raw.toString('utf8'));
      } catch {
        return { status: 400, body: { message: 'The request body is not valid JSON' }, parsed: null, path: url.pathname };
      }
    }
    const method = req.method ?? 'GET';
    if (url.pathname === '/oauth2/v2.1/verify' && method === 'POST') {
      if (!type.startsWith('application/x-www-form-urlencoded')) {
        return { status: 400, body: { error: 'invalid_request', error_description: 'Content-Type must be application/x-www-form-urlencoded.' }, parsed, path: url.pathname };
      }
      return { ...verify(parsed as Record<string, string>), parsed, path: url.pathname };
    }
    return { ...messaging(method, url.pathname, req.headers, parsed), parsed, path: url.pathname };
  }

  const server = http.createServer((req, res) => {
    handle(req).then(
      (reply) => {
        const retryKey = typeof req.headers['x-line-retry-key'] === 'string' ? req.headers['x-line-retry-key'] : null;
        log.push({ method: req.method ?? 'GET', path: reply.path, status: reply.status, retryKey, body: reply.parsed, at: now() });
        const text = JSON.stringify(reply.body);
        res.writeHead(reply.status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          'x-line-request-id': reply.headers?.['x-line-request-id'] ?? nextRequestId(),
          ...reply.headers,
        });
        res.end(text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `fake LINE failed: ${(err as Error).message}` }));
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeLine = {
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    addChannel(input) {
      const channel: FakeChannel = {
        ...input,
        loginChannelSecret: input.loginChannelSecret ?? loginSecretFor(input.loginChannelId),
        botUserId: `U${crypto.createHash('sha256').update(`fake-line-bot:${input.channelAccessToken}`).digest('hex').slice(0, 32)}`,
      };
      byToken.set(input.channelAccessToken, channel);
      loginSecrets.set(input.loginChannelId, channel.loginChannelSecret);
      channels.push(channel);
      return channel;
    },
    setProfile(userId, profile) {
      if (!USER_ID.test(userId)) throw new Error(`${userId} is not a LINE user ID (U followed by 32 hex digits)`);
      if (profile) profiles.set(userId, profile);
      else profiles.delete(userId);
    },
    issueIdToken({ sub, aud, email, name, picture, nonce, expiresInSec = 3600 }) {
      const iat = Math.floor(now() / 1000);
      const payload: Record<string, unknown> = { iss: ISSUER, sub, aud, exp: iat + expiresInSec, iat, amr: ['linesso'] };
      if (nonce !== undefined) payload.nonce = nonce;
      if (name !== undefined) payload.name = name;
      if (picture !== undefined) payload.picture = picture;
      // LINE leaves `email` out entirely when the user has none or did not allow it.
      if (email) payload.email = email;
      return signHs256(payload, loginSecretFor(aud));
    },
    failNext(fault) {
      faults.push(fault);
    },
    received: () => sends.map((s) => ({ ...s, to: [...s.to] })),
    requests: () => [...log],
    webhookBody(events, o = {}) {
      const destination = o.destination ?? channels[0]?.botUserId ?? `U${'0'.repeat(32)}`;
      return JSON.stringify({
        destination,
        events: events.map((e) => ({
          timestamp: now(),
          mode: 'active',
          webhookEventId: ulid(now(), ++seq),
          deliveryContext: { isRedelivery: o.redelivery ?? false },
          ...e,
        })),
      });
    },
    signature: (body, channelSecret) => signLineBody(body, channelSecret),
    webhookRequest(events, channel = channels[0]) {
      if (!channel) throw new Error('add a channel first');
      const body = fake.webhookBody(events, { destination: channel.botUserId });
      return { body, headers: { 'content-type': 'application/json; charset=utf-8', 'x-line-signature': signLineBody(body, channel.channelSecret) } };
    },
    async sendWebhook(url, events, channel) {
      const { body, headers } = fake.webhookRequest(events, channel);
      const res = await fetch(url, { method: 'POST', headers: { ...headers, 'user-agent': 'LineBotWebhook/2.0' }, body });
      return { status: res.status, body: await res.text() };
    },
    reset() {
      faults = [];
      sends = [];
      log = [];
      acceptedKeys.clear();
    },
  };
  return fake;
}

/** The body, or null once it passes LINE's 2 MB limit. */
async function readBody(req: http.IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
