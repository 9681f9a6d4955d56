// Outgoing webhooks as Shopify sends them (https://shopify.dev/docs/apps/build/webhooks): POST with the raw JSON body signed
// by X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 with the app's client secret) and the X-Shopify-* headers. Each attempt is
// recorded. Shopify delivers at least once and in no guaranteed order, so the scenario API can duplicate a delivery, delay
// it, or hold deliveries and release them reversed.
import { createHmac, randomUUID } from 'node:crypto';
import type { FakeShop } from './shop.js';

/** Topics as GraphQL names them and as headers and REST name them. */
const TOPICS: Record<string, string> = {
  CUSTOMERS_CREATE: 'customers/create',
  CUSTOMERS_UPDATE: 'customers/update',
  CUSTOMERS_DELETE: 'customers/delete',
  CUSTOMERS_DISABLE: 'customers/disable',
  CUSTOMERS_ENABLE: 'customers/enable',
  CUSTOMERS_MERGE: 'customers/merge',
  CUSTOMERS_PURCHASING_SUMMARY: 'customers/purchasing_summary',
  CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE: 'customers_email_marketing_consent/update',
  CUSTOMERS_MARKETING_CONSENT_UPDATE: 'customers_marketing_consent/update',
  CUSTOMER_TAGS_ADDED: 'customer.tags_added',
  CUSTOMER_TAGS_REMOVED: 'customer.tags_removed',
  BULK_OPERATIONS_FINISH: 'bulk_operations/finish',
  APP_UNINSTALLED: 'app/uninstalled',
  SHOP_UPDATE: 'shop/update',
};
const BY_SLASH = Object.fromEntries(Object.entries(TOPICS).map(([k, v]) => [v, k]));

/** `CUSTOMERS_UPDATE` or `customers/update` → `customers/update`. */
export function topicHeader(topic: string): string {
  if (topic.includes('/') || topic.includes('.')) return topic;
  if (TOPICS[topic]) return TOPICS[topic];
  const i = topic.lastIndexOf('_');
  return `${topic.slice(0, i)}/${topic.slice(i + 1)}`.toLowerCase();
}

/** `customers/update` or `CUSTOMERS_UPDATE` → `CUSTOMERS_UPDATE`. */
export function topicEnum(topic: string): string {
  if (!topic.includes('/') && !topic.includes('.')) return topic;
  return BY_SLASH[topic] ?? topic.replace(/[/.]/g, '_').toUpperCase();
}

export function webhookHmac(rawBody: string | Buffer, secret: string): string {
  return createHmac('sha256', secret).update(rawBody).digest('base64');
}

export interface WebhookSubscription {
  id: number;
  topic: string;
  uri: string;
  format: string;
  includeFields: string[];
  filter: string | null;
  name: string | null;
  apiVersion: string;
  createdAt: number;
  updatedAt: number;
}

export interface WebhookDelivery {
  /** Order of the attempt in this shop's log. */
  seq: number;
  webhookId: string;
  eventId: string;
  topic: string;
  url: string;
  subscriptionId: number | null;
  attempt: number;
  duplicate: boolean;
  status: number | null;
  ok: boolean;
  error: string | null;
  durationMs: number;
  at: string;
  headers: Record<string, string>;
  body: string;
}

export interface SendOptions {
  /** Deliver the same webhook (same X-Shopify-Webhook-Id) a second time. */
  duplicate?: boolean;
  /** Wait this long (real time) before delivering; later events can overtake it. */
  delayMs?: number;
  /** Deliver only to this URL instead of the topic's subscribers. */
  url?: string;
}

interface Pending {
  event: { eventId: string; topic: string; body: string; triggeredAt: string };
  target: { url: string; subscription: WebhookSubscription | null };
  webhookId: string;
  duplicate: boolean;
}

/** Client-side topics whose subscription needs the app to read customers. */
const NEEDS_READ_CUSTOMERS = /^CUSTOMER/;

export class WebhookDispatcher {
  private readonly subs: WebhookSubscription[] = [];
  private readonly log: WebhookDelivery[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private held: Pending[] | null = null;
  private seq = 0;
  private nextSubId = 1;
  timeoutMs = 5000;

  constructor(private readonly shop: FakeShop) {}

  subscriptions(): WebhookSubscription[] {
    return [...this.subs];
  }

  subscription(id: number): WebhookSubscription | undefined {
    return this.subs.find((s) => s.id === id);
  }

  /** webhookSubscriptionCreate, with the checks Shopify makes on the address and the topic. */
  create(input: { topic: string; uri: string; format: string; includeFields: string[]; filter: string | null; name: string | null; granted?: Set<string> }): {
    subscription: WebhookSubscription | null;
    userErrors: { field: string[]; message: string }[];
  } {
    const fail = (field: string[], message: string) => ({ subscription: null, userErrors: [{ field, message }] });
    let url: URL;
    try {
      url = new URL(input.uri);
    } catch {
      return fail(['webhookSubscription', 'callbackUrl'], 'Address is invalid');
    }
    const local = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
    // Shopify only calls https endpoints; plain http is accepted here for loopback test receivers only.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
      return fail(['webhookSubscription', 'callbackUrl'], `Address protocol ${url.protocol}// is not supported`);
    }
    if (input.granted && NEEDS_READ_CUSTOMERS.test(input.topic) && !input.granted.has('read_customers')) {
      return fail(['webhookSubscription'], `You do not have permission to create or update webhooks with ${topicHeader(input.topic)} topic. This topic contains protected customer data.`);
    }
    if (this.subs.some((s) => s.topic === input.topic && s.uri === input.uri)) {
      return fail(['webhookSubscription', 'callbackUrl'], 'Address for this topic has already been taken');
    }
    const now = this.shop.now();
    const sub: WebhookSubscription = {
      id: this.shop.nextWebhookSubscriptionId(this.nextSubId++),
      topic: input.topic,
      uri: input.uri,
      format: input.format,
      includeFields: input.includeFields,
      filter: input.filter,
      name: input.name,
      apiVersion: this.shop.apiVersion,
      createdAt: now,
      updatedAt: now,
    };
    this.subs.push(sub);
    return { subscription: sub, userErrors: [] };
  }

  /** Scenario API: subscribe a URL to a topic without going through GraphQL. */
  subscribe(topic: string, url: string): WebhookSubscription {
    const res = this.create({ topic: topicEnum(topic), uri: url, format: 'JSON', includeFields: [], filter: null, name: null });
    if (!res.subscription) throw new Error(res.userErrors[0].message);
    return res.subscription;
  }

  delete(id: number): boolean {
    const i = this.subs.findIndex((s) => s.id === id);
    if (i < 0) return false;
    this.subs.splice(i, 1);
    return true;
  }

  deliveries(): WebhookDelivery[] {
    return [...this.log];
  }

  /** An event Shopify would raise (customer changed, bulk finished): delivered to the topic's subscribers. */
  emit(topic: string, payload: unknown, opts: SendOptions = {}): Promise<WebhookDelivery[]> {
    const header = topicHeader(topic);
    const targets = opts.url
      ? [{ url: opts.url, subscription: null }]
      : this.subs.filter((s) => s.topic === topicEnum(header)).map((s) => ({ url: s.uri, subscription: s }));
    if (!targets.length) return Promise.resolve([]);
    const event = { eventId: randomUUID(), topic: header, body: JSON.stringify(payload), triggeredAt: triggeredAt(this.shop.now()) };
    const runs: Promise<WebhookDelivery[]>[] = [];
    for (const target of targets) {
      const webhookId = randomUUID();
      const copies = opts.duplicate ? 2 : 1;
      for (let n = 0; n < copies; n++) runs.push(this.schedule({ event, target, webhookId, duplicate: n > 0 }, opts.delayMs ?? 0));
    }
    return this.track(Promise.all(runs).then((r) => r.flat()));
  }

  /** Queue deliveries instead of sending them, until `release`. */
  hold(): void {
    if (!this.held) this.held = [];
  }

  release(order: 'fifo' | 'reverse' = 'fifo'): Promise<WebhookDelivery[]> {
    const queue = this.held ?? [];
    this.held = null;
    if (order === 'reverse') queue.reverse();
    // Sequential, so the receiver sees them in exactly the released order.
    const run = (async () => {
      const out: WebhookDelivery[] = [];
      for (const p of queue) out.push(await this.deliver(p, 1));
      return out;
    })();
    return this.track(run);
  }

  /** Shopify retries failed deliveries (same webhook id); here a retry happens when a test asks for it. */
  retryFailed(): Promise<WebhookDelivery[]> {
    const latest = new Map<string, WebhookDelivery>();
    for (const d of this.log) latest.set(`${d.webhookId}#${d.duplicate}`, d);
    const failed = [...latest.values()].filter((d) => !d.ok);
    return this.track(
      Promise.all(
        failed.map((d) =>
          this.deliver(
            {
              event: { eventId: d.eventId, topic: d.topic, body: d.body, triggeredAt: d.headers['X-Shopify-Triggered-At'] },
              target: { url: d.url, subscription: d.subscriptionId === null ? null : (this.subscription(d.subscriptionId) ?? null) },
              webhookId: d.webhookId,
              duplicate: d.duplicate,
            },
            d.attempt + 1,
          ),
        ),
      ),
    );
  }

  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  private schedule(p: Pending, delayMs: number): Promise<WebhookDelivery[]> {
    if (this.held) {
      this.held.push(p);
      return Promise.resolve([]);
    }
    if (delayMs <= 0) return this.deliver(p, 1).then((d) => [d]);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        void this.deliver(p, 1).then((d) => resolve([d]));
      }, delayMs);
      this.timers.add(t);
    });
  }

  private async deliver(p: Pending, attempt: number): Promise<WebhookDelivery> {
    const sub = p.target.subscription;
    let body = p.event.body;
    if (sub?.includeFields.length) {
      const full = JSON.parse(body) as Record<string, unknown>;
      body = JSON.stringify(Object.fromEntries(Object.entries(full).filter(([k]) => sub.includeFields.includes(k))));
    }
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'Shopify-Captain-Hook',
      'X-Shopify-Topic': p.event.topic,
      'X-Shopify-Hmac-Sha256': webhookHmac(body, this.shop.clientSecret),
      'X-Shopify-Shop-Domain': this.shop.domain,
      'X-Shopify-API-Version': sub?.apiVersion ?? this.shop.apiVersion,
      'X-Shopify-Webhook-Id': p.webhookId,
      'X-Shopify-Event-Id': p.event.eventId,
      'X-Shopify-Triggered-At': p.event.triggeredAt,
    };
    if (sub?.name) headers['X-Shopify-Name'] = sub.name;
    const started = Date.now();
    const record: WebhookDelivery = {
      seq: ++this.seq,
      webhookId: p.webhookId,
      eventId: p.event.eventId,
      topic: p.event.topic,
      url: p.target.url,
      subscriptionId: sub?.id ?? null,
      attempt,
      duplicate: p.duplicate,
      status: null,
      ok: false,
      error: null,
      durationMs: 0,
      at: new Date(this.shop.now()).toISOString(),
      headers,
      body,
    };
    this.log.push(record);
    try {
      const res = await fetch(p.target.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
      await res.arrayBuffer().catch(() => undefined);
      record.status = res.status;
      // Shopify counts only 2xx as delivered; a redirect is a failure.
      record.ok = res.status >= 200 && res.status < 300;
      if (!record.ok) record.error = `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      record.error = e.name === 'TimeoutError' ? `timeout after ${this.timeoutMs} ms` : (e.cause?.code ?? e.message);
    }
    record.durationMs = Date.now() - started;
    return record;
  }
}

function triggeredAt(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
