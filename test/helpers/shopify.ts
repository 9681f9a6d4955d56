// A development Shopify on one hand-driven clock shared with Kizuna: sleeping on that clock moves it, so waiting for the
// cost bucket, Retry-After, backoff and token expiry happen instantly and deterministically.
import { startFakeShopify, type FakeShopify, type FakeShopifyOptions } from '../../src/dev/shopify/index.js';
import type { FakeShop } from '../../src/dev/shopify/shop.js';
import { ManualClock } from '../../src/clock.js';
import { ShopifyClient } from '../../src/shopify/client.js';
import { ClientCredentialsToken, staticToken, type AccessTokenSource } from '../../src/shopify/credentials.js';

export interface ShopifyHarness {
  fake: FakeShopify;
  shop: FakeShop;
  /** The shared clock (Kizuna's ManualClock; the fake reads it too). */
  clock: RecordingClock;
  /** Every wait slept on the clock, in order (clear it with `sleeps.length = 0`). */
  sleeps: number[];
  client(opts?: { token?: AccessTokenSource; maxAttempts?: number; timeoutMs?: number }): ShopifyClient;
  clientCredentials(): ClientCredentialsToken;
  close(): Promise<void>;
}

/** A ManualClock that remembers what was slept on it. */
export class RecordingClock extends ManualClock {
  readonly sleeps: number[] = [];
  override async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    await super.sleep(ms);
  }
}

export async function shopifyHarness(options: FakeShopifyOptions & { start?: string; clock?: RecordingClock } = {}): Promise<ShopifyHarness> {
  const clock = options.clock ?? new RecordingClock(options.start ?? '2026-11-28T03:00:00Z');
  const fake = await startFakeShopify({ now: () => clock.now().getTime(), ...options });
  const shop = fake.shop(fake.shops()[0]!.domain);
  const endpoint = { shop: shop.domain, apiVersion: '2026-04', apiOrigin: fake.origin };
  return {
    fake,
    shop,
    clock,
    sleeps: clock.sleeps,
    client: (o = {}) =>
      new ShopifyClient({
        ...endpoint,
        token: o.token ?? staticToken(shop.credentials().accessToken!),
        clock,
        random: () => 0.5,
        maxAttempts: o.maxAttempts,
        timeoutMs: o.timeoutMs ?? 2_000,
      }),
    clientCredentials: () => new ClientCredentialsToken(endpoint, shop.credentials().clientId, shop.credentials().clientSecret, clock),
    close: () => fake.close(),
  };
}
