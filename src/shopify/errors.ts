// What can go wrong talking to Shopify, and whether trying again later can help. The same codes name a rejected 発行
// (422 to the operator) and a failed sync run (recorded on the run and mailed).
import { AppError, defineErrorCodes } from '../errors.js';

export const ShopifyCodes = defineErrorCodes({
  /** The store domain is not something we can turn into `name.myshopify.com`. */
  INVALID_STORE_DOMAIN: { status: 422, retryable: false },
  /** Shopify rejected the access token or the client credentials (wrong, revoked, app uninstalled). */
  INVALID_TOKEN: { status: 422, retryable: false },
  /** No shop answers at that domain. */
  SHOP_NOT_FOUND: { status: 422, retryable: false },
  /** The app lacks an access scope Kizuna needs (read_customers). */
  MISSING_SCOPE: { status: 422, retryable: false },
  /** The shop is frozen (402, unpaid), locked (423) or suspended (403); it may come back, but only after the merchant acts. */
  SHOP_UNAVAILABLE: { status: 422, retryable: false },
  /** Shopify is down or unreachable (5xx, timeout, reset connection, malformed answer) after our retries. */
  SHOPIFY_UNAVAILABLE: { status: 502, retryable: true },
  /** Still throttled (THROTTLED / 429) after our retries. */
  SHOPIFY_THROTTLED: { status: 503, retryable: true },
  /** Shopify refused a query Kizuna sent: a bug in Kizuna, or an API change. */
  SHOPIFY_QUERY_REJECTED: { status: 502, retryable: false },
  /** The integration was unlinked (連携を解除) while a run was queued or running: the run stopped, nothing is wrong. */
  UNLINKED: { status: 409, retryable: false },
  /** A bulk operation failed, expired or could not be read completely. */
  SHOPIFY_BULK_FAILED: { status: 502, retryable: true },
});

export class ShopifyError extends AppError {}
