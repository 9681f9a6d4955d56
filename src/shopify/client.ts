// The Admin API client: GraphQL (and the little REST Kizuna needs) with cost-aware pacing and bounded retries.
// Docs: https://shopify.dev/docs/api/usage/rate-limits · https://shopify.dev/docs/api/admin-graphql
//
// Pacing: every GraphQL answer carries extensions.cost.throttleStatus (bucket size, points available, restore rate). We keep that
// estimate, let it refill with time, and wait before a request until the bucket holds what the query will cost — so THROTTLED is
// an exception, not the brake. What still goes wrong is retried a bounded number of times: THROTTLED (until the points are
// back), 429 (Retry-After, in seconds), 5xx, timeouts, reset connections and malformed answers (exponential backoff with full
// jitter). 401 renews a client-credentials token once; then it is INVALID_TOKEN. 402/403/423 are the shop's state: not retried.
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { ShopifyCodes, ShopifyError } from './errors.js';
import type { AccessTokenSource } from './credentials.js';

export interface ShopifyEndpoint {
  /** `name.myshopify.com` */
  shop: string;
  apiVersion: string;
  /** SHOPIFY_API_ORIGIN: when set, calls go here (same path) with `X-Shopify-Shop-Domain` instead of to the shop's host. */
  apiOrigin?: string;
  fetch?: typeof fetch;
}

/** URL and routing headers for a path on the shop's Admin API host. */
export function shopifyRequest(ep: ShopifyEndpoint, path: string): { url: string; headers: Record<string, string> } {
  if (ep.apiOrigin) return { url: ep.apiOrigin + path, headers: { 'X-Shopify-Shop-Domain': ep.shop } };
  return { url: `https://${ep.shop}${path}`, headers: {} };
}

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export interface QueryCost {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: ThrottleStatus;
}

export interface GraphQLErrorShape {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [k: string]: unknown };
}

export interface GraphQLResult<T> {
  data: T;
  /** Field-level errors that came with data (ACCESS_DENIED on an optional field). */
  errors: GraphQLErrorShape[];
  cost?: QueryCost;
}

export interface ClientOptions extends ShopifyEndpoint {
  token: AccessTokenSource;
  /** Time and waiting (pacing, Retry-After, backoff). */
  clock?: Clock;
  random?: () => number;
  log?: Logger;
  /** Attempts per request for transient failures (5xx, timeouts, resets, malformed answers, 429). */
  maxAttempts?: number;
  /** THROTTLED answers tolerated per request before giving up. */
  maxThrottled?: number;
  timeoutMs?: number;
  /** Called after every GraphQL answer that carries a cost (benchmarks and run statistics). */
  onCost?: (cost: QueryCost) => void;
}

/** An answer as send() returns it. */
interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** From a response reader: ask again without counting an attempt. */
const AGAIN = Symbol('again');

class Transient extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    readonly code: string = ShopifyCodes.SHOPIFY_UNAVAILABLE,
  ) {
    super(message);
  }
}

export class ShopifyClient {
  readonly shop: string;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly fetchImpl: typeof fetch;
  private bucket?: ThrottleStatus & { at: number };
  /** The requested cost Shopify computed for each query text last time: what we must have in the bucket before sending it. */
  private readonly knownCost = new Map<string, number>();
  /** Counters for run statistics and benchmarks. */
  readonly stats = { requests: 0, throttled: 0, retries: 0, pointsUsed: 0, waitedMs: 0 };

  constructor(private readonly opts: ClientOptions) {
    this.shop = opts.shop;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  /** Runs a GraphQL query or mutation; `expectedCost` lets the first call of a query be paced before Shopify has priced it. */
  async graphql<T>(query: string, variables: Record<string, unknown> = {}, expectedCost?: number): Promise<GraphQLResult<T>> {
    const path = `/admin/api/${this.opts.apiVersion}/graphql.json`;
    let throttled = 0;
    const maxThrottled = this.opts.maxThrottled ?? 10;
    return this.request(path, { method: 'POST', body: JSON.stringify({ query, variables }), contentType: 'application/json' }, {
      before: () => this.pace(this.knownCost.get(query) ?? expectedCost ?? 0),
      read: (res) => {
        const json = this.parse(res.text) as { data?: T; errors?: GraphQLErrorShape[] | string; extensions?: { cost?: QueryCost } };
        const cost = json.extensions?.cost;
        if (cost) this.noteCost(query, cost);
        const errors = Array.isArray(json.errors) ? json.errors : json.errors ? [{ message: String(json.errors) }] : [];
        if (errors.some((e) => e.extensions?.code === 'THROTTLED')) {
          this.stats.throttled++;
          if (++throttled > maxThrottled) {
            throw new ShopifyError(ShopifyCodes.SHOPIFY_THROTTLED, `Shopify kept throttling ${this.shop} after ${maxThrottled} waits.`);
          }
          // The bucket estimate was just refreshed from the answer; pace() will now wait for enough points.
          return AGAIN;
        }
        const fatal = errors.filter((e) => e.extensions?.code !== 'ACCESS_DENIED');
        if (fatal.length || json.data === undefined || json.data === null) {
          const denied = errors.find((e) => e.extensions?.code === 'ACCESS_DENIED');
          if (!fatal.length && denied) throw this.accessDenied(denied);
          throw new ShopifyError(
            ShopifyCodes.SHOPIFY_QUERY_REJECTED,
            `Shopify rejected a query: ${(fatal[0] ?? errors[0])?.message ?? 'no data in the answer'}`,
            { codes: fatal.map((e) => e.extensions?.code).filter(Boolean) },
          );
        }
        return { data: json.data, errors, cost };
      },
      gaveUp: (e, attempts) => `Shopify (${this.shop}) did not answer properly after ${attempts} attempts: ${e.message}`,
    });
  }

  /** GET on the REST Admin API (used for `last_order_id` when read_orders is not granted). */
  async rest<T>(pathAndQuery: string): Promise<T> {
    const path = `/admin/api/${this.opts.apiVersion}${pathAndQuery}`;
    return this.request(path, { method: 'GET' }, { read: (res) => this.parse(res.text) as T, gaveUp: (e) => `Shopify REST ${path}: ${e.message}` });
  }

  /**
   * One request with what every call needs: a 401 renews a client-credentials token once and asks again; transient failures
   * (5xx, timeouts, resets, malformed answers, 429) are retried with backoff (Retry-After when given) up to maxAttempts.
   * `before` runs before each sending (pacing); `read` turns a 2xx answer into the result, or AGAIN to ask once more without
   * counting an attempt.
   */
  private async request<R>(
    path: string,
    init: { method: string; body?: string; contentType?: string },
    how: { before?: () => Promise<void>; read: (res: Answer) => R | typeof AGAIN; gaveUp: (e: Transient, attempts: number) => string },
  ): Promise<R> {
    const max = this.opts.maxAttempts ?? 6;
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      await how.before?.();
      try {
        const res = await this.send(path, init);
        if (res.status === 401 && !renewed && this.opts.token.renew) {
          renewed = true;
          await this.opts.token.renew();
          attempt--;
          continue;
        }
        this.checkStatus(res);
        const out = how.read(res);
        if (out !== AGAIN) return out;
        attempt--;
      } catch (e) {
        if (!(e instanceof Transient)) throw e;
        if (attempt >= max) throw new ShopifyError(e.code, how.gaveUp(e, max));
        this.stats.retries++;
        const backoff = e.retryAfterMs ?? Math.round(this.random() * Math.min(30_000, 500 * 2 ** attempt));
        this.opts.log?.warn({ shop: this.shop, attempt, waitMs: backoff, reason: e.message }, 'Shopify request failed; retrying');
        await this.wait(backoff);
      }
    }
  }

  /** The current estimate of the cost bucket (refilled to now). */
  available(): ThrottleStatus | undefined {
    if (!this.bucket) return undefined;
    const elapsed = (this.clock.now().getTime() - this.bucket.at) / 1000;
    return {
      ...this.bucket,
      currentlyAvailable: Math.min(this.bucket.maximumAvailable, this.bucket.currentlyAvailable + elapsed * this.bucket.restoreRate),
    };
  }

  private async pace(cost: number): Promise<void> {
    const b = this.available();
    if (!b || cost <= 0) return;
    const need = Math.min(cost, b.maximumAvailable) - b.currentlyAvailable;
    if (need > 0) await this.wait(Math.ceil((need / b.restoreRate) * 1000));
  }

  private async wait(ms: number): Promise<void> {
    if (ms <= 0) return;
    this.stats.waitedMs += ms;
    await this.clock.sleep(ms);
  }

  private noteCost(query: string, cost: QueryCost): void {
    this.knownCost.set(query, cost.requestedQueryCost);
    if (cost.actualQueryCost !== null) this.stats.pointsUsed += cost.actualQueryCost;
    this.bucket = { ...cost.throttleStatus, at: this.clock.now().getTime() };
    this.opts.onCost?.(cost);
  }

  private accessDenied(e: GraphQLErrorShape): ShopifyError {
    return new ShopifyError(
      ShopifyCodes.MISSING_SCOPE,
      `Shopify denied access to ${e.path?.join('.') ?? 'a field'}: the app lacks a required access scope.`,
      { path: e.path },
    );
  }

  private async send(
    path: string,
    init: { method: string; body?: string; contentType?: string },
  ): Promise<Answer> {
    const { url, headers } = shopifyRequest(this.opts, path);
    const token = await this.opts.token.token();
    this.stats.requests++;
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method: init.method,
        body: init.body,
        headers: {
          ...headers,
          ...(init.contentType ? { 'Content-Type': init.contentType } : {}),
          Accept: 'application/json',
          'X-Shopify-Access-Token': token,
        },
        redirect: 'manual',
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      const what = err.name === 'TimeoutError' ? 'timed out' : (err.cause?.code ?? err.message);
      throw new Transient(`request ${what}`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw new Transient(`answer cut off (${(e as Error).message})`);
    }
    return { status: res.status, headers: res.headers, text };
  }

  private checkStatus(res: Answer): void {
    const s = res.status;
    if (s >= 200 && s < 300) return;
    if (s === 401) {
      throw new ShopifyError(
        ShopifyCodes.INVALID_TOKEN,
        `Shopify rejected the access token for ${this.shop} (401): it is wrong, was revoked, or the app was uninstalled.`,
      );
    }
    if (s === 402 || s === 423 || s === 403) {
      const why = s === 402 ? 'frozen (payment required)' : s === 423 ? 'locked' : 'not accessible (403)';
      throw new ShopifyError(ShopifyCodes.SHOP_UNAVAILABLE, `The shop ${this.shop} is ${why}.`, { status: s });
    }
    if (s === 404) throw new ShopifyError(ShopifyCodes.SHOP_NOT_FOUND, `No Shopify shop answers at ${this.shop}.`);
    if (s === 429) {
      const ra = Number(res.headers.get('retry-after'));
      throw new Transient('429 Too Many Requests', Number.isFinite(ra) && ra >= 0 ? ra * 1000 : 2000, ShopifyCodes.SHOPIFY_THROTTLED);
    }
    if (s >= 500) throw new Transient(`HTTP ${s}`);
    if (s >= 300 && s < 400) throw new ShopifyError(ShopifyCodes.SHOP_NOT_FOUND, `Shopify redirected ${this.shop} (HTTP ${s}).`);
    throw new ShopifyError(ShopifyCodes.SHOPIFY_QUERY_REJECTED, `Shopify answered HTTP ${s}: ${res.text.slice(0, 200)}`);
  }

  private parse(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw new Transient('malformed JSON in the answer');
    }
  }
}
