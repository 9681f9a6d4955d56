// The server side of the route fuzz suite: a whole Kizuna (the same boot code as `kizuna serve`, on a ManualClock) listening on
// 127.0.0.1 with the development LINE and Shopify on loopback, two populated tenants — A, fuzzed with valid credentials, and B,
// a bystander whose rows must come out unchanged — a /healthz poller over real HTTP, and the property runner that turns a
// failing request into a readable, deduplicated finding with the server's own error and stack.
//
// Knobs (environment): FUZZ_RUNS (total inputs over the four files, default 10000), FUZZ_SEED (default 20261128),
// FUZZ_HEALTHZ_MS (200), FUZZ_MAX_BYTES (262144), FUZZ_CLASSES (distinct failure classes collected per route, 8),
// FUZZ_SHRINK (extra requests spent shrinking one failure, 100), FUZZ_REPORT (a file to append the findings to as JSON lines), FUZZ_LOG_LEVEL (the server's log level, default silent).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import fc from 'fast-check';
import pg from 'pg';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { ensureCategory, writeCustomValues } from '../../src/crm/custom-data.js';
import { recordFollow, setFriendEmail } from '../../src/crm/friends.js';
import { addOperator, login } from '../../src/crm/operators.js';
import { createTenant, hashToken, type Tenant } from '../../src/crm/tenants.js';
import { startFakeLine, type FakeLine } from '../../src/dev/line/index.js';
import { startFakeShopify, type FakeShopify } from '../../src/dev/shopify/index.js';
import { startBoss } from '../../src/jobs/index.js';
import { createLogger } from '../../src/log.js';
import { SecretBox } from '../../src/security/secrets.js';
import { issueCredentials, linkIntegration } from '../../src/shopify/integration.js';
import { requestRun } from '../../src/sync/run-store.js';
import { buildServer } from '../../src/web/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const intEnv = (name: string, dflt: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v} is not a number`);
  return Math.floor(n);
};

export const FUZZ = {
  runs: intEnv('FUZZ_RUNS', 10_000),
  seed: intEnv('FUZZ_SEED', 20_261_128),
  healthzMs: intEnv('FUZZ_HEALTHZ_MS', 200),
  maxBytes: intEnv('FUZZ_MAX_BYTES', 256 * 1024),
  classesPerRoute: intEnv('FUZZ_CLASSES', 8),
  /** Extra requests spent shrinking one counterexample; the smallest failure found by then is reported. */
  shrinkBudget: intEnv('FUZZ_SHRINK', 100),
  report: process.env.FUZZ_REPORT,
  logLevel: process.env.FUZZ_LOG_LEVEL ?? 'silent',
};

/** Which file fuzzes a route, by its URL: every route of the catalogue is in exactly one part (a new /api route lands in 'api'). */
export type Part = 'crm' | 'api' | 'pages' | 'webhooks';
export function partOf(url: string): Part {
  if (/^\/api\/v1\/(friends|custom-data)(\/|$)/.test(url)) return 'crm';
  if (url.startsWith('/api/')) return 'api';
  if (url.startsWith('/webhooks/')) return 'webhooks';
  return 'pages';
}
/** Each part's share of FUZZ_RUNS (they add up to 1, so the four files together run FUZZ_RUNS inputs). */
export const SHARE: Record<Part, number> = { crm: 0.3, api: 0.25, pages: 0.3, webhooks: 0.15 };

/** A 32-bit seed per property, from FUZZ_SEED and the property's name (adding a route does not reshuffle the others). */
export function seedFor(...parts: (string | number)[]): number {
  return crypto.createHash('sha256').update([FUZZ.seed, ...parts].join('\u0001')).digest().readInt32BE(0);
}

// ------------------------------------------------------------------------------------------------------------ tenants

export interface TenantIds {
  friend: string[];
  category: string[];
  field: string[];
  textField: string[];
  numberField: string[];
  dateField: string[];
  readOnlyField: string[];
  segment: string[];
  delivery: string[];
  run: string[];
}

export interface FuzzTenant {
  tenant: Tenant;
  id: string;
  token: string;
  operatorEmail: string;
  session: { id: string; csrf: string };
  lineChannelSecret: string;
  lineLoginChannelId: string;
  shopifyWebhookSecret: string;
  lineUserIds: string[];
  ids: TenantIds;
}

// ------------------------------------------------------------------------------------------------------------ requests

/** How a fuzzed request authenticates (materialised with A's credentials, never B's). */
export type AuthKind =
  | 'bearer' // A's API token
  | 'cookie' // A's operator session, CSRF token in x-csrf-token
  | 'cookie-form' // A's operator session, CSRF token as the _csrf form field (form bodies)
  | 'cookie-nocsrf'
  | 'fresh-cookie' // a new session of A's operator, minted just before the request (for /logout)
  | 'login-csrf' // POST /login's own CSRF: the kizuna_login_csrf cookie and the same value as _login_csrf
  | 'none'
  | 'bad-bearer'
  | 'bad-cookie';

/** What an arbitrary generates (plain data, so fast-check can shrink it); materialised into a request just before sending. */
export interface Plan {
  method: string;
  /** The route pattern, for the report. */
  route: string;
  /** Path and query, already encoded. */
  url: string;
  auth: AuthKind;
  body?: { payload: string | Buffer; contentType?: string; form?: boolean };
  headers?: Record<string, string>;
}

export interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

/** A request that broke a rule; `signature` names its class (route + status + the server's error, digits and quotes folded). */
export class FuzzFailure extends Error {
  constructor(
    message: string,
    readonly signature: string,
    readonly detail: FindingDetail,
  ) {
    super(message);
  }
}

export interface FindingDetail {
  route: string;
  method: string;
  problem: string;
  status: number;
  bytes: number;
  serverError: string | null;
  request: string;
  curl: string;
  response: string;
}

export interface Finding extends FindingDetail {
  property: string;
  signature: string;
  seed: number;
  path: string;
  numRuns: number;
  numShrinks: number;
  counterexample: string;
}

// ------------------------------------------------------------------------------------------------------------ healthz

/** Polls GET /healthz over real HTTP every `everyMs` while the fuzz runs; records every latency and non-200 answer. */
export class HealthzPoller {
  samples = 0;
  maxMs = 0;
  maxDuring = '';
  /** Latencies over `limitMs`, with the fuzz request in flight when each poll started. */
  slow: string[] = [];
  failures: string[] = [];
  /** Polls not sent because 4 were still waiting (each waiting one is recorded when it answers). */
  skipped = 0;
  /** This process's event loop delay: tells a server that blocks (high) from a machine that is busy (low). */
  readonly loop = monitorEventLoopDelay({ resolution: 10 });
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private pending = new Set<Promise<void>>();

  constructor(
    private readonly origin: string,
    private readonly current: () => string,
    private readonly limitMs: number,
    private readonly everyMs = 50,
  ) {}

  start(): void {
    this.loop.enable();
    this.timer = setInterval(() => this.poll(), this.everyMs);
  }

  /** The event loop's longest delay in ms. */
  get loopMaxMs(): number {
    return this.loop.max / 1e6;
  }

  private poll(): void {
    if (this.inFlight >= 4) {
      this.skipped++;
      return;
    }
    this.inFlight++;
    const during = this.current();
    const started = process.hrtime.bigint();
    const p = new Promise<void>((resolve) => {
      const req = http.get(`${this.origin}/healthz`, { agent: this.agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          this.samples++;
          if (ms > this.maxMs) {
            this.maxMs = ms;
            this.maxDuring = during;
          }
          if (ms > this.limitMs && this.slow.length < 20) this.slow.push(`${ms.toFixed(0)} ms during ${during}`);
          if (res.statusCode !== 200) this.failures.push(`answered ${res.statusCode} (during ${during})`);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', (e) => {
        this.failures.push(`${e.message} (during ${during})`);
        resolve();
      });
    }).finally(() => {
      this.inFlight--;
      this.pending.delete(p);
    });
    this.pending.add(p);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.loop.disable();
    await Promise.all(this.pending);
    this.agent.destroy();
  }
}

// ------------------------------------------------------------------------------------------------------------ the world

export interface World {
  app: FastifyInstance;
  ctx: AppContext & { clock: ManualClock };
  origin: string;
  line: FakeLine;
  shopify: FakeShopify;
  a: FuzzTenant;
  b: FuzzTenant;
  /** A second operator of A's, used only to log in (POST /login with next=). */
  loginOperator: { email: string; password: string };
  healthz: HealthzPoller;
  /** Fresh inputs generated (shrinking not counted) and requests actually sent (shrinking counted). */
  stats: { inputs: number; requests: number; perRoute: Map<string, number>; msPerRoute: Map<string, number>; cpuPerRoute: Map<string, number>; slowest: { ms: number; request: string }[]; blocking: { ms: number; request: string }[]; gaps: { ms: number; request: string }[] };
  findings: Finding[];
  /** Remarks for the report (failure classes beyond FUZZ_CLASSES). */
  notes: string[];
  /** Materialises a plan with A's credentials and sends it with inject; throws FuzzFailure on a 5xx or an oversized answer. */
  run(plan: Plan): Promise<LightMyRequestResponse>;
  snapshot(tenantId: string): Promise<Record<string, unknown[]>>;
  close(): Promise<void>;
}

const START = '2026-11-28T03:00:00Z';
let tenantSeq = 0;

export async function createWorld(): Promise<World> {
  const clock = new ManualClock(START);
  const line = await startFakeLine({ now: () => clock.now().getTime() });
  const shopify = await startFakeShopify({ now: () => clock.now().getTime(), customers: 3 });
  const testDb: TestDatabase = await createTestDatabase();
  // Thousands of small writes: without waiting for each commit's WAL flush they take a fraction of the time. Durability of
  // a throw-away test database is not what this suite tests; set before the pool opens its first connection.
  const admin = new pg.Client(testDb.url);
  await admin.connect();
  await admin.query(`ALTER DATABASE "${new URL(testDb.url).pathname.slice(1)}" SET synchronous_commit = off`);
  await admin.end();
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    WORKER_POLL_SECONDS: '0.5',
    DATABASE_URL: testDb.url,
    LINE_API_ORIGIN: line.origin,
    SHOPIFY_API_ORIGIN: shopify.origin,
  });
  const log = createLogger('silent');
  const boss = await startBoss({ url: testDb.url, log, schedule: false, supervise: false });
  const secrets = new SecretBox(Buffer.alloc(32, 7), 'test key');
  const ctx = { config, db: { pool: testDb.pool, url: testDb.url, close: async () => {} }, boss, log, clock, workerId: 'fuzz', secrets };
  const unmute = FUZZ.logLevel === 'silent' ? muteServerLogs() : () => {};
  const app = await buildServer(ctx, { logLevel: FUZZ.logLevel });
  // The error behind a 5xx, by request id (the answer carries the id back), so a finding shows the server's stack.
  const errors = new Map<string, Error>();
  app.addHook('onError', async (req, _reply, err) => {
    errors.set(req.id, err);
    // requests are sent one at a time: only the latest errors can still be asked for (4xx errors are recorded too)
    if (errors.size > 64) errors.delete(errors.keys().next().value!);
  });
  app.addHook('onSend', async (req, reply) => {
    void reply.header('x-fuzz-request-id', req.id);
  });
  await app.ready();
  const origin = await app.listen({ host: '127.0.0.1', port: 0 });

  const populate = async (label: string): Promise<FuzzTenant> => {
    const n = ++tenantSeq;
    const channel = line.addChannel({
      channelAccessToken: `fuzz-token-${label}-${n}`,
      channelSecret: crypto.createHash('md5').update(`secret-${label}-${n}`).digest('hex'),
      loginChannelId: String(1_650_000_000 + n),
    });
    const { tenant, apiToken } = await createTenant(ctx, {
      name: `fuzz ${label} ${n}`,
      plan: 'enterprise',
      options: ['shopify'],
      lineChannelId: String(2_000_000_000 + n),
      lineChannelSecret: channel.channelSecret,
      lineAccessToken: channel.channelAccessToken,
      lineLoginChannelId: channel.loginChannelId,
      liffId: `${channel.loginChannelId}-Fuzz${n}`,
    });
    const shop = shopify.shop();
    const webhookSecret = `whsec-${label}-${n}-${crypto.randomBytes(4).toString('hex')}`;
    await issueCredentials(ctx, tenant, { storeDomain: shop.domain, accessToken: shop.credentials().accessToken, webhookSecret }, { client: { timeoutMs: 5_000 }, startRuns: false });
    const { category: ro } = await linkIntegration(ctx, tenant, { startRuns: false });
    const { runId } = await requestRun(ctx, tenant.id, { mode: 'full', trigger: 'link', enqueue: false });

    const lineUserIds: string[] = [];
    const friend: number[] = [];
    for (let i = 0; i < 4; i++) {
      const uid = 'U' + crypto.createHash('md5').update(`${label}-${n}-friend-${i}`).digest('hex');
      lineUserIds.push(uid);
      const { friendId } = await recordFollow(ctx.db.pool, tenant.id, uid, clock.now());
      if (i < 3) await setFriendEmail(ctx, tenant.id, friendId, `friend${i}.${label}${n}@example.jp`, 'api');
      friend.push(friendId);
    }
    const auth = { authorization: `Bearer ${apiToken}` };
    const post = async (url: string, payload: unknown) => {
      const res = await app.inject({ method: 'POST', url, headers: auth, payload: payload as object });
      if (res.statusCode >= 300) throw new Error(`setting up ${label}: POST ${url} answered ${res.statusCode} ${res.body}`);
      return res.json();
    };
    const cat = await post('/api/v1/custom-data/categories', { name: `会員情報 ${label}` });
    const text = await post(`/api/v1/custom-data/categories/${cat.id}/fields`, { name: '会員ランク', type: 'text' });
    const num = await post(`/api/v1/custom-data/categories/${cat.id}/fields`, { name: 'ポイント', type: 'number' });
    const date = await post(`/api/v1/custom-data/categories/${cat.id}/fields`, { name: '誕生日', type: 'date' });
    const extra = await ensureCategory(ctx.db.pool, tenant.id, {
      key: 'fuzz-ro',
      name: `連携 ${label}`,
      readOnly: true,
      fields: [{ key: 'n', name: '数値', type: 'number' }],
    });
    const roFields = [...ro.fields.map((f) => f.id), ...extra.fields.map((f) => f.id)];
    await writeCustomValues(ctx.db.pool, tenant.id, [
      { friendId: friend[0]!, fieldId: Number(text.id), value: 'ゴールド' },
      { friendId: friend[1]!, fieldId: Number(num.id), value: 4200 },
      { friendId: friend[2]!, fieldId: Number(date.id), value: '1990-04-01' },
      { friendId: friend[0]!, fieldId: extra.fields[0]!.id, value: 7 },
    ]);
    const seg1 = await post('/api/v1/segments', { name: `ゴールド ${label}`, match: 'all', conditions: [{ fieldId: text.id, op: 'eq', value: 'ゴールド' }] });
    const seg2 = await post('/api/v1/segments', {
      name: `多い ${label}`,
      match: 'any',
      conditions: [
        { fieldId: num.id, op: 'gte', value: 100 },
        { fieldId: date.id, op: 'within_days', value: 30 },
      ],
    });
    const d1 = await post('/api/v1/deliveries', { segmentId: seg1.id, messages: [{ type: 'text', text: `予約 ${label}` }], scheduledAt: '2026-12-24T10:00:00+09:00' });
    const d2 = await post('/api/v1/deliveries', { segmentId: seg2.id, messages: [{ type: 'text', text: `今すぐ ${label}` }] });

    const operatorEmail = `ops.${label}${n}@fuzz.example`;
    const password = `password of ${label} ${n}`;
    await addOperator(ctx.db.pool, tenant.id, operatorEmail, password);
    const { session } = await login(ctx, { email: operatorEmail, password, ip: '127.0.0.1' });
    return {
      tenant,
      id: tenant.id,
      token: apiToken,
      operatorEmail,
      session: { id: session.id, csrf: session.csrfToken },
      lineChannelSecret: channel.channelSecret,
      lineLoginChannelId: channel.loginChannelId,
      shopifyWebhookSecret: webhookSecret,
      lineUserIds,
      ids: {
        friend: friend.map(String),
        category: [String(cat.id), String(ro.id), String(extra.id)],
        field: [text.id, num.id, date.id, ...roFields.slice(0, 3).map(String)].map(String),
        textField: [String(text.id)],
        numberField: [String(num.id)],
        dateField: [String(date.id)],
        readOnlyField: roFields.slice(0, 3).map(String),
        segment: [String(seg1.id), String(seg2.id)],
        delivery: [d1.id, d2.id],
        run: [runId],
      },
    };
  };

  const a = await populate('a');
  const b = await populate('b');
  const loginOperator = { email: `login.a${tenantSeq}@fuzz.example`, password: 'the login operator password' };
  await addOperator(ctx.db.pool, a.id, loginOperator.email, loginOperator.password);

  const stats = { inputs: 0, requests: 0, perRoute: new Map<string, number>(), msPerRoute: new Map<string, number>(), cpuPerRoute: new Map<string, number>(), slowest: [] as { ms: number; request: string }[], blocking: [] as { ms: number; request: string }[], gaps: [] as { ms: number; request: string }[] };
  let current = 'setup';
  let lastEnd = 0;
  // The longest event loop delay while each request was in flight: which inputs make the server block.
  const blockedBy = monitorEventLoopDelay({ resolution: 10 });
  blockedBy.enable();
  const healthz = new HealthzPoller(origin, () => current, FUZZ.healthzMs);

  const mintSession = async (): Promise<{ id: string; csrf: string }> => {
    const id = crypto.randomBytes(32).toString('base64url');
    const csrf = crypto.randomBytes(24).toString('base64url');
    const { rows } = await ctx.db.pool.query(`SELECT id FROM operators WHERE tenant_id = $1 AND email = $2`, [a.id, a.operatorEmail]);
    await ctx.db.pool.query(
      `INSERT INTO operator_sessions (id_hash, operator_id, tenant_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [hashToken(id), rows[0].id, a.id, csrf, clock.now(), new Date(clock.now().getTime() + 86_400_000)],
    );
    return { id, csrf };
  };

  const materialize = async (plan: Plan): Promise<Sent> => {
    const headers: Record<string, string> = { ...plan.headers };
    let payload = plan.body?.payload;
    if (plan.body?.contentType !== undefined) headers['content-type'] = plan.body.contentType;
    const addField = (name: string, value: string) => {
      if (plan.body && !plan.body.form) return; // only form bodies carry fields
      if (typeof payload === 'string') payload = payload ? `${payload}&${name}=${value}` : `${name}=${value}`;
      else if (payload === undefined) payload = `${name}=${value}`;
    };
    const cookie = (s: { id: string; csrf: string }, csrf: 'header' | 'form' | 'none') => {
      headers.cookie = `kizuna_session=${s.id}`;
      if (csrf === 'header') headers['x-csrf-token'] = s.csrf;
      if (csrf === 'form') addField('_csrf', s.csrf);
    };
    switch (plan.auth) {
      case 'bearer':
        headers.authorization = `Bearer ${a.token}`;
        break;
      case 'cookie':
        cookie(a.session, 'header');
        break;
      case 'cookie-form':
        cookie(a.session, plan.body?.form ? 'form' : 'header');
        break;
      case 'cookie-nocsrf':
        cookie(a.session, 'none');
        break;
      case 'fresh-cookie':
        cookie(await mintSession(), plan.body?.form ? 'form' : 'header');
        break;
      case 'login-csrf':
        headers.cookie = 'kizuna_login_csrf=fuzz-login-csrf-token';
        addField('_login_csrf', 'fuzz-login-csrf-token');
        break;
      case 'bad-bearer':
        headers.authorization = `Bearer ${a.token.slice(0, -2)}xx`;
        break;
      case 'bad-cookie':
        headers.cookie = `kizuna_session=${'A'.repeat(43)}`;
        headers['x-csrf-token'] = a.session.csrf;
        break;
      case 'none':
        break;
    }
    return { method: plan.method, url: plan.url, headers, ...(payload !== undefined ? { payload } : {}) };
  };

  const redact = (s: string): string =>
    [
      [a.token, "<A's API token>"],
      [a.session.id, "<A's session>"],
      [a.session.csrf, "<A's CSRF token>"],
      [a.shopifyWebhookSecret, "<A's Shopify webhook secret>"],
    ].reduce((acc, [from, to]) => acc.split(from!).join(to!), s);

  const run = async (plan: Plan): Promise<LightMyRequestResponse> => {
    const sent = await materialize(plan);
    current = `${plan.method} ${plan.url.slice(0, 120)}`;
    stats.requests++;
    let res: LightMyRequestResponse;
    const t0 = performance.now();
    const gap = lastEnd ? t0 - lastEnd : 0;
    blockedBy.reset();
    try {
      res = await app.inject({ method: sent.method as 'GET', url: sent.url, headers: sent.headers, ...(sent.payload !== undefined ? { payload: sent.payload } : {}) });
    } finally {
      current = 'between requests';
    }
    const top = (list: { ms: number; request: string }[], value: number) => {
      if (list.length >= 5 && value <= list.at(-1)!.ms) return;
      list.push({ ms: value, request: clip(redact(showRequest(sent)).replace(/\n/g, ' | '), 400) });
      list.sort((x, y) => y.ms - x.ms).splice(5);
    };
    top(stats.slowest, performance.now() - t0);
    top(stats.blocking, blockedBy.max / 1e6);
    top(stats.gaps, gap); // the suite's own time before this request (generating, shrinking, reporting)
    lastEnd = performance.now();
    const bytes = res.rawPayload.length;
    const problems: string[] = [];
    if (res.statusCode >= 500) problems.push(`answered ${res.statusCode}`);
    if (bytes > FUZZ.maxBytes) problems.push(`answered ${bytes} bytes (cap ${FUZZ.maxBytes})`);
    if (!problems.length) return res;
    const reqId = res.headers['x-fuzz-request-id'];
    const err = typeof reqId === 'string' ? errors.get(reqId) : undefined;
    if (typeof reqId === 'string') errors.delete(reqId);
    const serverError = err ? describeError(err) : null;
    const firstLine = serverError?.split('\n')[0] ?? (res.statusCode >= 500 ? answerHeadline(res.body) : '');
    const signature = `${plan.method} ${plan.route} | ${problems.map((p) => p.replace(/\d+ bytes/, 'N bytes')).join(', ')} | ${fold(firstLine)}`;
    const detail: FindingDetail = {
      route: plan.route,
      method: plan.method,
      problem: problems.join(', '),
      status: res.statusCode,
      bytes,
      serverError,
      request: redact(showRequest(sent)),
      curl: redact(curl(sent)),
      response: `${res.statusCode} ${clip(res.body, 300)}`,
    };
    throw new FuzzFailure(`${plan.method} ${plan.route}: ${detail.problem}${firstLine ? ` — ${firstLine}` : ''}`, signature, detail);
  };

  const snapshot = async (tenantId: string): Promise<Record<string, unknown[]>> => {
    const db = ctx.db.pool;
    const { rows: tables } = await db.query(
      `SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY table_name`,
    );
    const out: Record<string, unknown[]> = {};
    const sorted = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).sort();
    out.tenants = sorted((await db.query(`SELECT * FROM tenants WHERE id = $1`, [tenantId])).rows);
    for (const { table_name } of tables) {
      out[table_name] = sorted((await db.query(`SELECT * FROM "${table_name}" WHERE tenant_id::text = $1`, [tenantId])).rows);
    }
    out.delivery_batches = sorted(
      (await db.query(`SELECT b.* FROM delivery_batches b JOIN deliveries d ON d.id = b.delivery_id WHERE d.tenant_id = $1`, [tenantId])).rows,
    );
    return out;
  };

  return {
    app,
    ctx,
    origin,
    line,
    shopify,
    a,
    b,
    loginOperator,
    healthz,
    stats,
    findings: [],
    notes: [],
    run,
    snapshot,
    async close() {
      await healthz.stop();
      blockedBy.disable();
      await app.close();
      await boss.stop({ graceful: false, wait: true, timeout: 5000 });
      await testDb.drop();
      await line.close();
      await shopify.close();
      unmute();
    },
  };
}

// ------------------------------------------------------------------------------------------------------------ properties

/**
 * Runs `runs` fresh inputs of `arb` against the server and returns the distinct failure classes found (at most
 * FUZZ_CLASSES). After a failure is shrunk, the property goes on with the remaining inputs and a new seed, with the classes
 * already found counted as passing, so one early 500 does not hide the next kind of failure — nor cut the input count.
 * While shrinking, only failures of the class being shrunk count, so the reported input reproduces that class.
 */
export async function fuzz<T>(
  world: World,
  property: string,
  arb: fc.Arbitrary<T>,
  runs: number,
  exec: (input: T) => Promise<unknown>,
  opts: { shrinkBudget?: number } = {},
): Promise<Finding[]> {
  const shrinkBudget = opts.shrinkBudget ?? FUZZ.shrinkBudget;
  const found: Finding[] = [];
  const known = new Set<string>();
  let beyondCap = 0;
  let remaining = Math.max(1, runs);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let round = 0; remaining > 0; round++) {
    const capped = found.length >= FUZZ.classesPerRoute;
    let shrinking: string | null = null;
    let spent = 0;
    const seed = seedFor(property, round);
    const details = await fc.check(
      fc.asyncProperty(arb, async (input) => {
        if (shrinking !== null && ++spent > shrinkBudget) return true;
        try {
          await exec(input);
        } catch (e) {
          if (!(e instanceof FuzzFailure)) throw e;
          if (known.has(e.signature)) return true;
          if (capped) {
            known.add(e.signature);
            beyondCap++;
            return true;
          }
          if (shrinking !== null && e.signature !== shrinking) return true;
          shrinking ??= e.signature;
          throw e;
        }
        return true;
      }),
      { numRuns: remaining, seed },
    );
    remaining -= details.numRuns;
    world.stats.inputs += details.numRuns;
    world.stats.perRoute.set(property, (world.stats.perRoute.get(property) ?? 0) + details.numRuns);
    if (!details.failed) break;
    const err = details.errorInstance;
    if (!(err instanceof FuzzFailure)) throw err instanceof Error ? err : new Error(String(err));
    known.add(err.signature);
    const finding: Finding = {
      ...err.detail,
      property,
      signature: err.signature,
      seed,
      path: details.counterexamplePath ?? '',
      numRuns: details.numRuns,
      numShrinks: details.numShrinks,
      counterexample: clip(fc.stringify(details.counterexample), 800),
    };
    found.push(finding);
    world.findings.push(finding);
    if (FUZZ.report) fs.appendFileSync(FUZZ.report, JSON.stringify(finding) + '\n');
  }
  world.stats.msPerRoute.set(property, (world.stats.msPerRoute.get(property) ?? 0) + performance.now() - t0);
  const cpu = process.cpuUsage(cpu0);
  world.stats.cpuPerRoute.set(property, (world.stats.cpuPerRoute.get(property) ?? 0) + (cpu.user + cpu.system) / 1000);
  if (beyondCap) world.notes.push(`${property}: ${beyondCap} more failure class(es) beyond FUZZ_CLASSES=${FUZZ.classesPerRoute} not shown`);
  return found;
}

/** Every finding of a file, readable: what broke, the request to reproduce it, the server's error, fast-check's counterexample. */
export function formatFindings(findings: Finding[]): string {
  return findings
    .map((f, i) =>
      [
        `#${i + 1} ${f.method} ${f.route} — ${f.problem}${f.serverError ? `: ${f.serverError.split('\n')[0]}` : ''}`,
        ...(f.serverError ? f.serverError.split('\n').slice(1).map((l) => `     ${l}`) : []),
        `   reproduce:\n${indent(f.request, 6)}`,
        `   as curl: ${f.curl}`,
        `   answer: ${f.response}`,
        `   fast-check: property "${f.property}", seed ${f.seed}, path "${f.path}", failed at run ${f.numRuns}, shrunk ${f.numShrinks} time(s)`,
        `   counterexample: ${f.counterexample}`,
      ].join('\n'),
    )
    .join('\n\n');
}

// ------------------------------------------------------------------------------------------------------------ helpers

/**
 * Some routes set their own log level (the Shopify webhook logs at warn), which a silent server logger does not override, so
 * every 5xx there would print a JSON log line into the test output. The suite records those errors itself (onError), so the
 * server's lines written straight to stdout/stderr are dropped while it runs; FUZZ_LOG_LEVEL=error shows them all.
 */
function muteServerLogs(): () => void {
  const original = fs.writeSync;
  const patched = function (this: unknown, fd: number, buf: string | NodeJS.ArrayBufferView, ...rest: unknown[]): number {
    if ((fd === 1 || fd === 2) && (typeof buf === 'string' ? buf : Buffer.from(buf.buffer, buf.byteOffset, 9).toString()).startsWith('{"level":')) {
      return typeof buf === 'string' ? Buffer.byteLength(buf, (rest[0] as BufferEncoding | undefined) ?? 'utf8') : buf.byteLength;
    }
    return (original as (...a: unknown[]) => number).call(fs, fd, buf, ...rest);
  };
  (fs as { writeSync: unknown }).writeSync = patched;
  return () => {
    (fs as { writeSync: unknown }).writeSync = original;
  };
}

function describeError(err: Error): string {
  const e = err as Error & { code?: string; detail?: string; where?: string };
  let head = `${e.name === 'error' ? 'PostgreSQL error' : e.name}${e.code ? ` ${e.code}` : ''}: ${e.message}`;
  const cause = e.cause as (Error & { code?: string }) | undefined;
  if (cause instanceof Error) head += ` — caused by ${cause.name === 'error' ? 'PostgreSQL error' : cause.name}${cause.code ? ` ${cause.code}` : ''}: ${cause.message}`;
  const frames = (e.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l) && /\/src\//.test(l))
    .slice(0, 4)
    // "at" lines would be read as this test's own stack by the runner: shown as "↳ function (src/file:line)" instead
    .map((l) => '↳ ' + l.trim().replace(/^at /, '').replace(/\(.*?\/src\//, '(src/').replace(/^\/[^ ]*\/src\//, 'src/'));
  return [head, ...frames].join('\n');
}

/** The class part of an error message: digits, quoted values and long runs folded, so one bug is one class. */
function fold(s: string): string {
  return s
    .replace(/"[^"]*"/g, '"…"')
    .replace(/'[^']*'/g, "'…'")
    .replace(/\[[^\]]*\]/g, '[…]')
    .replace(/\d+/g, 'N')
    .slice(0, 160);
}

/** What a 5xx answer says when no handler error was recorded (errors while sending the reply, e.g. a bad header). */
function answerHeadline(body: string): string {
  try {
    const j = JSON.parse(body) as { code?: string; message?: string; error?: { code?: string; message?: string } };
    const code = j.code ?? j.error?.code;
    const message = j.message ?? j.error?.message;
    if (code || message) return `${code ?? ''}${code && message ? ': ' : ''}${message ?? ''}`.slice(0, 200);
  } catch {
    // not JSON
  }
  return body.slice(0, 120);
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}… (${s.length} characters)` : s;
}

function indent(s: string, n: number): string {
  return s
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}

function showPayload(p: string | Buffer): string {
  if (typeof p === 'string') return clip(JSON.stringify(p), 700) + (p.length > 200 ? ` (${Buffer.byteLength(p)} bytes)` : '');
  const text = p.toString('utf8');
  const printable = Buffer.from(text, 'utf8').equals(p);
  return printable ? `${clip(JSON.stringify(text), 700)} (${p.length} bytes)` : `hex ${clip(p.toString('hex'), 700)} (${p.length} bytes)`;
}

function showRequest(s: Sent): string {
  const lines = [`${s.method} ${clip(s.url, 700)}`, ...Object.entries(s.headers).map(([k, v]) => `${k}: ${clip(v, 300)}`)];
  if (s.payload !== undefined) lines.push(`body: ${showPayload(s.payload)}`);
  return lines.join('\n');
}

function curl(s: Sent): string {
  const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  const parts = [`curl -i -X ${s.method}`, ...Object.entries(s.headers).map(([k, v]) => `-H ${q(`${k}: ${clip(v, 200)}`)}`)];
  if (s.payload !== undefined) {
    const p = typeof s.payload === 'string' ? s.payload : s.payload.toString('latin1');
    parts.push(/^[\x20-\x7e]*$/.test(p) && p.length < 400 ? `--data-binary ${q(p)}` : `--data-binary @body (${Buffer.byteLength(p)} bytes: see "body" above)`);
  }
  parts.push(q(`http://127.0.0.1:PORT${clip(s.url, 400)}`));
  return parts.join(' ');
}
