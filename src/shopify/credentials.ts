// Credentials and access tokens: what 発行 accepts (parseCredentials), the live check against Shopify (checkCredentials), and
// clients for them (newClient). Two kinds of credentials reach Kizuna:
//  (a) an Admin API access token (`shpat_…`) of a custom app made in the store admin — the flow in the user's specification;
//      it does not expire;
//  (b) the client ID and secret of an app from Shopify's Dev Dashboard (new admin custom apps cannot be created since
//      2026-01-01): tokens come from the client-credentials grant and live about 24 h, so they are renewed before they expire
//      and at once when Shopify answers 401 — also in the middle of a long sync.
// Docs: https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/client-credentials-grant
import { systemClock, type Clock } from '../clock.js';
import type { AppContext } from '../context.js';
import { AppError, Codes } from '../errors.js';
import { ShopifyClient, shopifyRequest, type ShopifyEndpoint } from './client.js';
import { ShopifyCodes, ShopifyError } from './errors.js';
import { SHOP_CHECK } from './queries.js';

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
      json = JSON.parse(text) as typeof json;
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

// ------------------------------------------------------------------------------------------------------------ clients

export interface Credentials {
  kind: 'access_token' | 'client_credentials';
  accessToken?: string;
  clientId?: string;
  clientSecret?: string;
}

/**
 * Token sources are kept per tenant and credential version, so a client-credentials token obtained for one run is reused by
 * the next (and renewed only near its expiry) instead of being requested again for every job.
 */
const tokenSources = new Map<string, AccessTokenSource>();

export function tokenSource(ctx: Pick<AppContext, 'config' | 'clock'>, shop: string, creds: Credentials, cacheKey?: string): AccessTokenSource {
  if (creds.kind === 'access_token') return staticToken(creds.accessToken!);
  const cached = cacheKey ? tokenSources.get(cacheKey) : undefined;
  if (cached) return cached;
  const source = new ClientCredentialsToken(endpoint(ctx, shop), creds.clientId!, creds.clientSecret!, ctx.clock);
  if (cacheKey) tokenSources.set(cacheKey, source);
  return source;
}

function endpoint(ctx: Pick<AppContext, 'config'>, shop: string) {
  return { shop, apiVersion: ctx.config.SHOPIFY_API_VERSION, apiOrigin: ctx.config.SHOPIFY_API_ORIGIN };
}

export interface ClientOverrides {
  random?: () => number;
  timeoutMs?: number;
  maxAttempts?: number;
}

export function newClient(ctx: Pick<AppContext, 'config' | 'clock' | 'log'>, shop: string, token: AccessTokenSource, o: ClientOverrides = {}) {
  return new ShopifyClient({ ...endpoint(ctx, shop), token, clock: ctx.clock, log: ctx.log, ...o });
}

// ---------------------------------------------------------------------------------------------------------------- 発行

export interface ShopInfo {
  name?: string;
  myshopifyDomain?: string;
  currencyCode?: string;
  ianaTimezone?: string;
  plan?: string;
}

export interface IssueInput {
  storeDomain?: unknown;
  accessToken?: unknown;
  clientId?: unknown;
  clientSecret?: unknown;
  /** The app's API secret key: lets Kizuna verify webhooks of an admin custom app (Dev Dashboard apps use the client secret). */
  webhookSecret?: unknown;
}

const REQUIRED_SCOPE = 'read_customers';

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}

/** The secret webhooks are verified with: a Dev Dashboard app's client secret, or an admin custom app's API secret key. */
export function webhookSecretFor(input: IssueInput, creds: Credentials): string | undefined {
  return creds.kind === 'client_credentials' ? creds.clientSecret! : str(input.webhookSecret);
}

export function parseCredentials(input: IssueInput): Credentials {
  const accessToken = str(input.accessToken);
  const clientId = str(input.clientId);
  const clientSecret = str(input.clientSecret);
  if (accessToken && !clientId && !clientSecret) {
    if (!/^[\x21-\x7e]{20,255}$/.test(accessToken)) {
      throw new AppError(Codes.VALIDATION_FAILED, 'Admin APIアクセストークンの形式が正しくありません(shpat_ で始まる文字列をそのまま貼り付けてください)。');
    }
    return { kind: 'access_token', accessToken };
  }
  if (!accessToken && clientId && clientSecret) {
    if (!/^[\x21-\x7e]{8,255}$/.test(clientId) || !/^[\x21-\x7e]{8,255}$/.test(clientSecret)) {
      throw new AppError(Codes.VALIDATION_FAILED, 'クライアントIDまたはシークレットの形式が正しくありません。');
    }
    return { kind: 'client_credentials', clientId, clientSecret };
  }
  throw new AppError(
    Codes.VALIDATION_FAILED,
    'Admin APIアクセストークン(accessToken)か、クライアントIDとシークレット(clientId と clientSecret)のどちらか一方を入力してください。',
  );
}

interface ShopCheck {
  shop: { name: string; myshopifyDomain: string; currencyCode: string; ianaTimezone: string; plan: { publicDisplayName: string } };
  currentAppInstallation: { accessScopes: { handle: string }[] };
}

/** Checks credentials live against Shopify and answers what the shop is and which scopes the app has. */
export async function checkCredentials(
  ctx: Pick<AppContext, 'config' | 'clock' | 'log'>,
  shop: string,
  creds: Credentials,
  overrides: ClientOverrides = {},
): Promise<{ shop: ShopInfo; scopes: string[] }> {
  // No retries for an interactive check: the operator is waiting and can press 発行 again.
  const client = newClient(ctx, shop, tokenSource(ctx, shop, creds), { maxAttempts: 2, timeoutMs: 15_000, ...overrides });
  let data: ShopCheck;
  try {
    ({ data } = await client.graphql<ShopCheck>(SHOP_CHECK, {}, 3));
  } catch (e) {
    throw explainForOperator(e, shop, creds.kind);
  }
  const scopes = data.currentAppInstallation.accessScopes.map((s) => s.handle).sort();
  if (!scopes.includes(REQUIRED_SCOPE) && !scopes.includes('write_customers')) {
    throw new ShopifyError(
      ShopifyCodes.MISSING_SCOPE,
      creds.kind === 'access_token'
        ? 'Shopifyアプリに read_customers(顧客の読み取り)のアクセス権限がありません。Shopify管理画面の「設定 > アプリと販売チャネル > アプリを開発 > (作成したアプリ) > 設定」で Admin APIスコープの read_customers にチェックを入れて保存し、アプリを再インストールしてから、もう一度「発行」してください。'
        : 'Shopifyアプリに read_customers(顧客の読み取り)のアクセス権限がありません。Dev Dashboard でアプリの新しいバージョンのスコープに read_customers を加えてリリースし、ストアでアプリの更新を承認してから、もう一度「発行」してください。',
      { missingScope: REQUIRED_SCOPE, grantedScopes: scopes },
    );
  }
  return {
    shop: {
      name: data.shop.name,
      myshopifyDomain: data.shop.myshopifyDomain,
      currencyCode: data.shop.currencyCode,
      ianaTimezone: data.shop.ianaTimezone,
      plan: data.shop.plan.publicDisplayName,
    },
    scopes,
  };
}

/** Shopify errors reworded for the operator at 発行: what is wrong and what to do, in Japanese. */
function explainForOperator(e: unknown, shop: string, kind: Credentials['kind']): unknown {
  if (!(e instanceof ShopifyError)) return e;
  const messages: Record<string, string> = {
    [ShopifyCodes.INVALID_TOKEN]:
      kind === 'access_token'
        ? `ストア ${shop} でこのAdmin APIアクセストークンは使えません。トークンを正しくコピーしたか、アプリがアンインストールされていないかを確認してください。`
        : `ストア ${shop} でこのクライアントIDとシークレットは使えません。Dev Dashboard の値と、アプリがこのストアにインストールされていることを確認してください。`,
    [ShopifyCodes.SHOP_NOT_FOUND]: `ストア ${shop} が見つかりません。ストアドメインを確認してください(管理画面URLの「https://admin.shopify.com/store/」の後の部分です)。`,
    [ShopifyCodes.SHOP_UNAVAILABLE]: `ストア ${shop} は現在利用できません(支払い待ちで凍結中、またはロック中)。Shopifyの管理画面でストアの状態を確認してください。`,
    [ShopifyCodes.SHOPIFY_UNAVAILABLE]: 'Shopifyに接続できませんでした。しばらくしてからもう一度お試しください。',
    [ShopifyCodes.SHOPIFY_THROTTLED]: 'Shopifyが混み合っています。しばらくしてからもう一度お試しください。',
  };
  const message = messages[e.code];
  return message ? new ShopifyError(e.code, message, e.details) : e;
}
