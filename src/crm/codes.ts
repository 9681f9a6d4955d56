// Error codes of the CRM domain (tenants, operators, friends, custom data, import). Part of the public API.
import { defineErrorCodes } from '../errors.js';

export const CrmCodes = defineErrorCodes({
  /** The custom data category or field is managed by an integration (e.g. Shopify) and cannot be edited in Kizuna. */
  READ_ONLY_FIELD: { status: 403, retryable: false },
  /** The value does not fit the custom data field's type (text | number | date as YYYY-MM-DD). */
  INVALID_VALUE: { status: 400, retryable: false },
  /** The feature needs the enterprise plan and the paid option; contact the Kizuna administrator. */
  PLAN_REQUIRED: { status: 403, retryable: false },
  /** Email or password is wrong. */
  INVALID_CREDENTIALS: { status: 401, retryable: false },
  /** A state-changing request made with a session cookie lacks the session's CSRF token (header x-csrf-token or field _csrf). */
  CSRF_INVALID: { status: 403, retryable: false },
  /** The CSV cannot be read at all (no data, wrong header); line-level problems are reported per line instead. */
  INVALID_CSV: { status: 400, retryable: false },
  /** The import stopped on an unexpected failure; batches before `details.committedThroughLine` are saved, re-running the file is safe. */
  IMPORT_INTERRUPTED: { status: 500, retryable: true },
  /** The LINE webhook signature is missing or does not match the channel secret. */
  INVALID_SIGNATURE: { status: 401, retryable: false },
});
