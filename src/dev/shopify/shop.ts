// One fake store: its customers, app credentials and tokens, granted scopes, cost bucket, armed faults, bulk operations and
// webhook subscriptions — and the scenario API tests and benchmarks drive it with (`fake.shop(domain).changeCustomer(…)`).
import { createHash, randomBytes } from 'node:crypto';
import { LeakyBucket, type BucketSettings, type ThrottleStatus } from './bucket.js';
import { BulkRunner, type BulkFailure, type BulkOperation } from './bulk.js';
import { FaultQueue, type Fault } from './faults.js';
import { CustomerGenerator, type Address, type CustomerRecord } from './generator.js';
import { ADMIN_API_VERSION, expandScopes } from './schema.js';
import { tzOffsetMs } from '../../time.js';
import {
  localDateTime,
  parseGid,
  webhookCustomer,
  webhookCustomerDelete,
  webhookEmailConsent,
  webhookPurchasingSummary,
  webhookSmsConsent,
  type ShopInfo,
} from './shapes.js';
import { CustomerStore } from './store.js';
import { WebhookDispatcher, type SendOptions, type WebhookDelivery, type WebhookSubscription } from './webhooks.js';

export const DEFAULT_TOKEN_LIFETIME_SECONDS = 86_399;
export const DEFAULT_BUCKET: BucketSettings = { maximumAvailable: 2000, restoreRate: 100 };

export interface ShopOptions {
  /** `kizuna-dev` or `kizuna-dev.myshopify.com`. */
  domain: string;
  name?: string;
  /** Generated customers (default 0). */
  customers?: number;
  seed?: number;
  currencyCode?: string;
  timeZone?: string;
  /** ShopPlan.publicDisplayName (default "Basic"). */
  plan?: string;
  /** Granted access scopes (default read_customers). */
  scopes?: string[];
  /** A fixed long-lived Admin API token (`shpat_…`); derived from the domain when omitted, `null` for none. */
  accessToken?: string | null;
  clientId?: string;
  clientSecret?: string;
  /** `expires_in` of client-credentials tokens (default 86399). */
  tokenLifetimeSeconds?: number;
  bucket?: Partial<BucketSettings>;
  /** Where generated history ends (default 2026-03-01T00:00:00Z). */
  dataUntil?: number;
}

type TimeInput = number | string | Date;

/** A customer to serve or upsert: any subset of fields; the rest get defaults of a fresh customer. */
export type CustomerInput = Partial<Omit<CustomerRecord, 'createdAt' | 'updatedAt' | 'addresses' | 'emailMarketing' | 'smsMarketing'>> & {
  createdAt?: TimeInput;
  updatedAt?: TimeInput;
  addresses?: Partial<Address>[];
  emailMarketing?: Partial<Omit<NonNullable<CustomerRecord['emailMarketing']>, 'updatedAt'>> & { updatedAt?: TimeInput | null } | null;
  smsMarketing?: Partial<Omit<NonNullable<CustomerRecord['smsMarketing']>, 'updatedAt'>> & { updatedAt?: TimeInput | null } | null;
};

export type CustomerRef = number | string;

export interface RequestLogEntry {
  seq: number;
  at: string;
  method: string;
  path: string;
  route: 'graphql' | 'rest' | 'oauth' | 'bulk';
  status: number;
  operationName: string | null;
  query: string | null;
  variables: unknown;
  requestedQueryCost: number | null;
  actualQueryCost: number | null;
  throttled: boolean;
  fault: Fault['kind'] | null;
}

interface TokenRecord {
  token: string;
  kind: 'static' | 'client_credentials';
  expiresAt: number | null;
  revoked: boolean;
}

export interface ShopHost {
  now(): number;
  origin(): string;
  dir(): string;
  requestLogLimit: number;
  webhookTimeoutMs: number;
}

export interface ShopCredentials {
  domain: string;
  accessToken: string | null;
  clientId: string;
  clientSecret: string;
  scopes: string[];
}

function normalizeDomain(domain: string): string {
  const d = domain.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return d.includes('.') ? d : `${d}.myshopify.com`;
}

function digest(...parts: unknown[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

function toMs(t: TimeInput): number {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : t;
  if (!Number.isFinite(ms)) throw new Error(`invalid time: ${String(t)}`);
  return Math.floor(ms / 1000) * 1000;
}

export class FakeShop {
  readonly domain: string;
  readonly apiVersion = ADMIN_API_VERSION;
  readonly clientId: string;
  clientSecret: string;
  readonly appTitle = 'Kizuna';
  readonly info: ShopInfo & { id: number; name: string; email: string; ownerName: string; plan: string; createdAt: number };
  readonly store: CustomerStore;
  readonly bucket: LeakyBucket;
  /** The REST API's own request-count bucket (40 requests, 2 per second). */
  readonly restBucket: LeakyBucket;
  readonly faults = new FaultQueue();
  readonly bulk: BulkRunner;
  readonly webhooks: WebhookDispatcher;
  scopes: string[];
  status: 402 | 403 | 423 | null = null;
  private tokenLifetime: number;
  private readonly tokens = new Map<string, TokenRecord>();
  private staticToken: string | null;
  private log: RequestLogEntry[] = [];
  private logSeq = 0;

  constructor(
    private readonly host: ShopHost,
    opts: ShopOptions,
  ) {
    this.domain = normalizeDomain(opts.domain);
    const seed = opts.seed ?? 1;
    const handle = this.domain.replace(/\.myshopify\.com$/, '');
    this.clientId = opts.clientId ?? digest('client', this.domain).slice(0, 32);
    this.clientSecret = opts.clientSecret ?? `shpss_${digest('secret', this.domain, seed).slice(0, 32)}`;
    this.scopes = opts.scopes ?? ['read_customers'];
    this.tokenLifetime = opts.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
    const gen = new CustomerGenerator({ seed, count: opts.customers ?? 0, currencyCode: opts.currencyCode ?? 'JPY', until: opts.dataUntil });
    this.store = new CustomerStore(gen);
    this.info = {
      id: 60_000_000_000 + (parseInt(digest('shop', this.domain).slice(0, 8), 16) % 1_000_000_000),
      domain: this.domain,
      name: opts.name ?? handle,
      email: `owner@${this.domain}`,
      ownerName: '店舗 オーナー',
      plan: opts.plan ?? 'Basic',
      currencyCode: opts.currencyCode ?? 'JPY',
      timeZone: opts.timeZone ?? 'Asia/Tokyo',
      createdAt: gen.count ? gen.createdAtOf(0) - 86_400_000 : Date.UTC(2020, 0, 1),
    };
    this.bucket = new LeakyBucket({ ...DEFAULT_BUCKET, ...opts.bucket }, () => this.now());
    this.restBucket = new LeakyBucket({ maximumAvailable: 40, restoreRate: 2 }, () => this.now());
    this.staticToken = opts.accessToken === undefined ? `shpat_${digest('token', this.domain, seed).slice(0, 32)}` : opts.accessToken;
    if (this.staticToken) this.tokens.set(this.staticToken, { token: this.staticToken, kind: 'static', expiresAt: null, revoked: false });
    this.bulk = new BulkRunner(this, () => host.dir());
    this.webhooks = new WebhookDispatcher(this);
    this.webhooks.timeoutMs = host.webhookTimeoutMs;
  }

  now(): number {
    return this.host.now();
  }

  credentials(): ShopCredentials {
    return { domain: this.domain, accessToken: this.staticToken, clientId: this.clientId, clientSecret: this.clientSecret, scopes: [...this.scopes] };
  }

  grantedScopes(): Set<string> {
    return expandScopes(this.scopes);
  }

  timezoneOffsetMinutes(): number {
    return tzOffsetMs(this.info.timeZone, this.now()) / 60_000;
  }

  localTime(ms: number | null): string | null {
    return localDateTime(ms, this.info.timeZone);
  }

  bulkUrl(key: string): string {
    return `${this.host.origin()}/__bulk/${key}.jsonl`;
  }

  nextBulkId(n: number): number {
    return 4_000_000_000 + n;
  }

  nextWebhookSubscriptionId(n: number): number {
    return 1_100_000_000 + n;
  }

  // ----------------------------------------------------------------------------------------------------------- tokens

  /** Whether a request's X-Shopify-Access-Token is valid now. */
  authenticate(token: string | undefined): boolean {
    if (!token) return false;
    const t = this.tokens.get(token);
    return !!t && !t.revoked && (t.expiresAt === null || this.now() < t.expiresAt);
  }

  /** The client-credentials grant: a fresh token valid for the configured lifetime. */
  issueToken(opts: { expiresInSeconds?: number } = {}): { access_token: string; scope: string; expires_in: number } {
    const expiresIn = opts.expiresInSeconds ?? this.tokenLifetime;
    const token = `shpat_${randomBytes(16).toString('hex')}`;
    this.tokens.set(token, { token, kind: 'client_credentials', expiresAt: this.now() + expiresIn * 1000, revoked: false });
    return { access_token: token, scope: this.scopes.join(','), expires_in: expiresIn };
  }

  /** Invalidates one token, or every token the shop has issued (the merchant uninstalled or rotated). */
  revokeToken(token?: string): void {
    for (const t of this.tokens.values()) if (token === undefined || t.token === token) t.revoked = true;
  }

  /** Lifetime of tokens issued from now on by the client-credentials grant. */
  setTokenLifetime(seconds: number): void {
    this.tokenLifetime = seconds;
  }

  setScopes(scopes: string[]): void {
    this.scopes = [...scopes];
  }

  setClientSecret(secret: string): void {
    this.clientSecret = secret;
  }

  // -------------------------------------------------------------------------------------------------- limits & faults

  throttle(settings: Partial<BucketSettings> & { currentlyAvailable?: number }): ThrottleStatus {
    this.bucket.configure(settings);
    return this.bucket.status();
  }

  bucketStatus(): ThrottleStatus {
    return this.bucket.status();
  }

  failNext(fault: Fault): void {
    this.faults.arm(fault);
  }

  pendingFaults(): Fault[] {
    return this.faults.pending();
  }

  clearFaults(): void {
    this.faults.clear();
  }

  failBulk(kind: BulkFailure, opts: { count?: number } = {}): void {
    this.bulk.failNext(kind, opts.count ?? 1);
  }

  truncateJsonl(opts: { count?: number } = {}): void {
    this.bulk.truncateNext(opts.count ?? 1);
  }

  bulkOperations(): BulkOperation[] {
    return this.bulk.list();
  }

  bulkIdle(): Promise<void> {
    return this.bulk.idle();
  }

  /** 402 (frozen, unpaid), 403 (fraudulent), 423 (locked); null to reopen. */
  setShopStatus(status: 402 | 403 | 423 | null): void {
    this.status = status;
  }

  // ------------------------------------------------------------------------------------------------------- customers

  private idOf(ref: CustomerRef): number {
    if (typeof ref === 'number') return ref;
    const fromGid = parseGid(ref, 'Customer');
    const n = fromGid ?? Number(ref);
    if (!Number.isSafeInteger(n)) throw new Error(`not a customer id: ${ref}`);
    return n;
  }

  customer(ref: CustomerRef): CustomerRecord | undefined {
    return this.store.get(this.idOf(ref));
  }

  customerCount(): number {
    return this.store.size();
  }

  /** Replaces the store: `{ count, seed }` generates; an array serves exactly those customers. */
  serveCustomers(input: CustomerInput[] | { count: number; seed?: number }): void {
    if (Array.isArray(input)) {
      const gen = new CustomerGenerator({ seed: 1, count: 0, currencyCode: this.info.currencyCode });
      this.store.reset(gen);
      for (const c of input) this.store.put(this.build(c, undefined));
    } else {
      this.store.reset(new CustomerGenerator({ seed: input.seed ?? this.store.generator.seed, count: input.count, currencyCode: this.info.currencyCode }));
    }
  }

  private build(input: CustomerInput, base: CustomerRecord | undefined): CustomerRecord {
    const now = toMs(this.now());
    const id = input.id ?? base?.id ?? this.store.allocateId();
    const email = input.email !== undefined ? input.email : (base?.email ?? null);
    const phone = input.phone !== undefined ? input.phone : (base?.phone ?? null);
    const marketing = <T extends { updatedAt?: TimeInput | null }>(patch: T | null | undefined, prev: Record<string, unknown> | null | undefined, has: boolean, defaults: Record<string, unknown>) => {
      if (!has) return null;
      if (patch === null) return null;
      const next = { ...defaults, ...(prev ?? {}), ...(patch ?? {}) } as Record<string, unknown>;
      if (patch && 'state' in patch && patch.updatedAt === undefined && prev?.state !== (patch as Record<string, unknown>).state) next.updatedAt = now;
      if (next.updatedAt != null) next.updatedAt = toMs(next.updatedAt as TimeInput);
      return next;
    };
    const addresses = input.addresses
      ? input.addresses.map((a, i) => ({
          id: a.id ?? id * 10 + i,
          firstName: a.firstName ?? null,
          lastName: a.lastName ?? null,
          company: a.company ?? null,
          address1: a.address1 ?? null,
          address2: a.address2 ?? null,
          city: a.city ?? null,
          province: a.province ?? null,
          provinceCode: a.provinceCode ?? null,
          country: a.country ?? 'Japan',
          countryCodeV2: a.countryCodeV2 ?? 'JP',
          zip: a.zip ?? null,
          phone: a.phone ?? null,
        }))
      : (base?.addresses ?? []);
    const createdAt = input.createdAt !== undefined ? toMs(input.createdAt) : (base?.createdAt ?? now);
    const updatedAt = input.updatedAt !== undefined ? toMs(input.updatedAt) : base ? Math.max(now, base.updatedAt + 1000) : createdAt;
    const record: CustomerRecord = {
      id,
      firstName: input.firstName !== undefined ? input.firstName : (base?.firstName ?? null),
      lastName: input.lastName !== undefined ? input.lastName : (base?.lastName ?? null),
      email,
      verifiedEmail: input.verifiedEmail ?? base?.verifiedEmail ?? !!email,
      emailMarketing: marketing(input.emailMarketing, base?.emailMarketing, !!email, { state: 'NOT_SUBSCRIBED', optInLevel: 'SINGLE_OPT_IN', updatedAt: null }) as CustomerRecord['emailMarketing'],
      phone,
      smsMarketing: marketing(input.smsMarketing, base?.smsMarketing, !!phone, { state: 'NOT_SUBSCRIBED', optInLevel: 'SINGLE_OPT_IN', updatedAt: null, collectedFrom: null }) as CustomerRecord['smsMarketing'],
      state: input.state ?? base?.state ?? 'DISABLED',
      numberOfOrders: input.numberOfOrders ?? base?.numberOfOrders ?? 0,
      amountSpent: input.amountSpent ?? base?.amountSpent ?? '0',
      currencyCode: input.currencyCode ?? base?.currencyCode ?? this.info.currencyCode,
      lastOrder: input.lastOrder !== undefined ? input.lastOrder : (base?.lastOrder ?? null),
      tags: input.tags ?? base?.tags ?? [],
      note: input.note !== undefined ? input.note : (base?.note ?? null),
      addresses,
      locale: input.locale ?? base?.locale ?? 'ja',
      taxExempt: input.taxExempt ?? base?.taxExempt ?? false,
      createdAt,
      updatedAt,
    };
    return record;
  }

  /** Adds a customer, or replaces fields of an existing one (by `id`); fires customers/create or customers/update. */
  upsertCustomer(input: CustomerInput, opts: { silent?: boolean } = {}): CustomerRecord {
    const existing = input.id !== undefined ? this.store.get(input.id) : undefined;
    if (existing) return this.changeCustomer(existing.id, input, opts);
    const record = this.build(input, undefined);
    this.store.put(record);
    if (!opts.silent) {
      void this.webhooks.emit('customers/create', webhookCustomer(record, this.info));
      if (record.numberOfOrders > 0) void this.webhooks.emit('customers/purchasing_summary', webhookPurchasingSummary(record, this.now()));
    }
    return record;
  }

  /**
   * Changes a customer as the merchant or the customer would. updatedAt moves forward on the fake's clock (at least one
   * second past the previous value). Fires customers/update, and the consent and purchasing-summary topics when those
   * parts changed.
   */
  changeCustomer(ref: CustomerRef, patch: CustomerInput, opts: { silent?: boolean } = {}): CustomerRecord {
    const id = this.idOf(ref);
    const before = this.store.get(id);
    if (!before) throw new Error(`no customer ${id} in ${this.domain}`);
    const after = this.build({ ...patch, id }, before);
    this.store.put(after);
    if (!opts.silent) {
      void this.webhooks.emit('customers/update', webhookCustomer(after, this.info));
      const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
      if (!same(before.emailMarketing, after.emailMarketing) || before.email !== after.email) {
        void this.webhooks.emit('customers_email_marketing_consent/update', webhookEmailConsent(after, this.info));
      }
      if (!same(before.smsMarketing, after.smsMarketing) || before.phone !== after.phone) {
        void this.webhooks.emit('customers_marketing_consent/update', webhookSmsConsent(after, this.info));
      }
      if (before.numberOfOrders !== after.numberOfOrders || before.amountSpent !== after.amountSpent || !same(before.lastOrder, after.lastOrder)) {
        void this.webhooks.emit('customers/purchasing_summary', webhookPurchasingSummary(after, this.now()));
      }
    }
    return after;
  }

  /** Deletes a customer and tells subscribers (customers/delete). */
  deleteCustomer(ref: CustomerRef, opts: { silent?: boolean } = {}): boolean {
    const id = this.idOf(ref);
    const deleted = this.store.delete(id);
    if (deleted && !opts.silent) void this.webhooks.emit('customers/delete', webhookCustomerDelete(id));
    return deleted;
  }

  // -------------------------------------------------------------------------------------------------------- webhooks

  /**
   * Sends a webhook now. `payload` may be a customer id (the topic's payload is then built from that customer) or any
   * JSON. Goes to the topic's subscribers, or to `opts.url` only.
   */
  sendWebhook(topic: string, payload: unknown, opts: SendOptions = {}): Promise<WebhookDelivery[]> {
    let body = payload;
    if (typeof payload === 'number' || (typeof payload === 'string' && /^(gid:|\d+$)/.test(payload))) {
      const c = this.customer(payload as CustomerRef);
      const t = topic.toLowerCase();
      if (t.includes('delete')) body = webhookCustomerDelete(this.idOf(payload as CustomerRef));
      else if (!c) throw new Error(`no customer ${String(payload)} in ${this.domain}`);
      else if (t.includes('purchasing')) body = webhookPurchasingSummary(c, this.now());
      else if (t.includes('email_marketing')) body = webhookEmailConsent(c, this.info);
      else if (t.includes('marketing_consent')) body = webhookSmsConsent(c, this.info);
      else body = webhookCustomer(c, this.info);
    }
    return this.webhooks.emit(topic, body, opts);
  }

  subscribeWebhook(topic: string, url: string): WebhookSubscription {
    return this.webhooks.subscribe(topic, url);
  }

  webhookSubscriptions(): WebhookSubscription[] {
    return this.webhooks.subscriptions();
  }

  webhookDeliveries(): WebhookDelivery[] {
    return this.webhooks.deliveries();
  }

  holdWebhooks(): void {
    this.webhooks.hold();
  }

  releaseWebhooks(order: 'fifo' | 'reverse' = 'fifo'): Promise<WebhookDelivery[]> {
    return this.webhooks.release(order);
  }

  retryFailedWebhooks(): Promise<WebhookDelivery[]> {
    return this.webhooks.retryFailed();
  }

  webhooksIdle(): Promise<void> {
    return this.webhooks.idle();
  }

  // ---------------------------------------------------------------------------------------------------- request log

  record(entry: Omit<RequestLogEntry, 'seq' | 'at'>): void {
    this.log.push({ seq: ++this.logSeq, at: new Date(this.now()).toISOString(), ...entry });
    if (this.log.length > this.host.requestLogLimit) this.log.splice(0, this.log.length - this.host.requestLogLimit);
  }

  /** Requests this shop received (newest last, at most `requestLogLimit`), with their GraphQL cost. */
  requests(): RequestLogEntry[] {
    return [...this.log];
  }

  clearRequests(): void {
    this.log = [];
  }

  close(): void {
    this.webhooks.close();
  }
}

/** Scenario methods that may be called over /__control (and by the remote client). */
export const CONTROL_METHODS = [
  'credentials',
  'customer',
  'customerCount',
  'serveCustomers',
  'upsertCustomer',
  'changeCustomer',
  'deleteCustomer',
  'issueToken',
  'revokeToken',
  'setTokenLifetime',
  'setScopes',
  'setClientSecret',
  'throttle',
  'bucketStatus',
  'failNext',
  'pendingFaults',
  'clearFaults',
  'failBulk',
  'truncateJsonl',
  'bulkOperations',
  'bulkIdle',
  'setShopStatus',
  'sendWebhook',
  'subscribeWebhook',
  'webhookSubscriptions',
  'webhookDeliveries',
  'holdWebhooks',
  'releaseWebhooks',
  'retryFailedWebhooks',
  'webhooksIdle',
  'requests',
  'clearRequests',
] as const satisfies ReadonlyArray<keyof FakeShop>;

export type ControlMethod = (typeof CONTROL_METHODS)[number];
