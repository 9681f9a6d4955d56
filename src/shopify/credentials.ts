// Access tokens. Two kinds of credentials reach Kizuna:
//  (a) an Admin API access token (`shpat_…`) of a custom app made in the store admin — the flow in the user's specification;
//      it does not expire;
//  (b) the client ID and secret of an app from Shopify's Dev Dashboard (new admin custom apps cannot be created since
//      2026-01-01): tokens come from the client-credentials grant and live about 24 h, so they are renewed before they expire
//      and at once when Shopify answers 401 — also in the middle of a long sync.
// Docs: https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/client-credentials-grant
import { systemClock, type Clock } from '../clock.js';
import { shopifyRequest, type ShopifyEndpoint } from './client.js';
import { ShopifyCodes, ShopifyError } from './errors.js';

export interface AccessTokenSource {
  readonly kind: 'access_token' | 'client_credentials';
  token(): Promise<string>;
  /** Gets a fresh token now (after a 401). Absent for tokens that cannot be renewed. */
  renew?(): Promise<string>;
}

export function staticToken(accessToken: string): AccessTokenSource {
  return { kind: 'access_token', token: async () => accessToken };
}

/** Renew this long before the expiry Shopify announced (at most a tenth of the lifetime), so no request leaves with a dying token. */
const RENEW_MARGIN_MS = 10 * 60_000;

export class ClientCredentialsToken implements AccessTokenSource {
  readonly kind = 'client_credentials' as const;
  private current?: { token: string; expiresAt: number; renewAt: number; scope: string };
  private inflight?: Promise<string>;
  /** How many tokens this source obtained (run statistics, tests). */
  issued = 0;

  constructor(
    private readonly ep: ShopifyEndpoint,
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly clock: Clock = systemClock,
  ) {}

  async token(): Promise<string> {
    if (this.current && this.current.renewAt > this.clock.now().getTime()) return this.current.token;
    return this.renew();
  }

  renew(): Promise<string> {
    // Concurrent callers share one grant request.
    this.inflight ??= this.request().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  get scopes(): string[] {
    return this.current?.scope.split(',').filter(Boolean) ?? [];
  }

  private async request(): Promise<string> {
    const { url, headers } = shopifyRequest(this.ep, '/admin/oauth/access_token');
    let res: Response;
    try {
      res = await (this.ep.fetch ?? fetch)(url, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: this.clientId,
          client_secret: this.clientSecret,
        }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new ShopifyError(ShopifyCodes.SHOPIFY_UNAVAILABLE, `Could not reach Shopify to obtain an access token: ${(e as Error).message}`);
    }
    const text = await res.text().catch(() => '');
    if (res.status === 404) throw new ShopifyError(ShopifyCodes.SHOP_NOT_FOUND, `No Shopify shop answers at ${this.ep.shop}.`);
    if (res.status === 402 || res.status === 423) {
      throw new ShopifyError(ShopifyCodes.SHOP_UNAVAILABLE, `The shop ${this.ep.shop} is unavailable (${res.status}).`, { status: res.status });
    }
    if (res.status >= 500) throw new ShopifyError(ShopifyCodes.SHOPIFY_UNAVAILABLE, `Shopify's token endpoint answered ${res.status}.`);
    if (res.status !== 200) {
      throw new ShopifyError(
        ShopifyCodes.INVALID_TOKEN,
        `Shopify refused the client ID and client secret for ${this.ep.shop} (HTTP ${res.status}): check both in the Dev Dashboard and that the app is installed on this shop.`,
      );
    }
    let json: { access_token?: string; expires_in?: number; scope?: string };
    try {
      json = JSON.parse(text);
    } catch {
      throw new ShopifyError(ShopifyCodes.SHOPIFY_UNAVAILABLE, "Shopify's token endpoint answered malformed JSON.");
    }
    if (!json.access_token) throw new ShopifyError(ShopifyCodes.SHOPIFY_UNAVAILABLE, "Shopify's token endpoint returned no token.");
    const lifetimeMs = (json.expires_in ?? 86_399) * 1000;
    const now = this.clock.now().getTime();
    this.current = {
      token: json.access_token,
      expiresAt: now + lifetimeMs,
      renewAt: now + lifetimeMs - Math.min(RENEW_MARGIN_MS, lifetimeMs / 10),
      scope: json.scope ?? '',
    };
    this.issued++;
    return json.access_token;
  }
}
